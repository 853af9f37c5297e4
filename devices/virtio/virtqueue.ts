// Device side of a split virtqueue (VERSION_1, little-endian) over guest memory shared with the driver.
// Mirrors Linux drivers/vhost/vhost.c (vhost_get_vq_desc, vhost_add_used_n, vhost_notify,
// vhost_enable_notify/vhost_disable_notify) and the checks of vhost-user.md §4.2 / §5.3-12.
//
// Every value read from the rings is guest-controlled. On any violation the queue marks itself broken
// (reason kept in `broken`, reported once through onBroken, `errors` counted) and from then on never reads
// or writes guest memory until setup() is called again. No method throws.
//
// Notification protocol for callers (NAPI style): disableNotify() while polling; when the ring is drained
// call enableNotify() and poll again if it returns true (buffers raced in). With EVENT_IDX the driver only
// kicks past the avail_event we publish, so enableNotify() must follow every drain, including the first.

import { fenceAcquire, fenceRelease, fenceSeqCst } from 'net-vde';
import { DescChain } from './desc-chain';
import { GuestMemory } from './guest-memory';
import {
  AVAIL_FLAGS, AVAIL_IDX, AVAIL_RING, DESC_FLAGS, DESC_LEN, DESC_NEXT, USED_FLAGS, USED_IDX, USED_RING,
  VIRTQUEUE_MAX_SIZE, VRING_AVAIL_ALIGN, VRING_AVAIL_F_NO_INTERRUPT, VRING_DESC_ALIGN, VRING_DESC_F_INDIRECT,
  VRING_DESC_F_NEXT, VRING_DESC_F_WRITE, VRING_DESC_SIZE, VRING_USED_ALIGN, VRING_USED_ELEM_SIZE,
  VRING_USED_F_NO_NOTIFY, availEventOffset, usedEventOffset, vringAvailSize, vringDescSize, vringUsedSize,
} from './ring-layout';

export { DescChain } from './desc-chain';

/** What the device accepts in a chain: TX queues carry only device-readable buffers, RX only writable. */
export type ChainExpect = 'readable' | 'writable' | 'any';

export interface VirtqueueOptions {
  /** VIRTIO_RING_F_EVENT_IDX negotiated */
  eventIdx: boolean;
  /** VIRTIO_RING_F_INDIRECT_DESC negotiated */
  indirect: boolean;
}

/** descriptor addresses with a high word ≥ 2^21 are ≥ 2^53: outside any region we can describe */
const ADDR_HI_LIMIT = 0x200000;
const EMPTY_VIEW: DataView = new DataView(new ArrayBuffer(0));

export class SplitVirtqueue {
  readonly index: number;
  readonly name: string;
  /** chain direction rule, checked on every descriptor (violations break the ring) */
  expect: ChainExpect;
  /** called once per breakage with the reason */
  onBroken: (reason: string) => void;

  // configuration (valid after a successful setup)
  size = 0;
  eventIdx = false;
  indirect = false;
  descUva = 0;
  availUva = 0;
  usedUva = 0;

  // ring state (u16, free-running)
  /** next avail ring slot to consume (SET_VRING_BASE / GET_VRING_BASE value) */
  lastAvail = 0;
  /** next used ring slot to fill; what used.idx becomes at the next flushUsed() */
  usedIdx = 0;
  /** null while healthy; the reason once the driver misbehaved */
  broken: string | null = null;
  /** chains popped and not yet pushed back (must be 0 before answering GET_VRING_BASE) */
  inflight = 0;

  // counters
  popped = 0;
  used = 0;
  rewound = 0;
  signals = 0;
  suppressed = 0;
  errors = 0;

  private ready = false;
  private mem: GuestMemory | null = null;
  private desc = EMPTY_VIEW;
  private avail = EMPTY_VIEW;
  private usedRing = EMPTY_VIEW;
  private mask = 0;
  private usedEventOff = 0;
  private availEventOff = 0;
  /** avail.idx as last read (entries before it were published before our acquire fence) */
  private shadowAvail = 0;
  /** used idx at the last notification decision (vhost's signalled_used) */
  private signalledUsed = 0;
  private signalledValid = false;
  /** used elements pushed since the last flushUsed() */
  private pending = 0;

  constructor(index: number, name?: string, expect: ChainExpect = 'any') {
    this.index = index;
    this.name = name ?? `vq${index}`;
    this.expect = expect;
    this.onBroken = (reason) => console.error(`virtqueue ${this.name}: ${reason}`);
  }

