// IPv4 output for what the model originates (net/ipv4/ip_output.c ip_build_and_send_pkt → ip_local_out
// → ip_output → ip_finish_output → ip_fragment → ip_finish_output2 → neigh_output → dev_queue_xmit).
// A datagram larger than the device MTU is fragmented (ip_do_fragment's slow path) unless it has DF:
// then FragFails, the protocol's err_handler hears EMSGSIZE/frag-needed and the caller gets -EMSGSIZE.
import { CHECKSUM_NONE, kfree_skb, type Skb } from '../core/skb';
import { icmp_local_error } from '../icmp/icmp_err';
import { ETH_HLEN, ETH_P_IP, eth_header } from '../wire/ethernet';
import { ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED } from '../wire/icmp';
import { IPV4_HLEN, IP_DF, IP_MF, IP_OFFSET } from '../wire/ipv4';
import { MAC_BROADCAST, formatIpv4, ipv4MulticastMac, type Ipv4Addr, type MacAddr } from '../wire/address';
import { csum_fold, csum_partial } from '../wire/checksum';
import { getU16, setU16, setU32 } from '../wire/bytes';
import type { InDevice } from './devinet';
import { ip_options_fragment } from './ip_options';
import { EMSGSIZE, RTN_BROADCAST, RTN_LOCAL, RTN_MULTICAST, RTN_UNREACHABLE } from './route';
import { rt_tos2priority } from '../sched/sch_pfifo_fast';

export const NET_XMIT_SUCCESS = 0;
export const NET_XMIT_DROP = 1;

/** room every skb the model builds must leave in front of its IPv4 header */
export const LL_RESERVED_SPACE = ETH_HLEN;
/** Ethernet + IPv4 (no options) + the largest transport header we build (UDP/ICMP: 8) */
export const MAX_IPV4_HEADER = ETH_HLEN + IPV4_HLEN + 8;

/**
 * ip_build_and_send_pkt: skb.data is at the transport header and skb.len covers the transport header and
 * payload. Prepends a 20-byte IPv4 header (TTL net.ipv4.ip_default_ttl; IP ID 0 with DF, else from
 * ip_idents), routes on the link, resolves the neighbour and transmits. `dstMac` ≥ 0 skips resolution
 * (a DHCP reply to a client that has no address yet). `ttl` ≥ 0 replaces ip_default_ttl (IP_TTL); `id` ≥ 0
 * is the IP ID a connected socket chose (ip_select_ident_segs: inet_id), else the rule above applies.
 * The skb is consumed in every case.
 * Returns NET_XMIT_SUCCESS (sent or queued for ARP; fragmented if larger than the MTU), NET_XMIT_DROP,
 * or -EMSGSIZE when `df` is set and the datagram exceeds the MTU (FragFails; err_handler told).
 */
export function ip_build_and_send_pkt(
  ind: InDevice,
  skb: Skb,
  saddr: Ipv4Addr,
  daddr: Ipv4Addr,
  protocol: number,
  tos: number,
  df: boolean,
  dstMac: MacAddr | -1 = -1,
  ttl = -1,
  id = -1,
): number {
  const net = ind.net;
  const rt = ind.inet_addr_type(daddr);
  if (rt === RTN_UNREACHABLE || rt === RTN_LOCAL) {
    // no route beyond the link; local delivery (loopback) is not modelled
    net.mib.Ip.OutNoRoutes++;
    net.logBad(`ip_output: no route to ${formatIpv4(daddr)} on ${ind.dev.name}; dropped`);
    kfree_skb(skb);
    return NET_XMIT_DROP;
  }
  if (skb.headroom < IPV4_HLEN + LL_RESERVED_SPACE || skb.len + IPV4_HLEN > 0xffff) {
    net.mib.Ip.OutDiscards++;
    kfree_skb(skb);
    return NET_XMIT_DROP;
  }
  skb.transport_header = skb.data;
  const o = skb.push(IPV4_HLEN);
  const b = skb.buf;
  b[o] = 0x45;
  b[o + 1] = tos;
  setU16(b, o + 2, skb.len);
  // ip_select_ident: DF (and not ignore_df) → 0, else the hashed per-destination counter
  setU16(b, o + 4, id >= 0 ? id & 0xffff : df ? 0 : net.ip_idents_reserve(daddr, saddr, protocol));
  setU16(b, o + 6, df ? IP_DF : 0);
  b[o + 8] = ttl >= 0 ? ttl & 255 : net.sysctl.ip_default_ttl;
  b[o + 9] = protocol;
  b[o + 10] = 0;
  b[o + 11] = 0;
  setU32(b, o + 12, saddr);
  setU32(b, o + 16, daddr);
  setU16(b, o + 10, csum_fold(csum_partial(b, o, IPV4_HLEN)));
  skb.network_header = o;
  skb.protocol = ETH_P_IP;
  skb.dev = ind.dev;
  // __ip_make_skb / ip_setsockopt(IP_TOS): priority = rt_tos2priority(tos) (include/net/route.h), so
  // pfifo_fast's and prio's priomap pick the band Linux would
  skb.priority = rt_tos2priority(tos);
  return ip_output(ind, skb, rt, daddr, dstMac);
}

