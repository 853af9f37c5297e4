// net_vde.node: module entry. Each concern lives in its own file (sockets, messages, memory, eventfd,
// poller, fences, ping); this file wires them up and keeps the per-env data.
#include "common.h"

namespace netvde {

static void FreeAddonData(napi_env env, void* data, void*) {
  AddonData* d = static_cast<AddonData*>(data);
  if (d->sysErrorClass) napi_delete_reference(env, d->sysErrorClass);
  delete d;  // d->pollers is owned by poller.cc's cleanup hook
}

// setErrorClass(SysError): errors thrown by the addon are instances of the TS class.
static Napi::Value SetErrorClass(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction()) ThrowType(env, "SysError class must be a function");
  AddonData* d = GetAddonData(env);
  if (d->sysErrorClass) napi_delete_reference(env, d->sysErrorClass);
  d->sysErrorClass = nullptr;
  NAPI_THROW_IF_FAILED(env, napi_create_reference(env, info[0], 1, &d->sysErrorClass), env.Undefined());
  return env.Undefined();
}

Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  AddonData* d = new AddonData();
  NAPI_THROW_IF_FAILED(env, napi_set_instance_data(env, d, FreeAddonData, nullptr), exports);
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClass, "setErrorClass"));
  InitSockets(env, exports);
  InitMessages(env, exports);
  InitMemory(env, exports);
  InitEventfd(env, exports);
  InitPoller(env, exports);
  InitFences(env, exports);
  InitPing(env, exports);
  return exports;
}

}  // namespace netvde

static Napi::Object Init(Napi::Env env, Napi::Object exports) { return netvde::InitAddon(env, exports); }

NODE_API_MODULE(net_vde, Init)
