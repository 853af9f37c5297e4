// Readiness of any fd through libuv (uv_poll) on the env's own loop; never busy-polls.
//
// Ownership: a PollState has two owners, the JS handle object (napi_wrap) and the libuv handle.
// - While started, `self` is a strong reference, so a started poller stays alive (like a Node socket).
//   Stopped, it is weak, and the GC may collect an unclosed poller: the wrap finalizer then closes it.
// - close() removes the wrap and calls uv_close; the state is freed when both owners are gone.
// - At env teardown (worker exit, process exit) an async cleanup hook uv_close()s every open handle and
//   lets Node finish only once libuv has closed them all (a loop closed with live handles aborts).
// - close(fd) from sockets.cc closes the libuv handles of pollers on that fd first: libuv abort()s if
//   epoll_ctl fails on an fd that was closed while its watcher was pending, and a handle closed later
//   would unregister whatever socket reuses the fd number.
// The libuv and GC callbacks use plain N-API and never throw.
#include <uv.h>

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <vector>

#include "common.h"

namespace netvde {

struct PollState;

struct PollerRegistry {
  std::vector<PollState*> open;  // libuv handles not yet closed (uv_close callback not run)
  napi_async_cleanup_hook_handle hook = nullptr;
  bool tearingDown = false;
};

struct PollState {
  uv_poll_t handle;
  napi_env env;
  PollerRegistry* registry;
  napi_ref self = nullptr;              // the JS handle object; holds `onReady` as a property
  napi_async_context async = nullptr;   // for napi_make_callback (async_hooks)
  int fd;
  bool started = false;
  bool fdClosed = false;   // close(fd) went through net-vde: start() must refuse
  bool closing = false;    // uv_close called
  bool uvClosed = false;   // uv_close callback ran
  bool jsGone = false;     // wrap removed or finalized
};

static void MaybeFree(PollState* s) {
  if (s->uvClosed && s->jsGone) delete s;
}

static void OnUvClosed(uv_handle_t* h) {
  PollState* s = static_cast<PollState*>(h->data);
  PollerRegistry* r = s->registry;
  auto it = std::find(r->open.begin(), r->open.end(), s);
  if (it != r->open.end()) r->open.erase(it);
  s->uvClosed = true;
  MaybeFree(s);
  if (r->tearingDown && r->open.empty()) {
    napi_remove_async_cleanup_hook(r->hook);
    delete r;
  }
}

static void CloseUv(PollState* s) {
  if (s->closing) return;
  s->closing = true;
  s->started = false;
  uv_poll_stop(&s->handle);
  uv_close(reinterpret_cast<uv_handle_t*>(&s->handle), OnUvClosed);
}

// The JS side is done with `s` (close() or GC): drop its references.
static void ReleaseJs(napi_env env, PollState* s) {
  if (s->self) napi_delete_reference(env, s->self);
  s->self = nullptr;
  if (s->async) napi_async_destroy(env, s->async);
  s->async = nullptr;
  s->jsGone = true;
}

static void FinalizePoller(napi_env env, void* data, void*) {
  PollState* s = static_cast<PollState*>(data);
  ReleaseJs(env, s);
  CloseUv(s);
  MaybeFree(s);
}

static void OnEnvTeardown(napi_async_cleanup_hook_handle hook, void* arg) {
  PollerRegistry* r = static_cast<PollerRegistry*>(arg);
  r->hook = hook;
  r->tearingDown = true;
  if (r->open.empty()) {
    napi_remove_async_cleanup_hook(hook);
    delete r;
    return;
  }
  std::vector<PollState*> open = r->open;  // OnUvClosed edits r->open later, not now
  for (PollState* s : open) CloseUv(s);
}

static PollerRegistry* Registry(napi_env env) {
  AddonData* d = GetAddonData(env);
  if (d->pollers == nullptr) {
    PollerRegistry* r = new PollerRegistry();
    if (napi_add_async_cleanup_hook(env, OnEnvTeardown, r, nullptr) != napi_ok) {
      delete r;
      throw Napi::Error::New(env, "napi_add_async_cleanup_hook failed");
    }
    d->pollers = r;
  }
  return d->pollers;
}

static void OnPoll(uv_poll_t* handle, int status, int events) {
  PollState* s = static_cast<PollState*>(handle->data);
  if (s->closing || s->self == nullptr) return;
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value obj = nullptr, fn = nullptr, argv[2], result;
  if (napi_get_reference_value(env, s->self, &obj) == napi_ok && obj != nullptr &&
      napi_get_named_property(env, obj, "onReady", &fn) == napi_ok) {
    bool ok = napi_create_int32(env, status < 0 ? 0 : events, &argv[0]) == napi_ok;
    if (status < 0) {
      argv[1] = MakeSysError(env, "uv_poll", -status);
      ok = ok && argv[1] != nullptr;
    } else {
      ok = ok && napi_get_null(env, &argv[1]) == napi_ok;
    }
    if (ok) napi_make_callback(env, s->async, obj, fn, 2, argv, &result);
  }
  // A throwing callback behaves like any throwing Node callback: 'uncaughtException'.
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) {
    napi_value exc;
    if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
  }
  napi_close_handle_scope(env, scope);
}

