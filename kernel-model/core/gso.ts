// Software GSO for TCP over IPv4/IPv6 (net/core/gso.c skb_gso_segment → net/ipv4/af_inet.c
// inet_gso_segment / net/ipv6/ip6_offload.c ipv6_gso_segment → net/ipv4/tcp_offload.c tcp_gso_segment)
// and skb_checksum_help (net/core/dev.c). validate_xmit_skb (xmit.ts) and tbf_segment use these when a
// device lacks the offload an skb needs (netif_needs_gso).
//
// Segments are cut one at a time into an skb the caller provides (tcp_gso_build_segment), so the
// transmit path can reuse one buffer for all segments of a super-frame; skb_gso_segment builds them
// all as separate skbs for callers that queue them (tbf). Per segment k of n (tcp_gso_segment):
// payload k·mss…, seq += k·mss, CWR only on the first, FIN/PSH only on the last, IPv4 total length,
// ID (+k unless SKB_GSO_TCP_FIXEDID) and header checksum, IPv6 payload length, and the TCP checksum —
// left to the device (CHECKSUM_PARTIAL, pseudo header in the field) when it has NETIF_F_HW_CSUM, else
// computed here.
import type { NetStack } from './stack';
import { NETIF_F_GSO_SHIFT, NETIF_F_HW_CSUM, NETIF_F_IP_CSUM, NETIF_F_IPV6_CSUM } from './netdevice';
import {
  CHECKSUM_NONE,
  CHECKSUM_PARTIAL,
  CHECKSUM_UNNECESSARY,
  SKB_GSO_DODGY,
  SKB_GSO_TCPV4,
  SKB_GSO_TCPV6,
  SKB_GSO_TCP_ECN,
  __copy_skb_header,
  kfree_skb,
  type Skb,
} from './skb';
import { SKB_GSO_TCP_FIXEDID } from './gro/gro_cb';
import { getU16, getU32, setU16, setU32 } from '../wire/bytes';
import { csum_fold, csum_fold16, csum_partial } from '../wire/checksum';

export { SKB_GSO_TCP_FIXEDID };

const ETH_HLEN = 14;
const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const IPPROTO_TCP = 6;
const TCP_FLAG_CWR = 0x80;
const TCP_FLAG_FIN = 0x01;
const TCP_FLAG_PSH = 0x08;
/** offsetof(struct tcphdr, check) */
const TCP_CHECK_OFF = 16;
/** CSUM_MANGLED_0: a computed checksum of 0 is sent as 0xffff */
const CSUM_MANGLED_0 = 0xffff;

/** the gso_type bits a device feature exists for (SKB_GSO_TCPV4 … SKB_GSO_TCPV6, bits 0-4) */
const GSO_TCP_BITS = SKB_GSO_TCPV4 | SKB_GSO_DODGY | SKB_GSO_TCP_ECN | SKB_GSO_TCP_FIXEDID | SKB_GSO_TCPV6;

/**
 * net_gso_ok (include/linux/netdevice.h): every gso_type bit has its NETIF_F_ feature. Types beyond
 * the TCP bits (UDP_L4, tunnels) have features above bit 31 that the model's devices never offer.
 */
export function net_gso_ok(features: number, gso_type: number): boolean {
  if (gso_type & ~GSO_TCP_BITS) return false;
  const feature = (gso_type << NETIF_F_GSO_SHIFT) >>> 0;
  return ((features >>> 0) & feature) === feature;
}

/** skb_is_gso */
export function skb_is_gso(skb: Skb): boolean {
  return skb.gso_size > 0;
}

/**
 * netif_needs_gso: a GSO skb the device cannot take whole — it lacks the segmentation feature, or
 * the skb's checksum is not left to offload (only CHECKSUM_PARTIAL/UNNECESSARY may pass).
 */
export function netif_needs_gso(skb: Skb, features: number): boolean {
  return (
    skb.gso_size > 0 &&
    (!net_gso_ok(features, skb.gso_type) || (skb.ip_summed !== CHECKSUM_PARTIAL && skb.ip_summed !== CHECKSUM_UNNECESSARY))
  );
}

/** Where the headers of a GSO frame are (absolute offsets in skb.buf) and how it splits. */
export class GsoInfo {
  /** network and transport header */
  nh = 0;
  th = 0;
  ipv6 = false;
  /** L2 + L3 + L4 header bytes from skb.data (each segment starts with a copy of them) */
  hdr_len = 0;
  /** TCP header length */
  thl = 0;
  /** TCP payload bytes and segment size */
  payload = 0;
  mss = 0;
  /** segments */
  segs = 0;
  seq = 0;
  flags = 0;
  ip_id = 0;
  fixedid = false;
}

/**
 * Parse the headers of a TCP GSO frame (skb.data at the Ethernet header): IPv4 without fragment
 * bits and protocol TCP, or IPv6 with next header TCP (extension headers are not segmented here),
 * matching gso_type; every header inside the frame, payload > 0. Returns a reason on failure.
 */
