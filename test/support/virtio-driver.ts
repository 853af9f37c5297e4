// Test-side guest: RAM in a real memfd (MAP_SHARED), laid out in regions the way QEMU describes them in
// SET_MEM_TABLE, and a split-ring driver that behaves like Linux drivers/virtio/virtio_ring.c (vring
// layout, free descriptor list, virtqueue_add / kick_prepare / get_buf) plus raw pokes for hostile tests.
// The back-end under test maps the same memfd separately (mapAgain() in-process, or the fd sent over a
// vhost-user socket), so every test exercises real shared memory.
//
// Test support, not product code: it throws on misuse.

import { Mapping, close, fenceAcquire, fenceRelease, fenceSeqCst, memfdCreate, mmap } from 'net-vde';
import { GuestMemory, GuestMemoryRegion } from '../../devices/virtio/guest-memory';
import {
  AVAIL_FLAGS, AVAIL_IDX, AVAIL_RING, DESC_FLAGS, DESC_LEN, DESC_NEXT, USED_FLAGS, USED_IDX, USED_RING,
  VRING_AVAIL_F_NO_INTERRUPT, VRING_DESC_F_INDIRECT, VRING_DESC_F_NEXT, VRING_DESC_F_WRITE, VRING_DESC_SIZE,
  VRING_USED_ELEM_SIZE, VRING_USED_F_NO_NOTIFY, availEventOffset, usedEventOffset, vring_need_event,
} from '../../devices/virtio/ring-layout';

export interface RamLayout {
  gpa: number;
  size: number;
}

/** What a vhost-user front-end puts in SET_MEM_TABLE for one region (plus the fd it attaches). */
export interface SharedRegion {
  gpa: number;
  size: number;
  uva: number;
  mmapOffset: number;
  fd: number;
}

/** QEMU pc machine shape, scaled down: RAM below the VGA hole, then the rest (vhost-user.md §3.1) */
export function pcLayout(ramSize = 0x200000): RamLayout[] {
  return [{ gpa: 0, size: 0xa0000 }, { gpa: 0xc0000, size: ramSize - 0xc0000 }];
}

export const PAGE = 4096;
/** bytes of the memfd outside every region hold this; guardsIntact() checks nobody wrote there */
export const GUARD_BYTE = 0xa5;
/** pretend QEMU mapped the memfd here (a typical x86-64 mmap address, exact as a JS number) */
const UVA_BASE = 0x7f3a_5c00_0000;

const alignUp = (v: number, a: number): number => Math.ceil(v / a) * a;

/** Guest RAM: one memfd, regions at file offsets separated by guard pages. */
export class GuestRam {
  readonly fd: number;
  readonly fileSize: number;
  readonly regions: SharedRegion[];
  /** the driver's (guest's) mapping of the whole memfd */
  readonly mapping: Mapping;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  private readonly nextFree: number[];
  private readonly extraMappings: Mapping[] = [];

  constructor(layout: RamLayout[] = pcLayout(), name = 'guest-ram') {
    let off = PAGE; // guard page before the first region
    this.regions = layout.map((l) => {
      const r = { gpa: l.gpa, size: l.size, uva: UVA_BASE + off, mmapOffset: off, fd: -1 };
      off = alignUp(off + l.size + PAGE, PAGE); // guard page after each region
      return r;
    });
    this.fileSize = off;
    this.fd = memfdCreate(name, this.fileSize);
    for (const r of this.regions) r.fd = this.fd;
    this.mapping = mmap(this.fd, this.fileSize);
    this.bytes = new Uint8Array(this.mapping.buffer);
    this.view = new DataView(this.mapping.buffer);
    this.bytes.fill(GUARD_BYTE);
    for (const r of this.regions) this.bytes.fill(0, r.mmapOffset, r.mmapOffset + r.size);
    // keep the first page of guest-physical 0 unused, as firmware does: a zero address is then never valid data
    this.nextFree = this.regions.map((r) => (r.gpa === 0 ? PAGE : r.gpa));
  }

  /** A second, independent MAP_SHARED mapping of the memfd — what the back-end does with the region fds. */
  mapAgain(): Mapping {
    const m = mmap(this.fd, this.fileSize);
    this.extraMappings.push(m);
    return m;
  }

