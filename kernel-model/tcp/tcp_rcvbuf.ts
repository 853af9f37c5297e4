// Buffer autotuning (net/ipv4/tcp_input.c, Linux 6.1): the receiver's RTT estimate (tcp_rcv_rtt_update,
// tcp_rcv_rtt_measure, tcp_rcv_rtt_measure_ts), tcp_init_buffer_space, receive-buffer moderation
// (tcp_rcv_space_adjust with tcp_moderate_rcvbuf: sk_rcvbuf follows twice what the reader took per RTT,
// up to tcp_rmem[2]) and send-buffer growth with cwnd (tcp_sndbuf_expand, tcp_should_expand_sndbuf).
// The model bounds both buffers by sysctl max_buffered_bytes, its per-connection cap, and counts
// in TcpNet.drops when the cap (not Linux's limit) stopped a growth.
import type { TcpSock } from './sock';
import { TCP_INIT_CWND } from './tcp_states';

/** SKB_DATA_ALIGN(sizeof(struct sk_buff)) and of struct skb_shared_info on x86-64 */
const SKB_STRUCT = 256;
const SKB_SHINFO = 320;
/** MAX_TCP_HEADER on Debian's x86-64 config */
const MAX_TCP_HEADER = 320;
/** grown rings are sized in these steps so the ring pool sees few distinct sizes */
const RING_STEP = 64 * 1024;

/** tcp_win_from_space with tcp_adv_win_scale 1: half the buffer is window */
export function tcp_win_from_space(space: number): number {
  return space >>> 1;
}

/** tcp_rcv_rtt_update: `sample` µs; win_dep samples only lower the estimate (they overestimate) */
function tcp_rcv_rtt_update(tp: TcpSock, sample: number, win_dep: boolean): void {
  let new_sample = tp.rcv_rtt_us;
  let m = sample;
  if (new_sample !== 0) {
    if (!win_dep) {
      m -= new_sample >>> 3;
      new_sample += m;
    } else {
      m *= 8;
      if (m < new_sample) new_sample = m;
    }
  } else {
    new_sample = m * 8;
  }
  tp.rcv_rtt_us = Math.max(new_sample, 1) >>> 0;
}

/** tcp_rcv_rtt_measure (no timestamps): one sample per window's worth of data */
export function tcp_rcv_rtt_measure(tp: TcpSock): void {
  const now = tp.now_us();
  if (tp.rcv_rtt_time !== 0) {
    if (((tp.rcv_nxt - tp.rcv_rtt_seq) | 0) < 0) return;
    tcp_rcv_rtt_update(tp, Math.max(now - tp.rcv_rtt_time, 1), true);
  }
  tp.rcv_rtt_seq = (tp.rcv_nxt + tp.rcv_wnd) >>> 0;
  tp.rcv_rtt_time = now || 1;
}

/** tcp_rcv_rtt_measure_ts: a full-sized segment echoing a new TSecr gives a sample */
export function tcp_rcv_rtt_measure_ts(tp: TcpSock, seglen: number): void {
  if (!tp.saw_tstamp || tp.rcv_tsecr === 0 || tp.rcv_tsecr === tp.rcv_rtt_last_tsecr) return;
  tp.rcv_rtt_last_tsecr = tp.rcv_tsecr;
  if (seglen < tp.ack_rcv_mss) return;
  let delta = (tp.tsval() - tp.rcv_tsecr) | 0;
  if (delta < 0 || delta >= 0x7fffffff / 1000) return;
  if (delta === 0) delta = 1;
  tcp_rcv_rtt_update(tp, delta * 1000, false);
}

/** tcp_init_buffer_space at establishment: send buffer sized for the initial cwnd, a fresh rcvq_space measure */
export function tcp_init_buffer_space(tp: TcpSock): void {
  tcp_sndbuf_expand(tp);
  tp.rcvq_time = tp.now_us();
  tp.rcvq_seq = tp.rcvbuf.headSeq;
  if (tp.rcv_ssthresh > tp.window_clamp) tp.rcv_ssthresh = tp.window_clamp;
  tp.rcvq_space = Math.min(tp.rcv_ssthresh, tp.rcv_wnd, TCP_INIT_CWND * tp.advmss);
}

/** the most a connection's sk_rcvbuf may reach: tcp_rmem[2], and twice the model's buffered-bytes cap */
function rcvbuf_limit(tp: TcpSock): number {
  const sc = tp.net.sysctl;
  return Math.min(sc.tcp_rmem[2], 2 * sc.max_buffered_bytes);
}

