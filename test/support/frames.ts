// Hand-built frames for tests (independent of the model's own wire code, so tests check it, not echo it).
export const GUEST_MAC = Uint8Array.of(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);
export const GATEWAY_MAC = Uint8Array.of(0x52, 0x55, 0x0a, 0x00, 0x02, 0x02);

export function ip(text: string): Uint8Array {
  return Uint8Array.from(text.split('.').map(Number));
}

/** RFC 1071 checksum, written the slow obvious way */
export function inetChecksum(b: Uint8Array, off = 0, len = b.length - off): number {
  let sum = 0;
  for (let i = 0; i < len; i += 2) sum += (b[off + i] << 8) | (i + 1 < len ? b[off + i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function arpRequest(senderMac: Uint8Array, senderIp: string, targetIp: string): Uint8Array {
  const f = new Uint8Array(42);
  f.fill(0xff, 0, 6);
  f.set(senderMac, 6);
  f.set([0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1], 12);
  f.set(senderMac, 22);
  f.set(ip(senderIp), 28);
  f.set(ip(targetIp), 38);
  return f;
}

export function icmpEcho(srcMac: Uint8Array, dstMac: Uint8Array, src: string, dst: string, id: number, seq: number, payload: Uint8Array): Uint8Array {
  const ipLen = 20 + 8 + payload.length;
  const f = new Uint8Array(14 + ipLen);
  f.set(dstMac, 0);
  f.set(srcMac, 6);
  f.set([0x08, 0x00], 12);
  const ipo = 14;
  f.set([0x45, 0, ipLen >> 8, ipLen & 0xff, 0x12, 0x34, 0x40, 0, 64, 1, 0, 0], ipo);
  f.set(ip(src), ipo + 12);
  f.set(ip(dst), ipo + 16);
  const hc = inetChecksum(f, ipo, 20);
  f[ipo + 10] = hc >> 8;
  f[ipo + 11] = hc & 0xff;
  const ic = ipo + 20;
  f.set([8, 0, 0, 0, id >> 8, id & 0xff, seq >> 8, seq & 0xff], ic);
  f.set(payload, ic + 8);
  const c = inetChecksum(f, ic, 8 + payload.length);
  f[ic + 2] = c >> 8;
  f[ic + 3] = c & 0xff;
  return f;
}
