// GRO checksum helpers: skb_gro_checksum_validate (include/net/gro.h), the pseudo headers of
// inet_gro_compute_pseudo / ip6_gro_compute_pseudo, and csum_replace2 (include/net/checksum.h).
import { CHECKSUM_NONE, CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY } from '../skb';
import { csum_fold, csum_fold16, csum_partial } from '../../wire/checksum';
import type { GroCb } from './gro_cb';

/** IPv4 pseudo header sum (not folded-complemented): saddr, daddr, protocol, length */
export function inet_pseudo(b: Uint8Array, nh: number, proto: number, len: number): number {
  return csum_partial(b, nh + 12, 8, proto + len);
}

/** IPv6 pseudo header sum: saddr, daddr, 32-bit length, next header */
export function ip6_pseudo(b: Uint8Array, nh: number, proto: number, len: number): number {
  return csum_partial(b, nh + 8, 32, proto + (len >>> 16) + (len & 0xffff));
}

/**
 * __skb_gro_checksum_validate for the L4 header at cb.data_offset: validation is needed unless the
 * sender left the checksum to offload (CHECKSUM_PARTIAL starting at or after this header) or the
 * device vouched for it (CHECKSUM_UNNECESSARY → csum_cnt). `zeroCheck` is a UDP checksum of 0
 * (zero_okay). Returns true when the checksum is wrong. On success skb_gro_incr_csum_unnecessary:
 * a CHECKSUM_NONE skb becomes CHECKSUM_UNNECESSARY, which the normal path then trusts.
 */
export function skb_gro_checksum_validate(cb: GroCb, pseudo: number, zeroOkay: boolean, check: number): boolean {
  const skb = cb.skb;
  const needed =
    (skb.ip_summed !== CHECKSUM_PARTIAL || skb.csum_start - skb.data < cb.data_offset) &&
    cb.csum_cnt === 0 &&
    (!zeroOkay || check !== 0);
  if (needed) {
    const o = skb.data + cb.data_offset;
    if (csum_fold(csum_partial(skb.buf, o, skb.len - cb.data_offset, pseudo)) !== 0) return true;
  }
  if (cb.csum_cnt > 0) cb.csum_cnt--;
  else if (skb.ip_summed === CHECKSUM_NONE) skb.ip_summed = CHECKSUM_UNNECESSARY;
  return false;
}

/** csum16_add: ones'-complement 16-bit addition */
function csum16_add(csum: number, addend: number): number {
  let res = (csum + addend) & 0xffff;
  if (res < addend) res = (res + 1) & 0xffff;
  return res;
}

/** csum_replace2: patch a stored 16-bit checksum at b[o] for a 16-bit field changing old → new (RFC 1624) */
export function csum_replace2(b: Uint8Array, o: number, oldv: number, newv: number): void {
  const sum = (b[o] << 8) | b[o + 1];
  const r = ~csum16_add(csum16_add(~sum & 0xffff, ~oldv & 0xffff), newv) & 0xffff;
  b[o] = r >>> 8;
  b[o + 1] = r;
}

/** ~tcp_v4_check(len, saddr, daddr, 0) / ~tcp_v6_check: the pseudo header sum folded, uncomplemented */
export function pseudo_check(sum: number): number {
  return csum_fold16(sum);
}
