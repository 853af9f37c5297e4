// SYN cookies (net/ipv4/syncookies.c, include/net/tcp.h; RFC 4987 §3.6): when a listener's SYN queue
// is full the SYN-ACK's ISN carries the connection's state instead of a request sock, so a SYN flood
// costs no memory. The cookie = hash(4-tuple, secret 0) + peer ISN + (minute counter << 24) +
// ((hash(4-tuple, counter, secret 1) + MSS index) mod 2^24); a returning ACK is valid when its
// ack − 1 decodes to an MSS index < 4 from a counter at most MAX_SYNCOOKIE_AGE minutes old. With
// timestamps on, the low 6 bits of the SYN-ACK's TSval (before the per-connection offset) carry the
// SYN's window scale, SACK and ECN (cookie_init_timestamp), recovered from the ACK's TSecr.
// The hash is the model's keyed mix, not Linux's siphash; the layout and rules are Linux 6.1's.
import type { TcpNet } from './tcp_ipv4';

/** the cookie's 24 low bits hold hash + data; the counter sits above them */
export const COOKIEBITS = 24;
const COOKIEMASK = (1 << COOKIEBITS) - 1;
/** a cookie is good for this many counter periods (tcp.h) */
export const MAX_SYNCOOKIE_AGE = 2;
/** the counter ticks once a minute (TCP_SYNCOOKIE_PERIOD = 60 × HZ) */
export const TCP_SYNCOOKIE_PERIOD_MS = 60_000;
/** TCP_SYNCOOKIE_VALID: how long after the last overflow ACKs are checked as cookies */
export const TCP_SYNCOOKIE_VALID_MS = MAX_SYNCOOKIE_AGE * TCP_SYNCOOKIE_PERIOD_MS;

/** MSS values a cookie can encode, sorted (Alcock & Nelson 2011, as syncookies.c msstab) */
export const msstab: readonly number[] = Object.freeze([536, 1300, 1440, 1460]);

// cookie_init_timestamp's low TSval bits
export const TS_OPT_WSCALE_MASK = 0xf;
export const TS_OPT_SACK = 1 << 4;
export const TS_OPT_ECN = 1 << 5;
export const TSBITS = 6;

/** a 4-word keyed mix standing in for siphash_4u32 (a model: unpredictable enough, not cryptographic) */
function hash4(a: number, b: number, c: number, d: number, k: Uint32Array, o: number): number {
  let h = Math.imul(a ^ k[o], 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ b ^ k[o + 1], 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h ^ c ^ k[o + 2], 0x27d4eb2f);
  h ^= h >>> 15;
  h = Math.imul(h ^ d ^ k[o + 3], 0x9e3779b1);
  h ^= h >>> 16;
  return h >>> 0;
}

/** the namespace's cookie secrets (syncookie_secret[2], drawn once) */
export class SynCookieSecret {
  readonly k = new Uint32Array(8);
  constructor(random: () => number) {
    for (let i = 0; i < 8; i++) this.k[i] = Math.floor(random() * 0x1_0000_0000) >>> 0;
  }
}

/** cookie_hash */
function cookie_hash(s: SynCookieSecret, saddr: number, daddr: number, sport: number, dport: number, count: number, c: number): number {
  return hash4(saddr, daddr, ((sport << 16) | dport) >>> 0, count >>> 0, s.k, c * 4);
}

/** tcp_cookie_time: the minute counter (jiffies / TCP_SYNCOOKIE_PERIOD) */
export function tcp_cookie_time(tn: TcpNet): number {
  return Math.floor(tn.scheduler.now() / TCP_SYNCOOKIE_PERIOD_MS) >>> 0;
}

/** secure_tcp_syn_cookie */
function secure_tcp_syn_cookie(tn: TcpNet, saddr: number, daddr: number, sport: number, dport: number, sseq: number, data: number): number {
  const s = tn.cookieSecret;
  const count = tcp_cookie_time(tn);
  return (
    (cookie_hash(s, saddr, daddr, sport, dport, 0, 0) + sseq + ((count << COOKIEBITS) >>> 0) + ((cookie_hash(s, saddr, daddr, sport, dport, count, 1) + data) & COOKIEMASK)) >>>
    0
  );
}

