// SipHash-2-4 (Aumasson & Bernstein, "SipHash: a fast short-input PRF", 2012; Linux lib/siphash.c),
// the keyed hash Linux 6.x uses for the software flow hash (net/core/flow_dissector.c with the
// per-boot key `hashrnd`). 64-bit lanes are kept as 32-bit halves in locals so hashing a packet's
// flow keys allocates nothing. Words are read little-endian, as the reference and Linux do.

/** siphash_key_t as four 32-bit words: [k0 low, k0 high, k1 low, k1 high] */
export type SipHashKey = Uint32Array;

/** a key from 16 bytes (k0 = bytes 0..7, k1 = bytes 8..15, each little-endian, as the paper's key) */
export function siphash_key(bytes: Uint8Array): SipHashKey {
  if (bytes.length < 16) throw new RangeError(`siphash key needs 16 bytes, got ${bytes.length}`);
  const k = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    const o = i * 4;
    k[i] = (bytes[o] | (bytes[o + 1] << 8) | (bytes[o + 2] << 16) | (bytes[o + 3] << 24)) >>> 0;
  }
  return k;
}

/** high 32 bits of the last siphash() result (the low half is the return value) */
export let siphash_hi = 0;

/**
 * siphash(data[off .. off+len), key): SipHash-2-4. Returns the low 32 bits of the 64-bit result —
 * what Linux keeps when it assigns siphash() to a u32 (__flow_hash_from_keys); the high 32 bits are
 * left in `siphash_hi`. The caller guarantees off+len lies inside data.
 */
export function siphash(data: Uint8Array, off: number, len: number, k: SipHashKey): number {
  // "somepseudorandomlygeneratedbytes"
  let v0l = (k[0] ^ 0x70736575) | 0;
  let v0h = (k[1] ^ 0x736f6d65) | 0;
  let v1l = (k[2] ^ 0x6e646f6d) | 0;
  let v1h = (k[3] ^ 0x646f7261) | 0;
  let v2l = (k[0] ^ 0x6e657261) | 0;
  let v2h = (k[1] ^ 0x6c796765) | 0;
  let v3l = (k[2] ^ 0x79746573) | 0;
  let v3h = (k[3] ^ 0x74656462) | 0;

  const nblocks = len >>> 3;
  let p = off;
  let t = 0;
  let l = 0;
  // words 0..nblocks-1 are message blocks, word nblocks is the last block (tail bytes + len << 56),
  // word nblocks+1 is the finalization (v2 ^= 0xff, 4 rounds)
  for (let w = 0; w <= nblocks + 1; w++) {
    let ml = 0;
    let mh = 0;
    let rounds = 2;
    if (w < nblocks) {
      ml = (data[p] | (data[p + 1] << 8) | (data[p + 2] << 16) | (data[p + 3] << 24)) | 0;
      mh = (data[p + 4] | (data[p + 5] << 8) | (data[p + 6] << 16) | (data[p + 7] << 24)) | 0;
      p += 8;
    } else if (w === nblocks) {
      const left = len & 7;
      mh = (len & 0xff) << 24;
      for (let j = 0; j < left; j++) {
        if (j < 4) ml |= data[p + j] << (8 * j);
        else mh |= data[p + j] << (8 * (j - 4));
      }
          } else {
      v2l = (v2l ^ 0xff) | 0;
      rounds = 4;
    }
    v3l = (v3l ^ ml) | 0;
    v3h = (v3h ^ mh) | 0;
    for (let r = 0; r < rounds; r++) {
      // SIPROUND
      l = (v0l + v1l) | 0;
      v0h = (v0h + v1h + ((l >>> 0) < (v0l >>> 0) ? 1 : 0)) | 0;
      v0l = l;
      t = ((v1h << 13) | (v1l >>> 19)) | 0;
      v1l = ((v1l << 13) | (v1h >>> 19)) | 0;
      v1h = t;
      v1l = (v1l ^ v0l) | 0;
      v1h = (v1h ^ v0h) | 0;
      t = v0l;
      v0l = v0h;
      v0h = t;

      l = (v2l + v3l) | 0;
      v2h = (v2h + v3h + ((l >>> 0) < (v2l >>> 0) ? 1 : 0)) | 0;
      v2l = l;
      t = ((v3h << 16) | (v3l >>> 16)) | 0;
      v3l = ((v3l << 16) | (v3h >>> 16)) | 0;
      v3h = t;
      v3l = (v3l ^ v2l) | 0;
      v3h = (v3h ^ v2h) | 0;

      l = (v0l + v3l) | 0;
      v0h = (v0h + v3h + ((l >>> 0) < (v0l >>> 0) ? 1 : 0)) | 0;
      v0l = l;
      t = ((v3h << 21) | (v3l >>> 11)) | 0;
      v3l = ((v3l << 21) | (v3h >>> 11)) | 0;
      v3h = t;
      v3l = (v3l ^ v0l) | 0;
      v3h = (v3h ^ v0h) | 0;

      l = (v2l + v1l) | 0;
      v2h = (v2h + v1h + ((l >>> 0) < (v2l >>> 0) ? 1 : 0)) | 0;
      v2l = l;
      t = ((v1h << 17) | (v1l >>> 15)) | 0;
      v1l = ((v1l << 17) | (v1h >>> 15)) | 0;
      v1h = t;
      v1l = (v1l ^ v2l) | 0;
      v1h = (v1h ^ v2h) | 0;
      t = v2l;
      v2l = v2h;
      v2h = t;
    }
    v0l = (v0l ^ ml) | 0;
    v0h = (v0h ^ mh) | 0;
  }
  siphash_hi = (v0h ^ v1h ^ v2h ^ v3h) >>> 0;
  return (v0l ^ v1l ^ v2l ^ v3l) >>> 0;
}
