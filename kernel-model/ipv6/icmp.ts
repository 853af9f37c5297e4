// ICMPv6 (net/ipv6/icmp.c): icmpv6_rcv with Linux's counters (Icmp6InMsgs, Icmp6InCsumErrors,
// Icmp6InErrors, per-type Icmp6Msg), echo replies (icmpv6_echo_reply) and error generation (icmp6_send)
// with RFC 4443 §2.4's rules and Linux's rate limits (icmpv6_global_allow + icmpv6_xrlim_allow);
// received errors go to the quoted packet's protocol (icmpv6_notify in icmp_err.ts).
import { PACKET_HOST, type Skb } from '../core/skb';
import { skb_csum_unnecessary } from '../ipv4/csum';
import { csum_fold, csum_partial } from '../wire/checksum';
import {
  ICMPV6_DEST_UNREACH,
  ICMPV6_ECHO_REPLY,
  ICMPV6_ECHO_REQUEST,
  ICMPV6_HLEN,
  ICMPV6_INFOMSG_MASK,
  ICMPV6_PARAMPROB,
  ICMPV6_PKT_TOOBIG,
  ICMPV6_TIME_EXCEED,
  ICMPV6_UNK_OPTION,
  NDISC_NEIGHBOUR_ADVERTISEMENT,
  NDISC_NEIGHBOUR_SOLICITATION,
  NDISC_REDIRECT,
  NDISC_ROUTER_ADVERTISEMENT,
  NDISC_ROUTER_SOLICITATION,
} from '../wire/icmpv6';
import {
  csum_ipv6_magic,
  formatIpv6,
  IPV6_HLEN,
  IPV6_MIN_MTU,
  ipv6IsMulticast,
  ipv6IsUnspecified,
  NEXTHDR_ICMP,
} from '../wire/ipv6';
import type { Inet6Dev } from './inet6_dev';
import { ip6_make_flowlabel, ip6_xmit, MAX_IPV6_HEADER, NET_XMIT_SUCCESS } from './ip6_output';
import { ndisc_rcv } from './ndisc';
import { icmp_build_message } from '../icmp/icmp_message';
import { NET_RX_DROP, NET_RX_SUCCESS, type NetnsIpv6 } from './netns';
import { ipv6_skip_exthdr, skipResult } from './exthdrs';
import { icmpv6_notify } from './icmp_err';
import { getU32 } from '../wire/bytes';

/**
 * Takes an echo request to an address that is not the model's (it reached icmpv6_rcv through the
 * namespace's terminate rule for ICMPv6, NetnsIpv6.setTerminate): the host's ICMPv6 proxy. skb.data is
 * at the ICMPv6 header, network_header at the IPv6 header, both valid only during the call. True when
 * taken (sent on, or dropped and counted by the proxy).
 */
export type Icmpv6EchoForwarder = (skb: Skb, idev: Inet6Dev) => boolean;
/** per namespace, as IPv4's (icmp_set_echo_forwarder): netns_ipv6 itself knows nothing of the proxy */
const echoForwarders = new WeakMap<NetnsIpv6, Icmpv6EchoForwarder>();

/** set (or with null remove) the echo forwarder of `net` */
export function icmpv6_set_echo_forwarder(net: NetnsIpv6, fn: Icmpv6EchoForwarder | null): void {
  if (fn === null) echoForwarders.delete(net);
  else echoForwarders.set(net, fn);
}

