// Test harness for the TCP model: two NetStacks (each with IPv4 + TCP on one device) on one
// VirtualTimeScheduler, joined by a link that can drop, duplicate, reorder and delay frames under a
// seeded RNG. Everything runs in virtual time; frames cross the link as copies.
import { VirtualTimeScheduler } from 'rxjs';
import { napi_complete_done, napi_schedule, type NapiStruct } from '../../kernel-model/core/napi';
import { NETDEV_TX_OK, type NetDevice, type NetDeviceOps } from '../../kernel-model/core/netdevice';
import type { Skb } from '../../kernel-model/core/skb';
import { NetStack } from '../../kernel-model/core/stack';
import { attachInet, type Inet } from '../../kernel-model/inet';
import { defaultInetConfig } from '../../kernel-model/ipv4/config';
import { tcp_v4_init, type TcpNet } from '../../kernel-model/tcp/tcp_ipv4';
import type { TcpSysctl } from '../../kernel-model/tcp/sysctl';
import { CaptureLogger, seeded, slowChecksum } from './ipv4-link';

export const ADDR_A = 0x0a000202; // 10.0.2.2
export const ADDR_B = 0x0a00020f; // 10.0.2.15

export interface LinkFaults {
  /** probability a frame is lost */
  drop: number;
  /** probability a frame is delivered twice */
  dup: number;
  /** one-way base delay (ms) */
  delay: number;
  /** extra uniformly random delay (ms): frames overtake each other when > 0 */
  jitter: number;
}

export const CLEAN: LinkFaults = { drop: 0, dup: 0, delay: 1, jitter: 0 };

/** one end: a NetStack whose device hands frames to the link */
export class Host implements NetDeviceOps {
  readonly stack: NetStack;
  readonly dev: NetDevice;
  readonly napi: NapiStruct;
  readonly inet: Inet;
  readonly tcp: TcpNet;
  peer!: Host;
  private pending: Uint8Array[] = [];
  /** frames this host transmitted (copies), when capture is on */
  readonly sent: Uint8Array[] = [];
  capture = false;
  /** set to drop every TCP frame this host sends (a one-way blackout; ARP still works) */
  blackhole = false;
  /** when set, a frame this host sends crosses the link only if this returns true */
  outFilter: ((f: Uint8Array) => boolean) | null = null;

  constructor(
    readonly pair: TcpPair,
    readonly name: string,
    host: number,
    mac: Uint8Array,
    sysctl: Partial<TcpSysctl>,
    seed: number,
    mtu: number,
  ) {
    this.stack = new NetStack({ scheduler: pair.sched, log: pair.log });
    this.dev = this.stack.register_netdev(this, { mac, mtu });
    this.napi = this.dev.netif_napi_add((n, budget) => this.poll(n, budget));
    const cfg = defaultInetConfig({ host, dns: (host + 1) >>> 0, dhcpStart: 0x0a000264, dhcp: false });
    this.inet = attachInet(this.stack, this.dev, cfg, { random: seeded(seed) });
    this.tcp = tcp_v4_init(this.inet.net, sysctl);
  }

  ndo_start_xmit(skb: Skb): number {
    const f = skb.buf.slice(skb.data, skb.data + skb.len);
    if (this.capture) this.sent.push(f);
    if (this.outFilter !== null && !this.outFilter(f)) return NETDEV_TX_OK;
    if (!(this.blackhole && f[12] === 8 && f[13] === 0 && f[23] === 6)) this.pair.carry(this, f);
    return NETDEV_TX_OK;
  }

  receive(f: Uint8Array): void {
    this.pending.push(f);
    napi_schedule(this.napi);
  }

  private poll(napi: NapiStruct, budget: number): number {
    let work = 0;
    while (work < budget && this.pending.length > 0) {
      const f = this.pending.shift()!;
      napi.batch.next()!.reset(f, 0, f.length);
      work++;
    }
    napi.receive_batch();
    if (work < budget) napi_complete_done(napi, work);
    return work;
  }
}

export class TcpPair {
  readonly sched: VirtualTimeScheduler;
  readonly log = new CaptureLogger();
  readonly a: Host;
  readonly b: Host;
  readonly rnd: () => number;
  faults: LinkFaults;
  /** frames carried / dropped / duplicated */
  carried = 0;
  dropped = 0;
  duplicated = 0;

  constructor(
    opts: { faults?: LinkFaults; seed?: number; sysctlA?: Partial<TcpSysctl>; sysctlB?: Partial<TcpSysctl>; mtu?: number; sched?: VirtualTimeScheduler } = {},
  ) {
    this.sched = opts.sched ?? new VirtualTimeScheduler(undefined, Number.POSITIVE_INFINITY);
    this.faults = opts.faults ?? CLEAN;
    this.rnd = seeded(opts.seed ?? 1);
    const mtu = opts.mtu ?? 1500;
    this.a = new Host(this, 'a', ADDR_A, new Uint8Array([0x52, 0x55, 0x0a, 0, 2, 2]), opts.sysctlA ?? {}, 11, mtu);
    this.b = new Host(this, 'b', ADDR_B, new Uint8Array([0x52, 0x54, 0, 0x12, 0x34, 0x56]), opts.sysctlB ?? {}, 23, mtu);
    this.a.peer = this.b;
    this.b.peer = this.a;
  }

  get now(): number {
    return this.sched.now();
  }

  /** every RST carried (or dropped): who sent it, whether it still had any TCP socket, when */
  readonly rsts: { from: string; hadSocket: boolean; at: number }[] = [];

