// The sk_buff analogue (include/linux/skbuff.h): a view onto frame bytes plus the metadata Linux keeps.
// An Skb never owns guest memory: on receive it views the guest's tx buffer directly and is only valid
// for the synchronous processing of its NAPI batch; anything that must outlive the batch copies.
import type { NetDevice } from './netdevice';
import type { NapiStruct } from './napi';

// ip_summed (include/linux/skbuff.h)
export const CHECKSUM_NONE = 0;
export const CHECKSUM_UNNECESSARY = 1;
export const CHECKSUM_COMPLETE = 2;
export const CHECKSUM_PARTIAL = 3;

// gso_type bits (include/linux/skbuff.h, SKB_GSO_*)
export const SKB_GSO_TCPV4 = 1 << 0;
export const SKB_GSO_DODGY = 1 << 1;
export const SKB_GSO_TCP_ECN = 1 << 2;
export const SKB_GSO_TCPV6 = 1 << 4;
export const SKB_GSO_UDP_L4 = 1 << 17;

// pkt_type (include/uapi/linux/if_packet.h)
export const PACKET_HOST = 0;
export const PACKET_BROADCAST = 1;
export const PACKET_MULTICAST = 2;
export const PACKET_OTHERHOST = 3;
export const PACKET_OUTGOING = 4;

export class Skb {
  /** backing bytes: a guest-memory region view (receive) or a pool slab (transmit) */
  buf: Uint8Array = EMPTY;
  /** offset in `buf` of the first byte of data (skb->data) */
  data = 0;
  /** bytes of data from `data` (skb->len) */
  len = 0;
  /** header offsets, absolute in `buf`; -1 when not set (skb->mac_header, network_header, transport_header) */
  mac_header = -1;
  network_header = -1;
  transport_header = -1;
  /** ethertype in host order (skb->protocol) */
  protocol = 0;
  pkt_type = PACKET_HOST;
  ip_summed = CHECKSUM_NONE;
  /** absolute offset in `buf` where partial checksumming starts, and offset of the field from there */
  csum_start = 0;
  csum_offset = 0;
  gso_size = 0;
  gso_segs = 0;
  gso_type = 0;
  /** flow hash (skb->hash); l4_hash true when it covers ports, sw_hash when computed in software */
  hash = 0;
  l4_hash = false;
  sw_hash = false;
  dev: NetDevice | null = null;
  skb_iif = 0;
  queue_mapping = 0;
  priority = 0;
  mark = 0;
  /** receive/transmit timestamp in scheduler milliseconds (skb->tstamp) */
  tstamp = 0;
  /**
   * qdisc_skb_cb(skb)->pkt_len: bytes the qdisc accounts for this skb (qdisc_pkt_len_init in
   * net/core/dev.c: skb->len plus the headers of every extra GSO segment); set by dev_queue_xmit
   */
  pkt_len = 0;
  /** set by the pool that owns `buf`, so kfree_skb can give the slab back */
  pool: SkbPool | null = null;
  /** index of this skb in its pool, -1 for skbs that do not come from a pool */
  poolIndex = -1;

  /** reset metadata for reuse; keeps no reference to the previous bytes' meaning */
  reset(buf: Uint8Array, data: number, len: number): this {
    this.buf = buf;
    this.data = data;
    this.len = len;
    this.mac_header = this.network_header = this.transport_header = -1;
    this.protocol = 0;
    this.pkt_type = PACKET_HOST;
    this.ip_summed = CHECKSUM_NONE;
    this.csum_start = this.csum_offset = 0;
    this.gso_size = this.gso_segs = this.gso_type = 0;
    this.hash = 0;
    this.l4_hash = this.sw_hash = false;
    this.dev = null;
    this.skb_iif = 0;
    this.queue_mapping = 0;
    this.priority = this.mark = 0;
    this.tstamp = 0;
    this.pkt_len = 0;
    return this;
  }

  /** skb_put: extend data at the tail by n bytes (caller guarantees tailroom); returns the old tail */
  put(n: number): number {
    const t = this.data + this.len;
    this.len += n;
    return t;
  }

  /** skb_reserve on an empty skb: move data (and tail) forward by n bytes */
  reserve(n: number): void {
    this.data += n;
  }

