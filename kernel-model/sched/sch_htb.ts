// htb (net/sched/sch_htb.c): a class tree; leaves hold a qdisc (pfifo by default). Each class has
// a rate bucket (tokens/buffer) and a ceil bucket (ctokens/cbuffer) in ns, charged for every
// packet sent through it (htb_charge_class). Modes (htb_class_mode, hysteresis off): CANT_SEND when
// ctokens < 0, CAN_SEND when tokens >= 0, else MAY_BORROW — a leaf may send at the level of its
// nearest ancestor-or-self in CAN_SEND reached through MAY_BORROW classes. Dequeue serves the
// lowest such level, then the lowest prio, then round robin by classid with per-level DRR deficits
// of `quantum` bytes. Unclassified packets go to the `default` class, else the direct queue
// (unshaped, direct_qlen = txqueuelen).
// Modelled differently: modes are evaluated when dequeue looks (the same as Linux's event queue
// firing on time) and the round robin at inner levels runs over leaves rather than per inner
// class feed; filters (tc filter) are not modelled: classify by skb->priority = classid or default.
import type { NetStack } from '../core/stack';
import type { NetDevice } from '../core/netdevice';
import { kfree_skb, SkbQueue, type Skb } from '../core/skb';
import { Qdisc, QdiscBstats, QdiscWatchdog, TC_H_MAJ, TC_H_MAKE, TC_H_MIN, ktime_get_ns, net_xmit_drop_count, qdisc_bstats_update, qdisc_dequeue_peeked, qdisc_peek_dequeued, qdisc_purge_queue } from '../core/sch_generic';
import { NET_XMIT_DROP, NET_XMIT_SUCCESS } from '../core/xmit';
import { PfifoQdisc } from './pfifo';
import { PschedRatecfg, psched_ns2ticks } from './psched';
import type { ClassfulQdisc } from './classful';
import { print_rate, print_size } from './tc/units';

export const TC_HTB_MAXDEPTH = 8;
export const TC_HTB_NUMPRIO = 8;
const HTB_CANT_SEND = 0;
const HTB_MAY_BORROW = 1;
const HTB_CAN_SEND = 2;

export interface HtbClassOptions {
  /** bytes/s */
  rate: number;
  /** bytes/s (default rate) */
  ceil?: number;
  /** bytes (default rate/HZ + mtu, as tc computes it: 1600 at HZ 1e9) */
  burst?: number;
  cburst?: number;
  prio?: number;
  quantum?: number;
  mtu?: number;
  mpu?: number;
  overhead?: number;
}

export class HtbClass {
  readonly children: HtbClass[] = [];
  level = 0;
  prio = 0;
  quantum = 0;
  readonly rate = new PschedRatecfg();
  readonly ceil = new PschedRatecfg();
  buffer = 0;
  cbuffer = 0;
  readonly mbuffer = 60e9;
  tokens = 0;
  ctokens = 0;
  t_c = 0;
  cmode = HTB_CAN_SEND;
  leaf: Qdisc | null = null;
  readonly deficit = new Array<number>(TC_HTB_MAXDEPTH).fill(0);
  readonly bstats = new QdiscBstats();
  drops = 0;
  overlimits = 0;
  lends = 0;
  borrows = 0;
  giants = 0;
  constructor(readonly classid: number, readonly parent: HtbClass | null) {}
}

export class HtbQdisc extends Qdisc implements ClassfulQdisc {
  readonly id = 'htb';
  rate2quantum = 10;
  defcls = 0;
  direct_qlen: number;
  direct_pkts = 0;
  private readonly direct_queue = new SkbQueue(16);
  readonly classes = new Map<number, HtbClass>();
  /** sorted leaves (by classid) for the round robin */
  private sorted: HtbClass[] = [];
  /** per level·prio: classid the round robin is at (row/feed ptr) */
  private readonly ptr = new Array<number>(TC_HTB_MAXDEPTH * TC_HTB_NUMPRIO).fill(0);
  readonly watchdog = new QdiscWatchdog(this);
  private now = 0;
  private next_event = 0;

