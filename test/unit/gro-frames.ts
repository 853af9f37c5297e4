// Frames and a NAPI test device for the GRO tests, built here byte by byte (independent of the
// model's wire/ code and checksum helpers).
import { VirtualTimeScheduler } from 'rxjs';
import { NetStack, type SkbPoolOptions } from '../../kernel-model/core/stack';
import { NETDEV_TX_OK, type NetDevice, type NetDeviceOps } from '../../kernel-model/core/netdevice';
import { napi_complete_done, napi_schedule, type NapiStruct } from '../../kernel-model/core/napi';
import { silentLogger } from '../../kernel-model/core/log';
import type { Skb } from '../../kernel-model/core/skb';

export const GW_MAC = [0x52, 0x55, 0x0a, 0x00, 0x02, 0x02];
export const GUEST_MAC = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
export const GUEST4 = [10, 0, 2, 15];
export const GW4 = [10, 0, 2, 2];
export const GUEST6 = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x50, 0x54, 0, 0xff, 0xfe, 0x12, 0x34, 0x56];
export const GW6 = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

export const TH_FIN = 0x01;
export const TH_SYN = 0x02;
export const TH_RST = 0x04;
export const TH_PSH = 0x08;
export const TH_ACK = 0x10;
export const TH_URG = 0x20;
export const TH_ECE = 0x40;
export const TH_CWR = 0x80;

/** ones'-complement sum of byte runs (not complemented), the slow obvious way */
export function sum16(...parts: ArrayLike<number>[]): number {
  const all: number[] = [];
  for (const p of parts) for (let i = 0; i < p.length; i++) all.push(p[i]);
  let s = 0;
  for (let i = 0; i < all.length; i += 2) s += all[i] * 256 + (i + 1 < all.length ? all[i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return s;
}

export function be16(b: Uint8Array, o: number): number {
  return b[o] * 256 + b[o + 1];
}
export function be32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}
function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 255;
  b[o + 1] = v & 255;
}
function put32(b: Uint8Array, o: number, v: number): void {
  put16(b, o, v >>> 16);
  put16(b, o + 2, v & 0xffff);
}

export interface SegOpts {
  v6?: boolean;
  sport?: number;
  dport?: number;
  seq: number;
  ack?: number;
  /** TCP flag byte (default ACK) */
  flags?: number;
  window?: number;
  /** timestamps option (NOP NOP TS); null for none */
  ts?: [number, number] | null;
  len: number;
  /** payload byte i = (seq + i) & 255 unless fill is given */
  fill?: number;
  // IPv4
  id?: number;
  df?: boolean;
  ttl?: number;
  tos?: number;
  /** raw frag_off bits beyond DF (MF, offset) */
  frag?: number;
  /** 4 bytes of IP options (ihl 6) */
  ipopt?: boolean;
  // IPv6
  hop?: number;
  flowlabel?: number;
  tclass?: number;
  /** Ethernet padding bytes after the IP packet */
  pad?: number;
  srcMac?: number[];
  saddr?: number[];
  badTcpCsum?: boolean;
}

/** an Ethernet + IPv4/IPv6 + TCP segment with correct checksums */
export function seg(o: SegOpts): Uint8Array {
  const optlen = o.ts === null ? 0 : 12;
  const thlen = 20 + optlen;
  const v6 = o.v6 === true;
  const ihl = v6 ? 40 : o.ipopt ? 24 : 20;
  const iplen = ihl + thlen + o.len;
  const f = new Uint8Array(14 + iplen + (o.pad ?? 0));
  f.set(GW_MAC, 0);
  f.set(o.srcMac ?? GUEST_MAC, 6);
  put16(f, 12, v6 ? 0x86dd : 0x0800);
  const n = 14;
  const src = o.saddr ?? (v6 ? GUEST6 : GUEST4);
  const dst = v6 ? GW6 : GW4;
  if (v6) {
    put32(f, n, (6 << 28) | ((o.tclass ?? 0) << 20) | (o.flowlabel ?? 0));
    put16(f, n + 4, thlen + o.len);
    f[n + 6] = 6;
    f[n + 7] = o.hop ?? 64;
    f.set(src, n + 8);
    f.set(dst, n + 24);
  } else {
    f[n] = 0x40 | (ihl / 4);
    f[n + 1] = o.tos ?? 0;
    put16(f, n + 2, iplen);
    put16(f, n + 4, o.id ?? 0);
    put16(f, n + 6, (o.df === false ? 0 : 0x4000) | (o.frag ?? 0));
    f[n + 8] = o.ttl ?? 64;
    f[n + 9] = 6;
    f.set(src, n + 12);
    f.set(dst, n + 16);
    if (o.ipopt) f[n + 20] = 1; // NOP x4 (1,0,0,0 is NOP then EOL: fine for GRO)
    put16(f, n + 10, ~sum16(f.subarray(n, n + ihl)) & 0xffff);
  }
  const t = n + ihl;
  put16(f, t, o.sport ?? 40000);
  put16(f, t + 2, o.dport ?? 5001);
  put32(f, t + 4, o.seq >>> 0);
  put32(f, t + 8, o.ack ?? 1000);
  f[t + 12] = (thlen / 4) << 4;
  f[t + 13] = o.flags ?? TH_ACK;
  put16(f, t + 14, o.window ?? 502);
  if (optlen) {
    f[t + 20] = 1;
    f[t + 21] = 1;
    f[t + 22] = 8;
    f[t + 23] = 10;
    const ts = o.ts ?? [100, 200];
    put32(f, t + 24, ts[0]);
    put32(f, t + 28, ts[1]);
  }
  for (let i = 0; i < o.len; i++) f[t + thlen + i] = o.fill !== undefined ? o.fill : (o.seq + i) & 255;
  const l4len = thlen + o.len;
  const pseudo = v6
    ? [...src, ...dst, 0, 0, l4len >>> 8, l4len & 255, 0, 0, 0, 6]
    : [...src, ...dst, 0, 6, l4len >>> 8, l4len & 255];
  const c = ~sum16(pseudo, f.subarray(t, t + l4len)) & 0xffff;
  put16(f, t + 16, o.badTcpCsum ? c ^ 0x5a5a : c);
  return f;
}

