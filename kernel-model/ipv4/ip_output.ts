// IPv4 output for what the model originates (net/ipv4/ip_output.c ip_build_and_send_pkt → ip_local_out
// → ip_output → ip_finish_output2 → neigh_output → dev_queue_xmit). No fragmentation: a datagram larger
// than the device MTU is dropped and counted in FragFails.
import { kfree_skb, type Skb } from '../core/skb';
import { ETH_HLEN, ETH_P_IP, eth_header } from '../wire/ethernet';
import { IPV4_HLEN, IP_DF } from '../wire/ipv4';
import { MAC_BROADCAST, formatIpv4, ipv4MulticastMac, type Ipv4Addr, type MacAddr } from '../wire/address';
import { csum_fold, csum_partial } from '../wire/checksum';
import { setU16, setU32 } from '../wire/bytes';
import type { InDevice } from './devinet';
import { RTN_BROADCAST, RTN_LOCAL, RTN_MULTICAST, RTN_UNREACHABLE } from './route';

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
 * (a DHCP reply to a client that has no address yet). The skb is consumed in every case.
 * Returns NET_XMIT_SUCCESS (sent or queued for ARP) or NET_XMIT_DROP.
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
  setU16(b, o + 4, df ? 0 : net.ip_idents_reserve(daddr, saddr, protocol));
  setU16(b, o + 6, df ? IP_DF : 0);
  b[o + 8] = net.sysctl.ip_default_ttl;
  b[o + 9] = protocol;
  b[o + 10] = 0;
  b[o + 11] = 0;
  setU32(b, o + 12, saddr);
  setU32(b, o + 16, daddr);
  setU16(b, o + 10, csum_fold(csum_partial(b, o, IPV4_HLEN)));
  skb.network_header = o;
  skb.protocol = ETH_P_IP;
  skb.dev = ind.dev;
  return ip_output(ind, skb, rt, daddr, dstMac);
}

/** ip_output + ip_finish_output: counts OutRequests and enforces the MTU */
export function ip_output(ind: InDevice, skb: Skb, rt: number, nexthop: Ipv4Addr, dstMac: MacAddr | -1): number {
  const mib = ind.net.mib;
  mib.Ip.OutRequests++;
  mib.IpExt.OutOctets += skb.len;
  if (skb.len > ind.dev.mtu) {
    // ip_fragment is not modelled
    mib.Ip.FragFails++;
    ind.net.logBad(`ip_output: ${skb.len}-byte datagram exceeds ${ind.dev.name} mtu ${ind.dev.mtu}; dropped (no fragmentation)`);
    kfree_skb(skb);
    return NET_XMIT_DROP;
  }
  return ip_finish_output2(ind, skb, rt, nexthop, dstMac);
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
