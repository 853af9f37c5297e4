// Timer handlers (net/ipv4/tcp_timer.c): tcp_write_timer (RTO, zero-window probe, RACK reorder),
// tcp_delack_timer, and the socket timer that runs keepalive, FIN_WAIT2 for orphans and TIME_WAIT.
import { ICSK_ACK_SCHED, ICSK_ACK_TIMER, ICSK_TIME_LOSS_PROBE, ICSK_TIME_PROBE0, ICSK_TIME_REO_TIMEOUT, ICSK_TIME_RETRANS, type TcpSock } from './sock';
import { tcp_model_timeout } from './rtt';
import { tcp_cwnd_reduction, tcp_enter_recovery, tcp_init_undo, tw_kill } from './tcp_input';
import { tcp_send_loss_probe } from './tcp_tlp';
import { tcp_rack_reo_timeout, tcp_timeout_mark_lost } from './tcp_recovery';
import {
  tcp_done,
  tcp_in_cwnd_reduction,
  tcp_reset_xmit_timer,
  tcp_retransmit_skb,
  tcp_send_ack,
  tcp_send_active_reset,
  tcp_send_probe0,
  tcp_send_synack,
  tcp_send_syn,
  tcp_write_wakeup,
} from './tcp_output';
import {
  after,
  TCP_ATO_MIN,
  TCP_CA_Disorder,
  TCP_CA_Loss,
  TCP_CA_Recovery,
  TCP_CLOSE,
  TCP_CLOSE_WAIT,
  TCP_ESTABLISHED,
  TCP_FIN_WAIT2,
  TCP_RESOURCE_PROBE_INTERVAL,
  TCP_RTO_MAX,
  TCP_RTO_MIN,
  TCP_SYN_RECV,
  TCP_SYN_SENT,
  TCP_TIME_WAIT,
} from './tcp_states';

/** tcp_write_timer_handler: dispatch on icsk_pending */
export function tcp_write_timer(tp: TcpSock): void {
  const what = tp.icsk_pending;
  tp.icsk_pending = 0;
  if (tp.state === TCP_CLOSE || tp.state === TCP_TIME_WAIT) return;
  switch (what) {
    case ICSK_TIME_REO_TIMEOUT:
      tcp_rack_reo_timeout(tp, tcp_enter_recovery, (t) => tcp_cwnd_reduction(t, 1, 0, 0));
      break;
    case ICSK_TIME_PROBE0:
      tcp_probe_timer(tp);
      break;
    case ICSK_TIME_LOSS_PROBE:
      tcp_send_loss_probe(tp);
      break;
    case ICSK_TIME_RETRANS:
      tcp_retransmit_timer(tp);
      break;
  }
}

/** tcp_write_err: give up with the soft error an ICMP left (sk_err_soft), else ETIMEDOUT */
function tcp_write_err(tp: TcpSock): void {
  tp.net.mib.TcpExt.TCPAbortOnTimeout++;
  tcp_done(tp, tp.err_soft || 'ETIMEDOUT');
}

/** tcp_write_timeout: SYN retries, or retries2 worth of backed-off RTOs since the first retransmission */
function tcp_write_timeout(tp: TcpSock): boolean {
  const sc = tp.net.sysctl;
  if (tp.state === TCP_SYN_SENT || tp.state === TCP_SYN_RECV) {
    const limit = tp.state === TCP_SYN_SENT ? sc.tcp_syn_retries : sc.tcp_synack_retries;
    if (tp.retransmits >= limit) {
      if (tp.state === TCP_SYN_RECV && tp.parent !== null) {
        // an expired request: dropped silently (inet_csk_reqsk_queue_drop)
        tp.net.mib.Tcp.AttemptFails--;
      }
      tcp_write_err(tp);
      return true;
    }
    return false;
  }
  if (tp.retransmits === 0 || tp.retrans_stamp === 0) return false;
  const timeout = tcp_model_timeout(sc.tcp_retries2, TCP_RTO_MIN);
  if (tp.now() - tp.retrans_stamp - timeout >= 0) {
    tcp_write_err(tp);
    return true;
  }
  return false;
}

