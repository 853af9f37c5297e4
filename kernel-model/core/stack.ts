// NetStack: one guest's network namespace (struct net + the per-CPU state it uses): devices,
// softnet_data per virtual CPU, ptype tables, the skb pools, MIB counters, the logger and the
// scheduler that drives every softirq and timer. Devices and protocols reach the core through it.
import { map, Subject, type SchedulerLike, type Subscription } from 'rxjs';
import { softirqScheduler } from './softirq-scheduler';
import { NetDevice, type NetDeviceOps, type NetDeviceOptions } from './netdevice';
import { napi_disable } from './napi';
import { SoftnetData } from './softnet';
import { Skb, SkbBatch, SkbPool, skb_copy_to } from './skb';
import { NetMib, mib_layout } from './mib';
import { NetCoreSysctl, type NetCoreSysctlOptions } from './sysctl';
import { RateLimitState, stderrLogger, type Logger } from './log';
import { eth_type_trans_batch, netif_receive_skb_list, PTYPE_HASH_MASK, PTYPE_HASH_SIZE, type PacketHandler, type PacketTap, type PacketType } from './dev';
import { gro_receive } from './gro';
import { rps, RpsState, type RpsOptions } from './rps';
import { dev_queue_xmit } from './xmit';
import { NoopQdisc, type Qdisc } from './sch_generic';
import { PfifoQdisc } from '../sched/pfifo';

export interface SkbPoolOptions {
  /** small slabs (default 1024 of 2 KiB): every MTU-sized frame */
  slabs?: number;
  slabSize?: number;
  /** big slabs (default 64 of 64 KiB + 256 + headroom): a full 65535-byte IP packet + L2 header */
  bigSlabs?: number;
  bigSlabSize?: number;
  /** bytes reserved before data in every slab (default 128) */
  headroom?: number;
}

export interface NetStackOptions {
  /** drives softirqs, timers and time (default: softirqScheduler, real time); tests pass a VirtualTimeScheduler */
  scheduler?: SchedulerLike;
  log?: Logger;
  /** softnet[] length: virtual CPUs (default 1), each with its own backlog and softirq turn */
  cpus?: number;
  /** RPS/RFS/flow-limit settings and the flow hash key (core/rps.ts); RPS stays off until configured */
  rps?: RpsOptions;
  pool?: SkbPoolOptions;
  sysctl?: NetCoreSysctlOptions;
  /** the qdisc each new tx queue gets (default pfifo with limit txqueuelen) */
  default_qdisc?: (stack: NetStack, limit: number) => Qdisc;
}

export class NetStack {
  readonly scheduler: SchedulerLike;
  readonly log: Logger;
  readonly sysctl: NetCoreSysctl;
  /** per virtual CPU (softnet_data) */
  readonly softnet: SoftnetData[];
  /** RPS/RFS state: hashrnd, rps_cpus maps, RFS tables, flow limit (core/rps.ts) */
  readonly rps: RpsState;
  readonly mib = new NetMib();
  /** 2 KiB slabs for ordinary frames */
  readonly pool: SkbPool;
  /** 64 KiB slabs for big (GSO) frames */
  readonly bigPool: SkbPool;
  /** registered devices in attach order */
  readonly devices: NetDevice[] = [];
  /** the receive pipeline's entry: napi.receive_batch() emits here (eth_type_trans → GRO → RPS → netif_receive_skb_list) */
  readonly rx_pipeline = new Subject<SkbBatch>();
  /** ptype_all taps, newest first (dev_add_pack adds at the head) */
  ptype_all: readonly PacketTap[] = [];
  /** ptype_base: 16 buckets by ethertype & 15, newest first in each */
  ptype_base: (readonly PacketType[])[] = Array.from({ length: PTYPE_HASH_SIZE }, () => []);
  /** the shared noop qdisc (txqs of a device whose carrier is off) */
  readonly noop_qdisc: NoopQdisc;
  /** the softnet_data whose softirq is running now, null outside softirqs */
  running_cpu: SoftnetData | null = null;
  /** exceptions thrown by handlers, taps or drivers and caught by the core (model counter: bugs) */
  exceptions = 0;
  closed = false;
  next_napi_id = 1;

  private readonly ratelimit = new RateLimitState(5000, 10);
  private readonly rxSubscription: Subscription;
  private readonly makeQdisc: (stack: NetStack, limit: number) => Qdisc;

  constructor(opts: NetStackOptions = {}) {
    this.scheduler = opts.scheduler ?? softirqScheduler;
    this.log = opts.log ?? stderrLogger('skbnet');
    this.sysctl = new NetCoreSysctl(opts.sysctl);
    this.mib.layout = mib_layout(this.sysctl.osrelease);
    const cpus = Math.max(1, opts.cpus ?? 1);
    this.softnet = Array.from({ length: cpus }, (_, i) => new SoftnetData(this, i));
    this.rps = new RpsState(this, opts.rps);
    const p = opts.pool ?? {};
    const headroom = p.headroom ?? 128;
    this.pool = new SkbPool(p.slabs ?? 1024, p.slabSize ?? 2048, headroom);
    this.bigPool = new SkbPool(p.bigSlabs ?? 64, p.bigSlabSize ?? 65536 + 256 + headroom, headroom);
    this.noop_qdisc = new NoopQdisc(this);
    this.makeQdisc = opts.default_qdisc ?? ((stack, limit) => new PfifoQdisc(stack, limit));

    // the receive pipeline: named stages over batches, synchronous end to end
    this.rxSubscription = this.rx_pipeline
      .pipe(
        map((batch: SkbBatch) => eth_type_trans_batch(this, batch)),
        gro_receive(this),
        rps(this),
      )
      .subscribe({
        next: (batch) => {
          try {
            netif_receive_skb_list(this, batch);
          } catch (e) {
            this.bug('netif_receive_skb_list threw', e);
          }
        },
      });
  }

