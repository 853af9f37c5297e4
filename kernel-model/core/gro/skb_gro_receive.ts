// skb_gro_receive (net/core/gro.c): append a segment's payload to the held skb of its flow.
//
// Storage choice: Linux chains the segment's pages as frags/frag_list. Our received skbs view guest
// memory that is only valid while their batch is processed, and the rest of the model reads skbs as
// one linear buffer, so the held skb becomes a linear 64 KiB skb from the stack's big pool the first
// time a segment merges into it (one copy of the head's frame), and every further segment's payload
// is copied once behind it. Nothing is allocated per packet: the slab comes from a fixed pool and is
// freed after the merged skb went up the stack. A held skb that nothing merged into stays a view
// and is only copied (into a small slab) if it outlives its batch (gro_detach_views).
import { __copy_skb_header, kfree_skb, type Skb } from '../skb';
import { ETH_HLEN } from '../eth';
import { copyBytes } from '../../wire/bytes';
import { GRO_LEGACY_MAX_SIZE, OWN_POOL, type GroCb } from './gro_cb';
import { netdev_gro } from './netdev_gro';
import type { NapiGro } from './napi_gro';

/**
 * Copy src (from its Ethernet header to its tail) into dst, an empty pooled skb, with its metadata;
 * dst.data ends at the same distance after the Ethernet header as src.data.
 */
export function gro_copy_skb(src: Skb, dst: Skb): void {
  const mac = src.mac_header;
  const maclen = src.data - mac;
  const base = dst.data;
  copyBytes(dst.buf, base, src.buf, mac, maclen + src.len);
  const delta = base + maclen - src.data;
  dst.mac_header = base;
  dst.data = base + maclen;
  dst.len = src.len;
  dst.network_header = src.network_header >= 0 ? src.network_header + delta : -1;
  dst.transport_header = src.transport_header >= 0 ? src.transport_header + delta : -1;
  __copy_skb_header(dst, src, delta);
}

/** make p's skb a big-pool skb with room for `extra` more bytes; false when the pool is exhausted */
function gro_make_linear(g: NapiGro, p: GroCb, extra: number): boolean {
  const skb = p.skb;
  const big = g.stack.bigPool;
  if (p.own === OWN_POOL && skb.pool === big && skb.tailroom >= extra) return true;
  const n = big.alloc(ETH_HLEN + GRO_LEGACY_MAX_SIZE);
  if (n === null || n.tailroom - (skb.data - skb.mac_header) - skb.len < extra) {
    if (n) kfree_skb(n);
    g.stats.alloc_failures++;
    g.stack.ratelimited_warn(`${skb.dev?.name ?? '?'}: GRO: big skb pool exhausted; segment passed up unmerged`);
    return false;
  }
  gro_copy_skb(skb, n);
  if (p.own === OWN_POOL) kfree_skb(skb);
  p.skb = n;
  p.own = OWN_POOL;
  return true;
}

/**
 * skb_gro_receive(p, skb): -E2BIG (returned as 1) when p->len + len >= gro_max_size (p->len counts
 * from the network header: one set of IP+TCP headers and all payload) or the segment is marked
 * flush; else the segment's payload (cb.payload bytes at cb.data_offset) is appended to p,
 * count += the segment's count, and the segment is consumed (same_flow).
 */
export function skb_gro_receive(g: NapiGro, p: GroCb, cb: GroCb): number {
  const len = cb.payload;
  const skb = cb.skb;
  const dev = p.skb.dev;
  const max = dev ? netdev_gro(dev).gro_max_size : GRO_LEGACY_MAX_SIZE;
  if (p.skb.len + len >= max || cb.flush) return 1;
  if (!gro_make_linear(g, p, len)) return 1;
  const ps = p.skb;
  copyBytes(ps.buf, ps.data + ps.len, skb.buf, skb.data + cb.data_offset, len);
  ps.len += len;
  p.payload += len;
  p.count += cb.count;
  cb.same_flow = 1;
  return 0;
}
