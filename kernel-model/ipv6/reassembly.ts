// IPv6 fragment reassembly (net/ipv6/reassembly.c ip6_frag_queue / ip6_frag_reasm / ip6_frag_expire,
// net/ipv4/inet_fragment.c inet_frag_queue_insert). A queue per (source, destination, identification),
// its fragments copied out of the receive buffer and kept sorted by offset. Linux's rules:
// - a fragment whose end passes 65535 → Parameter Problem at the Fragment Offset field (InHdrErrors);
//   a non-last fragment whose length is not a multiple of 8 → Parameter Problem at Payload Length;
// - a last fragment that contradicts the known end, or data past a known end → the whole queue dies;
// - RFC 5722: any overlap kills the whole datagram (ReasmFails); a fragment lying wholly inside data
//   already held is a duplicate and only itself is dropped (IPFRAG_DUP);
// - memory: every queued fragment is charged its truesize; above ip6frag_high_thresh (4 MB) no fragment
//   is accepted (inet_frag_find returns NULL → ReasmFails) until queues complete or expire;
// - ip6frag_time (60 s) after the queue's creation it expires: ReasmTimeout + ReasmFails, and Time
//   Exceeded (fragment reassembly time exceeded) to the source if the first fragment had arrived;
// - a reassembled payload larger than 65535 is dropped (ReasmFails).
import type { Subscription } from 'rxjs';
import { kfree_skb, PACKET_HOST, type Skb } from '../core/skb';
import { getU16, getU32, setU16 } from '../wire/bytes';
import { ETH_P_IPV6 } from '../wire/ethernet';
import { ICMPV6_EXC_FRAGTIME, ICMPV6_HDR_FIELD, ICMPV6_PARAMPROB, ICMPV6_TIME_EXCEED } from '../wire/icmpv6';
import { formatIpv6, IP6_MF, IP6_OFFSET, IPV6_HLEN } from '../wire/ipv6';
import { icmp6_send } from './icmp';
import type { Inet6Dev } from './inet6_dev';

/** net.ipv6.ip6frag_time (s), ip6frag_high_thresh / low_thresh (bytes) */
export const IP6_FRAG_TIMEOUT_MS = 60_000;
export const IP6_FRAG_HIGH_THRESH = 4 * 1024 * 1024;
export const IP6_FRAG_LOW_THRESH = 3 * 1024 * 1024;
export const IPV6_MAXPLEN = 65535;
/** what a queued fragment costs besides its bytes (sk_buff + shared info, as skb->truesize counts) */
const FRAG_TRUESIZE_OVERHEAD = 256;

interface Frag {
  offset: number;
  end: number;
  data: Uint8Array;
}

class FragQueue {
  readonly frags: Frag[] = [];
  /** the datagram's length once the last fragment is in (q.len), else the largest end seen */
  len = 0;
  lastIn = false;
  firstIn = false;
  /** bytes received (q.meat) and charged memory */
  meat = 0;
  mem = 0;
  /** the first fragment's headers: fixed header + unfragmentable part (+ the fragment header) */
  head: Uint8Array | null = null;
  /** offset in head of the fragment header, and of the byte that named it */
  fragHdrOff = 0;
  nhoff = 0;
  /** the first fragment's whole packet, kept for the Time Exceeded quote (≤ 1232 bytes) */
  quote: Uint8Array | null = null;
  timer: Subscription | null = null;
  dead = false;
  constructor(
    readonly key: string,
    readonly idev: Inet6Dev,
  ) {}
}

export interface Frag6Stats {
  /** queues that ended with an overlap (IPSTATS_MIB_REASM_OVERLAPS) */
  overlaps: number;
  /** duplicates dropped alone */
  duplicates: number;
  /** fragments refused because memory was above the high threshold */
  memLimit: number;
  /** reassembled datagrams that would exceed 65535 bytes of payload */
  oversize: number;
}

