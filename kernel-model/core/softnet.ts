// Per-CPU softnet_data, the NET_TX/NET_RX softirqs and net_rx_action (net/core/dev.c,
// kernel/softirq.c). A softirq run is an action on the stack's scheduler: raising one outside a run
// schedules a single action. Inside, __do_softirq reruns handlers that were raised again at most
// MAX_SOFTIRQ_RESTART times within MAX_SOFTIRQ_TIME; then it defers to a new scheduler action (the
// ksoftirqd hand-off), so device kicks and timers interleave and nothing busy-loops.
import type { Subscription } from 'rxjs';
import type { NetStack } from './stack';
import type { NapiStruct } from './napi';
import { napi_poll } from './napi';
import type { Qdisc } from './sch_generic';
import { qdisc_run, __QDISC_STATE_SCHED } from './sch_generic';
import { ListHead, list_add_tail, list_empty, list_first_entry, list_splice_init, list_splice_tail_init, list_count } from './list';
import { SkbQueue, kfree_skb } from './skb';
import { time_after_eq, usecs_to_jiffies } from './sysctl';

// softirq numbers (include/linux/interrupt.h); lower runs first
export const NET_TX_SOFTIRQ = 2;
export const NET_RX_SOFTIRQ = 3;

/** __do_softirq's bounds (kernel/softirq.c): 10 restarts, 2 ms (msecs_to_jiffies(2): 1 jiffy at HZ=250) */
export const MAX_SOFTIRQ_RESTART = 10;
export const MAX_SOFTIRQ_TIME_MS = 2;

/** FLOW_LIMIT_HISTORY (net/core/dev.c 6.1): packets whose flow buckets skb_flow_limit remembers */
export const FLOW_LIMIT_HISTORY = 1 << 7;

/** struct sd_flow_limit: per-CPU flow limit state, present while the CPU is in flow_limit_cpu_bitmap */
export class SdFlowLimit {
  /** drops by the flow limit (softnet_stat flow_limit_count) */
  count = 0;
  history_head = 0;
  readonly history = new Uint16Array(FLOW_LIMIT_HISTORY);
  readonly buckets: Uint8Array;
  constructor(readonly num_buckets: number) {
    this.buckets = new Uint8Array(num_buckets);
  }
}

export class SoftnetData {
  // /proc/net/softnet_stat columns 1, 2, 3, 10, 11 (net/core/net-procfs.c)
  /** +1 per __netif_receive_skb_core pass */
  processed = 0;
  /** backlog and flow-limit drops (enqueue_to_backlog, on the target CPU) */
  dropped = 0;
  /** net_rx_action runs that ended with budget or time left over work ("squeezed") */
  time_squeeze = 0;
  /** RPS IPIs this CPU received (rps_trigger_softirq) */
  received_rps = 0;

  // the per-CPU backlog (enqueue_to_backlog / process_backlog, core/rps/backlog.ts)
  /** producers append here (netif_rx, RPS) */
  input_pkt_queue = new SkbQueue(64);
  /** process_backlog drains this; input_pkt_queue is spliced in when it is empty */
  process_queue = new SkbQueue(64);
  /** the backlog NAPI (sd->backlog, poll = process_backlog); created on first use */
  backlog: NapiStruct | null = null;
  /** skbs dequeued by process_backlog (or flushed), u32 wrapping: RFS's "has the old queue drained" */
  input_queue_head = 0;
  /** skbs enqueued, u32 wrapping: recorded as rps_dev_flow.last_qtail */
  input_queue_tail = 0;
  /** CPUs this CPU must send an RPS IPI to (rps_ipi_list, linked through rps_ipi_next) */
  rps_ipi_list: SoftnetData | null = null;
  rps_ipi_next: SoftnetData | null = null;
  /** flow limit state, null unless this CPU is in net.core.flow_limit_cpu_bitmap */
  flow_limit: SdFlowLimit | null = null;
  /** model counter (not in Linux): skbs RPS could not copy into a pooled skb (counted in dropped too) */
  backlog_nomem = 0;

  /** softnet_stat flow_limit_count (0 while flow limiting is off on this CPU, as Linux prints) */
  get flow_limit_count(): number {
    return this.flow_limit ? this.flow_limit.count : 0;
  }

  /** softnet_backlog_len: input_pkt_queue + process_queue */
  get backlog_len(): number {
    return this.input_pkt_queue.length + this.process_queue.length;
  }

