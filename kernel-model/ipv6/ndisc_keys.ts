// Numeric keys for IPv6 neighbours. The neighbour cache (arp/neighbour.ts, net/core/neighbour.c's state
// machine) keys entries by a number; an IPv6 address is 16 bytes. This table interns addresses into small
// integer ids with open addressing over flat arrays, so lookups on the hot path allocate nothing.
// Ids of neighbours the cache has destroyed are reclaimed when the table fills (compact()).

const EMPTY = -1;

export class NdiscKeys {
  /** address bytes by id */
  private addrs: Uint8Array;
  /** open-addressing slots holding ids (EMPTY when free) */
  private slots: Int32Array;
  private mask: number;
  private nextId = 0;
  private readonly freeIds: number[] = [];
  count = 0;

  /** capacity: ids available before compact() must reclaim (≥ the neighbour table's gc_thresh3) */
  constructor(readonly capacity = 1024) {
    this.addrs = new Uint8Array(capacity * 16);
    let n = 1;
    while (n < capacity * 2) n <<= 1;
    this.slots = new Int32Array(n).fill(EMPTY);
    this.mask = n - 1;
  }

  private hash(b: Uint8Array, o: number): number {
    // FNV-1a over the 16 bytes
    let h = 0x811c9dc5;
    for (let i = 0; i < 16; i++) h = Math.imul(h ^ b[o + i], 0x01000193);
    return (h ^ (h >>> 16)) & this.mask;
  }

  private eqId(id: number, b: Uint8Array, o: number): boolean {
    const a = this.addrs;
    const base = id * 16;
    for (let i = 0; i < 16; i++) if (a[base + i] !== b[o + i]) return false;
    return true;
  }

  /** the id of the address at b[o], or -1 when not interned */
  find(b: Uint8Array, o: number): number {
    let s = this.hash(b, o);
    for (;;) {
      const id = this.slots[s];
      if (id === EMPTY) return -1;
      if (this.eqId(id, b, o)) return id;
      s = (s + 1) & this.mask;
    }
  }

  /**
   * the id of the address at b[o], interning it when new; -1 when the table is full even after
   * reclaiming the ids that `live()` (the ids the neighbour cache still uses; cold path) does not hold
   */
  intern(b: Uint8Array, o: number, live: () => Set<number>): number {
    const found = this.find(b, o);
    if (found >= 0) return found;
    if (this.freeIds.length === 0 && this.nextId >= this.capacity) this.compact(live);
    let id: number;
    if (this.freeIds.length > 0) id = this.freeIds.pop()!;
    else if (this.nextId < this.capacity) id = this.nextId++;
    else return -1;
    this.addrs.set(b.subarray(o, o + 16), id * 16);
    this.insertSlot(id);
    this.count++;
    return id;
  }

  /** copy the address of `id` to out[oo] */
  copy(id: number, out: Uint8Array, oo: number): void {
    out.set(this.addrs.subarray(id * 16, id * 16 + 16), oo);
  }

  /** the address bytes of `id` (a view; valid until the id is reclaimed) */
  view(id: number): Uint8Array {
    return this.addrs.subarray(id * 16, id * 16 + 16);
  }

  /** rebuild the slots from the ids still in use; every other id becomes free */
  compact(liveIds: () => Set<number>): void {
    const live = liveIds();
    this.slots.fill(EMPTY);
    this.freeIds.length = 0;
    this.count = 0;
    for (let id = this.nextId - 1; id >= 0; id--) {
      if (live.has(id)) {
        this.insertSlot(id);
        this.count++;
      } else {
        this.freeIds.push(id);
      }
    }
  }

  private insertSlot(id: number): void {
    let s = this.hash(this.addrs, id * 16);
    while (this.slots[s] !== EMPTY) s = (s + 1) & this.mask;
    this.slots[s] = id;
  }
}
