// CoDel (include/net/codel.h, codel_impl.h): the control law shared by fq_codel's flows. Time is
// codel_time_t = u32 of ns >> CODEL_SHIFT (1.024 µs units) with wrap-safe comparisons; 1/sqrt(count)
// is a 16-bit fixed-point value refined by one Newton step per count change; the next drop is
// drop_next + interval/sqrt(count) (codel_control_law via reciprocal_scale).
import type { Skb } from '../core/skb';
import { INET_ECN_set_ce } from './ecn';

export const CODEL_SHIFT = 10;
export const REC_INV_SQRT_BITS = 16;
export const REC_INV_SQRT_SHIFT = 32 - REC_INV_SQRT_BITS;
/** CODEL_DISABLED_THRESHOLD: ce_threshold off */
export const CODEL_DISABLED_THRESHOLD = 0x7fffffff;

/** ns → codel_time_t */
export const codel_time = (ns: number): number => Math.floor(ns / 1024) >>> 0;
/** MS2TIME / US2TIME */
export const ms2time = (ms: number): number => codel_time(ms * 1e6);
export const us2time = (us: number): number => codel_time(us * 1e3);
/** codel_time_to_us (what tc dumps) */
export const codel_time_to_us = (t: number): number => Math.floor((t * 1024) / 1000);

/** (s32)(a - b) */
const sdiff = (a: number, b: number): number => (a - b) | 0;
export const codel_time_after = (a: number, b: number): boolean => sdiff(a, b) > 0;
export const codel_time_after_eq = (a: number, b: number): boolean => sdiff(a, b) >= 0;
export const codel_time_before = (a: number, b: number): boolean => sdiff(a, b) < 0;

/** struct codel_params */
export class CodelParams {
  target = ms2time(5);
  ce_threshold = CODEL_DISABLED_THRESHOLD;
  interval = ms2time(100);
  mtu = 1514;
  ecn = false;
}

/** struct codel_vars: per-flow state */
export class CodelVars {
  count = 0;
  lastcount = 0;
  dropping = false;
  /** 1/sqrt(count), Q0.16 */
  rec_inv_sqrt = 0;
  first_above_time = 0;
  drop_next = 0;
  /** sojourn time of the last dequeued packet */
  ldelay = 0;

  init(): void {
    this.count = this.lastcount = 0;
    this.dropping = false;
    this.rec_inv_sqrt = 0;
    this.first_above_time = this.drop_next = this.ldelay = 0;
  }
}

/** struct codel_stats (the qdisc-wide part) */
export class CodelStats {
  maxpacket = 0;
  drop_count = 0;
  drop_len = 0;
  ecn_mark = 0;
  ce_mark = 0;
}

/** codel_Newton_step: rec_inv_sqrt = rec_inv_sqrt * (3 - count * rec_inv_sqrt^2) / 2 */
export function codel_Newton_step(v: CodelVars): void {
  const invsqrt = BigInt(v.rec_inv_sqrt) << BigInt(REC_INV_SQRT_SHIFT);
  const invsqrt2 = (invsqrt * invsqrt) >> 32n;
  let val = (3n << 32n) - BigInt(v.count >>> 0) * invsqrt2;
  val = BigInt.asUintN(64, val) >> 2n;
  val = (val * invsqrt) >> BigInt(32 - 2 + 1);
  v.rec_inv_sqrt = Number((val >> BigInt(REC_INV_SQRT_SHIFT)) & 0xffffn);
}

/** codel_control_law: t + interval / sqrt(count) */
export function codel_control_law(t: number, interval: number, rec_inv_sqrt: number): number {
  const scaled = (rec_inv_sqrt << REC_INV_SQRT_SHIFT) >>> 0;
  return (t + Math.floor((interval * scaled) / 4294967296)) >>> 0;
}