  /** NAPIs waiting for net_rx_action, in order */
  readonly poll_list = new ListHead<NapiStruct>(null);
  /** true while net_rx_action owns this CPU's poll list (napi_schedule then does not raise) */
  in_net_rx_action = false;
  /** qdiscs waiting for net_tx_action (singly linked through Qdisc.next_sched) */
  output_queue: Qdisc | null = null;
  private output_queue_tail: Qdisc | null = null;

  /** pending softirq bits (1 << NET_*_SOFTIRQ) */
  softirq_pending = 0;
  /** inside __do_softirq: a raise only sets the bit, the restart loop sees it */
  in_softirq = false;
  private pendingRun: Subscription | null = null;
  // model counters (not in Linux): scheduler actions that ran softirqs, and runs of each handler
  softirq_runs = 0;
  net_rx_action_runs = 0;
  net_tx_action_runs = 0;

  /** net_rx_action's local `list` and `repoll`, preallocated (empty between runs) */
  readonly rx_list = new ListHead<NapiStruct>(null);
  readonly rx_repoll = new ListHead<NapiStruct>(null);
  private readonly run = (): void => this.do_softirq();

  constructor(readonly stack: NetStack, readonly cpu: number) {}

  /** raise_softirq: mark pending; outside a softirq run, schedule one unless one is scheduled */
  raise_softirq(nr: number): void {
    this.softirq_pending |= 1 << nr;
    if (!this.in_softirq && this.pendingRun === null) this.pendingRun = this.stack.scheduler.schedule(this.run, 0);
  }

  /**
   * __do_softirq: run pending handlers (TX before RX); while handlers raise again, restart up to
   * MAX_SOFTIRQ_RESTART runs within MAX_SOFTIRQ_TIME, then leave the rest to a new scheduler action.
   */
  private do_softirq(): void {
    this.pendingRun = null;
    const stack = this.stack;
    if (this.softirq_pending === 0 || stack.closed) return;
    this.softirq_runs++;
    const end = stack.jiffies() + usecs_to_jiffies(MAX_SOFTIRQ_TIME_MS * 1000, stack.sysctl.HZ);
    let max_restart = MAX_SOFTIRQ_RESTART;
    const prev = stack.running_cpu;
    stack.running_cpu = this;
    this.in_softirq = true;
    try {
      for (;;) {
        const pending = this.softirq_pending;
        this.softirq_pending = 0;
        if (pending & (1 << NET_TX_SOFTIRQ)) net_tx_action(this);
        if (pending & (1 << NET_RX_SOFTIRQ)) net_rx_action(this);
        if (this.softirq_pending === 0) break;
        if (stack.jiffies() < end && --max_restart > 0) continue;
        break; // wakeup_softirqd: the finally below schedules the rest
      }
    } catch (e) {
      stack.bug(`softirq on cpu ${this.cpu} threw`, e);
    } finally {
      this.in_softirq = false;
      stack.running_cpu = prev;
      if (this.softirq_pending !== 0 && this.pendingRun === null && !stack.closed) {
        this.pendingRun = stack.scheduler.schedule(this.run, 0);
      }
    }
  }

  /** __netif_reschedule: queue a qdisc for net_tx_action */
  netif_reschedule(q: Qdisc): void {
    q.next_sched = null;
    if (this.output_queue_tail) this.output_queue_tail.next_sched = q;
    else this.output_queue = q;
    this.output_queue_tail = q;
    this.raise_softirq(NET_TX_SOFTIRQ);
  }

  /** take the whole output queue (net_tx_action) */
  take_output_queue(): Qdisc | null {
    const head = this.output_queue;
    this.output_queue = this.output_queue_tail = null;
    return head;
  }

  /** drop all scheduled work and queued backlog skbs (stack teardown) */
  cancel(): void {
    if (this.pendingRun) this.pendingRun.unsubscribe();
    this.pendingRun = null;
    this.softirq_pending = 0;
    this.input_pkt_queue.purge(kfree_skb);
    this.process_queue.purge(kfree_skb);
    this.rps_ipi_list = null;
  }
}

/**
 * net_rx_action (net/core/dev.c, 6.12): poll the NAPIs on this CPU's poll list in order, each with
 * its weight, while budget (netdev_budget, 300) and time (netdev_budget_usecs in jiffies) last.
 * After every poll, if budget <= 0 or time is up, time_squeeze++ and stop — even when no work is
 * left. NAPIs that used their whole weight go to the repoll list; at the end the order is: the
 * unpolled rest, NAPIs scheduled meanwhile, then the repoll list; if any, NET_RX is raised again.
 */