/** the namespace's fragment queues (struct fqdir for IPv6) */
export class Frag6Dir {
  readonly queues = new Map<string, FragQueue>();
  mem = 0;
  readonly stats: Frag6Stats = { overlaps: 0, duplicates: 0, memLimit: 0, oversize: 0 };
  constructor(
    public high_thresh = IP6_FRAG_HIGH_THRESH,
    public timeoutMs = IP6_FRAG_TIMEOUT_MS,
  ) {}
  get count(): number {
    return this.queues.size;
  }
  /** drop every queue (namespace teardown) */
  flush(): void {
    for (const q of this.queues.values()) this.kill(q);
  }
  kill(q: FragQueue): void {
    if (q.dead) return;
    q.dead = true;
    q.timer?.unsubscribe();
    q.timer = null;
    this.mem -= q.mem;
    q.mem = 0;
    q.frags.length = 0;
    if (this.queues.get(q.key) === q) this.queues.delete(q.key);
  }
}

const frag6dirs = new WeakMap<object, Frag6Dir>();

/** the namespace's Frag6Dir (created on first use) */
export function frag6dir(idev: Inet6Dev): Frag6Dir {
  let d = frag6dirs.get(idev.net);
  if (d === undefined) {
    d = new Frag6Dir();
    frag6dirs.set(idev.net, d);
  }
  return d;
}

/** the deliver step after reassembly: ip6_input_finish from `start`, `nhoff` naming its header */
export type Ip6Resume = (idev: Inet6Dev, skb: Skb, start: number, nhoff: number) => number;

/**
 * ipv6_frag_rcv's queueing half for a real fragment (not atomic): skb.network_header at the IPv6
 * header, `fh` the fragment header's offset, `nhoff` the byte that named it. Always consumes the
 * fragment (returns -1); on completion the reassembled datagram is delivered through `resume`.
 */
export function ip6_frag_queue(idev: Inet6Dev, skb: Skb, fh: number, nhoff: number, resume: Ip6Resume): number {
  const net = idev.net;
  const mib = net.mib.Ip6;
  const dir = frag6dir(idev);
  const b = skb.buf;
  const nh = skb.network_header;
  const fo = getU16(b, fh + 2);
  const offset = fo & IP6_OFFSET;
  const plen = getU16(b, nh + 4);
  const end = offset + plen - (fh + 8 - (nh + IPV6_HLEN));
  const pktEnd = nh + IPV6_HLEN + plen;
  if (end > IPV6_MAXPLEN) {
    mib.InHdrErrors++;
    net.logBad(`ipv6: fragment from ${formatIpv6(b, nh + 8)} ends at ${end} > 65535; dropped`);
    icmp6_send(idev, skb, ICMPV6_PARAMPROB, ICMPV6_HDR_FIELD, fh + 2 - nh);
    return -1;
  }
  if (fo & IP6_MF && end & 7) {
    // RFC 8200 §4.5: a non-last fragment is a multiple of 8 bytes long
    mib.InHdrErrors++;
    icmp6_send(idev, skb, ICMPV6_PARAMPROB, ICMPV6_HDR_FIELD, 4);
    return -1;
  }
  // fq_find: (saddr, daddr, id); link-local peers are also keyed by interface
  if (dir.mem > dir.high_thresh) {
    dir.stats.memLimit++;
    mib.ReasmFails++;
    return -1;
  }
  let key = String.fromCharCode(idev.dev.ifindex);
  for (let i = 8; i < 40; i += 2) key += String.fromCharCode(getU16(b, nh + i));
  key += String.fromCharCode(getU16(b, fh + 4), getU16(b, fh + 6));
  let q = dir.queues.get(key);
  if (q === undefined) {
    const nq = new FragQueue(key, idev);
    q = nq;
    dir.queues.set(key, nq);
    nq.timer = net.scheduler.schedule(() => ip6_frag_expire(dir, nq), dir.timeoutMs);
  }
  if (!(fo & IP6_MF)) {
    if (end < q.len || (q.lastIn && end !== q.len)) return discard(dir, q);
    q.lastIn = true;
    q.len = end;
  } else if (end > q.len) {
    if (q.lastIn) return discard(dir, q);
    q.len = end;
  }
  if (end === offset) return discard(dir, q);
  // inet_frag_queue_insert: sorted by offset; a duplicate inside held data is dropped alone
  const fr = q.frags;
  let i = fr.length;
  while (i > 0 && fr[i - 1].offset >= offset) i--;
  const prev = i > 0 ? fr[i - 1] : null;
  const next = i < fr.length ? fr[i] : null;
  if (prev !== null && offset < prev.end) {
    if (end <= prev.end) {
      dir.stats.duplicates++;
      return -1;
    }
    dir.stats.overlaps++;
    return discard(dir, q);
  }
  if (next !== null && end > next.offset) {
    if (offset === next.offset && end <= next.end) {
      dir.stats.duplicates++;
      return -1;
    }
    dir.stats.overlaps++;
    return discard(dir, q);
  }
  const data = b.slice(fh + 8, pktEnd);
  fr.splice(i, 0, { offset, end, data });
  if (offset === 0) {
    q.firstIn = true;
    q.head = b.slice(nh, fh + 8);
    q.fragHdrOff = fh - nh;
    q.nhoff = nhoff - nh;
    q.quote = b.slice(nh, Math.min(pktEnd, nh + 1232));
  }
  q.meat += end - offset;
  const truesize = data.length + FRAG_TRUESIZE_OVERHEAD;
  q.mem += truesize;
  dir.mem += truesize;
  if (q.firstIn && q.lastIn && q.meat === q.len) return ip6_frag_reasm(dir, q, skb, resume);
  return -1;
}

