// Guest RAM as the back-end sees it: the regions of a vhost-user memory table, each a byte view of our
// mapping. Translates guest-physical (descriptor) and QEMU-virtual (ring) addresses to (region, offset),
// overflow-safe (vhost-user.md §3.2; passt "Tighten vu_packet_check_range()").
// Addresses are JS numbers: exact below 2^53, which covers every real guest (a 64-bit address whose high
// word is ≥ 2^21 is outside any region by construction).
//
// A buffer that crosses from one region into the next is rejected (translate → -1). libvhost-user splits
// such buffers into two iovecs; QEMU's RAM layouts keep GPA-adjacent regions apart (VGA hole), and Linux
// buffers are page-bounded, so we do not split for now.

export interface GuestMemoryRegion {
  /** guest-physical address of the region start */
  gpa: number;
  size: number;
  /** front-end (QEMU) virtual address of the region start: ring addresses use it */
  uva: number;
  /** a view of exactly `size` bytes at the region's start */
  bytes: Uint8Array;
}

const EMPTY_BYTES: Uint8Array = new Uint8Array(0);
const EMPTY_VIEW: DataView = new DataView(new ArrayBuffer(0));
/** 2^53: first address a JS number cannot hold exactly */
const ADDR_LIMIT = Number.MAX_SAFE_INTEGER + 1;

export class GuestMemory {
  readonly regions: readonly GuestMemoryRegion[];
  /** one DataView per region over exactly its bytes (for reading descriptor tables in place) */
  readonly views: readonly DataView[];
  /** bytes / DataView / index of the region found by the last successful translation */
  lastRegion: Uint8Array = EMPTY_BYTES;
  lastView: DataView = EMPTY_VIEW;
  lastIndex = -1;

  private readonly n: number;
  private readonly gpaStart: Float64Array;
  private readonly uvaStart: Float64Array;
  private readonly sizes: Float64Array;
  private readonly bytesOf: Uint8Array[];
  /** region of the last hit, tried first: consecutive buffers usually sit in the same region */
  private hint = 0;

  /** Throws on a table `validate()` rejects (cold path: callers validate first and report the text). */
  constructor(regions: readonly GuestMemoryRegion[]) {
    const err = GuestMemory.validate(regions);
    if (err !== null) throw new Error(`invalid guest memory table: ${err}`);
    this.regions = regions.slice();
    this.n = regions.length;
    this.gpaStart = new Float64Array(regions.map((r) => r.gpa));
    this.uvaStart = new Float64Array(regions.map((r) => r.uva));
    this.sizes = new Float64Array(regions.map((r) => r.size));
    this.bytesOf = regions.map((r) => r.bytes);
    this.views = regions.map((r) => new DataView(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength));
  }

  /** Error text for a table we must not use, or null: no regions, bad numbers, zero size, end beyond 2^53,
   *  bytes not matching size, overlapping GPA or UVA ranges (vhost-user.md §3.1, current spec). */
  static validate(regions: readonly GuestMemoryRegion[]): string | null {
    if (!Array.isArray(regions) || regions.length === 0) return 'memory table has no regions';
    for (let i = 0; i < regions.length; i++) {
      const r = regions[i];
      for (const k of ['gpa', 'size', 'uva'] as const) {
        if (!Number.isSafeInteger(r[k]) || r[k] < 0) return `region ${i}: ${k} ${String(r[k])} is not a valid address/size`;
      }
      if (r.size === 0) return `region ${i}: zero size`;
      if (r.size > ADDR_LIMIT - r.gpa) return `region ${i}: gpa 0x${hex(r.gpa)} + size 0x${hex(r.size)} overflows`;
      if (r.size > ADDR_LIMIT - r.uva) return `region ${i}: uva 0x${hex(r.uva)} + size 0x${hex(r.size)} overflows`;
      if (!(r.bytes instanceof Uint8Array) || r.bytes.byteLength !== r.size) {
        return `region ${i}: bytes view length ${r.bytes instanceof Uint8Array ? r.bytes.byteLength : 'n/a'} != size 0x${hex(r.size)}`;
      }
    }
    for (let i = 0; i < regions.length; i++) {
      for (let j = i + 1; j < regions.length; j++) {
        const a = regions[i];
        const b = regions[j];
        if (a.gpa < b.gpa + b.size && b.gpa < a.gpa + a.size) return `regions ${i} and ${j} overlap in guest-physical space`;
        if (a.uva < b.uva + b.size && b.uva < a.uva + a.size) return `regions ${i} and ${j} overlap in user-virtual space`;
      }
    }
    return null;
  }

  /** Offset of `gpa` inside the region holding all of [gpa, gpa+len), or -1. Sets lastRegion/lastView/lastIndex. */
  translateGpa(gpa: number, len: number): number {
    return this.find(this.gpaStart, gpa, len);
  }

  /** Same for a front-end virtual address (ring addresses from SET_VRING_ADDR). */
  translateUva(uva: number, len: number): number {
    return this.find(this.uvaStart, uva, len);
  }

  private find(starts: Float64Array, addr: number, len: number): number {
    if (!(len >= 0)) return -1; // also rejects NaN
    const n = this.n;
    let i = this.hint;
    for (let k = 0; k < n; k++) {
      const off = addr - starts[i];
      const size = this.sizes[i];
      // overflow-safe: never computes addr + len
      if (off >= 0 && off < size && len <= size - off) {
        this.hint = i;
        this.lastIndex = i;
        this.lastRegion = this.bytesOf[i];
        this.lastView = this.views[i];
        return off;
      }
      if (++i === n) i = 0;
    }
    return -1;
  }
}

function hex(n: number): string {
  return n.toString(16);
}
