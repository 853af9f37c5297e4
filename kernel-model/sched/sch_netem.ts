// netem (net/sched/sch_netem.c): per-packet impairments on enqueue — duplicate, loss (random with
// correlation, 4-state GI, Gilbert-Elliott), corrupt, limit, then either reorder (send now, at the
// head) or delay by tabledist(latency, jitter) plus the rate's serialisation time into a tfifo
// ordered by time_to_send; dequeue hands out packets whose time has come (and whose slot is open)
// and arms the watchdog for the next. All draws come from the qdisc's own prandom state, seeded
// by `seed` (random when absent), so a seeded run is reproducible. Deviations (for determinism):
// Linux seeds the correlation "last" values, the corrupt position and the slot draws from
// get_random_u32(); here they come from the seeded stream too.
import type { NetStack } from '../core/stack';
import type { NetDevice } from '../core/netdevice';
import { kfree_skb, SkbQueue, type Skb } from '../core/skb';
import { Qdisc, QdiscWatchdog, ktime_get_ns, qdisc_bstats_update, qdisc_peek_dequeued, qdisc_root, __NET_XMIT_BYPASS } from '../core/sch_generic';
import { NET_XMIT_DROP, NET_XMIT_SUCCESS } from '../core/xmit';
import { INET_ECN_set_ce } from './ecn';
import { NETEM_DIST_SCALE } from './netem_dist';
import { RndState, random_seed } from './prandom';
import { print_percent_u32, print_rate, print_time64 } from './tc/units';
import { TimeSortedSkbQueue } from './timed_queue';

const INT_MAX = 0x7fffffff;

/** struct crndstate: a correlated stream (rho = correlation scaled to u32) */
export class Crndstate {
  last = 0;
  rho = 0;
}

export interface NetemGiModel {
  p13: number;
  p31: number;
  p32: number;
  p23: number;
  p14: number;
}
export interface NetemGeModel {
  p: number;
  r: number;
  /** the kernel's h (tc turns the user's 1-h into UINT32_MAX - value) */
  h: number;
  k1: number;
}
export interface NetemSlot {
  min_delay: number;
  max_delay: number;
  max_packets: number;
  max_bytes: number;
  dist_delay: number;
  dist_jitter: number;
  dist: Int16Array | null;
}

/** the whole netem configuration (tc sends it all on every change); probabilities are u32-scaled */
export interface NetemOptions {
  limit: number;
  /** ns */
  latency: number;
  /** ns */
  jitter: number;
  loss: number;
  gap: number;
  duplicate: number;
  reorder: number;
  corrupt: number;
  delay_corr: number;
  loss_corr: number;
  dup_corr: number;
  reorder_corr: number;
  corrupt_corr: number;
  /** bytes/s, 0 = none */
  rate: number;
  packet_overhead: number;
  cell_size: number;
  cell_overhead: number;
  ecn: boolean;
  /** u64 seed, undefined = random */
  seed?: bigint;
  dist: Int16Array | null;
  gi: NetemGiModel | null;
  ge: NetemGeModel | null;
  slot: NetemSlot | null;
}

export function netem_defaults(): NetemOptions {
  return {
    limit: 1000, latency: 0, jitter: 0, loss: 0, gap: 0, duplicate: 0, reorder: 0, corrupt: 0,
    delay_corr: 0, loss_corr: 0, dup_corr: 0, reorder_corr: 0, corrupt_corr: 0,
    rate: 0, packet_overhead: 0, cell_size: 0, cell_overhead: 0, ecn: false,
    dist: null, gi: null, ge: null, slot: null,
  };
}

const CLG_RANDOM = 0;
const CLG_4_STATES = 1;
const CLG_GILB_ELL = 2;
// 4-state model states
export const TX_IN_GAP_PERIOD = 1;
export const TX_IN_BURST_PERIOD = 2;
export const LOST_IN_GAP_PERIOD = 3;
export const LOST_IN_BURST_PERIOD = 4;
// Gilbert-Elliott states
export const GOOD_STATE = 1;
export const BAD_STATE = 2;

