// Tail loss probe, the TLP half of RACK-TLP (RFC 8985 §7; net/ipv4/tcp_output.c
// tcp_schedule_loss_probe / tcp_send_loss_probe, Linux 6.1 with tcp_early_retrans = 3). When the tail
// of a flight is lost no dupACKs come back; instead of waiting for the RTO, one probe (new data, or
// the last segment again) goes out after PTO = 2·srtt (+2 ms, or + rto_min with one packet out, 1 s
// without an RTT sample), never later than the RTO would fire. The ACK side (tcp_process_tlp_ack)
// is in tcp_input.ts.
import { ICSK_TIME_LOSS_PROBE, type TcpSock } from './sock';
import { tcp_current_mss, tcp_rearm_rto, tcp_reset_xmit_timer, tcp_retransmit_skb, tcp_write_xmit } from './tcp_output';
import { after, before, TCP_CA_CWR, TCP_CA_Open, TCP_TIMEOUT_INIT } from './tcp_states';

/** TCP_TIMEOUT_MIN_US: 2 ms */
const TCP_TIMEOUT_MIN_US = 2000;

/**
 * tcp_schedule_loss_probe: arm the PTO for a SACK connection in Open/CWR with data out. `advancing_rto`
 * (an ACK is about to restart the RTO) bounds the PTO by a full RTO, else by the RTO's remaining time.
 * False when no probe applies (the caller arms the RTO).
 */
export function tcp_schedule_loss_probe(tp: TcpSock, advancing_rto: boolean): boolean {
  const er = tp.net.sysctl.tcp_early_retrans;
  if ((er !== 3 && er !== 4) || tp.packets_out === 0 || !tp.sack_ok) return false;
  if (tp.ca_state !== TCP_CA_Open && tp.ca_state !== TCP_CA_CWR) return false;
  const jiffy = 1000 / tp.HZ;
  let timeout: number;
  if (tp.rtt.srtt_us) {
    // srtt_us holds 8·srtt: >> 2 is 2·srtt; one packet out waits for a delayed ACK too
    let us = tp.rtt.srtt_us / 4;
    us += tp.packets_out === 1 ? tp.rtt.rto_min_us : TCP_TIMEOUT_MIN_US;
    timeout = Math.ceil(us / 1000 / jiffy) * jiffy; // usecs_to_jiffies
  } else {
    timeout = TCP_TIMEOUT_INIT;
  }
  // if the RTO formula gives an earlier time, use that
  let rto_delta = tp.rto;
  if (!advancing_rto) {
    const head = tp.rtx.first();
    rto_delta = head === null ? tp.rto : tp.rto - (tp.now_us() - head.xmit_us) / 1000;
  }
  if (rto_delta > 0) timeout = Math.min(timeout, Math.ceil(rto_delta / jiffy) * jiffy);
  tcp_reset_xmit_timer(tp, ICSK_TIME_LOSS_PROBE, timeout);
  return true;
}

/** tcp_send_loss_probe: the PTO fired — new data if the window allows, else the last segment again */
export function tcp_send_loss_probe(tp: TcpSock): void {
  // at most one probe outstanding
  if (tp.tlp_high_seq) {
    tcp_rearm_rto(tp);
    return;
  }
  tp.tlp_retrans = false;
  const mss = tcp_current_mss(tp);
  const unsent = before(tp.snd_nxt, tp.write_seq);
  if (unsent && !after((tp.snd_nxt + Math.min(mss, (tp.write_seq - tp.snd_nxt) >>> 0)) >>> 0, (tp.snd_una + tp.snd_wnd) >>> 0)) {
    const before_nxt = tp.snd_nxt;
    const cwnd = tp.snd_cwnd;
    // the probe may exceed cwnd by one segment (tcp_write_xmit with push_one = 2 skips the cwnd test)
    if (tp.in_flight() >= tp.snd_cwnd) tp.snd_cwnd = tp.in_flight() + 1;
    tcp_write_xmit(tp, true);
    tp.snd_cwnd = cwnd;
    if (tp.snd_nxt !== before_nxt) probe_sent(tp);
    else tcp_rearm_rto(tp);
    return;
  }
  const r = tp.rtx.last();
  if (r === null) {
    tp.icsk_pending = 0;
    return;
  }
  if (!tcp_retransmit_skb(tp, r, tp.rtx.length - 1, true)) {
    tcp_rearm_rto(tp);
    return;
  }
  tp.tlp_retrans = true;
  probe_sent(tp);
}

function probe_sent(tp: TcpSock): void {
  // snd_nxt marks the probe for loss detection in tcp_process_tlp_ack
  tp.tlp_high_seq = tp.snd_nxt;
  tp.net.mib.TcpExt.TCPLossProbes++;
  // restart the RTO from now
  tp.icsk_pending = 0;
  tcp_rearm_rto(tp);
}
