// Maps a vhost-user memory table (SET_MEM_TABLE regions + their fds) into our process through net-vde,
// with every bound checked before mmap (an mmap_offset beyond the file would SIGBUS on first touch).
import * as vde from 'net-vde';
import { GuestMemory } from '../virtio/guest-memory';

export interface RegionDesc {
  gpa: number;
  size: number;
  uva: number;
  mmapOffset: number;
}

export interface MappedTable {
  memory: GuestMemory;
  mappings: vde.Mapping[];
}

const PAGE = 4096;
/** Node 20 cannot make a Buffer larger than 4 GiB (buffer.constants.MAX_LENGTH) */
const MAX_REGION = 2 ** 32;
/** JS numbers are exact below 2^53 */
const MAX_ADDR = 2 ** 53;

/** read a u64 field as a JS number, or -1 when it does not fit exactly */
export function u64(view: DataView, off: number): number {
  const lo = view.getUint32(off, true);
  const hi = view.getUint32(off + 4, true);
  if (hi >= 2 ** 21) return -1;
  return hi * 2 ** 32 + lo;
}

export function validateRegion(r: RegionDesc): string | null {
  if (r.gpa < 0 || r.size < 0 || r.uva < 0 || r.mmapOffset < 0) return 'address field beyond 2^53';
  if (r.size === 0) return 'zero-size region';
  if (r.size > MAX_REGION) return `region of ${r.size} bytes exceeds the 4 GiB we can map as one view`;
  if (r.gpa + r.size > MAX_ADDR || r.uva + r.size > MAX_ADDR || r.mmapOffset + r.size > MAX_ADDR) {
    return 'region end overflows';
  }
  return null;
}

/** map every region (fd i belongs to region i); on any failure nothing stays mapped */
export function mapRegions(regions: RegionDesc[], fds: number[]): MappedTable | string {
  const mappings: vde.Mapping[] = [];
  const views: { gpa: number; size: number; uva: number; bytes: Uint8Array }[] = [];
  const undo = (why: string): string => {
    for (const m of mappings) m.unmap();
    return why;
  };
  for (let i = 0; i < regions.length; i++) {
    const r = regions[i];
    const bad = validateRegion(r);
    if (bad) return undo(`region ${i}: ${bad}`);
    let fileSize: number;
    try {
      fileSize = vde.fstatSize(fds[i]);
    } catch (e) {
      return undo(`region ${i}: fstat failed: ${(e as Error).message}`);
    }
    if (r.mmapOffset + r.size > fileSize) {
      return undo(`region ${i}: mmap_offset ${r.mmapOffset} + size ${r.size} beyond the file's ${fileSize} bytes`);
    }
    const start = Math.floor(r.mmapOffset / PAGE) * PAGE;
    const delta = r.mmapOffset - start;
    let m: vde.Mapping;
    try {
      m = vde.mmap(fds[i], r.size + delta, start);
    } catch (e) {
      return undo(`region ${i}: mmap failed: ${(e as Error).message}`);
    }
    mappings.push(m);
    views.push({ gpa: r.gpa, size: r.size, uva: r.uva, bytes: Buffer.from(m.buffer, delta, r.size) });
  }
  const overlap = GuestMemory.validate(views);
  if (overlap) return undo(overlap);
  return { memory: new GuestMemory(views), mappings };
}

export function unmapAll(table: MappedTable | null): void {
  if (!table) return;
  for (const m of table.mappings) m.unmap();
}
