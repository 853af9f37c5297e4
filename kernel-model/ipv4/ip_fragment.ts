// IPv4 fragment reassembly (net/ipv4/ip_fragment.c ip_defrag/ip_frag_queue/ip_frag_reasm/ip_expire and
// net/ipv4/inet_fragment.c inet_frag_find/inet_frag_queue_insert), Linux 6.1 rules:
// - queues keyed by (saddr, daddr, id, protocol); each lives ipfrag_time (30 s) from creation — the
//   timer is not pushed back by later fragments; expiry counts ReasmFails + ReasmTimeout and, if the
//   first fragment was seen, sends ICMP time exceeded / fragment reassembly time exceeded;
// - memory: every queue costs sizeof(struct ipq) and every fragment its truesize; while the total is
//   above ipfrag_high_thresh (4 MB) inet_frag_find refuses every fragment (ReasmFails). There is no
//   evictor since 4.17 ("inet: frags: use rhashtables for reassembly units"); ipfrag_low_thresh is an
//   unused sysctl (Documentation/networking/ip-sysctl.rst: "Obsolete since linux-4.17");
// - RFC 5722 (errata 3089) for IPv4 too: a fragment overlapping what is queued discards the whole
//   datagram (ReasmOverlaps + ReasmFails); an exact duplicate (inside one run) is dropped alone;
// - ipfrag_max_dist (64): when more than 64 fragments from the same source arrived between two
//   fragments of a queue, the queue restarts empty (ReasmFails);
// - a reassembled datagram longer than 65535 bytes is dropped (ReasmFails, "Oversized IP packet").
// Fragments are copied out of the receive buffer (guest memory is only valid during its batch) into
// arrays of their own (copyOf, never Buffer#slice, which is a view); the
// reassembled datagram is built in one reused 64 KiB buffer and continues through ip_local_deliver.
import type { Subscription } from 'rxjs';
import { CHECKSUM_NONE, PACKET_HOST, Skb } from '../core/skb';
import { icmp_send } from '../icmp/icmp';
import { ICMP_EXC_FRAGTIME } from '../icmp/icmp_err';
import { formatIpv4 } from '../wire/address';
import { copyOf, getU16, getU32, setU16 } from '../wire/bytes';
import { csum_fold, csum_partial } from '../wire/checksum';
import { ETH_P_IP } from '../wire/ethernet';
import { ICMP_TIME_EXCEEDED } from '../wire/icmp';
import { IP_DF, IP_MF, IP_OFFSET } from '../wire/ipv4';
import type { InDevice } from './devinet';
import { ip_route_input } from './ip_input';
import type { NetnsIpv4 } from './netns';

/** sizeof(struct ipq), as the accounting comment in ip_fragment.c ipv4_frags_init_net counts it */
export const IPQ_TRUESIZE = 200;
/** SKB_DATA_ALIGN(sizeof(struct sk_buff)) + SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) on x86_64 */
const SKB_TRUESIZE_OVERHEAD = 256 + 320;
const NET_SKB_PAD = 64;
const SMP_CACHE_BYTES = 64;
/** inet_peer entries kept for ipfrag_max_dist (Linux's inetpeer cache has its own GC) */
const MAX_PEERS = 4096;
const IP_MAX_DATAGRAM = 65535;

// inet_frag_queue.flags (include/net/inet_frag.h)
export const INET_FRAG_FIRST_IN = 1;
export const INET_FRAG_LAST_IN = 2;
export const INET_FRAG_COMPLETE = 4;
// inet_frag_queue_insert results
const IPFRAG_OK = 0;
const IPFRAG_DUP = 1;
const IPFRAG_OVERLAP = 2;

