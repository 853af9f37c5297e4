// UDP over IPv6 on receive (net/ipv6/udp.c __udp6_lib_rcv, udp6_csum_init): length checks, the
// mandatory checksum (RFC 8200 §8.1: a zero checksum is an error), demultiplexing to the few ports the
// model binds, and ICMPv6 port unreachable for the rest (Udp6NoPorts); ICMPv6 errors quoting our
// datagrams (__udp6_lib_err).
import { PACKET_HOST, type Skb } from '../core/skb';
import { skb_csum_unnecessary } from '../ipv4/csum';
import { getU16, setU16 } from '../wire/bytes';
import { ip6_make_flowlabel, ip6_xmit, MAX_IPV6_HEADER, NET_XMIT_SUCCESS } from './ip6_output';
import { csum_fold, csum_partial } from '../wire/checksum';
import { ICMPV6_DEST_UNREACH, ICMPV6_PORT_UNREACH } from '../wire/icmpv6';
import { csum_ipv6_magic, formatIpv6, ipv6IsMulticast, NEXTHDR_UDP } from '../wire/ipv6';
import { icmp6_send } from './icmp';
import type { Icmp6Err } from './icmp_err';
import type { Inet6Dev } from './inet6_dev';
import { NET_RX_DROP, NET_RX_SUCCESS } from './netns';

export const UDP_HLEN = 8;

/**
 * A bound port's receive function: skb.data at the UDP payload (skb.len bytes), skb.transport_header at
 * the UDP header, skb.network_header at the IPv6 header. Valid only during the call.
 */
export type Udp6Handler = (skb: Skb, idev: Inet6Dev) => void;

/**
 * A bound port's error queue (a socket with IPV6_RECVERR set): every ICMPv6 error quoting a datagram
 * sent from the port, with icmpv6_err_convert's errno in e.errno. Valid only during the call.
 */
export type Udp6ErrHandler = (e: Icmp6Err) => void;

/** the model's UDPv6 ports (one handler per port, any of our addresses) */
export class Udp6Table {
  private readonly ports = new Map<number, Udp6Handler>();
  private readonly errs = new Map<number, Udp6ErrHandler>();
  /**
   * datagrams to no bound port (the UDP host proxy): skb.data at the UDP header (checksum verified),
   * network_header at the IPv6 header; true when taken (the caller counts InDatagrams)
   */
  forwarder: ((skb: Skb, idev: Inet6Dev) => boolean) | null = null;
  /** `onError`, when given, hears the ICMPv6 errors about the port's datagrams (IPV6_RECVERR on) */
  bind(port: number, handler: Udp6Handler, onError?: Udp6ErrHandler): boolean {
    if (!(port > 0 && port < 65536) || this.ports.has(port)) return false;
    this.ports.set(port, handler);
    if (onError !== undefined) this.errs.set(port, onError);
    return true;
  }
  unbind(port: number, handler: Udp6Handler): void {
    if (this.ports.get(port) !== handler) return;
    this.ports.delete(port);
    this.errs.delete(port);
  }
  /** the port's error handler (undefined: IPV6_RECVERR off) */
  errHandler(port: number): Udp6ErrHandler | undefined {
    return this.errs.get(port);
  }
  lookup(port: number): Udp6Handler | undefined {
    return this.ports.get(port);
  }
  /** the bound port numbers (for views such as `ss -ua`) */
  boundPorts(): number[] {
    return [...this.ports.keys()];
  }
}

/** udpv6_rcv: skb.data at the UDP header, skb.len = the rest of the packet */
export function udpv6_rcv(skb: Skb, idev: Inet6Dev): number {
  const net = idev.net;
  const mib = net.mib;
  const b = skb.buf;
  const nh = skb.network_header;
  const o = skb.data;
  if (skb.len < UDP_HLEN) return udp6_short(idev, skb);
  const ulen = getU16(b, o + 4);
  // ulen 0 would mean a jumbogram; over the model's links it is just short
  if (ulen > skb.len || ulen < UDP_HLEN) return udp6_short(idev, skb);
  skb.len = ulen; // pskb_trim_rcsum
  // udp6_csum_init: zero checksum is illegal over IPv6
  if (getU16(b, o + 6) === 0) {
    net.logBad(`IPv6: udp checksum is 0 for [${formatIpv6(b, nh + 8)}]:${getU16(b, o)}->[${formatIpv6(b, nh + 24)}]:${getU16(b, o + 2)}`);
    return udp6_csum_error(idev);
  }
  const csumOk = skb_csum_unnecessary(skb) || csum_fold(csum_partial(b, o, ulen, csum_ipv6_magic(b, nh + 8, b, nh + 24, ulen, NEXTHDR_UDP))) === 0;
  if (ipv6IsMulticast(b, nh + 24)) {
    // __udp6_lib_mcast_deliver: no multicast sockets in the model
    mib.Udp6.IgnoredMulti++;
    return NET_RX_SUCCESS;
  }
  const handler = net.udp.lookup(getU16(b, o + 2));
  if (handler === undefined) {
    if (!csumOk) return udp6_csum_error(idev);
    const fwd = net.udp.forwarder;
    if (fwd !== null && skb.pkt_type === PACKET_HOST) {
      let taken = false;
      try {
        taken = fwd(skb, idev);
      } catch (e) {
        net.drops.handlerErrors++;
        net.log.error(`udpv6: forwarder threw: ${(e as Error)?.stack ?? String(e)}`);
        taken = true;
      }
      if (taken) {
        mib.Udp6.InDatagrams++;
        return NET_RX_SUCCESS;
      }
    }
    mib.Udp6.NoPorts++;
    if (skb.pkt_type === PACKET_HOST) icmp6_send(idev, skb, ICMPV6_DEST_UNREACH, ICMPV6_PORT_UNREACH, 0);
    return NET_RX_DROP;
  }
  if (!csumOk) return udp6_csum_error(idev);
  mib.Udp6.InDatagrams++;
  skb.transport_header = o;
  skb.pull(UDP_HLEN);
  try {
    handler(skb, idev);
  } catch (e) {
    net.drops.handlerErrors++;
    net.log.error(`udpv6: handler threw: ${(e as Error)?.stack ?? String(e)}`);
  }
  return NET_RX_SUCCESS;
}

