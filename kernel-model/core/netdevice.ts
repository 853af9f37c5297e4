// struct net_device and its tx queues (include/linux/netdevice.h, net/core/dev.c,
// net/sched/sch_generic.c for carrier). A device driver (devices/*) implements NetDeviceOps and
// owns a NetDevice from NetStack.register_netdev.
import type { NetStack } from './stack';
import type { Skb } from './skb';
import { NapiStruct, NAPI_POLL_WEIGHT, napi_disable, type NapiPoll } from './napi';
import type { Qdisc } from './sch_generic';
import { dev_activate, dev_deactivate, __netif_schedule } from './sch_generic';
import { DEFAULT_GATEWAY_MAC, ETH_DATA_LEN, format_mac } from './eth';
import { Dql } from './dql';

/** ndo_start_xmit return codes (include/linux/netdevice.h, netdev_tx_t) */
export const NETDEV_TX_OK = 0x00;
export const NETDEV_TX_BUSY = 0x10;

// netdev_features_t bits (include/linux/netdev_features.h, NETIF_F_*_BIT). The GSO bits sit at
// NETIF_F_GSO_SHIFT (16) + the SKB_GSO_* bit, so `gso_type << 16` tests them (net_gso_ok).
export const NETIF_F_SG = 1 << 0;
export const NETIF_F_IP_CSUM = 1 << 1;
export const NETIF_F_HW_CSUM = 1 << 3;
export const NETIF_F_IPV6_CSUM = 1 << 4;
/** software GSO (NETIF_F_GSO_BIT 11): on for every device (NETIF_F_SOFT_FEATURES) */
export const NETIF_F_GSO = 1 << 11;
export const NETIF_F_GRO = 1 << 14;
export const NETIF_F_GSO_SHIFT = 16;
export const NETIF_F_TSO = 1 << 16;
/** SKB_GSO_DODGY: the device re-validates gso_segs of untrusted GSO skbs */
export const NETIF_F_GSO_ROBUST = 1 << 17;
export const NETIF_F_TSO_ECN = 1 << 18;
/** SKB_GSO_TCP_FIXEDID: may keep the IPv4 ID fixed across segments */
export const NETIF_F_TSO_MANGLEID = 1 << 19;
export const NETIF_F_TSO6 = 1 << 20;
/** NETIF_F_ALL_TSO */
export const NETIF_F_ALL_TSO = NETIF_F_TSO | NETIF_F_TSO6 | NETIF_F_TSO_ECN | NETIF_F_TSO_MANGLEID;
/** NETIF_F_GSO_SOFTWARE (the TCP part; UDP_L4 is bit 33, beyond these 32-bit masks) */
export const NETIF_F_GSO_SOFTWARE = NETIF_F_ALL_TSO;
/** NETIF_F_SOFT_FEATURES: what register_netdevice turns on for every device */
export const NETIF_F_SOFT_FEATURES = NETIF_F_GSO | NETIF_F_GRO;
/** GSO_LEGACY_MAX_SIZE (include/linux/netdevice.h): default dev->gso_max_size */
export const GSO_LEGACY_MAX_SIZE = 65536;
/** GSO_MAX_SEGS: default dev->gso_max_segs */
export const GSO_MAX_SEGS = 65535;

/** txqueuelen default (DEFAULT_TX_QUEUE_LEN, ether_setup) */
export const DEFAULT_TX_QUEUE_LEN = 1000;

/** netdev_queue state bits (include/linux/netdevice.h) */
export const __QUEUE_STATE_DRV_XOFF = 1 << 0;
export const __QUEUE_STATE_STACK_XOFF = 1 << 1;
export const __QUEUE_STATE_FROZEN = 1 << 2;
const QUEUE_STATE_ANY_XOFF_OR_FROZEN = __QUEUE_STATE_DRV_XOFF | __QUEUE_STATE_STACK_XOFF | __QUEUE_STATE_FROZEN;

/** What a device implements (struct net_device_ops, the part the core calls). */
export interface NetDeviceOps {
  /**
   * Transmit one frame (skb.data .. skb.data+skb.len, starting at the Ethernet header).
   * NETDEV_TX_OK: consumed (copied out); the core frees the skb after return.
   * NETDEV_TX_BUSY: no room; the core requeues it at the head of the qdisc and stops the queue
   * (if the device did not) until the device calls netif_wake_queue.
   * `more` is xmit_more: another frame follows right away; when false, or when the device stops
   * its queue, publish and notify (virtio_net start_xmit's rule).
   */
  ndo_start_xmit(skb: Skb, more: boolean): number;
}

