// sendmsg/recvmsg with SCM_RIGHTS, and recvmmsg/sendmmsg batches into a caller-owned arena.
// All calls pass MSG_DONTWAIT so even an fd received from elsewhere (possibly blocking) never blocks,
// and MSG_NOSIGNAL on send so a closed peer is EPIPE, not SIGPIPE.
#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common.h"

namespace netvde {

// include/net/scm.h: SCM_MAX_FD, the most fds one SCM_RIGHTS message carries.
static constexpr size_t kMaxFds = 253;
// include/uapi/linux/uio.h: UIO_MAXIOV, the kernel's cap on vlen for recvmmsg/sendmmsg.
static constexpr size_t kMaxBatch = 1024;

union FdControl {
  cmsghdr align;
  char buf[CMSG_SPACE(sizeof(int) * kMaxFds)];
};

// sendmsg(fd, data, fds?) -> bytes sent | null on EAGAIN
static Napi::Value SendMsg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  Bytes data = ArgBytes(info, 1, "data");
  int fds[kMaxFds];
  size_t nfds = 0;
  if (!info[2].IsUndefined() && !info[2].IsNull()) {
    if (!info[2].IsArray()) ThrowType(env, "fds must be an array of fd numbers");
    Napi::Array arr = info[2].As<Napi::Array>();
    nfds = arr.Length();
    if (nfds > kMaxFds) ThrowRange(env, "at most 253 fds per message (SCM_MAX_FD), got " + std::to_string(nfds));
    for (size_t i = 0; i < nfds; i++) {
      Napi::Value v = arr.Get(uint32_t(i));
      if (!v.IsNumber()) ThrowType(env, "fds must be an array of fd numbers");
      double d = v.As<Napi::Number>().DoubleValue();
      if (!(d >= 0 && d <= INT32_MAX) || static_cast<double>(static_cast<int>(d)) != d) {
        ThrowRange(env, "fds[" + std::to_string(i) + "] is not a valid fd number");
      }
      fds[i] = static_cast<int>(d);
    }
  }
  if (nfds > 0 && data.length == 0) {
    // unix_stream_sendmsg (net/unix/af_unix.c) sends nothing for 0 bytes, so the fds would vanish silently.
    int type = 0;
    socklen_t len = sizeof(type);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM) {
      ThrowRange(env, "on a stream socket fds need at least one data byte to ride on");
    }
  }
  iovec iov{data.data, data.length};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  FdControl control;
  if (nfds > 0) {
    std::memset(&control, 0, sizeof(control));
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    std::memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
  }
  for (;;) {
    ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) return Napi::Number::New(env, static_cast<double>(n));
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return env.Null();
    ThrowSys(env, "sendmsg", errno);
  }
}

// recvmsg(fd, buf, offset?, length?, maxFds?) -> {bytes, fds, ctrunc, truncated} | null on EAGAIN
static Napi::Value RecvMsg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  Bytes buf = ArgBytes(info, 1, "buf");
  double offset = OptInteger(info, 2, "offset", 0, static_cast<double>(buf.length), 0);
  double length = OptInteger(info, 3, "length", 0, static_cast<double>(buf.length) - offset,
                             static_cast<double>(buf.length) - offset);
  size_t maxFds = static_cast<size_t>(OptInteger(info, 4, "maxFds", 0, kMaxFds, 8));

  iovec iov{buf.data ? buf.data + static_cast<size_t>(offset) : nullptr, static_cast<size_t>(length)};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  FdControl control;
  if (maxFds > 0) {
    msg.msg_control = control.buf;
    // CMSG_LEN, not CMSG_SPACE: the kernel installs (controllen - header) / sizeof(int) fds
    // (scm_detach_fds), and the alignment padding of CMSG_SPACE could hold one more than maxFds.
    msg.msg_controllen = CMSG_LEN(sizeof(int) * maxFds);
  }
  ssize_t n;
  for (;;) {
    n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n >= 0) break;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return env.Null();
    ThrowSys(env, "recvmsg", errno);
  }

  // Collect every fd that arrived (with MSG_CTRUNC the kernel installs those that fit and drops the rest,
  // see scm_detach_fds in net/core/scm.c), so the caller owns and can close each one.
  int got[kMaxFds];
  size_t ngot = 0;
  if (msg.msg_controllen > 0) {
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count && ngot < kMaxFds; i++) {
        std::memcpy(&got[ngot++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      }
    }
  }
  try {
    Napi::Array fdArray = Napi::Array::New(env, ngot);
    for (size_t i = 0; i < ngot; i++) fdArray.Set(uint32_t(i), Napi::Number::New(env, got[i]));
    Napi::Object result = Napi::Object::New(env);
    result.Set("bytes", Napi::Number::New(env, static_cast<double>(n)));
    result.Set("fds", fdArray);
    result.Set("ctrunc", Napi::Boolean::New(env, (msg.msg_flags & MSG_CTRUNC) != 0));
    result.Set("truncated", Napi::Boolean::New(env, (msg.msg_flags & MSG_TRUNC) != 0));
    return result;
  } catch (...) {
    for (size_t i = 0; i < ngot; i++) close(got[i]);  // the caller never saw them: do not leak
    throw;
  }
}

