// ARP packet view (RFC 826, include/uapi/linux/if_arp.h). The view reads any hardware/protocol sizes;
// the Repr accepts only Ethernet/IPv4, the one kind the model speaks.
import { Ipv4Addr, MacAddr, readIpv4, readMac, writeIpv4, writeMac } from './address';
import { getU16, setU16 } from './bytes';
import { WIRE_OK, WIRE_TRUNCATED, WIRE_UNRECOGNIZED } from './error';
import { ETH_P_IP } from './ethernet';
import { ByteView } from './view';

export const ARPHRD_ETHER = 1;
export const ARPHRD_IEEE802 = 6;
export const ARPOP_REQUEST = 1;
export const ARPOP_REPLY = 2;
/** fixed part: htype, ptype, hlen, plen, oper */
export const ARP_FIXED_LEN = 8;
/** an Ethernet/IPv4 ARP packet */
export const ARP_ETH_IP_LEN = 28;

const field = { HTYPE: 0, PTYPE: 2, HLEN: 4, PLEN: 5, OPER: 6, SHA: 8 } as const;

export class ArpPacket extends ByteView {
  check(): number {
    if (this.len < ARP_FIXED_LEN) return WIRE_TRUNCATED;
    if (this.len < ARP_FIXED_LEN + 2 * (this.hlen + this.plen)) return WIRE_TRUNCATED;
    return WIRE_OK;
  }
  get htype(): number {
    return getU16(this.buf, this.off + field.HTYPE);
  }
  set htype(v: number) {
    setU16(this.buf, this.off + field.HTYPE, v);
  }
  get ptype(): number {
    return getU16(this.buf, this.off + field.PTYPE);
  }
  set ptype(v: number) {
    setU16(this.buf, this.off + field.PTYPE, v);
  }
  get hlen(): number {
    return this.buf[this.off + field.HLEN];
  }
  set hlen(v: number) {
    this.buf[this.off + field.HLEN] = v;
  }
  get plen(): number {
    return this.buf[this.off + field.PLEN];
  }
  set plen(v: number) {
    this.buf[this.off + field.PLEN] = v;
  }
  get oper(): number {
    return getU16(this.buf, this.off + field.OPER);
  }
  set oper(v: number) {
    setU16(this.buf, this.off + field.OPER, v);
  }
  // variable offsets: sha | spa | tha | tpa
  get spaOffset(): number {
    return this.off + field.SHA + this.hlen;
  }
  get thaOffset(): number {
    return this.spaOffset + this.plen;
  }
  get tpaOffset(): number {
    return this.thaOffset + this.hlen;
  }
  /** the address accessors below assume hlen 6 / plen 4 (ArpRepr.parse checks) */
  get sha(): MacAddr {
    return readMac(this.buf, this.off + field.SHA);
  }
  set sha(v: MacAddr) {
    writeMac(this.buf, this.off + field.SHA, v);
  }
  get spa(): Ipv4Addr {
    return readIpv4(this.buf, this.spaOffset);
  }
  set spa(v: Ipv4Addr) {
    writeIpv4(this.buf, this.spaOffset, v);
  }
  get tha(): MacAddr {
    return readMac(this.buf, this.thaOffset);
  }
  set tha(v: MacAddr) {
    writeMac(this.buf, this.thaOffset, v);
  }
  get tpa(): Ipv4Addr {
    return readIpv4(this.buf, this.tpaOffset);
  }
  set tpa(v: Ipv4Addr) {
    writeIpv4(this.buf, this.tpaOffset, v);
  }
}

/** parsed meaning of an Ethernet/IPv4 ARP packet */
export class ArpRepr {
  operation = 0;
  sha: MacAddr = 0;
  spa: Ipv4Addr = 0;
  tha: MacAddr = 0;
  tpa: Ipv4Addr = 0;

  static readonly bufferLen = ARP_ETH_IP_LEN;

  parse(p: ArpPacket): number {
    const e = p.check();
    if (e !== WIRE_OK) return e;
    const ht = p.htype;
    // arp_process: Ethernet devices accept ARPHRD_ETHER and ARPHRD_IEEE802
    if ((ht !== ARPHRD_ETHER && ht !== ARPHRD_IEEE802) || p.ptype !== ETH_P_IP) return WIRE_UNRECOGNIZED;
    if (p.hlen !== 6 || p.plen !== 4) return WIRE_UNRECOGNIZED;
    this.operation = p.oper;
    this.sha = p.sha;
    this.spa = p.spa;
    this.tha = p.tha;
    this.tpa = p.tpa;
    return WIRE_OK;
  }

  /** write all 28 bytes into a view of at least ARP_ETH_IP_LEN bytes */
  emit(p: ArpPacket): void {
    p.htype = ARPHRD_ETHER;
    p.ptype = ETH_P_IP;
    p.hlen = 6;
    p.plen = 4;
    p.oper = this.operation;
    p.sha = this.sha;
    p.spa = this.spa;
    p.tha = this.tha;
    p.tpa = this.tpa;
  }
}
