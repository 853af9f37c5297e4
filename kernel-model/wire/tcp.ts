// TCP header view, options and checksum (RFC 9293, RFC 7323, RFC 2018, include/uapi/linux/tcp.h,
// include/net/tcp.h). The option writer lays options out as Linux's tcp_output.c tcp_options_write does,
// so SYN and SYN-ACK bytes equal a Linux 6.1 sender's for the same inputs.
import type { Ipv4Addr } from './address';
import { getU16, getU32, setU16, setU32 } from './bytes';
import { csum_fold, csum_partial, csum_tcpudp_nofold } from './checksum';
import { WIRE_CHECKSUM, WIRE_MALFORMED, WIRE_OK, WIRE_TRUNCATED } from './error';
import { IPPROTO_TCP } from './ipv4';
import { ByteView } from './view';

export const TCP_HLEN = 20;
/** MAX_TCP_OPTION_SPACE */
export const TCP_MAX_OPTION_SPACE = 40;

// flags (TCPHDR_*)
export const TCPHDR_FIN = 0x01;
export const TCPHDR_SYN = 0x02;
export const TCPHDR_RST = 0x04;
export const TCPHDR_PSH = 0x08;
export const TCPHDR_ACK = 0x10;
export const TCPHDR_URG = 0x20;
export const TCPHDR_ECE = 0x40;
export const TCPHDR_CWR = 0x80;

// option kinds and lengths (TCPOPT_*, TCPOLEN_*)
export const TCPOPT_EOL = 0;
export const TCPOPT_NOP = 1;
export const TCPOPT_MSS = 2;
export const TCPOPT_WINDOW = 3;
export const TCPOPT_SACK_PERM = 4;
export const TCPOPT_SACK = 5;
export const TCPOPT_TIMESTAMP = 8;
export const TCPOLEN_MSS = 4;
export const TCPOLEN_WINDOW = 3;
export const TCPOLEN_SACK_PERM = 2;
export const TCPOLEN_TIMESTAMP = 10;
export const TCPOLEN_SACK_BASE = 2;
export const TCPOLEN_SACK_PERBLOCK = 8;
/** aligned sizes the sender reserves (TCPOLEN_*_ALIGNED) */
export const TCPOLEN_TSTAMP_ALIGNED = 12;
export const TCPOLEN_SACK_BASE_ALIGNED = 4;
/** TCP_MAX_WSCALE */
export const TCP_MAX_WSCALE = 14;
/** at most 4 SACK blocks fit the option space (TCP_NUM_SACKS) */
export const TCP_NUM_SACKS = 4;

const field = { SRC: 0, DST: 2, SEQ: 4, ACK: 8, DOFF: 12, FLAGS: 13, WIN: 14, CSUM: 16, URG: 18 } as const;

