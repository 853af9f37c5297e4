// IPv6 header and extension header views (RFC 8200, include/uapi/linux/ipv6.h, include/net/ipv6.h) and
// IPv6 addresses. An address is 16 bytes: configuration holds Uint8Array(16)s; the hot path compares and
// copies in place (buffer + offset) so nothing is allocated per packet.
import type { MacAddr } from './address';
import { getU16, getU32, setU16, setU32 } from './bytes';
import { csum_fold16, csum_partial } from './checksum';
import { WIRE_MALFORMED, WIRE_OK, WIRE_TRUNCATED, WIRE_UNRECOGNIZED } from './error';
import { ByteView } from './view';

export type Ipv6Addr = Uint8Array;

export const IPV6_HLEN = 40;
export const IPV6_ADDR_LEN = 16;
/** IPV6_MIN_MTU (RFC 8200 §5) */
export const IPV6_MIN_MTU = 1280;

// next header values (include/net/ipv6.h NEXTHDR_*)
export const NEXTHDR_HOP = 0;
export const NEXTHDR_TCP = 6;
export const NEXTHDR_UDP = 17;
export const NEXTHDR_IPV6 = 41;
export const NEXTHDR_ROUTING = 43;
export const NEXTHDR_FRAGMENT = 44;
export const NEXTHDR_GRE = 47;
export const NEXTHDR_ESP = 50;
export const NEXTHDR_AUTH = 51;
export const NEXTHDR_ICMP = 58;
export const NEXTHDR_NONE = 59;
export const NEXTHDR_DEST = 60;
export const NEXTHDR_MOBILITY = 135;

// TLV options of hop-by-hop and destination options headers (include/uapi/linux/in6.h IPV6_TLV_*)
export const IPV6_TLV_PAD1 = 0;
export const IPV6_TLV_PADN = 1;
export const IPV6_TLV_ROUTERALERT = 5;
export const IPV6_TLV_JUMBO = 194;

/** the fragment header is always 8 bytes; its offset field in 8-byte units, M flag in bit 0 */
export const FRAG_HLEN = 8;
export const IP6_OFFSET = 0xfff8;
export const IP6_MF = 0x0001;

const field = { VTF: 0, PAYLOAD_LEN: 4, NEXT_HEADER: 6, HOP_LIMIT: 7, SRC: 8, DST: 24 } as const;
export const IPV6_SRC_OFF = field.SRC;
export const IPV6_DST_OFF = field.DST;

export class Ipv6Packet extends ByteView {
  /** buffer ≥ 40 (TRUNCATED), version 6 (UNRECOGNIZED), buffer ≥ 40 + payload length (TRUNCATED) */
  check(): number {
    if (this.len < IPV6_HLEN) return WIRE_TRUNCATED;
    if (this.version !== 6) return WIRE_UNRECOGNIZED;
    if (IPV6_HLEN + this.payloadLen > this.len) return WIRE_TRUNCATED;
    return WIRE_OK;
  }
  get version(): number {
    return this.buf[this.off] >>> 4;
  }
  get trafficClass(): number {
    return (getU16(this.buf, this.off) >>> 4) & 0xff;
  }
  get flowLabel(): number {
    return getU32(this.buf, this.off) & 0xfffff;
  }
  /** version 6, traffic class and flow label in one word */
  setVersionTcFlow(tc: number, flow: number): void {
    setU32(this.buf, this.off, (0x60000000 | ((tc & 0xff) << 20) | (flow & 0xfffff)) >>> 0);
  }
  get payloadLen(): number {
    return getU16(this.buf, this.off + field.PAYLOAD_LEN);
  }
  set payloadLen(v: number) {
    setU16(this.buf, this.off + field.PAYLOAD_LEN, v);
  }
  get nextHeader(): number {
    return this.buf[this.off + field.NEXT_HEADER];
  }
  set nextHeader(v: number) {
    this.buf[this.off + field.NEXT_HEADER] = v;
  }
  get hopLimit(): number {
    return this.buf[this.off + field.HOP_LIMIT];
  }
  set hopLimit(v: number) {
    this.buf[this.off + field.HOP_LIMIT] = v;
  }
  /** absolute offsets of the addresses in buf */
  get srcOffset(): number {
    return this.off + field.SRC;
  }
  get dstOffset(): number {
    return this.off + field.DST;
  }
  get payloadOffset(): number {
    return this.off + IPV6_HLEN;
  }
}

