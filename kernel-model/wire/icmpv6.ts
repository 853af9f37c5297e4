// ICMPv6 message view (RFC 4443, include/uapi/linux/icmpv6.h) and the Neighbor Discovery messages and
// options (RFC 4861 §4, RFC 8106 RDNSS; include/net/ndisc.h). Checksums cover the IPv6 pseudo-header.
import { csum_fold, csum_partial } from './checksum';
import { WIRE_CHECKSUM, WIRE_MALFORMED, WIRE_OK } from './error';
import { csum_ipv6_magic, NEXTHDR_ICMP } from './ipv6';
import { IcmpHeaderView } from './icmp-header';
import { ByteView } from './view';

export const ICMPV6_HLEN = 8;
// error types
export const ICMPV6_DEST_UNREACH = 1;
export const ICMPV6_PKT_TOOBIG = 2;
export const ICMPV6_TIME_EXCEED = 3;
export const ICMPV6_PARAMPROB = 4;
/** types below 128 are errors (RFC 4443 §2.1) */
export const ICMPV6_INFOMSG_MASK = 0x80;
// informational types
export const ICMPV6_ECHO_REQUEST = 128;
export const ICMPV6_ECHO_REPLY = 129;
export const ICMPV6_MGM_QUERY = 130;
export const ICMPV6_MGM_REPORT = 131;
export const ICMPV6_MGM_REDUCTION = 132;
export const NDISC_ROUTER_SOLICITATION = 133;
export const NDISC_ROUTER_ADVERTISEMENT = 134;
export const NDISC_NEIGHBOUR_SOLICITATION = 135;
export const NDISC_NEIGHBOUR_ADVERTISEMENT = 136;
export const NDISC_REDIRECT = 137;
export const ICMPV6_MLD2_REPORT = 143;
export const ICMPV6_EXT_ECHO_REQUEST = 160;
export const ICMPV6_EXT_ECHO_REPLY = 161;
// ICMPV6_DEST_UNREACH codes
export const ICMPV6_NOROUTE = 0;
export const ICMPV6_ADM_PROHIBITED = 1;
export const ICMPV6_NOT_NEIGHBOUR = 2;
export const ICMPV6_ADDR_UNREACH = 3;
export const ICMPV6_PORT_UNREACH = 4;
// ICMPV6_TIME_EXCEED codes
export const ICMPV6_EXC_HOPLIMIT = 0;
export const ICMPV6_EXC_FRAGTIME = 1;
// ICMPV6_PARAMPROB codes
export const ICMPV6_HDR_FIELD = 0;
export const ICMPV6_UNK_NEXTHDR = 1;
export const ICMPV6_UNK_OPTION = 2;
export const ICMPV6_HDR_INCOMP = 3;

/** icmpv6_err_convert-era helper: the informational bit */
export function icmpv6IsError(type: number): boolean {
  return (type & ICMPV6_INFOMSG_MASK) === 0;
}

/** an ICMPv6 message: the shared header (icmp-header.ts) with the pseudo-header checksum */
export class Icmpv6Packet extends IcmpHeaderView {
  /** checksum over the pseudo-header (addresses at sb[so], db[dof]) and the whole message */
  verifyChecksum(sb: Uint8Array, so: number, db: Uint8Array, dof: number): boolean {
    return csum_fold(csum_partial(this.buf, this.off, this.len, csum_ipv6_magic(sb, so, db, dof, this.len, NEXTHDR_ICMP))) === 0;
  }
  fillChecksum(sb: Uint8Array, so: number, db: Uint8Array, dof: number): void {
    this.checksum = 0;
    this.checksum = csum_fold(csum_partial(this.buf, this.off, this.len, csum_ipv6_magic(sb, so, db, dof, this.len, NEXTHDR_ICMP)));
  }
}

/** parsed ICMPv6 header; the body stays in the buffer */
export class Icmpv6Repr {
  type = 0;
  code = 0;
  rest = 0;
  dataOffset = 0;
  dataLen = 0;

