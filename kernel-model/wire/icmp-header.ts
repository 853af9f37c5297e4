// The 8-byte header ICMPv4 (RFC 792) and ICMPv6 (RFC 4443 §2.1) share: type, code, checksum, and a
// second 32-bit word whose meaning depends on the type (echo id/seq, MTU, pointer, …). Each family's
// view extends this with its checksum rule (ICMPv6 adds the pseudo-header) and its own fields.
import { getU16, getU32, setU16, setU32 } from './bytes';
import { WIRE_OK, WIRE_TRUNCATED } from './error';
import { ByteView } from './view';

/** header length of both families */
export const ICMP_HEADER_LEN = 8;

const TYPE = 0;
const CODE = 1;
const CHECKSUM = 2;
const REST = 4;
const ECHO_IDENT = 4;
const ECHO_SEQ = 6;

export class IcmpHeaderView extends ByteView {
  check(): number {
    return this.len < ICMP_HEADER_LEN ? WIRE_TRUNCATED : WIRE_OK;
  }
  get type(): number {
    return this.buf[this.off + TYPE];
  }
  set type(v: number) {
    this.buf[this.off + TYPE] = v;
  }
  get code(): number {
    return this.buf[this.off + CODE];
  }
  set code(v: number) {
    this.buf[this.off + CODE] = v;
  }
  get checksum(): number {
    return getU16(this.buf, this.off + CHECKSUM);
  }
  set checksum(v: number) {
    setU16(this.buf, this.off + CHECKSUM, v);
  }
  /** the second 32-bit word (icmphdr.un / icmp6_dataun) as one number */
  get rest(): number {
    return getU32(this.buf, this.off + REST);
  }
  set rest(v: number) {
    setU32(this.buf, this.off + REST, v);
  }
  get echoIdent(): number {
    return getU16(this.buf, this.off + ECHO_IDENT);
  }
  set echoIdent(v: number) {
    setU16(this.buf, this.off + ECHO_IDENT, v);
  }
  get echoSeq(): number {
    return getU16(this.buf, this.off + ECHO_SEQ);
  }
  set echoSeq(v: number) {
    setU16(this.buf, this.off + ECHO_SEQ, v);
  }
  get dataOffset(): number {
    return this.off + ICMP_HEADER_LEN;
  }
  get dataLen(): number {
    return this.len - ICMP_HEADER_LEN;
  }
}
