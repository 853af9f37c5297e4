// IPv4 header view (RFC 791, include/uapi/linux/ip.h).
import { Ipv4Addr, readIpv4, writeIpv4 } from './address';
import { getU16, setU16 } from './bytes';
import { csum_partial, csum_fold, ip_fast_csum } from './checksum';
import { WIRE_MALFORMED, WIRE_OK, WIRE_TRUNCATED, WIRE_UNRECOGNIZED } from './error';
import { ByteView } from './view';

export const IPV4_HLEN = 20;
export const IPV4_MAX_HLEN = 60;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
// frag_off bits (include/net/ip.h)
export const IP_CE = 0x8000;
export const IP_DF = 0x4000;
export const IP_MF = 0x2000;
export const IP_OFFSET = 0x1fff;
// option types (include/uapi/linux/ip.h)
export const IPOPT_END = 0;
export const IPOPT_NOOP = 1;
export const IPOPT_LSRR = 131;
export const IPOPT_SSRR = 137;
/** IPTOS_PREC_INTERNETCONTROL: the TOS of ICMP errors */
export const IPTOS_PREC_INTERNETCONTROL = 0xc0;

const field = {
  VER_IHL: 0,
  TOS: 1,
  LENGTH: 2,
  IDENT: 4,
  FLG_OFF: 6,
  TTL: 8,
  PROTOCOL: 9,
  CHECKSUM: 10,
  SRC: 12,
  DST: 16,
} as const;

export class Ipv4Packet extends ByteView {
  /**
   * Lengths only (not the checksum): buffer ≥ 20, version 4, IHL ≥ 5, buffer ≥ header, total length ≥
   * header (MALFORMED/UNRECOGNIZED), buffer ≥ total length (TRUNCATED).
   */
  check(): number {
    if (this.len < IPV4_HLEN) return WIRE_TRUNCATED;
    if (this.version !== 4) return WIRE_UNRECOGNIZED;
    const hl = this.headerLen;
    if (hl < IPV4_HLEN) return WIRE_MALFORMED;
    if (this.len < hl) return WIRE_TRUNCATED;
    const tl = this.totalLen;
    if (tl < hl) return WIRE_MALFORMED;
    if (this.len < tl) return WIRE_TRUNCATED;
    return WIRE_OK;
  }
  get version(): number {
    return this.buf[this.off + field.VER_IHL] >>> 4;
  }
  /** header length in 32-bit words */
  get ihl(): number {
    return this.buf[this.off + field.VER_IHL] & 15;
  }
  get headerLen(): number {
    return (this.buf[this.off + field.VER_IHL] & 15) << 2;
  }
  /** set version 4 and the header length in bytes (multiple of 4) */
  setVersionAndHeaderLen(hlen: number): void {
    this.buf[this.off + field.VER_IHL] = 0x40 | ((hlen >>> 2) & 15);
  }
  get tos(): number {
    return this.buf[this.off + field.TOS];
  }
  set tos(v: number) {
    this.buf[this.off + field.TOS] = v;
  }
  get totalLen(): number {
    return getU16(this.buf, this.off + field.LENGTH);
  }
  set totalLen(v: number) {
    setU16(this.buf, this.off + field.LENGTH, v);
  }
  get ident(): number {
    return getU16(this.buf, this.off + field.IDENT);
  }
  set ident(v: number) {
    setU16(this.buf, this.off + field.IDENT, v);
  }
  /** the raw flags + fragment offset word */
  get fragOff(): number {
    return getU16(this.buf, this.off + field.FLG_OFF);
  }
  set fragOff(v: number) {
    setU16(this.buf, this.off + field.FLG_OFF, v);
  }
  get dontFrag(): boolean {
    return (this.fragOff & IP_DF) !== 0;
  }
  get moreFrags(): boolean {
    return (this.fragOff & IP_MF) !== 0;
  }
  /** fragment offset in bytes */
  get fragOffset(): number {
    return (this.fragOff & IP_OFFSET) << 3;
  }
  /** ip_is_fragment: MF set or a non-zero offset */
  get isFragment(): boolean {
    return (this.fragOff & (IP_MF | IP_OFFSET)) !== 0;
  }
  get ttl(): number {
    return this.buf[this.off + field.TTL];
  }
  set ttl(v: number) {
    this.buf[this.off + field.TTL] = v;
  }
  get protocol(): number {
    return this.buf[this.off + field.PROTOCOL];
  }
  set protocol(v: number) {
    this.buf[this.off + field.PROTOCOL] = v;
  }
  get checksum(): number {
    return getU16(this.buf, this.off + field.CHECKSUM);
  }
  set checksum(v: number) {
    setU16(this.buf, this.off + field.CHECKSUM, v);
  }
  get src(): Ipv4Addr {
    return readIpv4(this.buf, this.off + field.SRC);
  }
  set src(v: Ipv4Addr) {
    writeIpv4(this.buf, this.off + field.SRC, v);
  }
  get dst(): Ipv4Addr {
    return readIpv4(this.buf, this.off + field.DST);
  }
  set dst(v: Ipv4Addr) {
    writeIpv4(this.buf, this.off + field.DST, v);
  }
  /** absolute offset of the options (if any) */
  get optionsOffset(): number {
    return this.off + IPV4_HLEN;
  }
  /** absolute offset of the payload */
  get payloadOffset(): number {
    return this.off + this.headerLen;
  }
  get payloadLen(): number {
    return this.totalLen - this.headerLen;
  }
  /** header checksum verifies (ip_fast_csum == 0); call after check() */
  verifyChecksum(): boolean {
    return ip_fast_csum(this.buf, this.off, this.ihl) === 0;
  }
  fillChecksum(): void {
    this.checksum = 0;
    this.checksum = csum_fold(csum_partial(this.buf, this.off, this.headerLen));
  }
}

