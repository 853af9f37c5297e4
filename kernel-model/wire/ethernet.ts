// Ethernet II header view (include/uapi/linux/if_ether.h).
import { MacAddr, readMac, writeMac } from './address';
import { getU16, setU16 } from './bytes';
import { WIRE_OK, WIRE_TRUNCATED } from './error';
import { ByteView } from './view';

export const ETH_ALEN = 6;
export const ETH_HLEN = 14;
/** minimum frame length without FCS; shorter frames are padded by the sender */
export const ETH_ZLEN = 60;
export const ETH_DATA_LEN = 1500;
export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_8021Q = 0x8100;
export const ETH_P_IPV6 = 0x86dd;

const field = { DST: 0, SRC: 6, ETHERTYPE: 12, PAYLOAD: 14 } as const;

export class EthernetFrame extends ByteView {
  check(): number {
    return this.len < ETH_HLEN ? WIRE_TRUNCATED : WIRE_OK;
  }
  get dst(): MacAddr {
    return readMac(this.buf, this.off + field.DST);
  }
  set dst(v: MacAddr) {
    writeMac(this.buf, this.off + field.DST, v);
  }
  get src(): MacAddr {
    return readMac(this.buf, this.off + field.SRC);
  }
  set src(v: MacAddr) {
    writeMac(this.buf, this.off + field.SRC, v);
  }
  get ethertype(): number {
    return getU16(this.buf, this.off + field.ETHERTYPE);
  }
  set ethertype(v: number) {
    setU16(this.buf, this.off + field.ETHERTYPE, v);
  }
  /** absolute offset of the payload in buf */
  get payloadOffset(): number {
    return this.off + field.PAYLOAD;
  }
  get payloadLength(): number {
    return this.len - field.PAYLOAD;
  }
}

/** parsed meaning of an Ethernet header */
export class EthernetRepr {
  src: MacAddr = 0;
  dst: MacAddr = 0;
  ethertype = 0;

  static readonly headerLen = ETH_HLEN;

  parse(f: EthernetFrame): number {
    const e = f.check();
    if (e !== WIRE_OK) return e;
    this.src = f.src;
    this.dst = f.dst;
    this.ethertype = f.ethertype;
    return WIRE_OK;
  }

  /** write into a view of at least ETH_HLEN bytes */
  emit(f: EthernetFrame): void {
    f.dst = this.dst;
    f.src = this.src;
    f.ethertype = this.ethertype;
  }
}

/** write an Ethernet header at buf[off] (the hot-path form of EthernetRepr.emit) */
export function eth_header(buf: Uint8Array, off: number, dst: MacAddr, src: MacAddr, type: number): void {
  writeMac(buf, off + field.DST, dst);
  writeMac(buf, off + field.SRC, src);
  setU16(buf, off + field.ETHERTYPE, type);
}