/** icmpv6_rcv: skb.data at the ICMPv6 header, skb.len = message length */
export function icmpv6_rcv(skb: Skb, idev: Inet6Dev): number {
  const net = idev.net;
  const mib = net.mib;
  const b = skb.buf;
  const nh = skb.network_header;
  const o = skb.data;
  const len = skb.len;
  mib.Icmp6.InMsgs++;
  // skb_checksum_validate with the pseudo-header, unless the device vouched for it
  if (!skb_csum_unnecessary(skb) && csum_fold(csum_partial(b, o, len, csum_ipv6_magic(b, nh + 8, b, nh + 24, len, NEXTHDR_ICMP))) !== 0) {
    mib.Icmp6.InCsumErrors++;
    mib.Icmp6.InErrors++;
    net.logBad(`icmpv6: checksum failed [${formatIpv6(b, nh + 8)} > ${formatIpv6(b, nh + 24)}]; dropped`);
    return NET_RX_DROP;
  }
  if (len < ICMPV6_HLEN) {
    mib.Icmp6.InErrors++;
    net.logBad(`icmpv6: ${len}-byte message from ${formatIpv6(b, nh + 8)} too short; dropped`);
    return NET_RX_DROP;
  }
  const type = b[o];
  mib.Icmp6Msg.InType[type]++;
  // through the terminate rule (an off-link unicast destination, not ours): only an echo request goes
  // on, to the proxy; the model answers nothing in another host's name, and the rest is not routed.
  // NDP, RS/RA and MLD are addressed to us, to multicast or on-link, so never come this way.
  if (!ipv6IsMulticast(b, nh + 24) && !idev.isLocal(b, nh + 24)) {
    const fwd = type === ICMPV6_ECHO_REQUEST ? echoForwarders.get(net) : undefined;
    if (fwd !== undefined && fwd(skb, idev)) return NET_RX_SUCCESS;
    mib.Ip6.InAddrErrors++;
    return NET_RX_DROP;
  }
  switch (type) {
    case ICMPV6_ECHO_REQUEST:
      if (!net.sysctl.icmp_echo_ignore_all) icmpv6_echo_reply(skb, idev);
      return NET_RX_SUCCESS;
    case NDISC_ROUTER_SOLICITATION:
    case NDISC_ROUTER_ADVERTISEMENT:
    case NDISC_NEIGHBOUR_SOLICITATION:
    case NDISC_NEIGHBOUR_ADVERTISEMENT:
    case NDISC_REDIRECT:
      return ndisc_rcv(skb, idev);
    case ICMPV6_PKT_TOOBIG:
    case ICMPV6_DEST_UNREACH:
    case ICMPV6_TIME_EXCEED:
    case ICMPV6_PARAMPROB:
      // the quoted packet's protocol hears of it (its err_handler); a broken quote is Icmp6 InErrors
      return icmpv6_notify(idev, skb, type, b[o + 1], getU32(b, o + 4)) ? NET_RX_SUCCESS : NET_RX_DROP;
    default:
      // echo replies (no ping sockets), MLD (the model is no multicast router), unknown informational
      // types; an error of unknown type still goes to the upper level (RFC 4443 §2.4 (d))
      if (type & ICMPV6_INFOMSG_MASK) return NET_RX_SUCCESS;
      return icmpv6_notify(idev, skb, type, b[o + 1], getU32(b, o + 4)) ? NET_RX_SUCCESS : NET_RX_DROP;
  }
}

/**
 * icmpv6_echo_reply: same code, identifier, sequence and data; from the pinged address when it was
 * unicast, else by source selection; traffic class reflected, hop limit net.ipv6 hop_limit
 */
function icmpv6_echo_reply(skb: Skb, idev: Inet6Dev): void {
  const net = idev.net;
  const b = skb.buf;
  const nh = skb.network_header;
  const mcast = ipv6IsMulticast(b, nh + 24);
  if (mcast && net.sysctl.icmp_echo_ignore_multicast) return;
  // the reply's route: nothing to answer when the source names no single node
  if (ipv6IsUnspecified(b, nh + 8) || ipv6IsMulticast(b, nh + 8)) return;
  let sb: Uint8Array = b;
  let so = nh + 24;
  if (mcast || skb.pkt_type !== PACKET_HOST) {
    sb = idev.saddrFor(b, nh + 8);
    so = 0;
  }
  // ICMPV6_ECHO_REPLY is informational: not in the ratemask, so both limits let it pass
  const tclass = ((b[nh] & 15) << 4) | (b[nh + 1] >>> 4);
  icmpv6_push_reply(idev, ICMPV6_ECHO_REPLY, b[skb.data + 1], (((b[skb.data + 4] << 24) | (b[skb.data + 5] << 16) | (b[skb.data + 6] << 8) | b[skb.data + 7]) >>> 0), b, skb.data + ICMPV6_HLEN, skb.len - ICMPV6_HLEN, sb, so, b, nh + 8, tclass);
}

/**
 * icmp6_send: an ICMPv6 error about `skbIn` (network_header at the offending packet's IPv6 header) to
 * its source. RFC 4443 §2.4: not about multicast destinations or link-layer multicast (except Packet
 * Too Big and Parameter Problem code 2 for an option whose type asks for it: `allowMcast`), not to an
 * unspecified or multicast source, not about ICMPv6 errors; quote as much as fits in 1280 bytes.
 */