export interface NetDeviceOptions {
  mac?: Uint8Array;
  mtu?: number;
  txQueues?: number;
  rxQueues?: number;
  /** txqueuelen (default 1000): the pfifo limit */
  txQueueLen?: number;
}

/** struct rtnl_link_stats64 (include/uapi/linux/if_link.h): what `ip -s link` shows */
export class RtnlLinkStats64 {
  rx_packets = 0;
  tx_packets = 0;
  rx_bytes = 0;
  tx_bytes = 0;
  /** must include the rx_*_errors below */
  rx_errors = 0;
  tx_errors = 0;
  /** includes the core's unknown-protocol drops (dev_core_stats_rx_dropped_inc) */
  rx_dropped = 0;
  /** includes the core's drops while the link is down (noop qdisc) */
  tx_dropped = 0;
  multicast = 0;
  collisions = 0;
  rx_length_errors = 0;
  rx_over_errors = 0;
  rx_crc_errors = 0;
  rx_frame_errors = 0;
  rx_fifo_errors = 0;
  rx_missed_errors = 0;
  tx_aborted_errors = 0;
  tx_carrier_errors = 0;
  tx_fifo_errors = 0;
  tx_heartbeat_errors = 0;
  tx_window_errors = 0;
  rx_compressed = 0;
  tx_compressed = 0;
  rx_nohandler = 0;
  rx_otherhost_dropped = 0;
}

/** struct netdev_queue: one tx queue with its qdisc */
export class NetdevQueue {
  /** __QUEUE_STATE_* bits */
  state = 0;
  /** the qdisc dev_queue_xmit uses: the configured one, or the stack's noop qdisc while deactivated */
  qdisc: Qdisc;
  /** the configured qdisc (kept while deactivated so its stats survive, as Linux's qdisc_sleeping) */
  qdisc_sleeping: Qdisc;
  /** scheduler time of the last successful transmit (txq_trans_update) */
  trans_start = 0;
  /**
   * BQL (CONFIG_BQL): the byte limit of this queue, fed by a driver that reports what it queued
   * (netdev_tx_sent_queue) and completed (netdev_tx_completed_queue). A driver that reports nothing
   * leaves it at limit 0 / avail 0, which (as in Linux) also means no bulk dequeue.
   * hold_time = HZ jiffies (netdev_init_one_queue: dql_init(&queue->dql, HZ)).
   */
  readonly dql: Dql;

  constructor(readonly dev: NetDevice, readonly index: number, qdisc: Qdisc) {
    this.qdisc = qdisc;
    this.qdisc_sleeping = qdisc;
    qdisc.dev_queue = this;
    this.dql = new Dql(dev.stack.sysctl.HZ, dev.stack.jiffies());
  }
}

/** netif_xmit_frozen_or_stopped */
export function netif_xmit_frozen_or_stopped(txq: NetdevQueue): boolean {
  return (txq.state & QUEUE_STATE_ANY_XOFF_OR_FROZEN) !== 0;
}

/** netif_xmit_stopped: the driver (DRV_XOFF) or BQL (STACK_XOFF) stopped the queue */
export function netif_xmit_stopped(txq: NetdevQueue): boolean {
  return (txq.state & (__QUEUE_STATE_DRV_XOFF | __QUEUE_STATE_STACK_XOFF)) !== 0;
}

/**
 * netdev_tx_sent_queue (include/linux/netdevice.h): the driver queued `bytes` to its hardware.
 * Over the BQL limit (dql_avail < 0) the stack stops the queue (STACK_XOFF) until completions
 * bring it back under.
 */
export function netdev_tx_sent_queue(txq: NetdevQueue, bytes: number): void {
  const dql = txq.dql;
  dql.queued(bytes);
  if (dql.avail() >= 0) return;
  txq.state |= __QUEUE_STATE_STACK_XOFF;
}