  /** Memory-table regions as GuestMemory wants them, over `mapping` (default: a fresh back-end mapping). */
  memRegions(mapping: Mapping = this.mapAgain()): GuestMemoryRegion[] {
    return this.regions.map((r) => ({
      gpa: r.gpa, size: r.size, uva: r.uva, bytes: new Uint8Array(mapping.buffer, r.mmapOffset, r.size),
    }));
  }

  guestMemory(mapping?: Mapping): GuestMemory {
    return new GuestMemory(this.memRegions(mapping));
  }

  /** Bump-allocate guest-physical memory (never freed; tests are short). */
  alloc(len: number, align = 16): number {
    for (let i = 0; i < this.regions.length; i++) {
      const r = this.regions[i];
      const p = alignUp(this.nextFree[i], align);
      if (p + len <= r.gpa + r.size) {
        this.nextFree[i] = p + Math.max(len, 1);
        return p;
      }
    }
    throw new Error(`guest RAM exhausted allocating ${len} bytes`);
  }

  /** file offset of [gpa, gpa+len) (must lie inside one region) */
  offsetOf(gpa: number, len = 1): number {
    for (const r of this.regions) {
      if (gpa >= r.gpa && gpa + len <= r.gpa + r.size) return r.mmapOffset + (gpa - r.gpa);
    }
    throw new Error(`gpa 0x${gpa.toString(16)}+${len} is not inside one region`);
  }

  gpaToUva(gpa: number): number {
    for (const r of this.regions) if (gpa >= r.gpa && gpa < r.gpa + r.size) return r.uva + (gpa - r.gpa);
    throw new Error(`gpa 0x${gpa.toString(16)} is not guest RAM`);
  }

  /** a live view of guest memory (driver mapping) */
  at(gpa: number, len: number): Uint8Array {
    const o = this.offsetOf(gpa, len);
    return this.bytes.subarray(o, o + len);
  }
  write(gpa: number, data: Uint8Array): void {
    this.at(gpa, data.length).set(data);
  }
  read(gpa: number, len: number): Uint8Array {
    return this.at(gpa, len).slice();
  }

  /** true when no byte of the memfd outside the regions changed */
  guardsIntact(): boolean {
    let pos = 0;
    for (const r of [...this.regions].sort((a, b) => a.mmapOffset - b.mmapOffset)) {
      for (let i = pos; i < r.mmapOffset; i++) if (this.bytes[i] !== GUARD_BYTE) return false;
      pos = r.mmapOffset + r.size;
    }
    for (let i = pos; i < this.fileSize; i++) if (this.bytes[i] !== GUARD_BYTE) return false;
    return true;
  }

  close(): void {
    for (const m of this.extraMappings) if (m.mapped) m.unmap();
    if (this.mapping.mapped) this.mapping.unmap();
    close(this.fd);
  }
}

export interface ChainSeg {
  /** bytes the device should read (copied into a fresh guest buffer) */
  data?: Uint8Array;
  /** buffer length when no data (default data.length) */
  len?: number;
  /** device-writable (receive buffer) */
  writable?: boolean;
  /** use this guest-physical address instead of allocating (raw tests) */
  gpa?: number;
}

export interface UsedElem {
  id: number;
  len: number;
}

interface Outstanding {
  descs: number[];
  segs: { gpa: number; len: number; writable: boolean }[];
}

/** The guest driver of one split ring. */
export class VirtqDriver {
  readonly size: number;
  readonly eventIdx: boolean;
  readonly descGpa: number;
  readonly availGpa: number;
  readonly usedGpa: number;
  /** shadow of avail.idx: where the next addChain/postHead lands */
  availIdx: number;
  /** next used element the driver has not consumed */
  lastUsed: number;
  private publishedIdx: number;
  private readonly free: number[] = [];
  private readonly outstanding = new Map<number, Outstanding>();
  private readonly v: DataView;
  private readonly descOff: number;
  private readonly availOff: number;
  private readonly usedOff: number;

