// DHCPv4 message view: the BOOTP header (RFC 951/2131 §2) plus an options iterator and writer (RFC 2132).
// Option values stay in the buffer: the Repr records offsets and lengths, never copies.
import { Ipv4Addr, MacAddr, readIpv4, readMac, writeIpv4, writeMac } from './address';
import { getU16, getU32, setU16, setU32 } from './bytes';
import { WIRE_MALFORMED, WIRE_OK, WIRE_TRUNCATED, WIRE_UNRECOGNIZED } from './error';
import { ByteView } from './view';

export const DHCP_SERVER_PORT = 67;
export const DHCP_CLIENT_PORT = 68;
export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
export const DHCP_MAGIC = 0x63825363;
/** fixed BOOTP header + magic cookie: where the options start */
export const DHCP_OPTIONS_OFFSET = 240;
/** RFC 1542 §3.4 / RFC 2131: BOOTP messages are at least 300 bytes; replies are padded to it */
export const BOOTP_MIN_LEN = 300;
/** RFC 2131 §2: a client must accept messages of up to 576 bytes of IP datagram */
export const DHCP_MIN_MAX_MESSAGE = 576;
export const BOOTP_BROADCAST = 0x8000;
export const CHADDR_LEN = 16;
export const SNAME_LEN = 64;
export const FILE_LEN = 128;

// message types (option 53)
export const DHCPDISCOVER = 1;
export const DHCPOFFER = 2;
export const DHCPREQUEST = 3;
export const DHCPDECLINE = 4;
export const DHCPACK = 5;
export const DHCPNAK = 6;
export const DHCPRELEASE = 7;
export const DHCPINFORM = 8;

// options (RFC 2132)
export const DHO_PAD = 0;
export const DHO_SUBNET_MASK = 1;
export const DHO_ROUTERS = 3;
export const DHO_DOMAIN_NAME_SERVERS = 6;
export const DHO_HOST_NAME = 12;
export const DHO_DOMAIN_NAME = 15;
export const DHO_INTERFACE_MTU = 26;
export const DHO_BROADCAST_ADDRESS = 28;
export const DHO_REQUESTED_ADDRESS = 50;
export const DHO_LEASE_TIME = 51;
export const DHO_OPTION_OVERLOAD = 52;
export const DHO_MESSAGE_TYPE = 53;
export const DHO_SERVER_IDENTIFIER = 54;
export const DHO_PARAMETER_REQUEST_LIST = 55;
export const DHO_MESSAGE = 56;
export const DHO_MAX_MESSAGE_SIZE = 57;
export const DHO_RENEWAL_TIME = 58;
export const DHO_REBINDING_TIME = 59;
export const DHO_VENDOR_CLASS_IDENTIFIER = 60;
export const DHO_CLIENT_IDENTIFIER = 61;
export const DHO_END = 255;

const field = {
  OP: 0,
  HTYPE: 1,
  HLEN: 2,
  HOPS: 3,
  XID: 4,
  SECS: 8,
  FLAGS: 10,
  CIADDR: 12,
  YIADDR: 16,
  SIADDR: 20,
  GIADDR: 24,
  CHADDR: 28,
  SNAME: 44,
  FILE: 108,
  MAGIC: 236,
  OPTIONS: 240,
} as const;