/** tcp_enter_loss: every unSACKed segment is lost, cwnd = 1, Loss state; F-RTO may start */
export function tcp_enter_loss(tp: TcpSock): void {
  const new_recovery = tp.ca_state < TCP_CA_Recovery;
  tcp_timeout_mark_lost(tp);
  if (tp.ca_state <= TCP_CA_Disorder || !after(tp.high_seq, tp.snd_una) || (tp.ca_state === TCP_CA_Loss && !tp.retransmits)) {
    // tcp_current_ssthresh, then tcp_init_undo
    tp.prior_ssthresh = tcp_in_cwnd_reduction(tp) ? tp.snd_ssthresh : Math.max(tp.snd_ssthresh, (tp.snd_cwnd >>> 1) + (tp.snd_cwnd >>> 2));
    tp.prior_cwnd = tp.snd_cwnd;
    tp.snd_ssthresh = tp.ca.ssthresh(tp);
    tcp_init_undo(tp);
  }
  tp.tlp_high_seq = 0;
  tp.snd_cwnd = tp.in_flight() + 1;
  tp.snd_cwnd_cnt = 0;
  tp.snd_cwnd_stamp = tp.jiffies();
  if (tp.ca_state <= TCP_CA_Disorder && tp.sacked_out >= tp.net.sysctl.tcp_reordering) {
    tp.reordering = Math.min(tp.reordering, tp.net.sysctl.tcp_reordering);
  }
  tp.ca.set_state(tp, TCP_CA_Loss);
  tp.ca_state = TCP_CA_Loss;
  tp.high_seq = tp.snd_nxt;
  // F-RTO (RFC 5682 §3.1 step 1): unless a recovery was already under way, bar repeated timeouts of the same snd_una
  tp.frto = tp.net.sysctl.tcp_frto > 0 && (new_recovery || tp.retransmits > 0);
}

/** tcp_retransmit_timer */
function tcp_retransmit_timer(tp: TcpSock): void {
  const mib = tp.net.mib;
  const st = tp.state;
  if (st === TCP_SYN_SENT || st === TCP_SYN_RECV) {
    if (tcp_write_timeout(tp)) return;
    mib.Tcp.RetransSegs++;
    mib.TcpExt.TCPSynRetrans++;
    tp.total_retrans++;
    tp.syn_retrans++;
    if (st === TCP_SYN_SENT) tcp_send_syn(tp);
    else tcp_send_synack(tp);
    tp.retransmits++;
    tp.backoff++;
    tp.rto = Math.min(tp.rto * 2, TCP_RTO_MAX);
    tcp_reset_xmit_timer(tp, ICSK_TIME_RETRANS, tp.rto);
    return;
  }
  if (tp.packets_out === 0) return;
  const head = tp.rtx.first();
  if (head === null) return;
  mib.TcpExt.TCPTimeouts++;
  if (tp.snd_wnd === 0 && !tp.orphan) {
    // the receiver shrank its window: retransmissions act as probes; give up only after 120 s of silence
    if (tp.now() - tp.rcv_tstamp > TCP_RTO_MAX) {
      tcp_write_err(tp);
      return;
    }
    tcp_enter_loss(tp);
    tcp_retransmit_skb(tp, head, 0);
    tp.rto = Math.min(tp.rto * 2, TCP_RTO_MAX);
    tcp_reset_xmit_timer(tp, ICSK_TIME_RETRANS, tp.rto);
    return;
  }
  if (tcp_write_timeout(tp)) return;
  if (tp.retransmits === 0) {
    const x = mib.TcpExt;
    if (tp.ca_state === TCP_CA_Recovery) {
      if (tp.sack_ok) x.TCPSackRecoveryFail++;
      else x.TCPRenoRecoveryFail++;
    } else if (tp.ca_state === TCP_CA_Loss) {
      x.TCPLossFailures++;
    } else if (tp.ca_state === TCP_CA_Disorder || tp.sacked_out) {
      if (tp.sack_ok) x.TCPSackFailures++;
      else x.TCPRenoFailures++;
    }
  }
  tcp_enter_loss(tp);
  tp.retransmits++;
  if (!tcp_retransmit_skb(tp, head, 0)) {
    tcp_reset_xmit_timer(tp, ICSK_TIME_RETRANS, TCP_RESOURCE_PROBE_INTERVAL);
    return;
  }
  tp.backoff++;
  tp.rto = Math.min(tp.rto * 2, TCP_RTO_MAX);
  tcp_reset_xmit_timer(tp, ICSK_TIME_RETRANS, tp.rto);
}