/** n back-to-back segments of one flow starting at seq, IPv4 IDs incrementing from id */
export function train(n: number, o: Omit<SegOpts, 'seq'> & { seq?: number }): Uint8Array[] {
  const out: Uint8Array[] = [];
  let seq = o.seq ?? 1;
  for (let i = 0; i < n; i++) {
    out.push(seg({ ...o, seq, id: (o.id ?? 100) + i }));
    seq += o.len;
  }
  return out;
}

/** a UDP datagram over IPv4 */
export function udp4(sport: number, dport: number, payload: number, badCsum = false): Uint8Array {
  const iplen = 20 + 8 + payload;
  const f = new Uint8Array(14 + iplen);
  f.set(GW_MAC, 0);
  f.set(GUEST_MAC, 6);
  put16(f, 12, 0x0800);
  f[14] = 0x45;
  put16(f, 16, iplen);
  put16(f, 20, 0x4000);
  f[22] = 64;
  f[23] = 17;
  f.set(GUEST4, 26);
  f.set(GW4, 30);
  put16(f, 24, ~sum16(f.subarray(14, 34)) & 0xffff);
  put16(f, 34, sport);
  put16(f, 36, dport);
  put16(f, 38, 8 + payload);
  for (let i = 0; i < payload; i++) f[42 + i] = i & 255;
  let c = ~sum16([...GUEST4, ...GW4, 0, 17, (8 + payload) >>> 8, (8 + payload) & 255], f.subarray(34)) & 0xffff;
  if (c === 0) c = 0xffff;
  put16(f, 40, badCsum ? c ^ 0x1111 : c);
  return f;
}

/** an ARP request (not GRO-able) */
export function arp(): Uint8Array {
  const f = new Uint8Array(60);
  f.fill(0xff, 0, 6);
  f.set(GUEST_MAC, 6);
  put16(f, 12, 0x0806);
  put16(f, 14, 1);
  put16(f, 16, 0x0800);
  f[18] = 6;
  f[19] = 4;
  put16(f, 20, 1);
  f.set(GUEST_MAC, 22);
  f.set(GUEST4, 28);
  f.set(GW4, 38);
  return f;
}

/** what a tap saw: the frame from its Ethernet header, and the skb's GSO/checksum metadata */
export interface Seen {
  frame: Uint8Array;
  /** skb.len (from the network header) */
  len: number;
  gso_size: number;
  gso_segs: number;
  gso_type: number;
  ip_summed: number;
  /** csum_start relative to the network header */
  csum_start: number;
  csum_offset: number;
  pool: boolean;
}

/** a device whose poll hands pending frames to NAPI like virtnet_poll, with a tap recording deliveries */
export class GroRig implements NetDeviceOps {
  readonly sched = new VirtualTimeScheduler(undefined, Number.POSITIVE_INFINITY);
  readonly stack: NetStack;
  readonly dev: NetDevice;
  readonly napi: NapiStruct;
  readonly seen: Seen[] = [];
  pending: Uint8Array[] = [];
  /** applied to each skb the "driver" fills (ip_summed, hash, …) */
  rxHook: ((skb: Skb, i: number) => void) | null = null;
  polls = 0;

  constructor(weight = 64, pool: SkbPoolOptions = {}) {
    this.stack = new NetStack({ scheduler: this.sched, log: silentLogger, pool });
    this.dev = this.stack.register_netdev(this);
    this.napi = this.dev.netif_napi_add((n, budget) => this.poll(n, budget), weight);
    this.stack.dev_add_tap((skb, _dev, dir) => {
      if (dir !== 'rx') return;
      this.seen.push({
        frame: skb.buf.slice(skb.mac_header, skb.data + skb.len),
        len: skb.len,
        gso_size: skb.gso_size,
        gso_segs: skb.gso_segs,
        gso_type: skb.gso_type,
        ip_summed: skb.ip_summed,
        csum_start: skb.csum_start - skb.data,
        csum_offset: skb.csum_offset,
        pool: skb.pool !== null,
      });
    });
  }

  ndo_start_xmit(): number {
    return NETDEV_TX_OK;
  }

  /** queue frames, kick the NAPI, run what is due now */
  inject(frames: Uint8Array[]): Seen[] {
    const before = this.seen.length;
    this.pending.push(...frames);
    napi_schedule(this.napi);
    this.runDue();
    return this.seen.slice(before);
  }

  runDue(): void {
    this.sched.maxFrames = this.sched.frame;
    this.sched.flush();
  }

  advance(ms: number): void {
    const target = this.sched.frame + ms;
    this.sched.schedule(() => undefined, ms);
    this.sched.maxFrames = target;
    this.sched.flush();
  }

  private poll(napi: NapiStruct, budget: number): number {
    this.polls++;
    let work = 0;
    while (work < budget && this.pending.length > 0) {
      const f = this.pending.shift()!;
      const skb = napi.batch.next()!.reset(f, 0, f.length);
      if (this.rxHook) this.rxHook(skb, work);
      work++;
    }
    napi.receive_batch();
    if (work < budget) napi_complete_done(napi, work);
    return work;
  }
}