/** what codel_dequeue needs from its queue (fq_codel's flow + qdisc) */
export interface CodelQueue {
  /** dequeue_func: next skb of this queue (updating the qdisc's qlen/backlog), its enqueue time in `enq_time` */
  codel_dequeue_one(): Skb | null;
  /** codel_skb_time of the skb just returned by codel_dequeue_one */
  readonly enq_time: number;
  /** drop_func: free and count a drop */
  codel_drop(skb: Skb): void;
  /** the qdisc backlog in bytes (compared with params.mtu) */
  readonly codel_backlog: number;
}

/** codel_should_drop */
function codel_should_drop(skb: Skb | null, q: CodelQueue, v: CodelVars, p: CodelParams, st: CodelStats, now: number): boolean {
  if (!skb) {
    v.first_above_time = 0;
    return false;
  }
  v.ldelay = (now - q.enq_time) >>> 0;
  if (skb.pkt_len > st.maxpacket) st.maxpacket = skb.pkt_len;
  if (codel_time_before(v.ldelay, p.target) || q.codel_backlog <= p.mtu) {
    // went below: stay below for at least interval
    v.first_above_time = 0;
    return false;
  }
  let ok_to_drop = false;
  if (v.first_above_time === 0) {
    // just went above from below: drop if it stays above for interval
    v.first_above_time = (now + p.interval) >>> 0;
  } else if (codel_time_after(now, v.first_above_time)) {
    ok_to_drop = true;
  }
  return ok_to_drop;
}

/** codel_dequeue: the control law around one queue; `now` is codel time */
export function codel_dequeue(q: CodelQueue, p: CodelParams, v: CodelVars, st: CodelStats, now: number): Skb | null {
  let skb = q.codel_dequeue_one();
  if (!skb) {
    v.dropping = false;
    return null;
  }
  let drop = codel_should_drop(skb, q, v, p, st, now);
  marked: {
    if (v.dropping) {
      if (!drop) {
        // sojourn time below target: leave dropping state
        v.dropping = false;
      } else if (codel_time_after_eq(now, v.drop_next)) {
        // time for the next drop(s); a large backlog may need several now
        while (v.dropping && codel_time_after_eq(now, v.drop_next)) {
          v.count = (v.count + 1) >>> 0;
          codel_Newton_step(v);
          if (p.ecn && INET_ECN_set_ce(skb!)) {
            st.ecn_mark++;
            v.drop_next = codel_control_law(v.drop_next, p.interval, v.rec_inv_sqrt);
            break marked;
          }
          st.drop_len += skb!.pkt_len;
          q.codel_drop(skb!);
          st.drop_count++;
          skb = q.codel_dequeue_one();
          if (!codel_should_drop(skb, q, v, p, st, now)) {
            v.dropping = false;
          } else {
            v.drop_next = codel_control_law(v.drop_next, p.interval, v.rec_inv_sqrt);
          }
        }
      }
    } else if (drop) {
      if (p.ecn && INET_ECN_set_ce(skb)) {
        st.ecn_mark++;
      } else {
        st.drop_len += skb.pkt_len;
        q.codel_drop(skb);
        st.drop_count++;
        skb = q.codel_dequeue_one();
        drop = codel_should_drop(skb, q, v, p, st, now);
      }
      v.dropping = true;
      // re-entering soon after leaving: resume near the last drop rate
      const delta = (v.count - v.lastcount) >>> 0;
      if (delta > 1 && codel_time_before((now - v.drop_next) >>> 0, (16 * p.interval) >>> 0)) {
        v.count = delta;
        codel_Newton_step(v);
      } else {
        v.count = 1;
        v.rec_inv_sqrt = 0xffffffff >>> REC_INV_SQRT_SHIFT;
      }
      v.lastcount = v.count;
      v.drop_next = codel_control_law(now, p.interval, v.rec_inv_sqrt);
    }
  }
  if (skb && codel_time_after(v.ldelay, p.ce_threshold)) {
    if (INET_ECN_set_ce(skb)) st.ce_mark++;
  }
  return skb;
}
