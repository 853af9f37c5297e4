// Egress core (net/core/dev.c): dev_queue_xmit → qdisc (bypass when empty) → dev_hard_start_xmit →
// validate_xmit_skb (software GSO / checksum for what the device lacks) → ndo_start_xmit, and
// dev_queue_xmit_nit for taps. The qdisc loop itself is in sch_generic.ts.
import type { NetStack } from './stack';
import type { NetDevice, NetdevQueue } from './netdevice';
import { NETDEV_TX_BUSY, NETDEV_TX_OK, NETIF_F_TSO_MANGLEID, netif_xmit_frozen_or_stopped } from './netdevice';
import { CHECKSUM_PARTIAL, kfree_skb, SKB_GSO_DODGY, SKB_GSO_TCPV4, SKB_GSO_TCPV6, SKB_GSO_UDP_L4, type Skb } from './skb';
import { can_checksum_protocol, GsoInfo, gso_parse, netif_needs_gso, skb_checksum_help, skb_gso_trim_sent, tcp_gso_build_segment } from './gso';
import { getU16 } from '../wire/bytes';
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
    const v = validate_xmit_skb(stack, skb, dev);
    let rc: number;
    if (v === VALIDATE_PASS) rc = xmit_one(stack, skb, dev, txq, more);
    else if (v === VALIDATE_SEGMENT) rc = xmit_gso_segments(stack, skb, dev, txq, more);
    else rc = NETDEV_TX_OK; // dropped and counted by validate_xmit_skb
    if (!dev_xmit_complete(rc)) return i;
    kfree_skb(skb);
    if (more && netif_xmit_frozen_or_stopped(txq)) return i + 1;
  }
  return n;
}

const VALIDATE_PASS = 0;
const VALIDATE_SEGMENT = 1;
const VALIDATE_DROP = 2;
const ETH_P_IPV6 = 0x86dd;
/** the GSO skb being segmented by validate_xmit_skb / xmit_gso_segments */
const gsoInfo = new GsoInfo();

/**
 * netif_skb_features + gso_features_check: the device's features for this skb. More segments than
 * dev.gso_max_segs → no GSO offload; an IPv4 TSO skb without DF may not keep a fixed ID
 * (NETIF_F_TSO_MANGLEID off). An untrusted (DODGY) skb needs NETIF_F_GSO_ROBUST: net_gso_ok tests
 * that with the other gso_type bits.
 */
export function netif_skb_features(skb: Skb, dev: NetDevice): number {
  let features = dev.features;
  if (skb.gso_size > 0) {
    if (skb.gso_segs > dev.gso_max_segs) features &= ~0xffff0000;
    if (skb.gso_type & SKB_GSO_TCPV4 && skb.network_header >= 0 && skb.network_header + 8 <= skb.buf.length) {
      if (!(getU16(skb.buf, skb.network_header + 6) & 0x4000)) features &= ~NETIF_F_TSO_MANGLEID;
    }
  }
  return features;
}

/**
 * validate_xmit_skb (net/core/dev.c): a GSO skb the device cannot take whole (netif_needs_gso) is
 * segmented in software — here, by xmit_gso_segments one segment at a time; a CHECKSUM_PARTIAL skb
 * for a device that cannot checksum it gets skb_checksum_help. A malformed skb is dropped and counted
 * in tx_dropped (validate_xmit_skb's out_kfree_skb path, dev_core_stats_tx_dropped_inc).
 */
export function validate_xmit_skb(stack: NetStack, skb: Skb, dev: NetDevice): number {
  const features = netif_skb_features(skb, dev);
  if (skb.gso_size > 0 && netif_needs_gso(skb, features)) {
    const why = gso_parse(skb, gsoInfo);
    if (why === '') return VALIDATE_SEGMENT;
    dev.stats.tx_dropped++;
    stack.ratelimited_warn(`${dev.name}: validate_xmit_skb: GSO skb not segmentable (${why}); dropped`);
    return VALIDATE_DROP;
  }
  if (skb.ip_summed === CHECKSUM_PARTIAL && !can_checksum_protocol(features, skb.protocol === ETH_P_IPV6)) {
    if (!skb_checksum_help(skb)) {
      dev.stats.tx_dropped++;
      stack.ratelimited_warn(`${dev.name}: validate_xmit_skb: checksum offsets outside the frame; dropped`);
      return VALIDATE_DROP;
    }
  }
  return VALIDATE_PASS;
}

/**
 * The segment list of skb_gso_segment sent as dev_hard_start_xmit sends it, built one segment at a
 * time into one reused skb (the driver copies each out). If the driver refuses a segment
 * (NETDEV_TX_BUSY) or stops its queue with segments left, the skb is trimmed to the unsent
 * segments and NETDEV_TX_BUSY returned, so the caller requeues just those (Linux requeues the rest
 * of the list). No memory for a segment → the skb is dropped (tx_dropped).
 */
function xmit_gso_segments(stack: NetStack, skb: Skb, dev: NetDevice, txq: NetdevQueue, more: boolean): number {
  const g = gsoInfo;
  const seg = stack.alloc_skb(g.hdr_len + g.mss);
  if (seg === null) {
    dev.stats.tx_dropped++;
    stack.ratelimited_warn(`${dev.name}: validate_xmit_skb: no memory to segment a ${skb.len}-byte GSO skb; dropped`);
    return NETDEV_TX_OK;
  }
  const base = seg.data;
  const offload = can_checksum_protocol(netif_skb_features(skb, dev), g.ipv6);
  const n = g.segs;
  for (let k = 0; k < n; k++) {
    seg.data = base;
    seg.len = 0;
    tcp_gso_build_segment(skb, g, k, seg, offload);
    const last = k === n - 1;
    const rc = xmit_one(stack, seg, dev, txq, more || !last);
    if (!dev_xmit_complete(rc)) {
      kfree_skb(seg);
      if (k > 0) requeue_rest(skb, g, k);
      return NETDEV_TX_BUSY;
    }
    if (!last && netif_xmit_frozen_or_stopped(txq)) {
      kfree_skb(seg);
      requeue_rest(skb, g, k + 1);
      return NETDEV_TX_BUSY;
    }
  }
  kfree_skb(seg);
  return NETDEV_TX_OK;
}

/** keep only segments k… in skb, with its qdisc length recomputed for the requeue */
function requeue_rest(skb: Skb, g: GsoInfo, k: number): void {
  skb_gso_trim_sent(skb, g, k);
  qdisc_pkt_len_init(skb);
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