  /** set up for use: ring addresses are front-end virtual addresses (SET_VRING_ADDR). Error text or null. */
  setup(
    mem: GuestMemory, size: number, descUva: number, availUva: number, usedUva: number, lastAvail: number,
    opts: VirtqueueOptions,
  ): string | null {
    this.ready = false;
    this.broken = null;
    this.desc = this.avail = this.usedRing = EMPTY_VIEW;
    if (!Number.isInteger(size) || size < 1 || size > VIRTQUEUE_MAX_SIZE || (size & (size - 1)) !== 0) {
      return `queue size ${size} is not a power of 2 in [1, ${VIRTQUEUE_MAX_SIZE}]`;
    }
    if (!Number.isInteger(lastAvail) || lastAvail < 0 || lastAvail > 0xffff) {
      return `avail index ${lastAvail} out of range`;
    }
    for (const [what, a, align] of [['desc', descUva, VRING_DESC_ALIGN], ['avail', availUva, VRING_AVAIL_ALIGN],
      ['used', usedUva, VRING_USED_ALIGN]] as const) {
      if (!Number.isSafeInteger(a) || a < 0) return `${what} ring address ${String(a)} invalid`;
      if (a % align !== 0) return `${what} ring address 0x${a.toString(16)} not aligned to ${align}`;
    }
    this.size = size;
    this.mask = size - 1;
    this.eventIdx = opts.eventIdx;
    this.indirect = opts.indirect;
    this.descUva = descUva;
    this.availUva = availUva;
    this.usedUva = usedUva;
    try {
      const err = this.mapRings(mem);
      if (err !== null) return err;
      this.usedIdx = this.usedRing.getUint16(USED_IDX, true);
    } catch (e) {
      return `ring memory not accessible: ${e instanceof Error ? e.message : String(e)}`;
    }
    this.lastAvail = lastAvail;
    this.shadowAvail = lastAvail;
    this.pending = 0;
    this.signalledUsed = this.usedIdx;
    this.signalledValid = false;
    this.inflight = 0;
    this.ready = true;
    return null;
  }

