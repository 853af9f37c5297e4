// Bounded byte rings behind a socket: the send buffer (sk_write_queue's bytes, kept until acknowledged)
// and the receive buffer (in-order unread bytes plus out-of-order bytes at their place). Segments are
// cut from and copied into these at transmit/receive time, so no per-segment buffers are kept.
// Both allocate their ring on first use and give it back once drained, so an idle connection holds no
// buffer bytes (Linux frees skbs as they are consumed); drained rings wait in a small per-size pool so a
// busy connection that drains every segment does not allocate per segment.
import { after, before, seqSub } from './tcp_states';

/** rings kept for reuse per size (bounded: at most this many idle rings per size, and this many bytes) */
const RING_POOL_MAX = 256;
const RING_POOL_BYTES_PER_SIZE = 8 * 1024 * 1024;
const ringPool = new Map<number, Uint8Array[]>();

function ringAlloc(size: number): Uint8Array {
  const p = ringPool.get(size);
  const r = p !== undefined ? p.pop() : undefined;
  return r ?? new Uint8Array(size);
}

function ringFree(r: Uint8Array): void {
  let p = ringPool.get(r.length);
  if (p === undefined) {
    p = [];
    ringPool.set(r.length, p);
  }
  if (p.length < Math.min(RING_POOL_MAX, Math.max(1, Math.floor(RING_POOL_BYTES_PER_SIZE / r.length)))) p.push(r);
}

/** a larger ring holding `n` bytes of `old` from `head` on (wrapping) at its start */
function ringGrow(old: Uint8Array, head: number, n: number, size: number): Uint8Array {
  const r = ringAlloc(size);
  const first = Math.min(n, old.length - head);
  r.set(old.subarray(head, head + first), 0);
  if (first < n) r.set(old.subarray(0, n - first), first);
  ringFree(old);
  return r;
}

/** drop every pooled ring (memory measurements) */
export function tcp_ring_pool_clear(): void {
  ringPool.clear();
}

export class SendBuffer {
  private ring: Uint8Array | null = null;
  private head = 0;
  /** bytes held (written, not yet acknowledged) */
  len = 0;
  /** sequence number of the byte at the head */
  headSeq = 0;

  constructor(public capacity: number) {}

  get free(): number {
    return this.capacity - this.len;
  }

  /** sk_sndbuf grew (tcp_sndbuf_expand): held bytes move to the start of a larger ring */
  grow(capacity: number): void {
    if (capacity <= this.capacity) return;
    if (this.ring !== null) {
      this.ring = ringGrow(this.ring, this.head, this.len, capacity);
      this.head = 0;
    }
    this.capacity = capacity;
  }

  /** copy up to `free` bytes from src; returns how many were taken */
  write(src: Uint8Array, off: number, n: number): number {
    if (n > this.free) n = this.free;
    if (n <= 0) return 0;
    if (this.ring === null) this.ring = ringAlloc(this.capacity);
    const r = this.ring;
    let pos = (this.head + this.len) % this.capacity;
    let left = n;
    let s = off;
    while (left > 0) {
      const chunk = Math.min(left, this.capacity - pos);
      r.set(src.subarray(s, s + chunk), pos);
      s += chunk;
      left -= chunk;
      pos = 0;
    }
    this.len += n;
    return n;
  }

  /** copy `n` bytes starting at sequence `seq` (inside the buffer) to dst[dstOff…] */
  copyOut(seq: number, n: number, dst: Uint8Array, dstOff: number): void {
    const r = this.ring;
    if (r === null || n <= 0) return;
    let pos = (this.head + seqSub(seq, this.headSeq)) % this.capacity;
    let left = n;
    let d = dstOff;
    while (left > 0) {
      const chunk = Math.min(left, this.capacity - pos);
      dst.set(r.subarray(pos, pos + chunk), d);
      d += chunk;
      left -= chunk;
      pos = 0;
    }
  }

  /** drop acknowledged bytes up to (not including) `seq`; returns bytes freed */
  ack(seq: number): number {
    let n = seqSub(seq, this.headSeq);
    if (n <= 0) return 0;
    if (n > this.len) n = this.len;
    this.head = (this.head + n) % this.capacity;
    this.len -= n;
    this.headSeq = (this.headSeq + n) >>> 0;
    if (this.len === 0) {
      this.head = 0;
      // drained: nothing to retransmit from it any more
      if (this.ring !== null) ringFree(this.ring);
      this.ring = null;
    }
    return n;
  }

  /** free the ring (the socket is done with it) */
  release(): void {
    if (this.ring !== null) ringFree(this.ring);
    this.ring = null;
    this.len = 0;
    this.head = 0;
  }

  /** whether byte storage is allocated now */
  get allocated(): boolean {
    return this.ring !== null;
  }
}

/** at most this many out-of-order islands are kept; a segment that would add more is dropped */
export const MAX_OFO_RANGES = 64;
export const OFO_FULL = -1;
export const OFO_NEW = 0;
export const OFO_DUP = 1;

/** the smallest receive ring: a ring grows (doubling, up to `size`) only as far as bytes are held */
const RCV_RING_MIN = 4096;

export class RecvBuffer {
  private ring: Uint8Array | null = null;
  /**
   * the ring's length: it holds the bytes from the head up to the furthest byte stored (unread and
   * out of order), so a connection whose reader keeps up holds a small ring however far autotuning
   * raised `size` (Linux too holds only the skbs queued, not sk_rcvbuf)
   */
  private ringLen = 0;
  private head = 0;
  /** sequence number of the byte at the head (copied_seq) */
  headSeq = 0;
  /** out-of-order islands as [start, end) sequence pairs, sorted, disjoint, not adjacent */
  readonly ofo: number[] = [];