  parse(p: Icmpv6Packet, sb: Uint8Array, so: number, db: Uint8Array, dof: number, verify = true): number {
    const e = p.check();
    if (e !== WIRE_OK) return e;
    if (verify && !p.verifyChecksum(sb, so, db, dof)) return WIRE_CHECKSUM;
    this.type = p.type;
    this.code = p.code;
    this.rest = p.rest;
    this.dataOffset = p.dataOffset;
    this.dataLen = p.len - ICMPV6_HLEN;
    return WIRE_OK;
  }

  emit(p: Icmpv6Packet, sb: Uint8Array, so: number, db: Uint8Array, dof: number): void {
    p.type = this.type;
    p.code = this.code;
    p.rest = this.rest;
    p.fillChecksum(sb, so, db, dof);
  }
}

// ---- Neighbor Discovery (RFC 4861 §4) ----

/** fixed part lengths (ICMPv6 header included); options follow */
export const NDISC_RS_LEN = 8;
export const NDISC_RA_LEN = 16;
export const NDISC_NS_LEN = 24;
export const NDISC_NA_LEN = 24;
/** offset of the target address in NS/NA */
export const NDISC_TARGET_OFF = 8;
// NA flags (first byte of the reserved word)
export const NDISC_NA_ROUTER = 0x80;
export const NDISC_NA_SOLICITED = 0x40;
export const NDISC_NA_OVERRIDE = 0x20;
// RA fields (offsets from the ICMPv6 header)
export const NDISC_RA_CUR_HOP_LIMIT = 4;
export const NDISC_RA_FLAGS = 5;
export const NDISC_RA_LIFETIME = 6;
export const NDISC_RA_REACHABLE = 8;
export const NDISC_RA_RETRANS = 12;
// RA flag bits
export const ND_RA_FLAG_MANAGED = 0x80;
export const ND_RA_FLAG_OTHER = 0x40;
/** Hop Limit every ND message carries, and the only one a receiver accepts (RFC 4861 §6.1, §7.1) */
export const NDISC_HOP_LIMIT = 255;

// option types (include/net/ndisc.h ND_OPT_*)
export const ND_OPT_SOURCE_LL_ADDR = 1;
export const ND_OPT_TARGET_LL_ADDR = 2;
export const ND_OPT_PREFIX_INFO = 3;
export const ND_OPT_REDIRECT_HDR = 4;
export const ND_OPT_MTU = 5;
export const ND_OPT_NONCE = 14;
export const ND_OPT_RDNSS = 25;
export const ND_OPT_DNSSL = 31;
// prefix information flags (RFC 4861 §4.6.2)
export const ND_OPT_PI_FLAG_ONLINK = 0x80;
export const ND_OPT_PI_FLAG_AUTO = 0x40;
/** option lengths in bytes (the length field counts 8-octet units) */
export const ND_OPT_LL_ADDR_LEN = 8;
export const ND_OPT_PREFIX_INFO_LEN = 32;
export const ND_OPT_MTU_LEN = 8;

/**
 * Walks the options of an ND message (ndisc_parse_options): `next()` returns an option type and sets
 * `optOff`/`optLen`, or returns -1 at the end, or -2 when an option has length 0 or runs past the end
 * (RFC 4861 §4.6: "Nodes MUST silently discard an ND packet that contains an option with length zero").
 */
export class NdiscOptions extends ByteView {
  private pos = 0;
  optOff = 0;
  optLen = 0;

  check(): number {
    return WIRE_OK;
  }

  /** restart at absolute offset `off` with `len` bytes of options */
  start(buf: Uint8Array, off: number, len: number): this {
    this.wrap(buf, off, len);
    this.pos = this.off;
    return this;
  }

  next(): number {
    const end = this.off + this.len;
    if (this.pos >= end) return -1;
    if (this.pos + 2 > end) return -2;
    const l = this.buf[this.pos + 1] << 3;
    if (l === 0 || this.pos + l > end) return -2;
    this.optOff = this.pos;
    this.optLen = l;
    this.pos += l;
    return this.buf[this.optOff];
  }

  /** every option is well formed: WIRE_OK, or MALFORMED (the caller drops the message) */
  validate(buf: Uint8Array, off: number, len: number): number {
    this.start(buf, off, len);
    let t: number;
    while ((t = this.next()) >= 0);
    return t === -1 ? WIRE_OK : WIRE_MALFORMED;
  }
}
