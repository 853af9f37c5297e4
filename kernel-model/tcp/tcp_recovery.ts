// Loss detection (net/ipv4/tcp_recovery.c RACK; tcp_input.c tcp_newreno_mark_lost, tcp_mark_skb_lost,
// tcp_timeout_mark_lost). RACK (tcp_recovery = 1, Linux's default): a segment is lost when one sent
// after it was delivered and it has been out longer than rack.rtt + reo_wnd; the reorder window is
// min_rtt/4 (0 in recovery, or once `reordering` segments are SACKed without reordering seen).
// Without SACK the NewReno rule marks the head lost after `reordering` duplicate ACKs.
import type { TcpSock } from './sock';
import { ICSK_TIME_REO_TIMEOUT } from './sock';
import { TCPCB_LOST, TCPCB_RETRANS, TCPCB_SACKED_ACKED, TCPCB_SACKED_RETRANS, type TcpSkbCb } from './sack';
import { tcp_rearm_rto, tcp_reset_xmit_timer, tcp_xmit_retransmit_queue } from './tcp_output';
import { after, TCP_CA_Recovery } from './tcp_states';

/** tcp_mark_skb_lost */
export function tcp_mark_skb_lost(tp: TcpSock, r: TcpSkbCb): void {
  const s = r.sacked;
  if (s & TCPCB_SACKED_ACKED) return;
  if (s & TCPCB_LOST) {
    if (s & TCPCB_SACKED_RETRANS) {
      // a retransmission lost again
      r.sacked &= ~TCPCB_SACKED_RETRANS;
      tp.retrans_out--;
      tp.net.mib.TcpExt.TCPLostRetransmit++;
    }
  } else {
    tp.lost_out++;
    r.sacked |= TCPCB_LOST;
  }
}

/**
 * tcp_rack_sent_after: t1 later than t2, ties broken by end sequence. The model first breaks a tie
 * by transmit order (o1, o2): at one virtual instant a retransmission sent while processing a later
 * ACK went out after new data sent for an earlier one — Linux's clock would have stamped it later.
 */
function rack_sent_after(t1: number, t2: number, o1: number, o2: number, seq1: number, seq2: number): boolean {
  return t1 > t2 || (t1 === t2 && (o1 > o2 || (o1 === o2 && after(seq1, seq2))));
}

/** tcp_rack_advance: a delivered (ACKed or SACKed) segment moves RACK's reference forward */
export function tcp_rack_advance(tp: TcpSock, sacked: number, end_seq: number, xmit_us: number, xmit_order: number): void {
  const rtt_us = tp.now_us() - xmit_us;
  // an ACK for a retransmission faster than min RTT may be for the original: ignore it
  if (rtt_us < tp.rtt.min_rtt_us && sacked & TCPCB_RETRANS) return;
  tp.rack_advanced = true;
  tp.rack_rtt_us = rtt_us;
  if (rack_sent_after(xmit_us, tp.rack_mstamp, xmit_order, tp.rack_order, end_seq, tp.rack_end_seq)) {
    tp.rack_mstamp = xmit_us;
    tp.rack_order = xmit_order;
    tp.rack_end_seq = end_seq;
  }
}

/** tcp_rack_reo_wnd */
function tcp_rack_reo_wnd(tp: TcpSock): number {
  if (!tp.reord_seen) {
    if (tp.ca_state >= TCP_CA_Recovery) return 0;
    if (tp.sacked_out >= tp.reordering) return 0;
  }
  const min_rtt = tp.rtt.min_rtt_us === 0xffffffff ? 0 : tp.rtt.min_rtt_us;
  return Math.min((min_rtt >>> 2) * tp.rack_reo_wnd_steps, tp.rtt.srtt_us >>> 3);
}

