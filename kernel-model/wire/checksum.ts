// The Internet checksum (RFC 1071): a ones'-complement sum of 16-bit big-endian words. Names follow
// Linux's include/net/checksum.h: csum_partial accumulates, csum_fold folds and complements.
// A "sum" here is a non-negative integer below 2^53 that has not been complemented; it may exceed 16 bits
// until csum_fold/csum_fold16 folds it (ones'-complement addition is addition modulo 0xffff with end-around carry).

/** fold a sum to 16 bits (not complemented) */
export function csum_fold16(sum: number): number {
  let s = sum;
  if (s > 0xffffffff) s = (s % 0x100000000) + Math.floor(s / 0x100000000);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** fold and complement: the value to store in a checksum field; 0 when verifying a correct packet */
export function csum_fold(sum: number): number {
  return ~csum_fold16(sum) & 0xffff;
}

/** ones'-complement addition of two sums */
export function csum_add(a: number, b: number): number {
  return csum_fold16(a + b);
}

/** ones'-complement subtraction (RFC 1624): add the complement */
export function csum_sub(a: number, b: number): number {
  return csum_fold16(a + (~csum_fold16(b) & 0xffff));
}

/**
 * Sum of buf[off, off+len) as big-endian 16-bit words, plus `sum`; an odd last byte counts as the high
 * byte of a word. Long blocks at an even address are summed with aligned 32-bit reads in host (little-
 * endian) order and byte-swapped at the end: the ones'-complement sum commutes with byte swapping
 * (RFC 1071 §2(B)). No allocation per call (the 32-bit view of each ArrayBuffer is cached).
 */
export function csum_partial(buf: Uint8Array, off: number, len: number, sum = 0): number {
  if (len >= WIDE_MIN && ((buf.byteOffset + off) & 1) === 0) {
    const w = csum_partial_wide(buf, off, len);
    if (w >= 0) return csum_fold16(sum + w);
  }
  return csum_fold16(sum + csum_partial_narrow(buf, off, len));
}

/** below this length the byte loop beats the cached 32-bit path */
const WIDE_MIN = 128;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const u32Views = new WeakMap<ArrayBufferLike, Uint32Array>();

function u32ViewOf(ab: ArrayBufferLike): Uint32Array {
  let u = u32Views.get(ab);
  if (u === undefined || u.length !== ab.byteLength >>> 2) {
    u = new Uint32Array(ab, 0, ab.byteLength >>> 2);
    u32Views.set(ab, u);
  }
  return u;
}

/** byte-pair loop; returns an unfolded sum (< 2^53) */
function csum_partial_narrow(buf: Uint8Array, off: number, len: number): number {
  let s = 0;
  let acc = 0;
  let i = off;
  const end = off + len;
  const end8 = off + (len & ~7);
  while (i < end8) {
    acc +=
      ((buf[i] << 8) | buf[i + 1]) +
      ((buf[i + 2] << 8) | buf[i + 3]) +
      ((buf[i + 4] << 8) | buf[i + 5]) +
      ((buf[i + 6] << 8) | buf[i + 7]);
    i += 8;
    // keep acc a small integer (V8 Smi) on the hot path
    if (acc > 0x3ff00000) {
      s += acc;
      acc = 0;
    }
  }
  while (i + 1 < end) {
    acc += (buf[i] << 8) | buf[i + 1];
    i += 2;
  }
  if (i < end) acc += buf[i] << 8;
  return s + acc;
}

/** aligned 32-bit loop for an even start address; -1 when the fast path does not apply */
function csum_partial_wide(buf: Uint8Array, off: number, len: number): number {
  if (!LITTLE_ENDIAN) return -1;
  const end = off + len;
  if (end > buf.length) return -1;
  let abs = buf.byteOffset + off;
  let p = off;
  // little-endian word sum, byte-swapped into network order at the end
  let s = 0;
  if (abs & 2) {
    s += buf[p] | (buf[p + 1] << 8);
    p += 2;
    abs += 2;
  }
  const n = (end - p) >>> 2;
  const u = u32ViewOf(buf.buffer);
  let w = abs >>> 2;
  const wend = w + n;
  if (wend > u.length) return -1;
  for (; w < wend; w++) s += u[w];
  p += n << 2;
  if (end - p >= 2) {
    s += buf[p] | (buf[p + 1] << 8);
    p += 2;
  }
  if (p < end) s += buf[p];
  const f = csum_fold16(s);
  return ((f & 0xff) << 8) | (f >>> 8);
}

/**
 * csum_block_add: add the sum of a block that starts at byte offset `offset` of the checksummed data;
 * a block at an odd offset has its bytes swapped relative to the word grid.
 */
export function csum_block_add(sum: number, blockSum: number, offset: number): number {
  let b = csum_fold16(blockSum);
  if (offset & 1) b = ((b & 0xff) << 8) | (b >>> 8);
  return csum_fold16(sum + b);
}

/** the IPv4 pseudo-header of TCP/UDP (RFC 768, RFC 793) added to `sum` (csum_tcpudp_nofold) */
export function csum_tcpudp_nofold(saddr: number, daddr: number, len: number, proto: number, sum = 0): number {
  return csum_fold16(sum + (saddr >>> 16) + (saddr & 0xffff) + (daddr >>> 16) + (daddr & 0xffff) + proto + len);
}

/** ip_fast_csum: 0 when the IPv4 header of `ihl` 32-bit words at `off` checksums correctly */
export function ip_fast_csum(buf: Uint8Array, off: number, ihl: number): number {
  return csum_fold(csum_partial(buf, off, ihl * 4));
}

/**
 * csum_replace2: update checksum field value `check` after a 16-bit word changed from `from` to `to`
 * (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')).
 */
export function csum_replace2(check: number, from: number, to: number): number {
  return ~csum_fold16((~check & 0xffff) + (~from & 0xffff) + (to & 0xffff)) & 0xffff;
}

/** csum_replace4: as csum_replace2 for a 32-bit field (an address) */
export function csum_replace4(check: number, from: number, to: number): number {
  return (
    ~csum_fold16(
      (~check & 0xffff) + (~(from >>> 16) & 0xffff) + (~from & 0xffff) + (to >>> 16) + (to & 0xffff),
    ) & 0xffff
  );
}
