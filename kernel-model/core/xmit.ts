// Egress core (net/core/dev.c): dev_queue_xmit → qdisc (bypass when empty) → dev_hard_start_xmit →
// ndo_start_xmit, and dev_queue_xmit_nit for taps. The qdisc loop itself is in sch_generic.ts.
import type { NetStack } from './stack';
import type { NetDevice, NetdevQueue } from './netdevice';
import { NETDEV_TX_OK, netif_xmit_frozen_or_stopped } from './netdevice';
import { kfree_skb, SKB_GSO_DODGY, SKB_GSO_TCPV4, SKB_GSO_TCPV6, SKB_GSO_UDP_L4, type Skb } from './skb';
import { __qdisc_run, qdisc_bstats_update, qdisc_run_begin, qdisc_run_end, sch_direct_xmit, TCQ_F_CAN_BYPASS, __QDISC_STATE_DEACTIVATED, type Qdisc } from './sch_generic';

// dev_queue_xmit results (include/linux/netdevice.h)
export const NET_XMIT_SUCCESS = 0x00;
/** the skb was dropped */
export const NET_XMIT_DROP = 0x01;
/** congestion notification: dropped by the qdisc (noop qdisc while the link is down) */
export const NET_XMIT_CN = 0x02;
export const NET_XMIT_MASK = 0x0f;

/** net_xmit_eval: callers treat NET_XMIT_CN as success (the skb was "sent" as far as they know) */
export function net_xmit_eval(e: number): number {
  return e === NET_XMIT_CN ? 0 : e;
}

/** dev_xmit_complete: the driver consumed the skb (anything but NETDEV_TX_BUSY) */
export function dev_xmit_complete(rc: number): boolean {
  return rc < NET_XMIT_MASK;
}

/**
 * qdisc_pkt_len_init: bytes the qdisc accounts — skb.len, plus for GSO skbs the L2-L4 headers of
 * every extra segment (hdr_len = transport offset + TCP header length or 8 for UDP_L4). SKB_GSO_DODGY
 * skbs recompute gso_segs from the payload. Reads stay inside the skb.
 */
export function qdisc_pkt_len_init(skb: Skb): void {
  skb.pkt_len = skb.len;
  if (skb.gso_size <= 0 || skb.transport_header < 0) return;
  let gso_segs = skb.gso_segs;
  let hdr_len = skb.transport_header - skb.data;
  if (hdr_len < 0 || hdr_len > skb.len) return;
  if (skb.gso_type & (SKB_GSO_TCPV4 | SKB_GSO_TCPV6)) {
    const off = skb.transport_header + 12; // doff in the high nibble
    if (hdr_len + 20 <= skb.len) hdr_len += (skb.buf[off] >> 4) * 4;
  } else if (skb.gso_type & SKB_GSO_UDP_L4) {
    if (hdr_len + 8 <= skb.len) hdr_len += 8;
  }
  if (skb.gso_type & SKB_GSO_DODGY) {
    const payload = skb.len - hdr_len;
    if (payload <= 0) return;
    gso_segs = Math.ceil(payload / skb.gso_size);
  }
  if (gso_segs > 1) skb.pkt_len += (gso_segs - 1) * hdr_len;
}

/**
 * netdev_core_pick_tx / skb_tx_hash: one txq → 0; several → reciprocal_scale(skb.hash, n)
 * (the flow dissector is not modelled: skbs without a hash use queue 0).
 */
export function netdev_core_pick_tx(dev: NetDevice, skb: Skb): NetdevQueue {
  const n = dev._tx.length;
  const i = n === 1 ? 0 : Math.floor(((skb.hash >>> 0) * n) / 4294967296);
  skb.queue_mapping = i;
  return dev._tx[i];
}

/**
 * dev_queue_xmit (__dev_queue_xmit): transmit skb on skb.dev. The skb is consumed in every case
 * (sent and freed, queued, or dropped and freed). An skb not from a pool (one that views guest
 * memory) is copied first, since the qdisc may keep it past its batch.
 * Returns NET_XMIT_SUCCESS, NET_XMIT_DROP (qdisc full, or a bad skb: tx_dropped) or NET_XMIT_CN
 * (link down: noop qdisc, tx_dropped).
 */
