// ICMPv4 (net/ipv4/icmp.c): icmp_rcv with Linux's counters and broadcast rules, the echo and timestamp
// servers (icmp_echo/icmp_timestamp → icmp_reply) and error generation (__icmp_send) with the global
// and per-peer rate limits. The ICMP "socket" is Linux's control socket: IP_PMTUDISC_DONT, so replies
// carry no DF and take their IP ID from ip_idents.
import { PACKET_HOST, type Skb } from '../core/skb';
import { skb_csum_unnecessary } from '../ipv4/csum';
import type { InDevice } from '../ipv4/devinet';
import { ip_build_and_send_pkt, MAX_IPV4_HEADER } from '../ipv4/ip_output';
import { NET_RX_DROP, NET_RX_SUCCESS, type NetnsIpv4 } from '../ipv4/netns';
import { RTN_BROADCAST, RTN_LOCAL, RTN_MULTICAST, RTN_UNICAST } from '../ipv4/route';
import { formatIpv4, type Ipv4Addr } from '../wire/address';
import { copyBytes, getU16, getU32, setU16, setU32 } from '../wire/bytes';
import { csum_fold, csum_partial } from '../wire/checksum';
import {
  ICMP_ADDRESS,
  ICMP_ADDRESSREPLY,
  ICMP_DEST_UNREACH,
  ICMP_ECHO,
  ICMP_FRAG_NEEDED,
  ICMP_ECHOREPLY,
  ICMP_HLEN,
  ICMP_PARAMETERPROB,
  ICMP_REDIRECT,
  ICMP_SOURCE_QUENCH,
  ICMP_TIMESTAMP,
  ICMP_TIMESTAMPREPLY,
  ICMP_TIME_EXCEEDED,
  NR_ICMP_TYPES,
  icmpIsError,
} from '../wire/icmp';
import { ICMP_EXC_FRAGTIME, icmp_socket_deliver } from './icmp_err';
import { icmp_build_message } from './icmp_message';
import { IPPROTO_ICMP, IPTOS_PREC_INTERNETCONTROL, IPV4_HLEN, IP_OFFSET } from '../wire/ipv4';

/**
 * Takes an echo request to an address that is not the model's (it reached icmp_rcv through the
 * namespace's terminate rule for ICMP, NetnsIpv4.setTerminate): the host's ICMP proxy. skb.data is at
 * the ICMP header, network_header at the IPv4 header, both valid only during the call. True when taken
 * (sent on, or dropped and counted by the proxy).
 */
export type IcmpEchoForwarder = (skb: Skb, ind: InDevice) => boolean;
/** per namespace; netns_ipv4 itself knows nothing of the proxy */
const echoForwarders = new WeakMap<NetnsIpv4, IcmpEchoForwarder>();

/** set (or with null remove) the echo forwarder of `net` */
export function icmp_set_echo_forwarder(net: NetnsIpv4, fn: IcmpEchoForwarder | null): void {
  if (fn === null) echoForwarders.delete(net);
  else echoForwarders.set(net, fn);
}

/** RFC 8335 extended echo (PROBE); disabled by default (icmp_echo_enable_probe = 0) */
const ICMP_EXT_ECHO = 42;
const ICMP_EXT_ECHOREPLY = 43;
/** NR_ICMP_UNREACH */
const NR_ICMP_UNREACH = 15;
/** RT_TOS: the TOS bits an error keeps from the original (IPTOS_TOS_MASK) */
const IPTOS_TOS_MASK = 0x1e;
/** RFC 1812 §4.3.2.3: an error quotes as much as fits in 576 bytes */
const ICMP_ERROR_MAX_IP_LEN = 576;

