// IPv6 output for what the model originates (net/ipv6/ip6_output.c ip6_xmit → ip6_output →
// ip6_finish_output2 → neigh_output → dev_queue_xmit). A packet larger than the device MTU (a host
// datagram relayed to the guest) is split by ip6_fragment, as a host's own stack fragments (RFC 8200 §4.5).
import { kfree_skb, type Skb } from '../core/skb';
import { FRAG_HLEN, formatIpv6, IP6_MF, IPV6_HLEN, IPV6_MIN_MTU, ipv6IsMulticast, ipv6MulticastMac, NEXTHDR_FRAGMENT } from '../wire/ipv6';
import { ETH_HLEN, ETH_P_IPV6, eth_header } from '../wire/ethernet';
import type { MacAddr } from '../wire/address';
import { setU16, setU32 } from '../wire/bytes';
import type { Inet6Dev } from './inet6_dev';

export const NET_XMIT_SUCCESS = 0;
export const NET_XMIT_DROP = 1;
/** headroom every skb the model builds leaves in front of its transport header */
export const MAX_IPV6_HEADER = ETH_HLEN + IPV6_HLEN;

/**
 * ip6_xmit: skb.data at the transport header. Prepends the IPv6 header (source sb[so], destination
 * db[dof]: buffers other than skb.buf, or offsets the push cannot overwrite) and sends it on the link:
 * multicast to its 33:33 MAC, unicast on-link through the neighbour cache, `dstMac` ≥ 0 straight to that
 * MAC. Consumes the skb. NET_XMIT_SUCCESS (sent or queued for resolution) or NET_XMIT_DROP.
 */
export function ip6_xmit(
  idev: Inet6Dev,
  skb: Skb,
  sb: Uint8Array,
  so: number,
  db: Uint8Array,
  dof: number,
  nexthdr: number,
  hopLimit: number,
  tclass = 0,
  flowlabel = 0,
  dstMac: MacAddr | -1 = -1,
): number {
  const mib = idev.net.mib;
  const mcast = ipv6IsMulticast(db, dof);
  if (!mcast && dstMac < 0 && !idev.onLink(db, dof)) {
    // ip6_route_output: the model has no routes beyond its link yet
    mib.Ip6.OutNoRoutes++;
    idev.net.logBad(`ip6_output: no route to ${formatIpv6(db, dof)} on ${idev.dev.name}; dropped`);
    kfree_skb(skb);
    return NET_XMIT_DROP;
  }
  if (skb.headroom < MAX_IPV6_HEADER || skb.len > 0xffff) {
    mib.Ip6.OutDiscards++;
    kfree_skb(skb);
    return NET_XMIT_DROP;
  }
  skb.transport_header = skb.data;
  const plen = skb.len;
  const o = skb.push(IPV6_HLEN);
  const b = skb.buf;
  setU32(b, o, (0x60000000 | ((tclass & 0xff) << 20) | (flowlabel & 0xfffff)) >>> 0);
  setU16(b, o + 4, plen);
  b[o + 6] = nexthdr;
  b[o + 7] = hopLimit;
  for (let i = 0; i < 16; i++) b[o + 8 + i] = sb[so + i];
  for (let i = 0; i < 16; i++) b[o + 24 + i] = db[dof + i];
  skb.network_header = o;
  skb.protocol = ETH_P_IPV6;
  skb.dev = idev.dev;
  // ip6_output / ip6_finish_output: IPSTATS_MIB_OUTREQUESTS and the MTU
  mib.Ip6.OutRequests++;
  mib.Ip6.OutOctets += skb.len;
  // a GSO super-frame is segmented by the device, not fragmented
  if (skb.len > idev.dev.mtu && skb.gso_size === 0) return ip6_fragment(idev, skb, mcast, dstMac);
  return ip6_finish_output2(idev, skb, mcast, dstMac);
}

/** ip6_finish_output2: multicast counters, then the link: a given MAC, a multicast MAC or the neighbour */
function ip6_finish_output2(idev: Inet6Dev, skb: Skb, mcast: boolean, dstMac: MacAddr | -1): number {
  const mib = idev.net.mib;
  const b = skb.buf;
  const o = skb.network_header;
  if (mcast) {
    mib.Ip6.OutMcastPkts++;
    mib.Ip6.OutMcastOctets += skb.len;
  }
  mib.Ip6.OutTransmits++;
  if (dstMac >= 0) return neigh_hh_output6(idev, skb, dstMac);
  if (mcast) return neigh_hh_output6(idev, skb, ipv6MulticastMac(b, o + 24));
  const key = idev.neighKey(b, o + 24);
  if (key < 0) {
    idev.nd_tbl.stats.table_fulls++;
    kfree_skb(skb);
    return NET_XMIT_DROP;
  }
  return idev.nd_tbl.output(key, skb) ? NET_XMIT_SUCCESS : NET_XMIT_DROP;
}

