// Route types (include/uapi/linux/rtnetlink.h RTN_*) — the model has no FIB: a device's InetConfig
// decides every address (local, on-link broadcast/multicast, on-link unicast, unreachable).
export const RTN_UNICAST = 1;
export const RTN_LOCAL = 2;
export const RTN_BROADCAST = 3;
export const RTN_MULTICAST = 5;
export const RTN_UNREACHABLE = 7;

// errno values ip_route_input returns (negated), as in Linux
export const EINVAL = 22;
export const EHOSTUNREACH = 113;
export const ENETUNREACH = 101;
export const ENOBUFS = 105;
export const EMSGSIZE = 90;

/** 224.0.0.1: every IPv4 interface is a member of the all-hosts group (RFC 1112) */
export const INADDR_ALLHOSTS_GROUP = 0xe0000001;
