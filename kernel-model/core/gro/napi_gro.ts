// The GRO half of struct napi_struct (include/linux/netdevice.h): gro_hash[GRO_HASH_BUCKETS], the
// rx_list of completed skbs (gro_normal_one/gro_normal_list), and preallocated GroCb slots, so
// receiving allocates nothing per packet.
import type { NapiStruct } from '../napi';
import type { NetStack } from '../stack';
import { SkbBatch, type Skb } from '../skb';
import { GroCb, GroList, GRO_HASH_BUCKETS, MAX_GRO_SKBS, OWN_POOL } from './gro_cb';

/** model counters (Linux keeps no GRO counters in its MIBs) */
export class GroStats {
  /** skbs that entered dev_gro_receive */
  receive = 0;
  /** segments merged into a held skb (GRO_MERGED_FREE) */
  merged = 0;
  /** skbs held as the head of a new flow (GRO_HELD) */
  held = 0;
  /** skbs passed up unchanged (GRO_NORMAL) */
  normal = 0;
  /** held skbs completed (napi_gro_complete), merged or not */
  completed = 0;
  /** of those, ones carrying more than one segment */
  aggregates = 0;
  /** held skbs copied out of device memory at the end of a batch (they outlive it) */
  detached = 0;
  /** skb pool exhausted: the merge or hold was refused and the packet passed up as it was */
  alloc_failures = 0;
  /** held skbs freed unsent (flush_gro_hash on napi_disable) */
  dropped = 0;
}

export class NapiGro {
  readonly stack: NetStack;
  readonly gro_hash: GroList[] = Array.from({ length: GRO_HASH_BUCKETS }, () => new GroList());
  /** free GroCb slots; with the scratch there is one per possible held skb plus one */
  readonly free: GroCb[] = [];
  /** the packet being received */
  scratch = new GroCb();
  /** napi->rx_list: skbs ready for netif_receive_skb_list */
  readonly rx_list: SkbBatch;
  /**
   * the pooled skbs GRO built among them, freed once the pipeline returned (kept apart from rx_list
   * because later stages may reorder or shorten the batch, as RPS does when it steers skbs away)
   */
  readonly rx_free: Skb[];
  rx_free_count = 0;
  /** napi->rx_count: segments on rx_list */
  rx_count = 0;
  /** the receive pipeline's continuation (RPS → netif_receive_skb_list); set by the GRO stage */
  emit: ((batch: SkbBatch) => void) | null = null;
  /** inside emit: a nested flush must not reuse rx_list */
  emitting = false;
  readonly stats = new GroStats();

  constructor(readonly napi: NapiStruct) {
    this.stack = napi.dev.stack;
    for (let i = 0; i < GRO_HASH_BUCKETS * MAX_GRO_SKBS; i++) this.free.push(new GroCb());
    // at most two skbs leave per received one (the completed head + the packet itself), plus a full flush
    const cap = 2 * napi.weight + GRO_HASH_BUCKETS * MAX_GRO_SKBS;
    this.rx_list = new SkbBatch(cap);
    this.rx_free = new Array<Skb>(cap);
  }

  /** held skbs in all buckets */
  get held(): number {
    let n = 0;
    for (const l of this.gro_hash) n += l.count;
    return n;
  }

  /** take a free GroCb (the caller returns it with put) */
  take(): GroCb {
    return this.free.pop() ?? new GroCb();
  }

  put(cb: GroCb): void {
    cb.release();
    this.free.push(cb);
  }

  /** append to rx_list; false when full (deliver first) */
  push(skb: Skb, owned: number): boolean {
    const l = this.rx_list;
    if (l.count >= l.capacity) return false;
    if (owned === OWN_POOL) this.rx_free[this.rx_free_count++] = skb;
    l.skbs[l.count++] = skb;
    return true;
  }
}
