// Shared memory: memfd_create, fstat size, and mmap of any fd as an external ArrayBuffer.
//
// Lifetime of a mapping (facts in /work/shared/reference/vde-native-peers.md §2.3):
// - the ArrayBuffer's finalizer owns the cleanup: it munmaps unless unmap() already did; Node calls it
//   (later, on the JS thread) after the buffer is collected or detached, or at env teardown;
// - munmap(ab) detaches the ArrayBuffer first (every view then has length 0, so JS can never touch
//   unmapped memory), then munmaps;
// - the MapState is found again through napi_wrap on the ArrayBuffer itself, which also proves the
//   buffer is one of ours; a detached buffer is never unwrapped (its state may already be freed).
#include <cerrno>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

namespace netvde {

// Node 20 cannot create an (external) ArrayBuffer above buffer.constants.MAX_LENGTH = 2^32.
static constexpr double kMaxMapping = 4294967296.0;
static constexpr double kMaxSafeInteger = 9007199254740991.0;
// mm/memfd.c: MFD_NAME_MAX_LEN
static constexpr size_t kMaxMemfdName = 249;

struct MapState {
  void* addr;
  size_t length;
  bool mapped;
};

static void FinalizeMapping(napi_env, void*, void* hint) {
  MapState* s = static_cast<MapState*>(hint);
  if (s->mapped) munmap(s->addr, s->length);
  delete s;
}

static Napi::Value MemfdCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ArgString(info, 0, "name");
  if (name.size() > kMaxMemfdName) ThrowRange(env, "memfd name is longer than 249 bytes");
  off_t size = static_cast<off_t>(ArgInteger(info, 1, "size", 0, kMaxSafeInteger));
  int fd = memfd_create(name.c_str(), MFD_CLOEXEC);
  if (fd < 0) ThrowSys(env, "memfd_create", errno);
  if (ftruncate(fd, size) < 0) {
    int err = errno;
    close(fd);
    ThrowSys(env, "ftruncate", err);
  }
  return Napi::Number::New(env, fd);
}

static Napi::Value FstatSize(const Napi::CallbackInfo& info) {
  int fd = ArgInt32(info, 0, "fd");
  struct stat st;
  if (fstat(fd, &st) < 0) ThrowSys(info.Env(), "fstat", errno);
  return Napi::Number::New(info.Env(), static_cast<double>(st.st_size));
}

// mmap(fd, length, offset?) -> ArrayBuffer over MAP_SHARED|MAP_NORESERVE memory
static Napi::Value Mmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  double lengthD = ArgInteger(info, 1, "length", 1, kMaxMapping);  // > 0; Node's ArrayBuffer cap
  double offsetD = OptInteger(info, 2, "offset", 0, kMaxSafeInteger, 0);
  long page = sysconf(_SC_PAGESIZE);
  if (static_cast<uint64_t>(offsetD) % static_cast<uint64_t>(page) != 0) {
    ThrowRange(env, "offset " + std::to_string(static_cast<uint64_t>(offsetD)) + " is not a multiple of the page size (" +
                        std::to_string(page) + ")");
  }
  size_t length = static_cast<size_t>(lengthD);
  // Touching a page past the end of a file raises SIGBUS, which would kill the process: refuse up front.
  struct stat st;
  if (fstat(fd, &st) < 0) ThrowSys(env, "mmap", errno);
  if (S_ISREG(st.st_mode) && offsetD + lengthD > static_cast<double>(st.st_size)) {
    ThrowRange(env, "offset + length (" + std::to_string(static_cast<uint64_t>(offsetD + lengthD)) +
                        ") is beyond the end of the file (" + std::to_string(st.st_size) + " bytes)");
  }
  void* addr = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, static_cast<off_t>(offsetD));
  if (addr == MAP_FAILED) ThrowSys(env, "mmap", errno);

  MapState* state = new (std::nothrow) MapState{addr, length, true};
  if (state == nullptr) {
    munmap(addr, length);
    ThrowSys(env, "mmap", ENOMEM);
  }
  napi_value ab;
  // From here the finalizer owns `state` and the mapping, even when this call fails (Node then calls it
  // itself; freeing here too would double free).
  napi_status status = napi_create_external_arraybuffer(env, addr, length, FinalizeMapping, state, &ab);
  if (status != napi_ok) throw Napi::Error::New(env);
  // No wrap finalizer: the ArrayBuffer's own finalizer frees `state`.
  NAPI_THROW_IF_FAILED(env, napi_wrap(env, ab, state, nullptr, nullptr, nullptr), env.Undefined());
  return Napi::Value(env, ab);
}

// munmap(ab): detach then unmap; a no-op when already detached.
static Napi::Value Munmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArrayBuffer()) ThrowType(env, "munmap expects the ArrayBuffer returned by mmap");
  napi_value ab = info[0];
  bool detached = false;
  NAPI_THROW_IF_FAILED(env, napi_is_detached_arraybuffer(env, ab, &detached), env.Undefined());
  if (detached) return env.Undefined();
  void* p = nullptr;
  if (napi_unwrap(env, ab, &p) != napi_ok || p == nullptr) {
    ThrowType(env, "munmap expects the ArrayBuffer returned by mmap");
  }
  MapState* s = static_cast<MapState*>(p);
  if (!s->mapped) return env.Undefined();
  NAPI_THROW_IF_FAILED(env, napi_detach_arraybuffer(env, ab), env.Undefined());
  s->mapped = false;  // from now on JS cannot reach the memory; the finalizer only frees `s`
  if (munmap(s->addr, s->length) < 0) ThrowSys(env, "munmap", errno);
  return env.Undefined();
}

void InitMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("memfdCreate", Napi::Function::New(env, MemfdCreate, "memfdCreate"));
  exports.Set("fstatSize", Napi::Function::New(env, FstatSize, "fstatSize"));
  exports.Set("mmap", Napi::Function::New(env, Mmap, "mmap"));
  exports.Set("munmap", Napi::Function::New(env, Munmap, "munmap"));
}

}  // namespace netvde
