// ICMPv4 message view (RFC 792, include/uapi/linux/icmp.h).
import { getU16, setU16 } from './bytes';
import { csum_fold, csum_partial } from './checksum';
import { WIRE_CHECKSUM, WIRE_OK } from './error';
import { IcmpHeaderView } from './icmp-header';

export const ICMP_HLEN = 8;
export const ICMP_ECHOREPLY = 0;
export const ICMP_DEST_UNREACH = 3;
export const ICMP_SOURCE_QUENCH = 4;
export const ICMP_REDIRECT = 5;
export const ICMP_ECHO = 8;
export const ICMP_TIME_EXCEEDED = 11;
export const ICMP_PARAMETERPROB = 12;
export const ICMP_TIMESTAMP = 13;
export const ICMP_TIMESTAMPREPLY = 14;
export const ICMP_INFO_REQUEST = 15;
export const ICMP_INFO_REPLY = 16;
export const ICMP_ADDRESS = 17;
export const ICMP_ADDRESSREPLY = 18;
export const NR_ICMP_TYPES = 18;
// ICMP_DEST_UNREACH codes
export const ICMP_NET_UNREACH = 0;
export const ICMP_HOST_UNREACH = 1;
export const ICMP_PROT_UNREACH = 2;
export const ICMP_PORT_UNREACH = 3;
export const ICMP_FRAG_NEEDED = 4;

/** icmp_pointers[type].error (net/ipv4/icmp.c): which types are error messages */
export function icmpIsError(type: number): boolean {
  switch (type) {
    case 1:
    case 2:
    case ICMP_DEST_UNREACH:
    case ICMP_SOURCE_QUENCH:
    case ICMP_REDIRECT:
    case 6:
    case 7:
    case 9:
    case 10:
    case ICMP_TIME_EXCEEDED:
    case ICMP_PARAMETERPROB:
      return true;
    default:
      return false;
  }
}

/** offset of the next-hop MTU (RFC 1191) in a fragmentation-needed message */
const MTU = 6;

/** an ICMPv4 message: the shared header (icmp-header.ts), the RFC 1191 MTU, the plain checksum */
export class Icmpv4Packet extends IcmpHeaderView {
  get nextHopMtu(): number {
    return getU16(this.buf, this.off + MTU);
  }
  set nextHopMtu(v: number) {
    setU16(this.buf, this.off + MTU, v);
  }
  /** the checksum covers the whole message (len bytes) */
  verifyChecksum(): boolean {
    return csum_fold(csum_partial(this.buf, this.off, this.len)) === 0;
  }
  fillChecksum(): void {
    this.checksum = 0;
    this.checksum = csum_fold(csum_partial(this.buf, this.off, this.len));
  }
}

/** parsed meaning of an ICMPv4 header; the data stays in the buffer (dataOffset/dataLen) */
export class Icmpv4Repr {
  type = 0;
  code = 0;
  /** icmphdr.un as one word; echo id = rest >>> 16, seq = rest & 0xffff */
  rest = 0;
  dataOffset = 0;
  dataLen = 0;

  parse(p: Icmpv4Packet, verifyChecksum = true): number {
    const e = p.check();
    if (e !== WIRE_OK) return e;
    if (verifyChecksum && !p.verifyChecksum()) return WIRE_CHECKSUM;
    this.type = p.type;
    this.code = p.code;
    this.rest = p.rest;
    this.dataOffset = p.dataOffset;
    this.dataLen = p.dataLen;
    return WIRE_OK;
  }

  /** write the header and checksum; the data (len - 8 bytes) must already be in place after it */
  emit(p: Icmpv4Packet): void {
    p.type = this.type;
    p.code = this.code;
    p.rest = this.rest;
    p.fillChecksum();
  }
}
