// Skb queues that carry one number per skb — what Linux keeps in the skb's control block (codel's
// enqueue time, netem's time_to_send). Rings that only grow, so the hot path allocates nothing.
import type { Skb } from '../core/skb';

/** FIFO of (skb, time) pairs: a flow queue of fq_codel (flow->head/tail + codel_skb_cb) */
export class TimedSkbQueue {
  private skbs: (Skb | null)[];
  private times: Float64Array;
  private mask: number;
  private head = 0;
  length = 0;

  constructor(capacity = 16) {
    let c = 1;
    while (c < capacity) c <<= 1;
    this.skbs = new Array<Skb | null>(c).fill(null);
    this.times = new Float64Array(c);
    this.mask = c - 1;
  }

  push(skb: Skb, time: number): void {
    if (this.length === this.skbs.length) this.grow();
    const i = (this.head + this.length) & this.mask;
    this.skbs[i] = skb;
    this.times[i] = time;
    this.length++;
  }

  /** time of the head (valid when length > 0) */
  get headTime(): number {
    return this.times[this.head];
  }

  peek(): Skb | null {
    return this.length === 0 ? null : this.skbs[this.head];
  }

  shift(): Skb | null {
    if (this.length === 0) return null;
    const skb = this.skbs[this.head];
    this.skbs[this.head] = null;
    this.head = (this.head + 1) & this.mask;
    this.length--;
    return skb;
  }

  purge(free: (skb: Skb) => void): void {
    let skb: Skb | null;
    while ((skb = this.shift()) !== null) free(skb);
  }

  private grow(): void {
    const n = this.skbs.length * 2;
    const skbs = new Array<Skb | null>(n).fill(null);
    const times = new Float64Array(n);
    for (let i = 0; i < this.length; i++) {
      const j = (this.head + i) & this.mask;
      skbs[i] = this.skbs[j];
      times[i] = this.times[j];
    }
    this.skbs = skbs;
    this.times = times;
    this.mask = n - 1;
    this.head = 0;
  }
}

/**
 * netem's tfifo (sch_netem.c tfifo_enqueue: an rbtree keyed by time_to_send plus a linear tail for
 * in-order arrivals): packets leave in time_to_send order, equal times in arrival order. Arrays
 * with a moving head; in-order arrivals append, jittered ones binary-search their slot.
 */
export class TimeSortedSkbQueue {
  private skbs: (Skb | null)[] = [];
  private times: number[] = [];
  private head = 0;

  get length(): number {
    return this.skbs.length - this.head;
  }

  insert(skb: Skb, time: number): void {
    const n = this.skbs.length;
    if (n === this.head || this.times[n - 1] <= time) {
      this.skbs.push(skb);
      this.times.push(time);
      return;
    }
    // first index with times[i] > time (after equals: stable)
    let lo = this.head;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.times[mid] <= time) lo = mid + 1;
      else hi = mid;
    }
    this.skbs.splice(lo, 0, skb);
    this.times.splice(lo, 0, time);
  }

  peek(): Skb | null {
    return this.length === 0 ? null : this.skbs[this.head];
  }

  get headTime(): number {
    return this.times[this.head];
  }

  /** time of the last packet (skb_rb_last / t_tail) */
  get tailTime(): number {
    return this.times[this.times.length - 1];
  }

  shift(): Skb | null {
    if (this.length === 0) return null;
    const skb = this.skbs[this.head];
    this.skbs[this.head] = null;
    this.head++;
    if (this.head === this.skbs.length) {
      this.skbs.length = 0;
      this.times.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.skbs.length) {
      this.skbs.splice(0, this.head);
      this.times.splice(0, this.head);
      this.head = 0;
    }
    return skb;
  }

  purge(free: (skb: Skb) => void): void {
    let skb: Skb | null;
    while ((skb = this.shift()) !== null) free(skb);
  }
}