  /** Lays the ring out like Linux vring_init with SMP_CACHE_BYTES alignment: desc table page-aligned, avail
   *  right after it (desc + 16·Q), used at the next 64-byte boundary (observed avail+0x240 for Q=256). */
  constructor(readonly ram: GuestRam, size: number, opts: { eventIdx?: boolean; startIdx?: number } = {}) {
    this.size = size;
    this.eventIdx = opts.eventIdx ?? false;
    const availLen = AVAIL_RING + 2 * size + 2; // Linux always allocates used_event
    const usedRel = alignUp(VRING_DESC_SIZE * size + availLen, 64);
    const total = usedRel + USED_RING + VRING_USED_ELEM_SIZE * size + 2;
    this.descGpa = ram.alloc(total, PAGE);
    this.availGpa = this.descGpa + VRING_DESC_SIZE * size;
    this.usedGpa = this.descGpa + usedRel;
    ram.at(this.descGpa, total).fill(0);
    this.v = ram.view;
    this.descOff = ram.offsetOf(this.descGpa, VRING_DESC_SIZE * size);
    this.availOff = ram.offsetOf(this.availGpa, availLen);
    this.usedOff = ram.offsetOf(this.usedGpa, total - usedRel);
    for (let i = size - 1; i >= 0; i--) this.free.push(i);
    const start = (opts.startIdx ?? 0) & 0xffff;
    this.availIdx = this.lastUsed = this.publishedIdx = start;
    // a fresh ring as the device left it at `start` (tests of 16-bit wrap begin near 65535)
    this.v.setUint16(this.availOff + AVAIL_IDX, start, true);
    this.v.setUint16(this.usedOff + USED_IDX, start, true);
  }

  get descUva(): number { return this.ram.gpaToUva(this.descGpa); }
  get availUva(): number { return this.ram.gpaToUva(this.availGpa); }
  get usedUva(): number { return this.ram.gpaToUva(this.usedGpa); }
  get freeCount(): number { return this.free.length; }

  /** virtqueue_add: put a chain in the ring (not yet published). Returns the head, or -1 if out of descriptors. */
  addChain(segs: ChainSeg[], opts: { indirect?: boolean } = {}): number {
    if (segs.length === 0) throw new Error('empty chain');
    const placed = segs.map((s) => {
      const len = s.len ?? s.data?.length ?? 0;
      const gpa = s.gpa ?? this.ram.alloc(Math.max(len, 1), 16);
      if (s.data) this.ram.write(gpa, s.data);
      return { gpa, len, writable: s.writable ?? false };
    });
    let descs: number[];
    if (opts.indirect) {
      if (this.free.length < 1) return -1;
      const table = this.ram.alloc(VRING_DESC_SIZE * placed.length, 16);
      placed.forEach((p, i) => {
        const last = i === placed.length - 1;
        this.writeDescAt(table, i, p.gpa, p.len, (p.writable ? VRING_DESC_F_WRITE : 0) | (last ? 0 : VRING_DESC_F_NEXT), last ? 0 : i + 1);
      });
      descs = [this.free.pop() as number];
      this.writeDesc(descs[0], table, VRING_DESC_SIZE * placed.length, VRING_DESC_F_INDIRECT, 0);
    } else {
      if (this.free.length < placed.length) return -1;
      descs = placed.map(() => this.free.pop() as number);
      placed.forEach((p, i) => {
        const last = i === placed.length - 1;
        this.writeDesc(descs[i], p.gpa, p.len, (p.writable ? VRING_DESC_F_WRITE : 0) | (last ? 0 : VRING_DESC_F_NEXT), last ? 0 : descs[i + 1]);
      });
    }
    this.outstanding.set(descs[0], { descs, segs: placed });
    this.postHead(descs[0]);
    return descs[0];
  }

  /** Make posted heads visible (store avail.idx after a release fence) and decide whether to kick the
   *  device, as virtqueue_kick_prepare_split: EVENT_IDX → vring_need_event(avail_event, new, old), else
   *  !(used.flags & NO_NOTIFY). */
  publish(): boolean {
    fenceRelease();
    this.v.setUint16(this.availOff + AVAIL_IDX, this.availIdx, true);
    fenceSeqCst();
    const old = this.publishedIdx;
    this.publishedIdx = this.availIdx;
    if (this.eventIdx) return vring_need_event(this.availEvent(), this.availIdx, old);
    return (this.usedFlags() & VRING_USED_F_NO_NOTIFY) === 0;
  }