/**
 * tcp_rcv_space_adjust: after the reader took data (tcp_recvmsg). Once per receiver RTT, if the
 * reader took more than in the previous RTT, sk_rcvbuf grows to cover twice that plus slow-start
 * growth (tcp_moderate_rcvbuf), and window_clamp follows.
 */
export function tcp_rcv_space_adjust(tp: TcpSock): void {
  const now = tp.now_us();
  const time = now - tp.rcvq_time;
  if (tp.rcv_rtt_us === 0 || time < tp.rcv_rtt_us >>> 3) return;
  const copied = (tp.rcvbuf.headSeq - tp.rcvq_seq) | 0;
  if (copied > tp.rcvq_space) {
    const sc = tp.net.sysctl;
    if (sc.tcp_moderate_rcvbuf) {
      const advmss = tp.advmss;
      let rcvwin = 2 * copied + 16 * advmss;
      // sender growth (slow start doubles per RTT)
      const grow = Math.floor((rcvwin * (copied - tp.rcvq_space)) / Math.max(tp.rcvq_space, 1));
      rcvwin += 2 * grow;
      let rcvmem = advmss + MAX_TCP_HEADER + SKB_STRUCT + SKB_SHINFO;
      while (tcp_win_from_space(rcvmem) < advmss) rcvmem += 128;
      const want = Math.floor(rcvwin / advmss) * rcvmem;
      const limit = rcvbuf_limit(tp);
      const rcvbuf = Math.min(want, limit);
      if (want > limit && limit > tp.sk_rcvbuf && limit < sc.tcp_rmem[2]) tp.net.drops.rcvbufCapped++;
      if (rcvbuf > tp.sk_rcvbuf) {
        tp.sk_rcvbuf = rcvbuf;
        tp.window_clamp = tcp_win_from_space(rcvbuf);
        growRecvBuffer(tp);
      }
    }
    tp.rcvq_space = copied;
  }
  tp.rcvq_seq = tp.rcvbuf.headSeq;
  tp.rcvq_time = now;
}

/** the ring follows sk_rcvbuf: capacity (what the window may cover) = half; slack for wscale rounding */
function growRecvBuffer(tp: TcpSock): void {
  const cap = tcp_win_from_space(tp.sk_rcvbuf);
  if (cap <= tp.rcvbuf.capacity) return;
  const size = Math.ceil((cap + (1 << 14)) / RING_STEP) * RING_STEP;
  tp.rcvbuf.grow(cap, size);
}

/**
 * tcp_sndbuf_expand: room for twice max(cwnd, initial cwnd, reordering + 1) segments at Linux's
 * worst-case per-segment memory, up to tcp_wmem[2] and the model's cap; the send buffer never
 * shrinks below the model's starting size (sysctl sndbuf).
 */
export function tcp_sndbuf_expand(tp: TcpSock): void {
  const sc = tp.net.sysctl;
  let per_mss = Math.max(tp.mss_clamp, tp.mss_cache) + MAX_TCP_HEADER + SKB_SHINFO;
  per_mss = 2 ** Math.ceil(Math.log2(per_mss)) + SKB_STRUCT;
  let nr_segs = Math.max(TCP_INIT_CWND, tp.snd_cwnd);
  nr_segs = Math.max(nr_segs, tp.reordering + 1);
  // Fast Recovery (RFC 5681 3.2): CUBIC needs 1.7 × cwnd, rounded to 2
  const sndmem = 2 * nr_segs * per_mss;
  if (tp.sndbuf.capacity >= sndmem) return;
  const limit = Math.min(sc.tcp_wmem[2], sc.max_buffered_bytes);
  if (sndmem > limit && limit < sc.tcp_wmem[2]) tp.net.drops.sndbufCapped++;
  const want = Math.min(sndmem, limit);
  if (want <= tp.sndbuf.capacity) return;
  tp.sndbuf.grow(Math.min(Math.ceil(want / RING_STEP) * RING_STEP, Math.max(limit, tp.sndbuf.capacity)));
}

/** tcp_should_expand_sndbuf: the writer is blocked and cwnd is not the limit (no memory pressure in the model) */
export function tcp_should_expand_sndbuf(tp: TcpSock): boolean {
  return tp.in_flight() < tp.snd_cwnd;
}
