// Fragment builders and parsers for the reassembly/fragmentation tests, written without the model's
// wire code: a datagram's transport bytes are cut into IPv4 fragments with correct header checksums
// (transport checksums are computed once over the whole datagram, as a real sender does).
import { GUEST_MAC, MODEL_MAC, arpFrame, ip4, mac, slowChecksum, u16, type TestLink } from './ipv4-link';

export interface FragOpts {
  src?: string;
  dst?: string;
  proto: number;
  id: number;
  tos?: number;
  ttl?: number;
  /** DF bit on every fragment */
  df?: boolean;
  dstMac?: string;
}

/** one IPv4 fragment frame: `piece` at byte `offset` of the datagram's payload, MF as given */
export function fragFrame(o: FragOpts, offset: number, piece: ArrayLike<number>, mf: boolean, options: number[] = []): Uint8Array {
  const hlen = 20 + options.length;
  const tot = hlen + piece.length;
  const f = new Uint8Array(14 + tot);
  f.set(mac(o.dstMac ?? MODEL_MAC), 0);
  f.set(mac(GUEST_MAC), 6);
  f[12] = 0x08;
  f[13] = 0x00;
  const fo = (offset >> 3) | (mf ? 0x2000 : 0) | (o.df ? 0x4000 : 0);
  f.set([0x40 | (hlen >> 2), o.tos ?? 0, tot >> 8, tot & 255, o.id >> 8, o.id & 255, fo >> 8, fo & 255, o.ttl ?? 64, o.proto, 0, 0], 14);
  f.set(ip4(o.src ?? '10.0.2.15'), 26);
  f.set(ip4(o.dst ?? '10.0.2.2'), 30);
  f.set(options, 34);
  f.set(Array.from(piece), 14 + hlen);
  const c = slowChecksum([f.subarray(14, 14 + hlen)]);
  f[24] = c >> 8;
  f[25] = c & 255;
  return f;
}

/** cut `payload` into fragments carrying `chunk` bytes each (a multiple of 8 except the last) */
export function fragment(o: FragOpts, payload: Uint8Array, chunk: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < payload.length; off += chunk) {
    const end = Math.min(off + chunk, payload.length);
    out.push(fragFrame(o, off, payload.subarray(off, end), end < payload.length));
  }
  return out;
}

/** an ICMP echo request message (header + data) with its checksum */
export function echoMessage(id: number, seq: number, data: Uint8Array): Uint8Array {
  const m = new Uint8Array(8 + data.length);
  m.set([8, 0, 0, 0, id >> 8, id & 255, seq >> 8, seq & 255]);
  m.set(data, 8);
  const c = slowChecksum([m]);
  m[2] = c >> 8;
  m[3] = c & 255;
  return m;
}

/** a UDP datagram (header + data) with its checksum over the pseudo-header */
export function udpMessage(src: string, dst: string, sport: number, dport: number, data: Uint8Array): Uint8Array {
  const l = 8 + data.length;
  const m = new Uint8Array(l);
  m.set([sport >> 8, sport & 255, dport >> 8, dport & 255, l >> 8, l & 255, 0, 0]);
  m.set(data, 8);
  let c = slowChecksum([[...ip4(src), ...ip4(dst), 0, 17, l >> 8, l & 255], m]);
  if (c === 0) c = 0xffff;
  m[6] = c >> 8;
  m[7] = c & 255;
  return m;
}

/** deterministic pseudo-random bytes */
export function pattern(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

export interface ParsedFrag {
  id: number;
  offset: number;
  mf: boolean;
  df: boolean;
  tot: number;
  hlen: number;
  proto: number;
  headerOk: boolean;
  payload: Uint8Array;
}

export function parseFrag(f: Uint8Array): ParsedFrag {
  const hlen = (f[14] & 15) * 4;
  const tot = u16(f, 16);
  const fo = u16(f, 20);
  return {
    id: u16(f, 18),
    offset: (fo & 0x1fff) * 8,
    mf: (fo & 0x2000) !== 0,
    df: (fo & 0x4000) !== 0,
    tot,
    hlen,
    proto: f[23],
    headerOk: slowChecksum([f.subarray(14, 14 + hlen)]) === 0,
    payload: f.slice(14 + hlen, 14 + tot),
  };
}

/** glue parsed fragments of one datagram (any order) into its payload; null when incomplete */
export function glue(frags: ParsedFrag[]): Uint8Array | null {
  const sorted = [...frags].sort((a, b) => a.offset - b.offset);
  const last = sorted[sorted.length - 1];
  if (last === undefined || last.mf) return null;
  const out = new Uint8Array(last.offset + last.payload.length);
  let at = 0;
  for (const p of sorted) {
    if (p.offset !== at) return null;
    out.set(p.payload, p.offset);
    at += p.payload.length;
  }
  return out;
}

/** a link whose model already knows the guest's MAC */
export function learnedLink(link: TestLink): TestLink {
  link.inject(arpFrame({ op: 1, spa: '10.0.2.15', tpa: '10.0.2.2' }));
  link.take();
  return link;
}

/** Fisher-Yates with a seeded PRNG */
export function shuffle<T>(a: T[], random: () => number): T[] {
  const b = [...a];
  for (let i = b.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [b[i], b[j]] = [b[j], b[i]];
  }
  return b;
}