/** parsed meaning of an IPv6 fixed header; addresses are copied into this Repr's own arrays */
export class Ipv6Repr {
  readonly src = new Uint8Array(16);
  readonly dst = new Uint8Array(16);
  nextHeader = 0;
  payloadLen = 0;
  hopLimit = 64;
  trafficClass = 0;
  flowLabel = 0;

  static readonly headerLen = IPV6_HLEN;

  parse(p: Ipv6Packet): number {
    const e = p.check();
    if (e !== WIRE_OK) return e;
    this.src.set(p.buf.subarray(p.srcOffset, p.srcOffset + 16));
    this.dst.set(p.buf.subarray(p.dstOffset, p.dstOffset + 16));
    this.nextHeader = p.nextHeader;
    this.payloadLen = p.payloadLen;
    this.hopLimit = p.hopLimit;
    this.trafficClass = p.trafficClass;
    this.flowLabel = p.flowLabel;
    return WIRE_OK;
  }

  emit(p: Ipv6Packet): void {
    p.setVersionTcFlow(this.trafficClass, this.flowLabel);
    p.payloadLen = this.payloadLen;
    p.nextHeader = this.nextHeader;
    p.hopLimit = this.hopLimit;
    p.buf.set(this.src, p.srcOffset);
    p.buf.set(this.dst, p.dstOffset);
  }
}

/**
 * A generic extension header (hop-by-hop, routing, destination options: next header, length in 8-octet
 * units not counting the first 8; the fragment header: fixed 8 bytes). check() validates the length.
 */
export class Ipv6ExtHeader extends ByteView {
  /** which header this is (the previous header's next-header value) */
  kind = NEXTHDR_HOP;
  check(): number {
    if (this.len < 8) return WIRE_TRUNCATED;
    if (this.headerLen > this.len) return WIRE_TRUNCATED;
    return WIRE_OK;
  }
  get nextHeader(): number {
    return this.buf[this.off];
  }
  /** bytes this header occupies (ipv6_optlen; 8 for a fragment header) */
  get headerLen(): number {
    return this.kind === NEXTHDR_FRAGMENT ? FRAG_HLEN : (this.buf[this.off + 1] + 1) << 3;
  }
  // routing header (RFC 8200 §4.4)
  get routingType(): number {
    return this.buf[this.off + 2];
  }
  get segmentsLeft(): number {
    return this.buf[this.off + 3];
  }
  // fragment header (RFC 8200 §4.5)
  get fragOffset(): number {
    return getU16(this.buf, this.off + 2) & IP6_OFFSET;
  }
  get moreFragments(): boolean {
    return (getU16(this.buf, this.off + 2) & IP6_MF) !== 0;
  }
  get fragIdent(): number {
    return getU32(this.buf, this.off + 4);
  }
}

/** a hop-by-hop / destination options TLV area: WIRE_OK when every option fits (lengths only) */
export function ipv6TlvCheck(b: Uint8Array, off: number, len: number): number {
  let i = off + 2;
  const end = off + len;
  while (i < end) {
    const t = b[i];
    if (t === IPV6_TLV_PAD1) {
      i++;
      continue;
    }
    if (i + 2 > end) return WIRE_MALFORMED;
    i += 2 + b[i + 1];
    if (i > end) return WIRE_MALFORMED;
  }
  return WIRE_OK;
}

// ---- addresses (include/net/ipv6.h, include/net/addrconf.h) ----