/**
 * __netdev_tx_sent_queue: the xmit_more form. With more frames coming only account the bytes and
 * return whether the driver stopped the queue; otherwise netdev_tx_sent_queue and return true.
 * The result is "kick the hardware now" (virtio_net's start_xmit uses it so).
 */
export function __netdev_tx_sent_queue(txq: NetdevQueue, bytes: number, xmit_more: boolean): boolean {
  if (xmit_more) {
    txq.dql.queued(bytes);
    return (txq.state & __QUEUE_STATE_DRV_XOFF) !== 0;
  }
  netdev_tx_sent_queue(txq, bytes);
  return true;
}

/**
 * netdev_tx_completed_queue: the hardware finished `pkts` frames of `bytes`. The limit is
 * recomputed (dql_completed); if the queue is under it again and BQL had stopped it, STACK_XOFF is
 * cleared and the qdisc rescheduled (netif_schedule_queue) unless the driver stopped it too.
 */
export function netdev_tx_completed_queue(txq: NetdevQueue, _pkts: number, bytes: number): void {
  if (!bytes) return;
  const dql = txq.dql;
  dql.completed(bytes, txq.dev.stack.jiffies());
  if (dql.avail() < 0) return;
  if (txq.state & __QUEUE_STATE_STACK_XOFF) {
    txq.state &= ~__QUEUE_STATE_STACK_XOFF;
    if (!netif_xmit_stopped(txq)) __netif_schedule(txq.qdisc);
  }
}

/** netdev_tx_reset_queue: the driver dropped its ring (reset, stop): clear STACK_XOFF, dql_reset */
export function netdev_tx_reset_queue(txq: NetdevQueue): void {
  txq.state &= ~__QUEUE_STATE_STACK_XOFF;
  txq.dql.reset(txq.dev.stack.jiffies());
}

export class NetDevice {
  readonly dev_addr: Uint8Array;
  readonly broadcast = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
  mtu: number;
  /** txqueuelen */
  tx_queue_len: number;
  readonly stats = new RtnlLinkStats64();
  /** one NAPI per rx queue the driver polls (netif_napi_add order) */
  readonly napi: NapiStruct[] = [];
  readonly num_rx_queues: number;
  /** tx queues (netdev_get_tx_queue) */
  readonly _tx: NetdevQueue[] = [];
  /** /sys/class/net/<dev>/gro_flush_timeout in ns (napi_complete_done); default 0 */
  gro_flush_timeout = 0;
  /** /sys/class/net/<dev>/napi_defer_hard_irqs; default 0 */
  napi_defer_hard_irqs = 0;
  /**
   * dev->features (NETIF_F_*): what the device does for us. A plain device has only the software
   * features (GSO, GRO); a driver adds checksum and TSO offloads as its peer negotiates them
   * (virtio-net: from the guest's GUEST_CSUM / GUEST_TSO4 / GUEST_TSO6, as tun.c set_offload).
   * validate_xmit_skb segments and checksums in software what the device lacks.
   */
  features = NETIF_F_SOFT_FEATURES;
  /** dev->gso_max_size / gso_max_segs (`ip link set dev X gso_max_size N`) */
  gso_max_size = GSO_LEGACY_MAX_SIZE;
  gso_max_segs = GSO_MAX_SEGS;
  /** false after unregister_netdev */
  registered = true;
  private carrier = true;

  constructor(
    readonly stack: NetStack,
    readonly netdev_ops: NetDeviceOps,
    readonly name: string,
    readonly ifindex: number,
    opts: NetDeviceOptions,
    makeQdisc: (limit: number) => Qdisc,
  ) {
    this.dev_addr = new Uint8Array(6);
    this.dev_addr.set((opts.mac ?? DEFAULT_GATEWAY_MAC).subarray(0, 6));
    this.mtu = opts.mtu ?? ETH_DATA_LEN;
    this.tx_queue_len = opts.txQueueLen ?? DEFAULT_TX_QUEUE_LEN;
    this.num_rx_queues = Math.max(1, opts.rxQueues ?? 1);
    // a single-queue device gets one root qdisc; a multiqueue one gets mq with a child per txq
    // (attach_default_qdiscs, sch_generic.c) — here: one pfifo per txq
    const ntx = Math.max(1, opts.txQueues ?? 1);
    for (let i = 0; i < ntx; i++) this._tx.push(new NetdevQueue(this, i, makeQdisc(this.tx_queue_len)));
  }