static PollState* Unwrap(const Napi::CallbackInfo& info) {
  void* p = nullptr;
  if (!info[0].IsObject() || napi_unwrap(info.Env(), info[0], &p) != napi_ok) return nullptr;
  return static_cast<PollState*>(p);
}

// pollerOpen(fd, onReady) -> handle object
static Napi::Value PollerOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  if (!info[1].IsFunction()) ThrowType(env, "onReady must be a function");
  PollerRegistry* r = Registry(env);
  uv_loop_t* loop = nullptr;
  NAPI_THROW_IF_FAILED(env, napi_get_uv_event_loop(env, &loop), env.Undefined());

  PollState* s = new PollState();
  s->env = env;
  s->registry = r;
  s->fd = fd;
  int err = uv_poll_init(loop, &s->handle, fd);  // EEXIST when another poller is started on fd
  if (err < 0) {
    delete s;
    ThrowSys(env, "uv_poll_init", -err);
  }
  s->handle.data = s;
  r->open.push_back(s);
  // From here the uv handle exists: every failure path must close it, never free `s` directly.
  napi_value obj = nullptr;
  try {
    Napi::Object o = Napi::Object::New(env);
    o.Set("onReady", info[1]);
    obj = o;
    NAPI_THROW_IF_FAILED(env, napi_create_reference(env, obj, 0, &s->self), env.Undefined());
    NAPI_THROW_IF_FAILED(env, napi_async_init(env, nullptr, Napi::String::New(env, "net-vde:Poller"), &s->async),
                         env.Undefined());
    NAPI_THROW_IF_FAILED(env, napi_wrap(env, obj, s, FinalizePoller, nullptr, nullptr), env.Undefined());
  } catch (...) {
    ReleaseJs(env, s);
    CloseUv(s);
    throw;
  }
  return Napi::Value(env, obj);
}

static Napi::Value PollerStart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int events = static_cast<int>(ArgInteger(info, 1, "events", 1, UV_READABLE | UV_WRITABLE | UV_DISCONNECT));
  PollState* s = Unwrap(info);
  // libuv abort()s if epoll_ctl fails later on a dead fd: refuse a closed one here.
  if (s != nullptr && s->fdClosed) ThrowSys(env, "uv_poll_start", EBADF);
  if (s == nullptr || s->closing) throw Napi::Error::New(env, "Poller is closed");
  if (fcntl(s->fd, F_GETFD) < 0) ThrowSys(env, "uv_poll_start", errno);
  int err = uv_poll_start(&s->handle, events, OnPoll);
  if (err < 0) ThrowSys(env, "uv_poll_start", -err);
  if (!s->started) {
    s->started = true;
    napi_reference_ref(env, s->self, nullptr);  // a started poller is a GC root
  }
  return env.Undefined();
}

static void Stop(napi_env env, PollState* s) {
  if (!s->started || s->closing) return;
  uv_poll_stop(&s->handle);
  s->started = false;
  napi_reference_unref(env, s->self, nullptr);
}

static Napi::Value PollerStop(const Napi::CallbackInfo& info) {
  PollState* s = Unwrap(info);
  if (s != nullptr) Stop(info.Env(), s);
  return info.Env().Undefined();
}

static Napi::Value PollerClose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PollState* s = Unwrap(info);
  if (s == nullptr) return env.Undefined();  // already closed
  Stop(env, s);
  void* removed = nullptr;
  napi_remove_wrap(env, info[0], &removed);  // the wrap finalizer will not run
  ReleaseJs(env, s);
  CloseUv(s);
  return env.Undefined();
}

void StopPollersForFd(napi_env env, int fd) {
  AddonData* d = GetAddonData(env);
  if (d == nullptr || d->pollers == nullptr) return;
  // Close the libuv handles now, while the fd number still names this file: a later uv_poll_stop or
  // uv_close (from JS or the GC) would epoll_ctl(DEL) that number, by then perhaps reused by another
  // socket whose live watcher it would silently remove.
  std::vector<PollState*> open = d->pollers->open;  // OnUvClosed edits the list later, not now
  for (PollState* s : open) {
    if (s->fd != fd || s->closing) continue;
    Stop(env, s);
    s->fdClosed = true;
    CloseUv(s);
  }
}

void InitPoller(Napi::Env env, Napi::Object exports) {
  exports.Set("pollerOpen", Napi::Function::New(env, PollerOpen, "pollerOpen"));
  exports.Set("pollerStart", Napi::Function::New(env, PollerStart, "pollerStart"));
  exports.Set("pollerStop", Napi::Function::New(env, PollerStop, "pollerStop"));
  exports.Set("pollerClose", Napi::Function::New(env, PollerClose, "pollerClose"));
}

}  // namespace netvde