// ip_frag_ecn_table (inet_fragment.c): the OR of 1 << (tos & 3) over the fragments → CE to add, or drop
const IPFRAG_ECN_NOT_ECT = 1;
const IPFRAG_ECN_ECT_1 = 2;
const IPFRAG_ECN_ECT_0 = 4;
const IPFRAG_ECN_CE = 8;
const ECN_DROP = 0xff;
const ip_frag_ecn_table = new Uint8Array(16);
for (let v = 0; v < 16; v++) {
  if (v & IPFRAG_ECN_NOT_ECT && v & (IPFRAG_ECN_CE | IPFRAG_ECN_ECT_0 | IPFRAG_ECN_ECT_1)) ip_frag_ecn_table[v] = ECN_DROP;
  else if (v & IPFRAG_ECN_CE && v & (IPFRAG_ECN_ECT_0 | IPFRAG_ECN_ECT_1)) ip_frag_ecn_table[v] = 3; // INET_ECN_CE
}

/**
 * truesize of a received fragment as the model charges it: a frame copied into a fresh skb,
 * SKB_TRUESIZE(SKB_DATA_ALIGN(NET_SKB_PAD + len)). Always ≥ the bytes the model keeps for it.
 */
export function frag_truesize(frameLen: number): number {
  return ((NET_SKB_PAD + frameLen + SMP_CACHE_BYTES - 1) & ~(SMP_CACHE_BYTES - 1)) + SKB_TRUESIZE_OVERHEAD;
}

/** one queued fragment: its payload [offset, offset + len) and the bytes kept for it */
class IpFrag {
  constructor(
    readonly offset: number,
    readonly len: number,
    /** copy of the frame: for the first fragment from the Ethernet header, else the payload only */
    readonly bytes: Uint8Array,
    /** where the payload starts in `bytes` */
    readonly dataOff: number,
    readonly truesize: number,
  ) {}
}

/** a run of adjacent fragments appended in order (inet_fragment.c "runs": one rb-tree node each) */
class FragRun {
  len: number;
  readonly frags: IpFrag[];
  constructor(readonly offset: number, f: IpFrag) {
    this.len = f.len;
    this.frags = [f];
  }
}

/** inet_peer's rid counter: fragments seen from one source, for ipfrag_max_dist */
interface FragPeer {
  rid: number;
}

/** struct ipq: one datagram being reassembled */
export class Ipq {
  flags = 0;
  /** total payload length once known (q.len) and bytes queued (q.meat) */
  len = 0;
  meat = 0;
  /** runs sorted by offset; the last one holds fragments_tail */
  runs: FragRun[] = [];
  ecn = 0;
  max_size = 0;
  max_df_size = 0;
  /** device of the latest fragment (qp->iif) */
  ind: InDevice | null = null;
  rid = 0;
  peer: FragPeer | null;
  /** the first fragment's Ethernet header length, IP header length and pkt_type (kept with its bytes) */
  headMac = 0;
  headHlen = 0;
  headPktType = PACKET_HOST;
  /** bytes charged to this queue (IPQ_TRUESIZE + fragments' truesize) */
  mem = IPQ_TRUESIZE;
  expires = 0;
  /** expiry list (ordered by expires) and hash chain links */
  prev: Ipq | null = null;
  next: Ipq | null = null;

  constructor(
    readonly saddr: number,
    readonly daddr: number,
    readonly id: number,
    readonly protocol: number,
    readonly hash: number,
    peer: FragPeer | null,
  ) {
    this.peer = peer;
  }

  /** the fragment at offset 0, if queued */
  get head(): IpFrag | null {
    const r = this.runs[0];
    return r !== undefined && r.offset === 0 ? r.frags[0] : null;
  }
}

/** net->ipv4.fqdir: the namespace's reassembly queues, memory accounting and the expiry timer */
export class Ipv4Frags {
  /** frag_mem_limit(): bytes charged to all queues */
  mem = 0;
  /** queues alive */
  nqueues = 0;
  /** highest `mem` ever reached (tests check the bound) */
  memPeak = 0;
  private readonly table = new Map<number, Ipq[]>();
  private oldest: Ipq | null = null;
  private newest: Ipq | null = null;
  private timer: Subscription | null = null;
  private readonly peers = new Map<number, FragPeer>();
  private reasmBuf: Uint8Array | null = null;
  private reasmBusy = false;
  private readonly reasmSkb = new Skb();
  /** an skb view of an expired queue's first fragment, for icmp_send */
  private readonly expireSkb = new Skb();

