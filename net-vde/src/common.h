// Shared helpers for the addon: argument checks (TypeError/RangeError) and SysError creation.
// C++ exceptions are used only on the JS-call path (node-addon-api turns a thrown Napi::Error into a
// JS exception at the boundary). Code run from libuv or GC callbacks uses plain N-API and never throws.
#pragma once
#include <napi.h>
#include <cstddef>
#include <cstdint>
#include <string>

namespace netvde {

struct PollerRegistry;

// Per-env state (napi instance data).
struct AddonData {
  napi_ref sysErrorClass = nullptr;   // the TS SysError constructor, registered at load
  PollerRegistry* pollers = nullptr;  // owned by the async cleanup hook in poller.cc
};

AddonData* GetAddonData(napi_env env);

// A SysError(message, errno, code, syscall) value, or nullptr with an exception pending. Never throws.
napi_value MakeSysError(napi_env env, const char* syscall, int err);
// Throws SysError for `err` (an errno value, positive).
[[noreturn]] void ThrowSys(Napi::Env env, const char* syscall, int err);
[[noreturn]] void ThrowType(Napi::Env env, const std::string& message);
[[noreturn]] void ThrowRange(Napi::Env env, const std::string& message);

// Any int32 (fd numbers: the kernel judges validity, so close(-1) reports EBADF).
int ArgInt32(const Napi::CallbackInfo& info, size_t i, const char* name);
// An integer Number in [min, max] (TypeError if not an integer, RangeError if outside); OptInteger: `def` when undefined.
double ArgInteger(const Napi::CallbackInfo& info, size_t i, const char* name, double min, double max);
double OptInteger(const Napi::CallbackInfo& info, size_t i, const char* name, double min, double max, double def);
std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* name);

// Bytes of any ArrayBufferView (TypedArray or DataView). A detached view has length 0.
struct Bytes {
  uint8_t* data;
  size_t length;
};
Bytes ArgBytes(const Napi::CallbackInfo& info, size_t i, const char* name);
// A Uint32Array (element pointer and element count).
uint32_t* ArgUint32Array(const Napi::CallbackInfo& info, size_t i, const char* name, size_t* count);

// Module parts; each adds its functions to `exports`.
void InitSockets(Napi::Env env, Napi::Object exports);
void InitMessages(Napi::Env env, Napi::Object exports);
void InitMemory(Napi::Env env, Napi::Object exports);
void InitEventfd(Napi::Env env, Napi::Object exports);
void InitPoller(Napi::Env env, Napi::Object exports);
void InitFences(Napi::Env env, Napi::Object exports);
void InitPing(Napi::Env env, Napi::Object exports);

// poller.cc: stop every Poller watching `fd` (called by close(fd) so libuv never watches a closed fd).
void StopPollersForFd(napi_env env, int fd);

}  // namespace netvde