/** tcp_rack_detect_loss over the xmit-time ordered queue; returns the reorder timeout needed (µs), 0 none */
function tcp_rack_detect_loss(tp: TcpSock): number {
  const reo_wnd = tcp_rack_reo_wnd(tp);
  const now = tp.now_us();
  let timeout = 0;
  let r = tp.rtx.tsHead;
  while (r !== null) {
    const next = r.tnext;
    if (r.sacked & TCPCB_LOST && !(r.sacked & TCPCB_SACKED_RETRANS)) {
      r = next;
      continue;
    }
    if (!rack_sent_after(tp.rack_mstamp, r.xmit_us, tp.rack_order, r.xmit_order, tp.rack_end_seq, r.end_seq)) break;
    const remaining = tp.rack_rtt_us + reo_wnd - (now - r.xmit_us);
    if (remaining <= 0) {
      tcp_mark_skb_lost(tp, r);
      tp.rtx.tsRemove(r);
    } else if (remaining > timeout) {
      timeout = remaining;
    }
    r = next;
  }
  return timeout;
}

/**
 * tcp_rack_mark_lost: run detection after RACK advanced; arm the reorder timer for the undecided.
 * True when the reorder timer was armed (the caller then leaves the xmit timer alone).
 */
export function tcp_rack_mark_lost(tp: TcpSock): boolean {
  if (!tp.rack_advanced) return false;
  tp.rack_advanced = false;
  const t = tcp_rack_detect_loss(tp);
  if (t > 0) {
    const jiffy = 1000 / tp.HZ;
    const ms = Math.ceil(t / 1000 / jiffy) * jiffy + 2 * jiffy; // usecs_to_jiffies + TCP_TIMEOUT_MIN
    tcp_reset_xmit_timer(tp, ICSK_TIME_REO_TIMEOUT, Math.min(ms, tp.rto));
    return true;
  }
  return false;
}

/** tcp_rack_reo_timeout: the reorder window passed — mark, enter recovery, retransmit */
export function tcp_rack_reo_timeout(tp: TcpSock, enterRecovery: (tp: TcpSock) => void, cwndReduction: (tp: TcpSock) => void): void {
  const prior_inflight = tp.in_flight();
  const t = tcp_rack_detect_loss(tp);
  if (prior_inflight !== tp.in_flight()) {
    if (tp.ca_state !== TCP_CA_Recovery) {
      enterRecovery(tp);
      cwndReduction(tp);
    }
    tcp_xmit_retransmit_queue(tp);
  }
  if (t > 0 && tp.icsk_pending === 0) {
    const jiffy = 1000 / tp.HZ;
    tcp_reset_xmit_timer(tp, ICSK_TIME_REO_TIMEOUT, Math.ceil(t / 1000 / jiffy) * jiffy + 2 * jiffy);
    return;
  }
  if (tp.icsk_pending !== ICSK_TIME_REO_TIMEOUT) tcp_rearm_rto(tp);
}

/** tcp_newreno_mark_lost: without SACK, dupacks ≥ reordering (or a partial ACK in recovery) lose the head */
export function tcp_newreno_mark_lost(tp: TcpSock, snd_una_advanced: boolean): void {
  const st = tp.ca_state;
  if ((st < TCP_CA_Recovery && tp.sacked_out >= tp.reordering) || (st === TCP_CA_Recovery && snd_una_advanced)) {
    const head = tp.rtx.first();
    if (head === null || head.sacked & TCPCB_LOST) return;
    tcp_mark_skb_lost(tp, head);
  }
}

/** tcp_timeout_mark_lost: on RTO everything not SACKed is lost (SACK reneging clears the SACK marks) */
export function tcp_timeout_mark_lost(tp: TcpSock): void {
  const q = tp.rtx;
  const head = q.first();
  const reneg = head !== null && (head.sacked & TCPCB_SACKED_ACKED) !== 0;
  if (reneg) {
    tp.net.mib.TcpExt.TCPSACKReneging++;
    tp.sacked_out = 0;
  }
  if (!tp.sack_ok) tp.sacked_out = 0;
  const now = tp.now_us();
  for (let i = 0; i < q.length; i++) {
    const r = q.at(i);
    if (reneg) r.sacked &= ~TCPCB_SACKED_ACKED;
    else if (i > 0 && tp.rack_rtt_us - (now - r.xmit_us) > 0) continue; // recently sent: not yet
    tcp_mark_skb_lost(tp, r);
  }
}