export class DhcpPacket extends ByteView {
  /** ≥ 240 bytes (TRUNCATED) and the magic cookie (UNRECOGNIZED: plain BOOTP) */
  check(): number {
    if (this.len < DHCP_OPTIONS_OFFSET) return WIRE_TRUNCATED;
    if (this.magic !== DHCP_MAGIC) return WIRE_UNRECOGNIZED;
    return WIRE_OK;
  }
  get op(): number {
    return this.buf[this.off + field.OP];
  }
  set op(v: number) {
    this.buf[this.off + field.OP] = v;
  }
  get htype(): number {
    return this.buf[this.off + field.HTYPE];
  }
  set htype(v: number) {
    this.buf[this.off + field.HTYPE] = v;
  }
  get hlen(): number {
    return this.buf[this.off + field.HLEN];
  }
  set hlen(v: number) {
    this.buf[this.off + field.HLEN] = v;
  }
  get hops(): number {
    return this.buf[this.off + field.HOPS];
  }
  set hops(v: number) {
    this.buf[this.off + field.HOPS] = v;
  }
  get xid(): number {
    return getU32(this.buf, this.off + field.XID);
  }
  set xid(v: number) {
    setU32(this.buf, this.off + field.XID, v);
  }
  get secs(): number {
    return getU16(this.buf, this.off + field.SECS);
  }
  set secs(v: number) {
    setU16(this.buf, this.off + field.SECS, v);
  }
  get flags(): number {
    return getU16(this.buf, this.off + field.FLAGS);
  }
  set flags(v: number) {
    setU16(this.buf, this.off + field.FLAGS, v);
  }
  get broadcastFlag(): boolean {
    return (this.flags & BOOTP_BROADCAST) !== 0;
  }
  get ciaddr(): Ipv4Addr {
    return readIpv4(this.buf, this.off + field.CIADDR);
  }
  set ciaddr(v: Ipv4Addr) {
    writeIpv4(this.buf, this.off + field.CIADDR, v);
  }
  get yiaddr(): Ipv4Addr {
    return readIpv4(this.buf, this.off + field.YIADDR);
  }
  set yiaddr(v: Ipv4Addr) {
    writeIpv4(this.buf, this.off + field.YIADDR, v);
  }
  get siaddr(): Ipv4Addr {
    return readIpv4(this.buf, this.off + field.SIADDR);
  }
  set siaddr(v: Ipv4Addr) {
    writeIpv4(this.buf, this.off + field.SIADDR, v);
  }
  get giaddr(): Ipv4Addr {
    return readIpv4(this.buf, this.off + field.GIADDR);
  }
  set giaddr(v: Ipv4Addr) {
    writeIpv4(this.buf, this.off + field.GIADDR, v);
  }
  /** the first 6 bytes of chaddr as a MAC (meaningful when htype 1 / hlen 6) */
  get chaddr(): MacAddr {
    return readMac(this.buf, this.off + field.CHADDR);
  }
  set chaddr(v: MacAddr) {
    writeMac(this.buf, this.off + field.CHADDR, v);
  }
  get chaddrOffset(): number {
    return this.off + field.CHADDR;
  }
  get snameOffset(): number {
    return this.off + field.SNAME;
  }
  get fileOffset(): number {
    return this.off + field.FILE;
  }
  get magic(): number {
    return getU32(this.buf, this.off + field.MAGIC);
  }
  set magic(v: number) {
    setU32(this.buf, this.off + field.MAGIC, v);
  }
  /** absolute offsets of the options area: [optionsOffset, optionsEnd) */
  get optionsOffset(): number {
    return this.off + field.OPTIONS;
  }
  get optionsEnd(): number {
    return this.off + this.len;
  }
  /** zero the fixed header (240 bytes) and write the magic cookie */
  clearHeader(): void {
    this.buf.fill(0, this.off, this.off + field.OPTIONS);
    this.magic = DHCP_MAGIC;
  }
}

/**
 * Walks options: PAD is skipped, END stops; every other option is code, length, value. `error` becomes
 * WIRE_MALFORMED when a length byte or value runs past the end, WIRE_TRUNCATED when the area ends without
 * an END option. Reusable: reset() re-points it.
 */
export class DhcpOptionIterator {
  private buf: Uint8Array = EMPTY;
  private pos = 0;
  private end = 0;
  code = 0;
  valueOffset = 0;
  valueLen = 0;
  error = WIRE_OK;
  sawEnd = false;

  reset(buf: Uint8Array, off: number, end: number): this {
    this.buf = buf;
    this.pos = off;
    this.end = Math.min(end, buf.length);
    this.error = WIRE_OK;
    this.sawEnd = false;
    return this;
  }

  next(): boolean {
    const b = this.buf;
    while (this.pos < this.end) {
      const c = b[this.pos];
      if (c === DHO_PAD) {
        this.pos++;
        continue;
      }
      if (c === DHO_END) {
        this.sawEnd = true;
        this.pos = this.end;
        return false;
      }
      if (this.pos + 1 >= this.end) {
        this.error = WIRE_MALFORMED;
        this.pos = this.end;
        return false;
      }
      const l = b[this.pos + 1];
      if (this.pos + 2 + l > this.end) {
        this.error = WIRE_MALFORMED;
        this.pos = this.end;
        return false;
      }
      this.code = c;
      this.valueOffset = this.pos + 2;
      this.valueLen = l;
      this.pos += 2 + l;
      return true;
    }
    if (!this.sawEnd && this.error === WIRE_OK) this.error = WIRE_TRUNCATED;
    return false;
  }
}

/**
 * Appends options into [off, end), always keeping one byte for END. An option that does not fit is
 * left out and sets `overflow`; later, smaller options may still fit.
 */
export class DhcpOptionWriter {
  buf: Uint8Array = EMPTY;
  start = 0;
  pos = 0;
  end = 0;
  overflow = false;

  reset(buf: Uint8Array, off: number, end: number): this {
    this.buf = buf;
    this.start = this.pos = off;
    this.end = Math.min(end, buf.length);
    this.overflow = false;
    return this;
  }

  /** bytes written so far */
  get length(): number {
    return this.pos - this.start;
  }

