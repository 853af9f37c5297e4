// The neighbour cache for IPv4 on one device: net/core/neighbour.c's NUD state machine (RFC 4861 §7.3 /
// RFC 1122 §2.3.2 behaviour as Linux implements it for ARP), with timers on the stack's scheduler.
// Entries hold pooled skbs while INCOMPLETE (arp_queue); those skbs own their memory (never guest RAM).
import type { SchedulerLike, Subscription } from 'rxjs';
import { Skb, kfree_skb } from '../core/skb';
import { Ipv4Addr, MacAddr } from '../wire/address';

// include/uapi/linux/neighbour.h
export const NUD_NONE = 0x00;
export const NUD_INCOMPLETE = 0x01;
export const NUD_REACHABLE = 0x02;
export const NUD_STALE = 0x04;
export const NUD_DELAY = 0x08;
export const NUD_PROBE = 0x10;
export const NUD_FAILED = 0x20;
export const NUD_NOARP = 0x40;
export const NUD_PERMANENT = 0x80;
// include/net/neighbour.h
export const NUD_IN_TIMER = NUD_INCOMPLETE | NUD_REACHABLE | NUD_DELAY | NUD_PROBE;
export const NUD_VALID = NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY;
export const NUD_CONNECTED = NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE;
// neigh_update flags
export const NEIGH_UPDATE_F_OVERRIDE = 1 << 0;
export const NEIGH_UPDATE_F_WEAK_OVERRIDE = 1 << 1;
export const NEIGH_UPDATE_F_ADMIN = 1 << 7;

export function nudStateName(s: number): string {
  switch (s) {
    case NUD_NONE: return 'NONE';
    case NUD_INCOMPLETE: return 'INCOMPLETE';
    case NUD_REACHABLE: return 'REACHABLE';
    case NUD_STALE: return 'STALE';
    case NUD_DELAY: return 'DELAY';
    case NUD_PROBE: return 'PROBE';
    case NUD_FAILED: return 'FAILED';
    case NUD_NOARP: return 'NOARP';
    case NUD_PERMANENT: return 'PERMANENT';
    default: return `0x${s.toString(16)}`;
  }
}

/** neigh_parms for ARP (net/ipv4/arp.c arp_tbl), in milliseconds */
export interface NeighParms {
  base_reachable_time: number;
  retrans_time: number;
  delay_probe_time: number;
  gc_staletime: number;
  ucast_probes: number;
  mcast_probes: number;
  app_probes: number;
  mcast_reprobes: number;
  /** bytes of truesize queued per unresolved entry (qlen 101 with 2108-byte skbs) */
  unres_qlen_bytes: number;
  locktime: number;
  gc_interval: number;
  /** table sizes: periodic GC only above thresh1; forced GC at thresh2/thresh3; never above thresh3 */
  gc_thresh1: number;
  gc_thresh2: number;
  gc_thresh3: number;
}

export const ARP_NEIGH_PARMS: Readonly<NeighParms> = Object.freeze({
  base_reachable_time: 30_000,
  retrans_time: 1_000,
  delay_probe_time: 5_000,
  gc_staletime: 60_000,
  ucast_probes: 3,
  mcast_probes: 3,
  app_probes: 0,
  mcast_reprobes: 0,
  unres_qlen_bytes: 212_992,
  locktime: 1_000,
  gc_interval: 30_000,
  gc_thresh1: 128,
  gc_thresh2: 512,
  gc_thresh3: 1024,
});

/** SKB_TRUESIZE of a full Ethernet frame's skb: 212992 / 2108 = 101 queued packets, as `ip neigh` shows */
const UNRES_MIN_TRUESIZE = 2108;

/** /proc/net/stat/arp_cache column names */
export interface NeighStats {
  entries: number;
  allocs: number;
  destroys: number;
  lookups: number;
  hits: number;
  res_failed: number;
  rcv_probes_mcast: number;
  rcv_probes_ucast: number;
  periodic_gc_runs: number;
  forced_gc_runs: number;
  unresolved_discards: number;
  table_fulls: number;
}

export class Neighbour {
  nud_state = NUD_NONE;
  ha: MacAddr = 0;
  /** last state/address change, last confirmation of reachability, last use (scheduler ms) */
  updated = 0;
  confirmed = 0;
  used = 0;
  probes = 0;
  readonly arp_queue: Skb[] = [];
  arp_queue_len_bytes = 0;
  timer: Subscription | null = null;
  dead = false;
  constructor(readonly primary_key: Ipv4Addr) {}
}

/** What the protocol (ARP) supplies: how to solicit, how to send once resolved, what to do on failure. */
export interface NeighOps {
  /** arp_solicit: send a request for n (broadcast while INCOMPLETE, unicast in PROBE); skb is the newest queued */
  solicit(n: Neighbour, skb: Skb | null): void;
  /** neigh_resolve_output after resolution: add the link header for n.ha and transmit; owns skb */
  output(n: Neighbour, skb: Skb): void;
  /** a queued skb that can never be sent (resolution failed); owns skb */
  error_report(n: Neighbour, skb: Skb): void;
}