export class TcpPacket extends ByteView {
  /** buffer ≥ 20 (TRUNCATED), data offset ≥ 5 (MALFORMED), header within the buffer (TRUNCATED) */
  check(): number {
    if (this.len < TCP_HLEN) return WIRE_TRUNCATED;
    const h = this.headerLen;
    if (h < TCP_HLEN) return WIRE_MALFORMED;
    if (h > this.len) return WIRE_TRUNCATED;
    return WIRE_OK;
  }
  get srcPort(): number {
    return getU16(this.buf, this.off + field.SRC);
  }
  set srcPort(v: number) {
    setU16(this.buf, this.off + field.SRC, v);
  }
  get dstPort(): number {
    return getU16(this.buf, this.off + field.DST);
  }
  set dstPort(v: number) {
    setU16(this.buf, this.off + field.DST, v);
  }
  get seq(): number {
    return getU32(this.buf, this.off + field.SEQ);
  }
  set seq(v: number) {
    setU32(this.buf, this.off + field.SEQ, v);
  }
  get ack(): number {
    return getU32(this.buf, this.off + field.ACK);
  }
  set ack(v: number) {
    setU32(this.buf, this.off + field.ACK, v);
  }
  /** doff × 4 */
  get headerLen(): number {
    return (this.buf[this.off + field.DOFF] >>> 4) << 2;
  }
  set headerLen(v: number) {
    this.buf[this.off + field.DOFF] = (v >>> 2) << 4;
  }
  get flags(): number {
    return this.buf[this.off + field.FLAGS];
  }
  set flags(v: number) {
    this.buf[this.off + field.FLAGS] = v;
  }
  get window(): number {
    return getU16(this.buf, this.off + field.WIN);
  }
  set window(v: number) {
    setU16(this.buf, this.off + field.WIN, v);
  }
  get checksum(): number {
    return getU16(this.buf, this.off + field.CSUM);
  }
  set checksum(v: number) {
    setU16(this.buf, this.off + field.CSUM, v);
  }
  get urgent(): number {
    return getU16(this.buf, this.off + field.URG);
  }
  set urgent(v: number) {
    setU16(this.buf, this.off + field.URG, v);
  }
  get optionsOffset(): number {
    return this.off + TCP_HLEN;
  }
  get payloadOffset(): number {
    return this.off + this.headerLen;
  }
  /** the segment is `len` bytes: header + payload */
  get payloadLen(): number {
    return this.len - this.headerLen;
  }
  /** checksum over the pseudo-header and all `len` bytes */
  verifyChecksum(src: Ipv4Addr, dst: Ipv4Addr): boolean {
    return tcp_v4_check(this.buf, this.off, this.len, src, dst) === 0;
  }
  fillChecksum(src: Ipv4Addr, dst: Ipv4Addr): void {
    this.checksum = 0;
    this.checksum = tcp_v4_check(this.buf, this.off, this.len, src, dst);
  }
}

/**
 * tcp_v4_check: the folded checksum of a segment `buf[off, off+len)` with its IPv4 pseudo-header; 0 when
 * the stored checksum verifies, otherwise the value to store (with the field zeroed first).
 */
export function tcp_v4_check(buf: Uint8Array, off: number, len: number, src: Ipv4Addr, dst: Ipv4Addr): number {
  return csum_fold(csum_partial(buf, off, len, csum_tcpudp_nofold(src, dst, len, IPPROTO_TCP)));
}

/**
 * Options as received (struct tcp_options_received, syntax only: which ones a state may use is the
 * receiver's business, tcp_parse_options). Reused per segment; absent values are -1 / false / 0.
 */
export class TcpOptions {
  /** MSS option value, -1 when absent */
  mss = -1;
  /** window-scale shift as sent (not clamped), -1 when absent */
  wscale = -1;
  sackPerm = false;
  /** saw_tstamp */
  ts = false;
  tsval = 0;
  tsecr = 0;
  /** SACK blocks (start, end pairs), at most 4 */
  readonly sack = new Uint32Array(TCP_NUM_SACKS * 2);
  numSacks = 0;
  /** the options ended with a length that is < 2 or runs past the header (Linux stops parsing there) */
  malformed = false;

  clear(): void {
    this.mss = -1;
    this.wscale = -1;
    this.sackPerm = false;
    this.ts = false;
    this.tsval = this.tsecr = 0;
    this.numSacks = 0;
    this.malformed = false;
  }