  /** virtqueue_get_buf for everything the device completed; frees their descriptors. */
  getUsed(): UsedElem[] {
    const idx = this.usedIdx();
    fenceAcquire();
    const out: UsedElem[] = [];
    while (this.lastUsed !== idx) {
      const e = this.usedElem(this.lastUsed % this.size);
      const o = this.outstanding.get(e.id);
      if (!o) throw new Error(`device returned head ${e.id} that is not outstanding`);
      this.outstanding.delete(e.id);
      for (const d of o.descs) this.free.push(d);
      out.push(e);
      this.lastUsed = (this.lastUsed + 1) & 0xffff;
    }
    return out;
  }

  /** the segments of an outstanding chain (to read what the device wrote) */
  segmentsOf(head: number): { gpa: number; len: number; writable: boolean }[] {
    const o = this.outstanding.get(head);
    if (!o) throw new Error(`head ${head} not outstanding`);
    return o.segs;
  }

  /** Driver side of interrupt suppression (virtqueue_enable_cb_prepare): EVENT_IDX → used_event = lastUsed,
   *  else clear NO_INTERRUPT. */
  enableInterrupts(): void {
    if (this.eventIdx) this.setUsedEvent(this.lastUsed);
    else this.setAvailFlags(0);
    fenceSeqCst();
  }
  disableInterrupts(): void {
    this.setAvailFlags(VRING_AVAIL_F_NO_INTERRUPT);
  }

  // ---- raw access (hostile tests) ----

  /** write ring descriptor i; addr may be a bigint for values beyond 2^53 */
  writeDesc(i: number, addr: number | bigint, len: number, flags: number, next: number): void {
    this.putDesc(this.descOff + i * VRING_DESC_SIZE, addr, len, flags, next);
  }
  /** write entry i of a descriptor table at guest-physical `tableGpa` (indirect tables) */
  writeDescAt(tableGpa: number, i: number, addr: number | bigint, len: number, flags: number, next: number): void {
    this.putDesc(this.ram.offsetOf(tableGpa + i * VRING_DESC_SIZE, VRING_DESC_SIZE), addr, len, flags, next);
  }
  /** put `head` in the next avail slot (no check at all); publish() makes it visible */
  postHead(head: number): void {
    this.v.setUint16(this.availOff + AVAIL_RING + 2 * (this.availIdx % this.size), head & 0xffff, true);
    this.availIdx = (this.availIdx + 1) & 0xffff;
  }
  /** store avail.idx directly */
  setAvailIdx(idx: number): void {
    fenceRelease();
    this.v.setUint16(this.availOff + AVAIL_IDX, idx & 0xffff, true);
    this.availIdx = this.publishedIdx = idx & 0xffff;
  }
  setAvailFlags(flags: number): void {
    this.v.setUint16(this.availOff + AVAIL_FLAGS, flags, true);
  }
  setUsedEvent(idx: number): void {
    this.v.setUint16(this.availOff + usedEventOffset(this.size), idx & 0xffff, true);
  }
  usedIdx(): number {
    return this.v.getUint16(this.usedOff + USED_IDX, true);
  }
  usedFlags(): number {
    return this.v.getUint16(this.usedOff + USED_FLAGS, true);
  }
  availEvent(): number {
    return this.v.getUint16(this.usedOff + availEventOffset(this.size), true);
  }
  usedElem(slot: number): UsedElem {
    const o = this.usedOff + USED_RING + VRING_USED_ELEM_SIZE * slot;
    return { id: this.v.getUint32(o, true), len: this.v.getUint32(o + 4, true) };
  }
  /** a copy of the whole ring area (desc, avail, used) — to prove a broken device stopped writing */
  snapshot(): Uint8Array {
    const end = this.usedGpa + USED_RING + VRING_USED_ELEM_SIZE * this.size + 2;
    return this.ram.read(this.descGpa, end - this.descGpa);
  }

  private putDesc(o: number, addr: number | bigint, len: number, flags: number, next: number): void {
    this.v.setBigUint64(o, BigInt(addr), true);
    this.v.setUint32(o + DESC_LEN, len >>> 0, true);
    this.v.setUint16(o + DESC_FLAGS, flags, true);
    this.v.setUint16(o + DESC_NEXT, next & 0xffff, true);
  }
}
