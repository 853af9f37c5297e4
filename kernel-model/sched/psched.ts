// Rate arithmetic shared by tbf, htb and netem (net/sched/sch_generic.c psched_ratecfg_precompute,
// include/net/sch_generic.h psched_l2t_ns, sch_api.c psched ticks). Times are ns; a psched tick is
// 64 ns (PSCHED_SHIFT 6), which is what tc's "buffer"/"mtu" fields carry.

export const NSEC_PER_SEC = 1e9;
export const PSCHED_SHIFT = 6;
export const TC_LINKLAYER_ETHERNET = 1;
export const TC_LINKLAYER_ATM = 2;

/** PSCHED_TICKS2NS / PSCHED_NS2TICKS */
export const psched_ticks2ns = (t: number): number => t * 64;
export const psched_ns2ticks = (ns: number): number => Math.floor(ns / 64);

/** struct psched_ratecfg: bytes/s, with mult/shift so that l2t is one multiply and shift */
export class PschedRatecfg {
  rate_bytes_ps = 0;
  mult = 1;
  shift = 0;
  overhead = 0;
  mpu = 0;
  linklayer = TC_LINKLAYER_ETHERNET;

  /** psched_ratecfg_precompute: largest shift keeping mult = (1e9 << shift) / rate below 2^31 */
  precompute(rate_bytes_ps: number, overhead = 0, mpu = 0, linklayer = TC_LINKLAYER_ETHERNET): this {
    this.rate_bytes_ps = rate_bytes_ps;
    this.overhead = overhead;
    this.mpu = mpu;
    this.linklayer = linklayer;
    this.mult = 1;
    this.shift = 0;
    if (rate_bytes_ps <= 0) return this;
    const rate = BigInt(Math.floor(rate_bytes_ps));
    let factor = BigInt(NSEC_PER_SEC);
    for (;;) {
      const mult = factor / rate;
      this.mult = Number(mult & 0xffffffffn);
      if (mult & (1n << 31n) || factor & (1n << 63n)) break;
      factor <<= 1n;
      this.shift++;
    }
    return this;
  }

  /** psched_l2t_ns: transmission time of len bytes (overhead, mpu and ATM cells applied) */
  l2t_ns(len: number): number {
    len += this.overhead;
    if (len < this.mpu) len = this.mpu;
    if (this.linklayer === TC_LINKLAYER_ATM) len = Math.ceil(len / 48) * 53;
    // len * mult < 2^53 for any frame size we carry; division by 2^shift is exact in doubles
    return Math.floor((len * this.mult) / 2 ** this.shift);
  }

  /** psched_ns_t2l: bytes that fit in ns */
  ns_t2l(ns: number): number {
    let len = Math.floor((ns * this.rate_bytes_ps) / NSEC_PER_SEC);
    if (this.linklayer === TC_LINKLAYER_ATM) len = Math.floor(len / 53) * 48;
    return len > this.overhead ? len - this.overhead : 0;
  }
}
