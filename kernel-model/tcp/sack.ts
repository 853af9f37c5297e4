// The retransmission queue and the SACK scoreboard (tcp_input.c tcp_sacktag_write_queue,
// tcp_clean_rtx_queue's per-skb accounting; include/net/tcp.h TCPCB_* bits). One record per sent
// segment (the model never sends a segment longer than the MSS, so pcount is always 1); the bytes stay
// in the socket's SendBuffer. Records are pooled; the xmit-time-ordered list (tp->tsorted_sent_queue)
// is intrusive, so marking and RACK walks allocate nothing.
import { after, before, seqSub } from './tcp_states';

// TCP_SKB_CB(skb)->sacked bits
export const TCPCB_SACKED_ACKED = 0x01;
export const TCPCB_SACKED_RETRANS = 0x02;
export const TCPCB_LOST = 0x04;
export const TCPCB_EVER_RETRANS = 0x80;
export const TCPCB_RETRANS = TCPCB_SACKED_RETRANS | TCPCB_EVER_RETRANS;

/** struct tcp_skb_cb for a segment in flight */
export class TcpSkbCb {
  seq = 0;
  end_seq = 0;
  tcp_flags = 0;
  sacked = 0;
  /** last (re)transmission time, µs (skb->skb_mstamp_ns) */
  xmit_us = 0;
  /**
   * the socket's transmit counter at that (re)transmission (TcpSock.xmit_order): orders sends made at
   * the same virtual instant, where Linux's clock (tcp_mstamp_refresh per ACK processed) would differ
   */
  xmit_order = 0;
  /** tsorted list links */
  tprev: TcpSkbCb | null = null;
  tnext: TcpSkbCb | null = null;
  inTsorted = false;
  /** data bytes (FIN/SYN excluded) */
  get len(): number {
    return seqSub(this.end_seq, this.seq) - (this.tcp_flags & 1);
  }
}

const EMPTY_RING: (TcpSkbCb | null)[] = [];

export class RtxQueue {
  // allocated on the first send (an idle connection keeps no slots)
  private ring: (TcpSkbCb | null)[] = EMPTY_RING;
  private mask = 0;
  private head = 0;
  length = 0;
  private readonly pool: TcpSkbCb[] = [];
  /** tsorted_sent_queue: oldest transmission first; SACKed/ACKed records leave it */
  tsHead: TcpSkbCb | null = null;
  tsTail: TcpSkbCb | null = null;

  at(i: number): TcpSkbCb {
    return this.ring[(this.head + i) & this.mask]!;
  }
  first(): TcpSkbCb | null {
    return this.length === 0 ? null : this.ring[this.head];
  }
  last(): TcpSkbCb | null {
    return this.length === 0 ? null : this.ring[(this.head + this.length - 1) & this.mask];
  }

  /** tcp_rtx_queue_tail insert of a freshly sent segment */
  push(seq: number, end_seq: number, flags: number, xmit_us: number, xmit_order: number): TcpSkbCb {
    if (this.length === this.ring.length) this.grow();
    const r = this.pool.pop() ?? new TcpSkbCb();
    r.seq = seq;
    r.end_seq = end_seq;
    r.tcp_flags = flags;
    r.sacked = 0;
    r.xmit_us = xmit_us;
    r.xmit_order = xmit_order;
    r.tprev = r.tnext = null;
    r.inTsorted = false;
    this.ring[(this.head + this.length) & this.mask] = r;
    this.length++;
    this.tsAppend(r);
    return r;
  }

