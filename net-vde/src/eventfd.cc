// eventfd: a kernel 64-bit counter used by vhost-user for kick/call notifications.
// Non-semaphore mode: read returns the sum of all writes and resets it to 0 (eventfd(2)).
#include <cerrno>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common.h"

namespace netvde {

// fs/eventfd.c: the counter holds at most ULLONG_MAX - 1; a write of ULLONG_MAX is EINVAL.
static constexpr uint64_t kMaxEventfdValue = UINT64_MAX - 1;

static Napi::Value Eventfd(const Napi::CallbackInfo& info) {
  unsigned initval = static_cast<unsigned>(OptInteger(info, 0, "initval", 0, UINT32_MAX, 0));
  int fd = eventfd(initval, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) ThrowSys(info.Env(), "eventfd", errno);
  return Napi::Number::New(info.Env(), fd);
}

// eventfdRead(fd) -> bigint | null when the counter is 0
static Napi::Value EventfdRead(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  uint64_t value;
  for (;;) {
    ssize_t n = read(fd, &value, sizeof(value));
    if (n == sizeof(value)) return Napi::BigInt::New(env, value);
    if (n >= 0) ThrowSys(env, "read", EIO);  // not an eventfd: a short read
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return env.Null();
    ThrowSys(env, "read", errno);
  }
}

// eventfdWrite(fd, value = 1n) -> true, or false when the add would overflow the counter (EAGAIN)
static Napi::Value EventfdWrite(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  uint64_t value = 1;
  if (info[1].IsBigInt()) {
    bool lossless = false;
    value = info[1].As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless || value > kMaxEventfdValue) ThrowRange(env, "value must be in [0, 2^64 - 2]");
  } else if (!info[1].IsUndefined()) {
    value = static_cast<uint64_t>(ArgInteger(info, 1, "value", 0, 9007199254740991.0));
  }
  for (;;) {
    ssize_t n = write(fd, &value, sizeof(value));
    if (n == sizeof(value)) return Napi::Boolean::New(env, true);
    if (n >= 0) ThrowSys(env, "write", EIO);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Boolean::New(env, false);
    ThrowSys(env, "write", errno);
  }
}

void InitEventfd(Napi::Env env, Napi::Object exports) {
  exports.Set("eventfd", Napi::Function::New(env, Eventfd, "eventfd"));
  exports.Set("eventfdRead", Napi::Function::New(env, EventfdRead, "eventfdRead"));
  exports.Set("eventfdWrite", Napi::Function::New(env, EventfdWrite, "eventfdWrite"));
}

}  // namespace netvde
