// Test harness for the IPv4 protocols: a real NetStack on a VirtualTimeScheduler with one NetDevice
// whose "wire" is this object — frames the test injects go up through NAPI (as a driver's poll would
// hand them), frames the model transmits are copied out of ndo_start_xmit. Frame builders here are
// written independently of kernel-model/wire so the tests check that code rather than echo it.
import { VirtualTimeScheduler } from 'rxjs';
import { NetStack } from '../../kernel-model/core/stack';
import { NETDEV_TX_OK, type NetDevice, type NetDeviceOps } from '../../kernel-model/core/netdevice';
import { napi_complete_done, napi_schedule, type NapiStruct } from '../../kernel-model/core/napi';
import type { Logger } from '../../kernel-model/core/log';
import type { Skb } from '../../kernel-model/core/skb';
import { attachInet, type AttachInetOptions, type Inet } from '../../kernel-model/inet';
import { defaultInetConfig, type InetConfig } from '../../kernel-model/ipv4/config';

export const MODEL_MAC = '52:55:0a:00:02:02';
export const GUEST_MAC = '52:54:00:12:34:56';

export class CaptureLogger implements Logger {
  readonly lines: string[] = [];
  info(m: string): void {
    this.lines.push(`info: ${m}`);
  }
  warn(m: string): void {
    this.lines.push(`warn: ${m}`);
  }
  error(m: string): void {
    this.lines.push(`error: ${m}`);
  }
}

/** a deterministic PRNG (mulberry32) so reachable times and IP IDs repeat run to run */
export function seeded(seed = 1): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class TestLink implements NetDeviceOps {
  readonly sched = new VirtualTimeScheduler();
  readonly log = new CaptureLogger();
  readonly stack: NetStack;
  readonly dev: NetDevice;
  readonly napi: NapiStruct;
  readonly inet: Inet;
  /** applied to each received skb after the "driver" set it up (e.g. ip_summed from a virtio header) */
  rxHook: ((skb: Skb) => void) | null = null;
  /**
   * When set, poll() places each received frame in this area instead of handing over the test's array,
   * and overwrites the area once the batch is done — the way virtio-net views guest memory in place or
   * gathers into its scratch area (both Node Buffers, valid only during the NAPI batch). Whatever the
   * model keeps past the batch must have been copied out, not viewed (Buffer#slice is a view).
   */
  rxArea: Buffer | null = null;
  /** frames the model transmitted, oldest first (copies) */
  readonly sent: Uint8Array[] = [];
  private pending: Uint8Array[] = [];

  constructor(config: InetConfig = defaultInetConfig(), opts: AttachInetOptions = {}, mtu = 1500) {
    this.stack = new NetStack({ scheduler: this.sched, log: this.log });
    this.dev = this.stack.register_netdev(this, { mtu });
    this.napi = this.dev.netif_napi_add((n, budget) => this.poll(n, budget));
    this.inet = attachInet(this.stack, this.dev, config, { random: seeded(7), ...opts });
  }

  get now(): number {
    return this.sched.now();
  }

  ndo_start_xmit(skb: Skb): number {
    this.sent.push(skb.buf.slice(skb.data, skb.data + skb.len));
    return NETDEV_TX_OK;
  }

  /** hand frames to the model as received frames and run the softirqs due now */
  inject(...frames: Uint8Array[]): void {
    this.pending.push(...frames);
    napi_schedule(this.napi);
    this.runDue();
  }

  /** frames sent since the last take(), and forget them */
  take(): Uint8Array[] {
    return this.sent.splice(0, this.sent.length);
  }

  /** run every scheduler action due at the current virtual time */
  runDue(): void {
    this.sched.maxFrames = this.sched.frame;
    this.sched.flush();
  }

  /** advance virtual time by ms, running timers on the way */
  advance(ms: number): void {
    const target = this.sched.frame + ms;
    this.sched.schedule(() => undefined, ms);
    this.sched.maxFrames = target;
    this.sched.flush();
  }

  private poll(napi: NapiStruct, budget: number): number {
    let work = 0;
    const area = this.rxArea;
    let used = 0;
    while (work < budget && this.pending.length > 0) {
      if (area !== null && used + this.pending[0].length > area.length) throw new Error('TestLink.rxArea too small for one batch');
      const f = this.pending.shift()!;
      const skb = napi.batch.next()!;
      if (area !== null) {
        area.set(f, used);
        skb.reset(area, used, f.length);
        used += f.length;
      } else {
        skb.reset(f, 0, f.length);
      }
      if (this.rxHook) this.rxHook(skb);
      this.dev.dev_sw_netstats_rx_add(f.length);
      work++;
    }
    napi.receive_batch();
    // the guest reuses its buffers once they are returned
    if (area !== null) area.fill(0xa5, 0, used);
    if (work < budget) napi_complete_done(napi, work);
    return work;
  }
}

