// NAPI (net/core/dev.c, include/linux/netdevice.h): scheduling state, the poll wrapper and
// napi_complete_done with gro_flush_timeout / napi_defer_hard_irqs. net_rx_action is in softnet.ts.
import type { Subscription } from 'rxjs';
import type { NetDevice } from './netdevice';
import { ListHead, list_add_tail, list_del_init, list_empty } from './list';
import { SkbBatch } from './skb';
import { NET_RX_SOFTIRQ, type SoftnetData } from './softnet';
import { napi_gro_drop, napi_gro_flush, type NapiGro } from './gro';

/** NAPI_POLL_WEIGHT: the default (and recommended maximum) driver weight */
export const NAPI_POLL_WEIGHT = 64;

// NAPI_STATE_* bit numbers and their masks (include/linux/netdevice.h)
export const NAPI_STATE_SCHED = 0;
export const NAPI_STATE_MISSED = 1;
export const NAPI_STATE_DISABLE = 2;
export const NAPI_STATE_NPSVC = 3;
export const NAPI_STATE_LISTED = 4;
export const NAPI_STATE_NO_BUSY_POLL = 5;
export const NAPI_STATE_IN_BUSY_POLL = 6;
export const NAPI_STATE_PREFER_BUSY_POLL = 7;
export const NAPI_STATE_THREADED = 8;
export const NAPI_STATE_SCHED_THREADED = 9;
export const NAPIF_STATE_SCHED = 1 << NAPI_STATE_SCHED;
export const NAPIF_STATE_MISSED = 1 << NAPI_STATE_MISSED;
export const NAPIF_STATE_DISABLE = 1 << NAPI_STATE_DISABLE;
export const NAPIF_STATE_NPSVC = 1 << NAPI_STATE_NPSVC;
export const NAPIF_STATE_LISTED = 1 << NAPI_STATE_LISTED;
export const NAPIF_STATE_IN_BUSY_POLL = 1 << NAPI_STATE_IN_BUSY_POLL;
export const NAPIF_STATE_PREFER_BUSY_POLL = 1 << NAPI_STATE_PREFER_BUSY_POLL;
export const NAPIF_STATE_SCHED_THREADED = 1 << NAPI_STATE_SCHED_THREADED;

/**
 * The device's poll: take up to `budget` frames, fill `napi.batch`, call `napi.receive_batch()`,
 * complete its descriptors and return the work done. When work < budget it must call
 * napi_complete_done(napi, work) (and re-enable notifications if that returns true); when
 * work == budget it must not touch the NAPI state (the core repolls).
 */
export type NapiPoll = (napi: NapiStruct, budget: number) => number;

export class NapiStruct {
  /** NAPIF_STATE_* bits */
  state = NAPIF_STATE_LISTED;
  /** link on softnet_data.poll_list or net_rx_action's repoll list */
  readonly poll_list: ListHead<NapiStruct> = new ListHead<NapiStruct>(this);
  /** preallocated batch of `weight` slots, reused every poll */
  readonly batch: SkbBatch;
  defer_hard_irqs_count = 0;
  /** bit i set while GRO holds packets in gro_hash[i] (gro_bitmask) */
  gro_bitmask = 0;
  /** GRO state (gro_hash, rx_list), created by the GRO stage on the first batch */
  gro: NapiGro | null = null;
  /** CPU whose poll_list holds this NAPI, -1 when none */
  list_owner = -1;
  /** the armed gro_flush_timeout hrtimer */
  timer: Subscription | null = null;
  /** polls run (model counter, not in Linux) */
  polls = 0;
  /** batches handed to the receive pipeline (model counter) */
  batches = 0;
  /** warnings printed once per NAPI (netdev_err_once / pr_warn_once) */
  warned = 0;

  constructor(
    readonly dev: NetDevice,
    readonly poll: NapiPoll,
    readonly weight: number,
    /** rx queue index */
    readonly index: number,
    readonly napi_id: number,
  ) {
    this.batch = new SkbBatch(weight);
  }

  /**
   * Hand the filled batch to the stack's receive pipeline (GRO → RPS → netif_receive_skb_list),
   * processed synchronously; the batch is cleared afterwards. An empty batch emits nothing.
   */
  receive_batch(): void {
    const b = this.batch;
    if (b.count === 0) return;
    b.dev = this.dev;
    b.napi = this;
    this.batches++;
    this.dev.stack.rx_pipeline.next(b);
    b.clear();
  }
}