export class NetemQdisc extends Qdisc {
  readonly id = 'netem';
  opts: NetemOptions = netem_defaults();
  latency = 0;
  jitter = 0;
  loss = 0;
  gap = 0;
  duplicate = 0;
  reorder = 0;
  corrupt = 0;
  counter = 0;
  rate = 0;
  seed = 0n;
  readonly prng = new RndState();
  readonly delay_cor = new Crndstate();
  readonly loss_cor = new Crndstate();
  readonly dup_cor = new Crndstate();
  readonly reorder_cor = new Crndstate();
  readonly corrupt_cor = new Crndstate();
  loss_model = CLG_RANDOM;
  /** clgstate: state and a1..a5 */
  readonly clg = { state: 0, a1: 0, a2: 0, a3: 0, a4: 0, a5: 0 };
  readonly slot = { slot_next: 0, packets_left: 0, bytes_left: 0 };
  /** the time-ordered queue (t_root + t_head/t_tail) */
  private readonly tfifo = new TimeSortedSkbQueue();
  /** sch->q: packets sent "now" by reordering, served first */
  private readonly headq = new SkbQueue(16);
  private headqTailTime = 0;
  readonly watchdog = new QdiscWatchdog(this);

  constructor(stack: NetStack, readonly dev: NetDevice, o: Partial<NetemOptions> = {}) {
    super(stack);
    this.change({ ...netem_defaults(), ...o });
  }

  /** init_crandom (last drawn from our seeded stream, see the header) */
  private init_crandom(s: Crndstate, rho: number): void {
    s.rho = rho >>> 0;
    s.last = this.prng.next();
  }

  /** netem_change: replace the whole configuration */
  change(o: NetemOptions): void {
    if (o.dist && o.dist.length === 0) throw new Error('netem: empty distribution table');
    this.opts = o;
    this.limit = o.limit;
    this.latency = Math.max(0, o.latency);
    this.jitter = Math.min(Math.abs(o.jitter), INT_MAX);
    this.gap = o.gap >>> 0;
    this.counter = 0;
    this.loss = o.loss >>> 0;
    this.duplicate = o.duplicate >>> 0;
    // for compatibility with earlier versions: gap without reorder means reorder 100%
    this.reorder = o.gap && !o.reorder ? 0xffffffff : o.reorder >>> 0;
    this.corrupt = o.corrupt >>> 0;
    this.rate = o.rate;
    this.seed = o.seed ?? random_seed();
    this.prng.seed(this.seed);
    this.init_crandom(this.delay_cor, o.delay_corr);
    this.init_crandom(this.loss_cor, o.loss_corr);
    this.init_crandom(this.dup_cor, o.dup_corr);
    this.init_crandom(this.reorder_cor, o.reorder_corr);
    this.init_crandom(this.corrupt_cor, o.corrupt_corr);
    // get_loss_clg
    this.loss_model = CLG_RANDOM;
    if (o.gi) {
      this.loss_model = CLG_4_STATES;
      this.clg.state = TX_IN_GAP_PERIOD;
      this.clg.a1 = o.gi.p13 >>> 0;
      this.clg.a2 = o.gi.p31 >>> 0;
      this.clg.a3 = o.gi.p32 >>> 0;
      this.clg.a4 = o.gi.p14 >>> 0;
      this.clg.a5 = o.gi.p23 >>> 0;
    } else if (o.ge) {
      this.loss_model = CLG_GILB_ELL;
      this.clg.state = GOOD_STATE;
      this.clg.a1 = o.ge.p >>> 0;
      this.clg.a2 = o.ge.r >>> 0;
      this.clg.a3 = o.ge.h >>> 0;
      this.clg.a4 = o.ge.k1 >>> 0;
    }
    // get_slot
    if (o.slot) {
      const s = o.slot;
      if (!s.max_packets) s.max_packets = INT_MAX;
      if (!s.max_bytes) s.max_bytes = INT_MAX;
      s.dist_jitter = Math.min(INT_MAX, Math.abs(s.dist_jitter));
      this.slot.packets_left = s.max_packets;
      this.slot.bytes_left = s.max_bytes;
      this.slot.slot_next = s.min_delay || s.max_delay || s.dist_jitter ? ktime_get_ns(this.stack) : 0;
    } else {
      this.slot.slot_next = 0;
    }
  }