  constructor(stack: NetStack, readonly dev: NetDevice, handle: number, o: { r2q?: number; defcls?: number; direct_qlen?: number } = {}) {
    super(stack);
    this.handle = handle;
    this.rate2quantum = o.r2q ?? 10;
    this.defcls = o.defcls ?? 0;
    // htb_init: direct_qlen defaults to txqueuelen, at least 2
    this.direct_qlen = o.direct_qlen ?? Math.max(2, dev.tx_queue_len);
  }

  /** htb_change (qdisc): r2q and default may change */
  change(o: { r2q?: number; defcls?: number; direct_qlen?: number }): void {
    if (o.r2q !== undefined) this.rate2quantum = o.r2q;
    if (o.defcls !== undefined) this.defcls = o.defcls;
    if (o.direct_qlen !== undefined) this.direct_qlen = o.direct_qlen;
  }

  /** htb_change_class: create or change class `classid` under `parentid` (the qdisc handle or a class) */
  change_class(classid: number, parentid: number, o: HtbClassOptions): HtbClass {
    if (TC_H_MAJ(classid) !== this.handle || TC_H_MIN(classid) === 0) throw new Error('htb: classid must be within the qdisc handle (major:minor, minor > 0)');
    let parent: HtbClass | null = null;
    if (parentid !== this.handle && parentid !== 0xffffffff) {
      parent = this.classes.get(parentid) ?? null;
      if (!parent) throw new Error(`htb: parent class ${fmt_classid(parentid)} does not exist`);
    }
    if (!(o.rate > 0)) throw new Error('htb: "rate" is required.');
    const ceilRate = o.ceil || o.rate;
    const mtu = o.mtu ?? 1600;
    // tc (q_htb.c): burst defaults to rate / get_hz() + mtu, get_hz() = 1e9 on today's kernels
    const burst = o.burst ?? Math.floor(o.rate / 1e9) + mtu;
    const cburst = o.cburst ?? Math.floor(ceilRate / 1e9) + mtu;
    let cl = this.classes.get(classid);
    const now = ktime_get_ns(this.stack);
    if (!cl) {
      cl = new HtbClass(classid, parent);
      if (parent) {
        if (parent.level === 0) {
          // a leaf turns into an inner class: its queue is flushed (htb_parent_to_leaf's reverse)
          if (parent.leaf) {
            qdisc_purge_queue(parent.leaf);
            parent.leaf.destroy();
            parent.leaf = null;
          }
          parent.level = (parent.parent ? parent.parent.level : TC_HTB_MAXDEPTH) - 1;
        }
        parent.children.push(cl);
      }
      const leaf = new PfifoQdisc(this.stack, this.dev.tx_queue_len);
      this.attach_leaf(cl, leaf, true);
      cl.t_c = now;
      this.classes.set(classid, cl);
      this.resort();
    } else if (cl.parent !== parent) {
      throw new Error('htb: a class cannot move to another parent');
    }
    cl.rate.precompute(o.rate, o.overhead ?? 0, o.mpu ?? 0);
    cl.ceil.precompute(ceilRate, o.overhead ?? 0, o.mpu ?? 0);
    // tc sends buffer as psched ticks of burst at rate (tc_calc_xmittime), the kernel keeps ns
    cl.buffer = xmittime_ns(o.rate, burst);
    cl.cbuffer = xmittime_ns(ceilRate, cburst);
    cl.tokens = cl.buffer;
    cl.ctokens = cl.cbuffer;
    cl.prio = Math.min(o.prio ?? 0, TC_HTB_NUMPRIO - 1);
    if (o.quantum) cl.quantum = o.quantum;
    else {
      let quantum = Math.floor(o.rate / this.rate2quantum);
      if (quantum < 1000) {
        this.stack.ratelimited_warn(`htb: quantum of class ${classid.toString(16)} is small. Consider r2q change.`);
        quantum = 1000;
      }
      if (quantum > 200000) {
        this.stack.ratelimited_warn(`htb: quantum of class ${classid.toString(16)} is big. Consider r2q change.`);
        quantum = 200000;
      }
      cl.quantum = quantum;
    }
    return cl;
  }

