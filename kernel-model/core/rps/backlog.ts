// The per-CPU backlog (net/core/dev.c, Linux 6.1): enqueue_to_backlog with netdev_max_backlog and the
// flow limit, the backlog NAPI's poll process_backlog, and flush_backlog for a departing device.
// Skbs on a backlog are pooled copies owned by the backlog: process_backlog frees each after
// __netif_receive_skb (receive handlers copy what they keep, see CONTRACT.md).
import type { NetStack } from '../stack';
import type { Skb } from '../skb';
import { kfree_skb } from '../skb';
import { NapiStruct, NAPIF_STATE_MISSED, NAPIF_STATE_SCHED } from '../napi';
import { NetDevice } from '../netdevice';
import { ____napi_schedule_on, net_rps_action, FLOW_LIMIT_HISTORY, NET_RX_SOFTIRQ, type SoftnetData } from '../softnet';
import { __netif_receive_skb } from '../dev';
import { skb_get_hash } from '../flow_dissector';

// netif_rx / enqueue_to_backlog return codes (include/linux/netdevice.h)
export const NET_RX_SUCCESS = 0;
export const NET_RX_DROP = 1;

/** the pseudo-device the backlog NAPIs hang on (Linux's backlog NAPI has no device) */
const backlogDevs = new WeakMap<NetStack, NetDevice>();

function backlog_dev(stack: NetStack): NetDevice {
  let dev = backlogDevs.get(stack);
  if (!dev) {
    dev = new NetDevice(stack, { ndo_start_xmit: () => 0 }, 'backlog', 0, {}, () => stack.noop_qdisc);
    dev.registered = false;
    backlogDevs.set(stack, dev);
  }
  return dev;
}

/** sd->backlog: the CPU's backlog NAPI (weight dev_rx_weight), created on first use */
export function backlog_napi(sd: SoftnetData): NapiStruct {
  let n = sd.backlog;
  if (n === null) {
    const stack = sd.stack;
    n = new NapiStruct(backlog_dev(stack), (napi, quota) => process_backlog(sd, napi, quota), stack.sysctl.dev_rx_weight, sd.cpu, 0);
    sd.backlog = n;
  }
  return n;
}

/**
 * napi_schedule_rps: schedule `sd`'s backlog NAPI. For another CPU this only queues an IPI on the
 * current CPU's rps_ipi_list and raises NET_RX here (the IPI goes out when our net_rx_action ends).
 */
function napi_schedule_rps(stack: NetStack, sd: SoftnetData, backlog: NapiStruct): void {
  const mysd = stack.this_cpu();
  if (sd !== mysd) {
    sd.rps_ipi_next = mysd.rps_ipi_list;
    mysd.rps_ipi_list = sd;
    mysd.raise_softirq(NET_RX_SOFTIRQ);
    return;
  }
  ____napi_schedule_on(mysd, backlog);
}

/**
 * skb_flow_limit (6.1): once the target queue is half full (qlen >= netdev_max_backlog / 2), the
 * *current* CPU's flow table (if it is in flow_limit_cpu_bitmap) remembers the flow buckets of the
 * last FLOW_LIMIT_HISTORY packets; a packet whose bucket then holds more than half of them is
 * dropped and counted in that CPU's flow_limit_count.
 */
export function skb_flow_limit(stack: NetStack, skb: Skb, qlen: number): boolean {
  if (qlen < stack.sysctl.netdev_max_backlog >> 1) return false;
  const fl = stack.this_cpu().flow_limit;
  if (fl === null) return false;
  const new_flow = skb_get_hash(skb, stack.rps.hashrnd) & (fl.num_buckets - 1);
  const old_flow = fl.history[fl.history_head];
  fl.history[fl.history_head] = new_flow;
  fl.history_head = (fl.history_head + 1) & (FLOW_LIMIT_HISTORY - 1);
  if (fl.buckets[old_flow]) fl.buckets[old_flow]--;
  if (++fl.buckets[new_flow] > FLOW_LIMIT_HISTORY >> 1) {
    fl.count++;
    return true;
  }
  return false;
}