  /** skb_headroom: bytes before data */
  get headroom(): number {
    return this.data;
  }

  /** skb_tailroom: bytes after the tail */
  get tailroom(): number {
    return this.buf.length - this.data - this.len;
  }

  /** data, len and buf are consistent: nothing outside buf is addressed */
  get valid(): boolean {
    return this.data >= 0 && this.len >= 0 && this.data + this.len <= this.buf.length;
  }

  /** skb_pull: advance data by n bytes; returns the new data offset */
  pull(n: number): number {
    this.data += n;
    this.len -= n;
    return this.data;
  }

  /** skb_push: extend data backwards by n bytes (caller guarantees headroom); returns the new data offset */
  push(n: number): number {
    this.data -= n;
    this.len += n;
    return this.data;
  }

  /** the end of data (skb_tail_pointer) */
  get tail(): number {
    return this.data + this.len;
  }

  reset_mac_header(): void {
    this.mac_header = this.data;
  }
  reset_network_header(): void {
    this.network_header = this.data;
  }
  reset_transport_header(): void {
    this.transport_header = this.data;
  }
}

const EMPTY = new Uint8Array(0);

/**
 * Fixed slabs for skbs the model builds (replies, frames toward the guest). Allocation never grows the
 * pool: when it is empty alloc returns null and the caller counts a drop, as Linux does on ENOMEM.
 */
export class SkbPool {
  private readonly free: number[] = [];
  private readonly skbs: Skb[] = [];
  private readonly memory: ArrayBuffer;
  /** 1 while the slab is handed out: guards kfree_skb against double frees */
  private readonly inUse: Uint8Array;
  /** allocation failures (no free slab or size too large) */
  allocFailures = 0;
  /** frees of an skb that was not allocated (a bug in the caller; ignored, not corrupting the pool) */
  doubleFrees = 0;

  constructor(readonly slabs: number, readonly slabSize: number, readonly headroom = 128) {
    this.memory = new ArrayBuffer(slabs * slabSize);
    this.inUse = new Uint8Array(slabs);
    for (let i = 0; i < slabs; i++) {
      const skb = new Skb();
      skb.pool = this;
      skb.poolIndex = i;
      skb.buf = new Uint8Array(this.memory, i * slabSize, slabSize);
      this.skbs.push(skb);
      this.free.push(slabs - 1 - i);
    }
  }

  get available(): number {
    return this.free.length;
  }

  /** alloc_skb + skb_reserve(headroom): an empty skb whose data starts after `headroom` bytes */
  alloc(size: number): Skb | null {
    if (!(size >= 0) || size + this.headroom > this.slabSize || this.free.length === 0) {
      this.allocFailures++;
      return null;
    }
    const i = this.free.pop()!;
    this.inUse[i] = 1;
    const skb = this.skbs[i];
    skb.reset(skb.buf, this.headroom, 0);
    return skb;
  }

  /** kfree_skb / consume_skb */
  release(skb: Skb): void {
    const i = skb.poolIndex;
    if (skb.pool !== this || i < 0) return;
    if (this.inUse[i] === 0) {
      this.doubleFrees++;
      return;
    }
    this.inUse[i] = 0;
    skb.dev = null;
    this.free.push(i);
  }

  /** largest data size alloc accepts */
  get maxSize(): number {
    return this.slabSize - this.headroom;
  }
}

/** kfree_skb: return a pooled skb; receive-side skbs that view guest memory need no freeing */
export function kfree_skb(skb: Skb): void {
  if (skb.pool) skb.pool.release(skb);
}

/** a header offset moved by delta, or -1 when unset or outside the new buffer */
function shift_offset(off: number, delta: number, limit: number): number {
  const o = off + delta;
  return off >= 0 && o >= 0 && o <= limit ? o : -1;
}

/**
 * __copy_skb_header (net/core/skbuff.c): the metadata of `src` onto `dst`, whose bytes sit `delta`
 * further on in their buffer (csum_start is an absolute offset, so it moves with them). Header offsets
 * are the caller's business.
 */