export function ipv6Eq(a: Uint8Array, ao: number, b: Uint8Array, bo: number): boolean {
  for (let i = 0; i < 16; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

export function ipv6IsUnspecified(b: Uint8Array, o = 0): boolean {
  for (let i = 0; i < 16; i++) if (b[o + i] !== 0) return false;
  return true;
}

export function ipv6IsMulticast(b: Uint8Array, o = 0): boolean {
  return b[o] === 0xff;
}

/** fe80::/10 */
export function ipv6IsLinkLocal(b: Uint8Array, o = 0): boolean {
  return b[o] === 0xfe && (b[o + 1] & 0xc0) === 0x80;
}

/** ::1 */
export function ipv6IsLoopback(b: Uint8Array, o = 0): boolean {
  for (let i = 0; i < 15; i++) if (b[o + i] !== 0) return false;
  return b[o + 15] === 1;
}

/** ::ffff:0:0/96 */
export function ipv6IsV4Mapped(b: Uint8Array, o = 0): boolean {
  for (let i = 0; i < 10; i++) if (b[o + i] !== 0) return false;
  return b[o + 10] === 0xff && b[o + 11] === 0xff;
}

/** the multicast scope nibble (RFC 4291 §2.7): 1 interface-local, 2 link-local, … */
export function ipv6McastScope(b: Uint8Array, o = 0): number {
  return b[o + 1] & 15;
}

/** the first `plen` bits of a and b are equal */
export function ipv6PrefixEq(a: Uint8Array, ao: number, b: Uint8Array, bo: number, plen: number): boolean {
  const full = plen >>> 3;
  for (let i = 0; i < full; i++) if (a[ao + i] !== b[bo + i]) return false;
  const rest = plen & 7;
  if (rest === 0) return true;
  const m = (0xff << (8 - rest)) & 0xff;
  return (a[ao + full] & m) === (b[bo + full] & m);
}

/** ff02::1, all nodes (link-local scope) */
export const IN6ADDR_LINKLOCAL_ALLNODES: Ipv6Addr = Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);
/** ff02::2, all routers (link-local scope) */
export const IN6ADDR_LINKLOCAL_ALLROUTERS: Ipv6Addr = Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2);
export const IN6ADDR_ANY: Ipv6Addr = new Uint8Array(16);

/** addrconf_addr_solict_mult: ff02::1:ffXX:XXXX from the low 24 bits of `a`, written to out[oo] */
export function ipv6SolicitedNode(a: Uint8Array, ao: number, out: Uint8Array, oo = 0): void {
  out.fill(0, oo, oo + 16);
  out[oo] = 0xff;
  out[oo + 1] = 0x02;
  out[oo + 11] = 0x01;
  out[oo + 12] = 0xff;
  out[oo + 13] = a[ao + 13];
  out[oo + 14] = a[ao + 14];
  out[oo + 15] = a[ao + 15];
}

/** is `b[o]` the solicited-node group of `a` */
export function ipv6IsSolicitedNodeOf(b: Uint8Array, o: number, a: Uint8Array, ao = 0): boolean {
  if (b[o] !== 0xff || b[o + 1] !== 0x02 || b[o + 11] !== 1 || b[o + 12] !== 0xff) return false;
  for (let i = 2; i < 11; i++) if (b[o + i] !== 0) return false;
  return b[o + 13] === a[ao + 13] && b[o + 14] === a[ao + 14] && b[o + 15] === a[ao + 15];
}

/** ipv6_eth_mc_map: 33:33 and the low 32 bits of the group */
export function ipv6MulticastMac(b: Uint8Array, o = 0): MacAddr {
  return 0x333300000000 + getU32(b, o + 12);
}

/**
 * addrconf_ifid_eui48 (RFC 4291 appendix A): the interface identifier from a MAC, universal/local bit
 * flipped, ff:fe in the middle; written into out[oo + 8 .. oo + 16).
 */