function discard(dir: Frag6Dir, q: FragQueue): number {
  dir.kill(q);
  q.idev.net.mib.Ip6.ReasmFails++;
  return -1;
}

/** ip6_frag_reasm: one skb with the first fragment's headers (fragment header removed) and all data */
function ip6_frag_reasm(dir: Frag6Dir, q: FragQueue, last: Skb, resume: Ip6Resume): number {
  const idev = q.idev;
  const net = idev.net;
  const mib = net.mib.Ip6;
  const head = q.head!;
  const unfrag = q.fragHdrOff; // fixed header + unfragmentable headers
  const payload_len = unfrag - IPV6_HLEN + q.len;
  const frags = q.frags.slice();
  dir.kill(q);
  if (payload_len > IPV6_MAXPLEN) {
    dir.stats.oversize++;
    mib.ReasmFails++;
    net.logBad(`ip6_frag_reasm: payload len = ${payload_len}; dropped`);
    return -1;
  }
  const skb = net.stack.alloc_skb(IPV6_HLEN + payload_len);
  if (skb === null) {
    mib.ReasmFails++;
    return -1;
  }
  const o = skb.put(unfrag + q.len);
  const b = skb.buf;
  b.set(head.subarray(0, unfrag), o);
  // the header that named the fragment header now names what followed it
  b[o + q.nhoff] = head[unfrag];
  setU16(b, o + 4, payload_len);
  for (const f of frags) b.set(f.data, o + unfrag + f.offset);
  return deliver(idev, skb, last, o, unfrag, q.nhoff, resume);
}

function deliver(idev: Inet6Dev, skb: Skb, last: Skb, o: number, unfrag: number, nhoff: number, resume: Ip6Resume): number {
  skb.network_header = o;
  skb.transport_header = o + unfrag;
  skb.protocol = ETH_P_IPV6;
  skb.pkt_type = last.pkt_type;
  skb.dev = last.dev;
  skb.skb_iif = last.skb_iif;
  skb.tstamp = last.tstamp;
  idev.net.mib.Ip6.ReasmOKs++;
  try {
    resume(idev, skb, o + unfrag, o + nhoff);
  } finally {
    kfree_skb(skb);
  }
  return -1;
}

/** ip6_frag_expire: the queue's time is up */
function ip6_frag_expire(dir: Frag6Dir, q: FragQueue): void {
  q.timer = null;
  if (q.dead) return;
  const idev = q.idev;
  const mib = idev.net.mib.Ip6;
  const quote = q.firstIn ? q.quote : null;
  dir.kill(q);
  mib.ReasmFails++;
  mib.ReasmTimeout++;
  if (quote === null) return;
  // icmpv6_send(head, ICMPV6_TIME_EXCEED, ICMPV6_EXC_FRAGTIME): quote the first fragment
  const skb = idev.net.stack.alloc_skb(quote.length);
  if (skb === null) return;
  const o = skb.put(quote.length);
  skb.buf.set(quote, o);
  skb.network_header = o;
  skb.pkt_type = PACKET_HOST;
  skb.dev = idev.dev;
  icmp6_send(idev, skb, ICMPV6_TIME_EXCEED, ICMPV6_EXC_FRAGTIME, 0);
  kfree_skb(skb);
}

/** the fragment header's identification (for tests and logs) */
export function frag_id(b: Uint8Array, fh: number): number {
  return getU32(b, fh + 4);
}
