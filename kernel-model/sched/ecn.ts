// INET_ECN_set_ce (include/net/inet_ecn.h) on a transmit skb whose data starts at the Ethernet
// header: ECT(0)/ECT(1) → CE with the IPv4 header checksum fixed incrementally (RFC 1624); CE stays
// CE (true); Not-ECT, non-IP or truncated frames are left alone (false). One VLAN tag is skipped.
import type { Skb } from '../core/skb';

const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const ETH_P_8021Q = 0x8100;

/** offset of the L3 header and its ethertype, or -1 */
function l3(skb: Skb): { off: number; proto: number } | null {
  const b = skb.buf;
  let off = skb.mac_header >= 0 ? skb.mac_header : skb.data;
  const end = skb.data + skb.len;
  if (off + 14 > end) return null;
  let proto = (b[off + 12] << 8) | b[off + 13];
  off += 14;
  if (proto === ETH_P_8021Q) {
    if (off + 4 > end) return null;
    proto = (b[off + 2] << 8) | b[off + 3];
    off += 4;
  }
  return { off, proto };
}

/** the IP ECN field of the frame (0..3), or -1 when not IP */
export function skb_ecn(skb: Skb): number {
  const h = l3(skb);
  if (!h) return -1;
  const b = skb.buf;
  const end = skb.data + skb.len;
  if (h.proto === ETH_P_IP && h.off + 20 <= end) return b[h.off + 1] & 3;
  if (h.proto === ETH_P_IPV6 && h.off + 40 <= end) return (b[h.off + 1] >> 4) & 3;
  return -1;
}

export function INET_ECN_set_ce(skb: Skb): boolean {
  const h = l3(skb);
  if (!h) return false;
  const b = skb.buf;
  const end = skb.data + skb.len;
  const o = h.off;
  if (h.proto === ETH_P_IP) {
    if (o + 20 > end || b[o] >> 4 !== 4) return false;
    const ecn = ((b[o + 1] + 1) & 3) >>> 0;
    // Not-ECT → 01, ECT(1) → 10, ECT(0) → 11, CE → 00 (IP_ECN_set_ce)
    if (!(ecn & 2)) return ecn === 0;
    const oldWord = (b[o] << 8) | b[o + 1];
    b[o + 1] |= 3;
    const newWord = (b[o] << 8) | b[o + 1];
    let sum = (~((b[o + 10] << 8) | b[o + 11]) & 0xffff) + (~oldWord & 0xffff) + newWord;
    sum = (sum & 0xffff) + (sum >>> 16);
    sum = (sum & 0xffff) + (sum >>> 16);
    const check = ~sum & 0xffff;
    b[o + 10] = check >> 8;
    b[o + 11] = check & 0xff;
    return true;
  }
  if (h.proto === ETH_P_IPV6) {
    if (o + 40 > end || b[o] >> 4 !== 6) return false;
    const ecn = (b[o + 1] >> 4) & 3;
    if (ecn === 0) return false;
    b[o + 1] |= 0x30;
    return true;
  }
  return false;
}