/** icmp_rcv: skb.data at the ICMP header, skb.len = ICMP length; `rt` is the destination's route type */
export function icmp_rcv(skb: Skb, ind: InDevice, rt: number): number {
  const net = ind.net;
  const mib = net.mib;
  const b = skb.buf;
  const o = skb.data;
  const len = skb.len;
  mib.Icmp.InMsgs++;
  // skb_checksum_simple_validate over the whole message, unless the device vouched for it
  if (!skb_csum_unnecessary(skb) && csum_fold(csum_partial(b, o, len)) !== 0) {
    mib.Icmp.InCsumErrors++;
    mib.Icmp.InErrors++;
    net.logBad(`icmp: bad checksum from ${formatIpv4(getU32(b, skb.network_header + 12))} (${len} bytes); dropped`);
    return NET_RX_DROP;
  }
  if (len < ICMP_HLEN) {
    mib.Icmp.InErrors++;
    net.logBad(`icmp: ${len}-byte message from ${formatIpv4(getU32(b, skb.network_header + 12))} too short; dropped`);
    return NET_RX_DROP;
  }
  const type = b[o];
  mib.IcmpMsg.InType[type]++;
  if (type === ICMP_EXT_ECHO || type === ICMP_EXT_ECHOREPLY) return NET_RX_SUCCESS; // PROBE disabled; no ping sockets
  if (type > NR_ICMP_TYPES) {
    // RFC 1122 §3.2.2: unknown types are silently discarded (Linux counts InErrors)
    mib.Icmp.InErrors++;
    return NET_RX_DROP;
  }
  // through the terminate rule (RTN_LOCAL for an address that is not ours): only an echo request goes
  // on, to the proxy; the model answers nothing in another host's name, and the rest is not routed
  if (rt === RTN_LOCAL && !ind.isLocal(getU32(b, skb.network_header + 16))) {
    const fwd = type === ICMP_ECHO ? echoForwarders.get(net) : undefined;
    if (fwd !== undefined && fwd(skb, ind)) return NET_RX_SUCCESS;
    mib.Ip.InAddrErrors++;
    return NET_RX_DROP;
  }
  if (rt === RTN_BROADCAST || rt === RTN_MULTICAST) {
    // RFC 1122 §3.2.2.6/§3.2.2.8: echo/timestamp to broadcast may be ignored (icmp_echo_ignore_broadcasts)
    if ((type === ICMP_ECHO || type === ICMP_TIMESTAMP) && net.sysctl.icmp_echo_ignore_broadcasts) {
      mib.Icmp.InErrors++;
      return NET_RX_DROP;
    }
    if (type !== ICMP_ECHO && type !== ICMP_TIMESTAMP && type !== ICMP_ADDRESS && type !== ICMP_ADDRESSREPLY) {
      mib.Icmp.InErrors++;
      return NET_RX_DROP;
    }
  }
  switch (type) {
    case ICMP_ECHO:
      return icmp_echo(ind, skb, rt);
    case ICMP_TIMESTAMP:
      return icmp_timestamp(ind, skb, rt);
    case ICMP_DEST_UNREACH:
    case ICMP_SOURCE_QUENCH:
    case ICMP_TIME_EXCEEDED:
    case ICMP_PARAMETERPROB:
      return icmp_unreach(ind, skb);
    case ICMP_REDIRECT:
      return icmp_redirect(ind, skb);
    default:
      // echo replies (no ping sockets), timestamp/info/address replies: icmp_discard
      return NET_RX_SUCCESS;
  }
}

/** icmp_echo → icmp_reply: same code, id, sequence and data, from the address that was pinged */
function icmp_echo(ind: InDevice, skb: Skb, rt: number): number {
  const net = ind.net;
  if (net.sysctl.icmp_echo_ignore_all) return NET_RX_SUCCESS;
  const b = skb.buf;
  const nh = skb.network_header;
  const o = skb.data;
  icmp_reply(
    ind,
    ICMP_ECHOREPLY,
    b[o + 1],
    getU32(b, o + 4),
    b,
    o + ICMP_HLEN,
    skb.len - ICMP_HLEN,
    spec_dst(ind, getU32(b, nh + 16), rt),
    getU32(b, nh + 12),
    b[nh + 1],
  );
  return NET_RX_SUCCESS;
}

