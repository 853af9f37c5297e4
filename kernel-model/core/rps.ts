// RPS/RFS (net/core/dev.c get_rps_cpu / netif_receive_skb_list_internal / netif_rx_internal,
// net/core/net-sysfs.c, net/core/sysctl_net_core.c, include/linux/netdevice.h; Linux 6.1). The
// pipeline stage steers each skb of a NAPI batch to a CPU's backlog (core/rps/backlog.ts) by its
// flow hash (core/flow_dissector.ts); with no rps_cpus mask and no RFS table configured the batch
// passes through untouched (one branch per batch). Skbs of a batch view guest memory only for the
// batch's lifetime, so a steered skb is copied into a pooled skb first.
import { randomBytes } from 'crypto';
import { map, type MonoTypeOperatorFunction } from 'rxjs';
import type { NetStack } from './stack';
import type { NetDevice } from './netdevice';
import { kfree_skb, type Skb, type SkbBatch } from './skb';
import { ETH_HLEN, eth_type_trans } from './eth';
import { skb_get_hash } from './flow_dissector';
import { siphash_key, type SipHashKey } from './rps/siphash';
import { enqueue_to_backlog, flush_backlog, NET_RX_DROP } from './rps/backlog';
import { SdFlowLimit } from './softnet';

/** RPS_NO_CPU: an unset CPU in the RFS tables */
export const RPS_NO_CPU = 0xffff;
/** net.core.flow_limit_table_len default (netdev_flow_limit_table_len, 1 << 12) */
export const FLOW_LIMIT_TABLE_LEN = 1 << 12;
/** largest net.core.rps_sock_flow_entries (RPS_SOCK_FLOW_TABLE max: 1 << 29) */
export const RPS_SOCK_FLOW_MAX = 1 << 29;

export interface RpsOptions {
  /** hashrnd: the 16-byte SipHash key of skb_get_hash (default: random per stack, as per boot) */
  hashrnd?: Uint8Array;
  /** net.core.rps_sock_flow_entries (default 0: RFS off) */
  rps_sock_flow_entries?: number;
  /** net.core.flow_limit_table_len (default 4096; a power of 2) */
  flow_limit_table_len?: number;
  /** net.core.flow_limit_cpu_bitmap: CPUs with flow limiting (hex mask string or CPU list; default none) */
  flow_limit_cpu_bitmap?: string | readonly number[];
}

/** struct rps_dev_flow_table: per rx queue, {cpu, last_qtail} per hash bucket */
export class RpsDevFlowTable {
  readonly cpu: Uint16Array;
  readonly last_qtail: Uint32Array;
  constructor(readonly mask: number) {
    this.cpu = new Uint16Array(mask + 1).fill(RPS_NO_CPU);
    this.last_qtail = new Uint32Array(mask + 1);
  }
}

/** struct netdev_rx_queue's RPS part */
export class NetdevRxQueueRps {
  /** rps_map->cpus: the CPUs of rps_cpus in ascending order, null when the mask is 0 */
  rps_map: Uint16Array | null = null;
  rps_flow_table: RpsDevFlowTable | null = null;
}

