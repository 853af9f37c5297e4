// Qdisc base and the generic transmit loop (net/sched/sch_generic.c): qdisc_run / __qdisc_run with
// the dev_tx_weight quota, qdisc_restart, dequeue_skb (requeued skbs first, nothing while the txq is
// stopped), sch_direct_xmit, dev_requeue_skb, the noop qdisc and dev_activate/dev_deactivate.
import type { NetStack } from './stack';
import type { NetDevice, NetdevQueue } from './netdevice';
import { netif_xmit_frozen_or_stopped, __QUEUE_STATE_DRV_XOFF } from './netdevice';
import type { Subscription } from 'rxjs';
import { kfree_skb, SkbQueue, type Skb } from './skb';
import { dev_hard_start_xmit, NET_XMIT_CN } from './xmit';

// Qdisc flags (include/net/sch_generic.h)
export const TCQ_F_BUILTIN = 1;
export const TCQ_F_INGRESS = 2;
/** a work-conserving qdisc: an skb may skip an empty queue and go straight to the driver */
export const TCQ_F_CAN_BYPASS = 4;
export const TCQ_F_MQROOT = 8;
export const TCQ_F_ONETXQUEUE = 0x10;
export const TCQ_F_NOPARENT = 0x40;

// tc handles (include/uapi/linux/pkt_sched.h)
export const TC_H_ROOT = 0xffffffff;
export const TC_H_UNSPEC = 0;
export const TC_H_MAJ = (h: number): number => (h & 0xffff0000) >>> 0;
export const TC_H_MIN = (h: number): number => h & 0xffff;
export const TC_H_MAKE = (maj: number, min: number): number => ((maj & 0xffff0000) | (min & 0xffff)) >>> 0;
/** skb->priority values are TC_PRIO_* (0..15) unless a classid was written there */
export const TC_PRIO_MAX = 15;

// Qdisc state bits (__QDISC_STATE_*)
export const __QDISC_STATE_SCHED = 1 << 0;
export const __QDISC_STATE_DEACTIVATED = 1 << 1;

/** gnet_stats_basic: what the qdisc handed to the driver (or bypassed) */
export class QdiscBstats {
  bytes = 0;
  packets = 0;
}

/** gnet_stats_queue */
export class QdiscQstats {
  backlog = 0;
  drops = 0;
  requeues = 0;
  overlimits = 0;
}

/**
 * struct Qdisc. Subclasses implement enqueue/dequeue/peek/reset_queue and keep `qlen` and
 * `qstats.backlog` right for their own queue; the base keeps the requeue list (gso_skb), which
 * counts in qlen and backlog too, as in Linux.
 */
export abstract class Qdisc {
  abstract readonly id: string;
  flags = TCQ_F_ONETXQUEUE | TCQ_F_NOPARENT;
  /** packets (pfifo) */
  limit = 0;
  /** sch->q.qlen, requeued skbs included */
  qlen = 0;
  readonly bstats = new QdiscBstats();
  readonly qstats = new QdiscQstats();
  /** __QDISC_STATE_* bits */
  state = 0;
  /** qdisc_run_begin/qdisc_run_end ownership */
  running = false;
  /** a reset asked for while running; done at qdisc_run_end */
  reset_pending = false;
  /** link in softnet_data.output_queue */
  next_sched: Qdisc | null = null;
  dev_queue: NetdevQueue | null = null;
  /** skbs the driver refused (NETDEV_TX_BUSY), sent first once the queue wakes */
  readonly gso_skb = new SkbQueue(16);
  /** qdisc_restart's bulk list, reused */
  readonly bulk: Skb[] = [];

  /** tcm_handle (major:0); default qdiscs have 0 (printed "0:") */
  handle = 0;
  /** tcm_parent: TC_H_ROOT for a device's root, else the parent class id (major:minor) */
  parent = TC_H_ROOT;
  /** the classful qdisc this one hangs under (null for a root): qdisc_tree_reduce_backlog, qdisc_root */
  parent_qdisc: Qdisc | null = null;
  /** created by qdisc_create_dflt inside a parent (tbf's bfifo, a class's default pfifo): not listed by tc */
  invisible = false;

