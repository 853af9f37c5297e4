// UDP header view (RFC 768, include/uapi/linux/udp.h); checksums over the IPv4 pseudo-header.
import { Ipv4Addr } from './address';
import { getU16, setU16 } from './bytes';
import { csum_fold, csum_partial, csum_tcpudp_nofold } from './checksum';
import { WIRE_CHECKSUM, WIRE_MALFORMED, WIRE_OK, WIRE_TRUNCATED } from './error';
import { IPPROTO_UDP } from './ipv4';
import { ByteView } from './view';

export const UDP_HLEN = 8;

const field = { SRC_PORT: 0, DST_PORT: 2, LENGTH: 4, CHECKSUM: 6, PAYLOAD: 8 } as const;

export class UdpPacket extends ByteView {
  /** buffer ≥ 8 (TRUNCATED), length field ≥ 8 (MALFORMED), buffer ≥ length field (TRUNCATED) */
  check(): number {
    if (this.len < UDP_HLEN) return WIRE_TRUNCATED;
    const l = this.length;
    if (l < UDP_HLEN) return WIRE_MALFORMED;
    if (l > this.len) return WIRE_TRUNCATED;
    return WIRE_OK;
  }
  get srcPort(): number {
    return getU16(this.buf, this.off + field.SRC_PORT);
  }
  set srcPort(v: number) {
    setU16(this.buf, this.off + field.SRC_PORT, v);
  }
  get dstPort(): number {
    return getU16(this.buf, this.off + field.DST_PORT);
  }
  set dstPort(v: number) {
    setU16(this.buf, this.off + field.DST_PORT, v);
  }
  /** the length field: header + payload */
  get length(): number {
    return getU16(this.buf, this.off + field.LENGTH);
  }
  set length(v: number) {
    setU16(this.buf, this.off + field.LENGTH, v);
  }
  get checksum(): number {
    return getU16(this.buf, this.off + field.CHECKSUM);
  }
  set checksum(v: number) {
    setU16(this.buf, this.off + field.CHECKSUM, v);
  }
  get payloadOffset(): number {
    return this.off + field.PAYLOAD;
  }
  get payloadLen(): number {
    return this.length - UDP_HLEN;
  }
  /** checksum over pseudo-header + `length` bytes; a zero field means "none" over IPv4 (udp4_csum_init) */
  verifyChecksum(src: Ipv4Addr, dst: Ipv4Addr): boolean {
    if (this.checksum === 0) return true;
    const l = this.length;
    return csum_fold(csum_partial(this.buf, this.off, l, csum_tcpudp_nofold(src, dst, l, IPPROTO_UDP))) === 0;
  }
  /** compute and store the checksum; a computed 0 is sent as 0xffff (RFC 768) */
  fillChecksum(src: Ipv4Addr, dst: Ipv4Addr): void {
    this.checksum = 0;
    const l = this.length;
    const c = csum_fold(csum_partial(this.buf, this.off, l, csum_tcpudp_nofold(src, dst, l, IPPROTO_UDP)));
    this.checksum = c === 0 ? 0xffff : c;
  }
}

/** parsed meaning of a UDP header; the payload stays in the buffer */
export class UdpRepr {
  srcPort = 0;
  dstPort = 0;
  payloadOffset = 0;
  payloadLen = 0;

  static readonly headerLen = UDP_HLEN;

  /** `src`/`dst` are the IPv4 addresses for the pseudo-header; pass verify=false to skip the checksum */
  parse(p: UdpPacket, src: Ipv4Addr, dst: Ipv4Addr, verify = true): number {
    const e = p.check();
    if (e !== WIRE_OK) return e;
    if (verify && !p.verifyChecksum(src, dst)) return WIRE_CHECKSUM;
    this.srcPort = p.srcPort;
    this.dstPort = p.dstPort;
    this.payloadOffset = p.payloadOffset;
    this.payloadLen = p.payloadLen;
    return WIRE_OK;
  }

  /** write header and checksum; the payload (payloadLen bytes) must already follow the header */
  emit(p: UdpPacket, src: Ipv4Addr, dst: Ipv4Addr): void {
    p.srcPort = this.srcPort;
    p.dstPort = this.dstPort;
    p.length = UDP_HLEN + this.payloadLen;
    p.fillChecksum(src, dst);
  }
}
