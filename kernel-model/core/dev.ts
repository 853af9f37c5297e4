// Receive core (net/core/dev.c): the eth_type_trans stage and netif_receive_skb_list →
// __netif_receive_skb_core (skb_iif, processed++, taps, tc ingress, ptype dispatch, unknown protocol →
// rx_dropped).
import type { NetStack } from './stack';
import type { NetDevice } from './netdevice';
import type { Skb, SkbBatch } from './skb';
import type { SoftnetData } from './softnet';
import { ETH_HLEN, eth_type_trans } from './eth';

/** a protocol's receive function (packet_type.func): ip_rcv, arp_rcv, … */
export type PacketHandler = (skb: Skb, dev: NetDevice) => void;
/** a ptype_all tap (AF_PACKET ETH_P_ALL, pcap): sees received frames and transmit attempts */
export type PacketTap = (skb: Skb, dev: NetDevice, direction: 'rx' | 'tx') => void;

/**
 * A device's tc ingress hook (sch_handle_ingress with a `mirred egress redirect` action, as an ifb
 * setup installs it, sched/ifb.ts): takes the skb (data at the network header, mac_header set) and
 * keeps a copy if it wants one; the skb is then not delivered (TC_ACT_STOLEN).
 */
export type IngressHook = (skb: Skb) => void;

declare module './netdevice' {
  interface NetDevice {
    /** dev->tcx_ingress / miniq_ingress: set by dev_set_ingress, absent (undefined) on most devices */
    tc_ingress?: IngressHook | null;
  }
}

/** attach (or with null, detach) the device's ingress hook */
export function dev_set_ingress(dev: NetDevice, hook: IngressHook | null): void {
  dev.tc_ingress = hook;
}

/** struct packet_type for ptype_base */
export interface PacketType {
  readonly type: number;
  readonly func: PacketHandler;
}

const NO_TAPS: readonly PacketTap[] = [];

// ptype_base hash (include/linux/netdevice.h)
export const PTYPE_HASH_SIZE = 16;
export const PTYPE_HASH_MASK = PTYPE_HASH_SIZE - 1;

/**
 * The driver's eth_type_trans, run as the pipeline's first stage for skbs the device left unparsed
 * (mac_header < 0). A frame shorter than ETH_HLEN, or an skb pointing outside its buffer, is dropped
 * and counted as rx_length_errors (+ rx_errors), as virtio_net's receive_buf does for short frames.
 * Dropped skbs are moved past batch.count (swapped, nothing allocated).
 */
export function eth_type_trans_batch(stack: NetStack, batch: SkbBatch): SkbBatch {
  const dev = batch.dev;
  const skbs = batch.skbs;
  const n = batch.count;
  if (!dev) {
    stack.ratelimited_warn(`receive batch of ${n} without a device; dropped`);
    batch.count = 0;
    return batch;
  }
  let w = 0;
  for (let i = 0; i < n; i++) {
    const skb = skbs[i];
    if (skb.mac_header < 0) {
      if (!skb.valid || skb.len < ETH_HLEN) {
        dev.stats.rx_length_errors++;
        dev.stats.rx_errors++;
        stack.ratelimited_warn(`${dev.name}: short or malformed frame (len ${skb.len}, data ${skb.data}, buf ${skb.buf.length}); dropped`);
        continue;
      }
      skb.protocol = eth_type_trans(skb, dev);
    } else if (skb.dev === null) {
      skb.dev = dev;
    }
    if (w !== i) {
      skbs[i] = skbs[w];
      skbs[w] = skb;
    }
    w++;
  }
  batch.count = w;
  return batch;
}

/**
 * netif_receive_skb_list: every skb of the batch through __netif_receive_skb_core on the CPU running
 * the softirq. A throwing handler is a bug: it is logged and counted, and the batch goes on.
 */
export function netif_receive_skb_list(stack: NetStack, batch: SkbBatch): void {
  const sd = stack.this_cpu();
  const now = stack.scheduler.now();
  const skbs = batch.skbs;
  const n = batch.count;
  for (let i = 0; i < n; i++) __netif_receive_skb_core(stack, skbs[i], now, sd, false);
}