  constructor(readonly stack: NetStack) {}

  /** ops->destroy: cancel timers, free children and queued skbs (the qdisc is being replaced) */
  destroy(): void {
    this.reset();
  }

  /**
   * cops->qlen_notify: a child's queue became empty behind our back (a drop inside its dequeue);
   * classful qdiscs deactivate the class. Default: nothing.
   */
  qlen_notify(_child: Qdisc): void {}

  /** returns NET_XMIT_SUCCESS / NET_XMIT_DROP / NET_XMIT_CN; on drop the qdisc frees the skb */
  abstract enqueue(skb: Skb): number;
  /** next skb to send (updating bstats, qlen, backlog), or null */
  abstract dequeue(): Skb | null;
  abstract peek(): Skb | null;
  /** ops->reset: free what the qdisc's own queue holds */
  protected abstract reset_queue(): void;

  /** qdisc_reset: empty the qdisc (queue and requeue list); freed skbs are not counted as drops */
  reset(): void {
    if (this.running) {
      this.reset_pending = true;
      return;
    }
    this.reset_pending = false;
    this.reset_queue();
    this.gso_skb.purge(kfree_skb);
    this.qlen = 0;
    this.qstats.backlog = 0;
  }
}

/** qdisc_bstats_update: GSO skbs count as gso_segs packets */
export function qdisc_bstats_update(q: Qdisc, skb: Skb): void {
  q.bstats.bytes += skb.pkt_len;
  q.bstats.packets += skb.gso_size > 0 && skb.gso_segs > 0 ? skb.gso_segs : 1;
}

/**
 * The noop qdisc: what a txq holds while the device is deactivated (carrier off). Enqueue drops,
 * counts the device's tx_dropped (patch "net: count drops due to missing qdisc as dev->tx_drops",
 * 6.11) and returns NET_XMIT_CN.
 */
export class NoopQdisc extends Qdisc {
  readonly id = 'noop';
  constructor(stack: NetStack) {
    super(stack);
    this.flags = TCQ_F_BUILTIN;
  }
  enqueue(skb: Skb): number {
    if (skb.dev) skb.dev.stats.tx_dropped++;
    kfree_skb(skb);
    return NET_XMIT_CN;
  }
  dequeue(): Skb | null {
    return null;
  }
  peek(): Skb | null {
    return null;
  }
  protected reset_queue(): void {}
}

/** qdisc_run_begin: take ownership unless someone (an outer call on the stack) runs it */
export function qdisc_run_begin(q: Qdisc): boolean {
  if (q.running) return false;
  q.running = true;
  return true;
}

export function qdisc_run_end(q: Qdisc): void {
  q.running = false;
  if (q.reset_pending) q.reset();
}

/** qdisc_run */
export function qdisc_run(q: Qdisc): void {
  if (qdisc_run_begin(q)) {
    __qdisc_run(q);
    qdisc_run_end(q);
  }
}

/**
 * __netif_schedule: queue the qdisc for NET_TX_SOFTIRQ unless already queued. Builtin qdiscs
 * (noop) have nothing to send.
 */
export function __netif_schedule(q: Qdisc): void {
  if (q.flags & TCQ_F_BUILTIN) return;
  if (q.state & __QDISC_STATE_SCHED) return;
  q.state |= __QDISC_STATE_SCHED;
  q.stack.this_cpu().netif_reschedule(q);
}

/**
 * __qdisc_run: send until the qdisc is empty, the driver pushes back, or dev_tx_weight (64) packets
 * went out; then reschedule through NET_TX_SOFTIRQ so other work gets the CPU.
 */