export function dev_queue_xmit(stack: NetStack, skb: Skb): number {
  const dev = skb.dev;
  if (!dev || dev.stack !== stack || !dev.registered) {
    stack.ratelimited_warn(`dev_queue_xmit: skb has no registered device of this stack; dropped`);
    kfree_skb(skb);
    return NET_XMIT_DROP;
  }
  // validate_xmit_skb's failure path counts tx_dropped (dev_core_stats_tx_dropped_inc)
  if (!skb.valid || skb.len === 0) {
    dev.stats.tx_dropped++;
    stack.ratelimited_warn(`${dev.name}: dev_queue_xmit: malformed skb (data ${skb.data}, len ${skb.len}, buf ${skb.buf.length}); dropped`);
    kfree_skb(skb);
    return NET_XMIT_DROP;
  }
  if (skb.pool === null) {
    const copy = stack.skb_copy(skb);
    if (!copy) {
      dev.stats.tx_dropped++;
      stack.ratelimited_warn(`${dev.name}: dev_queue_xmit: no skb to copy a ${skb.len}-byte frame into; dropped`);
      return NET_XMIT_DROP;
    }
    skb = copy;
  }
  skb.mac_header = skb.data;
  qdisc_pkt_len_init(skb);
  const txq = netdev_core_pick_tx(dev, skb);
  return __dev_xmit_skb(skb, txq.qdisc, dev, txq);
}

/**
 * __dev_xmit_skb: a bypass-capable qdisc that is empty and idle sends at once (counted in bstats,
 * never enqueued); otherwise enqueue and run the qdisc if nobody is running it.
 */
function __dev_xmit_skb(skb: Skb, q: Qdisc, dev: NetDevice, txq: NetdevQueue): number {
  if (q.state & __QDISC_STATE_DEACTIVATED) {
    kfree_skb(skb);
    return NET_XMIT_DROP;
  }
  if (q.flags & TCQ_F_CAN_BYPASS && q.qlen === 0 && qdisc_run_begin(q)) {
    qdisc_bstats_update(q, skb);
    const one = q.bulk;
    one[0] = skb;
    if (sch_direct_xmit(q, dev, txq, one, 1)) __qdisc_run(q);
    qdisc_run_end(q);
    return NET_XMIT_SUCCESS;
  }
  // dev_qdisc_enqueue masks the qdisc-internal bits (__NET_XMIT_BYPASS of netem's loss, …)
  const rc = q.enqueue(skb) & NET_XMIT_MASK;
  if (qdisc_run_begin(q)) {
    __qdisc_run(q);
    qdisc_run_end(q);
  }
  return rc;
}

/**
 * dev_hard_start_xmit: xmit_one each skb with more = "another follows"; a non-BUSY answer consumes
 * the skb (freed here). Stops at NETDEV_TX_BUSY, or when the driver stopped the queue with skbs
 * left. Returns how many were consumed; the caller requeues the rest.
 */
export function dev_hard_start_xmit(stack: NetStack, skbs: Skb[], n: number, dev: NetDevice, txq: NetdevQueue): number {
  for (let i = 0; i < n; i++) {
    const skb = skbs[i];
    const more = i + 1 < n;
    const rc = xmit_one(stack, skb, dev, txq, more);
    if (!dev_xmit_complete(rc)) return i;
    kfree_skb(skb);
    if (more && netif_xmit_frozen_or_stopped(txq)) return i + 1;
  }
  return n;
}

/** xmit_one: taps see the frame (dev_queue_xmit_nit), then the driver */
function xmit_one(stack: NetStack, skb: Skb, dev: NetDevice, txq: NetdevQueue, more: boolean): number {
  if (stack.ptype_all.length !== 0) dev_queue_xmit_nit(stack, skb, dev);
  let rc: number;
  try {
    rc = dev.netdev_ops.ndo_start_xmit(skb, more);
  } catch (e) {
    stack.bug(`${dev.name}: ndo_start_xmit threw`, e);
    dev.stats.tx_dropped++;
    return NETDEV_TX_OK;
  }
  if (rc === NETDEV_TX_OK) txq.trans_start = stack.scheduler.now();
  return rc;
}

/**
 * dev_queue_xmit_nit: every tap sees each transmit attempt (Linux calls it per xmit_one, so a frame
 * refused with NETDEV_TX_BUSY is seen again when retried). Taps must not change the skb; its
 * offsets are restored after each.
 */
export function dev_queue_xmit_nit(stack: NetStack, skb: Skb, dev: NetDevice): void {
  const taps = stack.ptype_all;
  if (skb.tstamp === 0) skb.tstamp = stack.scheduler.now();
  const data = skb.data;
  const len = skb.len;
  for (let i = 0; i < taps.length; i++) {
    try {
      taps[i](skb, dev, 'tx');
    } catch (e) {
      stack.bug(`${dev.name}: tap threw on transmit`, e);
    }
    skb.data = data;
    skb.len = len;
  }
}
