// dev_gro_receive and the flush side of net/core/gro.c (Linux 6.1): gro_list_prepare, napi_gro_complete,
// gro_flush_oldest, napi_gro_flush, gro_normal_one/gro_normal_list, flush_gro_hash.
import { CHECKSUM_UNNECESSARY, kfree_skb, SKB_GSO_DODGY, SKB_GSO_TCPV4, SKB_GSO_TCPV6, type Skb } from '../skb';
import { ETH_HLEN, ETH_P_IP, ETH_P_IPV6 } from '../eth';
import {
  GRO_HASH_BUCKETS,
  GRO_HELD,
  GRO_MERGED_FREE,
  GRO_NORMAL,
  MAX_GRO_SKBS,
  OWN_POOL,
  OWN_VIEW,
  type GroCb,
  type GroList,
} from './gro_cb';
import { gro_copy_skb } from './skb_gro_receive';
import { getU16, getU32 } from '../../wire/bytes';
import { inet_gro_complete, inet_gro_receive } from './inet_offload';
import { ipv6_gro_complete, ipv6_gro_receive } from './ip6_offload';
import type { NapiGro } from './napi_gro';

/**
 * gro_list_prepare: for every held skb of the bucket, clear flush and decide same_flow at L2: same
 * raw hash, same device and the same 14-byte Ethernet header (compare_ether_header). VLAN tags and
 * the slow_gro metadata (dst, sk, conntrack, tc chain) are not modelled.
 */
function gro_list_prepare(list: GroList, skb: Skb, cb: GroCb): void {
  const e = list.entries;
  const hash = cb.hash;
  const dev = skb.dev;
  const m0 = cb.mac0;
  const m1 = cb.mac1;
  const m2 = cb.mac2;
  const m3 = cb.mac3;
  for (let i = 0; i < list.count; i++) {
    const p = e[i]!;
    p.flush = 0;
    p.same_flow =
      p.hash === hash && p.skb.dev === dev && p.mac0 === m0 && p.mac1 === m1 && p.mac2 === m2 && p.mac3 === m3 ? 1 : 0;
  }
}

/** gro_normal_one: queue an skb for netif_receive_skb_list */
export function gro_normal_one(g: NapiGro, skb: Skb, segs: number, owned: number): void {
  if (!g.push(skb, owned)) {
    gro_normal_list(g);
    if (!g.push(skb, owned)) {
      // only when a flush runs inside the pipeline's own delivery (rx_list busy): cannot happen today
      g.stats.dropped++;
      if (owned === OWN_POOL) kfree_skb(skb);
      g.stack.ratelimited_warn(`${g.napi.dev.name}: GRO rx_list full during delivery; skb dropped`);
      return;
    }
  }
  // Linux hands rx_list up as soon as rx_count >= gro_normal_batch (8); we deliver at the end of the
  // batch and of each flush instead: the order is the same (nothing else runs in between).
  g.rx_count += segs;
}

/**
 * gro_normal_list: hand rx_list to the rest of the receive pipeline (RPS → netif_receive_skb_list),
 * then free the pooled skbs GRO built: like skbs viewing device memory, they are valid only until
 * the pipeline returns (whoever keeps one copies it).
 */
export function gro_normal_list(g: NapiGro): void {
  const l = g.rx_list;
  if (l.count === 0 || g.emitting) return;
  const emit = g.emit;
  l.dev = g.napi.dev;
  l.napi = g.napi;
  g.emitting = true;
  try {
    if (emit) emit(l);
  } catch (e) {
    g.stack.bug(`${g.napi.dev.name}: receive pipeline threw after GRO`, e);
  } finally {
    g.emitting = false;
    const free = g.rx_free;
    for (let i = 0; i < g.rx_free_count; i++) kfree_skb(free[i]);
    g.rx_free_count = 0;
    l.count = 0;
    g.rx_count = 0;
  }
}

/**
 * napi_gro_complete: a single-segment skb goes up as it came (gso_size reset); a merged one gets
 * its headers finished by inet_gro_complete / ipv6_gro_complete (→ tcp4/6_gro_complete).
 */
function napi_gro_complete(g: NapiGro, p: GroCb): void {
  const skb = p.skb;
  g.stats.completed++;
  if (p.count === 1) {
    skb.gso_size = 0;
  } else {
    g.stats.aggregates++;
    if (skb.protocol === ETH_P_IP) inet_gro_complete(p);
    else ipv6_gro_complete(p);
  }
  gro_normal_one(g, skb, p.count, p.own);
  g.put(p);
}

function update_bitmask(g: NapiGro, bucket: number, list: GroList): void {
  if (list.count) g.napi.gro_bitmask |= 1 << bucket;
  else g.napi.gro_bitmask &= ~(1 << bucket);
}

/**
 * dev_gro_receive + napi_skb_finish for one skb (skb.data at the network header, mac_header set).
 * Returns the gro_result.
 */