/**
 * __netif_receive_skb: one skb through __netif_receive_skb_core on the CPU running the softirq
 * (process_backlog's delivery of backlog skbs).
 */
export function __netif_receive_skb(stack: NetStack, skb: Skb): void {
  __netif_receive_skb_core(stack, skb, stack.scheduler.now(), stack.this_cpu(), false);
}

/**
 * netif_receive_skb for a frame an ifb re-injects after its ingress qdisc (ifb_ri_tasklet): marked
 * tc_skip_classify, so __netif_receive_skb_core skips the taps and the ingress hook this time.
 */
export function netif_receive_skb_skip_classify(stack: NetStack, skb: Skb): void {
  __netif_receive_skb_core(stack, skb, stack.scheduler.now(), stack.this_cpu(), true);
}

/** put back the offsets a handler saw the skb with, for the next one (each sees the frame as it arrived) */
function skb_restore(skb: Skb, data: number, len: number, mac: number, nh: number, th: number, proto: number, pkt_type: number): void {
  skb.data = data;
  skb.len = len;
  skb.mac_header = mac;
  skb.network_header = nh;
  skb.transport_header = th;
  skb.protocol = proto;
  skb.pkt_type = pkt_type;
}

/**
 * __netif_receive_skb_core (6.12 order, the parts we model): skb_iif, processed++, reset the
 * network header, taps (ptype_all), then ptype_base[protocol & 15] handlers whose type matches.
 * Taps count as handlers (Linux's pt_prev): only a frame nobody took increments rx_dropped.
 * Every handler sees the skb as it arrived: offsets are restored after each.
 */
function __netif_receive_skb_core(stack: NetStack, skb: Skb, now: number, sd: SoftnetData, skip_classify: boolean): void {
  const dev = skb.dev!;
  skb.skb_iif = dev.ifindex;
  sd.processed++;
  if (skb.tstamp === 0) skb.tstamp = now;
  skb.network_header = skb.data;
  if (skb.transport_header < 0) skb.transport_header = skb.data;

  const data = skb.data;
  const len = skb.len;
  const mac = skb.mac_header;
  const nh = skb.network_header;
  const th = skb.transport_header;
  const proto = skb.protocol;
  const pkt_type = skb.pkt_type;
  let delivered = false;

  // skb_skip_tc_classify: a frame back from an ifb skips the taps and the ingress hook
  const taps = skip_classify ? NO_TAPS : stack.ptype_all;
  for (let i = 0; i < taps.length; i++) {
    try {
      taps[i](skb, dev, 'rx');
    } catch (e) {
      stack.bug(`${dev.name}: tap threw on receive`, e);
    }
    skb_restore(skb, data, len, mac, nh, th, proto, pkt_type);
    delivered = true;
  }

  // sch_handle_ingress: a redirect (to an ifb) steals the frame; it comes back through
  // netif_receive_skb_skip_classify once the ifb's qdisc releases it
  const ingress = dev.tc_ingress;
  if (ingress && !skip_classify) {
    if (delivered) {
      skb_restore(skb, data, len, mac, nh, th, proto, pkt_type);
    }
    try {
      ingress(skb);
    } catch (e) {
      stack.bug(`${dev.name}: ingress hook threw`, e);
    }
    return;
  }

  const bucket = stack.ptype_base[proto & PTYPE_HASH_MASK];
  for (let i = 0; i < bucket.length; i++) {
    const pt = bucket[i];
    if (pt.type !== proto) continue;
    if (delivered) {
      skb_restore(skb, data, len, mac, nh, th, proto, pkt_type);
    }
    try {
      pt.func(skb, dev);
    } catch (e) {
      stack.bug(`${dev.name}: protocol handler for 0x${proto.toString(16).padStart(4, '0')} threw`, e);
    }
    delivered = true;
  }

  // no handler: kfree_skb_reason(UNHANDLED_PROTO) + dev_core_stats_rx_dropped_inc
  if (!delivered) dev.stats.rx_dropped++;
}
