// AF_UNIX sockets: socket, socketpair, bind (with an exact file mode), listen, accept, connect, close.
// Every fd is created SOCK_NONBLOCK|SOCK_CLOEXEC; "would block" is a null/false return, not an error.
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common.h"

namespace netvde {

static int SocketTypeArg(const Napi::CallbackInfo& info, size_t i) {
  if (info[i].IsString()) {
    std::string t = info[i].As<Napi::String>().Utf8Value();
    if (t == "stream") return SOCK_STREAM;
    if (t == "seqpacket") return SOCK_SEQPACKET;
    if (t == "dgram") return SOCK_DGRAM;
  }
  ThrowType(info.Env(), "type must be 'stream', 'seqpacket' or 'dgram'");
}

// A filesystem sockaddr_un; the path must fit sun_path with its NUL.
static socklen_t PathArg(const Napi::CallbackInfo& info, size_t i, sockaddr_un* addr) {
  std::string path = ArgString(info, i, "path");
  if (path.empty()) ThrowType(info.Env(), "path must not be empty");
  if (path.size() >= sizeof(addr->sun_path)) {
    ThrowRange(info.Env(), "path is " + std::to_string(path.size()) + " bytes; sockaddr_un holds at most " +
                               std::to_string(sizeof(addr->sun_path) - 1));
  }
  std::memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  std::memcpy(addr->sun_path, path.data(), path.size());
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
}

static Napi::Value Socket(const Napi::CallbackInfo& info) {
  int type = SocketTypeArg(info, 0);
  int fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) ThrowSys(info.Env(), "socket", errno);
  return Napi::Number::New(info.Env(), fd);
}

static Napi::Value Socketpair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int type = SocketTypeArg(info, 0);
  int sv[2];
  if (socketpair(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) ThrowSys(env, "socketpair", errno);
  Napi::Array pair = Napi::Array::New(env, 2);
  pair.Set(uint32_t(0), Napi::Number::New(env, sv[0]));
  pair.Set(uint32_t(1), Napi::Number::New(env, sv[1]));
  return pair;
}

// The socket file gets its mode at creation: Linux unix_bind_bsd() (net/unix/af_unix.c) creates it with
// (socket inode mode & ~umask), so fchmod on the still unbound socket sets the mode without touching the
// process-wide umask (other threads create files meanwhile). A umask can only narrow it; then chmod
// widens it to exactly `mode`, never beyond.
static Napi::Value Bind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  sockaddr_un addr;
  socklen_t len = PathArg(info, 1, &addr);
  mode_t mode = static_cast<mode_t>(OptInteger(info, 2, "mode", 0, 0777, 0600));
  struct stat st;
  if (fstat(fd, &st) < 0) ThrowSys(env, "bind", errno);
  if (!S_ISSOCK(st.st_mode)) ThrowSys(env, "bind", ENOTSOCK);  // fchmod must not touch another file's mode
  if (fchmod(fd, mode) < 0) ThrowSys(env, "fchmod", errno);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) < 0) ThrowSys(env, "bind", errno);
  if (stat(addr.sun_path, &st) < 0) ThrowSys(env, "stat", errno);
  if (S_ISSOCK(st.st_mode) && (st.st_mode & 07777) != mode && chmod(addr.sun_path, mode) < 0) {
    ThrowSys(env, "chmod", errno);
  }
  return env.Undefined();
}

static Napi::Value Listen(const Napi::CallbackInfo& info) {
  int fd = ArgInt32(info, 0, "fd");
  int backlog = static_cast<int>(ArgInteger(info, 1, "backlog", 0, INT32_MAX));
  if (listen(fd, backlog) < 0) ThrowSys(info.Env(), "listen", errno);
  return info.Env().Undefined();
}

static Napi::Value Accept(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  for (;;) {
    int c = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c >= 0) return Napi::Number::New(env, c);
    if (errno == EINTR || errno == ECONNABORTED) continue;  // the next pending connection, if any
    if (errno == EAGAIN || errno == EWOULDBLOCK) return env.Null();
    ThrowSys(env, "accept4", errno);
  }
}

static Napi::Value Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  sockaddr_un addr;
  socklen_t len = PathArg(info, 1, &addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0) return Napi::Boolean::New(env, true);
  // EINTR: the connect goes on asynchronously, as EINPROGRESS (connect(2)).
  if (errno == EINPROGRESS || errno == EAGAIN || errno == EINTR) return Napi::Boolean::New(env, false);
  ThrowSys(env, "connect", errno);
}

// SO_ERROR: the pending error of a non-blocking connect (0 when it succeeded); reading clears it.
static Napi::Value SocketError(const Napi::CallbackInfo& info) {
  int fd = ArgInt32(info, 0, "fd");
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) ThrowSys(info.Env(), "getsockopt", errno);
  return Napi::Number::New(info.Env(), err);
}

static Napi::Value Close(const Napi::CallbackInfo& info) {
  int fd = ArgInt32(info, 0, "fd");
  StopPollersForFd(info.Env(), fd);
  // On Linux the fd is released even when close() reports EINTR; never retry (it could close a reused fd).
  if (close(fd) < 0 && errno != EINTR) ThrowSys(info.Env(), "close", errno);
  return info.Env().Undefined();
}

void InitSockets(Napi::Env env, Napi::Object exports) {
  exports.Set("socket", Napi::Function::New(env, Socket, "socket"));
  exports.Set("socketpair", Napi::Function::New(env, Socketpair, "socketpair"));
  exports.Set("bind", Napi::Function::New(env, Bind, "bind"));
  exports.Set("listen", Napi::Function::New(env, Listen, "listen"));
  exports.Set("accept", Napi::Function::New(env, Accept, "accept"));
  exports.Set("connect", Napi::Function::New(env, Connect, "connect"));
  exports.Set("socketError", Napi::Function::New(env, SocketError, "socketError"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
}

}  // namespace netvde