/** check_tcp_syn_cookie: the encoded data, or 0xffffffff when the counter is too old */
function check_tcp_syn_cookie(tn: TcpNet, cookie: number, saddr: number, daddr: number, sport: number, dport: number, sseq: number): number {
  const s = tn.cookieSecret;
  const count = tcp_cookie_time(tn);
  cookie = (cookie - (cookie_hash(s, saddr, daddr, sport, dport, 0, 0) + sseq)) >>> 0;
  const diff = (count - (cookie >>> COOKIEBITS)) & (0xffffffff >>> COOKIEBITS);
  if (diff >= MAX_SYNCOOKIE_AGE) return 0xffffffff;
  return ((cookie - cookie_hash(s, saddr, daddr, sport, dport, (count - diff) >>> 0, 1)) & COOKIEMASK) >>> 0;
}

/**
 * __cookie_v4_init_sequence for a SYN saddr:sport → daddr:dport with sequence `seq` and MSS clamp
 * `mss`: the cookie ISN; cookieMss receives the MSS it encodes (the largest msstab entry ≤ mss, 536 at least)
 */
export function cookie_v4_init_sequence(tn: TcpNet, saddr: number, daddr: number, sport: number, dport: number, seq: number, mss: number): number {
  let mssind = msstab.length - 1;
  for (; mssind > 0; mssind--) if (mss >= msstab[mssind]) break;
  cookieMss = msstab[mssind];
  return secure_tcp_syn_cookie(tn, saddr, daddr, sport, dport, seq, mssind);
}
/** the MSS the last cookie_v4_init_sequence encoded */
export let cookieMss = 0;

/**
 * __cookie_v4_check: `seq` and `ack` are the returning ACK's; the MSS the cookie encodes, or 0 when it
 * is not one of ours (or too old)
 */
export function cookie_v4_check_mss(tn: TcpNet, saddr: number, daddr: number, sport: number, dport: number, seq: number, ack: number): number {
  const mssind = check_tcp_syn_cookie(tn, (ack - 1) >>> 0, saddr, daddr, sport, dport, (seq - 1) >>> 0);
  return mssind < msstab.length ? msstab[mssind] : 0;
}

/**
 * cookie_init_timestamp: the SYN-ACK's TSval clock value (before ts_offset) — the ms clock with its
 * low 6 bits replaced by the SYN's options, never ahead of the clock
 */
export function cookie_init_timestamp(ts_now: number, wscale_ok: boolean, snd_wscale: number, sack_ok: boolean, ecn_ok: boolean): number {
  let options = wscale_ok ? snd_wscale & TS_OPT_WSCALE_MASK : TS_OPT_WSCALE_MASK;
  if (sack_ok) options |= TS_OPT_SACK;
  if (ecn_ok) options |= TS_OPT_ECN;
  let ts = ((ts_now >>> TSBITS) << TSBITS) | options;
  ts >>>= 0;
  if (ts > ts_now >>> 0) ts = (ts - (1 << TSBITS)) >>> 0;
  return ts;
}

/** what cookie_timestamp_decode recovers from the ACK's TSecr (offset removed) */
export class CookieOptions {
  tstamp_ok = false;
  sack_ok = false;
  wscale_ok = false;
  snd_wscale = 0;
}

/**
 * cookie_timestamp_decode: false when the options the cookie claims are switched off here. Without a
 * timestamp the connection gets no options at all (tcp_clear_options), as the cookie SYN-ACK offered none.
 */
export function cookie_timestamp_decode(tn: TcpNet, saw_tstamp: boolean, tsecr: number, out: CookieOptions): boolean {
  out.tstamp_ok = false;
  out.sack_ok = false;
  out.wscale_ok = false;
  out.snd_wscale = 0;
  if (!saw_tstamp) return true;
  const sc = tn.sysctl;
  if (!sc.tcp_timestamps) return false;
  out.tstamp_ok = true;
  out.sack_ok = (tsecr & TS_OPT_SACK) !== 0;
  if (out.sack_ok && !sc.tcp_sack) return false;
  if ((tsecr & TS_OPT_WSCALE_MASK) === TS_OPT_WSCALE_MASK) return true;
  out.wscale_ok = true;
  out.snd_wscale = tsecr & TS_OPT_WSCALE_MASK;
  return sc.tcp_window_scaling;
}