  /** Re-translate the rings after a memory table change (ring state is kept). Error text (ring broken) or null. */
  remap(mem: GuestMemory): string | null {
    if (!this.ready) return null; // not set up: the next setup() translates
    if (this.broken !== null) return this.broken;
    let err: string | null;
    try {
      err = this.mapRings(mem);
    } catch (e) {
      err = `ring memory not accessible: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (err !== null) {
      this.fail(`after memory table change: ${err}`);
      return err;
    }
    return null;
  }

  /** Stop: forget memory and state; counters are kept. */
  reset(): void {
    this.ready = false;
    this.broken = null;
    this.mem = null;
    this.desc = this.avail = this.usedRing = EMPTY_VIEW;
    this.size = this.mask = 0;
    this.lastAvail = this.usedIdx = this.shadowAvail = this.signalledUsed = 0;
    this.signalledValid = false;
    this.inflight = 0;
    this.pending = 0;
  }

  get isReady(): boolean {
    return this.ready && this.broken === null;
  }

  /** Buffers the driver has made available and we have not popped; -1 if the ring is unusable. */
  availCount(): number {
    if (!this.ready || this.broken !== null) return -1;
    try {
      return this.readAvailIdx() ? (this.shadowAvail - this.lastAvail) & 0xffff : -1;
    } catch (e) {
      return this.failException(e);
    }
  }

  /** Pop the next chain into `chain`: 1 popped, 0 ring empty, -1 broken / not set up. */
  pop(chain: DescChain): number {
    if (!this.ready || this.broken !== null) return -1;
    try {
      if (this.shadowAvail === this.lastAvail) {
        if (!this.readAvailIdx()) return -1;
        if (this.shadowAvail === this.lastAvail) return 0;
      }
      const head = this.avail.getUint16(AVAIL_RING + 2 * (this.lastAvail & this.mask), true);
      if (!this.walk(head, chain)) return -1;
      this.lastAvail = (this.lastAvail + 1) & 0xffff;
      this.popped++;
      this.inflight++;
      return 1;
    } catch (e) {
      return this.failException(e);
    }
  }

  /** Un-pop the last `n` chains (not yet pushed): they will be popped again. False if n is not valid. */
  rewind(n: number): boolean {
    if (!this.ready || this.broken !== null || !Number.isInteger(n) || n < 0 || n > this.inflight) return false;
    this.lastAvail = (this.lastAvail - n) & 0xffff;
    this.inflight -= n;
    this.popped -= n;
    this.rewound += n;
    return true;
  }

  /** Return a chain to the driver: used element {head, len} (len = bytes written). Visible after flushUsed().
   *  False (nothing written) if the ring is unusable, head is out of range, or a whole ring of elements is
   *  already pending (a caller bug that would overwrite unpublished entries). */
  pushUsed(head: number, len: number): boolean {
    if (!this.ready || this.broken !== null || !(head >= 0 && head < this.size) || this.pending >= this.size) return false;
    try {
      const o = USED_RING + VRING_USED_ELEM_SIZE * (this.usedIdx & this.mask);
      this.usedRing.setUint32(o, head, true);
      this.usedRing.setUint32(o + 4, len >>> 0, true);
    } catch (e) {
      this.failException(e);
      return false;
    }
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    this.pending++;
    this.used++;
    if (this.inflight > 0) this.inflight--;
    return true;
  }

  /** Publish pushed elements (used.idx) and decide whether to interrupt the driver (vhost_notify).
   *  True: the caller must signal the call eventfd. */
  flushUsed(): boolean {
    if (!this.ready || this.broken !== null) return false;
    if (this.pending === 0) return false;
    this.pending = 0;
    const newIdx = this.usedIdx;
    const old = this.signalledUsed;
    try {
      fenceRelease(); // used elements before used.idx
      this.usedRing.setUint16(USED_IDX, newIdx, true);
      fenceSeqCst(); // used.idx store before reading the driver's used_event / flags
      let notify: boolean;
      if (this.eventIdx) {
        const valid = this.signalledValid;
        this.signalledUsed = newIdx;
        this.signalledValid = true;
        const usedEvent = this.avail.getUint16(this.usedEventOff, true);
        // vring_need_event(used_event, new, old); first decision after setup always signals
        notify = !valid || ((newIdx - usedEvent - 1) & 0xffff) < ((newIdx - old) & 0xffff);
      } else {
        this.signalledUsed = newIdx;
        this.signalledValid = true;
        notify = (this.avail.getUint16(AVAIL_FLAGS, true) & VRING_AVAIL_F_NO_INTERRUPT) === 0;
      }
      if (notify) this.signals++;
      else this.suppressed++;
      return notify;
    } catch (e) {
      this.failException(e);
      return false;
    }
  }

  /** Ask for kicks again (vhost_enable_notify). True if buffers are already available (poll again). */
  enableNotify(): boolean {
    if (!this.ready || this.broken !== null) return false;
    try {
      if (this.eventIdx) this.usedRing.setUint16(this.availEventOff, this.lastAvail, true);
      else this.usedRing.setUint16(USED_FLAGS, 0, true);
      fenceSeqCst(); // our store before re-reading avail.idx: closes the race with a driver that just added
      if (!this.readAvailIdx()) return false;
      return this.shadowAvail !== this.lastAvail;
    } catch (e) {
      this.failException(e);
      return false;
    }
  }

  /** Stop asking for kicks while we poll (vhost_disable_notify; a no-op with EVENT_IDX). */
  disableNotify(): void {
    if (!this.ready || this.broken !== null || this.eventIdx) return;
    try {
      this.usedRing.setUint16(USED_FLAGS, VRING_USED_F_NO_NOTIFY, true);
    } catch (e) {
      this.failException(e);
    }
  }

  // ---- internals ----

  private mapRings(mem: GuestMemory): string | null {
    const q = this.size;
    const d = this.view(mem, this.descUva, vringDescSize(q));
    if (d === null) return `desc ring [0x${this.descUva.toString(16)}, +${vringDescSize(q)}) not inside one memory region`;
    const a = this.view(mem, this.availUva, vringAvailSize(q, this.eventIdx));
    if (a === null) return `avail ring [0x${this.availUva.toString(16)}, +${vringAvailSize(q, this.eventIdx)}) not inside one memory region`;
    const u = this.view(mem, this.usedUva, vringUsedSize(q, this.eventIdx));
    if (u === null) return `used ring [0x${this.usedUva.toString(16)}, +${vringUsedSize(q, this.eventIdx)}) not inside one memory region`;
    this.mem = mem;
    this.desc = d;
    this.avail = a;
    this.usedRing = u;
    this.usedEventOff = usedEventOffset(q);
    this.availEventOff = availEventOffset(q);
    return null;
  }

  private view(mem: GuestMemory, uva: number, len: number): DataView | null {
    const off = mem.translateUva(uva, len);
    if (off < 0) return null;
    const b = mem.lastRegion;
    return new DataView(b.buffer, b.byteOffset + off, len);
  }

  /** read avail.idx then acquire-fence (ring entries read later are at least that new); checks the jump */
  private readAvailIdx(): boolean {
    const idx = this.avail.getUint16(AVAIL_IDX, true);
    fenceAcquire();
    const n = (idx - this.lastAvail) & 0xffff;
    if (n > this.size) {
      this.fail(`avail index jumped from ${this.lastAvail} to ${idx}: ${n} new buffers exceed queue size ${this.size}`);
      return false;
    }
    this.shadowAvail = idx;
    return true;
  }

  /** vhost_get_vq_desc: validate and translate the chain at `head` into `chain`. False → ring broken. */
  private walk(head: number, chain: DescChain): boolean {
    const q = this.size;
    if (head >= q) return this.fail(`head index ${head} out of range (queue size ${q})`);
    const mem = this.mem as GuestMemory;
    const expect = this.expect;
    chain.clear();
    chain.head = head;
    let table = this.desc; // current descriptor table (ring table or an indirect table)
    let base = 0; // byte offset of the table inside `table`
    let tableLen = q;
    let inIndirect = false;
    let i = head;
    let hops = 0; // descriptors visited in the current table (loop detection)
    let total = 0; // descriptors visited in the whole chain (spec: chain length ≤ queue size)
    let sawWritable = false;
    for (;;) {
      if (++hops > tableLen) {
        return this.fail(`head ${head}: descriptor loop (more than ${tableLen} hops in ${inIndirect ? 'indirect table' : 'ring'})`);
      }
      const o = base + i * VRING_DESC_SIZE;
      const lo = table.getUint32(o, true);
      const hi = table.getUint32(o + 4, true);
      const len = table.getUint32(o + DESC_LEN, true);
      const flags = table.getUint16(o + DESC_FLAGS, true);
      const next = table.getUint16(o + DESC_NEXT, true);

      if (flags & VRING_DESC_F_INDIRECT) {
        if (inIndirect) return this.fail(`head ${head}: indirect descriptor ${i} points to another indirect table (nesting not allowed)`);
        if (!this.indirect) return this.fail(`head ${head}: descriptor ${i} is INDIRECT but VIRTIO_RING_F_INDIRECT_DESC was not negotiated`);
        if (flags & VRING_DESC_F_NEXT) return this.fail(`head ${head}: descriptor ${i} has both INDIRECT and NEXT`);
        if (len === 0 || len % VRING_DESC_SIZE !== 0 || len > q * VRING_DESC_SIZE) {
          return this.fail(`head ${head}: indirect table length ${len} invalid (must be a non-zero multiple of 16, at most ${q * VRING_DESC_SIZE})`);
        }
        const off = hi >= ADDR_HI_LIMIT ? -1 : mem.translateGpa(hi * 0x100000000 + lo, len);
        if (off < 0) return this.fail(`head ${head}: indirect table [${addr(hi, lo)}, +${len}) outside guest memory`);
        // WRITE on the descriptor pointing to the table is ignored (spec)
        table = mem.lastView;
        base = off;
        tableLen = len / VRING_DESC_SIZE;
        inIndirect = true;
        i = 0;
        hops = 0;
        continue;
      }

      if (++total > q) return this.fail(`head ${head}: chain longer than queue size ${q}`);
      const writable = (flags & VRING_DESC_F_WRITE) !== 0;
      if (writable) {
        if (expect === 'readable') return this.fail(`head ${head}: ${where(inIndirect, i)} is device-writable in a device-readable (transmit) queue`);
        sawWritable = true;
      } else {
        if (expect === 'writable') return this.fail(`head ${head}: ${where(inIndirect, i)} is device-readable in a device-writable (receive) queue`);
        if (sawWritable) return this.fail(`head ${head}: readable ${where(inIndirect, i)} after a writable one`);
      }
      if (len > 0) {
        const off = hi >= ADDR_HI_LIMIT ? -1 : mem.translateGpa(hi * 0x100000000 + lo, len);
        if (off < 0) return this.fail(`head ${head}: ${where(inIndirect, i)} buffer [${addr(hi, lo)}, +${len}) outside guest memory`);
        chain.add(mem.lastRegion, off, len, writable);
      }
      if ((flags & VRING_DESC_F_NEXT) === 0) return true;
      if (next >= tableLen) return this.fail(`head ${head}: ${where(inIndirect, i)} next index ${next} out of range (table size ${tableLen})`);
      i = next;
    }
  }

  private fail(reason: string): false {
    if (this.broken === null) {
      this.broken = reason;
      this.errors++;
      this.onBroken(reason);
    }
    return false;
  }

  /** a DataView access threw: memory went away under us (e.g. unmapped before remap) */
  private failException(e: unknown): -1 {
    this.fail(`guest memory access failed: ${e instanceof Error ? e.message : String(e)}`);
    return -1;
  }
}

/** descriptor name for error texts (built only on the error path) */
function where(inIndirect: boolean, i: number): string {
  return inIndirect ? `indirect descriptor ${i}` : `descriptor ${i}`;
}

function addr(hi: number, lo: number): string {
  return `0x${(BigInt(hi) * 0x100000000n + BigInt(lo)).toString(16)}`;
}
