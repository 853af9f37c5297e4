// Test harness for IPv6: the IPv4 TestLink (a real NetStack under virtual time with a test device)
// with attachInet6 on its device, and IPv6/ICMPv6/ND frame builders and readers written independently
// of kernel-model/wire (checksums by slowChecksum over a hand-built pseudo-header).
import { attachInet6, type AttachInet6Options, type Inet6, type Inet6Config } from '../../kernel-model/inet6';
import { GUEST_MAC, MODEL_MAC, TestLink, mac, seeded, slowChecksum, u16 } from './ipv4-link';

export { GUEST_MAC, MODEL_MAC, hex, toHex, u16, u32, macAt, slowChecksum } from './ipv4-link';

/** EUI-64 link-local addresses of the two MACs */
export const MODEL_LL = 'fe80::5055:aff:fe00:202';
export const GUEST_LL = 'fe80::5054:ff:fe12:3456';
/** the guest's SLAAC address in fec0::/64 */
export const GUEST_GLOBAL = 'fec0::5054:ff:fe12:3456';

export interface Link6 {
  link: TestLink;
  inet6: Inet6;
}

/** a TestLink with IPv6 attached; the initial RA is taken off the wire unless `keepRa` */
export function link6(config?: Inet6Config, opts: AttachInet6Options = {}, keepRa = false): Link6 {
  const link = new TestLink();
  const inet6 = attachInet6(link.stack, link.dev, config, { random: seeded(11), ...opts });
  link.runDue();
  if (!keepRa) link.take();
  return { link, inet6 };
}

/** RFC 4291 text → 16 bytes (test-side parser: full or with one "::") */
export function ip6(s: string): number[] {
  const [h, t] = s.includes('::') ? s.split('::') : [s, undefined];
  const hw = h === '' ? [] : h.split(':');
  const tw = t === undefined || t === '' ? [] : t.split(':');
  const words = [...hw, ...new Array(8 - hw.length - tw.length).fill('0'), ...tw].map((w) => parseInt(w, 16));
  return words.flatMap((w) => [w >> 8, w & 255]);
}

/** 16 bytes at b[o] as text, every word written out (compare with full()) */
export function ip6At(b: Uint8Array, o: number): string {
  const w: string[] = [];
  for (let i = 0; i < 8; i++) w.push(u16(b, o + 2 * i).toString(16));
  return w.join(':');
}

/** the same full form for a text address */
export function full(s: string): string {
  const b = ip6(s);
  const w: string[] = [];
  for (let i = 0; i < 8; i++) w.push(((b[2 * i] << 8) | b[2 * i + 1]).toString(16));
  return w.join(':');
}

/** 33:33 + low 32 bits */
export function mcastMac(addr: string): string {
  const b = ip6(addr);
  return ['33', '33', ...b.slice(12).map((x) => x.toString(16).padStart(2, '0'))].join(':');
}

/** ff02::1:ffXX:XXXX */
export function solicitedNode(addr: string): string {
  const b = ip6(addr);
  return `ff02::1:ff${b[13].toString(16).padStart(2, '0')}:${((b[14] << 8) | b[15]).toString(16)}`;
}

/** checksum of an upper-layer message over the IPv6 pseudo-header (RFC 8200 §8.1) */
export function l4csum6(src: ArrayLike<number>, dst: ArrayLike<number>, proto: number, msg: ArrayLike<number>): number {
  const l = msg.length;
  const pseudo = [...Array.from(src), ...Array.from(dst), (l >>> 24) & 255, (l >>> 16) & 255, (l >>> 8) & 255, l & 255, 0, 0, 0, proto];
  return slowChecksum([pseudo, msg]);
}

export interface Ipv6FrameOpts {
  dstMac?: string;
  srcMac?: string;
  src: string;
  dst: string;
  nh: number;
  payload: ArrayLike<number>;
  hopLimit?: number;
  tclass?: number;
  flow?: number;
  /** override the payload length field (a lying header) */
  plen?: number;
  /** byte offset inside payload of a 16-bit checksum to fill (ICMPv6 2, UDP 6); -1 for none */
  csumAt?: number;
  /** the upper-layer protocol for the pseudo-header when extension headers precede it */
  upperProto?: number;
  /** where the upper-layer message starts inside payload (after extension headers) */
  upperAt?: number;
}