// Shared checks of (arena, slotSize, lengths, count) for the batch calls.
struct Batch {
  Bytes arena;
  size_t slotSize;
  uint32_t* lengths;
  size_t count;
};

static Batch BatchArgs(const Napi::CallbackInfo& info, const char* countName) {
  Batch b;
  b.arena = ArgBytes(info, 1, "arena");
  b.slotSize = static_cast<size_t>(ArgInteger(info, 2, "slotSize", 1, 4294967296.0));
  size_t nlengths = 0;
  b.lengths = ArgUint32Array(info, 3, "lengths", &nlengths);
  b.count = static_cast<size_t>(ArgInteger(info, 4, countName, 0, kMaxBatch));
  if (b.count > nlengths) {
    ThrowRange(info.Env(), std::string(countName) + " (" + std::to_string(b.count) + ") exceeds lengths.length (" +
                               std::to_string(nlengths) + ")");
  }
  if (b.count * b.slotSize > b.arena.length) {  // no overflow: count <= 1024, slotSize <= 2^32
    ThrowRange(info.Env(), std::string(countName) + " * slotSize (" + std::to_string(b.count * b.slotSize) +
                               ") exceeds arena.byteLength (" + std::to_string(b.arena.length) + ")");
  }
  return b;
}

// Headers for one batch, reused (no allocation per call); thread_local so workers do not share them.
static thread_local mmsghdr tMsgs[kMaxBatch];
static thread_local iovec tIovs[kMaxBatch];

// recvmmsg(fd, arena, slotSize, lengths, maxMsgs, truncated?) -> count, 0 on EAGAIN
static Napi::Value RecvMmsg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  Batch b = BatchArgs(info, "maxMsgs");
  Bytes truncated{nullptr, 0};
  if (!info[5].IsUndefined()) {
    truncated = ArgBytes(info, 5, "truncated");
    if (truncated.length < b.count) ThrowRange(env, "truncated.byteLength is smaller than maxMsgs");
  }
  if (b.count == 0) return Napi::Number::New(env, 0);
  for (size_t i = 0; i < b.count; i++) {
    tIovs[i] = iovec{b.arena.data + i * b.slotSize, b.slotSize};
    std::memset(&tMsgs[i], 0, sizeof(mmsghdr));
    tMsgs[i].msg_hdr.msg_iov = &tIovs[i];
    tMsgs[i].msg_hdr.msg_iovlen = 1;
  }
  int n;
  for (;;) {
    n = recvmmsg(fd, tMsgs, static_cast<unsigned>(b.count), MSG_DONTWAIT, nullptr);
    if (n >= 0) break;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, 0);
    ThrowSys(env, "recvmmsg", errno);
  }
  for (int i = 0; i < n; i++) {
    b.lengths[i] = tMsgs[i].msg_len;
    if (truncated.data) truncated.data[i] = (tMsgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? 1 : 0;
  }
  return Napi::Number::New(env, n);
}

// sendmmsg(fd, arena, slotSize, lengths, count) -> sent, 0 on EAGAIN
static Napi::Value SendMmsg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  Batch b = BatchArgs(info, "count");
  for (size_t i = 0; i < b.count; i++) {
    if (b.lengths[i] > b.slotSize) {
      ThrowRange(env, "lengths[" + std::to_string(i) + "] (" + std::to_string(b.lengths[i]) + ") exceeds slotSize");
    }
  }
  if (b.count == 0) return Napi::Number::New(env, 0);
  for (size_t i = 0; i < b.count; i++) {
    tIovs[i] = iovec{b.arena.data + i * b.slotSize, b.lengths[i]};
    std::memset(&tMsgs[i], 0, sizeof(mmsghdr));
    tMsgs[i].msg_hdr.msg_iov = &tIovs[i];
    tMsgs[i].msg_hdr.msg_iovlen = 1;
  }
  for (;;) {
    int n = sendmmsg(fd, tMsgs, static_cast<unsigned>(b.count), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) return Napi::Number::New(env, n);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, 0);
    ThrowSys(env, "sendmmsg", errno);
  }
}

void InitMessages(Napi::Env env, Napi::Object exports) {
  exports.Set("sendmsg", Napi::Function::New(env, SendMsg, "sendmsg"));
  exports.Set("recvmsg", Napi::Function::New(env, RecvMsg, "recvmsg"));
  exports.Set("recvmmsg", Napi::Function::New(env, RecvMmsg, "recvmmsg"));
  exports.Set("sendmmsg", Napi::Function::New(env, SendMmsg, "sendmmsg"));
}

}  // namespace netvde
