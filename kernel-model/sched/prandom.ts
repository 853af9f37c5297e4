// The kernel's per-qdisc PRNG (lib/random32.c prandom_u32_state, include/linux/prandom.h
// prandom_seed_state): L'Ecuyer's four-component Tausworthe generator (LFSR113). netem seeds it from
// its `seed` option, so a seeded netem draws the same sequence as Linux does for that seed.

export class RndState {
  s1 = 0;
  s2 = 0;
  s3 = 0;
  s4 = 0;

  /** prandom_seed_state: i = (seed>>32 ^ seed<<10 ^ seed) & 0xffffffff; each s >= its minimum; warm up */
  seed(seed: bigint): void {
    const s = BigInt.asUintN(64, seed);
    const i = Number(((s >> 32n) ^ (s << 10n) ^ s) & 0xffffffffn) >>> 0;
    const min = (x: number, m: number): number => (x < m ? (x + m) >>> 0 : x);
    this.s1 = min(i, 2);
    this.s2 = min(i, 8);
    this.s3 = min(i, 16);
    this.s4 = min(i, 128);
    for (let k = 0; k < 10; k++) this.next(); // prandom_warmup
  }

  /** prandom_u32_state */
  next(): number {
    const s1 = this.s1, s2 = this.s2, s3 = this.s3, s4 = this.s4;
    this.s1 = (((s1 & 4294967294) << 18) ^ (((s1 << 6) ^ s1) >>> 13)) >>> 0;
    this.s2 = (((s2 & 4294967288) << 2) ^ (((s2 << 2) ^ s2) >>> 27)) >>> 0;
    this.s3 = (((s3 & 4294967280) << 7) ^ (((s3 << 13) ^ s3) >>> 21)) >>> 0;
    this.s4 = (((s4 & 4294967168) << 13) ^ (((s4 << 3) ^ s4) >>> 12)) >>> 0;
    return (this.s1 ^ this.s2 ^ this.s3 ^ this.s4) >>> 0;
  }

  /** get_random_u32_below(n) analogue from this stream: (u32 * n) >> 32 */
  below(n: number): number {
    return Math.floor((this.next() * n) / 4294967296);
  }
}

/** a random 64-bit seed (get_random_u64) for qdiscs configured without `seed` */
export function random_seed(): bigint {
  const hi = BigInt(Math.floor(Math.random() * 4294967296));
  const lo = BigInt(Math.floor(Math.random() * 4294967296));
  return (hi << 32n) | lo;
}
