// fq_codel (net/sched/sch_fq_codel.c): packets hash into `flows` queues (1024); new flows are served
// before old ones by deficit round robin with `quantum` bytes (psched_mtu, 1514); each flow runs
// CoDel (codel.ts). Over `limit` packets (10240) or `memory_limit` bytes of truesize (32 MB), the
// fattest flow loses half its backlog, at most drop_batch (64) packets. ECN marking is on by default.
import type { NetStack } from '../core/stack';
import type { NetDevice } from '../core/netdevice';
import { kfree_skb, type Skb } from '../core/skb';
import { Qdisc, TCQ_F_CAN_BYPASS, TC_H_MAJ, TC_H_MIN, ktime_get_ns, psched_mtu, qdisc_bstats_update, qdisc_peek_dequeued, qdisc_tree_reduce_backlog } from '../core/sch_generic';
import { NET_XMIT_CN, NET_XMIT_SUCCESS } from '../core/xmit';
import { CodelParams, CodelStats, CodelVars, CODEL_DISABLED_THRESHOLD, codel_dequeue, codel_time, codel_time_to_us, type CodelQueue } from './codel';
import { qdisc_skb_hash, reciprocal_scale } from './flow_hash';
import { TimedSkbQueue } from './timed_queue';
import { print_size, print_time_us } from './tc/units';

/**
 * skb->truesize as the kernel would report it for our slab: the data buffer plus the aligned
 * sizes of struct sk_buff (256) and skb_shared_info (320) (SKB_TRUESIZE, x86-64).
 */
export function skb_truesize(skb: Skb): number {
  return skb.buf.length + 576;
}

export interface FqCodelOptions {
  limit?: number;
  flows?: number;
  quantum?: number;
  /** ns */
  target?: number;
  /** ns */
  interval?: number;
  /** ns, or undefined for off */
  ce_threshold?: number;
  memory_limit?: number;
  ecn?: boolean;
  drop_batch?: number;
}

/** struct fq_codel_flow */
class FqCodelFlow {
  readonly q = new TimedSkbQueue(8);
  readonly cvars = new CodelVars();
  deficit = 0;
  /** on new_flows or old_flows (list_empty(&flow->flowchain) is false) */
  listed = false;
  backlog = 0;
  constructor(readonly index: number) {}
}

/** a list of flows (new_flows / old_flows) as a ring of references */
class FlowList {
  private ring: (FqCodelFlow | null)[] = new Array(16).fill(null);
  private head = 0;
  length = 0;
  push(f: FqCodelFlow): void {
    if (this.length === this.ring.length) {
      const n = this.ring.length * 2;
      const r = new Array<FqCodelFlow | null>(n).fill(null);
      for (let i = 0; i < this.length; i++) r[i] = this.ring[(this.head + i) % this.ring.length];
      this.ring = r;
      this.head = 0;
    }
    this.ring[(this.head + this.length) % this.ring.length] = f;
    this.length++;
  }
  first(): FqCodelFlow | null {
    return this.length ? this.ring[this.head] : null;
  }
  shift(): FqCodelFlow | null {
    if (!this.length) return null;
    const f = this.ring[this.head];
    this.ring[this.head] = null;
    this.head = (this.head + 1) % this.ring.length;
    this.length--;
    return f;
  }
  clear(): void {
    this.ring.fill(null);
    this.head = this.length = 0;
  }
}

export class FqCodelQdisc extends Qdisc implements CodelQueue {
  readonly id = 'fq_codel';
  flows_cnt = 1024;
  quantum = 1514;
  memory_limit = 32 << 20;
  drop_batch_size = 64;
  readonly cparams = new CodelParams();
  readonly cstats = new CodelStats();
  private flows: FqCodelFlow[] = [];
  private readonly new_flows = new FlowList();
  private readonly old_flows = new FlowList();
  // xstats (tc_fq_codel_qd_stats)
  drop_overlimit = 0;
  drop_overmemory = 0;
  new_flow_count = 0;
  memory_usage = 0;
  /** per-stack-like random key for the software flow hash (flow_hash.ts) */
  private readonly hashKey = (Math.random() * 4294967296) >>> 0;
  // CodelQueue plumbing: the flow codel_dequeue works on, and the time of its last dequeued skb
  private cur: FqCodelFlow | null = null;
  enq_time = 0;

