// One popped descriptor chain, already validated and translated: a list of (region bytes, offset, length)
// segments, device-readable ones first. Preallocated and reused across pops (no allocation per packet);
// it only grows when a chain is longer than any seen before (bounded by the queue size).
// Like Linux's struct vring_desc walk in drivers/vhost/vhost.c (vhost_get_vq_desc → iovec array).

const EMPTY: Uint8Array = new Uint8Array(0);

export class DescChain {
  /** head descriptor index: the id to hand back with SplitVirtqueue.pushUsed */
  head = 0;
  /** number of segments (zero-length descriptors contribute none) */
  count = 0;
  /** segments [0, readableCount) are device-readable, [readableCount, count) device-writable */
  readableCount = 0;
  /** byte totals of the readable / writable segments */
  totalReadable = 0;
  totalWritable = 0;

  capacity: number;
  /** per segment: the guest-memory region's bytes (GuestMemory.lastRegion at pop time) */
  buf: Uint8Array[];
  /** per segment: offset inside `buf[i]` (regions may exceed 4 GiB, hence float64) */
  off: Float64Array;
  /** per segment: length in bytes (> 0) */
  len: Uint32Array;
  /** per segment: 1 if device-writable */
  writable: Uint8Array;

  constructor(capacity = 64) {
    this.capacity = Math.max(1, capacity | 0);
    this.buf = new Array<Uint8Array>(this.capacity).fill(EMPTY);
    this.off = new Float64Array(this.capacity);
    this.len = new Uint32Array(this.capacity);
    this.writable = new Uint8Array(this.capacity);
  }

  /** forget the segments (keeps capacity) */
  clear(): void {
    this.count = 0;
    this.readableCount = 0;
    this.totalReadable = 0;
    this.totalWritable = 0;
  }

  /** append a segment; grows (rarely) when full */
  add(bytes: Uint8Array, offset: number, length: number, writable: boolean): void {
    const i = this.count;
    if (i === this.capacity) this.grow(i * 2);
    this.buf[i] = bytes;
    this.off[i] = offset;
    this.len[i] = length;
    this.writable[i] = writable ? 1 : 0;
    this.count = i + 1;
    if (writable) {
      this.totalWritable += length;
    } else {
      this.readableCount++;
      this.totalReadable += length;
    }
  }

  /** drop references into guest memory (before a memory table is unmapped) */
  release(): void {
    this.buf.fill(EMPTY);
    this.clear();
  }

  private grow(capacity: number): void {
    const buf = new Array<Uint8Array>(capacity).fill(EMPTY);
    for (let i = 0; i < this.count; i++) buf[i] = this.buf[i];
    const off = new Float64Array(capacity);
    off.set(this.off);
    const len = new Uint32Array(capacity);
    len.set(this.len);
    const writable = new Uint8Array(capacity);
    writable.set(this.writable);
    this.buf = buf;
    this.off = off;
    this.len = len;
    this.writable = writable;
    this.capacity = capacity;
  }
}