  /**
   * tcp_parse_options' walk over `buf[off, off+len)`: EOL ends, NOP is one byte, any other kind has a
   * length byte; a length < 2 or past the end stops the walk. Options with the wrong length are skipped.
   */
  parse(buf: Uint8Array, off: number, len: number): void {
    this.clear();
    let p = off;
    const end = off + len;
    while (p < end) {
      const kind = buf[p];
      if (kind === TCPOPT_EOL) return;
      if (kind === TCPOPT_NOP) {
        p++;
        continue;
      }
      if (p + 1 >= end) {
        this.malformed = true;
        return;
      }
      const size = buf[p + 1];
      if (size < 2 || size > end - p) {
        this.malformed = true;
        return;
      }
      switch (kind) {
        case TCPOPT_MSS:
          if (size === TCPOLEN_MSS) this.mss = getU16(buf, p + 2);
          break;
        case TCPOPT_WINDOW:
          if (size === TCPOLEN_WINDOW) this.wscale = buf[p + 2];
          break;
        case TCPOPT_SACK_PERM:
          if (size === TCPOLEN_SACK_PERM) this.sackPerm = true;
          break;
        case TCPOPT_TIMESTAMP:
          if (size === TCPOLEN_TIMESTAMP) {
            this.ts = true;
            this.tsval = getU32(buf, p + 2);
            this.tsecr = getU32(buf, p + 6);
          }
          break;
        case TCPOPT_SACK:
          if (size >= TCPOLEN_SACK_BASE + TCPOLEN_SACK_PERBLOCK && (size - TCPOLEN_SACK_BASE) % TCPOLEN_SACK_PERBLOCK === 0) {
            let n = (size - TCPOLEN_SACK_BASE) / TCPOLEN_SACK_PERBLOCK;
            if (n > TCP_NUM_SACKS) n = TCP_NUM_SACKS;
            for (let i = 0; i < n; i++) {
              this.sack[2 * i] = getU32(buf, p + 2 + 8 * i);
              this.sack[2 * i + 1] = getU32(buf, p + 6 + 8 * i);
            }
            this.numSacks = n;
          }
          break;
        default:
          break;
      }
      p += size;
    }
  }
}

/** What a sender puts in a segment (struct tcp_out_options). Reused; fill, size, write. */
export class TcpOutOptions {
  /** MSS to announce, 0 = none (SYN/SYN-ACK only) */
  mss = 0;
  /** window-scale shift to announce, -1 = none */
  ws = -1;
  sackPerm = false;
  ts = false;
  tsval = 0;
  tsecr = 0;
  /** SACK blocks to send (D-SACK first when there is one), as start/end pairs */
  readonly sack = new Uint32Array((TCP_NUM_SACKS + 1) * 2);
  numSackBlocks = 0;

  clear(): this {
    this.mss = 0;
    this.ws = -1;
    this.sackPerm = false;
    this.ts = false;
    this.tsval = this.tsecr = 0;
    this.numSackBlocks = 0;
    return this;
  }
}

/** bytes tcp_options_write emits for `o` (always a multiple of 4) */
export function tcp_options_size(o: TcpOutOptions): number {
  let n = 0;
  if (o.mss) n += 4;
  if (o.ts) n += 12;
  else if (o.sackPerm) n += 4;
  if (o.ws >= 0) n += 4;
  if (o.numSackBlocks > 0) n += TCPOLEN_SACK_BASE_ALIGNED + o.numSackBlocks * TCPOLEN_SACK_PERBLOCK;
  return n;
}

/**
 * tcp_options_write's layout: MSS; timestamps, with SACK_PERM fused in front of them as
 * `04 02 08 0a` (else `01 01 08 0a`); SACK_PERM alone as `01 01 04 02`; `01 03 03 ws`; SACK blocks
 * as `01 01 05 len`. Returns the bytes written.
 */