  carry(from: Host, f: Uint8Array): void {
    const fl = this.faults;
    // IPv4 + TCP with RST (Ethernet 14 + IHL, flags at TCP offset 13)
    if (f[12] === 8 && f[13] === 0 && f[23] === 6 && f[14 + (f[14] & 15) * 4 + 13] & 4) {
      this.rsts.push({ from: from.name, hadSocket: from.tcp.sockets().length > 0, at: this.now });
    }
    if (fl.drop > 0 && this.rnd() < fl.drop) {
      this.dropped++;
      return;
    }
    const copies = fl.dup > 0 && this.rnd() < fl.dup ? 2 : 1;
    if (copies === 2) this.duplicated++;
    for (let i = 0; i < copies; i++) {
      const d = fl.delay + (fl.jitter > 0 ? this.rnd() * fl.jitter : 0);
      this.carried++;
      this.sched.schedule(() => from.peer.receive(f), d);
    }
  }

  /** advance virtual time by ms */
  advance(ms: number): void {
    const target = this.sched.frame + ms;
    this.sched.schedule(() => undefined, ms);
    this.sched.maxFrames = target;
    this.sched.flush();
  }

  /** run in steps until `done()` or `limit` ms passed; returns whether done */
  runUntil(done: () => boolean, limit: number, step = 50): boolean {
    const end = this.sched.frame + limit;
    while (this.sched.frame < end) {
      if (done()) return true;
      this.advance(step);
    }
    return done();
  }
}

/** deterministic bytes for a stream */
export function pattern(n: number, seed = 7): Uint8Array {
  const r = seeded(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 256) | 0;
  return out;
}

/** an Ethernet/IPv4/TCP frame from `from` to `to`, built byte by byte (not with wire/tcp), checksums filled */
export function tcpFrame(
  from: Host,
  to: Host,
  f: { sport: number; dport: number; seq: number; ack: number; flags: number; win?: number; opts?: number[]; payload?: Uint8Array; saddr?: number },
): Uint8Array {
  const opts = f.opts ?? [];
  const payload = f.payload ?? new Uint8Array(0);
  const thl = 20 + opts.length;
  const tot = 20 + thl + payload.length;
  const b = new Uint8Array(14 + tot);
  b.set(to.dev.dev_addr, 0);
  b.set(from.dev.dev_addr, 6);
  b[12] = 0x08;
  const ip = 14;
  b[ip] = 0x45;
  b[ip + 2] = tot >> 8;
  b[ip + 3] = tot & 255;
  b[ip + 6] = 0x40;
  b[ip + 8] = 64;
  b[ip + 9] = 6;
  const sa = f.saddr ?? from.inet.ind.primary;
  const da = to.inet.ind.primary;
  const w32 = (o: number, v: number) => {
    b[o] = v >>> 24;
    b[o + 1] = (v >>> 16) & 255;
    b[o + 2] = (v >>> 8) & 255;
    b[o + 3] = v & 255;
  };
  w32(ip + 12, sa);
  w32(ip + 16, da);
  const hc = slowChecksum([b.subarray(ip, ip + 20)]);
  b[ip + 10] = hc >> 8;
  b[ip + 11] = hc & 255;
  const t = ip + 20;
  b[t] = f.sport >> 8;
  b[t + 1] = f.sport & 255;
  b[t + 2] = f.dport >> 8;
  b[t + 3] = f.dport & 255;
  w32(t + 4, f.seq >>> 0);
  w32(t + 8, f.ack >>> 0);
  b[t + 12] = (thl / 4) << 4;
  b[t + 13] = f.flags;
  const win = f.win ?? 0xffff;
  b[t + 14] = win >> 8;
  b[t + 15] = win & 255;
  b.set(opts, t + 20);
  b.set(payload, t + thl);
  const l4 = b.subarray(t);
  const pseudo = [...b.subarray(ip + 12, ip + 20), 0, 6, l4.length >> 8, l4.length & 255];
  const c = slowChecksum([pseudo, l4]);
  b[t + 16] = c >> 8;
  b[t + 17] = c & 255;
  return b;
}

/** TCP fields of a captured frame (Ethernet at 0) */
export function tcpOf(f: Uint8Array): { sport: number; dport: number; seq: number; ack: number; flags: number; win: number; doff: number; len: number; opts: Uint8Array; tsval: number; tsecr: number } {
  const ihl = (f[14] & 15) * 4;
  const t = 14 + ihl;
  const tot = (f[16] << 8) | f[17];
  const doff = (f[t + 12] >> 4) * 4;
  const u32 = (o: number) => ((f[o] << 24) | (f[o + 1] << 16) | (f[o + 2] << 8) | f[o + 3]) >>> 0;
  const opts = f.subarray(t + 20, t + doff);
  let tsval = -1;
  let tsecr = -1;
  for (let p = 0; p < opts.length; ) {
    if (opts[p] === 0) break;
    if (opts[p] === 1) {
      p++;
      continue;
    }
    if (opts[p] === 8) {
      tsval = u32(t + 20 + p + 2);
      tsecr = u32(t + 20 + p + 6);
    }
    p += Math.max(opts[p + 1], 2);
  }
  return {
    sport: (f[t] << 8) | f[t + 1],
    dport: (f[t + 2] << 8) | f[t + 3],
    seq: u32(t + 4),
    ack: u32(t + 8),
    flags: f[t + 13],
    win: (f[t + 14] << 8) | f[t + 15],
    doff,
    len: tot - ihl - doff,
    opts,
    tsval,
    tsecr,
  };
}
