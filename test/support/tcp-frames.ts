// Ethernet + IPv4/IPv6 + TCP (or UDP) frames with correct checksums, written byte by byte (independent
// of the model's wire/ code and checksum helpers), for tests that feed frames to the model (GRO, TCP)
// and, for the differential tests, the same frames to a real kernel.
// Default direction: from the gateway (52:55:0a:00:02:02, 10.0.2.2 / fe80::2) to the guest
// (52:54:00:12:34:56, 10.0.2.15 / fe80::5054:ff:fe12:3456), i.e. frames skbnet transmits toward the guest;
// `toGateway` turns a frame around (guest → gateway, what skbnet receives), default ports swapped too.

export const GW_MAC = [0x52, 0x55, 0x0a, 0x00, 0x02, 0x02];
export const GUEST_MAC = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
export const GW4 = [10, 0, 2, 2];
export const GUEST4 = [10, 0, 2, 15];
export const GW6 = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
export const GUEST6 = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x50, 0x54, 0, 0xff, 0xfe, 0x12, 0x34, 0x56];

export const TH_FIN = 0x01;
export const TH_SYN = 0x02;
export const TH_RST = 0x04;
export const TH_PSH = 0x08;
export const TH_ACK = 0x10;
export const TH_URG = 0x20;
export const TH_ECE = 0x40;
export const TH_CWR = 0x80;

/** the gateway's port of the default flow (iperf3's), and the guest's */
const GW_PORT = 5201;
const GUEST_PORT = 40000;

/** ones'-complement sum of byte runs (not complemented) */
export function sum16(...parts: ArrayLike<number>[]): number {
  let s = 0;
  let odd = -1; // a byte left over from the previous part
  for (const p of parts) {
    for (let i = 0; i < p.length; i++) {
      if (odd < 0) odd = p[i];
      else {
        s += odd * 256 + p[i];
        odd = -1;
      }
    }
  }
  if (odd >= 0) s += odd * 256;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return s;
}

export const be16 = (b: Uint8Array, o: number): number => b[o] * 256 + b[o + 1];
export const be32 = (b: Uint8Array, o: number): number => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 255;
  b[o + 1] = v & 255;
}
function put32(b: Uint8Array, o: number, v: number): void {
  put16(b, o, v >>> 16);
  put16(b, o + 2, v & 0xffff);
}

/** the two ends of a frame: Ethernet and IP addresses, by direction */
function ends(v6: boolean, toGateway: boolean): { dstMac: number[]; srcMac: number[]; src: number[]; dst: number[] } {
  const gw = v6 ? GW6 : GW4;
  const guest = v6 ? GUEST6 : GUEST4;
  return toGateway ? { dstMac: GW_MAC, srcMac: GUEST_MAC, src: guest, dst: gw } : { dstMac: GUEST_MAC, srcMac: GW_MAC, src: gw, dst: guest };
}

export interface TcpSeg {
  v6?: boolean;
  /** guest → gateway instead of gateway → guest */
  toGateway?: boolean;
  /** default: the gateway's 5201 and the guest's 40000, by direction */
  sport?: number;
  dport?: number;
  seq: number;
  ack?: number;
  /** TCP flag byte (default ACK) */
  flags?: number;
  window?: number;
  /** NOP NOP TS option; null: no options */
  ts?: [number, number] | null;
  /** payload bytes; byte i = (seq + i) & 255 */
  len: number;
  // IPv4
  id?: number;
  df?: boolean;
  /** frag_off bits beyond DF (MF, offset) */
  frag?: number;
  ttl?: number;
  tos?: number;
  /** 4 bytes of IP options (NOP ×4, ihl 6) */
  ipopt?: boolean;
  // IPv6
  hop?: number;
  tclass?: number;
  flowlabel?: number;
  /** Ethernet padding bytes after the IP packet */
  pad?: number;
  /** TCP check = the pseudo-header sum only (CHECKSUM_PARTIAL, as a TSO super-frame carries it) */
  partialCsum?: boolean;
  /** a wrong TCP checksum */
  badTcpCsum?: boolean;
}