export function dev_gro_receive(g: NapiGro, skb: Skb, jiffies: number): number {
  g.stats.receive++;
  const hash = skb.hash >>> 0; // skb_get_hash_raw: 0 unless the device supplied one
  const bucket = hash & (GRO_HASH_BUCKETS - 1);
  const list = g.gro_hash[bucket];
  const proto = skb.protocol;
  let ret = GRO_NORMAL;

  if (skb.mac_header >= 0 && skb.data - skb.mac_header === ETH_HLEN && (proto === ETH_P_IP || proto === ETH_P_IPV6)) {
    const cb = g.scratch;
    cb.reset(skb);
    cb.hash = hash;
    const b = skb.buf;
    const m = skb.mac_header;
    cb.mac0 = getU32(b, m);
    cb.mac1 = getU32(b, m + 4);
    cb.mac2 = getU32(b, m + 8);
    cb.mac3 = getU16(b, m + 12);
    gro_list_prepare(list, skb, cb);
    skb.network_header = skb.data;
    if (skb.gso_size !== 0) {
      cb.count = skb.gso_segs;
      // only TCP, and not from an untrusted source (SKB_GSO_DODGY: a guest's TSO frame; "gro: take
      // care of DODGY packets", Jan 2023, in 6.1.y stable)
      if (!(skb.gso_type & (SKB_GSO_TCPV4 | SKB_GSO_TCPV6)) || skb.gso_type & SKB_GSO_DODGY) cb.flush = 1;
    }
    if (skb.ip_summed === CHECKSUM_UNNECESSARY) cb.csum_cnt = 1;

    const pp = proto === ETH_P_IP ? inet_gro_receive(g, list, cb) : ipv6_gro_receive(g, list, cb);

    if (pp !== null) {
      list.del(list.indexOf(pp));
      napi_gro_complete(g, pp);
    }
    if (cb.same_flow) {
      // merged: the segment's bytes were copied into the held skb (GRO_MERGED_FREE)
      g.stats.merged++;
      ret = GRO_MERGED_FREE;
    } else if (!cb.flush) {
      if (list.count >= MAX_GRO_SKBS) {
        // gro_flush_oldest
        napi_gro_complete(g, list.del(0));
      }
      cb.age = jiffies;
      if (skb.gso_size === 0) skb.gso_size = skb.len - cb.data_offset;
      cb.own = OWN_VIEW;
      list.add(cb);
      g.scratch = g.take();
      g.stats.held++;
      ret = GRO_HELD;
    }
    update_bitmask(g, bucket, list);
  }
  if (ret === GRO_NORMAL) {
    g.stats.normal++;
    gro_normal_one(g, skb, 1, OWN_VIEW);
  }
  return ret;
}

/**
 * napi_gro_flush: complete held skbs, bucket by bucket, oldest first; with flush_old only those held
 * since an earlier jiffy (__napi_gro_flush_chain stops at the first young one).
 */
export function napi_gro_flush(g: NapiGro, flush_old: boolean, jiffies: number): void {
  const napi = g.napi;
  for (let i = 0; i < GRO_HASH_BUCKETS; i++) {
    if (!(napi.gro_bitmask & (1 << i))) continue;
    const list = g.gro_hash[i];
    while (list.count > 0) {
      if (flush_old && list.entries[0]!.age === jiffies) break;
      napi_gro_complete(g, list.del(0));
    }
    if (list.count === 0) napi.gro_bitmask &= ~(1 << i);
  }
}

/**
 * The batch is over and the device may reuse its memory: copy every held skb that still views it
 * into a pooled skb. Not in Linux, whose skbs own their pages; our skbs borrow the guest's. When the
 * pool is exhausted the skb is completed now instead (counted in alloc_failures).
 */
export function gro_detach_views(g: NapiGro): void {
  const napi = g.napi;
  if (!napi.gro_bitmask) return;
  for (let i = 0; i < GRO_HASH_BUCKETS; i++) {
    if (!(napi.gro_bitmask & (1 << i))) continue;
    const list = g.gro_hash[i];
    for (let j = 0; j < list.count; j++) {
      const p = list.entries[j]!;
      if (p.own !== OWN_VIEW) continue;
      const src = p.skb;
      const n = g.stack.alloc_skb(src.data - src.mac_header + src.len);
      if (n === null) {
        g.stats.alloc_failures++;
        g.stack.ratelimited_warn(`${napi.dev.name}: GRO: skb pool exhausted; held packet flushed early`);
        list.del(j--);
        napi_gro_complete(g, p);
        continue;
      }
      gro_copy_skb(src, n);
      p.skb = n;
      p.own = OWN_POOL;
      g.stats.detached++;
    }
    update_bitmask(g, i, list);
  }
  gro_normal_list(g);
}

/** flush_gro_hash (netif_napi_del): free every held skb unsent */
export function flush_gro_hash(g: NapiGro): void {
  for (let i = 0; i < GRO_HASH_BUCKETS; i++) {
    const list = g.gro_hash[i];
    while (list.count > 0) {
      const p = list.del(0);
      if (p.own === OWN_POOL) kfree_skb(p.skb);
      g.stats.dropped++;
      g.put(p);
    }
  }
  g.napi.gro_bitmask = 0;
}