const WARN_OVER_WEIGHT = 1;
const WARN_RESCHED = 2;
const WARN_NOT_SCHED = 4;
const WARN_NO_COMPLETE = 8;

function warn_once(n: NapiStruct, bit: number, msg: string): void {
  if (n.warned & bit) return;
  n.warned |= bit;
  n.dev.stack.log.warn(`${n.dev.name}: napi ${n.napi_id}: ${msg}`);
}

/**
 * napi_schedule_prep: claim the NAPI. If it is already scheduled, set MISSED (the running poll
 * will run once more) and return false.
 */
export function napi_schedule_prep(n: NapiStruct): boolean {
  const val = n.state;
  if (val & NAPIF_STATE_DISABLE) return false;
  n.state = val | NAPIF_STATE_SCHED | (val & NAPIF_STATE_SCHED ? NAPIF_STATE_MISSED : 0);
  return !(val & NAPIF_STATE_SCHED);
}

/**
 * ____napi_schedule: append to this CPU's poll list and raise NET_RX_SOFTIRQ, unless
 * net_rx_action is running there (it re-reads the poll list before it ends).
 */
function ____napi_schedule(sd: SoftnetData, n: NapiStruct): void {
  list_add_tail(n.poll_list, sd.poll_list);
  n.list_owner = sd.cpu;
  if (!sd.in_net_rx_action) sd.raise_softirq(NET_RX_SOFTIRQ);
}

/** __napi_schedule: the caller owns SCHED */
export function __napi_schedule(n: NapiStruct): void {
  ____napi_schedule(n.dev.stack.this_cpu(), n);
}

/** napi_schedule: from the device's "interrupt" (guest kick). Returns true if it queued the NAPI. */
export function napi_schedule(n: NapiStruct): boolean {
  if (!napi_schedule_prep(n)) return false;
  __napi_schedule(n);
  return true;
}

function napi_timer_cancel(n: NapiStruct): void {
  if (n.timer) {
    n.timer.unsubscribe();
    n.timer = null;
  }
}

/**
 * napi_watchdog (the gro_flush_timeout hrtimer): reschedule unless disabled or already scheduled;
 * it does not set MISSED since no interrupt happened.
 */
function napi_watchdog(n: NapiStruct): void {
  n.timer = null;
  if (n.state & (NAPIF_STATE_DISABLE | NAPIF_STATE_SCHED)) return;
  n.state = (n.state | NAPIF_STATE_SCHED) & ~NAPIF_STATE_PREFER_BUSY_POLL;
  __napi_schedule(n);
}

/**
 * napi_complete_done: the driver finished (work_done < budget). Returns true when the driver may
 * re-enable its interrupt (guest notifications); false when the NAPI runs again anyway: MISSED was
 * set (rescheduled now) or napi_defer_hard_irqs holds the interrupt off with a gro_flush_timeout
 * timer that reschedules it.
 */
export function napi_complete_done(n: NapiStruct, work_done: number): boolean {
  if (n.state & (NAPIF_STATE_NPSVC | NAPIF_STATE_IN_BUSY_POLL)) return false;
  const dev = n.dev;
  let timeout = 0;
  let ret = true;
  if (work_done) {
    if (n.gro_bitmask) timeout = dev.gro_flush_timeout;
    n.defer_hard_irqs_count = dev.napi_defer_hard_irqs;
  }
  if (n.defer_hard_irqs_count > 0) {
    n.defer_hard_irqs_count--;
    timeout = dev.gro_flush_timeout;
    if (timeout) ret = false;
  }
  // held GRO packets: all of them, or only those older than this jiffy while a timeout is armed
  napi_gro_flush(n, timeout !== 0);

  if (!list_empty(n.poll_list)) list_del_init(n.poll_list);
  n.list_owner = -1;

  const val = n.state;
  if (!(val & NAPIF_STATE_SCHED)) warn_once(n, WARN_NOT_SCHED, 'napi_complete_done on a NAPI that is not scheduled');
  let next = val & ~(NAPIF_STATE_MISSED | NAPIF_STATE_SCHED | NAPIF_STATE_SCHED_THREADED | NAPIF_STATE_PREFER_BUSY_POLL);
  // MISSED: keep SCHED, poll once more
  if (val & NAPIF_STATE_MISSED) next |= NAPIF_STATE_SCHED;
  n.state = next;

  if (val & NAPIF_STATE_MISSED) {
    __napi_schedule(n);
    return false;
  }

  if (timeout) {
    // hrtimer_start(ns) re-arms an armed timer
    napi_timer_cancel(n);
    n.timer = dev.stack.scheduler.schedule(() => napi_watchdog(n), timeout / 1e6);
  }
  return ret;
}