/** one TCP segment (from the gateway to the guest unless toGateway) */
export function tcpSeg(o: TcpSeg): Uint8Array {
  const optlen = o.ts === null ? 0 : 12;
  const thlen = 20 + optlen;
  const v6 = o.v6 === true;
  const toGw = o.toGateway === true;
  const ihl = v6 ? 40 : o.ipopt ? 24 : 20;
  const f = new Uint8Array(14 + ihl + thlen + o.len + (o.pad ?? 0));
  const { dstMac, srcMac, src, dst } = ends(v6, toGw);
  f.set(dstMac, 0);
  f.set(srcMac, 6);
  put16(f, 12, v6 ? 0x86dd : 0x0800);
  const n = 14;
  if (v6) {
    put32(f, n, ((6 << 28) | ((o.tclass ?? 0) << 20) | (o.flowlabel ?? 0)) >>> 0);
    put16(f, n + 4, thlen + o.len);
    f[n + 6] = 6;
    f[n + 7] = o.hop ?? 64;
    f.set(src, n + 8);
    f.set(dst, n + 24);
  } else {
    f[n] = 0x40 | (ihl / 4);
    f[n + 1] = o.tos ?? 0;
    put16(f, n + 2, ihl + thlen + o.len);
    put16(f, n + 4, o.id ?? 0);
    put16(f, n + 6, (o.df === false ? 0 : 0x4000) | (o.frag ?? 0));
    f[n + 8] = o.ttl ?? 64;
    f[n + 9] = 6;
    f.set(src, n + 12);
    f.set(dst, n + 16);
    if (o.ipopt) f.fill(1, n + 20, n + 24);
    put16(f, n + 10, ~sum16(f.subarray(n, n + ihl)) & 0xffff);
  }
  const t = n + ihl;
  put16(f, t, o.sport ?? (toGw ? GUEST_PORT : GW_PORT));
  put16(f, t + 2, o.dport ?? (toGw ? GW_PORT : GUEST_PORT));
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
  for (let i = 0; i < o.len; i++) f[t + thlen + i] = (o.seq + i) & 255;
  const l4 = thlen + o.len;
  const pseudo = v6 ? [...src, ...dst, 0, 0, l4 >>> 8, l4 & 255, 0, 0, 0, 6] : [...src, ...dst, 0, 6, l4 >>> 8, l4 & 255];
  const c = o.partialCsum ? sum16(pseudo) : ~sum16(pseudo, f.subarray(t, t + l4)) & 0xffff;
  put16(f, t + 16, o.badTcpCsum ? c ^ 0x5a5a : c);
  return f;
}

/** n back-to-back segments of one flow from `seq`, IPv4 IDs incrementing from `id` */
export function tcpTrain(n: number, o: Omit<TcpSeg, 'seq'> & { seq?: number }): Uint8Array[] {
  const out: Uint8Array[] = [];
  let seq = o.seq ?? 1;
  for (let i = 0; i < n; i++) {
    out.push(tcpSeg({ ...o, seq, id: (o.id ?? 100) + i }));
    seq += o.len;
  }
  return out;
}

export interface UdpOpts {
  /** IPv4 ID */
  id?: number;
  /** guest → gateway instead of gateway → guest */
  toGateway?: boolean;
  /** a wrong UDP checksum */
  badCsum?: boolean;
}

/** a UDP/IPv4 datagram (DF, TTL 64) with `payload` bytes i & 255, from the gateway to the guest unless toGateway */
export function udpDatagram(sport: number, dport: number, payload: number, o: UdpOpts = {}): Uint8Array {
  const iplen = 28 + payload;
  const f = new Uint8Array(14 + iplen);
  const { dstMac, srcMac, src, dst } = ends(false, o.toGateway === true);
  f.set(dstMac, 0);
  f.set(srcMac, 6);
  put16(f, 12, 0x0800);
  f[14] = 0x45;
  put16(f, 16, iplen);
  put16(f, 18, o.id ?? 0);
  put16(f, 20, 0x4000);
  f[22] = 64;
  f[23] = 17;
  f.set(src, 26);
  f.set(dst, 30);
  put16(f, 24, ~sum16(f.subarray(14, 34)) & 0xffff);
  put16(f, 34, sport);
  put16(f, 36, dport);
  put16(f, 38, 8 + payload);
  for (let i = 0; i < payload; i++) f[42 + i] = i & 255;
  let c = ~sum16([...src, ...dst, 0, 17, (8 + payload) >>> 8, (8 + payload) & 255], f.subarray(34)) & 0xffff;
  if (c === 0) c = 0xffff;
  put16(f, 40, o.badCsum ? c ^ 0x1111 : c);
  return f;
}