  constructor(private readonly net: NetnsIpv4) {}

  private get high_thresh(): number {
    return this.net.sysctl.ipfrag_high_thresh;
  }

  /** every queue alive (tests, views) */
  queues(): Ipq[] {
    const out: Ipq[] = [];
    for (let q = this.oldest; q !== null; q = q.next) out.push(q);
    return out;
  }

  /**
   * ip_defrag(net, skb, IP_DEFRAG_LOCAL_DELIVER) for a fragment whose header ip_rcv validated: skb.data
   * and network_header at the IPv4 header, skb.len = tot_len. Returns the reassembled datagram (an skb
   * over the reassembly buffer, valid until the caller returns) or null when the fragment was queued
   * or dropped.
   */
  ip_defrag(ind: InDevice, skb: Skb): Skb | null {
    const net = this.net;
    const mib = net.mib.Ip;
    mib.ReasmReqds++;
    const b = skb.buf;
    const nh = skb.network_header;
    // inet_frag_find: refuse everything while over the high threshold (or when it is 0)
    const high = this.high_thresh;
    if (high === 0 || this.mem > high) {
      mib.ReasmFails++;
      net.logBad(`ip_defrag: ${this.mem} bytes of fragments queued (ipfrag_high_thresh ${high}); fragment from ${formatIpv4(getU32(b, nh + 12))} dropped`);
      return null;
    }
    const q = this.ip_find(getU32(b, nh + 12), getU32(b, nh + 16), getU16(b, nh + 4), b[nh + 9]);
    return this.ip_frag_queue(q, ind, skb);
  }

