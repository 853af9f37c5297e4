// RTT estimation and RTO (RFC 6298 as Linux implements it: tcp_input.c tcp_rtt_estimator, tcp_set_rto,
// include/net/tcp.h __tcp_set_rto). srtt_us holds 8×SRTT and mdev_us 4×mdev, as in struct tcp_sock;
// rttvar_us is the per-RTT running maximum of mdev, never below rto_min. The RTO is rounded up to
// jiffies (usecs_to_jiffies) and bounded by TCP_RTO_MAX.
import { after } from './tcp_states';

export class RttEstimator {
  /** smoothed RTT << 3, µs (0 = no sample yet) */
  srtt_us = 0;
  /** medium deviation << 2, µs */
  mdev_us = 0;
  /** maximal mdev over the last RTT */
  mdev_max_us = 0;
  /** the variance term of the RTO (µs) */
  rttvar_us = 0;
  /** snd_nxt when the current RTT epoch began */
  rtt_seq = 0;
  /** windowed minimum RTT (tcp_min_rtt), µs; ~0 when none */
  min_rtt_us = 0xffffffff;
  private min_rtt_stamp = 0;

  constructor(
    /** tcp_rto_min in µs */
    readonly rto_min_us: number,
    /** jiffies per second: the RTO is a whole number of jiffies */
    readonly HZ: number,
  ) {}

  /** tcp_rtt_estimator: fold one sample `m` (µs) in; snd_una/snd_nxt mark the RTT epoch */
  sample(m: number, snd_una: number, snd_nxt: number): void {
    let srtt = this.srtt_us;
    if (m <= 0) m = 1;
    if (srtt !== 0) {
      let e = m - (srtt >>> 3);
      srtt += e;
      if (e < 0) {
        e = -e;
        e -= this.mdev_us >>> 2;
        // a falling RTT moves mdev with a finer gain (Eifel-like, tcp_input.c)
        if (e > 0) e >>= 3;
      } else {
        e -= this.mdev_us >>> 2;
      }
      this.mdev_us += e;
      if (this.mdev_us > this.mdev_max_us) {
        this.mdev_max_us = this.mdev_us;
        if (this.mdev_max_us > this.rttvar_us) this.rttvar_us = this.mdev_max_us;
      }
      if (after(snd_una, this.rtt_seq)) {
        if (this.mdev_max_us < this.rttvar_us) this.rttvar_us -= (this.rttvar_us - this.mdev_max_us) >>> 2;
        this.rtt_seq = snd_nxt;
        this.mdev_max_us = this.rto_min_us;
      }
    } else {
      srtt = m << 3;
      this.mdev_us = m << 1;
      this.rttvar_us = Math.max(this.mdev_us, this.rto_min_us);
      this.mdev_max_us = this.rttvar_us;
      this.rtt_seq = snd_nxt;
    }
    this.srtt_us = Math.max(1, srtt);
  }

  /** tcp_update_rtt_min: windowed minimum over tcp_min_rtt_wlen (a simple expiring minimum) */
  updateMin(rtt_us: number, now_ms: number, wlen_ms: number): void {
    if (rtt_us <= 0) rtt_us = 1;
    if (rtt_us <= this.min_rtt_us || now_ms - this.min_rtt_stamp > wlen_ms) {
      this.min_rtt_us = rtt_us;
      this.min_rtt_stamp = now_ms;
    }
  }

  /** __tcp_set_rto + tcp_bound_rto: (srtt + rttvar) in whole jiffies, as ms, ≤ 120 s */
  rto_ms(rto_max_ms: number): number {
    const us = (this.srtt_us >>> 3) + this.rttvar_us;
    const jiffyUs = 1_000_000 / this.HZ;
    const ms = (Math.ceil(us / jiffyUs) * 1000) / this.HZ;
    return ms > rto_max_ms ? rto_max_ms : ms;
  }

  /** the RTT in µs (srtt >> 3), as tcp_info reports */
  get srtt(): number {
    return this.srtt_us >>> 3;
  }
  /** mdev in µs (tcp_info rttvar is mdev_us >> 2) */
  get mdev(): number {
    return this.mdev_us >>> 2;
  }
}

/**
 * tcp_model_timeout (tcp_timer.c): how long `boundary` retransmissions take with exponential backoff
 * from `rto_base` and the 120 s cap — the give-up time of tcp_write_timeout (retries_expired).
 */
export function tcp_model_timeout(boundary: number, rto_base: number, rto_max = 120_000): number {
  const linear = Math.floor(Math.log2(rto_max / rto_base));
  if (boundary <= linear) return ((2 << boundary) - 1) * rto_base;
  return ((2 << linear) - 1) * rto_base + (boundary - linear) * rto_max;
}