  /** get_crandom: next = (U·(2^32 − ρ) + last·ρ) >> 32 when correlated */
  private get_crandom(s: Crndstate): number {
    const value = this.prng.next();
    if (s.rho === 0) return value;
    const rho = s.rho + 1;
    const answer = Number((BigInt(value) * BigInt(4294967296 - rho) + BigInt(s.last) * BigInt(rho)) >> 32n) >>> 0;
    s.last = answer;
    return answer;
  }

  /** loss_4state (4-state Markov, GI) */
  private loss_4state(): boolean {
    const c = this.clg;
    const rnd = this.prng.next();
    switch (c.state) {
      case TX_IN_GAP_PERIOD:
        if (rnd < c.a4) {
          c.state = LOST_IN_GAP_PERIOD;
          return true;
        } else if (rnd < ((c.a1 + c.a4) >>> 0)) {
          c.state = LOST_IN_BURST_PERIOD;
          return true;
        }
        c.state = TX_IN_GAP_PERIOD;
        break;
      case TX_IN_BURST_PERIOD:
        if (rnd < c.a5) {
          c.state = LOST_IN_BURST_PERIOD;
          return true;
        }
        c.state = TX_IN_BURST_PERIOD;
        break;
      case LOST_IN_BURST_PERIOD:
        if (rnd < c.a3) c.state = TX_IN_BURST_PERIOD;
        else if (rnd < ((c.a2 + c.a3) >>> 0)) c.state = TX_IN_GAP_PERIOD;
        else {
          c.state = LOST_IN_BURST_PERIOD;
          return true;
        }
        break;
      case LOST_IN_GAP_PERIOD:
        c.state = TX_IN_GAP_PERIOD;
        break;
    }
    return false;
  }

  /** loss_gilb_ell: transition draw, then the loss draw of the new state */
  private loss_gilb_ell(): boolean {
    const c = this.clg;
    switch (c.state) {
      case GOOD_STATE:
        if (this.prng.next() < c.a1) c.state = BAD_STATE;
        if (this.prng.next() < c.a4) return true;
        break;
      case BAD_STATE:
        if (this.prng.next() < c.a2) c.state = GOOD_STATE;
        if (this.prng.next() > c.a3) return true;
        break;
    }
    return false;
  }

  private loss_event(): boolean {
    switch (this.loss_model) {
      case CLG_RANDOM:
        return this.loss !== 0 && this.loss >= this.get_crandom(this.loss_cor);
      case CLG_4_STATES:
        return this.loss_4state();
      case CLG_GILB_ELL:
        return this.loss_gilb_ell();
    }
    return false;
  }

  /** tabledist: mu ± sigma, uniform without a table, else mu + sigma·table[rnd]/8192 rounded */
  tabledist(mu: number, sigma: number, state: Crndstate | null, dist: Int16Array | null): number {
    if (sigma === 0) return mu;
    const rnd = state ? this.get_crandom(state) : this.prng.next();
    if (!dist) return (rnd % ((2 * sigma) >>> 0)) + mu - sigma;
    const t = dist[rnd % dist.length];
    let x = (sigma % NETEM_DIST_SCALE) * t;
    if (x >= 0) x += NETEM_DIST_SCALE / 2;
    else x -= NETEM_DIST_SCALE / 2;
    return Math.trunc(x / NETEM_DIST_SCALE) + Math.trunc(sigma / NETEM_DIST_SCALE) * t + mu;
  }