  get num_tx_queues(): number {
    return this._tx.length;
  }

  /** the root qdisc of tx queue 0 (what `tc -s qdisc show dev eth0` reports for a single-queue device) */
  get qdisc(): Qdisc {
    return this._tx[0].qdisc_sleeping;
  }

  netdev_get_tx_queue(i: number): NetdevQueue {
    return this._tx[i];
  }

  /**
   * netif_napi_add + napi_enable: a NAPI for one rx queue, ready for napi_schedule. Weights above
   * NAPI_POLL_WEIGHT are allowed but warned about, as netif_napi_add_weight does.
   */
  netif_napi_add(poll: NapiPoll, weight = NAPI_POLL_WEIGHT): NapiStruct {
    if (!(weight >= 1)) weight = NAPI_POLL_WEIGHT;
    if (weight > NAPI_POLL_WEIGHT) {
      this.stack.log.warn(`${this.name}: netif_napi_add() called with weight ${weight}`);
    }
    const napi = new NapiStruct(this, poll, weight, this.napi.length, this.stack.next_napi_id++);
    this.napi.push(napi);
    return napi;
  }

  /** netif_napi_del (after napi_disable) */
  netif_napi_del(napi: NapiStruct): void {
    napi_disable(napi);
    const i = this.napi.indexOf(napi);
    if (i >= 0) this.napi.splice(i, 1);
  }

  /** netif_tx_stop_queue: the driver has no room; dev_queue_xmit queues in the qdisc meanwhile */
  netif_stop_queue(q = 0): void {
    const txq = this._tx[q];
    if (txq) txq.state |= __QUEUE_STATE_DRV_XOFF;
  }

  /** netif_tx_start_queue: clear the stop bit without kicking the qdisc */
  netif_start_queue(q = 0): void {
    const txq = this._tx[q];
    if (txq) txq.state &= ~__QUEUE_STATE_DRV_XOFF;
  }

  /**
   * netif_tx_wake_queue: clear the stop bit and, if it was set, reschedule the qdisc through
   * NET_TX_SOFTIRQ (on the scheduler), which transmits what queued up meanwhile.
   */
  netif_wake_queue(q = 0): void {
    const txq = this._tx[q];
    if (!txq || !(txq.state & __QUEUE_STATE_DRV_XOFF)) return;
    txq.state &= ~__QUEUE_STATE_DRV_XOFF;
    __netif_schedule(txq.qdisc);
  }

  netif_tx_queue_stopped(q = 0): boolean {
    const txq = this._tx[q];
    return txq ? (txq.state & __QUEUE_STATE_DRV_XOFF) !== 0 : true;
  }

  netif_carrier_ok(): boolean {
    return this.carrier;
  }

  /**
   * netif_carrier_on: link up. Linux runs dev_activate from linkwatch (net/core/link_watch.c
   * linkwatch_do_dev), restoring the configured qdiscs; here it happens at once.
   */
  netif_carrier_on(): void {
    if (this.carrier || !this.registered) return;
    this.carrier = true;
    dev_activate(this);
  }

  /**
   * netif_carrier_off: link down. linkwatch runs dev_deactivate: every txq gets the noop qdisc
   * (whose enqueue drops and, since 6.11, counts tx_dropped) and the configured qdiscs are reset,
   * freeing what they held. Linux may delay linkwatch up to 1 s; here it happens at once.
   */
  netif_carrier_off(): void {
    if (!this.carrier) return;
    this.carrier = false;
    dev_deactivate(this);
  }

  /** dev_sw_netstats_rx_add: the driver counts each frame it hands up (rx_packets, rx_bytes) */
  dev_sw_netstats_rx_add(len: number): void {
    this.stats.rx_packets++;
    this.stats.rx_bytes += len;
  }

  /** dev_sw_netstats_tx_add: the driver counts what it transmitted (tx_packets, tx_bytes) */
  dev_sw_netstats_tx_add(packets: number, len: number): void {
    this.stats.tx_packets += packets;
    this.stats.tx_bytes += len;
  }

  toString(): string {
    return `${this.name} (ifindex ${this.ifindex}, ${format_mac(this.dev_addr)})`;
  }
}