export class NeighTable {
  readonly parms: NeighParms;
  readonly stats: NeighStats = {
    entries: 0,
    allocs: 0,
    destroys: 0,
    lookups: 0,
    hits: 0,
    res_failed: 0,
    rcv_probes_mcast: 0,
    rcv_probes_ucast: 0,
    periodic_gc_runs: 0,
    forced_gc_runs: 0,
    unresolved_discards: 0,
    table_fulls: 0,
  };
  /** insertion-ordered: Map iteration gives the oldest entries first */
  private readonly entries = new Map<Ipv4Addr, Neighbour>();
  private reachable_time: number;
  private reachableTimeSetAt: number;
  private lastGc: number;
  private lastForcedGc = -Infinity;

  constructor(
    private readonly scheduler: SchedulerLike,
    private readonly ops: NeighOps,
    parms: Partial<NeighParms> = {},
    private readonly random: () => number = Math.random,
  ) {
    this.parms = { ...ARP_NEIGH_PARMS, ...parms };
    this.reachable_time = this.randReachTime();
    this.reachableTimeSetAt = this.lastGc = scheduler.now();
  }

  get size(): number {
    return this.entries.size;
  }

  /** neigh_rand_reach_time: uniform in [base/2, 3·base/2), re-drawn every 300 s as neigh_periodic_work does */
  reachableTime(): number {
    const now = this.scheduler.now();
    if (now - this.reachableTimeSetAt >= 300_000) {
      this.reachable_time = this.randReachTime();
      this.reachableTimeSetAt = now;
    }
    return this.reachable_time;
  }

  lookup(key: Ipv4Addr): Neighbour | undefined {
    this.stats.lookups++;
    const n = this.entries.get(key);
    if (n !== undefined) this.stats.hits++;
    return n;
  }

  /** every entry, oldest first (for inspection and tests) */
  all(): IterableIterator<Neighbour> {
    return this.entries.values();
  }

  /** __neigh_create: a NONE entry, or null when the table is full even after forced GC (table_fulls) */
  create(key: Ipv4Addr): Neighbour | null {
    const existing = this.entries.get(key);
    if (existing !== undefined) return existing;
    this.periodicGc();
    const p = this.parms;
    const now = this.scheduler.now();
    if (this.entries.size >= p.gc_thresh3 || (this.entries.size >= p.gc_thresh2 && now - this.lastForcedGc > 5_000)) {
      this.forcedGc();
      if (this.entries.size >= p.gc_thresh3) {
        this.stats.table_fulls++;
        return null;
      }
    }
    const n = new Neighbour(key);
    n.updated = n.used = now;
    // neigh_alloc: confirmed in the past so a new entry is not considered reachable
    n.confirmed = now - 2 * p.base_reachable_time;
    this.entries.set(key, n);
    this.stats.allocs++;
    this.stats.entries = this.entries.size;
    return n;
  }

  /** __neigh_lookup(create = 1) */
  lookupOrCreate(key: Ipv4Addr): Neighbour | null {
    return this.lookup(key) ?? this.create(key);
  }

  /**
   * neigh_output → neigh_resolve_output: send `skb` (data at the L3 header) to `key`, resolving first.
   * The skb is always consumed (sent, queued, or freed). Returns false when it was dropped here.
   */
  output(key: Ipv4Addr, skb: Skb): boolean {
    const n = this.lookupOrCreate(key);
    if (n === null) {
      kfree_skb(skb);
      return false;
    }
    if (this.event_send(n, skb)) return n.nud_state === NUD_INCOMPLETE;
    this.ops.output(n, skb);
    return true;
  }

  /**
   * neigh_event_send: true when the skb was queued or dropped here (resolution in progress or failed),
   * false when the caller may transmit to n.ha now.
   */
  event_send(n: Neighbour, skb: Skb | null): boolean {
    const now = this.scheduler.now();
    n.used = now;
    if (n.nud_state & (NUD_CONNECTED | NUD_DELAY | NUD_PROBE)) return false;
    return this.__event_send(n, skb, now);
  }