  /** write code and length (value ≤ 255 bytes); returns the value's offset or -1 */
  begin(code: number, len: number): number {
    // keep one byte for END
    if (len > 255 || this.pos + 2 + len + 1 > this.end) {
      this.overflow = true;
      return -1;
    }
    this.buf[this.pos] = code;
    this.buf[this.pos + 1] = len;
    const v = this.pos + 2;
    this.pos = v + len;
    return v;
  }
  u8(code: number, v: number): boolean {
    const o = this.begin(code, 1);
    if (o < 0) return false;
    this.buf[o] = v;
    return true;
  }
  u16(code: number, v: number): boolean {
    const o = this.begin(code, 2);
    if (o < 0) return false;
    setU16(this.buf, o, v);
    return true;
  }
  u32(code: number, v: number): boolean {
    const o = this.begin(code, 4);
    if (o < 0) return false;
    setU32(this.buf, o, v);
    return true;
  }
  ipv4(code: number, a: Ipv4Addr): boolean {
    return this.u32(code, a);
  }
  ipv4List(code: number, list: readonly Ipv4Addr[]): boolean {
    const o = this.begin(code, 4 * list.length);
    if (o < 0) return false;
    for (let i = 0; i < list.length; i++) setU32(this.buf, o + 4 * i, list[i]);
    return true;
  }
  bytes(code: number, src: Uint8Array, off: number, len: number): boolean {
    const o = this.begin(code, len);
    if (o < 0) return false;
    this.buf.set(src.subarray(off, off + len), o);
    return true;
  }
  /** an ASCII string (host or domain name); characters above 0xff are truncated to their low byte */
  ascii(code: number, s: string): boolean {
    const o = this.begin(code, s.length);
    if (o < 0) return false;
    for (let i = 0; i < s.length; i++) this.buf[o + i] = s.charCodeAt(i) & 0xff;
    return true;
  }
  /** write END (space for it is always kept) */
  finish(): void {
    if (this.pos < this.end) this.buf[this.pos++] = DHO_END;
  }
  /** zero-pad (PAD options) so that the area written since `from` reaches `minLen` bytes, within bounds */
  padTo(from: number, minLen: number): void {
    const target = Math.min(from + minLen, this.end);
    if (this.pos < target) {
      this.buf.fill(0, this.pos, target);
      this.pos = target;
    }
  }
}

/**
 * Parsed meaning of a DHCP message: header fields, and the options the server and tests use. Values of
 * variable options are (offset, length) into the message buffer. Absent options read as 0 / -1 / length 0.
 */
export class DhcpRepr {
  op = 0;
  htype = 0;
  hlen = 0;
  hops = 0;
  xid = 0;
  secs = 0;
  flags = 0;
  ciaddr: Ipv4Addr = 0;
  yiaddr: Ipv4Addr = 0;
  siaddr: Ipv4Addr = 0;
  giaddr: Ipv4Addr = 0;
  chaddr: MacAddr = 0;
  chaddrOffset = 0;
  /** option 53, 0 when absent (plain BOOTP) */
  messageType = 0;
  requestedIp: Ipv4Addr = 0;
  serverId: Ipv4Addr = 0;
  /** seconds; -1 when absent */
  leaseTime = -1;
  renewalTime = -1;
  rebindingTime = -1;
  subnetMask: Ipv4Addr = 0;
  hasSubnetMask = false;
  broadcastAddress: Ipv4Addr = 0;
  /** first router (option 3) */
  router: Ipv4Addr = 0;
  dnsOffset = 0;
  dnsCount = 0;
  mtu = 0;
  /** option 57; 0 when absent or below the legal minimum 576 */
  maxMessageSize = 0;
  overload = 0;
  clientIdOffset = 0;
  clientIdLen = 0;
  paramsOffset = 0;
  paramsLen = 0;
  hostNameOffset = 0;
  hostNameLen = 0;
  domainOffset = 0;
  domainLen = 0;
  messageOffset = 0;
  messageLen = 0;
  vendorClassOffset = 0;
  vendorClassLen = 0;
  /** the option that made parse() fail (for the log), 0 otherwise */
  badOption = 0;

  private reset(): void {
    this.messageType = 0;
    this.requestedIp = this.serverId = this.subnetMask = this.broadcastAddress = this.router = 0;
    this.hasSubnetMask = false;
    this.leaseTime = this.renewalTime = this.rebindingTime = -1;
    this.dnsOffset = this.dnsCount = this.mtu = this.maxMessageSize = this.overload = 0;
    this.clientIdOffset = this.clientIdLen = this.paramsOffset = this.paramsLen = 0;
    this.hostNameOffset = this.hostNameLen = this.domainOffset = this.domainLen = 0;
    this.messageOffset = this.messageLen = this.vendorClassOffset = this.vendorClassLen = 0;
    this.badOption = 0;
  }