/** tcp_probe_timer: the zero-window probe; a peer that keeps answering is never given up on */
function tcp_probe_timer(tp: TcpSock): void {
  if (tp.packets_out > 0) {
    tp.probes_out = 0;
    return;
  }
  if (!after(tp.write_seq, tp.snd_nxt)) {
    tp.probes_out = 0;
    return;
  }
  const max_probes = tp.net.sysctl.tcp_retries2;
  if (tp.probes_out >= max_probes) {
    tcp_write_err(tp);
    return;
  }
  tcp_send_probe0(tp);
}

/** tcp_delack_timer_handler */
export function tcp_delack_timer(tp: TcpSock): void {
  if (tp.state === TCP_CLOSE || tp.state === TCP_TIME_WAIT) return;
  if (!(tp.ack_pending & ICSK_ACK_TIMER)) return;
  tp.ack_pending &= ~ICSK_ACK_TIMER;
  if (tp.ack_pending & ICSK_ACK_SCHED) {
    if (tp.ack_pingpong === 0) {
      // the delayed ACK was missed: inflate the ATO
      tp.ack_ato = Math.min(tp.ack_ato * 2, tp.rto);
    } else {
      // leave pingpong mode
      tp.ack_pingpong = 0;
      tp.ack_ato = TCP_ATO_MIN;
    }
    tcp_send_ack(tp);
    tp.net.mib.TcpExt.DelayedACKs++;
  }
}

/** tcp_keepalive_timer (sk_timer): TIME_WAIT end, orphan FIN_WAIT2 end, keepalive probes */
export function tcp_keepalive_timer(tp: TcpSock): void {
  const st = tp.state;
  if (st === TCP_TIME_WAIT) {
    tp.net.mib.TcpExt.TW++;
    tw_kill(tp);
    return;
  }
  if (st === TCP_FIN_WAIT2 && tp.orphan) {
    tcp_done(tp, '');
    return;
  }
  if (!tp.keepalive || (st !== TCP_ESTABLISHED && st !== TCP_CLOSE_WAIT)) return;
  if (tp.packets_out > 0 || after(tp.write_seq, tp.snd_nxt)) {
    tp.sk_timer.reset(tp.keepalive_time);
    return;
  }
  const elapsed = tp.now() - Math.max(tp.rcv_tstamp, tp.ack_lrcvtime);
  if (elapsed >= tp.keepalive_time) {
    if (tp.probes_out >= tp.keepalive_probes) {
      tcp_send_active_reset(tp);
      tcp_write_err(tp);
      return;
    }
    if (tcp_write_wakeup(tp)) {
      tp.net.mib.TcpExt.TCPKeepAlive++;
      tp.probes_out++;
      tp.sk_timer.reset(tp.keepalive_intvl);
    } else {
      tp.sk_timer.reset(TCP_RESOURCE_PROBE_INTERVAL);
    }
    return;
  }
  tp.sk_timer.reset(tp.keepalive_time - elapsed);
}