  private __event_send(n: Neighbour, skb: Skb | null, now: number): boolean {
    const p = this.parms;
    let immediateProbe = false;
    if (n.dead) {
      if (skb) kfree_skb(skb);
      return true;
    }
    if (!(n.nud_state & (NUD_STALE | NUD_INCOMPLETE))) {
      if (p.mcast_probes + p.app_probes > 0) {
        n.probes = p.ucast_probes;
        n.nud_state = NUD_INCOMPLETE;
        n.updated = now;
        this.addTimer(n, now + Math.max(p.retrans_time, 10));
        immediateProbe = true;
      } else {
        n.nud_state = NUD_FAILED;
        n.updated = now;
        if (skb) kfree_skb(skb);
        return true;
      }
    } else if (n.nud_state & NUD_STALE) {
      n.nud_state = NUD_DELAY;
      n.updated = now;
      this.addTimer(n, now + p.delay_probe_time);
    }
    let queued = false;
    if (n.nud_state === NUD_INCOMPLETE) {
      if (skb) {
        const truesize = Math.max(UNRES_MIN_TRUESIZE, skb.len + 594);
        while (n.arp_queue.length > 0 && n.arp_queue_len_bytes + truesize > p.unres_qlen_bytes) {
          const old = n.arp_queue.shift()!;
          n.arp_queue_len_bytes -= Math.max(UNRES_MIN_TRUESIZE, old.len + 594);
          this.stats.unresolved_discards++;
          kfree_skb(old);
        }
        if (truesize <= p.unres_qlen_bytes) {
          n.arp_queue.push(skb);
          n.arp_queue_len_bytes += truesize;
        } else {
          this.stats.unresolved_discards++;
          kfree_skb(skb);
        }
      }
      queued = true;
    }
    if (immediateProbe) this.probe(n);
    return queued;
  }

  /**
   * neigh_update: set link address and state. `lladdr` < 0 keeps the current address. Flushes the queue
   * when the entry becomes valid.
   */
  update(n: Neighbour, lladdr: MacAddr | -1, newState: number, flags: number): void {
    const now = this.scheduler.now();
    const old = n.nud_state;
    if (n.dead) return;
    if (!(flags & NEIGH_UPDATE_F_ADMIN) && old & (NUD_NOARP | NUD_PERMANENT)) return;
    if (!(newState & NUD_VALID)) {
      this.delTimer(n);
      n.nud_state = newState;
      n.updated = now;
      if (old & (NUD_INCOMPLETE | NUD_PROBE) && newState & NUD_FAILED) this.invalidate(n);
      return;
    }
    let addr: MacAddr;
    if (lladdr < 0) {
      if (!(old & NUD_VALID)) return; // no address to keep
      addr = n.ha;
    } else {
      addr = lladdr;
    }
    let state = newState;
    if (state & NUD_CONNECTED) n.confirmed = now;
    if (old & NUD_VALID) {
      if (addr !== n.ha && !(flags & NEIGH_UPDATE_F_OVERRIDE)) {
        // a different address without override: keep ours, but stop trusting it (WEAK_OVERRIDE)
        if (flags & NEIGH_UPDATE_F_WEAK_OVERRIDE && old & NUD_CONNECTED) {
          addr = n.ha;
          state = NUD_STALE;
        } else {
          return;
        }
      } else if (addr === n.ha && state === NUD_STALE && !(flags & NEIGH_UPDATE_F_ADMIN)) {
        // same address confirmed only weakly: do not downgrade
        state = old;
      }
    }
    if (state !== old || addr !== n.ha) n.updated = now;
    if (state !== old) {
      this.delTimer(n);
      if (state & NUD_PROBE) n.probes = 0;
      if (state & NUD_IN_TIMER) this.addTimer(n, now + (state & NUD_REACHABLE ? this.reachableTime() : 0));
      n.nud_state = state;
    }
    if (addr !== n.ha) {
      n.ha = addr;
      if (!(state & NUD_CONNECTED)) n.confirmed = now - 2 * this.parms.base_reachable_time;
    }
    if (!(old & NUD_VALID) && state & NUD_VALID) this.flushQueue(n);
  }

  /** neigh_event_ns: the peer sent us a request: create or refresh its entry as STALE with its address */
  event_ns(key: Ipv4Addr, lladdr: MacAddr): Neighbour | null {
    const n = this.lookupOrCreate(key);
    if (n !== null) this.update(n, lladdr, NUD_STALE, NEIGH_UPDATE_F_OVERRIDE);
    return n;
  }

  /** neigh_confirm: an upper layer saw forward progress (e.g. a TCP ACK) */
  confirm(n: Neighbour): void {
    n.confirmed = this.scheduler.now();
  }

  /** remove an entry (ip neigh del), dropping its queue */
  delete(key: Ipv4Addr): boolean {
    const n = this.entries.get(key);
    if (n === undefined) return false;
    this.destroy(n);
    return true;
  }

  /** drop everything (device going away) */
  flush(): void {
    for (const n of [...this.entries.values()]) this.destroy(n);
  }

  private destroy(n: Neighbour): void {
    this.delTimer(n);
    n.dead = true;
    while (n.arp_queue.length > 0) kfree_skb(n.arp_queue.shift()!);
    n.arp_queue_len_bytes = 0;
    this.entries.delete(n.primary_key);
    this.stats.destroys++;
    this.stats.entries = this.entries.size;
  }