  /**
   * tcp_fragment: split record `i` at `seq`; the new record [seq, end) follows it with the same marks
   * and transmit time. Returns the new record.
   */
  split(i: number, seq: number): TcpSkbCb {
    const r = this.at(i);
    if (this.length === this.ring.length) this.grow();
    for (let k = this.length; k > i + 1; k--) this.ring[(this.head + k) & this.mask] = this.ring[(this.head + k - 1) & this.mask];
    const n = this.pool.pop() ?? new TcpSkbCb();
    n.seq = seq;
    n.end_seq = r.end_seq;
    n.tcp_flags = r.tcp_flags;
    n.sacked = r.sacked;
    n.xmit_us = r.xmit_us;
    n.xmit_order = r.xmit_order;
    n.tprev = n.tnext = null;
    n.inTsorted = false;
    // FIN and PSH stay on the second part
    r.end_seq = seq;
    r.tcp_flags &= ~0x09;
    this.ring[(this.head + i + 1) & this.mask] = n;
    this.length++;
    if (r.inTsorted) {
      // keep xmit order: right after r
      n.tprev = r;
      n.tnext = r.tnext;
      if (r.tnext !== null) r.tnext.tprev = n;
      else this.tsTail = n;
      r.tnext = n;
      n.inTsorted = true;
    }
    return n;
  }

  /** remove the head record (fully acknowledged) */
  shift(): void {
    const r = this.ring[this.head];
    if (r === null || r === undefined) return;
    this.tsRemove(r);
    this.ring[this.head] = null;
    this.head = (this.head + 1) & this.mask;
    this.length--;
    if (this.length === 0) {
      // all acknowledged: an idle connection gives its slots and records back
      this.ring = EMPTY_RING;
      this.mask = 0;
      this.head = 0;
      this.pool.length = 0;
      return;
    }
    this.pool.push(r);
  }

  clear(): void {
    while (this.length > 0) this.shift();
  }

  /** move to the tail of the xmit-time order (it was just retransmitted) */
  tsAppend(r: TcpSkbCb): void {
    if (r.inTsorted) this.tsRemove(r);
    r.tprev = this.tsTail;
    r.tnext = null;
    if (this.tsTail !== null) this.tsTail.tnext = r;
    else this.tsHead = r;
    this.tsTail = r;
    r.inTsorted = true;
  }

  tsRemove(r: TcpSkbCb): void {
    if (!r.inTsorted) return;
    if (r.tprev !== null) r.tprev.tnext = r.tnext;
    else this.tsHead = r.tnext;
    if (r.tnext !== null) r.tnext.tprev = r.tprev;
    else this.tsTail = r.tprev;
    r.tprev = r.tnext = null;
    r.inTsorted = false;
  }

  /** index of the first record whose end is after `seq` (binary search; records are in seq order) */
  indexAfter(seq: number): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (after(this.at(mid).end_seq, seq)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  private grow(): void {
    const old = this.ring;
    const n = Math.max(16, old.length * 2);
    const ring = new Array<TcpSkbCb | null>(n).fill(null);
    for (let i = 0; i < this.length; i++) ring[i] = old[(this.head + i) & this.mask];
    this.ring = ring;
    this.mask = n - 1;
    this.head = 0;
  }
}

/** the result of tagging one ACK's SACK blocks */
export class SackTagState {
  /** records newly SACKed */
  newlySacked = 0;
  /** earliest / latest xmit time among newly SACKed never-retransmitted records (sack RTT), µs; −1 none */
  firstSackt = -1;
  lastSackt = -1;
  /** the first block was a D-SACK */
  dsack = false;
  /** reordering was detected (a hole below already-SACKed data got SACKed without retransmission) */
  reord = false;
  reset(): void {
    this.newlySacked = 0;
    this.firstSackt = this.lastSackt = -1;
    this.dsack = false;
    this.reord = false;
  }
}

/**
 * tcp_check_dsack: the first block reports a duplicate when it lies below the cumulative ACK or
 * inside the second block (RFC 2883)
 */
export function tcp_check_dsack(blocks: Uint32Array, n: number, ack: number): boolean {
  if (n === 0) return false;
  const s0 = blocks[0];
  const e0 = blocks[1];
  if (before(s0, ack)) return true;
  if (n > 1) {
    const s1 = blocks[2];
    const e1 = blocks[3];
    if (!after(e0, e1) && !before(s0, s1)) return true;
  }
  return false;
}