  /** jiffies at HZ from scheduler time (ms) */
  jiffies(): number {
    return Math.floor((this.scheduler.now() * this.sysctl.HZ) / 1000);
  }

  /** this_cpu_ptr(&softnet_data): the CPU running a softirq now, else CPU 0 */
  this_cpu(): SoftnetData {
    return this.running_cpu ?? this.softnet[0];
  }

  /**
   * register_netdev: a new device named eth<N> (lowest free N, as dev_alloc_name) with ifindex from 2
   * (1 is lo in every Linux namespace). The carrier starts on; the device turns it off while its
   * link is not ready.
   */
  register_netdev(ops: NetDeviceOps, opts: NetDeviceOptions = {}): NetDevice {
    let n = 0;
    while (this.devices.some((d) => d.name === `eth${n}`)) n++;
    const ifindex = this.devices.reduce((m, d) => Math.max(m, d.ifindex), 1) + 1;
    const dev = new NetDevice(this, ops, `eth${n}`, ifindex, opts, (limit) => this.makeQdisc(this, limit));
    this.devices.push(dev);
    return dev;
  }

  /** unregister_netdev: link down (queued frames freed), NAPIs disabled, device forgotten */
  unregister_netdev(dev: NetDevice): void {
    const i = this.devices.indexOf(dev);
    if (i < 0) return;
    dev.netif_carrier_off();
    for (const napi of dev.napi) napi_disable(napi);
    this.rps.netdev_unregister(dev);
    dev.registered = false;
    this.devices.splice(i, 1);
  }

  dev_get_by_index(ifindex: number): NetDevice | null {
    return this.devices.find((d) => d.ifindex === ifindex) ?? null;
  }

  dev_get_by_name(name: string): NetDevice | null {
    return this.devices.find((d) => d.name === name) ?? null;
  }

  /** dev_add_pack: `handler` receives every frame whose ethertype (host order) is `type` */
  dev_add_pack(type: number, handler: PacketHandler): void {
    const b = type & PTYPE_HASH_MASK;
    this.ptype_base[b] = [{ type, func: handler }, ...this.ptype_base[b]];
  }

  dev_remove_pack(type: number, handler: PacketHandler): void {
    const b = type & PTYPE_HASH_MASK;
    this.ptype_base[b] = this.ptype_base[b].filter((pt) => !(pt.type === type && pt.func === handler));
  }

  /**
   * dev_add_pack(ETH_P_ALL): `tap` sees every received frame (at netif_receive_skb, data at the
   * network header, mac_header set) and every transmit attempt (at dev_queue_xmit_nit, data at the
   * Ethernet header). A tap counts as a handler: with a tap, unknown protocols no longer count in
   * rx_dropped (Linux's behaviour with tcpdump running). Taps must treat the skb as read-only.
   */
  dev_add_tap(tap: PacketTap): void {
    this.ptype_all = [tap, ...this.ptype_all];
  }

  dev_remove_tap(tap: PacketTap): void {
    this.ptype_all = this.ptype_all.filter((t) => t !== tap);
  }

  /** dev_queue_xmit: see xmit.ts. NET_XMIT_SUCCESS 0, NET_XMIT_DROP 1, NET_XMIT_CN 2 (link down). */
  dev_queue_xmit(skb: Skb): number {
    return dev_queue_xmit(this, skb);
  }

  /**
   * alloc_skb(size) + skb_reserve(headroom): an empty skb with room for `size` bytes of data, from
   * the small pool when it fits, else the big pool. null when the pool is exhausted (the caller
   * counts its drop, as on ENOMEM).
   */
  alloc_skb(size: number): Skb | null {
    return size <= this.pool.maxSize ? this.pool.alloc(size) : this.bigPool.alloc(size);
  }

  /** skb_copy: a pooled copy of skb (bytes from data, metadata, header offsets); null when out of slabs */
  skb_copy(skb: Skb): Skb | null {
    const copy = this.alloc_skb(skb.len);
    if (!copy) return null;
    skb_copy_to(skb, copy);
    return copy;
  }

  /** net_ratelimit(): false when too many messages were printed lately */
  net_ratelimit(): boolean {
    return this.ratelimit.allow(this.scheduler.now(), (missed) => this.log.warn(`net_ratelimit: ${missed} callbacks suppressed`));
  }

  /** a warning about bad input, rate-limited like net_warn_ratelimited */
  ratelimited_warn(msg: string): void {
    if (this.net_ratelimit()) this.log.warn(msg);
  }

  /** a caught exception (a bug in a handler, tap or driver): counted, logged rate-limited */
  bug(where: string, e: unknown): void {
    this.exceptions++;
    if (this.net_ratelimit()) {
      const detail = e instanceof Error ? (e.stack ?? e.message) : String(e);
      this.log.error(`${where}: ${detail}`);
    }
  }

  /** stop: cancel pending softirqs and NAPI timers, end the pipeline */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const sd of this.softnet) sd.cancel();
    for (const dev of this.devices) for (const napi of dev.napi) napi_disable(napi);
    this.rxSubscription.unsubscribe();
    this.rx_pipeline.complete();
  }
}
