// Qdisc base and the generic transmit loop (net/sched/sch_generic.c): qdisc_run / __qdisc_run with
// the dev_tx_weight quota, qdisc_restart, dequeue_skb (requeued skbs first, nothing while the txq is
// stopped), sch_direct_xmit, dev_requeue_skb, the noop qdisc and dev_activate/dev_deactivate.
import type { NetStack } from './stack';
import type { NetDevice, NetdevQueue } from './netdevice';
import { netif_xmit_frozen_or_stopped, __QUEUE_STATE_DRV_XOFF } from './netdevice';
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

  constructor(readonly stack: NetStack) {}

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

/**
 * dequeue_skb: a requeued skb first (alone, if the txq runs), else nothing while the txq is stopped
 * (TCQ_F_ONETXQUEUE), else one skb plus up to sysctl.qdisc_bulk more (try_bulk_dequeue_skb_slow).
 * Fills q.bulk; returns the count.
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