  /** ip_find → inet_frag_find/inet_frag_create */
  private ip_find(saddr: number, daddr: number, id: number, protocol: number): Ipq {
    let h = Math.imul(saddr ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(daddr, 0xc2b2ae35) ^ ((id << 8) | protocol);
    h = (h ^ (h >>> 15)) | 0;
    const chain = this.table.get(h);
    if (chain !== undefined) {
      for (let i = 0; i < chain.length; i++) {
        const q = chain[i];
        if (q.saddr === saddr && q.daddr === daddr && q.id === id && q.protocol === protocol) return q;
      }
    }
    const q = new Ipq(saddr, daddr, id, protocol, h, this.net.sysctl.ipfrag_max_dist > 0 ? this.getpeer(saddr) : null);
    if (chain === undefined) this.table.set(h, [q]);
    else chain.push(q);
    this.nqueues++;
    this.charge(IPQ_TRUESIZE);
    this.arm(q);
    return q;
  }

  /** inet_getpeer_v4, reduced to the rid counter */
  private getpeer(saddr: number): FragPeer {
    let p = this.peers.get(saddr);
    if (p === undefined) {
      if (this.peers.size >= MAX_PEERS) this.peers.delete(this.peers.keys().next().value as number);
      p = { rid: 0 };
      this.peers.set(saddr, p);
    }
    return p;
  }

  /** ip_frag_too_far: more than ipfrag_max_dist fragments from this peer since this queue's last one */
  private ip_frag_too_far(q: Ipq): boolean {
    const peer = q.peer;
    const max = this.net.sysctl.ipfrag_max_dist;
    if (peer === null || max <= 0) return false;
    const start = q.rid;
    const end = (peer.rid + 1) >>> 0;
    peer.rid = end;
    q.rid = end;
    const rc = q.runs.length > 0 && ((end - start) >>> 0) > max;
    if (rc) this.net.mib.Ip.ReasmFails++;
    return rc;
  }

  /** ip_frag_reinit: drop what is queued and start over with a fresh timer */
  private ip_frag_reinit(q: Ipq): void {
    this.flush(q);
    q.flags = 0;
    q.len = 0;
    q.meat = 0;
    q.ind = null;
    q.ecn = 0;
    this.unlinkTimer(q);
    this.arm(q);
  }

  /** ip_frag_queue: place the fragment; reassemble when complete */
  private ip_frag_queue(q: Ipq, ind: InDevice, skb: Skb): Skb | null {
    const net = this.net;
    const b = skb.buf;
    const nh = skb.network_header;
    if (this.ip_frag_too_far(q)) this.ip_frag_reinit(q);
    const tos = b[nh + 1];
    const fo = getU16(b, nh + 6);
    const offset = (fo & IP_OFFSET) << 3;
    const ihl = (b[nh] & 15) << 2;
    let end = offset + skb.len - ihl;
    if ((fo & IP_MF) === 0) {
      // the last fragment: nothing may lie beyond it, and a second last fragment must agree
      if (end < q.len || (q.flags & INET_FRAG_LAST_IN && end !== q.len)) return this.discard(q, `last fragment ends at ${end}, queued data reach ${q.len}`);
      q.flags |= INET_FRAG_LAST_IN;
      q.len = end;
    } else {
      // not last: the payload must be a multiple of 8 (the excess is trimmed)
      end &= ~7;
      if (end > q.len) {
        if (q.flags & INET_FRAG_LAST_IN) return this.discard(q, `fragment ends at ${end}, beyond the last fragment's ${q.len}`);
        q.len = end;
      }
    }
    if (end === offset) return this.discard(q, `empty fragment at offset ${offset}`);
    const fragLen = end - offset;
    const rc = this.insert_check(q, offset, end);
    if (rc === IPFRAG_DUP) return null; // dropped, queue kept (SKB_DROP_REASON_DUP_FRAG)
    if (rc === IPFRAG_OVERLAP) {
      net.mib.IpExt.ReasmOverlaps++;
      return this.discard(q, `fragment [${offset}, ${end}) overlaps queued data`);
    }
    // copy what must outlive this batch: the first fragment with its Ethernet and IP headers (a real
    // copy: b may be a Buffer over guest memory, whose slice() would be a view)
    const first = offset === 0;
    const from = first ? (skb.mac_header >= 0 && skb.mac_header <= nh ? skb.mac_header : nh) : nh + ihl;
    const bytes = copyOf(b, from, nh + ihl + fragLen);
    const truesize = frag_truesize(skb.mac_header >= 0 && skb.mac_header <= nh ? nh - skb.mac_header + skb.len : skb.len);
    const f = new IpFrag(offset, fragLen, bytes, first ? nh + ihl - from : 0, truesize);
    this.insert(q, f);
    if (first) {
      q.headMac = nh - from;
      q.headHlen = ihl;
      q.headPktType = skb.pkt_type;
      q.flags |= INET_FRAG_FIRST_IN;
    }
    q.ind = ind;
    q.meat += fragLen;
    q.ecn |= 1 << (tos & 3);
    q.mem += truesize;
    this.charge(truesize);
    const fragsize = fragLen + ihl;
    if (fragsize > q.max_size) q.max_size = fragsize;
    if (fo & IP_DF && fragsize > q.max_df_size) q.max_df_size = fragsize;
    if (q.flags === (INET_FRAG_FIRST_IN | INET_FRAG_LAST_IN) && q.meat === q.len) return this.ip_frag_reasm(q, ind, skb);
    return null;
  }

  /**
   * inet_frag_queue_insert's placement test: after the tail fragment → OK (overlap if it starts before
   * the tail's end); otherwise the run it touches decides: inside one run → DUP, else OVERLAP.
   */
  private insert_check(q: Ipq, offset: number, end: number): number {
    const runs = q.runs;
    if (runs.length === 0) return IPFRAG_OK;
    const last = runs[runs.length - 1];
    const lastEnd = last.offset + last.len;
    if (lastEnd < end) return offset < lastEnd ? IPFRAG_OVERLAP : IPFRAG_OK;
    let lo = 0;
    let hi = runs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const r = runs[mid];
      const rEnd = r.offset + r.len;
      if (end <= r.offset) hi = mid - 1;
      else if (offset >= rEnd) lo = mid + 1;
      else return offset >= r.offset && end <= rEnd ? IPFRAG_DUP : IPFRAG_OVERLAP;
    }
    return IPFRAG_OK;
  }

