#include "common.h"

#include <cmath>
#include <cstring>
#include <string>

namespace netvde {

AddonData* GetAddonData(napi_env env) {
  void* data = nullptr;
  if (napi_get_instance_data(env, &data) != napi_ok) return nullptr;
  return static_cast<AddonData*>(data);
}

napi_value MakeSysError(napi_env env, const char* syscall, int err) {
  // glibc >= 2.32: the errno name ("EBADF") and its description, without the locale.
  const char* code = strerrorname_np(err);
  const char* desc = strerrordesc_np(err);
  std::string codeStr = code ? code : "E" + std::to_string(err);
  std::string message = std::string(syscall) + " failed: " + (desc ? desc : "Unknown error") + " (" + codeStr + ")";

  napi_value msgV, errnoV, codeV, syscallV, result = nullptr;
  if (napi_create_string_utf8(env, message.c_str(), message.size(), &msgV) != napi_ok ||
      napi_create_int32(env, err, &errnoV) != napi_ok ||
      napi_create_string_utf8(env, codeStr.c_str(), codeStr.size(), &codeV) != napi_ok ||
      napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscallV) != napi_ok) {
    return nullptr;
  }
  AddonData* data = GetAddonData(env);
  napi_value ctor = nullptr;
  if (data && data->sysErrorClass) napi_get_reference_value(env, data->sysErrorClass, &ctor);
  if (ctor) {
    napi_value argv[4] = {msgV, errnoV, codeV, syscallV};
    if (napi_new_instance(env, ctor, 4, argv, &result) != napi_ok) return nullptr;
    return result;
  }
  // Not registered (only if the addon is loaded without lib/index.ts): a plain Error with the same fields.
  if (napi_create_error(env, nullptr, msgV, &result) != napi_ok) return nullptr;
  napi_set_named_property(env, result, "errno", errnoV);
  napi_set_named_property(env, result, "code", codeV);
  napi_set_named_property(env, result, "syscall", syscallV);
  return result;
}

void ThrowSys(Napi::Env env, const char* syscall, int err) {
  napi_value e = MakeSysError(env, syscall, err);
  if (e == nullptr) throw Napi::Error::New(env);  // picks up the pending exception
  throw Napi::Error(env, e);
}

void ThrowType(Napi::Env env, const std::string& message) { throw Napi::TypeError::New(env, message); }
void ThrowRange(Napi::Env env, const std::string& message) { throw Napi::RangeError::New(env, message); }

static double NumberArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsNumber()) ThrowType(info.Env(), std::string(name) + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::floor(d) != d) ThrowType(info.Env(), std::string(name) + " must be an integer");
  return d;
}

int ArgInt32(const Napi::CallbackInfo& info, size_t i, const char* name) {
  double d = NumberArg(info, i, name);
  if (d < INT32_MIN || d > INT32_MAX) ThrowRange(info.Env(), std::string(name) + " is out of range");
  return static_cast<int>(d);
}

double ArgInteger(const Napi::CallbackInfo& info, size_t i, const char* name, double min, double max) {
  double d = NumberArg(info, i, name);
  if (d < min || d > max) {
    ThrowRange(info.Env(), std::string(name) + " must be in [" + std::to_string(static_cast<long long>(min)) + ", " +
                               std::to_string(static_cast<long long>(max)) + "], got " +
                               std::to_string(static_cast<long long>(d)));
  }
  return d;
}

double OptInteger(const Napi::CallbackInfo& info, size_t i, const char* name, double min, double max, double def) {
  if (info[i].IsUndefined()) return def;
  return ArgInteger(info, i, name, min, max);
}

std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsString()) ThrowType(info.Env(), std::string(name) + " must be a string");
  std::string s = info[i].As<Napi::String>().Utf8Value();
  if (s.find('\0') != std::string::npos) ThrowType(info.Env(), std::string(name) + " must not contain NUL");
  return s;
}

Bytes ArgBytes(const Napi::CallbackInfo& info, size_t i, const char* name) {
  napi_env env = info.Env();
  napi_value v = info[i];
  bool is = false;
  size_t length = 0;
  void* data = nullptr;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type type;
    size_t count = 0, offset = 0;
    napi_value ab;
    NAPI_THROW_IF_FAILED(env, napi_get_typedarray_info(env, v, &type, &count, &data, &ab, &offset), Bytes{});
    // byte length = element count * element size; get it from the ArrayBuffer view itself
    size_t elem = 1;
    switch (type) {
      case napi_int16_array: case napi_uint16_array: elem = 2; break;
      case napi_int32_array: case napi_uint32_array: case napi_float32_array: elem = 4; break;
      case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: elem = 8; break;
      default: elem = 1;
    }
    length = count * elem;
  } else if (napi_is_dataview(env, v, &is) == napi_ok && is) {
    NAPI_THROW_IF_FAILED(env, napi_get_dataview_info(env, v, &length, &data, nullptr, nullptr), Bytes{});
  } else {
    ThrowType(info.Env(), std::string(name) + " must be a Uint8Array, Buffer or other ArrayBufferView");
  }
  if (length == 0) data = nullptr;
  return Bytes{static_cast<uint8_t*>(data), length};
}

uint32_t* ArgUint32Array(const Napi::CallbackInfo& info, size_t i, const char* name, size_t* count) {
  napi_env env = info.Env();
  napi_value v = info[i];
  bool is = false;
  napi_typedarray_type type;
  void* data = nullptr;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, v, &type, count, &data, nullptr, nullptr) != napi_ok || type != napi_uint32_array) {
    ThrowType(info.Env(), std::string(name) + " must be a Uint32Array");
  }
  return static_cast<uint32_t*>(data);
}

}  // namespace netvde