/** icmp_timestamp: originate copied, receive = transmit = ms since midnight UT (in scheduler time) */
function icmp_timestamp(ind: InDevice, skb: Skb, rt: number): number {
  const net = ind.net;
  const b = skb.buf;
  const nh = skb.network_header;
  const o = skb.data;
  if (skb.len - ICMP_HLEN < 4) {
    net.mib.Icmp.InErrors++;
    return NET_RX_DROP;
  }
  const ts = tsBuf;
  copyBytes(ts, 0, b, o + ICMP_HLEN, 4);
  const now = Math.floor(net.now()) % 86_400_000;
  setU32(ts, 4, now);
  setU32(ts, 8, now);
  icmp_reply(ind, ICMP_TIMESTAMPREPLY, 0, getU32(b, o + 4), ts, 0, 12, spec_dst(ind, getU32(b, nh + 16), rt), getU32(b, nh + 12), b[nh + 1]);
  return NET_RX_SUCCESS;
}
const tsBuf = new Uint8Array(12);

/**
 * icmp_unreach: ICMP_DEST_UNREACH, ICMP_SOURCE_QUENCH, ICMP_TIME_EXCEEDED and ICMP_PARAMETERPROB.
 * skb.data is at the ICMP header. Checks the quoted header, works out `info` (next-hop MTU per
 * ip_no_pmtu_disc, parameter-problem pointer) and hands the error to the quoted protocol's err_handler
 * (icmp_socket_deliver). Fragment-reassembly timeouts and unknown unreachable codes go no further.
 */
function icmp_unreach(ind: InDevice, skb: Skb): number {
  const net = ind.net;
  const mib = net.mib;
  const b = skb.buf;
  const icmph = skb.data;
  const inner = icmph + ICMP_HLEN;
  if (skb.len - ICMP_HLEN < IPV4_HLEN || (b[inner] & 15) < 5) {
    // pskb_may_pull(iphdr) failed, or a mangled quoted header
    mib.Icmp.InErrors++;
    return NET_RX_DROP;
  }
  const type = b[icmph];
  const code = b[icmph + 1];
  let info = 0;
  switch (type) {
    case ICMP_DEST_UNREACH:
      if ((code & 15) === ICMP_FRAG_NEEDED) {
        // Documentation/networking/ip-sysctl.rst ip_no_pmtu_disc: 0 honours the MTU, 1 ignores it,
        // 2 drops the error, 3 drops it unless the protocol validates tags (none of ours does)
        const mode = net.sysctl.ip_no_pmtu_disc;
        if (mode === 2 || mode === 3) return NET_RX_SUCCESS;
        if (mode === 0) info = getU16(b, icmph + 6);
      }
      if (code > NR_ICMP_UNREACH) return NET_RX_SUCCESS;
      break;
    case ICMP_PARAMETERPROB:
      info = b[icmph + 4];
      break;
    case ICMP_TIME_EXCEEDED:
      // InTimeExcds is the IcmpMsg InType[11] slot icmp_rcv already counted
      if (code === ICMP_EXC_FRAGTIME) return NET_RX_SUCCESS;
      break;
    default:
      break;
  }
  // icmp_ignore_bogus_error_responses defaults to 1, which skips the broadcast-destination check
  skb.pull(ICMP_HLEN);
  icmp_socket_deliver(ind, skb, icmph, info);
  return NET_RX_SUCCESS;
}

/** icmp_redirect: the model routes nothing, but the protocols hear of it (info = gateway) */
function icmp_redirect(ind: InDevice, skb: Skb): number {
  if (skb.len - ICMP_HLEN < IPV4_HLEN) {
    ind.net.mib.Icmp.InErrors++;
    return NET_RX_DROP;
  }
  const icmph = skb.data;
  const gw = getU32(skb.buf, icmph + 4);
  skb.pull(ICMP_HLEN);
  icmp_socket_deliver(ind, skb, icmph, gw);
  return NET_RX_SUCCESS;
}

/** fib_compute_spec_dst: the pinged address when it is ours, else our primary address */
function spec_dst(ind: InDevice, daddr: Ipv4Addr, rt: number): Ipv4Addr {
  return rt === RTN_LOCAL ? daddr : ind.primary;
}

/**
 * icmp_reply: replies are not in icmp_ratemask by default, but the mask is a sysctl, so both limits are
 * checked as Linux does.
 */
