// The flow hash fq_codel classifies by (skb_get_hash). An skb that already carries a hash (skb.hash
// set by the stack, RPS or the device: l4_hash/sw_hash or non-zero) uses it, as Linux does. Otherwise
// we hash the 5-tuple read from the frame — protocol, addresses and, for TCP/UDP/SCTP/DCCP/UDP-Lite
// unfragmented packets, ports — with a Jenkins-style mix under a per-stack random key. This is
// not Linux's siphash over flow_keys (core/flow_dissector.ts is the faithful one, for RPS), so the
// numbers differ from a kernel's, but the property fq_codel needs holds: one flow, one bucket.
import type { Skb } from '../core/skb';

const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const ETH_P_8021Q = 0x8100;

function rol(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** jhash's final mix of three words (lookup3 "final") */
function mix3(a: number, b: number, c: number): number {
  c ^= b; c = (c - rol(b, 14)) >>> 0;
  a ^= c; a = (a - rol(c, 11)) >>> 0;
  b ^= a; b = (b - rol(a, 25)) >>> 0;
  c ^= b; c = (c - rol(b, 16)) >>> 0;
  a ^= c; a = (a - rol(c, 4)) >>> 0;
  b ^= a; b = (b - rol(a, 14)) >>> 0;
  c ^= b; c = (c - rol(b, 24)) >>> 0;
  return c >>> 0;
}

const rd32 = (b: Uint8Array, o: number): number => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

const HAS_PORTS = new Set([6, 17, 33, 132, 136]);

/** hash of the frame's 5-tuple under `key`; 0-safe (never returns 0 for IP frames) */
export function frame_flow_hash(skb: Skb, key: number): number {
  const b = skb.buf;
  const end = skb.data + skb.len;
  let off = skb.data;
  if (off + 14 > end) return key;
  let proto = (b[off + 12] << 8) | b[off + 13];
  off += 14;
  if (proto === ETH_P_8021Q && off + 4 <= end) {
    proto = (b[off + 2] << 8) | b[off + 3];
    off += 4;
  }
  let h = (key ^ proto) >>> 0;
  let l4 = -1;
  let ipproto = 0;
  if (proto === ETH_P_IP && off + 20 <= end) {
    const ihl = (b[off] & 15) * 4;
    ipproto = b[off + 9];
    h = mix3(rd32(b, off + 12), rd32(b, off + 16), (h ^ ipproto) >>> 0);
    const frag = ((b[off + 6] & 0x3f) << 8) | b[off + 7];
    if (frag === 0 && ihl >= 20) l4 = off + ihl;
  } else if (proto === ETH_P_IPV6 && off + 40 <= end) {
    ipproto = b[off + 6];
    for (let i = 8; i < 40; i += 12) h = mix3(rd32(b, off + i), rd32(b, off + i + 4), (h ^ rd32(b, off + i + 8)) >>> 0);
    h = mix3(h, ipproto, key);
    l4 = off + 40;
  }
  if (l4 >= 0 && HAS_PORTS.has(ipproto) && l4 + 4 <= end) h = mix3(h, rd32(b, l4), key);
  return h === 0 ? 1 : h;
}

/** skb_get_hash for qdiscs: the skb's own hash when it has one, else the frame hash (cached in skb) */
export function qdisc_skb_hash(skb: Skb, key: number): number {
  if (skb.l4_hash || skb.sw_hash || skb.hash !== 0) return skb.hash >>> 0;
  const h = frame_flow_hash(skb, key);
  skb.hash = h;
  skb.sw_hash = true;
  return h;
}

/** reciprocal_scale(val, n): val * n >> 32 */
export function reciprocal_scale(val: number, n: number): number {
  return Math.floor(((val >>> 0) * n) / 4294967296);
}