/**
 * Walk the options of a checked header the way ip_options_compile does for lengths only: END stops,
 * NOOP is one byte, every other option has a length byte ≥ 2 that stays inside the header.
 * Returns -1 when well formed, else the offset (from the header start) of the offending byte — the
 * pointer an ICMP parameter problem would carry. Sets `sourceRoute` when LSRR/SSRR is present.
 */
export class Ipv4OptionsScan {
  sourceRoute = false;
  scan(buf: Uint8Array, hdrOff: number, hdrLen: number): number {
    this.sourceRoute = false;
    let i = IPV4_HLEN;
    while (i < hdrLen) {
      const t = buf[hdrOff + i];
      if (t === IPOPT_END) return -1;
      if (t === IPOPT_NOOP) {
        i++;
        continue;
      }
      if (i + 1 >= hdrLen) return i;
      const l = buf[hdrOff + i + 1];
      if (l < 2 || i + l > hdrLen) return i + 1;
      if (t === IPOPT_LSRR || t === IPOPT_SSRR) this.sourceRoute = true;
      i += l;
    }
    return -1;
  }
}

/** parsed meaning of an IPv4 header without options */
export class Ipv4Repr {
  src: Ipv4Addr = 0;
  dst: Ipv4Addr = 0;
  protocol = 0;
  payloadLen = 0;
  ttl = 64;
  tos = 0;
  ident = 0;
  /** the flags/fragment-offset word (IP_DF etc.) */
  fragOff = 0;

  static readonly headerLen = IPV4_HLEN;

  /** parse a view: lengths (check()) and the header checksum must be good */
  parse(p: Ipv4Packet, verifyChecksum = true): number {
    const e = p.check();
    if (e !== WIRE_OK) return e;
    if (verifyChecksum && !p.verifyChecksum()) return WIRE_MALFORMED;
    this.src = p.src;
    this.dst = p.dst;
    this.protocol = p.protocol;
    this.payloadLen = p.payloadLen;
    this.ttl = p.ttl;
    this.tos = p.tos;
    this.ident = p.ident;
    this.fragOff = p.fragOff;
    return WIRE_OK;
  }

  /** write a 20-byte header with its checksum into a view of at least IPV4_HLEN bytes */
  emit(p: Ipv4Packet): void {
    p.setVersionAndHeaderLen(IPV4_HLEN);
    p.tos = this.tos;
    p.totalLen = IPV4_HLEN + this.payloadLen;
    p.ident = this.ident;
    p.fragOff = this.fragOff;
    p.ttl = this.ttl;
    p.protocol = this.protocol;
    p.src = this.src;
    p.dst = this.dst;
    p.fillChecksum();
  }
}