  /** `size` bytes of ring; `capacity` is what the window may cover (size − capacity is rounding slack) */
  constructor(public capacity: number, public size: number) {}

  /**
   * sk_rcvbuf grew (tcp_rcv_space_adjust): the ring's bytes (unread and out of order, all within the
   * old size from the head) move to the start of a larger ring
   */
  grow(capacity: number, size: number): void {
    if (capacity <= this.capacity && size <= this.size) return;
    if (size < this.size) size = this.size;
    // the ring itself grows when bytes arrive that need it (store)
    this.capacity = Math.max(capacity, this.capacity);
    this.size = size;
  }

  /** make the ring hold at least `need` bytes from the head (need ≤ size) */
  private reserve(need: number): Uint8Array {
    const r = this.ring;
    if (r !== null && need <= this.ringLen) return r;
    let n = Math.max(RCV_RING_MIN, this.ringLen);
    while (n < need) n *= 2;
    if (n > this.size) n = this.size;
    if (r === null) {
      this.ring = ringAlloc(n);
      this.head = 0;
    } else {
      // every byte of the old ring from the head on (unread and out of order) keeps its offset
      this.ring = ringGrow(r, this.head, this.ringLen, n);
      this.head = 0;
    }
    this.ringLen = n;
    return this.ring;
  }

  /** bytes between the head and `seq` */
  offsetOf(seq: number): number {
    return seqSub(seq, this.headSeq);
  }

  /**
   * copy buf[off, off+len) to its place for sequence `seq`; the caller has checked that
   * seq − headSeq + len ≤ size
   */
  store(seq: number, src: Uint8Array, off: number, len: number): void {
    if (len <= 0) return;
    const at = this.offsetOf(seq);
    const r = this.reserve(at + len);
    const rl = this.ringLen;
    let pos = (this.head + at) % rl;
    let left = len;
    let s = off;
    while (left > 0) {
      const chunk = Math.min(left, rl - pos);
      r.set(src.subarray(s, s + chunk), pos);
      s += chunk;
      left -= chunk;
      pos = 0;
    }
  }

  /** the in-order readable bytes up to rcv_nxt, as at most two (buf, off, len) chunks handed to `fn` */
  peek(rcv_nxt: number, fn: (buf: Uint8Array, off: number, len: number) => void): number {
    const n = seqSub(rcv_nxt, this.headSeq);
    const r = this.ring;
    if (n <= 0 || r === null) return 0;
    const first = Math.min(n, this.ringLen - this.head);
    fn(r, this.head, first);
    if (first < n) fn(r, 0, n - first);
    return n;
  }

  /**
   * the reader took `n` bytes; `rcv_nxt` tells whether the ring is now empty (nothing unread, nothing
   * out of order), and then it goes back to the pool
   */
  consume(n: number, rcv_nxt = -1): void {
    this.head = this.ringLen > 0 ? (this.head + n) % this.ringLen : 0;
    this.headSeq = (this.headSeq + n) >>> 0;
    if (rcv_nxt >= 0 && this.headSeq === rcv_nxt >>> 0 && this.ofo.length === 0 && this.ring !== null) {
      ringFree(this.ring);
      this.ring = null;
      this.ringLen = 0;
      this.head = 0;
    }
  }

  /** whether byte storage is allocated now */
  get allocated(): boolean {
    return this.ring !== null;
  }

  /**
   * record [s, e) as held out of order: OFO_NEW, OFO_DUP (some of it was already held: D-SACK
   * material) or OFO_FULL (it would exceed MAX_OFO_RANGES islands; nothing recorded).
   */
  addOfo(s: number, e: number): number {
    const r = this.ofo;
    let dup = false;
    // find the first island ending at or after s
    let i = 0;
    while (i < r.length && before(r[i + 1], s)) i += 2;
    let j = i;
    let ns = s;
    let ne = e;
    while (j < r.length && !after(r[j], e)) {
      if (before(r[j], e) && after(r[j + 1], s)) dup = true;
      if (before(r[j], ns)) ns = r[j];
      if (after(r[j + 1], ne)) ne = r[j + 1];
      j += 2;
    }
    const removed = (j - i) / 2;
    if (removed === 0 && r.length >= 2 * MAX_OFO_RANGES) return OFO_FULL;
    r.splice(i, j - i, ns, ne);
    return dup ? OFO_DUP : OFO_NEW;
  }

  /** tcp_ofo_queue: move islands that now touch rcv_nxt in order; returns the new rcv_nxt */
  drainOfo(rcv_nxt: number): number {
    const r = this.ofo;
    let n = rcv_nxt;
    while (r.length > 0 && !after(r[0], n)) {
      if (after(r[1], n)) n = r[1];
      r.splice(0, 2);
    }
    return n;
  }

  /** bytes held out of order */
  get ofoBytes(): number {
    let b = 0;
    for (let i = 0; i < this.ofo.length; i += 2) b += seqSub(this.ofo[i + 1], this.ofo[i]);
    return b;
  }

  release(): void {
    if (this.ring !== null) ringFree(this.ring);
    this.ring = null;
    this.ringLen = 0;
    this.ofo.length = 0;
    this.head = 0;
  }
}
