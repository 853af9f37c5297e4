// NAPI_GRO_CB (include/net/gro.h): the per-skb GRO state Linux keeps in skb->cb, here a small object
// beside the Skb (our Skb has no cb area). One GroCb per held packet, preallocated per NAPI, plus one
// scratch GroCb for the packet being received; holding a packet swaps the scratch with a free one.
import { Skb } from '../skb';

/** GRO_HASH_BUCKETS (include/linux/netdevice.h) */
export const GRO_HASH_BUCKETS = 8;
/** MAX_GRO_SKBS (net/core/gro.c): held packets per bucket (gro_list.count), not per NAPI */
export const MAX_GRO_SKBS = 8;
/** GRO_LEGACY_MAX_SIZE (include/linux/netdevice.h): default gro_max_size / gro_ipv4_max_size */
export const GRO_LEGACY_MAX_SIZE = 65536;
/** gro_normal_batch (net/core/gro.c): rx_list length that triggers delivery */
export const GRO_NORMAL_BATCH = 8;
/** SKB_GSO_TCP_FIXEDID (include/linux/skbuff.h); skb.ts has the other SKB_GSO_* bits */
export const SKB_GSO_TCP_FIXEDID = 1 << 3;

// enum gro_result (include/linux/netdevice.h)
export const GRO_MERGED = 0;
export const GRO_MERGED_FREE = 1;
export const GRO_HELD = 2;
export const GRO_NORMAL = 3;
export const GRO_CONSUMED = 4;

/** where a held skb's bytes live: a view of the device's memory (valid for the batch) or our pool */
export const OWN_VIEW = 0;
export const OWN_POOL = 1;

const NO_SKB = new Skb();

export class GroCb {
  skb: Skb = NO_SKB;
  /** NAPI_GRO_CB(skb)->flush: do not merge (reset for held packets by gro_list_prepare) */
  flush = 0;
  /** IPv4 ID check result, folded in by tcp_gro_receive */
  flush_id = 0;
  /** segments in this skb */
  count = 1;
  /** jiffies when it was held */
  age = 0;
  /** gro_list_prepare / the protocols' verdict: same flow as the packet being received */
  same_flow = 0;
  /** IPv4: DF set and the ID may stay fixed (SKB_GSO_TCP_FIXEDID); IPv6: always */
  is_atomic = 1;
  /** CHECKSUM_UNNECESSARY levels not yet consumed (csum_cnt) */
  csum_cnt = 0;
  /** skb_gro_offset: bytes from skb.data parsed so far */
  data_offset = 0;
  /** transport header and its length, relative to skb.data */
  thoff = 0;
  thlen = 0;
  /** L4 payload bytes (skb_gro_len after the transport pull): for a held skb, all merged payload */
  payload = 0;
  /** skb_get_hash_raw at receive */
  hash = 0;
  /** OWN_VIEW or OWN_POOL */
  own = OWN_VIEW;
  // Header words cached when the packet is parsed, so comparing a new packet with the held ones
  // reads a few numbers instead of each held header's bytes (they do not change while held).
  /** the 14-byte Ethernet header as 32+32+32+16 bits */
  mac0 = 0;
  mac1 = 0;
  mac2 = 0;
  mac3 = 0;
  /** IPv4: saddr, daddr, protocol, ID, TTL<<8|TOS, DF bit */
  saddr = 0;
  daddr = 0;
  l4proto = 0;
  ip_id = 0;
  ip_ttl_tos = 0;
  ip_df = 0;
  /** TCP source and destination port word */
  ports = 0;

  /** dev_gro_receive's `*(u32 *)&NAPI_GRO_CB(skb)->zeroed = 0` and friends, for a new packet */
  reset(skb: Skb): void {
    this.skb = skb;
    this.flush = 0;
    this.flush_id = 0;
    this.count = 1;
    this.age = 0;
    this.same_flow = 0;
    this.is_atomic = 1;
    this.csum_cnt = 0;
    this.data_offset = 0;
    this.thoff = 0;
    this.thlen = 0;
    this.payload = 0;
    this.hash = 0;
    this.own = OWN_VIEW;
  }

  release(): void {
    this.skb = NO_SKB;
  }
}

/** napi->gro_hash[i]: held packets of one bucket, oldest first (Linux lists them youngest first) */
export class GroList {
  readonly entries: (GroCb | null)[] = new Array<GroCb | null>(MAX_GRO_SKBS).fill(null);
  count = 0;

  /** list_add: the youngest goes last here */
  add(cb: GroCb): void {
    this.entries[this.count++] = cb;
  }

  /** skb_list_del_init of entry i, keeping age order */
  del(i: number): GroCb {
    const e = this.entries;
    const cb = e[i]!;
    for (let j = i + 1; j < this.count; j++) e[j - 1] = e[j];
    e[--this.count] = null;
    return cb;
  }

  indexOf(cb: GroCb): number {
    for (let i = 0; i < this.count; i++) if (this.entries[i] === cb) return i;
    return -1;
  }
}