export function __qdisc_run(q: Qdisc): void {
  let quota = q.stack.sysctl.dev_tx_weight;
  let packets: number;
  while ((packets = qdisc_restart(q)) > 0) {
    quota -= packets;
    if (quota <= 0) {
      __netif_schedule(q);
      break;
    }
  }
}

/** qdisc_may_bulk: a qdisc feeding one txq (a single-queue root, an mq child) bulks by BQL bytes */
export function qdisc_may_bulk(q: Qdisc): boolean {
  return (q.flags & TCQ_F_ONETXQUEUE) !== 0;
}

/** qdisc_avail_bulklimit: dql_avail of the txq (0 for a driver that reports no BQL) */
export function qdisc_avail_bulklimit(txq: NetdevQueue): number {
  return txq.dql.avail();
}

/**
 * dequeue_skb: a requeued skb first (alone, if the txq runs), else nothing while the txq is stopped
 * (TCQ_F_ONETXQUEUE), else one skb plus a bulk: for a one-txq qdisc (qdisc_may_bulk) more skbs while
 * the BQL bytes left (dql_avail minus what is already taken, skb.len each) stay positive
 * (try_bulk_dequeue_skb) — nothing more for a driver without BQL —; otherwise up to
 * sysctl.qdisc_bulk (8) more (try_bulk_dequeue_skb_slow). Fills q.bulk; returns the count.
 */
function dequeue_skb(q: Qdisc, txq: NetdevQueue): number {
  const bulk = q.bulk;
  if (q.gso_skb.length > 0) {
    if (netif_xmit_frozen_or_stopped(txq)) return 0;
    const skb = q.gso_skb.shift()!;
    q.qstats.backlog -= skb.pkt_len;
    q.qlen--;
    bulk[0] = skb;
    return 1;
  }
  if (netif_xmit_frozen_or_stopped(txq)) return 0;
  const first = q.dequeue();
  if (!first) return 0;
  bulk[0] = first;
  let n = 1;
  if (qdisc_may_bulk(q)) {
    let bytelimit = qdisc_avail_bulklimit(txq) - first.len;
    while (bytelimit > 0) {
      const skb = q.dequeue();
      if (!skb) break;
      bytelimit -= skb.len; // covers GSO len
      bulk[n++] = skb;
    }
    return n;
  }
  // the model's txqs each have their own qdisc, so the queue_mapping check of the slow variant never fires
  const more = q.stack.sysctl.qdisc_bulk;
  for (let cnt = 0; cnt < more; cnt++) {
    const skb = q.dequeue();
    if (!skb) break;
    bulk[n++] = skb;
  }
  return n;
}

/** qdisc_restart: one dequeue + transmit; returns the packets dequeued, 0 to stop the loop */
function qdisc_restart(q: Qdisc): number {
  const txq = q.dev_queue;
  if (!txq) return 0;
  const n = dequeue_skb(q, txq);
  if (n === 0) return 0;
  return sch_direct_xmit(q, txq.dev, txq, q.bulk, n) ? n : 0;
}

/**
 * sch_direct_xmit: hand skbs[0..n) to the driver. If it took them all, true (keep going). Else the
 * rest is requeued (dev_requeue_skb) and false. A stopped txq sends nothing and requeues all
 * (Linux's ret = NETDEV_TX_BUSY default).
 */
export function sch_direct_xmit(q: Qdisc, dev: NetDevice, txq: NetdevQueue, skbs: Skb[], n: number): boolean {
  let sent = 0;
  if (!netif_xmit_frozen_or_stopped(txq)) sent = dev_hard_start_xmit(q.stack, skbs, n, dev, txq);
  if (sent < n) {
    dev_requeue_skb(q, txq, skbs, sent, n);
    return false;
  }
  return true;
}

