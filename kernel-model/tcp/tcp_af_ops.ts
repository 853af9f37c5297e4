// The address-family half of a TCP socket (include/net/inet_connection_sock.h struct
// inet_connection_sock_af_ops: ipv4_specific in net/ipv4/tcp_ipv4.c, ipv6_specific in net/ipv6/tcp_ipv6.c).
// The protocol code (tcp_output.ts, tcp_input.ts) stays family-blind: it asks the socket's `af` for the
// network header length (MSS = MTU − net_header_len − 20), the pseudo-header checksum (send_check), the
// network-layer transmit (queue_xmit) and the control socket's RST. IPv4 sockets keep their addresses in
// TcpSock.saddr/daddr (numbers); IPv6 sockets carry a TcpInet6 with both 128-bit addresses in one
// preallocated 32-byte array, so the per-packet path allocates nothing.
import type { Skb } from '../core/skb';
import { ip_build_and_send_pkt } from '../ipv4/ip_output';
import type { Inet6Dev } from '../ipv6/inet6_dev';
import { formatIpv4 } from '../wire/address';
import { IPPROTO_TCP } from '../wire/ipv4';
import { tcp_v4_check } from '../wire/tcp';
import type { TcpSock } from './sock';
import { tcp_v4_send_reset_to } from './tcp_ipv4';
import { TCP_SYN_RECV } from './tcp_states';

export const AF_INET = 2;
export const AF_INET6 = 10;

export interface TcpAfOps {
  readonly family: number;
  /** bytes of network header in front of TCP (sizeof(struct iphdr) / sizeof(struct ipv6hdr)) */
  readonly net_header_len: number;
  /** the checksum to store for the segment buf[off, off+len) (its checksum field zeroed) */
  send_check(tp: TcpSock, b: Uint8Array, off: number, len: number): number;
  /** hand the segment (skb.data at the TCP header) to the network layer; consumes the skb */
  queue_xmit(tp: TcpSock, skb: Skb): number;
  /** a control-socket RST about this socket's 4-tuple (tcp_v4_send_reset / tcp_v6_send_reset) */
  send_reset(tp: TcpSock, seq: number, ack: number, flags: number): void;
  format(tp: TcpSock): string;
}

/** an IPv6 socket's addresses: local at addrs[0..16), remote at addrs[16..32), and its device */
export class TcpInet6 {
  readonly addrs = new Uint8Array(32);
  /** the flow label of every packet (ip6_make_flowlabel once per socket) */
  flowlabel = 0;
  constructor(readonly idev: Inet6Dev) {}
}

/**
 * ip_select_ident_segs (include/net/ip.h) for a TCP socket: a connected socket (inet_daddr set) numbers
 * its packets from inet_id, DF or not, and advances it by the segments the skb becomes (gso_segs ?: 1),
 * so each segment tcp_gso_segment cuts gets its own ID. The SYN-ACK leaves through
 * ip_build_and_send_pkt on behalf of the listener (no inet_daddr): DF, ID 0.
 */
export function ip_select_ident_segs(tp: TcpSock, skb: Skb): number {
  if (tp.state === TCP_SYN_RECV) return -1;
  if (tp.inet_id < 0) tp.inet_id = (tp.iss ^ (tp.iss >>> 16)) & 0xffff;
  const id = tp.inet_id;
  tp.inet_id = (id + (skb.gso_segs > 1 ? skb.gso_segs : 1)) & 0xffff;
  return id;
}

/** ipv4_specific */
export const ipv4_specific: TcpAfOps = {
  family: AF_INET,
  net_header_len: 20,
  send_check(tp, b, off, len) {
    return tcp_v4_check(b, off, len, tp.saddr, tp.daddr);
  },
  queue_xmit(tp, skb) {
    return ip_build_and_send_pkt(tp.ind, skb, tp.saddr, tp.daddr, IPPROTO_TCP, 0, true, -1, -1, ip_select_ident_segs(tp, skb));
  },
  send_reset(tp, seq, ack, flags) {
    tcp_v4_send_reset_to(tp.net, tp.ind, tp.saddr, tp.daddr, tp.sport, tp.dport, seq, ack, flags);
  },
  format(tp) {
    return `${formatIpv4(tp.saddr)}:${tp.sport}→${formatIpv4(tp.daddr)}:${tp.dport}`;
  },
};