export function ipv6Eui64(mac: MacAddr, out: Uint8Array, oo = 0): void {
  const hi = Math.floor(mac / 0x100000000);
  const lo = mac % 0x100000000;
  out[oo + 8] = ((hi >>> 8) & 0xff) ^ 0x02;
  out[oo + 9] = hi & 0xff;
  out[oo + 10] = (lo >>> 24) & 0xff;
  out[oo + 11] = 0xff;
  out[oo + 12] = 0xfe;
  out[oo + 13] = (lo >>> 16) & 0xff;
  out[oo + 14] = (lo >>> 8) & 0xff;
  out[oo + 15] = lo & 0xff;
}

/** an address of `prefix` (its first 64 bits) + the EUI-64 identifier of `mac` (cold path: allocates) */
export function ipv6FromPrefixMac(prefix: Ipv6Addr, mac: MacAddr): Ipv6Addr {
  const a = new Uint8Array(16);
  a.set(prefix.subarray(0, 8));
  ipv6Eui64(mac, a);
  return a;
}

/** fe80::/64 + EUI-64 of `mac`: the link-local address addrconf gives a device (addr_gen_mode 0) */
export function ipv6LinkLocalFromMac(mac: MacAddr): Ipv6Addr {
  const a = new Uint8Array(16);
  a[0] = 0xfe;
  a[1] = 0x80;
  ipv6Eui64(mac, a);
  return a;
}

/** "fec0::2" → 16 bytes, or null when malformed (cold path) */
export function parseIpv6(s: string): Ipv6Addr | null {
  const str = s.trim();
  if (str.length === 0 || str.length > 45) return null;
  let head = str;
  let tail = '';
  const dbl = str.indexOf('::');
  if (dbl >= 0) {
    if (str.indexOf('::', dbl + 1) >= 0) return null;
    head = str.slice(0, dbl);
    tail = str.slice(dbl + 2);
  }
  const words = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    const groups = part.split(':');
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i];
      if (i === groups.length - 1 && g.includes('.')) {
        const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(g);
        if (!m) return null;
        const q = m.slice(1).map(Number);
        if (q.some((x) => x > 255)) return null;
        out.push((q[0] << 8) | q[1], (q[2] << 8) | q[3]);
        continue;
      }
      if (!/^[0-9a-f]{1,4}$/i.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const h = words(head);
  const t = words(tail);
  if (h === null || t === null) return null;
  if (dbl < 0 ? h.length !== 8 : h.length + t.length > 7) return null;
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const a = new Uint8Array(16);
  for (let i = 0; i < 8; i++) setU16(a, i * 2, all[i]);
  return a;
}

/**
 * RFC 5952 text form as glibc's inet_ntop prints it: lower case, the longest run (≥ 2) of zero words as
 * "::", and IPv4-mapped (::ffff:a.b.c.d) and -compatible (::a.b.c.d) addresses with a dotted quad
 */
export function formatIpv6(b: Uint8Array, o = 0): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push(getU16(b, o + i * 2));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best === 0 && (bestLen === 6 || (bestLen === 7 && w[7] !== 1) || (bestLen === 5 && w[5] === 0xffff))) {
    const quad = `${b[o + 12]}.${b[o + 13]}.${b[o + 14]}.${b[o + 15]}`;
    return bestLen === 5 ? `::ffff:${quad}` : `::${quad}`;
  }
  const hx = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return hx(w);
  return `${hx(w.slice(0, best))}::${hx(w.slice(best + bestLen))}`;
}

/**
 * csum_ipv6_magic without the fold (include/net/ip6_checksum.h): the RFC 8200 §8.1 pseudo-header —
 * source, destination, 32-bit upper-layer length, next header — added to `sum`.
 */
export function csum_ipv6_magic(
  sb: Uint8Array,
  so: number,
  db: Uint8Array,
  dof: number,
  len: number,
  proto: number,
  sum = 0,
): number {
  let s = csum_partial(sb, so, 16, sum);
  s = csum_partial(db, dof, 16, s);
  return csum_fold16(s + (len >>> 16) + (len & 0xffff) + proto);
}