/** napi_complete */
export function napi_complete(n: NapiStruct): boolean {
  return napi_complete_done(n, 0);
}

/** napi_enable: allow scheduling again after napi_disable */
export function napi_enable(n: NapiStruct): void {
  n.state &= ~(NAPIF_STATE_SCHED | NAPIF_STATE_NPSVC);
}

/**
 * napi_disable: stop the NAPI by holding SCHED and NPSVC, so napi_schedule cannot queue it. Linux
 * waits for a running poll to finish; our polls are synchronous, so it unlinks the NAPI from any
 * poll list at once and cancels the gro_flush_timeout timer.
 */
export function napi_disable(n: NapiStruct): void {
  if (!list_empty(n.poll_list)) list_del_init(n.poll_list);
  n.list_owner = -1;
  n.state = (n.state | NAPIF_STATE_SCHED | NAPIF_STATE_NPSVC) & ~(NAPIF_STATE_MISSED | NAPIF_STATE_PREFER_BUSY_POLL);
  napi_timer_cancel(n);
  // held GRO skbs would otherwise keep pool slabs forever (Linux frees them in netif_napi_del)
  napi_gro_drop(n);
}

export function napi_disable_pending(n: NapiStruct): boolean {
  return (n.state & NAPIF_STATE_DISABLE) !== 0;
}

/**
 * __napi_poll + napi_poll (net/core/dev.c): call the driver's poll with the NAPI's weight. If it used
 * the whole weight the core still owns the NAPI and appends it to `repoll`; if it did less, the
 * driver has completed. Returns the work done (counted against net_rx_action's budget).
 */
export function napi_poll(n: NapiStruct, repoll: ListHead<NapiStruct>): number {
  list_del_init(n.poll_list);
  const weight = n.weight;
  const stack = n.dev.stack;
  let work = 0;
  // only the owner of SCHED polls (in Linux this guards against netpoll; NPSVC marks a disabled NAPI)
  if (n.state & NAPIF_STATE_SCHED && !(n.state & NAPIF_STATE_NPSVC)) {
    n.polls++;
    try {
      work = n.poll(n, weight);
    } catch (e) {
      // a driver bug must not stall the CPU: complete the NAPI so the device's next kick works
      stack.bug(`${n.dev.name}: napi poll threw`, e);
      n.batch.clear();
      if (n.state & NAPIF_STATE_SCHED) napi_complete(n);
      return 0;
    }
    if (!(work >= 0)) work = 0;
  }

  if (work > weight) {
    warn_once(n, WARN_OVER_WEIGHT, `NAPI poll function returned ${work}, exceeding its budget of ${weight}.`);
  }

  if (work < weight) {
    // Linux leaves a NAPI that returned < weight without completing scheduled forever (a driver
    // bug that stalls the queue); we complete it and say so once.
    if ((n.state & (NAPIF_STATE_SCHED | NAPIF_STATE_NPSVC)) === NAPIF_STATE_SCHED && list_empty(n.poll_list)) {
      warn_once(n, WARN_NO_COMPLETE, `poll returned ${work} < ${weight} without napi_complete_done`);
      napi_complete_done(n, work);
    }
    return work;
  }

  if (n.state & NAPIF_STATE_DISABLE) {
    napi_complete(n);
    return work;
  }

  // flush too old packets; with HZ < 1000 all of them (napi_gro_flush + gro_normal_list)
  napi_gro_flush(n, stack.sysctl.HZ >= 1000);

  if (!list_empty(n.poll_list)) {
    warn_once(n, WARN_RESCHED, 'Budget exhausted after napi rescheduled');
    return work;
  }

  list_add_tail(n.poll_list, repoll);
  return work;
}