// ---- independent byte helpers ----

export function hex(s: string): Uint8Array {
  const clean = s.replace(/[^0-9a-f]/gi, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.substr(i * 2, 2), 16);
  return out;
}

export function toHex(b: Uint8Array, off = 0, len = b.length - off): string {
  return Array.from(b.subarray(off, off + len), (x) => x.toString(16).padStart(2, '0')).join('');
}

export function mac(s: string): number[] {
  return s.split(':').map((x) => parseInt(x, 16));
}

export function ip4(s: string): number[] {
  return s.split('.').map(Number);
}

export function u16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

export function u32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

export function dotted(b: Uint8Array, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

export function macAt(b: Uint8Array, o: number): string {
  return Array.from(b.subarray(o, o + 6), (x) => x.toString(16).padStart(2, '0')).join(':');
}

/** RFC 1071 the slow, obvious way: the complemented 16-bit ones'-complement sum of the bytes */
export function slowChecksum(parts: ArrayLike<number>[]): number {
  const all: number[] = [];
  for (const p of parts) for (let i = 0; i < p.length; i++) all.push(p[i]);
  let sum = 0;
  for (let i = 0; i < all.length; i += 2) sum += all[i] * 256 + (i + 1 < all.length ? all[i + 1] : 0);
  while (sum > 0xffff) sum = (sum % 65536) + Math.floor(sum / 65536);
  return (~sum) & 0xffff;
}

/** IPv4 header of a frame (Ethernet at 0) checks out */
export function ipHeaderOk(f: Uint8Array): boolean {
  const ihl = (f[14] & 15) * 4;
  return slowChecksum([f.subarray(14, 14 + ihl)]) === 0;
}

/** UDP (or TCP) checksum of a frame verifies with the pseudo-header */
export function l4ChecksumOk(f: Uint8Array): boolean {
  const ihl = (f[14] & 15) * 4;
  const tot = u16(f, 16);
  const l4 = f.subarray(14 + ihl, 14 + tot);
  const pseudo = [...f.subarray(26, 34), 0, f[23], l4.length >> 8, l4.length & 255];
  return slowChecksum([pseudo, l4]) === 0;
}

/** put correct IPv4 header and (UDP/ICMP) checksums into a hand-built frame, independently of wire/ */
export function fixChecksums(f: Uint8Array): Uint8Array {
  const ihl = (f[14] & 15) * 4;
  f[24] = f[25] = 0;
  const hc = slowChecksum([f.subarray(14, 14 + ihl)]);
  f[24] = hc >> 8;
  f[25] = hc & 255;
  const tot = u16(f, 16);
  const l4o = 14 + ihl;
  const l4 = f.subarray(l4o, Math.min(14 + tot, f.length));
  if (f[23] === 17 && l4.length >= 8) {
    f[l4o + 6] = f[l4o + 7] = 0;
    const pseudo = [...f.subarray(26, 34), 0, 17, l4.length >> 8, l4.length & 255];
    let c = slowChecksum([pseudo, l4]);
    if (c === 0) c = 0xffff;
    f[l4o + 6] = c >> 8;
    f[l4o + 7] = c & 255;
  } else if (f[23] === 1 && l4.length >= 4) {
    f[l4o + 2] = f[l4o + 3] = 0;
    const c = slowChecksum([l4]);
    f[l4o + 2] = c >> 8;
    f[l4o + 3] = c & 255;
  }
  return f;
}

/** an Ethernet + IPv4 frame (no options), checksums filled in */
export function ipv4Frame(opts: {
  dstMac?: string;
  srcMac?: string;
  src: string;
  dst: string;
  proto: number;
  payload: ArrayLike<number>;
  ttl?: number;
  tos?: number;
  id?: number;
  frag?: number;
}): Uint8Array {
  const tot = 20 + opts.payload.length;
  const f = new Uint8Array(14 + tot);
  f.set(mac(opts.dstMac ?? MODEL_MAC), 0);
  f.set(mac(opts.srcMac ?? GUEST_MAC), 6);
  f[12] = 0x08;
  f[13] = 0x00;
  f.set([0x45, opts.tos ?? 0, tot >> 8, tot & 255, (opts.id ?? 0x1234) >> 8, (opts.id ?? 0x1234) & 255, (opts.frag ?? 0x4000) >> 8, (opts.frag ?? 0x4000) & 255, opts.ttl ?? 64, opts.proto, 0, 0], 14);
  f.set(ip4(opts.src), 26);
  f.set(ip4(opts.dst), 30);
  f.set(Array.from(opts.payload), 34);
  return fixChecksums(f);
}

export function udpPayload(sport: number, dport: number, data: ArrayLike<number>): number[] {
  const l = 8 + data.length;
  return [sport >> 8, sport & 255, dport >> 8, dport & 255, l >> 8, l & 255, 0, 0, ...Array.from(data)];
}

export function udpFrame(o: { dstMac?: string; srcMac?: string; src: string; dst: string; sport: number; dport: number; data: ArrayLike<number> }): Uint8Array {
  return ipv4Frame({ ...o, proto: 17, payload: udpPayload(o.sport, o.dport, o.data) });
}

export function echoRequest(o: { dstMac?: string; src?: string; dst?: string; id: number; seq: number; data: ArrayLike<number> }): Uint8Array {
  const p = [8, 0, 0, 0, o.id >> 8, o.id & 255, o.seq >> 8, o.seq & 255, ...Array.from(o.data)];
  return ipv4Frame({ dstMac: o.dstMac, src: o.src ?? '10.0.2.15', dst: o.dst ?? '10.0.2.2', proto: 1, payload: p });
}

export function arpFrame(o: { op: number; dstMac?: string; sha?: string; spa: string; tha?: string; tpa: string }): Uint8Array {
  const f = new Uint8Array(42);
  f.set(mac(o.dstMac ?? 'ff:ff:ff:ff:ff:ff'), 0);
  f.set(mac(o.sha ?? GUEST_MAC), 6);
  f.set([0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0, o.op], 12);
  f.set(mac(o.sha ?? GUEST_MAC), 22);
  f.set(ip4(o.spa), 28);
  f.set(mac(o.tha ?? '00:00:00:00:00:00'), 32);
  f.set(ip4(o.tpa), 38);
  return f;
}

// ---- captured frames ----

/**
 * busybox udhcpc 1.36.1 DISCOVER from 52:54:00:12:34:56: raw socket, 0.0.0.0 → 255.255.255.255, TTL 64,
 * ID 0, no DF; xid 3903f326, flags 0; options 53=1, 61=01+MAC, 57=576, 55=[1,3,6,12,15,28,42],
 * 60="udhcp 1.36.1", END, zero padding to a 300-byte BOOTP message.
 */
export const UDHCPC_DISCOVER = hex(
  'ffffffffffff52540012345608004500014800000000401179a600000000ffff' +
    'ffff0044004301348aa6010106003903f3260000000000000000000000000000' +
    '0000000000005254001234560000000000000000000000000000000000000000' +
    '0000000000000000000000000000000000000000000000000000000000000000' +
    '0000000000000000000000000000000000000000000000000000000000000000' +
    '0000000000000000000000000000000000000000000000000000000000000000' +
    '0000000000000000000000000000000000000000000000000000000000000000' +
    '0000000000000000000000000000000000000000000000000000000000000000' +
    '00000000000000000000000000000000000000000000638253633501013d0701' +
    '5254001234563902024037070103060c0f1c2a3c0c756468637020312e33362e' +
    '31ff0000000000000000000000000000000000000000',
);

// ---- DHCP client side, byte by byte ----

export interface DhcpClientMsg {
  type: number;
  xid?: number;
  mac?: string;
  ciaddr?: string;
  flags?: number;
  /** extra options as [code, ...value] arrays, written after option 53 */
  options?: number[][];
  /** IP/Ethernet addressing; default 0.0.0.0 → 255.255.255.255 broadcast */
  src?: string;
  dst?: string;
  dstMac?: string;
}

/** a BOOTREQUEST frame as a client builds it: 300-byte minimum, options 53 first, END, zero pad */
export function dhcpFrame(m: DhcpClientMsg): Uint8Array {
  const b = new Array<number>(240).fill(0);
  b[0] = 1;
  b[1] = 1;
  b[2] = 6;
  const xid = m.xid ?? 0x11223344;
  b.splice(4, 4, xid >>> 24, (xid >>> 16) & 255, (xid >>> 8) & 255, xid & 255);
  const flags = m.flags ?? 0;
  b.splice(10, 2, flags >> 8, flags & 255);
  if (m.ciaddr) b.splice(12, 4, ...ip4(m.ciaddr));
  b.splice(28, 6, ...mac(m.mac ?? GUEST_MAC));
  b.splice(236, 4, 0x63, 0x82, 0x53, 0x63);
  b.push(53, 1, m.type);
  for (const o of m.options ?? []) b.push(o[0], o.length - 1, ...o.slice(1));
  b.push(255);
  while (b.length < 300) b.push(0);
  return udpFrame({
    dstMac: m.dstMac ?? 'ff:ff:ff:ff:ff:ff',
    srcMac: m.mac ?? GUEST_MAC,
    src: m.src ?? '0.0.0.0',
    dst: m.dst ?? '255.255.255.255',
    sport: 68,
    dport: 67,
    data: b,
  });
}

export interface DhcpReply {
  ethDst: string;
  ipSrc: string;
  ipDst: string;
  ttl: number;
  df: boolean;
  ident: number;
  sport: number;
  dport: number;
  bootpLen: number;
  op: number;
  xid: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  chaddr: string;
  /** options in wire order */
  codes: number[];
  opt: Map<number, number[]>;
  checksumsOk: boolean;
}

/** parse a server reply frame without the model's wire code */
export function parseDhcpReply(f: Uint8Array): DhcpReply {
  const ihl = (f[14] & 15) * 4;
  const u = 14 + ihl;
  const d = u + 8;
  const end = 14 + u16(f, 16);
  const codes: number[] = [];
  const opt = new Map<number, number[]>();
  let i = d + 240;
  while (i < end && f[i] !== 255) {
    if (f[i] === 0) {
      i++;
      continue;
    }
    const c = f[i];
    const l = f[i + 1];
    codes.push(c);
    opt.set(c, Array.from(f.subarray(i + 2, i + 2 + l)));
    i += 2 + l;
  }
  return {
    ethDst: macAt(f, 0),
    ipSrc: dotted(f, 26),
    ipDst: dotted(f, 30),
    ttl: f[22],
    df: (f[20] & 0x40) !== 0,
    ident: u16(f, 18),
    sport: u16(f, u),
    dport: u16(f, u + 2),
    bootpLen: end - d,
    op: f[d],
    xid: u32(f, d + 4),
    flags: u16(f, d + 10),
    ciaddr: dotted(f, d + 12),
    yiaddr: dotted(f, d + 16),
    siaddr: dotted(f, d + 20),
    chaddr: macAt(f, d + 28),
    codes,
    opt,
    checksumsOk: ipHeaderOk(f) && l4ChecksumOk(f),
  };
}

/** answer every ARP request in `frames` for `ip` with `hw`; returns the frames that were not ARP */
export function answerArp(link: TestLink, frames: Uint8Array[], ip: string, hw = GUEST_MAC): Uint8Array[] {
  const rest: Uint8Array[] = [];
  for (const f of frames) {
    if (u16(f, 12) === 0x0806 && u16(f, 20) === 1 && dotted(f, 38) === ip) {
      link.inject(arpFrame({ op: 2, dstMac: macAt(f, 6), sha: hw, spa: ip, tha: macAt(f, 6), tpa: dotted(f, 28) }));
    } else {
      rest.push(f);
    }
  }
  return rest;
}
