// The flow lifecycle every host proxy shares (UDP and ICMP echo, IPv4 and IPv6), as libslirp keeps one
// host socket per guest flow: a table of flows capped at maxFlows, each closed after idleMs without
// traffic (libslirp socket.h SO_EXPIRE) or when the proxy closes. Flows sit in buckets under a numeric
// hash and the per-family proxy compares its own fields in the bucket, so a lookup builds no key object
// per packet (Linux's udp_table + per-family compare, udp.c / udp_ipv6.c, in miniature).
import type { SchedulerLike, Subscription } from 'rxjs';
import type { Logger } from '../../core/log';
import type { NetStack } from '../../core/stack';

/** what a proxy needs of its namespace (NetnsIpv4 and NetnsIpv6 both are one) */
export interface FlowNet {
  readonly stack: NetStack;
  readonly scheduler: SchedulerLike;
  readonly log: Logger;
  logBad(msg: string): void;
}

/** the counters the table keeps for its proxy */
export interface FlowTableStats {
  /** flows opened */
  flows: number;
  /** flows closed after idleMs without traffic */
  expired: number;
  /** dropped: the flow table was full */
  flowLimit: number;
}

/** one guest flow and the host socket it owns */
export abstract class HostFlow {
  lastActive = 0;
  timer: Subscription | null = null;
  closed = false;
  constructor(readonly hash: number) {}
  /** close the flow's host socket (once, when the flow closes) */
  abstract release(): void;
}

export class HostFlowTable<F extends HostFlow> {
  private readonly buckets = new Map<number, F[]>();
  private n = 0;

  constructor(
    private readonly net: FlowNet,
    /** the proxy's name in log lines */
    private readonly name: string,
    readonly maxFlows: number,
    readonly idleMs: number,
    private readonly stats: FlowTableStats,
  ) {}

  get count(): number {
    return this.n;
  }

  /** the flows under hash h (the caller compares its fields), or undefined */
  bucket(h: number): readonly F[] | undefined {
    return this.buckets.get(h);
  }

  /** no room for another flow: count it, and log what was dropped */
  refuseWhenFull(what: () => string): boolean {
    if (this.n < this.maxFlows) return false;
    this.stats.flowLimit++;
    this.net.logBad(`${this.name}: ${this.n} flows open (the limit); ${what()} dropped`);
    return true;
  }

  /** enter a new flow and start its idle timer */
  add(f: F): F {
    let list = this.buckets.get(f.hash);
    if (list === undefined) {
      list = [];
      this.buckets.set(f.hash, list);
    }
    list.push(f);
    this.n++;
    this.stats.flows++;
    f.timer = this.net.scheduler.schedule(() => this.idle(f), this.idleMs);
    return f;
  }

  /** traffic on f: its idle time starts again */
  touch(f: F): void {
    f.lastActive = this.net.scheduler.now();
  }

  /** the open flows (for views) */
  list(): F[] {
    const out: F[] = [];
    for (const list of this.buckets.values()) for (const f of list) out.push(f);
    return out;
  }

  /** close f: its timer, its host socket, its place in the table */
  close(f: F): void {
    if (f.closed) return;
    f.closed = true;
    f.timer?.unsubscribe();
    f.release();
    const list = this.buckets.get(f.hash);
    if (list === undefined) return;
    const i = list.indexOf(f);
    if (i >= 0) {
      list.splice(i, 1);
      this.n--;
    }
    if (list.length === 0) this.buckets.delete(f.hash);
  }

  closeAll(): void {
    for (const f of this.list()) this.close(f);
    this.buckets.clear();
  }

  private idle(f: F): void {
    if (f.closed) return;
    const left = f.lastActive + this.idleMs - this.net.scheduler.now();
    if (left > 0) {
      f.timer = this.net.scheduler.schedule(() => this.idle(f), left);
      return;
    }
    this.stats.expired++;
    this.close(f);
  }
}

export interface HostFlowsOptions {
  /** flows at most (one host socket each); more are dropped and counted */
  maxFlows?: number;
  /** idle timeout of a flow, scheduler ms */
  idleMs?: number;
  /** `-netdev user,restrict=on`: the guest may not reach the outside; what it sends is dropped */
  restrict?: boolean;
}

/** a host proxy of one protocol and family: its counters, its settings and its flow table */
export abstract class HostFlows<F extends HostFlow, S extends FlowTableStats> {
  readonly maxFlows: number;
  readonly idleMs: number;
  restrict: boolean;
  protected readonly table: HostFlowTable<F>;
  protected closed = false;

  constructor(
    protected readonly fnet: FlowNet,
    /** the proxy's name in log lines */
    protected readonly name: string,
    readonly stats: S,
    opts: HostFlowsOptions,
    defaults: { idleMs: number; restrict: boolean },
  ) {
    this.maxFlows = opts.maxFlows ?? 256;
    this.idleMs = opts.idleMs ?? defaults.idleMs;
    this.restrict = opts.restrict ?? defaults.restrict;
    this.table = new HostFlowTable<F>(fnet, name, this.maxFlows, this.idleMs, stats);
  }

  get flowCount(): number {
    return this.table.count;
  }

  /** close every flow (their host sockets) */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.detach();
    this.table.closeAll();
  }

  /** stop taking the guest's packets (on close) */
  protected detach(): void {}
}
