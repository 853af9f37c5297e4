// The GRO stage of the receive pipeline (napi_gro_receive → dev_gro_receive, net/core/gro.c; the
// protocol parts in gro/: inet_offload (af_inet.c), ip6_offload, tcp_offload, udp_offload), Linux 6.1.
//
// Per NAPI: 8 buckets (skb hash & 7; the hash is 0 unless the device sets one, so virtio-net without
// hash reports uses bucket 0), at most 8 held skbs per bucket. Completed and unmerged skbs go on
// the NAPI's rx_list and up the pipeline at the end of each batch; held ones are completed by
// napi_gro_flush, which napi.ts calls where Linux does: napi_complete_done (all, or only those held
// since an earlier jiffy while a gro_flush_timeout is armed) and __napi_poll when the NAPI used its
// whole weight (all at HZ < 1000). Merged skbs are linear big-pool skbs (see gro/skb_gro_receive.ts)
// with gso_size = the first segment's payload, gso_segs = the count, gso_type TCPV4/TCPV6 and
// CHECKSUM_PARTIAL with the pseudo-header sum in th->check, as tcp_gro_complete leaves them.
// Counting follows: a merged skb passes netif_receive_skb once (softnet processed, Ip InReceives,
// Tcp InSegs count it once).
import { Observable, type MonoTypeOperatorFunction } from 'rxjs';
import type { NetStack } from './stack';
import type { SkbBatch } from './skb';
import type { NapiStruct } from './napi';
import { NapiGro } from './gro/napi_gro';
import { dev_gro_receive, flush_gro_hash, gro_detach_views, gro_normal_list, gro_normal_one, napi_gro_flush as gro_flush } from './gro/gro_core';
import { netif_elide_gro } from './gro/netdev_gro';

export { NapiGro, GroStats } from './gro/napi_gro';
export { NetdevGro, netdev_gro, netif_set_gro, netif_set_gro_max_size, netif_elide_gro } from './gro/netdev_gro';
export {
  GRO_HASH_BUCKETS,
  MAX_GRO_SKBS,
  GRO_LEGACY_MAX_SIZE,
  SKB_GSO_TCP_FIXEDID,
  GRO_MERGED,
  GRO_MERGED_FREE,
  GRO_HELD,
  GRO_NORMAL,
  GRO_CONSUMED,
} from './gro/gro_cb';

/** the NAPI's GRO state, created on first use */
export function napi_gro(napi: NapiStruct): NapiGro {
  let g = napi.gro;
  if (g === null) g = napi.gro = new NapiGro(napi);
  return g;
}

/**
 * napi_gro_receive for a batch: every skb through dev_gro_receive, then rx_list up the pipeline,
 * then held skbs that still view the device's memory are copied (they outlive the batch).
 * Batches not from a NAPI, and devices with GRO off, pass through unchanged.
 */
function napi_gro_receive_batch(stack: NetStack, batch: SkbBatch, emit: (b: SkbBatch) => void): void {
  const napi = batch.napi;
  const dev = batch.dev;
  if (napi === null || dev === null || napi.dev !== dev || netif_elide_gro(dev)) {
    emit(batch);
    return;
  }
  const g = napi_gro(napi);
  g.emit = emit;
  const jiffies = stack.jiffies();
  const skbs = batch.skbs;
  const n = batch.count;
  for (let i = 0; i < n; i++) {
    try {
      dev_gro_receive(g, skbs[i], jiffies);
    } catch (e) {
      // a bug in GRO must not lose the batch: the skb goes up as it came
      stack.bug(`${dev.name}: dev_gro_receive threw`, e);
      gro_normal_one(g, skbs[i], 1, 0);
    }
  }
  gro_normal_list(g);
  gro_detach_views(g);
}

/** the pipeline stage: batches in, batches of completed/unmerged skbs out (plus flushes from napi.ts) */
export function gro_receive(stack: NetStack): MonoTypeOperatorFunction<SkbBatch> {
  return (source) =>
    new Observable<SkbBatch>((subscriber) => {
      const emit = (b: SkbBatch): void => subscriber.next(b);
      return source.subscribe({
        next: (batch) => napi_gro_receive_batch(stack, batch, emit),
        error: (e: unknown) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
    });
}

/**
 * napi_gro_flush + gro_normal_list, for napi.ts: complete held skbs (all, or with flush_old only
 * those held since an earlier jiffy) and deliver them.
 */
export function napi_gro_flush(napi: NapiStruct, flush_old: boolean): void {
  const g = napi.gro;
  if (g === null) return;
  if (napi.gro_bitmask) gro_flush(g, flush_old, napi.dev.stack.jiffies());
  gro_normal_list(g);
}

/** flush_gro_hash: drop everything held (the NAPI is going away) */
export function napi_gro_drop(napi: NapiStruct): void {
  if (napi.gro !== null) flush_gro_hash(napi.gro);
}

/** model counters of the NAPI's GRO (null before its first batch) */
export function napi_gro_stats(napi: NapiStruct): NapiGro['stats'] | null {
  return napi.gro?.stats ?? null;
}