export function tcp_options_write(buf: Uint8Array, off: number, o: TcpOutOptions): number {
  let p = off;
  if (o.mss) {
    buf[p] = TCPOPT_MSS;
    buf[p + 1] = TCPOLEN_MSS;
    setU16(buf, p + 2, o.mss);
    p += 4;
  }
  let sackPerm = o.sackPerm;
  if (o.ts) {
    if (sackPerm) {
      buf[p] = TCPOPT_SACK_PERM;
      buf[p + 1] = TCPOLEN_SACK_PERM;
      sackPerm = false;
    } else {
      buf[p] = TCPOPT_NOP;
      buf[p + 1] = TCPOPT_NOP;
    }
    buf[p + 2] = TCPOPT_TIMESTAMP;
    buf[p + 3] = TCPOLEN_TIMESTAMP;
    setU32(buf, p + 4, o.tsval);
    setU32(buf, p + 8, o.tsecr);
    p += 12;
  }
  if (sackPerm) {
    buf[p] = TCPOPT_NOP;
    buf[p + 1] = TCPOPT_NOP;
    buf[p + 2] = TCPOPT_SACK_PERM;
    buf[p + 3] = TCPOLEN_SACK_PERM;
    p += 4;
  }
  if (o.ws >= 0) {
    buf[p] = TCPOPT_NOP;
    buf[p + 1] = TCPOPT_WINDOW;
    buf[p + 2] = TCPOLEN_WINDOW;
    buf[p + 3] = o.ws;
    p += 4;
  }
  if (o.numSackBlocks > 0) {
    buf[p] = TCPOPT_NOP;
    buf[p + 1] = TCPOPT_NOP;
    buf[p + 2] = TCPOPT_SACK;
    buf[p + 3] = TCPOLEN_SACK_BASE + o.numSackBlocks * TCPOLEN_SACK_PERBLOCK;
    p += 4;
    for (let i = 0; i < o.numSackBlocks; i++) {
      setU32(buf, p, o.sack[2 * i]);
      setU32(buf, p + 4, o.sack[2 * i + 1]);
      p += 8;
    }
  }
  return p - off;
}

/** Parsed meaning of a TCP header; the payload stays in the buffer (smoltcp's TcpRepr). */
export class TcpRepr {
  srcPort = 0;
  dstPort = 0;
  seq = 0;
  ack = 0;
  flags = 0;
  window = 0;
  urgent = 0;
  headerLen = TCP_HLEN;
  payloadOffset = 0;
  payloadLen = 0;
  readonly options = new TcpOptions();

  /** parse a segment of `p.len` bytes; `verify` checks the checksum against the pseudo-header */
  parse(p: TcpPacket, src: Ipv4Addr, dst: Ipv4Addr, verify = true): number {
    const e = p.check();
    if (e !== WIRE_OK) return e;
    if (verify && !p.verifyChecksum(src, dst)) return WIRE_CHECKSUM;
    this.srcPort = p.srcPort;
    this.dstPort = p.dstPort;
    this.seq = p.seq;
    this.ack = p.ack;
    this.flags = p.flags;
    this.window = p.window;
    this.urgent = p.urgent;
    this.headerLen = p.headerLen;
    this.payloadOffset = p.payloadOffset;
    this.payloadLen = p.payloadLen;
    this.options.parse(p.buf, p.optionsOffset, this.headerLen - TCP_HLEN);
    return this.options.malformed ? WIRE_MALFORMED : WIRE_OK;
  }

  /**
   * Write the header with `opts` at `p.off` (the payload of `payloadLen` bytes must already follow
   * at p.off + 20 + options size) and the checksum. Returns the header length.
   */
  emit(p: TcpPacket, opts: TcpOutOptions, src: Ipv4Addr, dst: Ipv4Addr): number {
    const hl = TCP_HLEN + tcp_options_size(opts);
    p.srcPort = this.srcPort;
    p.dstPort = this.dstPort;
    p.seq = this.seq;
    p.ack = this.ack;
    p.headerLen = hl;
    p.flags = this.flags;
    p.window = this.window;
    p.urgent = this.urgent;
    tcp_options_write(p.buf, p.off + TCP_HLEN, opts);
    p.len = hl + this.payloadLen;
    p.fillChecksum(src, dst);
    this.headerLen = hl;
    return hl;
  }
}

/** tcpdump-style flag letters, for logs */
export function tcpFlagsString(f: number): string {
  let s = '';
  if (f & TCPHDR_SYN) s += 'S';
  if (f & TCPHDR_FIN) s += 'F';
  if (f & TCPHDR_RST) s += 'R';
  if (f & TCPHDR_PSH) s += 'P';
  if (f & TCPHDR_ACK) s += '.';
  if (f & TCPHDR_URG) s += 'U';
  if (f & TCPHDR_ECE) s += 'E';
  if (f & TCPHDR_CWR) s += 'W';
  return s;
}