/**
 * enqueue_to_backlog (6.1): queue a pooled skb (ownership passes) on `cpu`'s input_pkt_queue.
 * Accepted while qlen <= netdev_max_backlog (checked before the insert, so 1001 fit) and the flow
 * limit does not fire; the first skb of an empty queue schedules the backlog NAPI (via an IPI for
 * another CPU). The new input_queue_tail is stored in qtail[qtailIndex] (RFS's last_qtail) when
 * given. A drop (full, flow limit, or device not running) counts softnet `dropped` on the target
 * CPU and the device's rx_dropped, and frees the skb.
 */
export function enqueue_to_backlog(stack: NetStack, skb: Skb, cpu: number, qtail: Uint32Array | null, qtailIndex: number): number {
  const sd = stack.softnet[cpu];
  const dev = skb.dev;
  if (dev !== null && dev.registered) {
    const qlen = sd.input_pkt_queue.length;
    if (qlen <= stack.sysctl.netdev_max_backlog && !skb_flow_limit(stack, skb, qlen)) {
      if (qlen === 0) {
        const backlog = backlog_napi(sd);
        if (!(backlog.state & NAPIF_STATE_SCHED)) {
          backlog.state |= NAPIF_STATE_SCHED;
          napi_schedule_rps(stack, sd, backlog);
        }
      }
      sd.input_pkt_queue.push(skb);
      sd.input_queue_tail = (sd.input_queue_tail + 1) >>> 0;
      if (qtail !== null) qtail[qtailIndex] = sd.input_queue_tail;
      return NET_RX_SUCCESS;
    }
  }
  sd.dropped++;
  if (dev !== null) dev.stats.rx_dropped++;
  kfree_skb(skb);
  return NET_RX_DROP;
}

/**
 * process_backlog (6.1): the backlog NAPI's poll. Sends pending RPS IPIs first, then delivers up to
 * `quota` skbs from process_queue through __netif_receive_skb (input_queue_head++ each), splicing
 * input_pkt_queue in whenever process_queue runs dry; with both empty it completes inline (clears
 * SCHED, as Linux's "napi->state = 0").
 */
export function process_backlog(sd: SoftnetData, napi: NapiStruct, quota: number): number {
  const stack = sd.stack;
  if (sd.rps_ipi_list !== null) net_rps_action(sd);
  let work = 0;
  for (;;) {
    let skb: Skb | null;
    while ((skb = sd.process_queue.shift()) !== null) {
      __netif_receive_skb(stack, skb);
      kfree_skb(skb);
      sd.input_queue_head = (sd.input_queue_head + 1) >>> 0;
      if (++work >= quota) return work;
    }
    if (sd.input_pkt_queue.length === 0) {
      napi.state &= ~(NAPIF_STATE_SCHED | NAPIF_STATE_MISSED);
      return work;
    }
    // skb_queue_splice_tail_init(input_pkt_queue, process_queue): process_queue is empty here
    const q = sd.process_queue;
    sd.process_queue = sd.input_pkt_queue;
    sd.input_pkt_queue = q;
  }
}

/**
 * flush_backlog (unregister_netdevice): free every backlog skb of `dev` on every CPU, advancing
 * input_queue_head for each as Linux does (cold path).
 */
export function flush_backlog(stack: NetStack, dev: NetDevice): void {
  for (const sd of stack.softnet) {
    for (const q of [sd.input_pkt_queue, sd.process_queue]) {
      const n = q.length;
      for (let i = 0; i < n; i++) {
        const skb = q.shift()!;
        if (skb.dev === dev) {
          kfree_skb(skb);
          sd.input_queue_head = (sd.input_queue_head + 1) >>> 0;
        } else {
          q.push(skb);
        }
      }
    }
  }
}