  /** insert a checked fragment: append to the last run when adjacent, else a new run in order */
  private insert(q: Ipq, f: IpFrag): void {
    const runs = q.runs;
    const last = runs[runs.length - 1];
    if (last === undefined) {
      runs.push(new FragRun(f.offset, f));
      return;
    }
    const lastEnd = last.offset + last.len;
    if (f.offset >= lastEnd) {
      if (f.offset === lastEnd) {
        last.frags.push(f);
        last.len += f.len;
      } else {
        runs.push(new FragRun(f.offset, f));
      }
      return;
    }
    let lo = 0;
    let hi = runs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (runs[mid].offset < f.offset) lo = mid + 1;
      else hi = mid;
    }
    runs.splice(lo, 0, new FragRun(f.offset, f));
  }

  /** discard_qp: inet_frag_kill + ReasmFails; the fragment in hand is dropped */
  private discard(q: Ipq, why: string): null {
    this.net.mib.Ip.ReasmFails++;
    this.net.logBad(`ip_defrag: ${why} (id ${q.id} from ${formatIpv4(q.saddr)}); datagram discarded`);
    this.kill(q);
    return null;
  }

  /** ip_frag_reasm: glue the fragments behind the first one's headers into the reassembly buffer */
  private ip_frag_reasm(q: Ipq, ind: InDevice, last: Skb): Skb | null {
    const net = this.net;
    const head = q.head!;
    this.kill(q);
    const ecn = ip_frag_ecn_table[q.ecn];
    if (ecn === ECN_DROP) {
      net.mib.Ip.ReasmFails++;
      return null;
    }
    const hlen = q.headHlen;
    const len = hlen + q.len;
    if (len > IP_MAX_DATAGRAM) {
      net.mib.Ip.ReasmFails++;
      net.logBad(`ip_defrag: oversized IP packet from ${formatIpv4(q.saddr)} (${len} bytes); dropped`);
      return null;
    }
    const mac = q.headMac;
    let buf = this.reasmBuf;
    if (buf === null) buf = this.reasmBuf = new Uint8Array(14 + IP_MAX_DATAGRAM);
    // a datagram delivered from inside another's delivery (not possible today) gets its own buffer
    if (this.reasmBusy) buf = new Uint8Array(mac + len);
    buf.set(head.bytes.subarray(0, mac + hlen), 0);
    const base = mac + hlen;
    for (const r of q.runs) {
      for (const f of r.frags) buf.set(f.bytes.subarray(f.dataOff, f.dataOff + f.len), base + f.offset);
    }
    q.runs = [];
    setU16(buf, mac + 2, len);
    buf[mac + 1] |= ecn;
    // DF only when the largest fragment carried DF (IPSKB_FRAG_PMTU)
    setU16(buf, mac + 6, q.max_df_size === q.max_size ? IP_DF : 0);
    buf[mac + 10] = 0;
    buf[mac + 11] = 0;
    setU16(buf, mac + 10, csum_fold(csum_partial(buf, mac, hlen)));
    net.mib.Ip.ReasmOKs++;
    const skb = buf === this.reasmBuf ? this.reasmSkb : new Skb();
    skb.reset(buf, mac, len);
    skb.mac_header = mac > 0 ? 0 : -1;
    skb.network_header = mac;
    skb.transport_header = mac + hlen;
    skb.protocol = ETH_P_IP;
    skb.pkt_type = q.headPktType;
    skb.ip_summed = CHECKSUM_NONE;
    skb.dev = ind.dev;
    skb.skb_iif = last.skb_iif;
    skb.tstamp = last.tstamp;
    skb.mark = last.mark;
    return skb;
  }

  /** the reassembly buffer is in use while its datagram is being delivered */
  deliverBegin(skb: Skb): void {
    if (skb === this.reasmSkb) this.reasmBusy = true;
  }
  deliverEnd(skb: Skb): void {
    if (skb === this.reasmSkb) this.reasmBusy = false;
  }

  /** ip_expire: the queue's time is up */
  private ip_expire(q: Ipq): void {
    const net = this.net;
    const head = q.flags & INET_FRAG_FIRST_IN ? q.head : null;
    const ind = q.ind;
    this.kill(q);
    net.mib.Ip.ReasmFails++;
    net.mib.Ip.ReasmTimeout++;
    if (head === null || ind === null || net.in_dev_get(ind.dev) !== ind) return;
    // the head has no route any more: look it up again (ip_route_input_noref), then icmp_send
    const b = head.bytes;
    const nh = q.headMac;
    const rt = ip_route_input(ind, getU32(b, nh + 16), getU32(b, nh + 12), b[nh + 9]);
    if (rt < 0) return;
    const s = this.expireSkb;
    s.reset(b, nh, head.dataOff + head.len - nh);
    s.mac_header = nh > 0 ? 0 : -1;
    s.network_header = nh;
    s.transport_header = head.dataOff;
    s.protocol = ETH_P_IP;
    s.pkt_type = q.headPktType;
    s.dev = ind.dev;
    icmp_send(ind, s, ICMP_TIME_EXCEEDED, ICMP_EXC_FRAGTIME, 0, rt);
    s.reset(EMPTY, 0, 0);
  }

  /**
   * inet_frag_kill + inet_frag_destroy: unhash, stop the timer and release the memory charge. The
   * fragments' bytes stay reachable from `q` for the caller (reassembly, the expiry ICMP).
   */
  private kill(q: Ipq): void {
    if (q.flags & INET_FRAG_COMPLETE) return;
    q.flags |= INET_FRAG_COMPLETE;
    const chain = this.table.get(q.hash);
    if (chain !== undefined) {
      const i = chain.indexOf(q);
      if (i >= 0) chain.splice(i, 1);
      if (chain.length === 0) this.table.delete(q.hash);
    }
    this.nqueues--;
    this.unlinkTimer(q);
    this.mem -= q.mem;
    q.mem = 0;
  }

  /** inet_frag_queue_flush: free every queued fragment (the queue itself stays) */
  private flush(q: Ipq): void {
    let sum = 0;
    for (const r of q.runs) for (const f of r.frags) sum += f.truesize;
    q.runs = [];
    q.mem -= sum;
    this.mem -= sum;
  }

  private charge(n: number): void {
    this.mem += n;
    if (this.mem > this.memPeak) this.memPeak = this.mem;
  }

  /** start the queue's ipfrag_time timer: append to the expiry list, which stays ordered */
  private arm(q: Ipq): void {
    q.expires = this.net.now() + this.net.sysctl.ipfrag_time;
    q.prev = this.newest;
    q.next = null;
    if (this.newest !== null) this.newest.next = q;
    else this.oldest = q;
    this.newest = q;
    if (this.timer === null) this.schedule();
  }

  private unlinkTimer(q: Ipq): void {
    if (q.prev !== null) q.prev.next = q.next;
    else if (this.oldest === q) this.oldest = q.next;
    if (q.next !== null) q.next.prev = q.prev;
    else if (this.newest === q) this.newest = q.prev;
    q.prev = q.next = null;
  }

  /** one scheduler timer for the whole table, due at the oldest queue's expiry */
  private schedule(): void {
    const q = this.oldest;
    if (q === null) return;
    const delay = Math.max(0, q.expires - this.net.now());
    this.timer = this.net.scheduler.schedule(() => this.expireDue(), delay);
  }

  private expireDue(): void {
    this.timer = null;
    const now = this.net.now();
    let q: Ipq | null;
    while ((q = this.oldest) !== null && q.expires <= now) {
      try {
        this.ip_expire(q);
      } catch (err) {
        this.net.drops.handlerErrors++;
        this.net.log.error(`ip_expire threw: ${(err as Error)?.stack ?? String(err)}`);
        this.kill(q);
      }
    }
    this.schedule();
  }

  /** fqdir_exit: drop every queue and the timer (namespace teardown) */
  close(): void {
    while (this.oldest !== null) this.kill(this.oldest);
    this.timer?.unsubscribe();
    this.timer = null;
  }
}

const EMPTY = new Uint8Array(0);