export function __copy_skb_header(dst: Skb, src: Skb, delta: number): void {
  dst.protocol = src.protocol;
  dst.pkt_type = src.pkt_type;
  dst.ip_summed = src.ip_summed;
  dst.csum_start = src.csum_start + delta;
  dst.csum_offset = src.csum_offset;
  dst.gso_size = src.gso_size;
  dst.gso_segs = src.gso_segs;
  dst.gso_type = src.gso_type;
  dst.hash = src.hash;
  dst.l4_hash = src.l4_hash;
  dst.sw_hash = src.sw_hash;
  dst.dev = src.dev;
  dst.skb_iif = src.skb_iif;
  dst.queue_mapping = src.queue_mapping;
  dst.priority = src.priority;
  dst.mark = src.mark;
  dst.tstamp = src.tstamp;
  dst.pkt_len = src.pkt_len;
}

/**
 * skb_copy into `dst` (an empty skb, e.g. fresh from a pool): copies the data bytes and the metadata,
 * translating header offsets. Returns false when dst lacks room. Used when an skb that views guest
 * memory must outlive its batch (e.g. it is queued for transmit).
 */
export function skb_copy_to(src: Skb, dst: Skb): boolean {
  if (!src.valid || dst.tailroom < src.len) return false;
  const delta = dst.data - src.data;
  dst.buf.set(src.buf.subarray(src.data, src.data + src.len), dst.data);
  dst.len = src.len;
  const limit = dst.buf.length;
  dst.mac_header = shift_offset(src.mac_header, delta, limit);
  dst.network_header = shift_offset(src.network_header, delta, limit);
  dst.transport_header = shift_offset(src.transport_header, delta, limit);
  __copy_skb_header(dst, src, delta);
  return true;
}

/**
 * sk_buff_head analogue: a FIFO of skbs over a ring that only grows (cold path), so queueing and
 * dequeueing allocate nothing. Used by qdiscs and their requeue list.
 */
export class SkbQueue {
  private ring: (Skb | null)[];
  private mask: number;
  private head = 0;
  /** skb_queue_len */
  length = 0;

  constructor(capacity = 16) {
    let c = 1;
    while (c < capacity) c <<= 1;
    this.ring = new Array<Skb | null>(c).fill(null);
    this.mask = c - 1;
  }

  /** __skb_queue_tail */
  push(skb: Skb): void {
    if (this.length === this.ring.length) this.grow();
    this.ring[(this.head + this.length) & this.mask] = skb;
    this.length++;
  }

  /** __skb_queue_head */
  unshift(skb: Skb): void {
    if (this.length === this.ring.length) this.grow();
    this.head = (this.head - 1) & this.mask;
    this.ring[this.head] = skb;
    this.length++;
  }

  /** __skb_dequeue */
  shift(): Skb | null {
    if (this.length === 0) return null;
    const skb = this.ring[this.head];
    this.ring[this.head] = null;
    this.head = (this.head + 1) & this.mask;
    this.length--;
    return skb;
  }

  /** skb_peek */
  peek(): Skb | null {
    return this.length === 0 ? null : this.ring[this.head];
  }

  /** __skb_queue_purge: hand every queued skb to `free` (kfree_skb) */
  purge(free: (skb: Skb) => void): void {
    let skb: Skb | null;
    while ((skb = this.shift()) !== null) free(skb);
  }

  private grow(): void {
    const old = this.ring;
    const n = old.length * 2;
    const ring = new Array<Skb | null>(n).fill(null);
    for (let i = 0; i < this.length; i++) ring[i] = old[(this.head + i) & this.mask];
    this.ring = ring;
    this.mask = n - 1;
    this.head = 0;
  }
}

/**
 * A batch of skbs, a NAPI poll's worth: preallocated, reused every poll. The device fills slots with
 * `next()` + `skb.reset(view, offset, len)`; `dev` and `napi` are set by napi.receive_batch().
 */
export class SkbBatch {
  readonly skbs: Skb[];
  count = 0;
  /** the device the frames arrived on */
  dev: NetDevice | null = null;
  /** the NAPI that polled them (null for batches injected otherwise) */
  napi: NapiStruct | null = null;
  constructor(readonly capacity: number) {
    this.skbs = Array.from({ length: capacity }, () => new Skb());
  }
  /** the next free skb slot, or null when full */
  next(): Skb | null {
    return this.count < this.capacity ? this.skbs[this.count++] : null;
  }
  clear(): void {
    this.count = 0;
  }
}