/** roundup_pow_of_two */
function roundup_pow_of_two(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * A cpumask as written to sysfs/sysctl: hex, comma-separated 32-bit groups, most significant group
 * first ("f", "00000000,00000003"), or a list of CPU ids. Returns the CPUs set, ascending.
 */
export function parse_cpumask(mask: string | readonly number[]): number[] {
  const out: number[] = [];
  if (typeof mask !== 'string') {
    for (const c of mask) if (Number.isInteger(c) && c >= 0 && !out.includes(c)) out.push(c);
    return out.sort((a, b) => a - b);
  }
  const groups = mask.trim().replace(/^0x/i, '').split(',');
  for (let g = 0; g < groups.length; g++) {
    const word = groups[groups.length - 1 - g];
    if (!/^[0-9a-fA-F]{1,8}$/.test(word)) throw new RangeError(`bad cpumask "${mask}"`);
    const v = parseInt(word, 16);
    for (let bit = 0; bit < 32; bit++) if (v & (1 << bit)) out.push(g * 32 + bit);
  }
  return out.sort((a, b) => a - b);
}

/** RPS/RFS state of one stack: hashrnd, the RFS socket table, per-device rx-queue maps, flow limit */
export class RpsState {
  /** hashrnd (flow_dissector.c): the software flow hash key */
  readonly hashrnd: SipHashKey;
  /** nr_cpu_ids */
  readonly nr_cpu_ids: number;
  /** rps_cpu_mask = roundup_pow_of_two(nr_cpu_ids) - 1 */
  readonly rps_cpu_mask: number;
  /** rps_needed static key: rx queues with an rps_map, plus 1 while the socket flow table exists */
  rps_needed = 0;
  /** rps_sock_flow_table->ents (null: RFS off) and its mask */
  sock_flow_table: Uint32Array | null = null;
  sock_flow_mask = 0;
  private flow_limit_len = FLOW_LIMIT_TABLE_LEN;
  private readonly rxqs = new Map<NetDevice, NetdevRxQueueRps[]>();
  /** get_rps_cpu's rflowp out-parameter: the RFS entry whose last_qtail the enqueue records */
  qtail_table: Uint32Array | null = null;
  qtail_index = 0;

  constructor(readonly stack: NetStack, opts: RpsOptions = {}) {
    this.nr_cpu_ids = stack.softnet.length;
    this.rps_cpu_mask = roundup_pow_of_two(this.nr_cpu_ids) - 1;
    this.hashrnd = siphash_key(opts.hashrnd ?? randomBytes(16));
    if (opts.flow_limit_table_len !== undefined) this.flow_limit_table_len = opts.flow_limit_table_len;
    if (opts.rps_sock_flow_entries) this.set_rps_sock_flow_entries(opts.rps_sock_flow_entries);
    if (opts.flow_limit_cpu_bitmap !== undefined) this.set_flow_limit_cpu_bitmap(opts.flow_limit_cpu_bitmap);
  }

  /** skb_get_hash with this stack's hashrnd */
  skb_get_hash(skb: Skb): number {
    return skb_get_hash(skb, this.hashrnd);
  }

  /** net.core.flow_limit_table_len: a power of 2; used when flow_limit_cpu_bitmap is next written */
  get flow_limit_table_len(): number {
    return this.flow_limit_len;
  }
  set flow_limit_table_len(n: number) {
    if (!Number.isInteger(n) || n < 1 || (n & (n - 1)) !== 0) throw new RangeError(`flow_limit_table_len must be a power of 2, got ${n}`);
    this.flow_limit_len = n;
  }

  /**
   * /sys/class/net/<dev>/queues/rx-<queue>/rps_cpus (store_rps_map): the CPUs RPS may steer this
   * queue's packets to; CPUs that do not exist are ignored; an empty mask turns RPS off for the queue.
   */
  set_rps_cpus(dev: NetDevice, queue: number, mask: string | readonly number[]): void {
    const rxq = this.rx_queue(dev, queue);
    const cpus = parse_cpumask(mask).filter((c) => c < this.nr_cpu_ids);
    const old = rxq.rps_map;
    rxq.rps_map = cpus.length ? Uint16Array.from(cpus) : null;
    if (rxq.rps_map && !old) this.rps_needed++;
    if (!rxq.rps_map && old) this.rps_needed--;
  }

  /**
   * /sys/class/net/<dev>/queues/rx-<queue>/rps_flow_cnt (store_rps_dev_flow_table_cnt): entries of
   * the queue's RFS flow table, rounded up to a power of 2; 0 removes it.
   */
  set_rps_flow_cnt(dev: NetDevice, queue: number, count: number): void {
    const rxq = this.rx_queue(dev, queue);
    if (!Number.isInteger(count) || count < 0 || count > 1 << 30) throw new RangeError(`bad rps_flow_cnt ${count}`);
    rxq.rps_flow_table = count ? new RpsDevFlowTable(roundup_pow_of_two(count) - 1) : null;
  }

  /** net.core.rps_sock_flow_entries (rps_sock_flow_sysctl): rounded up to a power of 2; 0 turns RFS off */
  set_rps_sock_flow_entries(n: number): void {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`bad rps_sock_flow_entries ${n}`);
    const had = this.sock_flow_table !== null;
    if (n === 0) {
      this.sock_flow_table = null;
      this.sock_flow_mask = 0;
    } else {
      const size = roundup_pow_of_two(Math.min(n, RPS_SOCK_FLOW_MAX));
      if (!this.sock_flow_table || this.sock_flow_table.length !== size) {
        this.sock_flow_table = new Uint32Array(size).fill(RPS_NO_CPU);
        this.sock_flow_mask = size - 1;
      }
    }
    const has = this.sock_flow_table !== null;
    if (has && !had) this.rps_needed++;
    if (!has && had) this.rps_needed--;
  }

  /** net.core.rps_sock_flow_entries as read back */
  get rps_sock_flow_entries(): number {
    return this.sock_flow_table ? this.sock_flow_table.length : 0;
  }

  /**
   * net.core.flow_limit_cpu_bitmap (flow_limit_cpu_sysctl): CPUs in the mask get a fresh flow table
   * of flow_limit_table_len buckets (kept if they had one); the others lose theirs.
   */
  set_flow_limit_cpu_bitmap(mask: string | readonly number[]): void {
    const cpus = parse_cpumask(mask);
    for (const sd of this.stack.softnet) {
      if (cpus.includes(sd.cpu)) {
        if (!sd.flow_limit) sd.flow_limit = new SdFlowLimit(this.flow_limit_len);
      } else {
        sd.flow_limit = null;
      }
    }
  }

  /**
   * rps_record_sock_flow (include/linux/netdevice.h, sock_rps_record_flow_hash): a socket consuming
   * flow `hash` on `cpu` (default: the CPU running now) records it for RFS. No-op when RFS is off
   * or hash is 0.
   */
  rps_record_sock_flow(hash: number, cpu: number = this.stack.this_cpu().cpu): void {
    const table = this.sock_flow_table;
    if (table === null || hash === 0) return;
    const index = hash & this.sock_flow_mask;
    const val = ((hash & ~this.rps_cpu_mask) | cpu) >>> 0;
    if (table[index] !== val) table[index] = val;
  }

  /** the RPS state of one rx queue of dev (created on first configuration) */
  rx_queue(dev: NetDevice, queue: number): NetdevRxQueueRps {
    if (!Number.isInteger(queue) || queue < 0 || queue >= dev.num_rx_queues) {
      throw new RangeError(`${dev.name} has no rx queue ${queue} (${dev.num_rx_queues} queues)`);
    }
    let qs = this.rxqs.get(dev);
    if (!qs) {
      qs = Array.from({ length: dev.num_rx_queues }, () => new NetdevRxQueueRps());
      this.rxqs.set(dev, qs);
    }
    return qs[queue];
  }

  /** the configured rx queues of dev, or undefined (hot path: one Map lookup per batch) */
  rx_queues(dev: NetDevice): NetdevRxQueueRps[] | undefined {
    return this.rxqs.get(dev);
  }

  /** unregister: the device's backlog skbs are flushed and its rx queues' maps released */
  netdev_unregister(dev: NetDevice): void {
    flush_backlog(this.stack, dev);
    const qs = this.rxqs.get(dev);
    if (!qs) return;
    for (const q of qs) if (q.rps_map) this.rps_needed--;
    this.rxqs.delete(dev);
  }
}