/**
 * __udp6_lib_err (udpv6_err): an ICMPv6 error quoting a datagram we sent. No socket on the quoted
 * source port: Icmp6 InErrors. The model's sockets are unconnected (they answer whoever asked), so
 * without IPV6_RECVERR Linux tells them nothing (sk_err is only set for a hard error on a connected
 * socket); a port bound with an error handler has it set and hears every error. A Packet Too Big
 * updates no route: the model's UDPv6 output fragments by the device MTU (ip6_sk_update_pmtu has no
 * route cache to lower here).
 */
export function udpv6_err(e: Icmp6Err): void {
  const net = e.idev.net;
  const port = e.sport;
  if (net.udp.lookup(port) === undefined) {
    net.mib.Icmp6.InErrors++;
    return;
  }
  const onError = net.udp.errHandler(port);
  if (onError === undefined) return;
  // ipv6_icmp_error + sk_error_report
  onError(e);
}

function udp6_short(idev: Inet6Dev, skb: Skb): number {
  idev.net.mib.Udp6.InErrors++;
  idev.net.logBad(`UDPv6: short packet from ${formatIpv6(skb.buf, skb.network_header + 8)} (${skb.len} bytes); dropped`);
  return NET_RX_DROP;
}

function udp6_csum_error(idev: Inet6Dev): number {
  idev.net.mib.Udp6.InCsumErrors++;
  idev.net.mib.Udp6.InErrors++;
  return NET_RX_DROP;
}

/** largest UDP payload over IPv6 without a jumbogram (65535 − 8) */
export const UDP6_MAX_PAYLOAD = 0xffff - UDP_HLEN;

/**
 * udpv6_sendmsg for a host-originated payload: payload[off, off+len) from sb[so]:sport to db[dof]:dport
 * (copied; fragmented by ip6_fragment when larger than the MTU). 0 sent or queued, < 0 dropped.
 */
export function udpv6_sendto(
  idev: Inet6Dev,
  sb: Uint8Array,
  so: number,
  sport: number,
  db: Uint8Array,
  dof: number,
  dport: number,
  payload: Uint8Array,
  off = 0,
  len = payload.length - off,
): number {
  const net = idev.net;
  if (off < 0 || len < 0 || off + len > payload.length || len > UDP6_MAX_PAYLOAD) return -1;
  const skb = net.stack.alloc_skb(MAX_IPV6_HEADER + UDP_HLEN + len);
  if (skb === null) {
    net.mib.Udp6.SndbufErrors++;
    return -1;
  }
  if (skb.headroom < MAX_IPV6_HEADER + UDP_HLEN) skb.reserve(MAX_IPV6_HEADER + UDP_HLEN - skb.headroom);
  const p = skb.put(len);
  const b = skb.buf;
  b.set(payload.subarray(off, off + len), p);
  const o = skb.push(UDP_HLEN);
  const ulen = len + UDP_HLEN;
  setU16(b, o, sport);
  setU16(b, o + 2, dport);
  setU16(b, o + 4, ulen);
  setU16(b, o + 6, 0);
  // RFC 8200 §8.1: a computed 0 is sent as 0xffff
  const c = csum_fold(csum_partial(b, o, ulen, csum_ipv6_magic(sb, so, db, dof, ulen, NEXTHDR_UDP)));
  setU16(b, o + 6, c === 0 ? 0xffff : c);
  net.mib.Udp6.OutDatagrams++;
  const flow = ip6_make_flowlabel(sb, so, db, dof, NEXTHDR_UDP, (sport << 16) | dport);
  return ip6_xmit(idev, skb, sb, so, db, dof, NEXTHDR_UDP, net.sysctl.hop_limit, 0, flow) === NET_XMIT_SUCCESS ? 0 : -1;
}