  constructor(stack: NetStack, dev: NetDevice, opts: FqCodelOptions = {}) {
    super(stack);
    // fq_codel_init defaults
    this.limit = 10 * 1024;
    this.quantum = psched_mtu(dev);
    this.cparams.mtu = psched_mtu(dev);
    this.cparams.ecn = true;
    this.change(opts);
    this.flows = Array.from({ length: this.flows_cnt }, (_, i) => new FqCodelFlow(i));
    if (this.limit >= 1) this.flags |= TCQ_F_CAN_BYPASS;
    else this.flags &= ~TCQ_F_CAN_BYPASS;
  }

  /** fq_codel_change: flows only before the flows exist; limit/memory shrink drop from the head */
  change(o: FqCodelOptions): void {
    if (o.flows !== undefined) {
      if (this.flows.length) throw new Error('fq_codel: the number of flows cannot be changed');
      if (!(o.flows >= 1 && o.flows <= 65536)) throw new Error('fq_codel: flows must be 1..65536');
      this.flows_cnt = o.flows;
    }
    if (o.target !== undefined) this.cparams.target = codel_time(o.target);
    if (o.ce_threshold !== undefined) this.cparams.ce_threshold = codel_time(o.ce_threshold);
    if (o.interval !== undefined) this.cparams.interval = codel_time(o.interval);
    if (o.limit !== undefined) this.limit = o.limit;
    if (o.ecn !== undefined) this.cparams.ecn = o.ecn;
    if (o.quantum !== undefined) this.quantum = Math.max(256, Math.min(1 << 20, o.quantum));
    if (o.drop_batch !== undefined) this.drop_batch_size = Math.max(1, o.drop_batch);
    if (o.memory_limit !== undefined) this.memory_limit = Math.min(2 ** 31, o.memory_limit);
    // shrink to the new limits (fq_codel_change's loop: dequeued and freed, parents told)
    let n = 0;
    let len = 0;
    while (this.flows.length && (this.qlen > this.limit || this.memory_usage > this.memory_limit)) {
      const skb = this.dequeue();
      if (!skb) break;
      n++;
      len += skb.pkt_len;
      kfree_skb(skb);
    }
    qdisc_tree_reduce_backlog(this, n, len);
  }

  /** fq_codel_classify: priority naming one of our flows, else the flow hash */
  private classify(skb: Skb): number {
    const prio = skb.priority >>> 0;
    if (TC_H_MAJ(prio) === this.handle && TC_H_MIN(prio) > 0 && TC_H_MIN(prio) <= this.flows_cnt) return TC_H_MIN(prio) - 1;
    return reciprocal_scale(qdisc_skb_hash(skb, this.hashKey), this.flows_cnt);
  }

  enqueue(skb: Skb): number {
    const idx = this.classify(skb);
    const flow = this.flows[idx];
    flow.q.push(skb, codel_time(ktime_get_ns(this.stack)));
    flow.backlog += skb.pkt_len;
    this.qstats.backlog += skb.pkt_len;
    if (!flow.listed) {
      flow.listed = true;
      this.new_flows.push(flow);
      this.new_flow_count++;
      flow.deficit = this.quantum;
    }
    this.memory_usage += skb_truesize(skb);
    const memory_limited = this.memory_usage > this.memory_limit;
    if (++this.qlen <= this.limit && !memory_limited) return NET_XMIT_SUCCESS;

    const prev_backlog = this.qstats.backlog;
    const prev_qlen0 = this.qlen;
    const pkt_len = skb.pkt_len;
    const victim = this.drop(this.drop_batch_size);
    const prev_qlen = prev_qlen0 - this.qlen;
    const dropped_bytes = prev_backlog - this.qstats.backlog;
    this.drop_overlimit += prev_qlen;
    if (memory_limited) this.drop_overmemory += prev_qlen;
    // our parents did not count the packet yet if we return CN for its own flow
    if (victim === idx) {
      qdisc_tree_reduce_backlog(this, prev_qlen - 1, dropped_bytes - pkt_len);
      return NET_XMIT_CN;
    }
    qdisc_tree_reduce_backlog(this, prev_qlen, dropped_bytes);
    return NET_XMIT_SUCCESS;
  }

  /** fq_codel_drop: drop half the fattest flow's bytes from its head, at most max_packets */
  private drop(max_packets: number): number {
    let maxbacklog = 0;
    let idx = 0;
    for (let i = 0; i < this.flows_cnt; i++) {
      if (this.flows[i].backlog > maxbacklog) {
        maxbacklog = this.flows[i].backlog;
        idx = i;
      }
    }
    const threshold = maxbacklog >>> 1;
    const flow = this.flows[idx];
    let len = 0;
    let mem = 0;
    let i = 0;
    do {
      const skb = flow.q.shift();
      if (!skb) break;
      len += skb.pkt_len;
      mem += skb_truesize(skb);
      kfree_skb(skb);
    } while (++i < max_packets && len < threshold);
    flow.cvars.count = (flow.cvars.count + i) >>> 0;
    flow.backlog -= len;
    this.memory_usage -= mem;
    this.qstats.drops += i;
    this.qstats.backlog -= len;
    this.qlen -= i;
    return idx;
  }