/**
 * get_rps_cpu (6.1): the CPU whose backlog should take skb, or -1 to process it here. RFS first: if
 * the socket table's entry for the hash matches, the flow's desired CPU (where its socket was last
 * read) replaces the queue flow table's current CPU only when that one is unset or when its
 * backlog has dequeued everything the flow enqueued there (input_queue_head - last_qtail >= 0), so
 * packets of a flow are never reordered; on a switch last_qtail = the new CPU's head. Otherwise
 * RPS: map[reciprocal_scale(hash, len)]. Leaves the RFS entry to record in st.qtail_table/index.
 */
export function get_rps_cpu(st: RpsState, rxq: NetdevRxQueueRps, skb: Skb): number {
  st.qtail_table = null;
  const flow_table = rxq.rps_flow_table;
  const map = rxq.rps_map;
  if (flow_table === null && map === null) return -1;
  skb.network_header = skb.data; // skb_reset_network_header
  const hash = skb_get_hash(skb, st.hashrnd);
  if (hash === 0) return -1;
  const nr = st.nr_cpu_ids;

  const sock = st.sock_flow_table;
  if (flow_table !== null && sock !== null) {
    const ident = sock[hash & st.sock_flow_mask];
    if (((ident ^ hash) & ~st.rps_cpu_mask) === 0) {
      const next_cpu = ident & st.rps_cpu_mask;
      const i = hash & flow_table.mask;
      let tcpu = flow_table.cpu[i];
      if (tcpu !== next_cpu && (tcpu >= nr || ((st.stack.softnet[tcpu].input_queue_head - flow_table.last_qtail[i]) | 0) >= 0)) {
        // set_rps_cpu
        tcpu = next_cpu;
        if (next_cpu < nr) flow_table.last_qtail[i] = st.stack.softnet[next_cpu].input_queue_head;
        flow_table.cpu[i] = next_cpu;
      }
      if (tcpu < nr) {
        st.qtail_table = flow_table.last_qtail;
        st.qtail_index = i;
        return tcpu;
      }
    }
  }

  if (map !== null) {
    // reciprocal_scale(hash, len) = (hash * len) >> 32
    return map[Math.floor((hash * map.length) / 4294967296)];
  }
  return -1;
}

/**
 * A pooled copy of skb that keeps the Ethernet header (taps read it at mac_header), or null when
 * the pool is empty.
 */