  /**
   * Header, then options from the options field only (an overload option 52 is recorded, but sname/file are
   * not parsed as options). Errors: the view's check(); an option running past the end or a fixed-size
   * option of the wrong length (MALFORMED); no END option (TRUNCATED).
   */
  parse(p: DhcpPacket, it: DhcpOptionIterator): number {
    this.reset();
    const e = p.check();
    if (e !== WIRE_OK) return e;
    this.op = p.op;
    this.htype = p.htype;
    this.hlen = p.hlen;
    this.hops = p.hops;
    this.xid = p.xid;
    this.secs = p.secs;
    this.flags = p.flags;
    this.ciaddr = p.ciaddr;
    this.yiaddr = p.yiaddr;
    this.siaddr = p.siaddr;
    this.giaddr = p.giaddr;
    this.chaddr = p.chaddr;
    this.chaddrOffset = p.chaddrOffset;
    const b = p.buf;
    it.reset(b, p.optionsOffset, p.optionsEnd);
    while (it.next()) {
      const o = it.valueOffset;
      const l = it.valueLen;
      let ok = true;
      switch (it.code) {
        case DHO_MESSAGE_TYPE:
          ok = l === 1;
          if (ok && this.messageType === 0) this.messageType = b[o];
          break;
        case DHO_REQUESTED_ADDRESS:
          ok = l === 4;
          if (ok) this.requestedIp = getU32(b, o);
          break;
        case DHO_SERVER_IDENTIFIER:
          ok = l === 4;
          if (ok) this.serverId = getU32(b, o);
          break;
        case DHO_LEASE_TIME:
          ok = l === 4;
          if (ok) this.leaseTime = getU32(b, o);
          break;
        case DHO_RENEWAL_TIME:
          ok = l === 4;
          if (ok) this.renewalTime = getU32(b, o);
          break;
        case DHO_REBINDING_TIME:
          ok = l === 4;
          if (ok) this.rebindingTime = getU32(b, o);
          break;
        case DHO_SUBNET_MASK:
          ok = l === 4;
          if (ok) {
            this.subnetMask = getU32(b, o);
            this.hasSubnetMask = true;
          }
          break;
        case DHO_BROADCAST_ADDRESS:
          ok = l === 4;
          if (ok) this.broadcastAddress = getU32(b, o);
          break;
        case DHO_ROUTERS:
          ok = l >= 4 && (l & 3) === 0;
          if (ok) this.router = getU32(b, o);
          break;
        case DHO_DOMAIN_NAME_SERVERS:
          ok = l >= 4 && (l & 3) === 0;
          if (ok) {
            this.dnsOffset = o;
            this.dnsCount = l >>> 2;
          }
          break;
        case DHO_INTERFACE_MTU:
          ok = l === 2;
          if (ok) this.mtu = getU16(b, o);
          break;
        case DHO_MAX_MESSAGE_SIZE:
          ok = l === 2;
          // RFC 2132 §9.10: the minimum legal value is 576; a smaller one is ignored
          if (ok) this.maxMessageSize = getU16(b, o) >= DHCP_MIN_MAX_MESSAGE ? getU16(b, o) : 0;
          break;
        case DHO_OPTION_OVERLOAD:
          ok = l === 1;
          if (ok) this.overload = b[o];
          break;
        case DHO_CLIENT_IDENTIFIER:
          ok = l >= 1;
          if (ok && this.clientIdLen === 0) {
            this.clientIdOffset = o;
            this.clientIdLen = l;
          }
          break;
        case DHO_PARAMETER_REQUEST_LIST:
          if (this.paramsLen === 0) {
            this.paramsOffset = o;
            this.paramsLen = l;
          }
          break;
        case DHO_HOST_NAME:
          ok = l >= 1;
          if (ok && this.hostNameLen === 0) {
            this.hostNameOffset = o;
            this.hostNameLen = l;
          }
          break;
        case DHO_DOMAIN_NAME:
          ok = l >= 1;
          if (ok && this.domainLen === 0) {
            this.domainOffset = o;
            this.domainLen = l;
          }
          break;
        case DHO_MESSAGE:
          if (this.messageLen === 0) {
            this.messageOffset = o;
            this.messageLen = l;
          }
          break;
        case DHO_VENDOR_CLASS_IDENTIFIER:
          if (this.vendorClassLen === 0) {
            this.vendorClassOffset = o;
            this.vendorClassLen = l;
          }
          break;
        default:
          break;
      }
      if (!ok) {
        this.badOption = it.code;
        return WIRE_MALFORMED;
      }
    }
    return it.error;
  }

  /** the i-th DNS server (option 6) */
  dns(buf: Uint8Array, i: number): Ipv4Addr {
    return i < this.dnsCount ? getU32(buf, this.dnsOffset + 4 * i) : 0;
  }
}

const EMPTY = new Uint8Array(0);