/**
 * dev_requeue_skb: put refused skbs[from..n) back ahead of everything (they were first), count
 * requeues (they stay in qlen/backlog) and reschedule. Linux appends to gso_skb's tail, which
 * reorders if a requeued list is refused again; we insert at the head in order so frames never
 * reorder. The driver answered NETDEV_TX_BUSY: if it did not stop its queue we stop it (Linux would
 * retry from NET_TX_SOFTIRQ in a loop); it must call netif_wake_queue when it has room.
 */
function dev_requeue_skb(q: Qdisc, txq: NetdevQueue, skbs: Skb[], from: number, n: number): void {
  for (let i = n - 1; i >= from; i--) {
    const skb = skbs[i];
    q.gso_skb.unshift(skb);
    q.qstats.requeues++;
    q.qstats.backlog += skb.pkt_len;
    q.qlen++;
  }
  if (!netif_xmit_frozen_or_stopped(txq)) txq.state |= __QUEUE_STATE_DRV_XOFF;
  __netif_schedule(q);
}

/** dev_activate: carrier on — give every txq its configured qdisc back */
export function dev_activate(dev: NetDevice): void {
  for (const txq of dev._tx) {
    txq.qdisc = txq.qdisc_sleeping;
    txq.qdisc_sleeping.state &= ~__QDISC_STATE_DEACTIVATED;
  }
}

/** dev_deactivate: carrier off — noop qdisc on every txq, configured qdiscs reset (queued skbs freed) */
export function dev_deactivate(dev: NetDevice): void {
  for (const txq of dev._tx) {
    txq.qdisc = dev.stack.noop_qdisc;
    txq.qdisc_sleeping.state |= __QDISC_STATE_DEACTIVATED;
    txq.qdisc_sleeping.reset();
  }
}

/** `tc -s qdisc show` lines for one qdisc (iproute2 tc/tc_qdisc.c + tc_util.c print_tcstats) */
export function tc_qdisc_show(q: Qdisc, dev: NetDevice): string {
  const limit = q.limit ? ` limit ${q.limit}p` : '';
  return (
    `qdisc ${q.id} 0: dev ${dev.name} root refcnt 2${limit}\n` +
    ` Sent ${q.bstats.bytes} bytes ${q.bstats.packets} pkt (dropped ${q.qstats.drops}, overlimits ${q.qstats.overlimits} requeues ${q.qstats.requeues})\n` +
    ` backlog ${q.qstats.backlog}b ${q.qlen}p requeues ${q.qstats.requeues}\n`
  );
}

/** qdisc_root: the root qdisc of the tree q hangs in */
export function qdisc_root(q: Qdisc): Qdisc {
  while (q.parent_qdisc) q = q.parent_qdisc;
  return q;
}

/**
 * qdisc_tree_reduce_backlog (sch_api.c): a qdisc dropped n packets / len bytes outside its
 * enqueue (codel drops inside dequeue, fq_codel's batch drop): its ancestors' qlen and backlog
 * shrink accordingly (q itself has already counted), and a parent whose child became empty
 * is told (qlen_notify). Nothing to do for a root.
 */
export function qdisc_tree_reduce_backlog(q: Qdisc, n: number, len: number): void {
  if (n === 0 && len === 0) return;
  let child = q;
  let p = q.parent_qdisc;
  while (p) {
    if (child.qlen === 0 && n !== 0) p.qlen_notify(child);
    p.qlen -= n;
    p.qstats.backlog -= len;
    child = p;
    p = p.parent_qdisc;
  }
}

/**
 * qdisc_peek_dequeued (include/net/sch_generic.h): peek for qdiscs whose next packet is only known
 * by dequeueing it (fq_codel, netem, htb, prio…): dequeue and keep it in gso_skb, still counted.
 */
export function qdisc_peek_dequeued(q: Qdisc): Skb | null {
  let skb = q.gso_skb.peek();
  if (!skb) {
    skb = q.dequeue();
    if (skb) {
      q.gso_skb.unshift(skb);
      q.qstats.backlog += skb.pkt_len;
      q.qlen++;
    }
  }
  return skb;
}