  private attach_leaf(cl: HtbClass, q: Qdisc, dflt: boolean): void {
    q.parent_qdisc = this;
    q.parent = cl.classid;
    q.dev_queue = this.dev_queue;
    q.invisible = dflt;
    cl.leaf = q;
  }

  private resort(): void {
    this.sorted = [...this.classes.values()].filter((c) => c.level === 0).sort((a, b) => a.classid - b.classid);
  }

  /** htb_delete: only leaves (and not while children exist) */
  delete_class(classid: number): void {
    const cl = this.classes.get(classid);
    if (!cl) throw new Error(`htb: no class ${fmt_classid(classid)}`);
    if (cl.children.length) throw new Error('htb: class has children');
    if (cl.leaf) {
      qdisc_purge_queue(cl.leaf);
      cl.leaf.destroy();
    }
    this.classes.delete(classid);
    if (cl.parent) {
      cl.parent.children.splice(cl.parent.children.indexOf(cl), 1);
      if (cl.parent.children.length === 0) {
        // htb_parent_to_leaf: the parent becomes a leaf again with a fresh pfifo
        cl.parent.level = 0;
        this.attach_leaf(cl.parent, new PfifoQdisc(this.stack, this.dev.tx_queue_len), true);
      }
    }
    this.resort();
  }

  graft_class(classid: number, child: Qdisc): Qdisc {
    const cl = this.classes.get(classid);
    if (!cl) throw new Error(`htb: no class ${fmt_classid(classid)}`);
    if (cl.level !== 0 || !cl.leaf) throw new Error(`htb: class ${fmt_classid(classid)} is not a leaf`);
    const old = cl.leaf;
    qdisc_purge_queue(old);
    this.attach_leaf(cl, child, false);
    return old;
  }

  child_qdiscs(): Qdisc[] {
    const out: Qdisc[] = [];
    for (const cl of [...this.classes.values()].sort((a, b) => a.classid - b.classid)) if (cl.leaf) out.push(cl.leaf);
    return out;
  }

  /** htb_classify (no filters): X:0 → direct; a leaf's classid; else the default class; else direct */
  private classify(skb: Skb): HtbClass | null {
    const prio = skb.priority >>> 0;
    if (prio === this.handle) return null;
    const cl = this.classes.get(prio);
    if (cl && cl.level === 0) return cl;
    const def = this.classes.get(TC_H_MAKE(this.handle, this.defcls));
    if (!def || def.level) return null;
    return def;
  }

  enqueue(skb: Skb): number {
    const len = skb.pkt_len;
    const cl = this.classify(skb);
    if (!cl) {
      if (this.direct_queue.length < this.direct_qlen) {
        this.direct_queue.push(skb);
        this.direct_pkts++;
      } else {
        this.qstats.drops++;
        kfree_skb(skb);
        return NET_XMIT_DROP;
      }
    } else {
      const ret = cl.leaf!.enqueue(skb);
      if (ret !== NET_XMIT_SUCCESS) {
        if (net_xmit_drop_count(ret)) {
          this.qstats.drops++;
          cl.drops++;
        }
        return ret;
      }
    }
    this.qstats.backlog += len;
    this.qlen++;
    return NET_XMIT_SUCCESS;
  }

  /** htb_class_mode with diff = elapsed since t_c (capped at mbuffer); sets this.next_event for waits */
  private class_mode(cl: HtbClass): number {
    const diff = Math.min(this.now - cl.t_c, cl.mbuffer);
    let toks = cl.ctokens + diff;
    let mode: number;
    if (toks < 0) {
      mode = HTB_CANT_SEND;
      this.note_event(this.now - toks);
    } else if ((toks = cl.tokens + diff) >= 0) mode = HTB_CAN_SEND;
    else {
      mode = HTB_MAY_BORROW;
      this.note_event(this.now - toks);
    }
    this.set_mode(cl, mode);
    return mode;
  }