/** ip_output + __ip_finish_output: counts OutRequests; larger than the MTU → ip_fragment */
export function ip_output(ind: InDevice, skb: Skb, rt: number, nexthop: Ipv4Addr, dstMac: MacAddr | -1): number {
  const mib = ind.net.mib;
  mib.Ip.OutRequests++;
  mib.IpExt.OutOctets += skb.len;
  const mtu = ind.dev.mtu;
  // ip_finish_output_gso: a GSO skb is judged by its segments (each ≤ mtu: TCP sizes gso_size from
  // the MSS), and is segmented later by validate_xmit_skb if the device cannot take it whole
  if (skb.len > mtu && skb.gso_size === 0) return ip_fragment(ind, skb, mtu, rt, nexthop, dstMac);
  return ip_finish_output2(ind, skb, rt, nexthop, dstMac);
}

/**
 * ip_fragment: DF forbids it. The model's skbs never carry ignore_df, so DF always fails here: Linux
 * then sends ICMP frag-needed (next-hop MTU) to the source — ourselves — which reaches the protocol's
 * err_handler; the model calls that hook directly.
 */
function ip_fragment(ind: InDevice, skb: Skb, mtu: number, rt: number, nexthop: Ipv4Addr, dstMac: MacAddr | -1): number {
  const b = skb.buf;
  const nh = skb.network_header;
  if ((getU16(b, nh + 6) & IP_DF) === 0) return ip_do_fragment(ind, skb, mtu, rt, nexthop, dstMac);
  ind.net.mib.Ip.FragFails++;
  ind.net.logBad(`ip_output: ${skb.len}-byte datagram with DF exceeds ${ind.dev.name} mtu ${mtu}; dropped (EMSGSIZE)`);
  icmp_local_error(ind, b, nh, skb.len, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, mtu);
  kfree_skb(skb);
  return -EMSGSIZE;
}

/**
 * ip_do_fragment, slow path (ip_frag_init/ip_frag_next): cut the payload into blocks of
 * (mtu - hlen) & ~7 bytes, each behind a copy of the header with its offset, MF on all but the last
 * (or on all if the original was itself a non-last fragment), tot_len and checksum; options without
 * the copied flag only in the first (ip_options_fragment). FragCreates per fragment sent, FragOKs once;
 * a failure (no memory, a refused send) frees the rest and counts FragFails. Consumes the skb.
 */