  /** neigh_max_probes */
  private maxProbes(n: Neighbour): number {
    const p = this.parms;
    return p.ucast_probes + p.app_probes + (n.nud_state & NUD_PROBE ? p.mcast_reprobes : p.mcast_probes);
  }

  /** neigh_timer_handler */
  private timerHandler(n: Neighbour): void {
    n.timer = null;
    if (n.dead) return;
    const p = this.parms;
    const now = this.scheduler.now();
    let state = n.nud_state;
    if (!(state & NUD_IN_TIMER)) return;
    let next = now + 1000;
    if (state & NUD_REACHABLE) {
      const rt = this.reachableTime();
      if (now <= n.confirmed + rt) {
        next = n.confirmed + rt;
      } else if (now <= n.used + p.delay_probe_time) {
        state = n.nud_state = NUD_DELAY;
        n.updated = now;
        next = now + p.delay_probe_time;
      } else {
        state = n.nud_state = NUD_STALE;
        n.updated = now;
      }
    } else if (state & NUD_DELAY) {
      if (now <= n.confirmed + p.delay_probe_time) {
        state = n.nud_state = NUD_REACHABLE;
        n.updated = now;
        next = n.confirmed + this.reachableTime();
      } else {
        state = n.nud_state = NUD_PROBE;
        n.updated = now;
        n.probes = 0;
        next = now + Math.max(p.retrans_time, 10);
      }
    } else {
      // INCOMPLETE or PROBE
      next = now + Math.max(p.retrans_time, 10);
    }
    if (state & (NUD_INCOMPLETE | NUD_PROBE) && n.probes >= this.maxProbes(n)) {
      n.nud_state = NUD_FAILED;
      n.updated = now;
      this.invalidate(n);
      return;
    }
    if (n.nud_state & NUD_IN_TIMER) this.addTimer(n, Math.max(next, now + 10));
    if (n.nud_state & (NUD_INCOMPLETE | NUD_PROBE)) this.probe(n);
  }

  /** neigh_probe: solicit with the newest queued skb (its source address picks ours) */
  private probe(n: Neighbour): void {
    const skb = n.arp_queue.length > 0 ? n.arp_queue[n.arp_queue.length - 1] : null;
    this.ops.solicit(n, skb);
    n.probes++;
  }

  /** neigh_invalidate: resolution failed; every queued skb is reported and freed */
  private invalidate(n: Neighbour): void {
    this.stats.res_failed++;
    while (n.arp_queue.length > 0) {
      const skb = n.arp_queue.shift()!;
      this.ops.error_report(n, skb);
    }
    n.arp_queue_len_bytes = 0;
  }

  private flushQueue(n: Neighbour): void {
    while (n.arp_queue.length > 0 && n.nud_state & NUD_VALID) {
      const skb = n.arp_queue.shift()!;
      this.ops.output(n, skb);
    }
    n.arp_queue_len_bytes = 0;
  }

  private addTimer(n: Neighbour, when: number): void {
    this.delTimer(n);
    const delay = Math.max(0, when - this.scheduler.now());
    n.timer = this.scheduler.schedule(() => this.timerHandler(n), delay);
  }

  private delTimer(n: Neighbour): void {
    if (n.timer !== null) {
      n.timer.unsubscribe();
      n.timer = null;
    }
  }

  /** neigh_periodic_work, run lazily: above gc_thresh1, drop unused FAILED/stale entries */
  private periodicGc(): void {
    const now = this.scheduler.now();
    if (now - this.lastGc < this.parms.gc_interval) return;
    this.lastGc = now;
    if (this.entries.size < this.parms.gc_thresh1) return;
    this.stats.periodic_gc_runs++;
    for (const n of [...this.entries.values()]) {
      if (n.nud_state & (NUD_PERMANENT | NUD_IN_TIMER)) continue;
      if (n.nud_state === NUD_FAILED || now - n.used > this.parms.gc_staletime) this.destroy(n);
    }
  }

  /** neigh_forced_gc: drop entries without a running timer that are FAILED or not updated for 5 s */
  private forcedGc(): void {
    const now = this.scheduler.now();
    this.lastForcedGc = now;
    this.stats.forced_gc_runs++;
    for (const n of [...this.entries.values()]) {
      if (n.nud_state & (NUD_PERMANENT | NUD_IN_TIMER)) continue;
      if (n.nud_state === NUD_FAILED || n.nud_state === NUD_NONE || now - n.updated > 5_000) this.destroy(n);
      if (this.entries.size < this.parms.gc_thresh2) break;
    }
  }

  private randReachTime(): number {
    const base = this.parms.base_reachable_time;
    return base > 0 ? Math.floor(this.random() * base) + (base >>> 1) : 0;
  }
}