export function icmp6_send(idev: Inet6Dev, skbIn: Skb, type: number, code: number, info: number, allowMcast = false): void {
  const net = idev.net;
  const mib = net.mib;
  const b = skbIn.buf;
  const nh = skbIn.network_header;
  const tail = skbIn.data + skbIn.len;
  if (nh < 0 || nh + IPV6_HLEN > tail) return;
  let sb: Uint8Array = b;
  let so = nh + 24;
  if (!idev.isLocal(b, nh + 24)) {
    sb = idev.saddrFor(b, nh + 8);
    so = 0;
  }
  if (ipv6IsMulticast(b, nh + 24) || skbIn.pkt_type !== PACKET_HOST) {
    if (type !== ICMPV6_PKT_TOOBIG && !(type === ICMPV6_PARAMPROB && code === ICMPV6_UNK_OPTION && allowMcast)) return;
    sb = idev.saddrFor(b, nh + 8);
    so = 0;
  }
  if (ipv6IsUnspecified(b, nh + 8) || ipv6IsMulticast(b, nh + 8)) {
    net.logBad(`icmp6_send: addr_any/mcast source [${formatIpv6(b, nh + 8)} > ${formatIpv6(b, nh + 24)}]`);
    return;
  }
  if (is_ineligible(skbIn)) return;
  // icmpv6_global_allow (the namespace's ICMP bucket, shared with IPv4) and icmpv6_xrlim_allow
  const limited = !net.icmpv6_mask_allow(type);
  if (limited) {
    if (!net.icmpGlobal.globalAllow()) {
      mib.Icmp.OutRateLimitGlobal++;
      return;
    }
    // "give more bandwidth to wider prefixes": the route to the guest is its /64 (or fe80::/64)
    const tmo = net.sysctl.icmp_ratelimit >> ((128 - 64) >> 5);
    if (!net.peerAllow(b, nh + 8, tmo)) {
      mib.Icmp6.OutRateLimitHost++;
      return;
    }
    net.icmpGlobal.globalConsume();
  }
  const room = IPV6_MIN_MTU - IPV6_HLEN - ICMPV6_HLEN;
  const dataLen = Math.min(tail - nh, room);
  icmpv6_push_reply(idev, type, code, info >>> 0, b, nh, dataLen, sb, so, b, nh + 8, 0);
}

/** is_ineligible: never an error about an ICMPv6 error (or about a message whose type is cut off) */
function is_ineligible(skb: Skb): boolean {
  const end = skb.data + skb.len;
  const r = ipv6_skip_exthdr(skb.buf, skb.network_header, end);
  if (r < 0 || skipResult.nexthdr !== NEXTHDR_ICMP) return false;
  // RFC 8200 §4.5: a fragment without the ICMPv6 header is eligible
  if (r >= end) return skipResult.fragOff === 0;
  return (skb.buf[r] & ICMPV6_INFOMSG_MASK) === 0;
}

/** build the message (header + copied data), count it (Icmp6OutMsgs, type) and send it */
function icmpv6_push_reply(
  idev: Inet6Dev,
  type: number,
  code: number,
  rest: number,
  src: Uint8Array,
  srcOff: number,
  dataLen: number,
  sb: Uint8Array,
  so: number,
  db: Uint8Array,
  dof: number,
  tclass: number,
): void {
  const net = idev.net;
  const skb = icmp_build_message(net.stack, MAX_IPV6_HEADER, type, code, rest, src, srcOff, dataLen);
  if (skb === null) {
    net.mib.Icmp6.OutErrors++;
    return;
  }
  const b = skb.buf;
  const o = skb.data;
  const c = csum_fold(csum_partial(b, o, skb.len, csum_ipv6_magic(sb, so, db, dof, skb.len, NEXTHDR_ICMP)));
  b[o + 2] = c >>> 8;
  b[o + 3] = c & 0xff;
  // counted when built (__ip6_make_skb), like Linux: a drop below is the IP layer's to count
  net.mib.Icmp6Msg.OutType[type]++;
  net.mib.Icmp6.OutMsgs++;
  const flow = ip6_make_flowlabel(sb, so, db, dof, NEXTHDR_ICMP, type);
  if (ip6_xmit(idev, skb, sb, so, db, dof, NEXTHDR_ICMP, net.sysctl.hop_limit, tclass, flow) !== NET_XMIT_SUCCESS) return;
}