  /** packet_time_ns: serialisation time at `rate` with overhead and cells */
  packet_time_ns(len: number): number {
    const o = this.opts;
    len += o.packet_overhead;
    if (o.cell_size) {
      let cells = Math.floor(len / o.cell_size);
      if (len > cells * o.cell_size) cells++;
      len = cells * (o.cell_size + o.cell_overhead);
    }
    return Math.floor((len * 1e9) / this.rate);
  }

  enqueue(skb: Skb): number {
    let count = 1;
    if (this.duplicate && this.duplicate >= this.get_crandom(this.dup_cor)) ++count;
    if (this.loss_event()) {
      if (this.opts.ecn && INET_ECN_set_ce(skb)) this.qstats.drops++; // marked, still counted
      else --count;
    }
    if (count === 0) {
      this.qstats.drops++;
      kfree_skb(skb);
      return NET_XMIT_SUCCESS | __NET_XMIT_BYPASS;
    }
    // clone the duplicate before corruption touches the original
    const skb2 = count > 1 ? this.stack.skb_copy(skb) : null;
    if (this.corrupt && this.corrupt >= this.get_crandom(this.corrupt_cor)) {
      // netem_segment would split GSO skbs first (no skb_gso_segment in the model): the linear
      // frame is corrupted as is. skb_checksum_help is not needed: our skbs carry full checksums.
      if (skb.len > 0) skb.buf[skb.data + this.prng.below(skb.len)] ^= 1 << this.prng.below(8);
    }
    if (this.qlen >= this.limit) {
      this.qstats.drops++;
      kfree_skb(skb);
      if (skb2) kfree_skb(skb2);
      return NET_XMIT_DROP;
    }
    if (skb2) {
      // the duplicate re-enters at the root, not duplicated again
      const rootq = qdisc_root(this);
      const dupsave = this.duplicate;
      this.duplicate = 0;
      rootq.enqueue(skb2);
      this.duplicate = dupsave;
    }
    this.qstats.backlog += skb.pkt_len;
    if (this.gap === 0 || this.counter < this.gap - 1 || this.reorder < this.get_crandom(this.reorder_cor)) {
      let delay = this.tabledist(this.latency, this.jitter, this.delay_cor, this.opts.dist);
      let now = ktime_get_ns(this.stack);
      if (this.rate) {
        let last = -1;
        if (this.headq.length) last = this.headqTailTime;
        if (this.tfifo.length && this.tfifo.tailTime > last) last = this.tfifo.tailTime;
        if (last >= 0) {
          // the last packet in the queue is the reference point: its departure, not now
          delay -= last - now;
          delay = Math.max(0, delay);
          now = last;
        }
        delay += this.packet_time_ns(skb.pkt_len);
      }
      ++this.counter;
      this.tfifo.insert(skb, now + delay);
      this.qlen++;
    } else {
      // reorder: this one goes out now, ahead of the delayed ones
      this.counter = 0;
      if (this.headq.length === 0) this.headqTailTime = ktime_get_ns(this.stack);
      this.headq.unshift(skb);
      this.qlen++;
      this.qstats.requeues++;
    }
    return NET_XMIT_SUCCESS;
  }

  /** get_slot_next */
  private get_slot_next(now: number): void {
    const s = this.opts.slot!;
    let next_delay: number;
    if (!s.dist) next_delay = s.min_delay + Math.floor((this.prng.next() * (s.max_delay - s.min_delay)) / 4294967296);
    else next_delay = this.tabledist(s.dist_delay, s.dist_jitter, null, s.dist);
    this.slot.slot_next = now + next_delay;
    this.slot.packets_left = s.max_packets;
    this.slot.bytes_left = s.max_bytes;
  }