export function gso_parse(skb: Skb, g: GsoInfo): string {
  if (!skb.valid || skb.gso_size <= 0) return 'not a GSO skb';
  const b = skb.buf;
  const start = skb.data;
  const end = start + skb.len;
  if (skb.len < ETH_HLEN + 20) return 'too short';
  const proto = getU16(b, start + 12);
  const nh = start + ETH_HLEN;
  let th: number;
  if (proto === ETH_P_IP && skb.gso_type & SKB_GSO_TCPV4) {
    if (b[nh] >> 4 !== 4) return 'not IPv4';
    const ihl = (b[nh] & 15) * 4;
    if (ihl < 20 || nh + ihl + 20 > end) return 'bad IPv4 header length';
    if (b[nh + 9] !== IPPROTO_TCP) return 'not TCP';
    if (getU16(b, nh + 6) & 0x3fff) return 'IPv4 fragment';
    th = nh + ihl;
    g.ipv6 = false;
    g.ip_id = getU16(b, nh + 4);
  } else if (proto === ETH_P_IPV6 && skb.gso_type & SKB_GSO_TCPV6) {
    if (nh + 40 + 20 > end || b[nh] >> 4 !== 6) return 'bad IPv6 header';
    if (b[nh + 6] !== IPPROTO_TCP) return 'IPv6 next header is not TCP';
    th = nh + 40;
    g.ipv6 = true;
    g.ip_id = 0;
  } else {
    return `gso_type 0x${skb.gso_type.toString(16)} does not match ethertype 0x${proto.toString(16)}`;
  }
  const thl = (b[th + 12] >> 4) * 4;
  if (thl < 20 || th + thl > end) return 'bad TCP header length';
  g.nh = nh;
  g.th = th;
  g.thl = thl;
  g.hdr_len = th + thl - start;
  g.payload = end - th - thl;
  if (g.payload <= 0) return 'no payload';
  g.mss = skb.gso_size;
  g.segs = Math.ceil(g.payload / g.mss);
  g.seq = getU32(b, th + 4);
  g.flags = b[th + 13];
  g.fixedid = (skb.gso_type & SKB_GSO_TCP_FIXEDID) !== 0;
  return '';
}

/** the pseudo-header sum (uncomplemented) for a TCP segment of `tcplen` bytes, from the header in b */
function tcp_pseudo(b: Uint8Array, nh: number, ipv6: boolean, tcplen: number): number {
  if (ipv6) return csum_partial(b, nh + 8, 32, IPPROTO_TCP + (tcplen >>> 16) + (tcplen & 0xffff));
  return csum_partial(b, nh + 12, 8, IPPROTO_TCP + tcplen);
}

/**
 * Fix the headers of a frame that now carries `plen` payload bytes starting at segment `k`: lengths,
 * IPv4 ID and checksum, sequence, CWR/FIN/PSH, and the TCP checksum (pseudo header for offload, or
 * the full sum). `nh`/`th` are absolute in b; `last` says whether the frame ends the super-frame.
 */
function gso_fix_headers(b: Uint8Array, g: GsoInfo, nh: number, th: number, k: number, plen: number, last: boolean, offload: boolean): void {
  const tcplen = g.thl + plen;
  if (g.ipv6) {
    setU16(b, nh + 4, th - nh - 40 + tcplen);
  } else {
    const ihl = th - nh;
    setU16(b, nh + 2, ihl + tcplen);
    if (!g.fixedid) setU16(b, nh + 4, (g.ip_id + k) & 0xffff);
    b[nh + 10] = 0;
    b[nh + 11] = 0;
    setU16(b, nh + 10, csum_fold(csum_partial(b, nh, ihl)));
  }
  setU32(b, th + 4, (g.seq + k * g.mss) >>> 0);
  let flags = g.flags;
  if (k > 0) flags &= ~TCP_FLAG_CWR;
  if (!last) flags &= ~(TCP_FLAG_FIN | TCP_FLAG_PSH);
  b[th + 13] = flags;
  b[th + TCP_CHECK_OFF] = 0;
  b[th + TCP_CHECK_OFF + 1] = 0;
  const pseudo = tcp_pseudo(b, nh, g.ipv6, tcplen);
  setU16(b, th + TCP_CHECK_OFF, offload ? csum_fold16(pseudo) : csum_fold(csum_partial(b, th, tcplen, pseudo)));
}

/**
 * tcp_gso_segment for one segment: segment `k` of the GSO skb `src` (parsed into g) written into
 * `dst`, an empty skb with room for hdr_len + mss bytes. `offload`: the device checksums
 * (NETIF_F_HW_CSUM) — the segment stays CHECKSUM_PARTIAL; else the checksum is computed here.
 */