function icmp_reply(
  ind: InDevice,
  type: number,
  code: number,
  rest: number,
  src: Uint8Array,
  srcOff: number,
  dataLen: number,
  saddr: Ipv4Addr,
  daddr: Ipv4Addr,
  tos: number,
): void {
  const rl = ind.net.icmp;
  let apply = false;
  if (!rl.maskAllow(type, code)) {
    if (!rl.globalAllow()) {
      ind.net.mib.Icmp.OutRateLimitGlobal++;
      return;
    }
    apply = true;
  }
  if (ind.inet_addr_type(daddr) !== RTN_UNICAST) return; // ip_route_output_key fails
  if (apply) {
    if (!rl.peerAllow(daddr)) {
      ind.net.mib.Icmp.OutRateLimitHost++;
      return;
    }
    rl.globalConsume();
  }
  icmp_push_reply(ind, type, code, rest, src, srcOff, dataLen, saddr, daddr, tos);
}

/**
 * __icmp_send: an ICMP error about `skbIn` (whose network_header is the offending datagram) to its
 * source. RFC 1122 §3.2.2: never about broadcasts/multicasts (link or IP), non-first fragments, or ICMP
 * errors; quote at most 576 bytes of IP. `rt` is the route type of the original's destination.
 */
export function icmp_send(ind: InDevice, skbIn: Skb, type: number, code: number, info: number, rt: number): void {
  const net = ind.net;
  const b = skbIn.buf;
  const nh = skbIn.network_header;
  const tail = skbIn.data + skbIn.len;
  if (nh < 0 || nh + IPV4_HLEN > tail) return;
  if (skbIn.pkt_type !== PACKET_HOST) return;
  if (rt === RTN_BROADCAST || rt === RTN_MULTICAST) return;
  if (getU16(b, nh + 6) & IP_OFFSET) return;
  if (icmpIsError(type) && b[nh + 9] === IPPROTO_ICMP) {
    const it = nh + ((b[nh] & 15) << 2);
    if (it >= tail) return;
    const inner = b[it];
    if (inner > NR_ICMP_TYPES || icmpIsError(inner)) return;
  }
  const rl = net.icmp;
  let apply = false;
  if (!rl.maskAllow(type, code)) {
    if (!rl.globalAllow()) {
      net.mib.Icmp.OutRateLimitGlobal++;
      return;
    }
    apply = true;
  }
  const daddr = getU32(b, nh + 12);
  const saddr = rt === RTN_LOCAL ? getU32(b, nh + 16) : ind.primary;
  const tos = icmpIsError(type) ? (b[nh + 1] & IPTOS_TOS_MASK) | IPTOS_PREC_INTERNETCONTROL : b[nh + 1];
  if (ind.inet_addr_type(daddr) !== RTN_UNICAST) return; // icmp_route_lookup fails (e.g. source 0.0.0.0)
  if (apply) {
    if (!rl.peerAllow(daddr)) {
      net.mib.Icmp.OutRateLimitHost++;
      return;
    }
    rl.globalConsume();
  }
  const room = Math.min(ind.dev.mtu, ICMP_ERROR_MAX_IP_LEN) - IPV4_HLEN - ICMP_HLEN;
  if (room <= IPV4_HLEN) return;
  const dataLen = Math.min(tail - nh, room);
  icmp_push_reply(ind, type, code, info >>> 0, b, nh, dataLen, saddr, daddr, tos);
}

/** build the message (header + copied data), count it (icmp_out_count) and send it without DF */
function icmp_push_reply(
  ind: InDevice,
  type: number,
  code: number,
  rest: number,
  src: Uint8Array,
  srcOff: number,
  dataLen: number,
  saddr: Ipv4Addr,
  daddr: Ipv4Addr,
  tos: number,
): void {
  const net = ind.net;
  const skb = icmp_build_message(net.stack, MAX_IPV4_HEADER, type, code, rest, src, srcOff, dataLen);
  if (skb === null) {
    net.mib.Icmp.OutErrors++;
    return;
  }
  setU16(skb.buf, skb.data + 2, csum_fold(csum_partial(skb.buf, skb.data, skb.len)));
  net.mib.IcmpMsg.OutType[type]++;
  net.mib.Icmp.OutMsgs++;
  // a drop below is counted by the IP layer; ICMP counts nothing more once the message is built
  ip_build_and_send_pkt(ind, skb, saddr, daddr, IPPROTO_ICMP, tos, false);
}