export function ip_do_fragment(ind: InDevice, skb: Skb, mtu: number, rt: number, nexthop: Ipv4Addr, dstMac: MacAddr | -1): number {
  const net = ind.net;
  const mib = net.mib.Ip;
  const b = skb.buf;
  const nh = skb.network_header;
  const hlen = (b[nh] & 15) << 2;
  const room = mtu - hlen;
  const fo = getU16(b, nh + 6);
  let offset = (fo & IP_OFFSET) << 3;
  const notLast = (fo & IP_MF) !== 0;
  let left = skb.len - hlen;
  let ptr = nh + hlen;
  if (room < 8) {
    // not even one 8-byte block fits: Linux would loop on empty fragments; refuse instead
    mib.FragFails++;
    kfree_skb(skb);
    return NET_XMIT_DROP;
  }
  let first = true;
  while (left > 0) {
    let len = left > room ? room : left;
    if (len < left) len &= ~7;
    const skb2 = net.stack.alloc_skb(len + hlen + LL_RESERVED_SPACE);
    if (skb2 === null) {
      mib.FragFails++;
      net.logBad(`ip_output: no buffer for a fragment of a ${skb.len}-byte datagram; dropped`);
      kfree_skb(skb);
      return NET_XMIT_DROP;
    }
    if (skb2.headroom < LL_RESERVED_SPACE) skb2.reserve(LL_RESERVED_SPACE - skb2.headroom);
    const o = skb2.put(hlen + len);
    const d = skb2.buf;
    d.set(b.subarray(nh, nh + hlen), o);
    d.set(b.subarray(ptr, ptr + len), o + hlen);
    left -= len;
    setU16(d, o + 6, (offset >>> 3) | (left > 0 || notLast ? IP_MF : 0));
    setU16(d, o + 2, len + hlen);
    d[o + 10] = 0;
    d[o + 11] = 0;
    setU16(d, o + 10, csum_fold(csum_partial(d, o, hlen)));
    ptr += len;
    offset += len;
    // ip_copy_metadata
    skb2.network_header = o;
    skb2.transport_header = o + hlen;
    skb2.protocol = ETH_P_IP;
    skb2.dev = skb.dev;
    skb2.priority = skb.priority;
    skb2.mark = skb.mark;
    skb2.hash = skb.hash;
    skb2.l4_hash = skb.l4_hash;
    skb2.sw_hash = skb.sw_hash;
    skb2.ip_summed = CHECKSUM_NONE;
    if (first && hlen > IPV4_HLEN) ip_options_fragment(b, nh, hlen);
    first = false;
    if (ip_finish_output2(ind, skb2, rt, nexthop, dstMac) !== NET_XMIT_SUCCESS) {
      mib.FragFails++;
      kfree_skb(skb);
      return NET_XMIT_DROP;
    }
    mib.FragCreates++;
  }
  kfree_skb(skb);
  mib.FragOKs++;
  return NET_XMIT_SUCCESS;
}

/** ip_finish_output2: broadcast/multicast map straight to a link address; unicast goes through ARP */
function ip_finish_output2(ind: InDevice, skb: Skb, rt: number, nexthop: Ipv4Addr, dstMac: MacAddr | -1): number {
  const mib = ind.net.mib;
  if (rt === RTN_MULTICAST) {
    mib.IpExt.OutMcastPkts++;
    mib.IpExt.OutMcastOctets += skb.len;
  } else if (rt === RTN_BROADCAST) {
    mib.IpExt.OutBcastPkts++;
    mib.IpExt.OutBcastOctets += skb.len;
  }
  mib.Ip.OutTransmits++;
  if (dstMac >= 0) return dev_hard_header_xmit(ind, skb, dstMac, ETH_P_IP);
  if (rt === RTN_BROADCAST) return dev_hard_header_xmit(ind, skb, MAC_BROADCAST, ETH_P_IP);
  if (rt === RTN_MULTICAST) return dev_hard_header_xmit(ind, skb, ipv4MulticastMac(nexthop), ETH_P_IP);
  return ind.arp_tbl.output(nexthop, skb) ? NET_XMIT_SUCCESS : NET_XMIT_DROP;
}

/**
 * dev_hard_header + dev_queue_xmit: prepend the Ethernet header (the model's MAC as source) and hand
 * the frame to the core. Consumes the skb.
 */
export function dev_hard_header_xmit(ind: InDevice, skb: Skb, dst: MacAddr, type: number): number {
  if (skb.headroom < ETH_HLEN) {
    ind.dev.stats.tx_dropped++;
    kfree_skb(skb);
    return NET_XMIT_DROP;
  }
  const o = skb.push(ETH_HLEN);
  eth_header(skb.buf, o, dst, ind.mac, type);
  skb.mac_header = o;
  skb.dev = ind.dev;
  return ind.net.stack.dev_queue_xmit(skb) === NET_XMIT_DROP ? NET_XMIT_DROP : NET_XMIT_SUCCESS;
}