  // CodelQueue: dequeue_func / drop_func over the current flow
  codel_dequeue_one(): Skb | null {
    const flow = this.cur!;
    if (flow.q.length === 0) return null;
    this.enq_time = flow.q.headTime;
    const skb = flow.q.shift()!;
    flow.backlog -= skb.pkt_len;
    this.memory_usage -= skb_truesize(skb);
    this.qlen--;
    this.qstats.backlog -= skb.pkt_len;
    return skb;
  }

  codel_drop(skb: Skb): void {
    kfree_skb(skb);
    this.qstats.drops++;
  }

  get codel_backlog(): number {
    return this.qstats.backlog;
  }

  dequeue(): Skb | null {
    const now = codel_time(ktime_get_ns(this.stack));
    for (;;) {
      let head = this.new_flows;
      let flow = head.first();
      if (!flow) {
        head = this.old_flows;
        flow = head.first();
        if (!flow) return null;
      }
      if (flow.deficit <= 0) {
        flow.deficit += this.quantum;
        head.shift();
        this.old_flows.push(flow);
        continue;
      }
      this.cur = flow;
      const skb = codel_dequeue(this, this.cparams, flow.cvars, this.cstats, now);
      this.cur = null;
      if (!skb) {
        // an emptied new flow passes through old_flows once, to prevent starvation
        head.shift();
        if (head === this.new_flows && this.old_flows.length) this.old_flows.push(flow);
        else flow.listed = false;
        continue;
      }
      qdisc_bstats_update(this, skb);
      flow.deficit -= skb.pkt_len;
      // parents learn about codel drops; deferred while our qlen is 0 (as Linux, for HTB's sake)
      if (this.cstats.drop_count && this.qlen) {
        qdisc_tree_reduce_backlog(this, this.cstats.drop_count, this.cstats.drop_len);
        this.cstats.drop_count = 0;
        this.cstats.drop_len = 0;
      }
      return skb;
    }
  }

  /** ops->peek = qdisc_peek_dequeued */
  peek(): Skb | null {
    return qdisc_peek_dequeued(this);
  }

  protected reset_queue(): void {
    this.new_flows.clear();
    this.old_flows.clear();
    for (const f of this.flows) {
      f.q.purge(kfree_skb);
      f.backlog = 0;
      f.listed = false;
      f.cvars.init();
    }
    this.memory_usage = 0;
  }

  get new_flows_len(): number {
    return this.new_flows.length;
  }

  get old_flows_len(): number {
    return this.old_flows.length;
  }

  /** q_fq_codel.c fq_codel_print_opt */
  tc_opts(): string {
    let s = `limit ${this.limit}p flows ${this.flows_cnt} quantum ${this.quantum} target ${print_time_us(codel_time_to_us(this.cparams.target))} `;
    if (this.cparams.ce_threshold !== CODEL_DISABLED_THRESHOLD) s += `ce_threshold ${print_time_us(codel_time_to_us(this.cparams.ce_threshold))} `;
    s += `interval ${print_time_us(codel_time_to_us(this.cparams.interval))} memory_limit ${print_size(this.memory_limit)} `;
    if (this.cparams.ecn) s += 'ecn ';
    if (this.drop_batch_size) s += `drop_batch ${this.drop_batch_size} `;
    return s;
  }

  /** q_fq_codel.c fq_codel_print_xstats */
  tc_xstats(): string {
    let s = `  maxpacket ${this.cstats.maxpacket} drop_overlimit ${this.drop_overlimit} new_flow_count ${this.new_flow_count} ecn_mark ${this.cstats.ecn_mark}`;
    if (this.cstats.ce_mark) s += ` ce_mark ${this.cstats.ce_mark}`;
    if (this.memory_usage) s += ` memory_used ${this.memory_usage}`;
    if (this.drop_overmemory) s += ` drop_overmemory ${this.drop_overmemory}`;
    s += `\n  new_flows_len ${this.new_flows.length} old_flows_len ${this.old_flows.length}`;
    return s;
  }
}

/** defaults, for callers that want fq_codel as default_qdisc */
export const FQ_CODEL_DEFAULT_TARGET_NS = 5e6;
export const FQ_CODEL_DEFAULT_INTERVAL_NS = 100e6;