export function tcp_gso_build_segment(src: Skb, g: GsoInfo, k: number, dst: Skb, offload: boolean): void {
  const off = k * g.mss;
  const plen = Math.min(g.mss, g.payload - off);
  const d = dst.buf;
  const o = dst.data;
  const s = src.buf;
  d.set(s.subarray(src.data, src.data + g.hdr_len), o);
  d.set(s.subarray(src.data + g.hdr_len + off, src.data + g.hdr_len + off + plen), o + g.hdr_len);
  dst.len = g.hdr_len + plen;
  const delta = o - src.data;
  __copy_skb_header(dst, src, delta);
  const nh = g.nh + delta;
  const th = g.th + delta;
  dst.mac_header = o;
  dst.network_header = nh;
  dst.transport_header = th;
  dst.gso_size = dst.gso_segs = dst.gso_type = 0;
  dst.pkt_len = dst.len;
  gso_fix_headers(d, g, nh, th, k, plen, k === g.segs - 1, offload);
  if (offload) {
    dst.ip_summed = CHECKSUM_PARTIAL;
    dst.csum_start = th;
    dst.csum_offset = TCP_CHECK_OFF;
  } else {
    dst.ip_summed = CHECKSUM_NONE;
    dst.csum_start = dst.csum_offset = 0;
  }
}

/**
 * The first `k` segments of a GSO skb went out (the driver refused the next one): keep the rest in
 * the same skb — the headers move up over the sent payload and are fixed for segment k onwards (the
 * skb list Linux would requeue, without a list). The caller recomputes pkt_len.
 */
export function skb_gso_trim_sent(skb: Skb, g: GsoInfo, k: number): void {
  const shift = k * g.mss;
  const b = skb.buf;
  b.copyWithin(skb.data + shift, skb.data, skb.data + g.hdr_len);
  skb.data += shift;
  skb.len -= shift;
  if (skb.mac_header >= 0) skb.mac_header += shift;
  const nh = g.nh + shift;
  const th = g.th + shift;
  skb.network_header = nh;
  skb.transport_header = th;
  const plen = g.payload - shift;
  const offload = skb.ip_summed === CHECKSUM_PARTIAL;
  gso_fix_headers(b, g, nh, th, k, plen, true, offload);
  // the rest keeps the original FIN/PSH (it ends the super-frame); only CWR went with segment 0
  if (offload) {
    skb.csum_start = th;
    skb.csum_offset = TCP_CHECK_OFF;
  }
  // the IPv4 ID sequence goes on from segment k: the remaining skb's first segment has ip_id + k
  skb.gso_segs = g.segs - k;
}

/**
 * skb_gso_segment: all segments of a GSO skb as new skbs (from the stack's pools) in `out`; returns
 * their count, or a negative number when the skb is malformed or memory ran out (nothing allocated
 * is kept). The original skb is left to the caller. `features` decides checksum offload.
 */
export function skb_gso_segment(stack: NetStack, skb: Skb, features: number, out: Skb[], g: GsoInfo = scratchInfo): number {
  const why = gso_parse(skb, g);
  if (why !== '') {
    stack.ratelimited_warn(`skb_gso_segment: ${why}; dropped`);
    return -1;
  }
  const offload = can_checksum_protocol(features, g.ipv6);
  out.length = 0;
  for (let k = 0; k < g.segs; k++) {
    const seg = stack.alloc_skb(g.hdr_len + g.mss);
    if (seg === null) {
      for (const s of out) kfree_skb(s);
      out.length = 0;
      return -2;
    }
    tcp_gso_build_segment(skb, g, k, seg, offload);
    out.push(seg);
  }
  return out.length;
}

const scratchInfo = new GsoInfo();

/** can_checksum_protocol (include/linux/skbuff.h): the device checksums TCP over this IP version */
export function can_checksum_protocol(features: number, ipv6: boolean): boolean {
  return (features & (NETIF_F_HW_CSUM | (ipv6 ? NETIF_F_IPV6_CSUM : NETIF_F_IP_CSUM))) !== 0;
}

/**
 * skb_gso_validate_mac_len: every segment, L2 header included, fits `len` bytes (tbf's max_size).
 * Malformed skbs fail.
 */
export function skb_gso_validate_mac_len(skb: Skb, len: number, g: GsoInfo = scratchInfo): boolean {
  if (gso_parse(skb, g) !== '') return false;
  return g.hdr_len + g.mss <= len;
}

/**
 * skb_checksum_help: finish a CHECKSUM_PARTIAL checksum in software — sum from csum_start to the
 * end (the field holds the pseudo-header seed) and store it at csum_start + csum_offset. False when
 * the offsets lie outside the frame.
 */
export function skb_checksum_help(skb: Skb): boolean {
  if (skb.ip_summed !== CHECKSUM_PARTIAL) return true;
  const end = skb.data + skb.len;
  const start = skb.csum_start;
  const at = start + skb.csum_offset;
  if (!skb.valid || start < skb.data || at + 2 > end) return false;
  const sum = csum_fold(csum_partial(skb.buf, start, end - start));
  setU16(skb.buf, at, sum === 0 ? CSUM_MANGLED_0 : sum);
  skb.ip_summed = CHECKSUM_NONE;
  return true;
}