/** qdisc_dequeue_peeked: what a peek kept, else a dequeue */
export function qdisc_dequeue_peeked(q: Qdisc): Skb | null {
  const skb = q.gso_skb.shift();
  if (skb) {
    q.qstats.backlog -= skb.pkt_len;
    q.qlen--;
    return skb;
  }
  return q.dequeue();
}

/** scheduler time origin per scheduler: virtual schedulers start at 0, wall clocks at the first read */
const clockBase = new WeakMap<object, number>();

/** the monotonic clock reads as on a machine booted 1 s before the stack (0 is "unset" in qdiscs) */
const KTIME_BOOT_OFFSET_NS = 1e9;

/**
 * ktime_get_ns: the stack's scheduler clock in ns. Wall-clock schedulers (ms since 1970) are read
 * relative to their first use so that ns values stay exact integers in a double.
 */
export function ktime_get_ns(stack: NetStack): number {
  const s = stack.scheduler;
  const now = s.now();
  let base = clockBase.get(s);
  if (base === undefined) {
    base = now < 1e10 ? 0 : now;
    clockBase.set(s, base);
  }
  return Math.round((now - base) * 1e6) + KTIME_BOOT_OFFSET_NS;
}

/**
 * struct qdisc_watchdog (sch_api.c): an hrtimer that reschedules the root qdisc of its tree
 * (__netif_schedule(qdisc_root(q))) when a throttled qdisc (tbf, netem, htb) may send again.
 * Runs on the stack's scheduler, so virtual time drives it in tests.
 */
export class QdiscWatchdog {
  /** absolute expiry (ktime ns) of the armed timer, -1 when idle */
  expires = -1;
  private sub: Subscription | null = null;
  private readonly fire = (): void => {
    this.sub = null;
    this.expires = -1;
    const root = qdisc_root(this.q);
    if (root.state & __QDISC_STATE_DEACTIVATED) return;
    __netif_schedule(root);
  };

  constructor(readonly q: Qdisc) {}

  /** qdisc_watchdog_schedule_ns: (re)arm for `expires`; an identical expiry is left alone */
  schedule_ns(expires: number): void {
    if (qdisc_root(this.q).state & __QDISC_STATE_DEACTIVATED) return;
    if (this.sub && this.expires === expires) return;
    this.cancel();
    const now = ktime_get_ns(this.q.stack);
    // ms for the scheduler; +0.1 ns so float rounding never wakes us a hair early
    const delay = Math.max(0, expires - now) / 1e6 + 1e-7;
    this.expires = expires;
    this.sub = this.q.stack.scheduler.schedule(this.fire, delay);
  }

  /** qdisc_watchdog_cancel */
  cancel(): void {
    if (this.sub) this.sub.unsubscribe();
    this.sub = null;
    this.expires = -1;
  }

  get pending(): boolean {
    return this.sub !== null;
  }
}

/** psched_mtu: MTU + link header, what fq_codel's quantum and codel's mtu default to */
export function psched_mtu(dev: NetDevice): number {
  return dev.mtu + 14;
}

// enqueue return bits above NET_XMIT_MASK (include/linux/netdevice.h): a qdisc that consumed the
// skb on purpose (netem loss: BYPASS; stolen by an action: STOLEN). dev_queue_xmit masks them off.
export const __NET_XMIT_STOLEN = 0x00010000;
export const __NET_XMIT_BYPASS = 0x00020000;

/** net_xmit_drop_count: does a child's non-success return count as a drop in its parent */
export function net_xmit_drop_count(rc: number): boolean {
  return (rc & __NET_XMIT_STOLEN) === 0;
}

/** qdisc_purge_queue: a child leaves its tree: ancestors forget its packets, then it is reset */
export function qdisc_purge_queue(q: Qdisc): void {
  qdisc_tree_reduce_backlog(q, q.qlen, q.qstats.backlog);
  q.reset();
}