  dequeue(): Skb | null {
    const h = this.headq.shift();
    if (h) return this.deliver(h);
    const skb = this.tfifo.peek();
    if (!skb) return null;
    const now = ktime_get_ns(this.stack);
    const time_to_send = this.tfifo.headTime;
    if (this.slot.slot_next && this.slot.slot_next < time_to_send) this.get_slot_next(now);
    if (time_to_send <= now && this.slot.slot_next <= now) {
      this.tfifo.shift();
      if (this.slot.slot_next) {
        this.slot.packets_left--;
        this.slot.bytes_left -= skb.pkt_len;
        if (this.slot.packets_left <= 0 || this.slot.bytes_left <= 0) this.get_slot_next(now);
      }
      return this.deliver(skb);
    }
    this.watchdog.schedule_ns(Math.max(time_to_send, this.slot.slot_next));
    return null;
  }

  private deliver(skb: Skb): Skb {
    this.qlen--;
    this.qstats.backlog -= skb.pkt_len;
    qdisc_bstats_update(this, skb);
    return skb;
  }

  peek(): Skb | null {
    return qdisc_peek_dequeued(this);
  }

  protected reset_queue(): void {
    this.tfifo.purge(kfree_skb);
    this.headq.purge(kfree_skb);
    this.watchdog.cancel();
  }

  override destroy(): void {
    this.watchdog.cancel();
    this.reset();
  }

  /** q_netem.c netem_print_opt */
  tc_opts(): string {
    const o = this.opts;
    const corr = (present: boolean, v: number): string => (present ? ` ${print_percent_u32(v)}` : '');
    let s = `limit ${this.limit}`;
    if (this.latency !== 0) {
      s += ` delay ${print_time64(this.latency)}`;
      if (this.jitter !== 0) s += `  ${print_time64(this.jitter)}`;
      s += corr(this.jitter !== 0 && o.delay_corr !== 0, o.delay_corr);
    }
    if (this.loss) s += ` loss ${print_percent_u32(this.loss)}` + corr(o.loss_corr !== 0, o.loss_corr);
    if (o.gi) {
      s += ` loss state p13 ${print_percent_u32(o.gi.p13)} p31 ${print_percent_u32(o.gi.p31)} p32 ${print_percent_u32(o.gi.p32)}`;
      s += ` p23 ${print_percent_u32(o.gi.p23)} p14 ${print_percent_u32(o.gi.p14)}`;
    }
    if (o.ge) {
      s += ` loss gemodel p ${print_percent_u32(o.ge.p)} r ${print_percent_u32(o.ge.r)}`;
      s += ` 1-h ${print_percent_u32((0xffffffff - o.ge.h) >>> 0)} 1-k ${print_percent_u32(o.ge.k1)}`;
    }
    if (this.duplicate) s += ` duplicate ${print_percent_u32(this.duplicate)}` + corr(o.dup_corr !== 0, o.dup_corr);
    if (this.reorder) s += ` reorder ${print_percent_u32(this.reorder)}` + corr(o.reorder_corr !== 0, o.reorder_corr);
    if (this.corrupt) s += ` corrupt ${print_percent_u32(this.corrupt)}` + corr(o.corrupt_corr !== 0, o.corrupt_corr);
    if (this.rate) {
      s += ` rate ${print_rate(this.rate)}`;
      if (o.packet_overhead) s += ` packetoverhead ${o.packet_overhead}`;
      if (o.cell_size) s += ` cellsize ${o.cell_size}`;
      if (o.cell_overhead) s += ` celloverhead ${o.cell_overhead}`;
    }
    if (o.slot) {
      const sl = o.slot;
      if (sl.dist_jitter > 0) s += ` slot distribution ${print_time64(sl.dist_delay)} ${print_time64(sl.dist_jitter)}`;
      else s += ` slot ${print_time64(sl.min_delay)} ${print_time64(sl.max_delay)}`;
      if (sl.max_packets && sl.max_packets !== INT_MAX) s += ` packets ${sl.max_packets}`;
      if (sl.max_bytes && sl.max_bytes !== INT_MAX) s += ` bytes ${sl.max_bytes}`;
    }
    s += ` seed ${this.seed}`;
    if (o.ecn) s += ' ecn ';
    if (this.gap) s += ` gap ${this.gap}`;
    return s;
  }
}
