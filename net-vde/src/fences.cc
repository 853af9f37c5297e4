// C11/C++11 fences for ring index publication in memory shared with another process (virtio split
// rings: the driver/device order descriptor writes before the idx store, see Linux virtio_ring.c
// virtio_wmb/virtio_rmb and QEMU virtio.c smp_wmb/smp_rmb).
#include <atomic>

#include "common.h"

namespace netvde {

static Napi::Value FenceAcquire(const Napi::CallbackInfo& info) {
  std::atomic_thread_fence(std::memory_order_acquire);
  return info.Env().Undefined();
}

static Napi::Value FenceRelease(const Napi::CallbackInfo& info) {
  std::atomic_thread_fence(std::memory_order_release);
  return info.Env().Undefined();
}

static Napi::Value FenceSeqCst(const Napi::CallbackInfo& info) {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  return info.Env().Undefined();
}

void InitFences(Napi::Env env, Napi::Object exports) {
  exports.Set("fenceAcquire", Napi::Function::New(env, FenceAcquire, "fenceAcquire"));
  exports.Set("fenceRelease", Napi::Function::New(env, FenceRelease, "fenceRelease"));
  exports.Set("fenceSeqCst", Napi::Function::New(env, FenceSeqCst, "fenceSeqCst"));
}

}  // namespace netvde
