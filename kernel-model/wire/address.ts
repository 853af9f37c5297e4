// Link and IPv4 addresses as plain numbers: a MAC is a 48-bit integer (exact in a double), an IPv4
// address an unsigned 32-bit integer. Numbers compare with === and cost no allocation per packet.
import { getU16, getU32, setU16, setU32 } from './bytes';

export type MacAddr = number;
export type Ipv4Addr = number;

const TWO32 = 0x100000000;
export const MAC_BROADCAST: MacAddr = 0xffffffffffff;
export const MAC_ZERO: MacAddr = 0;

export function readMac(b: Uint8Array, o: number): MacAddr {
  return getU16(b, o) * TWO32 + getU32(b, o + 2);
}

export function writeMac(b: Uint8Array, o: number, mac: MacAddr): void {
  setU16(b, o, Math.floor(mac / TWO32));
  setU32(b, o + 2, mac % TWO32);
}

export function macFromBytes(bytes: Uint8Array): MacAddr {
  return bytes.length >= 6 ? readMac(bytes, 0) : MAC_ZERO;
}

export function macToBytes(mac: MacAddr): Uint8Array {
  const b = new Uint8Array(6);
  writeMac(b, 0, mac);
  return b;
}

/** group bit (include/linux/etherdevice.h is_multicast_ether_addr); broadcast is a multicast */
export function isMulticastMac(mac: MacAddr): boolean {
  return (Math.floor(mac / 0x10000000000) & 1) === 1;
}

/** is_valid_ether_addr: not multicast, not zero */
export function isValidUnicastMac(mac: MacAddr): boolean {
  return mac !== MAC_ZERO && !isMulticastMac(mac);
}

export function formatMac(mac: MacAddr): string {
  const b = macToBytes(mac);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
}

/** "52:55:0a:00:02:02" → MacAddr, or -1 when malformed */
export function parseMac(s: string): number {
  const m = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i.exec(s);
  if (!m) return -1;
  let v = 0;
  for (let i = 1; i <= 6; i++) v = v * 256 + parseInt(m[i], 16);
  return v;
}

export const IPV4_ANY: Ipv4Addr = 0;
export const IPV4_BROADCAST: Ipv4Addr = 0xffffffff;

export function readIpv4(b: Uint8Array, o: number): Ipv4Addr {
  return getU32(b, o);
}

export function writeIpv4(b: Uint8Array, o: number, a: Ipv4Addr): void {
  setU32(b, o, a);
}

export function formatIpv4(a: Ipv4Addr): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** dotted quad → Ipv4Addr, or -1 when malformed */
export function parseIpv4(s: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s.trim());
  if (!m) return -1;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const n = Number(m[i]);
    if (n > 255) return -1;
    v = v * 256 + n;
  }
  return v;
}

// include/linux/in.h predicates
export function ipv4IsMulticast(a: Ipv4Addr): boolean {
  return a >>> 28 === 0xe;
}
export function ipv4IsLoopback(a: Ipv4Addr): boolean {
  return a >>> 24 === 127;
}
export function ipv4IsZeronet(a: Ipv4Addr): boolean {
  return a >>> 24 === 0;
}
export function ipv4IsLbcast(a: Ipv4Addr): boolean {
  return a === IPV4_BROADCAST;
}

/** prefix length → netmask (0..32) */
export function ipv4Netmask(prefixLen: number): Ipv4Addr {
  return prefixLen <= 0 ? 0 : (0xffffffff << (32 - Math.min(prefixLen, 32))) >>> 0;
}

/** ip_eth_mc_map (include/net/ip.h): 01:00:5e + low 23 bits of the group */
export function ipv4MulticastMac(a: Ipv4Addr): MacAddr {
  return 0x01005e000000 + (a & 0x7fffff);
}