  private note_event(t: number): void {
    if (t < this.next_event) this.next_event = t;
  }

  /** htb_change_class_mode's accounting: entering CANT_SEND is an overlimit */
  private set_mode(cl: HtbClass, mode: number): void {
    if (mode === cl.cmode) return;
    if (mode === HTB_CANT_SEND) {
      cl.overlimits++;
      this.qstats.overlimits++;
    }
    cl.cmode = mode;
  }

  /** the level at which a leaf may send now (its lender's level), or -1 */
  private send_level(leaf: HtbClass): number {
    let cl: HtbClass | null = leaf;
    while (cl) {
      const mode = this.class_mode(cl);
      if (mode === HTB_CAN_SEND) return cl.level;
      if (mode === HTB_CANT_SEND) return -1;
      cl = cl.parent;
    }
    return -1;
  }

  /** htb_accnt_tokens / htb_accnt_ctokens */
  private accnt(toks: number, buffer: number, cl: HtbClass, r: PschedRatecfg, bytes: number): number {
    if (toks > buffer) toks = buffer;
    toks -= r.l2t_ns(bytes);
    if (toks <= -cl.mbuffer) toks = 1 - cl.mbuffer;
    return toks;
  }

  /** htb_charge_class: charge leaf and ancestors; classes below the lender borrowed */
  private charge(leaf: HtbClass, level: number, skb: Skb): void {
    const bytes = skb.pkt_len;
    let cl: HtbClass | null = leaf;
    while (cl) {
      const diff = Math.min(this.now - cl.t_c, cl.mbuffer);
      if (cl.level >= level) {
        if (cl.level === level) cl.lends++;
        cl.tokens = this.accnt(diff + cl.tokens, cl.buffer, cl, cl.rate, bytes);
      } else {
        cl.borrows++;
        cl.tokens += diff;
      }
      cl.ctokens = this.accnt(diff + cl.ctokens, cl.cbuffer, cl, cl.ceil, bytes);
      cl.t_c = this.now;
      // mode right after the charge (diff 0)
      const mode = cl.ctokens < 0 ? HTB_CANT_SEND : cl.tokens >= 0 ? HTB_CAN_SEND : HTB_MAY_BORROW;
      this.set_mode(cl, mode);
      if (cl.level) {
        cl.bstats.bytes += skb.pkt_len;
        cl.bstats.packets += skb.gso_size > 0 && skb.gso_segs > 0 ? skb.gso_segs : 1;
      }
      cl = cl.parent;
    }
  }

  dequeue(): Skb | null {
    const d = this.direct_queue.shift();
    if (d) return this.deliver(d);
    if (this.qlen === 0) return null;
    this.now = ktime_get_ns(this.stack);
    this.next_event = this.now + 5e9;
    // eligible leaves grouped by (level, prio)
    const levels = this.levelScratch;
    const n = this.sorted.length;
    for (let i = 0; i < n; i++) {
      const cl = this.sorted[i];
      levels[i] = cl.leaf && cl.leaf.qlen > 0 ? this.send_level(cl) : -1;
    }
    for (let level = 0; level < TC_HTB_MAXDEPTH; level++) {
      for (let prio = 0; prio < TC_HTB_NUMPRIO; prio++) {
        const skb = this.dequeue_tree(level, prio, levels);
        if (skb) return skb;
      }
    }
    if (this.next_event > this.now) this.watchdog.schedule_ns(this.next_event);
    return null;
  }

  private levelScratch: number[] = [];

