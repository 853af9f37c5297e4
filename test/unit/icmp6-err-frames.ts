// Test-side builders for ICMPv6 errors about frames a model sent, and a two-model IPv6 TCP rig (the
// TcpPair of tcp-pair.ts with IPv6 on both ends: a answers as fec0::2, b is the guest). Written
// independently of kernel-model/wire: the checksum comes from l4csum6 over a hand-built pseudo-header.
import { attachInet6, type Inet6 } from '../../kernel-model/inet6';
import { defaultInet6Config } from '../../kernel-model/ipv6/config';
import type { TcpSock } from '../../kernel-model/tcp/sock';
import { tcp_v6_init, type Tcp6Net } from '../../kernel-model/tcp/tcp_ipv6';
import { parseIpv6 } from '../../kernel-model/wire/ipv6';
import { seeded } from './ipv4-link';
import { GUEST_GLOBAL, l4csum6 } from './ipv6-link';
import { TcpPair, type Host } from './tcp-pair';

export const ICMP6_DEST_UNREACH = 1;
export const ICMP6_PKT_TOOBIG = 2;
export const ICMP6_TIME_EXCEED = 3;
export const ICMP6_PARAMPROB = 4;
export const NOROUTE = 0;
export const ADM_PROHIBITED = 1;
export const ADDR_UNREACH = 3;
export const PORT_UNREACH = 4;

export interface V6Pair {
  pair: TcpPair;
  a6: Inet6;
  b6: Inet6;
  t6a: Tcp6Net;
  t6b: Tcp6Net;
}

export function v6Pair(): V6Pair {
  const pair = new TcpPair();
  const a6 = attachInet6(pair.a.stack, pair.a.dev, defaultInet6Config(), { random: seeded(5) });
  const b6 = attachInet6(pair.b.stack, pair.b.dev, defaultInet6Config({ gateway: parseIpv6(GUEST_GLOBAL)!, dns: parseIpv6('fec0::99')! }), { random: seeded(6) });
  const t6a = tcp_v6_init(pair.a.tcp, a6.net);
  const t6b = tcp_v6_init(pair.b.tcp, b6.net);
  pair.advance(10);
  return { pair, a6, b6, t6a, t6b };
}

/** an IPv6 TCP frame (Ethernet type 86dd, next header 6) */
export function isTcp6(f: Uint8Array): boolean {
  return f[12] === 0x86 && f[13] === 0xdd && f[20] === 6;
}

/** TCP fields of an IPv6 frame without extension headers */
export function tcp6Of(f: Uint8Array): { seq: number; flags: number; len: number } {
  const t = 54;
  const seq = ((f[t + 4] << 24) | (f[t + 5] << 16) | (f[t + 6] << 8) | f[t + 7]) >>> 0;
  const plen = (f[18] << 8) | f[19];
  return { seq, flags: f[t + 13], len: plen - ((f[t + 12] >> 4) * 4) };
}

/** b (the guest) connects over IPv6 to a's fec0::2:port, which accepts it; both ESTABLISHED */
export function established6(r: V6Pair, port = 8080): { a: TcpSock; b: TcpSock; got: Uint8Array[] } {
  let a: TcpSock | null = null;
  const got: Uint8Array[] = [];
  r.t6a.setForwarder((req) => {
    a = req.accept();
    if (a !== null) a.onData = (buf, off, len) => got.push(buf.slice(off, off + len));
  });
  const b = r.t6b.connect(r.b6.idev, parseIpv6('fec0::2')!, 0, port)!;
  r.pair.runUntil(() => a !== null && b.stateName === 'ESTABLISHED' && (a as TcpSock).stateName === 'ESTABLISHED', 2000, 1);
  r.pair.advance(50);
  return { a: a as unknown as TcpSock, b, got };
}

/**
 * An ICMPv6 error about `orig` (an Ethernet frame the receiving host sent): from orig's destination
 * back to its source, quoting up to `quoteLen` bytes of orig's IPv6 packet (patched by `patch`), or
 * exactly `quote` when given.
 */
export function icmp6About(
  orig: Uint8Array,
  type: number,
  code: number,
  info = 0,
  o: { quoteLen?: number; patch?: (q: Uint8Array) => void; quote?: Uint8Array } = {},
): Uint8Array {
  let quote = o.quote;
  if (quote === undefined) {
    const ipLen = 40 + ((orig[18] << 8) | orig[19]);
    quote = orig.slice(14, 14 + Math.min(ipLen, o.quoteLen ?? 1280 - 48));
    if (o.patch) o.patch(quote);
  }
  const msg = new Uint8Array(8 + quote.length);
  msg[0] = type;
  msg[1] = code;
  msg[4] = info >>> 24;
  msg[5] = (info >>> 16) & 255;
  msg[6] = (info >>> 8) & 255;
  msg[7] = info & 255;
  msg.set(quote, 8);
  const src = orig.subarray(38, 54);
  const dst = orig.subarray(22, 38);
  const c = l4csum6(src, dst, 58, msg);
  msg[2] = c >> 8;
  msg[3] = c & 255;
  const f = new Uint8Array(54 + msg.length);
  f.set(orig.subarray(6, 12), 0);
  f.set(orig.subarray(0, 6), 6);
  f[12] = 0x86;
  f[13] = 0xdd;
  f[14] = 0x60;
  f[18] = msg.length >> 8;
  f[19] = msg.length & 255;
  f[20] = 58;
  f[21] = 64;
  f.set(src, 22);
  f.set(dst, 38);
  f.set(msg, 54);
  return f;
}

/** write a 32-bit big-endian value */
export function put32(q: Uint8Array, o: number, v: number): void {
  q[o] = v >>> 24;
  q[o + 1] = (v >>> 16) & 255;
  q[o + 2] = (v >>> 8) & 255;
  q[o + 3] = v & 255;
}

/** drop every IPv6 TCP frame `h` sends for which `drop` says so */
export function dropTcp6(h: Host, drop: (f: Uint8Array) => boolean): void {
  h.outFilter = (f) => !(isTcp6(f) && drop(f));
}