/** dev_hard_header + dev_queue_xmit: the Ethernet header (the model's MAC as source), then the core */
export function neigh_hh_output6(idev: Inet6Dev, skb: Skb, dst: MacAddr): number {
  if (skb.headroom < ETH_HLEN) {
    idev.dev.stats.tx_dropped++;
    kfree_skb(skb);
    return NET_XMIT_DROP;
  }
  const o = skb.push(ETH_HLEN);
  eth_header(skb.buf, o, dst, idev.mac, ETH_P_IPV6);
  skb.mac_header = o;
  skb.dev = idev.dev;
  return idev.net.stack.dev_queue_xmit(skb) === NET_XMIT_DROP ? NET_XMIT_DROP : NET_XMIT_SUCCESS;
}

/**
 * A stable 20-bit flow label for a reply (ip6_make_flowlabel with auto_flowlabels = 1: Linux hashes the
 * flow with a per-boot random key; the model hashes addresses, protocol and type without one). Never 0.
 */
export function ip6_make_flowlabel(sb: Uint8Array, so: number, db: Uint8Array, dof: number, proto: number, extra: number): number {
  let h = 0x811c9dc5 ^ proto ^ (extra << 8);
  for (let i = 0; i < 16; i++) h = Math.imul(h ^ sb[so + i], 0x01000193);
  for (let i = 0; i < 16; i++) h = Math.imul(h ^ db[dof + i], 0x01000193);
  h = ((h << 16) | (h >>> 16)) >>> 0; // rol32(hash, 16) as Linux
  const l = h & 0xfffff;
  return l === 0 ? 1 : l;
}

/**
 * ip6_fragment (net/ipv6/ip6_output.c, slow path): the packet (a fixed header and no extension headers,
 * as the model builds them) becomes fragments of at most the MTU, each a copy of the header with a
 * Fragment header (next header, offset in 8-byte units, M flag, one identification) and a multiple of
 * 8 payload bytes except the last. FragCreates per fragment, FragOKs once; FragFails when a buffer is
 * missing (the rest is not sent). Consumes the skb.
 */
export function ip6_fragment(idev: Inet6Dev, skb: Skb, mcast: boolean, dstMac: MacAddr | -1): number {
  const net = idev.net;
  const mib = net.mib.Ip6;
  const b = skb.buf;
  const nh = skb.network_header;
  const mtu = Math.max(idev.dev.mtu, IPV6_MIN_MTU);
  const total = skb.len - IPV6_HLEN;
  const maxfrag = (mtu - IPV6_HLEN - FRAG_HLEN) & ~7;
  // ipv6_select_ident: one identification per datagram (a namespace counter from a random start)
  const id = net.next_frag_id();
  const nexthdr = b[nh + 6];
  let rc = NET_XMIT_SUCCESS;
  for (let off = 0; off < total; off += maxfrag) {
    const len = Math.min(maxfrag, total - off);
    const frag = net.stack.alloc_skb(MAX_IPV6_HEADER + FRAG_HLEN + len);
    if (frag === null) {
      mib.FragFails++;
      kfree_skb(skb);
      return NET_XMIT_DROP;
    }
    frag.reserve(MAX_IPV6_HEADER - IPV6_HLEN);
    const o = frag.put(IPV6_HLEN + FRAG_HLEN + len);
    const fb = frag.buf;
    fb.set(b.subarray(nh, nh + IPV6_HLEN), o);
    setU16(fb, o + 4, FRAG_HLEN + len);
    fb[o + 6] = NEXTHDR_FRAGMENT;
    fb[o + 40] = nexthdr;
    fb[o + 41] = 0;
    setU16(fb, o + 42, off | (off + len < total ? IP6_MF : 0));
    setU32(fb, o + 44, id);
    fb.set(b.subarray(nh + IPV6_HLEN + off, nh + IPV6_HLEN + off + len), o + IPV6_HLEN + FRAG_HLEN);
    frag.network_header = o;
    frag.transport_header = o + IPV6_HLEN;
    frag.protocol = ETH_P_IPV6;
    frag.dev = idev.dev;
    mib.FragCreates++;
    if (ip6_finish_output2(idev, frag, mcast, dstMac) !== NET_XMIT_SUCCESS) rc = NET_XMIT_DROP;
  }
  mib.FragOKs++;
  kfree_skb(skb);
  return rc;
}