export function net_rx_action(sd: SoftnetData): void {
  const stack = sd.stack;
  const sysctl = stack.sysctl;
  const time_limit = stack.jiffies() + usecs_to_jiffies(sysctl.netdev_budget_usecs, sysctl.HZ);
  let budget = sysctl.netdev_budget;
  const list = sd.rx_list;
  const repoll = sd.rx_repoll;
  sd.net_rx_action_runs++;

  for (;;) {
    // start:
    sd.in_net_rx_action = true;
    list_splice_init(sd.poll_list, list);
    let squeezed_or_repoll = false;
    for (;;) {
      if (list_empty(list)) {
        if (list_empty(repoll)) {
          sd.in_net_rx_action = false;
          break; // maybe restart below when napi_schedule refilled poll_list meanwhile
        }
        squeezed_or_repoll = true;
        break;
      }
      const n = list_first_entry(list);
      budget -= napi_poll(n, repoll);
      if (budget <= 0 || time_after_eq(stack.jiffies(), time_limit)) {
        sd.time_squeeze++;
        squeezed_or_repoll = true;
        break;
      }
    }
    if (squeezed_or_repoll) break;
    // list and repoll are empty: restart if NAPIs were scheduled while we ran, else done
    if (!list_empty(sd.poll_list)) continue;
    net_rps_action(sd);
    return;
  }

  list_splice_tail_init(sd.poll_list, list);
  list_splice_tail_init(repoll, list);
  list_splice_init(list, sd.poll_list);
  if (!list_empty(sd.poll_list)) sd.raise_softirq(NET_RX_SOFTIRQ);
  else sd.in_net_rx_action = false;
  net_rps_action(sd);
}

/**
 * ____napi_schedule on a given CPU: append the NAPI to that CPU's poll list and raise NET_RX there,
 * unless its net_rx_action is running (it re-reads the poll list). Used for the backlog NAPI, which
 * is always scheduled on its own CPU.
 */
export function ____napi_schedule_on(sd: SoftnetData, n: NapiStruct): void {
  list_add_tail(n.poll_list, sd.poll_list);
  n.list_owner = sd.cpu;
  if (!sd.in_net_rx_action) sd.raise_softirq(NET_RX_SOFTIRQ);
}

/**
 * net_rps_action_and_irq_enable + net_rps_send_ipi (net/core/dev.c): send the RPS IPIs this CPU
 * owes, at the end of net_rx_action or at the start of process_backlog. Each target runs
 * rps_trigger_softirq: its backlog NAPI goes on its poll list (NET_RX raised there, a scheduler
 * action of its own) and received_rps++.
 */
export function net_rps_action(sd: SoftnetData): void {
  let remsd = sd.rps_ipi_list;
  if (remsd === null) return;
  sd.rps_ipi_list = null;
  while (remsd !== null) {
    const next: SoftnetData | null = remsd.rps_ipi_next;
    remsd.rps_ipi_next = null;
    if (remsd.backlog !== null) {
      ____napi_schedule_on(remsd, remsd.backlog);
      remsd.received_rps++;
    }
    remsd = next;
  }
}

/**
 * net_tx_action (net/core/dev.c): run every qdisc that __netif_schedule queued (completion_queue is
 * not needed: transmitted skbs are freed at once).
 */
export function net_tx_action(sd: SoftnetData): void {
  sd.net_tx_action_runs++;
  let q = sd.take_output_queue();
  while (q) {
    const next = q.next_sched;
    q.next_sched = null;
    q.state &= ~__QDISC_STATE_SCHED;
    qdisc_run(q);
    q = next;
  }
}

/**
 * /proc/net/softnet_stat: one line per CPU, hex columns as the profile's kernel prints them
 * (net/core/net-procfs.c): 13 in 6.1 (… backlog_len, cpu index), 15 in 6.12 (+ input_qlen, process_qlen)
 */
export function softnet_seq_show(stack: NetStack): string {
  const hex = (v: number): string => (v >>> 0).toString(16).padStart(8, '0');
  const n = stack.mib.layout.softnet_stat_columns;
  return stack.softnet
    .map((sd) => {
      const cols = [sd.processed, sd.dropped, sd.time_squeeze, 0, 0, 0, 0, 0, 0, sd.received_rps, sd.flow_limit_count,
        sd.backlog_len, sd.cpu, sd.input_pkt_queue.length, sd.process_queue.length];
      return cols.slice(0, n).map(hex).join(' ');
    })
    .join('\n') + '\n';
}

/** NAPIs waiting on a CPU (introspection) */
export function softnet_poll_list_len(sd: SoftnetData): number {
  return list_count(sd.poll_list);
}