  /** htb_dequeue_tree: round robin from the row's pointer over eligible leaves of this level/prio */
  private dequeue_tree(level: number, prio: number, levels: number[]): Skb | null {
    const n = this.sorted.length;
    const slot = level * TC_HTB_NUMPRIO + prio;
    const at = this.ptr[slot];
    // start at the first eligible classid >= ptr, wrapping
    let start = -1;
    for (let k = 0; k < n; k++) {
      const cl = this.sorted[k];
      if (levels[k] === level && cl.prio === prio) {
        if (start < 0) start = k;
        if (cl.classid >= at) {
          start = k;
          break;
        }
      }
    }
    if (start < 0) return null;
    for (let step = 0; step < n; step++) {
      const k = (start + step) % n;
      const cl = this.sorted[k];
      if (levels[k] !== level || cl.prio !== prio) continue;
      const skb = qdisc_dequeue_peeked(cl.leaf!);
      if (!skb) continue; // a non-work-conserving leaf (netem waiting): try the next
      cl.bstats.bytes += skb.pkt_len;
      cl.bstats.packets += skb.gso_size > 0 && skb.gso_segs > 0 ? skb.gso_segs : 1;
      this.ptr[slot] = cl.classid;
      cl.deficit[level] -= skb.pkt_len;
      if (cl.deficit[level] < 0) {
        cl.deficit[level] += cl.quantum;
        this.ptr[slot] = this.next_classid(k, level, prio, levels);
      }
      this.charge(cl, level, skb);
      return this.deliver(skb);
    }
    return null;
  }

  /** the next eligible classid after index k (htb_next_rb_node), wrapping */
  private next_classid(k: number, level: number, prio: number, levels: number[]): number {
    const n = this.sorted.length;
    for (let step = 1; step <= n; step++) {
      const j = (k + step) % n;
      if (levels[j] === level && this.sorted[j].prio === prio) return this.sorted[j].classid;
    }
    return this.sorted[k].classid;
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
    this.direct_queue.purge(kfree_skb);
    for (const cl of this.classes.values()) if (cl.leaf) cl.leaf.reset();
    this.watchdog.cancel();
  }

  override destroy(): void {
    this.watchdog.cancel();
    this.reset();
    for (const cl of this.classes.values()) if (cl.leaf) cl.leaf.destroy();
  }

  /** q_htb.c htb_print_opt for the qdisc (TCA_HTB_INIT + TCA_HTB_DIRECT_QLEN) */
  tc_opts(): string {
    return `r2q ${this.rate2quantum} default ${this.defcls ? '0x' + this.defcls.toString(16) : '0'} direct_packets_stat ${this.direct_pkts} direct_qlen ${this.direct_qlen}`;
  }

  /** q_htb.c htb_print_opt for a class */
  class_opts(cl: HtbClass): string {
    const tick2us = (t: number): number => t / 15.625;
    const xmitsize = (r: number, ns: number): number => Math.floor((r * tick2us(psched_ns2ticks(ns))) / 1e6);
    let s = cl.level === 0 ? `prio ${cl.prio} ` : '';
    s += `rate ${print_rate(cl.rate.rate_bytes_ps)} `;
    if (cl.rate.overhead) s += `overhead ${cl.rate.overhead} `;
    s += `ceil ${print_rate(cl.ceil.rate_bytes_ps)} `;
    s += `burst ${print_size(xmitsize(cl.rate.rate_bytes_ps, cl.buffer))} cburst ${print_size(xmitsize(cl.ceil.rate_bytes_ps, cl.cbuffer))}`;
    return s;
  }

  /** htb_dump_class_stats: tokens/ctokens as psched ticks at the time of the dump */
  class_xstats(cl: HtbClass): string {
    return ` lended: ${cl.lends} borrowed: ${cl.borrows} giants: ${cl.giants}\n tokens: ${Math.trunc(cl.tokens / 64)} ctokens: ${Math.trunc(cl.ctokens / 64)}`;
  }
}

/** tc_calc_xmittime (psched ticks, ceil) turned into ns as the kernel does (PSCHED_TICKS2NS) */
export function xmittime_ns(rate: number, size: number): number {
  const ticks = Math.min(Math.ceil(1e6 * (size / rate) * 15.625), 0xffffffff);
  return ticks * 64;
}

export function fmt_classid(h: number): string {
  const maj = h >>> 16;
  const min = h & 0xffff;
  if (h === 0xffffffff) return 'root';
  if (maj === 0) return `:${min.toString(16)}`;
  if (min === 0) return `${maj.toString(16)}:`;
  return `${maj.toString(16)}:${min.toString(16)}`;
}