function skb_copy_for_backlog(stack: NetStack, skb: Skb): Skb | null {
  const pushed = skb.mac_header >= 0 && skb.mac_header <= skb.data ? skb.data - skb.mac_header : 0;
  skb.data -= pushed;
  skb.len += pushed;
  const copy = stack.skb_copy(skb);
  skb.data += pushed;
  skb.len -= pushed;
  if (copy !== null) {
    copy.data += pushed;
    copy.len -= pushed;
  }
  return copy;
}

/** RPS could not copy: counted like a backlog drop on the target CPU (and rx_dropped), model counter backlog_nomem */
function backlog_nomem(stack: NetStack, skb: Skb, cpu: number): void {
  const sd = stack.softnet[cpu];
  sd.backlog_nomem++;
  sd.dropped++;
  if (skb.dev) skb.dev.stats.rx_dropped++;
  stack.ratelimited_warn(`rps: skb pool empty, dropped a packet for cpu ${cpu}`);
}

/**
 * The RPS part of netif_receive_skb_list_internal: every skb for which get_rps_cpu names a CPU (even
 * this one) leaves the batch for that CPU's backlog as a pooled copy; the rest continue inline.
 */
export function netif_receive_skb_list_rps(stack: NetStack, batch: SkbBatch): SkbBatch {
  const st = stack.rps;
  const dev = batch.dev;
  if (dev === null) return batch;
  const qs = st.rx_queues(dev);
  if (qs === undefined) return batch;
  const index = batch.napi !== null ? batch.napi.index : 0;
  if (index >= qs.length) {
    stack.ratelimited_warn(`${dev.name} received on rx queue ${index}, but number of rx queues is ${qs.length}`);
    return batch;
  }
  const rxq = qs[index];
  if (rxq.rps_map === null && rxq.rps_flow_table === null) return batch;
  const skbs = batch.skbs;
  const n = batch.count;
  let w = 0;
  for (let i = 0; i < n; i++) {
    const skb = skbs[i];
    const cpu = get_rps_cpu(st, rxq, skb);
    if (cpu >= 0) {
      const copy = skb_copy_for_backlog(stack, skb);
      if (copy === null) backlog_nomem(stack, skb, cpu);
      else enqueue_to_backlog(stack, copy, cpu, st.qtail_table, st.qtail_index);
      continue;
    }
    if (w !== i) {
      skbs[i] = skbs[w];
      skbs[w] = skb;
    }
    w++;
  }
  batch.count = w;
  return batch;
}

/**
 * netif_rx (6.1 netif_rx_internal): queue one received skb on a backlog — the RPS CPU when RPS
 * picks one, else the current CPU — and return NET_RX_SUCCESS or NET_RX_DROP. skb.dev must be set;
 * an skb with no mac_header gets eth_type_trans. A pooled skb is consumed; any other (a view of
 * guest memory) is copied first. Processing happens later in the CPU's process_backlog.
 */
export function netif_rx(stack: NetStack, skb: Skb): number {
  const dev = skb.dev;
  if (dev === null) {
    stack.ratelimited_warn('netif_rx: skb without a device; dropped');
    kfree_skb(skb);
    return NET_RX_DROP;
  }
  if (skb.mac_header < 0) {
    if (!skb.valid || skb.len < ETH_HLEN) {
      dev.stats.rx_length_errors++;
      dev.stats.rx_errors++;
      stack.ratelimited_warn(`${dev.name}: netif_rx: short or malformed frame (len ${skb.len}); dropped`);
      kfree_skb(skb);
      return NET_RX_DROP;
    }
    skb.protocol = eth_type_trans(skb, dev);
  }
  // net_timestamp_check: netdev_tstamp_prequeue (default 1) stamps at enqueue
  if (skb.tstamp === 0) skb.tstamp = stack.scheduler.now();
  const st = stack.rps;
  let cpu = -1;
  st.qtail_table = null;
  if (st.rps_needed !== 0) {
    const qs = st.rx_queues(dev);
    if (qs !== undefined) cpu = get_rps_cpu(st, qs[0], skb);
  }
  if (cpu < 0) cpu = stack.this_cpu().cpu;
  let own: Skb | null = skb;
  if (skb.pool === null) {
    own = skb_copy_for_backlog(stack, skb);
    if (own === null) {
      backlog_nomem(stack, skb, cpu);
      return NET_RX_DROP;
    }
  }
  return enqueue_to_backlog(stack, own, cpu, st.qtail_table, st.qtail_index);
}

/**
 * The RPS stage of the receive pipeline. With RPS inactive (rps_needed == 0: no rps_cpus mask and
 * no RFS socket table anywhere) batches pass untouched.
 */
export function rps(stack: NetStack): MonoTypeOperatorFunction<SkbBatch> {
  return map(function get_rps_cpu_batch(batch: SkbBatch): SkbBatch {
    if (stack.rps.rps_needed === 0) return batch;
    return netif_receive_skb_list_rps(stack, batch);
  });
}