/** an Ethernet + IPv6 frame; the upper-layer checksum is filled in when csumAt ≥ 0 */
export function ipv6Frame(o: Ipv6FrameOpts): Uint8Array {
  const p = Array.from(o.payload);
  const upperAt = o.upperAt ?? 0;
  const csumAt = o.csumAt ?? (o.nh === 58 ? 2 : o.nh === 17 ? 6 : -1);
  if (csumAt >= 0) {
    p[upperAt + csumAt] = p[upperAt + csumAt + 1] = 0;
    const c = l4csum6(ip6(o.src), ip6(o.dst), o.upperProto ?? o.nh, p.slice(upperAt));
    p[upperAt + csumAt] = c >> 8;
    p[upperAt + csumAt + 1] = c & 255;
  }
  const f = new Uint8Array(14 + 40 + p.length);
  f.set(mac(o.dstMac ?? MODEL_MAC), 0);
  f.set(mac(o.srcMac ?? GUEST_MAC), 6);
  f[12] = 0x86;
  f[13] = 0xdd;
  const tc = o.tclass ?? 0;
  const flow = o.flow ?? 0;
  f[14] = 0x60 | (tc >> 4);
  f[15] = ((tc & 15) << 4) | ((flow >> 16) & 15);
  f[16] = (flow >> 8) & 255;
  f[17] = flow & 255;
  const plen = o.plen ?? p.length;
  f[18] = plen >> 8;
  f[19] = plen & 255;
  f[20] = o.nh;
  f[21] = o.hopLimit ?? 64;
  f.set(ip6(o.src), 22);
  f.set(ip6(o.dst), 38);
  f.set(p, 54);
  return f;
}

export function echo6(o: { src?: string; dst?: string; dstMac?: string; id: number; seq: number; data: ArrayLike<number>; tclass?: number; hopLimit?: number }): Uint8Array {
  return ipv6Frame({
    src: o.src ?? GUEST_GLOBAL,
    dst: o.dst ?? 'fec0::2',
    dstMac: o.dstMac,
    nh: 58,
    tclass: o.tclass,
    hopLimit: o.hopLimit,
    payload: [128, 0, 0, 0, o.id >> 8, o.id & 255, o.seq >> 8, o.seq & 255, ...Array.from(o.data)],
  });
}

/** a link-layer address option */
export function llOpt(type: number, m = GUEST_MAC): number[] {
  return [type, 1, ...mac(m)];
}

/** Neighbor Solicitation for `target` (multicast to its solicited-node group unless `dst` is given) */
export function ns6(o: { target: string; src?: string; dst?: string; dstMac?: string; sllao?: boolean; hopLimit?: number; code?: number; extra?: number[] }): Uint8Array {
  const src = o.src ?? GUEST_LL;
  const dst = o.dst ?? solicitedNode(o.target);
  const dad = src === '::';
  const opts = (o.sllao ?? !dad) ? llOpt(1) : [];
  return ipv6Frame({
    src,
    dst,
    dstMac: o.dstMac ?? (dst.startsWith('ff') ? mcastMac(dst) : MODEL_MAC),
    nh: 58,
    hopLimit: o.hopLimit ?? 255,
    payload: [135, o.code ?? 0, 0, 0, 0, 0, 0, 0, ...ip6(o.target), ...opts, ...(o.extra ?? [])],
  });
}

/**
 * a link6 whose model knows the guest's two addresses: the guest solicited fec0::2 from its global
 * address and the model's link-local address from its own, as it would before talking (replies taken)
 */
export function learnedLink6(): Link6 {
  const l = link6();
  l.link.inject(ns6({ target: 'fec0::2', src: GUEST_GLOBAL }));
  l.link.inject(ns6({ target: MODEL_LL, src: GUEST_LL }));
  l.link.take();
  return l;
}

/** Neighbor Advertisement from the guest for its own address */
export function na6(o: { target: string; dst: string; flags: number; tllao?: boolean; src?: string; hopLimit?: number }): Uint8Array {
  return ipv6Frame({
    src: o.src ?? o.target,
    dst: o.dst,
    dstMac: o.dst.startsWith('ff') ? mcastMac(o.dst) : MODEL_MAC,
    nh: 58,
    hopLimit: o.hopLimit ?? 255,
    payload: [136, 0, 0, 0, o.flags, 0, 0, 0, ...ip6(o.target), ...(o.tllao === false ? [] : llOpt(2))],
  });
}

/** Router Solicitation to all routers */
export function rs6(o: { src?: string; sllao?: boolean; hopLimit?: number } = {}): Uint8Array {
  const src = o.src ?? GUEST_LL;
  return ipv6Frame({
    src,
    dst: 'ff02::2',
    dstMac: '33:33:00:00:00:02',
    nh: 58,
    hopLimit: o.hopLimit ?? 255,
    payload: [133, 0, 0, 0, 0, 0, 0, 0, ...((o.sllao ?? src !== '::') ? llOpt(1) : [])],
  });
}

/** a sent frame is IPv6 and its ICMPv6/UDP checksum verifies */
export function csumOk6(f: Uint8Array): boolean {
  const msg = f.subarray(54, 54 + u16(f, 18));
  return l4csum6(f.subarray(22, 38), f.subarray(38, 54), f[20], msg) === 0;
}

/** ICMPv6 type of a sent IPv6 frame (no extension headers), -1 otherwise */
export function icmp6Type(f: Uint8Array): number {
  return u16(f, 12) === 0x86dd && f[20] === 58 ? f[54] : -1;
}

export { seeded };
