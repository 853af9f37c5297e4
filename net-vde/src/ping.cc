// Unprivileged ICMP echo ("ping") sockets: socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP) and
// socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6) (net/ipv4/ping.c), plus sendto/recvfrom with an IP address
// and the hop limit the reply arrived with. The kernel allows them only to groups in
// net.ipv4.ping_group_range (ping_init_sock: EACCES otherwise, whatever the capabilities), computes the
// checksum and sets the echo identifier to the socket's own on send, and hands back only echo replies
// carrying that identifier.
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common.h"

namespace netvde {

static int FamilyArg(const Napi::CallbackInfo& info, size_t i) {
  if (info[i].IsNumber()) {
    double f = info[i].As<Napi::Number>().DoubleValue();
    if (f == 4) return AF_INET;
    if (f == 6) return AF_INET6;
  }
  ThrowType(info.Env(), "family must be 4 or 6");
}

static int SocketDomain(Napi::Env env, int fd, const char* syscall) {
  int domain = 0;
  socklen_t len = sizeof(domain);
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0) ThrowSys(env, syscall, errno);
  return domain;
}

// pingSocket(family) -> fd; hop-limit reporting (IP_RECVTTL / IPV6_RECVHOPLIMIT) is on.
static Napi::Value PingSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int family = FamilyArg(info, 0);
  int proto = family == AF_INET ? static_cast<int>(IPPROTO_ICMP) : static_cast<int>(IPPROTO_ICMPV6);
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
  if (fd < 0) ThrowSys(env, "socket", errno);
  int one = 1;
  int r = family == AF_INET ? setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof(one))
                            : setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one));
  if (r < 0) {
    int err = errno;
    close(fd);
    ThrowSys(env, "setsockopt", err);
  }
  return Napi::Number::New(env, fd);
}

// setHopLimit(fd, hops): IP_TTL or IPV6_UNICAST_HOPS by the socket's family (1..255).
static Napi::Value SetHopLimit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  int hops = static_cast<int>(ArgInteger(info, 1, "hops", 1, 255));
  int domain = SocketDomain(env, fd, "setsockopt");
  int r = domain == AF_INET6 ? setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops))
                             : setsockopt(fd, IPPROTO_IP, IP_TTL, &hops, sizeof(hops));
  if (r < 0) ThrowSys(env, "setsockopt", errno);
  return env.Undefined();
}

// sendto(fd, data, address, port?) -> bytes sent | null on EAGAIN. The address is parsed for the
// socket's own family (a textual IPv4 or IPv6 address; TypeError when it is not one).
static Napi::Value SendTo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  Bytes data = ArgBytes(info, 1, "data");
  std::string address = ArgString(info, 2, "address");
  uint16_t port = static_cast<uint16_t>(OptInteger(info, 3, "port", 0, 65535, 0));
  int domain = SocketDomain(env, fd, "sendto");
  sockaddr_storage ss;
  std::memset(&ss, 0, sizeof(ss));
  socklen_t alen;
  if (domain == AF_INET) {
    sockaddr_in* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    if (inet_pton(AF_INET, address.c_str(), &a->sin_addr) != 1) ThrowType(env, "address must be an IPv4 address for an AF_INET socket");
    alen = sizeof(*a);
  } else if (domain == AF_INET6) {
    sockaddr_in6* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    if (inet_pton(AF_INET6, address.c_str(), &a->sin6_addr) != 1) ThrowType(env, "address must be an IPv6 address for an AF_INET6 socket");
    alen = sizeof(*a);
  } else {
    ThrowSys(env, "sendto", EAFNOSUPPORT);
  }
  for (;;) {
    ssize_t n = sendto(fd, data.data, data.length, MSG_NOSIGNAL | MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&ss), alen);
    if (n >= 0) return Napi::Number::New(env, static_cast<double>(n));
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return env.Null();
    ThrowSys(env, "sendto", errno);
  }
}

union HopControl {
  cmsghdr align;
  char buf[CMSG_SPACE(sizeof(int)) * 2];
};

// recvfrom(fd, buf, offset?, length?) -> {bytes, address, port, truncated, hopLimit} | null on EAGAIN.
// hopLimit is the TTL / hop limit the datagram arrived with, -1 when the kernel did not report one.
static Napi::Value RecvFrom(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  Bytes buf = ArgBytes(info, 1, "buf");
  double offset = OptInteger(info, 2, "offset", 0, static_cast<double>(buf.length), 0);
  double length = OptInteger(info, 3, "length", 0, static_cast<double>(buf.length) - offset,
                             static_cast<double>(buf.length) - offset);
  iovec iov{buf.data ? buf.data + static_cast<size_t>(offset) : nullptr, static_cast<size_t>(length)};
  sockaddr_storage from;
  std::memset(&from, 0, sizeof(from));
  HopControl control;
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof(from);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof(control.buf);
  ssize_t n;
  for (;;) {
    n = recvmsg(fd, &msg, MSG_DONTWAIT);
    if (n >= 0) break;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return env.Null();
    ThrowSys(env, "recvfrom", errno);
  }
  int hops = -1;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    bool ttl = (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL) ||
               (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT);
    if (ttl && c->cmsg_len >= CMSG_LEN(sizeof(int))) std::memcpy(&hops, CMSG_DATA(c), sizeof(int));
  }
  char text[INET6_ADDRSTRLEN] = "";
  int port = 0;
  if (from.ss_family == AF_INET) {
    const sockaddr_in* a = reinterpret_cast<const sockaddr_in*>(&from);
    inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text));
    port = ntohs(a->sin_port);
  } else if (from.ss_family == AF_INET6) {
    const sockaddr_in6* a = reinterpret_cast<const sockaddr_in6*>(&from);
    inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text));
    port = ntohs(a->sin6_port);
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("bytes", Napi::Number::New(env, static_cast<double>(n)));
  result.Set("address", Napi::String::New(env, text));
  result.Set("port", Napi::Number::New(env, port));
  result.Set("truncated", Napi::Boolean::New(env, (msg.msg_flags & MSG_TRUNC) != 0));
  result.Set("hopLimit", Napi::Number::New(env, hops));
  return result;
}

// localPort(fd): the bound port; for a ping socket the echo identifier the kernel writes (0 until the
// first send binds one).
static Napi::Value LocalPort(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = ArgInt32(info, 0, "fd");
  sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) ThrowSys(env, "getsockname", errno);
  int port = 0;
  if (ss.ss_family == AF_INET) port = ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  else if (ss.ss_family == AF_INET6) port = ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return Napi::Number::New(env, port);
}

void InitPing(Napi::Env env, Napi::Object exports) {
  exports.Set("pingSocket", Napi::Function::New(env, PingSocket, "pingSocket"));
  exports.Set("setHopLimit", Napi::Function::New(env, SetHopLimit, "setHopLimit"));
  exports.Set("sendto", Napi::Function::New(env, SendTo, "sendto"));
  exports.Set("recvfrom", Napi::Function::New(env, RecvFrom, "recvfrom"));
  exports.Set("localPort", Napi::Function::New(env, LocalPort, "localPort"));
}

}  // namespace netvde
