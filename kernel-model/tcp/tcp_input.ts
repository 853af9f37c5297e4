// TCP input (net/ipv4/tcp_input.c, tcp_minisocks.c): per-state segment processing
// (tcp_rcv_state_process, tcp_rcv_synsent_state_process, the TIME_WAIT rules of
// tcp_timewait_state_process), RFC 5961 validation (tcp_validate_incoming: PAWS, sequence window,
// RST exact match else challenge ACK, SYN challenge), ACK processing (tcp_ack: window update, SACK
// tagging, cumulative cleanup, RTT, congestion control, recovery state machine with PRR), and the
// receive side (tcp_data_queue with out-of-order islands, SACK/D-SACK blocks, delayed ACK / quickack).
// The model always takes Linux's slow path (no header prediction), so TCPHPHits/TCPHPAcks stay 0.
import { TcpOptions, TCPHDR_ACK, TCPHDR_FIN, TCPHDR_PSH, TCPHDR_RST, TCPHDR_SYN, TCPHDR_URG, TCP_MAX_WSCALE, TCPOLEN_TSTAMP_ALIGNED, TCP_HLEN } from '../wire/tcp';
import { getU16, getU32 } from '../wire/bytes';
import { OFO_DUP, OFO_FULL } from './buffers';
import { tcp_check_dsack, TCPCB_EVER_RETRANS, TCPCB_LOST, TCPCB_RETRANS, TCPCB_SACKED_ACKED, TCPCB_SACKED_RETRANS } from './sack';
import { DSACK_SLOT, EV_CONNECT, EV_DATA, ICSK_ACK_NOW, ICSK_ACK_PUSHED, ICSK_ACK_PUSHED2, ICSK_ACK_SCHED, ICSK_TIME_LOSS_PROBE, ICSK_TIME_PROBE0, ICSK_TIME_REO_TIMEOUT, type TcpSock } from './sock';
import { tcp_schedule_loss_probe } from './tcp_tlp';
import { tcp_rcv_rtt_measure, tcp_rcv_rtt_measure_ts } from './tcp_rcvbuf';
import { tcp_newreno_mark_lost, tcp_rack_advance, tcp_rack_mark_lost } from './tcp_recovery';
import {
  __tcp_select_window,
  tcp_clear_xmit_timer,
  tcp_done,
  tcp_in_cwnd_reduction,
  tcp_init_transfer,
  tcp_new_space,
  tcp_probe0_when,
  tcp_push,
  tcp_rearm_rto,
  tcp_receive_window,
  tcp_reset_xmit_timer,
  tcp_send_ack,
  tcp_send_active_reset,
  tcp_send_delayed_ack,
  tcp_send_synack,
  tcp_set_state,
  tcp_sync_mss,
  tcp_time_wait,
  tcp_xmit_retransmit_queue,
  tcp_select_initial_window,
} from './tcp_output';
import { tcp_v4_send_reset_to } from './tcp_ipv4';
import {
  after,
  before,
  between,
  seqSub,
  TCP_ATO_MIN,
  TCP_CA_CWR,
  TCP_CA_Disorder,
  TCP_CA_Loss,
  TCP_CA_Open,
  TCP_CA_Recovery,
  TCP_CLOSE,
  TCP_CLOSE_WAIT,
  TCP_CLOSING,
  TCP_ESTABLISHED,
  TCP_FIN_WAIT1,
  TCP_FIN_WAIT2,
  TCP_INFINITE_SSTHRESH,
  TCP_INVALID_RATELIMIT,
  TCP_LAST_ACK,
  TCP_MAX_QUICKACKS,
  TCP_MAX_REORDERING,
  TCP_MIN_RTT_WLEN,
  TCP_MIN_MSS,
  TCP_MIN_SND_MSS,
  TCP_MSS_DEFAULT,
  TCP_PAWS_24DAYS,
  TCP_PAWS_WINDOW,
  TCP_SYN_RECV,
  TCP_SYN_SENT,
  TCP_TIMEWAIT_LEN,
  TCP_TIME_WAIT,
} from './tcp_states';

/** a received segment, parsed once (struct tcp_skb_cb on receive); one instance is reused */
export class TcpSeg {
  saddr = 0;
  daddr = 0;
  sport = 0;
  dport = 0;
  seq = 0;
  /** seq + payload + SYN + FIN */
  end_seq = 0;
  ack = 0;
  flags = 0;
  window = 0;
  buf: Uint8Array = new Uint8Array(0);
  payOff = 0;
  len = 0;
  /** TCP header length (doff × 4) */
  doff = 0;
  /** skb_shinfo(skb)->gso_size of a GRO-merged skb (the segments' size), else 0 */
  gso_size = 0;
  readonly opts = new TcpOptions();
}

export const rcvSeg = new TcpSeg();

/** fill `seg` from a checked TCP header at buf[o] (len bytes: header + payload) */
export function tcp_parse_segment(seg: TcpSeg, b: Uint8Array, o: number, len: number, saddr: number, daddr: number): TcpSeg {
  const doff = (b[o + 12] >>> 4) << 2;
  seg.saddr = saddr;
  seg.daddr = daddr;
  seg.sport = getU16(b, o);
  seg.dport = getU16(b, o + 2);
  seg.seq = getU32(b, o + 4);
  seg.ack = getU32(b, o + 8);
  seg.flags = b[o + 13];
  seg.window = getU16(b, o + 14);
  seg.buf = b;
  seg.payOff = o + doff;
  seg.len = len - doff;
  seg.doff = doff;
  seg.gso_size = 0;
  seg.end_seq = (seg.seq + seg.len + (seg.flags & TCPHDR_SYN ? 1 : 0) + (seg.flags & TCPHDR_FIN ? 1 : 0)) >>> 0;
  seg.opts.parse(b, o + TCP_HLEN, doff - TCP_HLEN);
  return seg;
}

// tcp_ack flags (FLAG_*)
const FLAG_DATA = 0x01;
const FLAG_WIN_UPDATE = 0x02;
const FLAG_DATA_ACKED = 0x04;
const FLAG_RETRANS_DATA_ACKED = 0x08;
const FLAG_SYN_ACKED = 0x10;
const FLAG_DATA_SACKED = 0x20;
const FLAG_LOST_RETRANS = 0x80;
const FLAG_ORIG_SACK_ACKED = 0x200;
const FLAG_SND_UNA_ADVANCED = 0x400;
const FLAG_DSACKING_ACK = 0x800;
const FLAG_SET_XMIT_TIMER = 0x1000;
const FLAG_DSACK_TLP = 0x20000;
const FLAG_ACKED = FLAG_DATA_ACKED | FLAG_SYN_ACKED;
const FLAG_NOT_DUP = FLAG_DATA | FLAG_WIN_UPDATE | FLAG_ACKED;
const FLAG_CA_ALERT = FLAG_DATA_SACKED | FLAG_DSACKING_ACK;
const FLAG_FORWARD_PROGRESS = FLAG_ACKED | FLAG_DATA_SACKED;

/** tcp_rcv: dispatch by state (tcp_v4_do_rcv → tcp_rcv_established / tcp_rcv_state_process) */
export function tcp_rcv(tp: TcpSock, seg: TcpSeg): void {
  tp.segs_in++;
  if (seg.len > 0) tp.data_segs_in++;
  // which received options this connection may use (tcp_parse_options' estab rules)
  const o = seg.opts;
  tp.saw_tstamp = false;
  if (o.ts && (tp.tstamp_ok || tp.state === TCP_SYN_SENT)) {
    tp.saw_tstamp = true;
    tp.rcv_tsval = o.tsval;
    tp.rcv_tsecr = o.tsecr;
  }
  switch (tp.state) {
    case TCP_TIME_WAIT:
      tcp_timewait_state_process(tp, seg);
      return;
    case TCP_SYN_SENT:
      tcp_rcv_synsent_state_process(tp, seg);
      return;
    case TCP_CLOSE:
      return;
    default:
      tcp_rcv_state_process(tp, seg);
  }
}

// ---- validation (RFC 5961, RFC 7323) ----

/** tcp_paws_check: the TSval is not older than ts_recent by more than `win` (or ts_recent is stale) */
function tcp_paws_check(tp: TcpSock, win: number): boolean {
  if (((tp.ts_recent - tp.rcv_tsval) | 0) <= win) return true;
  if (Math.floor(tp.now() / 1000) >= tp.ts_recent_stamp + TCP_PAWS_24DAYS) return true;
  if (!tp.ts_recent) return true;
  return false;
}

/** tcp_disordered_ack: a pure duplicate ACK reordered behind newer ones is not a PAWS failure */
function tcp_disordered_ack(tp: TcpSock, seg: TcpSeg): boolean {
  return (
    (seg.flags & (TCPHDR_ACK | TCPHDR_SYN | TCPHDR_FIN | TCPHDR_RST)) === TCPHDR_ACK &&
    seg.seq === seg.end_seq &&
    seg.seq === tp.rcv_nxt &&
    seg.ack === tp.snd_una &&
    ((tp.ts_recent - tp.rcv_tsval) | 0) <= (tp.rto * 1024) / 1000
  );
}

/** tcp_oow_rate_limited: one out-of-window / challenge ACK per tcp_invalid_ratelimit; data segments are exempt */
function tcp_oow_rate_limited(tp: TcpSock, seg: TcpSeg | null, counter: 'TCPACKSkippedSeq' | 'TCPACKSkippedPAWS' | 'TCPACKSkippedChallenge' | 'TCPACKSkippedTimeWait'): boolean {
  if (seg !== null && seg.seq !== seg.end_seq && !(seg.flags & TCPHDR_SYN)) return false;
  const now = tp.now();
  if (tp.last_oow_ack_time >= 0 && now - tp.last_oow_ack_time < TCP_INVALID_RATELIMIT) {
    tp.net.mib.TcpExt[counter]++;
    return true;
  }
  tp.last_oow_ack_time = now;
  return false;
}

/** tcp_send_challenge_ack (RFC 5961 §3.2, §4.2, §5.2) */
function tcp_send_challenge_ack(tp: TcpSock): void {
  if (tcp_oow_rate_limited(tp, null, 'TCPACKSkippedChallenge')) return;
  tp.net.mib.TcpExt.TCPChallengeACK++;
  tcp_send_ack(tp);
}

/** tcp_send_dupack: an out-of-window or duplicate segment gets an ACK (with D-SACK for old data) */
function tcp_send_dupack(tp: TcpSock, seg: TcpSeg): void {
  if (seg.end_seq !== seg.seq && before(seg.seq, tp.rcv_nxt)) {
    tp.net.mib.TcpExt.DelayedACKLost++;
    tcp_enter_quickack_mode(tp, TCP_MAX_QUICKACKS);
    if (tp.sack_ok && tp.net.sysctl.tcp_dsack) {
      let end = seg.end_seq;
      if (after(end, tp.rcv_nxt)) end = tp.rcv_nxt;
      tcp_dsack_set(tp, seg.seq, end);
    }
  }
  tcp_send_ack(tp);
}

/** tcp_sequence: the segment overlaps the receive window */
function tcp_sequence(tp: TcpSock, seg: TcpSeg): boolean {
  return !before(seg.end_seq, tp.rcv_wup) && !after(seg.seq, (tp.rcv_nxt + tcp_receive_window(tp)) >>> 0);
}

/** tcp_validate_incoming: false when the segment was consumed (dropped / answered) */
function tcp_validate_incoming(tp: TcpSock, seg: TcpSeg): boolean {
  const mib = tp.net.mib;
  // PAWS (RFC 7323 §5)
  if (tp.saw_tstamp && tp.tstamp_ok && !tcp_paws_check(tp, TCP_PAWS_WINDOW) && !tcp_disordered_ack(tp, seg)) {
    if (!(seg.flags & TCPHDR_RST)) {
      mib.TcpExt.PAWSEstab++;
      if (!tcp_oow_rate_limited(tp, seg, 'TCPACKSkippedPAWS')) tcp_send_dupack(tp, seg);
      return false;
    }
  }
  // step 1: sequence window
  if (!tcp_sequence(tp, seg)) {
    if (!(seg.flags & TCPHDR_RST)) {
      if (seg.flags & TCPHDR_SYN) {
        mib.TcpExt.TCPSYNChallenge++;
        tcp_send_challenge_ack(tp);
        return false;
      }
      if (!tcp_oow_rate_limited(tp, seg, 'TCPACKSkippedSeq')) tcp_send_dupack(tp, seg);
    }
    return false;
  }
  // step 2: RST — only an exact match resets; in-window gets a challenge ACK
  if (seg.flags & TCPHDR_RST) {
    const st = tp.state;
    let match = seg.seq === tp.rcv_nxt;
    if (!match && seg.seq === ((tp.rcv_nxt - 1) >>> 0) && (st === TCP_CLOSE_WAIT || st === TCP_LAST_ACK || st === TCP_CLOSING)) match = true;
    if (!match && tp.sack_ok && tp.num_sacks > 0) {
      let max_sack = tp.selective_acks[1];
      for (let i = 1; i < tp.num_sacks; i++) if (after(tp.selective_acks[2 * i + 1], max_sack)) max_sack = tp.selective_acks[2 * i + 1];
      if (seg.seq === max_sack) match = true;
    }
    if (match) tcp_reset(tp);
    else tcp_send_challenge_ack(tp);
    return false;
  }
  // step 4: a SYN in a synchronized state is answered with a challenge ACK (RFC 5961 §4)
  if (seg.flags & TCPHDR_SYN) {
    mib.TcpExt.TCPSYNChallenge++;
    tcp_send_challenge_ack(tp);
    return false;
  }
  return true;
}

/** tcp_reset: the peer reset the connection */
export function tcp_reset(tp: TcpSock): void {
  const st = tp.state;
  const err = st === TCP_SYN_SENT ? 'ECONNREFUSED' : st === TCP_CLOSE_WAIT ? 'EPIPE' : 'ECONNRESET';
  if (st === TCP_SYN_RECV && tp.parent !== null) tp.net.mib.TcpExt.EmbryonicRsts++;
  tcp_done(tp, err);
}

/** tcp_replace_ts_recent: remember the peer's TSval of an in-order segment */
function tcp_replace_ts_recent(tp: TcpSock, seq: number): void {
  if (tp.saw_tstamp && !after(seq, tp.rcv_wup) && tcp_paws_check(tp, 0)) {
    tp.ts_recent = tp.rcv_tsval;
    tp.ts_recent_stamp = Math.floor(tp.now() / 1000) || 1;
  }
}

// ---- state processing ----

function tcp_negotiate_syn_options(tp: TcpSock, seg: TcpSeg): void {
  const o = seg.opts;
  const sc = tp.net.sysctl;
  tp.mss_clamp = o.mss > 0 ? Math.max(o.mss, TCP_MIN_SND_MSS) : TCP_MSS_DEFAULT;
  tp.wscale_ok = o.wscale >= 0 && sc.tcp_window_scaling;
  if (tp.wscale_ok) {
    tp.snd_wscale = Math.min(o.wscale, TCP_MAX_WSCALE);
  } else {
    tp.snd_wscale = 0;
    if (tp.rcv_wscale !== 0) {
      tp.rcv_wscale = 0;
      tp.window_clamp = Math.min(tp.window_clamp, 65535);
    }
  }
  tp.sack_ok = o.sackPerm && sc.tcp_sack;
  tp.tstamp_ok = o.ts && sc.tcp_timestamps;
  if (tp.tstamp_ok) {
    tp.ts_recent = o.tsval;
    tp.ts_recent_stamp = Math.floor(tp.now() / 1000) || 1;
  } else {
    tp.ts_offset = 0;
  }
  tp.tcp_header_len = TCP_HLEN + (tp.tstamp_ok ? TCPOLEN_TSTAMP_ALIGNED : 0);
}

/** tcp_rcv_synsent_state_process */
function tcp_rcv_synsent_state_process(tp: TcpSock, seg: TcpSeg): void {
  const f = seg.flags;
  if (f & TCPHDR_ACK) {
    // RFC 9293 3.10.7.3: an ACK outside (ISS, SND.NXT] gets a RST (unless it is one)
    if (!after(seg.ack, tp.iss) || after(seg.ack, tp.snd_nxt)) {
      if (!(f & TCPHDR_RST)) tp.af.send_reset(tp, seg.ack, 0, TCPHDR_RST);
      return;
    }
    if (tp.saw_tstamp && tp.rcv_tsecr !== 0) {
      // PAWS on the SYN-ACK: its TSecr (less our offset) must lie between the first SYN's time
      // (retrans_stamp, set by tcp_connect) and now — it echoes one of our SYNs; else reset_and_undo
      const ecr = (tp.rcv_tsecr - tp.ts_offset) >>> 0;
      const now = Math.floor(tp.now()) >>> 0;
      if (!between(ecr, tp.retrans_stamp >>> 0, now)) {
        tp.net.mib.TcpExt.PAWSActive++;
        if (!(f & TCPHDR_RST)) tp.af.send_reset(tp, seg.ack, 0, TCPHDR_RST);
        return;
      }
    }
    if (f & TCPHDR_RST) {
      tcp_reset(tp);
      return;
    }
    if (!(f & TCPHDR_SYN)) return;
    // SYN-ACK: synchronized
    tcp_negotiate_syn_options(tp, seg);
    tp.irs = seg.seq;
    tp.rcv_nxt = (seg.seq + 1) >>> 0;
    tp.rcv_wup = tp.rcv_nxt;
    tp.rcvbuf.headSeq = tp.rcv_nxt;
    tp.snd_wl1 = seg.seq;
    tp.snd_wnd = seg.window; // never scaled in a SYN
    tp.max_window = tp.snd_wnd;
    // tcp_ack → tcp_snd_una_update: the SYN's sequence byte counts in bytes_acked (ss shows
    // bytes_acked:1 on a client that sent nothing; a passive child starts at snd_una = ISN + 1)
    tp.bytes_acked += seqSub(seg.ack, tp.snd_una);
    tp.snd_una = seg.ack;
    // the SYN is acknowledged: no retransmission episode is open any more
    tp.retrans_stamp = 0;
    if (tp.syn_retrans === 0) tcp_ack_update_rtt(tp, tp.now_us() - tp.syn_sent_us, -1);
    else if (tp.saw_tstamp && tp.rcv_tsecr) tcp_ack_update_rtt(tp, -1, -1);
    tcp_clear_xmit_timer(tp);
    tp.retransmits = 0;
    tp.backoff = 0;
    tcp_init_transfer(tp);
    tp.events |= EV_CONNECT;
    tp.ack_lrcvtime = tp.now();
    tcp_send_ack(tp);
    // data written, or a FIN queued, before the connection was up
    if (tp.fin_queued) tcp_set_state(tp, TCP_FIN_WAIT1);
    tcp_push(tp, true);
    return;
  }
  if (f & TCPHDR_RST) return;
  if (f & TCPHDR_SYN) {
    // simultaneous open (RFC 9293 3.5 figure 8): SYN_RECV, answer SYN-ACK with our ISS
    tcp_negotiate_syn_options(tp, seg);
    tp.irs = seg.seq;
    tp.rcv_nxt = (seg.seq + 1) >>> 0;
    tp.rcv_wup = tp.rcv_nxt;
    tp.rcvbuf.headSeq = tp.rcv_nxt;
    tp.snd_wl1 = seg.seq;
    tp.snd_wnd = seg.window;
    tp.max_window = tp.snd_wnd;
    tcp_select_initial_window(tp, tp.advmss - (tp.tstamp_ok ? TCPOLEN_TSTAMP_ALIGNED : 0), tp.wscale_ok);
    tcp_set_state(tp, TCP_SYN_RECV);
    tcp_send_synack(tp);
  }
}

/** tcp_rcv_state_process for SYN_RECV … LAST_ACK (ESTABLISHED included: the slow path) */
function tcp_rcv_state_process(tp: TcpSock, seg: TcpSeg): void {
  const f = seg.flags;
  // a retransmitted SYN for our SYN_RECV: resend the SYN-ACK (tcp_check_req)
  if (tp.state === TCP_SYN_RECV && (f & (TCPHDR_SYN | TCPHDR_ACK | TCPHDR_RST)) === TCPHDR_SYN && seg.seq === tp.irs) {
    if (!tcp_oow_rate_limited(tp, seg, 'TCPACKSkippedSeq')) {
      tp.net.mib.Tcp.RetransSegs++;
      tp.net.mib.TcpExt.TCPSynRetrans++;
      tp.total_retrans++;
      tp.syn_retrans++;
      tcp_send_synack(tp);
    }
    return;
  }
  if (!(f & (TCPHDR_ACK | TCPHDR_RST | TCPHDR_SYN))) return;
  if (!tcp_validate_incoming(tp, seg)) return;
  if (!(f & TCPHDR_ACK)) return;

  // step 5: the ACK
  const st = tp.state;
  if (st === TCP_SYN_RECV) {
    if (!after(seg.ack, tp.snd_una) || after(seg.ack, tp.snd_nxt)) {
      tp.af.send_reset(tp, seg.ack, 0, TCPHDR_RST);
      return;
    }
    // the handshake's RTT (tcp_synack_rtt_meas) unless the SYN-ACK was retransmitted; a cookie
    // child has no SYN-ACK time (snt_synack 0): only the echoed timestamp can give a sample
    if (tp.from_cookie) tcp_ack_update_rtt(tp, -1, -1);
    else if (tp.syn_retrans === 0) tcp_ack_update_rtt(tp, tp.now_us() - tp.syn_sent_us, -1);
    tp.net.mib.Tcp.PassiveOpens++;
    if (tp.parent !== null) {
      tp.acceptor = tp.parent;
      tp.parent.synQueue--;
      tp.parent = null;
    }
    tcp_clear_xmit_timer(tp);
    tp.retransmits = 0;
    tp.backoff = 0;
    // a simultaneous open's SYN time ends here too (tcp_rcv_state_process: retrans_stamp = 0)
    tp.retrans_stamp = 0;
    tp.snd_una = (tp.iss + 1) >>> 0;
    tcp_init_transfer(tp);
    tp.snd_wnd = seg.window << tp.snd_wscale;
    tp.snd_wl1 = seg.seq;
    tp.max_window = Math.max(tp.max_window, tp.snd_wnd);
    tcp_sync_mss(tp, tp.pmtu_cookie || tp.ind.dev.mtu);
    tp.events |= EV_CONNECT;
    if (tp.fin_queued) tcp_set_state(tp, TCP_FIN_WAIT1);
  }
  const r = tcp_ack(tp, seg);
  if (r < 0) return;
  if (r === 0 && tp.state !== TCP_ESTABLISHED) {
    tcp_send_challenge_ack(tp);
    return;
  }
  tcp_replace_ts_recent(tp, seg.seq);

  switch (tp.state) {
    case TCP_FIN_WAIT1:
      if (tp.fin_queued && tp.snd_una === tp.write_seq) {
        tcp_set_state(tp, TCP_FIN_WAIT2);
        if (tp.orphan) tp.sk_timer.reset(tp.net.sysctl.tcp_fin_timeout);
      }
      break;
    case TCP_CLOSING:
      if (tp.snd_una === tp.write_seq) {
        tcp_time_wait(tp);
        return;
      }
      break;
    case TCP_LAST_ACK:
      if (tp.snd_una === tp.write_seq) {
        tcp_done(tp, '');
        return;
      }
      break;
  }

  // the receiver's RTT from the echoed timestamp (tcp_rcv_established step 5), for autotuning
  if (seg.len > 0) tcp_rcv_rtt_measure_ts(tp, seg.len);

  // step 7: data (and FIN)
  const s7 = tp.state;
  if (s7 === TCP_CLOSE_WAIT || s7 === TCP_CLOSING || s7 === TCP_LAST_ACK) {
    // the peer already sent FIN: nothing new can be accepted (only retransmissions get re-ACKed)
    if (before(seg.seq, tp.rcv_nxt)) tcp_data_queue(tp, seg);
  } else if (s7 === TCP_FIN_WAIT1 || s7 === TCP_FIN_WAIT2 || s7 === TCP_ESTABLISHED) {
    if (tp.orphan && s7 !== TCP_ESTABLISHED && seg.end_seq !== seg.seq && after((seg.end_seq - (f & TCPHDR_FIN ? 1 : 0)) >>> 0, tp.rcv_nxt)) {
      // RFC 1122: data for a closed reader resets
      tp.net.mib.TcpExt.TCPAbortOnData++;
      tcp_send_active_reset(tp);
      tcp_reset(tp);
      return;
    }
    tcp_data_queue(tp, seg);
  }
  if (tp.state === TCP_CLOSE) return;
  // tcp_data_snd_check + tcp_ack_snd_check
  if (tp.state !== TCP_TIME_WAIT) {
    tcp_push(tp, false);
    tcp_ack_snd_check(tp);
  }
}

/**
 * TIME_WAIT (tcp_timewait_state_process): a bare in-window ACK restarts the timer; a RST at rcv_nxt
 * ends it (tcp_rfc1337 = 0: "TIME_WAIT assassination" is allowed, as on Linux); a SYN above the old
 * sequence space (or with a newer TSval) ends it so the listener can take the peer's next SYN;
 * anything else (a retransmitted FIN, old data) is ACKed, rate limited, and restarts the timer.
 */
function tcp_timewait_state_process(tp: TcpSock, seg: TcpSeg): void {
  const f = seg.flags;
  if (tp.saw_tstamp && tp.tstamp_ok && !tcp_paws_check(tp, TCP_PAWS_WINDOW)) {
    if (!(f & TCPHDR_RST)) {
      tp.net.mib.TcpExt.PAWSEstab++;
      tcp_send_ack(tp);
    }
    return;
  }
  if (f & TCPHDR_RST) {
    if (seg.seq === tp.rcv_nxt) tw_kill(tp);
    return;
  }
  if (f & TCPHDR_SYN && !(f & TCPHDR_ACK) && (after(seg.seq, tp.rcv_nxt) || (tp.saw_tstamp && ((tp.rcv_tsval - tp.ts_recent) | 0) > 0))) {
    tw_kill(tp);
    return;
  }
  if (seg.seq === tp.rcv_nxt && seg.seq === seg.end_seq) {
    // an in-window bare ACK: stay, restart the timer
    tp.sk_timer.reset(TCP_TIMEWAIT_LEN);
    return;
  }
  // anything else (a retransmitted FIN, old data): ACK it, restart the timer when it carries an ACK
  if (f & TCPHDR_FIN && tp.saw_tstamp) {
    tp.ts_recent = tp.rcv_tsval;
    tp.ts_recent_stamp = Math.floor(tp.now() / 1000) || 1;
  }
  if (f & TCPHDR_ACK) tp.sk_timer.reset(TCP_TIMEWAIT_LEN);
  if (!tcp_oow_rate_limited(tp, seg, 'TCPACKSkippedTimeWait')) tcp_send_ack(tp);
}

/** the TIME_WAIT timer or a RST ended it (inet_twsk_kill); TW counts timer expiries only */
export function tw_kill(tp: TcpSock): void {
  // a reader not yet woken since the FIN (TcpNet.sk_data_ready) still gets what was received:
  // Linux's TIME_WAIT minisock is separate from the full socket the application reads
  if (tp.events !== 0) tp.flush();
  tp.net.unhash(tp);
  tp.sk_timer.kill();
  tp.state = TCP_CLOSE;
  tp.rcvbuf.release();
}

// ---- ACK processing ----

/** tcp_ack_update_rtt: seq RTT (Karn: never-retransmitted data), else the TSecr, else SACK RTT */
function tcp_ack_update_rtt(tp: TcpSock, seq_rtt_us: number, sack_rtt_us: number): boolean {
  if (seq_rtt_us < 0 && tp.saw_tstamp && tp.rcv_tsecr) {
    const d = ((tp.tsval() - tp.rcv_tsecr) | 0) * 1000;
    if (d >= 0) seq_rtt_us = d > 0 ? d : 1000;
  }
  if (seq_rtt_us < 0) seq_rtt_us = sack_rtt_us;
  if (seq_rtt_us < 0) return false;
  tp.rtt.updateMin(seq_rtt_us, tp.now(), TCP_MIN_RTT_WLEN);
  tp.rtt.sample(seq_rtt_us, tp.snd_una, tp.snd_nxt);
  tp.rto = tp.rtt.rto_ms(120_000);
  tp.backoff = 0;
  return true;
}

/** tcp_may_update_window */
function tcp_may_update_window(tp: TcpSock, ack: number, ack_seq: number, nwin: number): boolean {
  return after(ack, tp.snd_una) || after(ack_seq, tp.snd_wl1) || (ack_seq === tp.snd_wl1 && (nwin > tp.snd_wnd || !nwin));
}

/** tcp_sacktag_write_queue: mark SACKed records; returns FLAG_DATA_SACKED / FLAG_DSACKING_ACK bits */
function tcp_sacktag_write_queue(tp: TcpSock, seg: TcpSeg, prior_snd_una: number): number {
  const o = seg.opts;
  const st = tp.sacktag;
  st.reset();
  if (!tp.sack_ok || o.numSacks === 0) return 0;
  let flag = 0;
  const mib = tp.net.mib.TcpExt;
  let first = 0;
  const q = tp.rtx;
  if (tcp_check_dsack(o.sack, o.numSacks, prior_snd_una)) {
    st.dsack = true;
    mib.TCPDSACKRecv++;
    flag |= FLAG_DSACKING_ACK;
    first = 1;
    flag |= tcp_dsack_undo_account(tp, o.sack[0], o.sack[1], prior_snd_una);
  }
  for (let k = first; k < o.numSacks; k++) {
    const s = o.sack[2 * k];
    const e = o.sack[2 * k + 1];
    // tcp_is_sackblock_valid
    if (!before(s, e) || after(e, tp.snd_nxt) || !after(e, prior_snd_una)) {
      mib.TCPSACKDiscard++;
      continue;
    }
    for (let i = q.indexAfter(s); i < q.length; i++) {
      const r = q.at(i);
      if (!before(r.seq, e)) break;
      if (before(r.seq, s) || after(r.end_seq, e)) continue; // partly covered: not marked
      if (r.sacked & TCPCB_SACKED_ACKED) continue;
      // tcp_sacktag_one
      if (!(r.sacked & TCPCB_RETRANS)) {
        if (before(r.end_seq, tp.highest_sack) && tp.sacked_out > 0) {
          st.reord = true;
        }
        if (!after(r.end_seq, tp.high_seq)) flag |= FLAG_ORIG_SACK_ACKED;
        if (st.firstSackt < 0 || r.xmit_us < st.firstSackt) st.firstSackt = r.xmit_us;
        if (r.xmit_us > st.lastSackt) st.lastSackt = r.xmit_us;
      }
      if (r.sacked & TCPCB_LOST) {
        tp.lost_out--;
      }
      if (r.sacked & TCPCB_SACKED_RETRANS) {
        tp.retrans_out--;
      }
      tcp_rack_advance(tp, r.sacked, r.end_seq, r.xmit_us, r.xmit_order);
      r.sacked = (r.sacked & ~(TCPCB_LOST | TCPCB_SACKED_RETRANS)) | TCPCB_SACKED_ACKED;
      tp.rtx.tsRemove(r);
      tp.sacked_out++;
      tp.delivered++;
      st.newlySacked++;
      flag |= FLAG_DATA_SACKED;
      if (after(r.end_seq, tp.highest_sack) || tp.sacked_out === 1) tp.highest_sack = r.end_seq;
    }
  }
  if (st.reord) {
    // tcp_check_sack_reordering
    mib.TCPSACKReorder++;
    tp.reord_seen++;
    tp.reordering = Math.min(Math.max(tp.reordering, tp.sacked_out + 1), TCP_MAX_REORDERING);
  }
  return flag;
}

/**
 * The D-SACK half of tcp_check_dsack / tcp_sacktag_one: a duplicate report of a retransmission made
 * since undo_marker proves that retransmission unnecessary (undo_retrans counts down to an undo).
 * Also says whether the D-SACK covers the tail loss probe (FLAG_DSACK_TLP).
 */
function tcp_dsack_undo_account(tp: TcpSock, s: number, e: number, prior_snd_una: number): number {
  let flag = 0;
  if (tp.tlp_high_seq && tp.tlp_retrans && !after(e, tp.tlp_high_seq) && before(s, tp.tlp_high_seq)) flag |= FLAG_DSACK_TLP;
  if (!tp.undo_marker || tp.undo_retrans <= 0 || !after(e, tp.undo_marker)) return flag;
  if (!after(e, prior_snd_una)) {
    // below the cumulative ACK: count the segments it covers
    const segs = Math.max(1, Math.ceil(seqSub(e, s) / Math.max(tp.mss_cache, 1)));
    tp.undo_retrans = Math.max(0, tp.undo_retrans - segs);
    return flag;
  }
  const q = tp.rtx;
  for (let i = q.indexAfter(s); i < q.length && tp.undo_retrans > 0; i++) {
    const r = q.at(i);
    if (!before(r.seq, e)) break;
    if (r.sacked & TCPCB_EVER_RETRANS && !before(r.seq, s) && !after(r.end_seq, e)) tp.undo_retrans--;
  }
  return flag;
}

/** tcp_clean_rtx_queue: drop fully acknowledged records; returns FLAG_* and fills rtt outputs */
function tcp_clean_rtx_queue(tp: TcpSock, out: { seq_rtt: number; acked: number }): number {
  const q = tp.rtx;
  const ack = tp.snd_una;
  const now = tp.now_us();
  let flag = 0;
  let first_ackt = -1;
  let acked = 0;
  while (q.length > 0) {
    const r = q.first()!;
    if (after(r.end_seq, ack)) {
      // partially acknowledged head: trim (tcp_trim_head)
      if (after(ack, r.seq)) {
        r.seq = ack;
        flag |= FLAG_DATA_ACKED;
      }
      break;
    }
    const s = r.sacked;
    if (s & TCPCB_RETRANS) {
      if (s & TCPCB_SACKED_RETRANS) tp.retrans_out--;
      flag |= FLAG_RETRANS_DATA_ACKED;
    } else if (!(s & TCPCB_SACKED_ACKED)) {
      if (first_ackt < 0) first_ackt = r.xmit_us;
      if (!after(r.end_seq, tp.high_seq)) flag |= FLAG_ORIG_SACK_ACKED;
    }
    if (s & TCPCB_SACKED_ACKED) tp.sacked_out--;
    else {
      if (s & TCPCB_LOST) tp.lost_out--;
      tcp_rack_advance(tp, s, r.end_seq, r.xmit_us, r.xmit_order);
      tp.delivered++;
    }
    tp.packets_out--;
    acked++;
    flag |= FLAG_DATA_ACKED;
    q.shift();
  }
  if (tp.sacked_out < 0) tp.sacked_out = 0;
  out.acked = acked;
  out.seq_rtt = first_ackt >= 0 ? now - first_ackt : -1;
  return flag;
}

const cleanOut = { seq_rtt: -1, acked: 0 };

/**
 * tcp_ack: process the ACK field. Returns −1 (ACK of unsent data: dropped), 0 (an old ACK, below
 * snd_una) or 1.
 */
function tcp_ack(tp: TcpSock, seg: TcpSeg): number {
  const prior_snd_una = tp.snd_una;
  const ack = seg.ack;
  const mib = tp.net.mib.TcpExt;
  let flag = 0;
  if (before(ack, prior_snd_una)) {
    // RFC 5961 §5.2: an ACK older than the window we ever had gets a challenge
    if (before(ack, (prior_snd_una - tp.max_window) >>> 0)) {
      tcp_send_challenge_ack(tp);
      return -1;
    }
    // old_ack: still take its SACK information (and a D-SACK may undo a reduction)
    if (seg.opts.numSacks > 0 && tp.sack_ok) {
      flag |= tcp_sacktag_write_queue(tp, seg, prior_snd_una);
      tcp_fastretrans_alert(tp, 0, flag);
      tcp_xmit_recovery(tp, rexmit);
    }
    return 0;
  }
  if (after(ack, tp.snd_nxt)) return -1;

  if (tp.icsk_pending === ICSK_TIME_REO_TIMEOUT || tp.icsk_pending === ICSK_TIME_LOSS_PROBE) tcp_rearm_rto(tp);
  if (after(ack, prior_snd_una)) {
    flag |= FLAG_SND_UNA_ADVANCED;
    tp.retransmits = 0;
  }
  const prior_packets = tp.packets_out;
  const prior_delivered = tp.delivered;
  const prior_lost = tp.lost_out;
  tp.rcv_tstamp = tp.now();
  tp.probes_out = 0;

  if (seg.seq !== seg.end_seq) flag |= FLAG_DATA;
  else mib.TCPPureAcks++;
  // tcp_ack_update_window
  const nwin = seg.window << tp.snd_wscale;
  if (tcp_may_update_window(tp, ack, seg.seq, nwin)) {
    flag |= FLAG_WIN_UPDATE;
    tp.snd_wl1 = seg.seq;
    if (tp.snd_wnd !== nwin) {
      tp.snd_wnd = nwin;
      if (nwin > tp.max_window) {
        tp.max_window = nwin;
        tcp_sync_mss(tp, tp.pmtu_cookie || tp.ind.dev.mtu);
      }
    }
  }
  if (seg.opts.numSacks > 0) flag |= tcp_sacktag_write_queue(tp, seg, prior_snd_una);
  else tp.sacktag.reset();

  const acked_bytes = seqSub(ack, prior_snd_una);
  tp.snd_una = ack;
  if (acked_bytes > 0) {
    // tcp_snd_una_update: bytes_acked counts sequence space, the FIN's byte included
    tp.bytes_acked += acked_bytes;
    // (the FIN's sequence number is not a byte of the buffer)
    tp.sndbuf.ack(ack);
    tcp_new_space(tp);
  }

  if (prior_packets === 0) {
    // no_queue: a D-SACK may undo; a window probe may have been answered
    if (flag & FLAG_DSACKING_ACK) tcp_fastretrans_alert(tp, 0, flag);
    if (tp.icsk_pending === ICSK_TIME_PROBE0) tcp_ack_probe(tp);
    if (tp.saw_tstamp && tp.rcv_tsecr && flag & FLAG_SND_UNA_ADVANCED) tcp_ack_update_rtt(tp, -1, -1);
    if (tp.tlp_high_seq) tcp_process_tlp_ack(tp, ack, flag);
    return 1;
  }

  flag |= tcp_clean_rtx_queue(tp, cleanOut);
  const acked_pkts = cleanOut.acked;
  const sack_rtt = tp.sacktag.lastSackt >= 0 ? tp.now_us() - tp.sacktag.lastSackt : -1;
  let rtt_sample = -1;
  if (flag & FLAG_ACKED || tp.sacktag.newlySacked > 0) {
    // Karn: an ACK that covers any retransmitted data gives no sequence RTT (timestamps may still)
    const seq_rtt = flag & FLAG_RETRANS_DATA_ACKED ? -1 : cleanOut.seq_rtt;
    if (tcp_ack_update_rtt(tp, seq_rtt, sack_rtt)) rtt_sample = seq_rtt >= 0 ? seq_rtt : sack_rtt;
  }
  if (flag & FLAG_ACKED) {
    if (tp.is_reno()) tcp_remove_reno_sacks(tp, acked_pkts);
    tp.ca.pkts_acked(tp, acked_pkts, rtt_sample);
    flag |= FLAG_SET_XMIT_TIMER;
  }
  if (tp.tlp_high_seq) tcp_process_tlp_ack(tp, ack, flag);

  let num_dupack = 0;
  rexmit = REXMIT_NONE;
  if (!(flag & FLAG_NOT_DUP) || flag & FLAG_CA_ALERT || tp.ca_state !== TCP_CA_Open) {
    if (!(flag & (FLAG_SND_UNA_ADVANCED | FLAG_NOT_DUP | FLAG_DSACKING_ACK))) num_dupack = 1;
    flag = tcp_fastretrans_alert(tp, num_dupack, flag);
  } else if (tp.ca_state === TCP_CA_Open && tp.sack_ok) {
    if (tcp_rack_mark_lost(tp)) flag &= ~FLAG_SET_XMIT_TIMER;
  }
  const what = rexmit;
  // tcp_set_xmit_timer: the loss probe, else the RTO (unless RACK armed its reorder timer)
  if (flag & FLAG_SET_XMIT_TIMER && !tcp_schedule_loss_probe(tp, true)) tcp_rearm_rto(tp);
  const delivered = tp.delivered - prior_delivered;
  const newly_lost = tp.lost_out > prior_lost ? tp.lost_out - prior_lost : 0;
  mib.TCPDelivered += delivered;
  // tcp_cong_control
  if (tcp_in_cwnd_reduction(tp)) tcp_cwnd_reduction(tp, delivered, newly_lost, flag);
  else if (tcp_may_raise_cwnd(tp, flag)) tp.ca.cong_avoid(tp, ack, delivered);
  // the model's Open-state RACK pass above may have marked losses without a recovery decision
  tcp_xmit_recovery(tp, what === REXMIT_NONE && tp.lost_out > 0 ? REXMIT_LOST : what);
  return 1;
}

function tcp_may_raise_cwnd(tp: TcpSock, flag: number): boolean {
  if (tp.reordering > tp.net.sysctl.tcp_reordering) return (flag & FLAG_FORWARD_PROGRESS) !== 0;
  return (flag & FLAG_DATA_ACKED) !== 0;
}

/** tcp_ack_probe: the window opened (or not) after a zero-window probe */
function tcp_ack_probe(tp: TcpSock): void {
  const mss = tp.mss_cache;
  const wnd_end = (tp.snd_una + tp.snd_wnd) >>> 0;
  const unsent = seqSub(tp.write_seq, tp.snd_nxt);
  if (unsent <= 0) {
    tcp_clear_xmit_timer(tp);
    return;
  }
  if (!after((tp.snd_nxt + Math.min(mss, unsent)) >>> 0, wnd_end)) {
    tp.backoff = 0;
    tp.probes_out = 0;
    tcp_clear_xmit_timer(tp);
  } else {
    tcp_reset_xmit_timer(tp, ICSK_TIME_PROBE0, tcp_probe0_when(tp));
  }
}

// Reno "SACK" accounting: dupacks counted in sacked_out
function tcp_add_reno_sack(tp: TcpSock, num_dupack: number): void {
  if (num_dupack === 0) return;
  const prior = tp.sacked_out;
  tp.sacked_out += num_dupack;
  // tcp_check_reno_reordering: never more than could be out
  const holes = Math.max(tp.lost_out, 1);
  if (tp.sacked_out + holes > tp.packets_out) tp.sacked_out = Math.max(tp.packets_out - holes, 0);
  const d = tp.sacked_out - prior;
  if (d > 0) tp.delivered += d;
}

function tcp_remove_reno_sacks(tp: TcpSock, acked: number): void {
  if (acked > 0) {
    tp.delivered += Math.max(acked - tp.sacked_out, 1) - acked; // already counted per record
    if (acked - 1 >= tp.sacked_out) tp.sacked_out = 0;
    else tp.sacked_out -= acked - 1;
  }
}

/** tcp_set_ca_state */
function tcp_set_ca_state(tp: TcpSock, s: number): void {
  tp.ca.set_state(tp, s);
  tp.ca_state = s;
}

/** tcp_init_undo: remember where this reduction began and how many retransmissions are in flight */
export function tcp_init_undo(tp: TcpSock): void {
  tp.undo_marker = tp.snd_una || 1;
  // retransmissions still in flight may be D-SACKed later
  tp.undo_retrans = tp.retrans_out ? tp.retrans_out : -1;
}

/** tcp_current_ssthresh: the threshold to restore on undo */
function tcp_current_ssthresh(tp: TcpSock): number {
  if (tcp_in_cwnd_reduction(tp)) return tp.snd_ssthresh;
  return Math.max(tp.snd_ssthresh, (tp.snd_cwnd >>> 1) + (tp.snd_cwnd >>> 2));
}

/** tcp_enter_recovery + tcp_init_cwnd_reduction */
export function tcp_enter_recovery(tp: TcpSock): void {
  const mib = tp.net.mib.TcpExt;
  if (tp.is_reno()) mib.TCPRenoRecovery++;
  else mib.TCPSackRecovery++;
  tp.prior_ssthresh = 0;
  tcp_init_undo(tp);
  if (!tcp_in_cwnd_reduction(tp)) {
    tp.prior_ssthresh = tcp_current_ssthresh(tp);
    tcp_init_cwnd_reduction(tp);
  }
  tcp_set_ca_state(tp, TCP_CA_Recovery);
}

/** tcp_init_cwnd_reduction: PRR starts; the loss probe (if any) is settled by this reduction */
function tcp_init_cwnd_reduction(tp: TcpSock): void {
  tp.high_seq = tp.snd_nxt;
  tp.tlp_high_seq = 0;
  tp.snd_cwnd_cnt = 0;
  tp.prior_cwnd = tp.snd_cwnd;
  tp.prr_delivered = 0;
  tp.prr_out = 0;
  tp.snd_ssthresh = tp.ca.ssthresh(tp);
}

/** tcp_cwnd_reduction: Proportional Rate Reduction (RFC 6937) */
export function tcp_cwnd_reduction(tp: TcpSock, newly_acked_sacked: number, newly_lost: number, flag: number): void {
  if (newly_acked_sacked <= 0 || !tp.prior_cwnd) return;
  const delta = tp.snd_ssthresh - tp.in_flight();
  tp.prr_delivered += newly_acked_sacked;
  let sndcnt: number;
  if (delta < 0) {
    sndcnt = Math.floor((tp.snd_ssthresh * tp.prr_delivered + tp.prior_cwnd - 1) / tp.prior_cwnd) - tp.prr_out;
  } else {
    sndcnt = Math.max(tp.prr_delivered - tp.prr_out, newly_acked_sacked);
    if (flag & FLAG_SND_UNA_ADVANCED && !newly_lost) sndcnt++;
    sndcnt = Math.min(delta, sndcnt);
  }
  // force a fast retransmit upon entering recovery
  sndcnt = Math.max(sndcnt, tp.prr_out ? 0 : 1);
  tp.snd_cwnd = tp.in_flight() + sndcnt;
}

/** tcp_end_cwnd_reduction: recovery is over — cwnd = ssthresh */
function tcp_end_cwnd_reduction(tp: TcpSock): void {
  if (tp.snd_ssthresh < TCP_INFINITE_SSTHRESH && (tp.ca_state === TCP_CA_CWR || tp.undo_marker)) {
    tp.snd_cwnd = tp.snd_ssthresh;
    tp.snd_cwnd_stamp = tp.jiffies();
  }
}

/** tcp_try_keep_open / tcp_try_to_open */
function tcp_try_keep_open(tp: TcpSock): void {
  if (tp.ca_state !== TCP_CA_CWR) {
    const s = tp.sacked_out + tp.lost_out > 0 || tp.retrans_out > 0 ? TCP_CA_Disorder : TCP_CA_Open;
    if (tp.ca_state !== s) {
      tcp_set_ca_state(tp, s);
      tp.high_seq = tp.snd_nxt;
    }
  }
}

function tcp_try_to_open(tp: TcpSock): void {
  if (tp.retrans_out === 0) tp.retrans_stamp = 0;
  tcp_try_keep_open(tp);
}

// ---- undo of spurious reductions (tcp_input.c: tcp_may_undo, tcp_try_undo_*) ----

/** tcp_packet_delayed: the ACK echoes a TSval older than our first retransmission, or nothing was retransmitted */
function tcp_packet_delayed(tp: TcpSock): boolean {
  if (tp.retrans_stamp && tp.saw_tstamp && tp.rcv_tsecr) {
    // tcp_tsopt_ecr_before: the echoed clock (less our offset) precedes the first retransmission
    const ecr = (tp.rcv_tsecr - tp.ts_offset) >>> 0;
    if (before(ecr, Math.floor(tp.retrans_stamp) >>> 0)) return true;
  }
  return !tp.retrans_stamp && tp.state !== TCP_SYN_SENT;
}

/** tcp_may_undo: every retransmission proved unnecessary (D-SACKs) or the originals got through */
function tcp_may_undo(tp: TcpSock): boolean {
  return tp.undo_marker !== 0 && (!tp.undo_retrans || tcp_packet_delayed(tp));
}

/** tcp_undo_cwnd_reduction: cwnd and ssthresh back to what they were (tcp_reno_undo_cwnd) */
function tcp_undo_cwnd_reduction(tp: TcpSock, unmark_loss: boolean): void {
  if (unmark_loss) {
    const q = tp.rtx;
    for (let i = 0; i < q.length; i++) q.at(i).sacked &= ~TCPCB_LOST;
    tp.lost_out = 0;
  }
  if (tp.prior_ssthresh) {
    tp.snd_cwnd = Math.max(tp.snd_cwnd, tp.prior_cwnd);
    if (tp.prior_ssthresh > tp.snd_ssthresh) tp.snd_ssthresh = tp.prior_ssthresh;
  }
  tp.snd_cwnd_stamp = tp.jiffies();
  tp.undo_marker = 0;
  // make RACK look at the queue again
  tp.rack_advanced = true;
}

/** tcp_any_retrans_done */
function tcp_any_retrans_done(tp: TcpSock): boolean {
  if (tp.retrans_out) return true;
  const head = tp.rtx.first();
  return head !== null && (head.sacked & TCPCB_EVER_RETRANS) !== 0;
}

/** tcp_try_undo_recovery: high_seq is ACKed; undo if the reduction was spurious. True = hold the state (Reno) */
function tcp_try_undo_recovery(tp: TcpSock): boolean {
  if (tcp_may_undo(tp)) {
    const loss = tp.ca_state === TCP_CA_Loss;
    tcp_undo_cwnd_reduction(tp, false);
    if (loss) tp.net.mib.TcpExt.TCPLossUndo++;
    else tp.net.mib.TcpExt.TCPFullUndo++;
  }
  if (tp.snd_una === tp.high_seq && tp.is_reno()) {
    // RFC 6582: hold the state until something above high_seq is ACKed
    if (!tcp_any_retrans_done(tp)) tp.retrans_stamp = 0;
    return true;
  }
  tcp_set_ca_state(tp, TCP_CA_Open);
  return false;
}

/** tcp_try_undo_dsack: D-SACKs covered every retransmission of this episode */
function tcp_try_undo_dsack(tp: TcpSock): boolean {
  if (tp.undo_marker && !tp.undo_retrans) {
    tcp_undo_cwnd_reduction(tp, false);
    tp.net.mib.TcpExt.TCPDSACKUndo++;
    return true;
  }
  return false;
}

/** tcp_try_undo_loss: an RTO proved spurious (by timestamps, D-SACKs, or F-RTO) */
function tcp_try_undo_loss(tp: TcpSock, frto_undo: boolean): boolean {
  if (frto_undo || tcp_may_undo(tp)) {
    tcp_undo_cwnd_reduction(tp, true);
    const mib = tp.net.mib.TcpExt;
    mib.TCPLossUndo++;
    if (frto_undo) mib.TCPSpuriousRTOs++;
    tp.retransmits = 0;
    if (frto_undo || !tp.is_reno()) tcp_set_ca_state(tp, TCP_CA_Open);
    return true;
  }
  return false;
}

/** tcp_try_undo_partial: a partial ACK for an original transmission in Recovery. True = send nothing more now */
function tcp_try_undo_partial(tp: TcpSock): boolean {
  if (tp.undo_marker && tcp_packet_delayed(tp)) {
    // the hole was filled by the delayed original: reordering, not loss
    tp.net.mib.TcpExt.TCPTSReorder++;
    tp.reord_seen++;
    tp.reordering = Math.min(Math.max(tp.reordering, tp.sacked_out + 1), TCP_MAX_REORDERING);
    if (tp.retrans_out) return true;
    if (!tcp_any_retrans_done(tp)) tp.retrans_stamp = 0;
    tcp_undo_cwnd_reduction(tp, true);
    tp.net.mib.TcpExt.TCPPartialUndo++;
    tcp_try_keep_open(tp);
  }
  return false;
}

/** tcp_identify_packet_loss; returns the ack flag with FLAG_LOST_RETRANS / without FLAG_SET_XMIT_TIMER */
function tcp_identify_packet_loss(tp: TcpSock, flag: number): number {
  if (tp.rtx.length === 0) return flag;
  if (tp.is_reno()) {
    tcp_newreno_mark_lost(tp, (flag & FLAG_SND_UNA_ADVANCED) !== 0);
    return flag;
  }
  const prior_retrans = tp.retrans_out;
  if (tcp_rack_mark_lost(tp)) flag &= ~FLAG_SET_XMIT_TIMER;
  if (prior_retrans > tp.retrans_out) flag |= FLAG_LOST_RETRANS;
  return flag;
}

// tcp_xmit_recovery's what-to-send (REXMIT_*)
const REXMIT_NONE = 0;
const REXMIT_LOST = 1;
const REXMIT_NEW = 2;

/** the rexmit decision of the last tcp_fastretrans_alert call */
let rexmit = REXMIT_NONE;

/** tcp_process_loss: Loss state after an RTO, with F-RTO (RFC 5682, SACK-enhanced, tcp_frto = 2) */
function tcp_process_loss(tp: TcpSock, flag: number, num_dupack: number): void {
  const recovered = !before(tp.snd_una, tp.high_seq);
  if (flag & FLAG_SND_UNA_ADVANCED && tcp_try_undo_loss(tp, false)) return;
  if (tp.frto) {
    // 3.b: the RTO was spurious if never-retransmitted data is (S)ACKed
    if (flag & FLAG_ORIG_SACK_ACKED && tcp_try_undo_loss(tp, true)) return;
    if (after(tp.snd_nxt, tp.high_seq)) {
      // 3.a: a duplicate ACK or SACK after new data: the loss was real
      if (flag & FLAG_DATA_SACKED || num_dupack) tp.frto = false;
    } else if (flag & FLAG_SND_UNA_ADVANCED && !recovered) {
      tp.high_seq = tp.snd_nxt;
      // 2.b: send new data (after cwnd is updated in tcp_ack), else conventional recovery
      if (before(tp.snd_nxt, tp.write_seq) && after((tp.snd_una + tp.snd_wnd) >>> 0, tp.snd_nxt)) {
        rexmit = REXMIT_NEW;
        return;
      }
      tp.frto = false;
    }
  }
  if (recovered) {
    // 2.a and the first part of 3.a
    tcp_try_undo_recovery(tp);
    return;
  }
  if (tp.is_reno()) {
    // a Reno dupack means new data sent in 2.b arrived
    if (after(tp.snd_nxt, tp.high_seq) && num_dupack) tcp_add_reno_sack(tp, num_dupack);
    else if (flag & FLAG_SND_UNA_ADVANCED) tp.sacked_out = 0;
  }
  rexmit = REXMIT_LOST;
}

/** tcp_time_to_recover: RACK or NewReno marked something lost */
function tcp_time_to_recover(tp: TcpSock): boolean {
  return tp.lost_out > 0;
}

/**
 * tcp_fastretrans_alert: the recovery state machine (Open → Disorder → Recovery; Loss after RTO) with
 * undo of spurious reductions. Sets `rexmit`; returns the ack flag (FLAG_SET_XMIT_TIMER may be cleared).
 */
function tcp_fastretrans_alert(tp: TcpSock, num_dupack: number, flag: number): number {
  rexmit = REXMIT_NONE;
  if (tp.packets_out === 0 && tp.sacked_out) tp.sacked_out = 0;
  // D. exit conditions once high_seq is acknowledged
  if (tp.ca_state === TCP_CA_Open) {
    tp.retrans_stamp = tp.retrans_out ? tp.retrans_stamp : 0;
  } else if (!before(tp.snd_una, tp.high_seq)) {
    switch (tp.ca_state) {
      case TCP_CA_CWR:
        if (tp.snd_una !== tp.high_seq) {
          tcp_end_cwnd_reduction(tp);
          tcp_set_ca_state(tp, TCP_CA_Open);
        }
        break;
      case TCP_CA_Recovery:
        if (tp.is_reno()) tp.sacked_out = 0;
        if (tcp_try_undo_recovery(tp)) return flag;
        tcp_end_cwnd_reduction(tp);
        break;
    }
  }
  // E. process the state
  switch (tp.ca_state) {
    case TCP_CA_Recovery:
      if (!(flag & FLAG_SND_UNA_ADVANCED)) {
        if (tp.is_reno()) tcp_add_reno_sack(tp, num_dupack);
      } else if (tcp_try_undo_partial(tp)) {
        return flag;
      }
      if (tcp_try_undo_dsack(tp)) tcp_try_keep_open(tp);
      flag = tcp_identify_packet_loss(tp, flag);
      if (tp.ca_state !== TCP_CA_Recovery) {
        if (!tcp_time_to_recover(tp)) return flag;
        // undo reverted the state, but loss is evident: a new recovery
        tcp_enter_recovery(tp);
      }
      break;
    case TCP_CA_Loss:
      tcp_process_loss(tp, flag, num_dupack);
      flag = tcp_identify_packet_loss(tp, flag);
      if (!((tp.ca_state as number) === TCP_CA_Open || flag & FLAG_LOST_RETRANS)) return flag;
      // the cwnd was undone or retransmissions were lost: on as in Open
      flag = open_process(tp, num_dupack, flag);
      break;
    default:
      flag = open_process(tp, num_dupack, flag);
  }
  if (rexmit === REXMIT_NONE) rexmit = REXMIT_LOST;
  return flag;
}

function open_process(tp: TcpSock, num_dupack: number, flag: number): number {
  if (tp.is_reno()) {
    if (flag & FLAG_SND_UNA_ADVANCED) tp.sacked_out = 0;
    tcp_add_reno_sack(tp, num_dupack);
  }
  if (tp.ca_state <= TCP_CA_Disorder) tcp_try_undo_dsack(tp);
  flag = tcp_identify_packet_loss(tp, flag);
  if (!tcp_time_to_recover(tp)) {
    tcp_try_to_open(tp);
    return flag;
  }
  tcp_enter_recovery(tp);
  return flag;
}

/** tcp_xmit_recovery: new data for F-RTO step 2.b, else the lost segments */
function tcp_xmit_recovery(tp: TcpSock, what: number): void {
  if (what === REXMIT_NONE) return;
  if (what === REXMIT_NEW) {
    tcp_push(tp, false);
    if (after(tp.snd_nxt, tp.high_seq)) return;
    tp.frto = false;
  }
  tcp_xmit_retransmit_queue(tp);
}

/** tcp_process_tlp_ack: did the tail loss probe repair a loss? (RFC 8985 §7.4) */
function tcp_process_tlp_ack(tp: TcpSock, ack: number, flag: number): void {
  if (before(ack, tp.tlp_high_seq)) return;
  if (!tp.tlp_retrans) {
    // a probe of new data was ACKed
    tp.tlp_high_seq = 0;
  } else if (flag & FLAG_DSACK_TLP) {
    // the original and the probe both arrived: no loss
    tp.tlp_high_seq = 0;
  } else if (after(ack, tp.tlp_high_seq)) {
    // the probe repaired a loss: reduce cwnd once (CWR)
    tcp_init_cwnd_reduction(tp);
    tcp_set_ca_state(tp, TCP_CA_CWR);
    tcp_end_cwnd_reduction(tp);
    tcp_try_keep_open(tp);
    tp.net.mib.TcpExt.TCPLossProbeRecovery++;
  } else if (!(flag & (FLAG_SND_UNA_ADVANCED | FLAG_NOT_DUP | FLAG_DATA_SACKED))) {
    // a pure dupack: both arrived
    tp.tlp_high_seq = 0;
  }
}

// ---- receive side ----

/** tcp_enter_quickack_mode / tcp_incr_quickack */
export function tcp_enter_quickack_mode(tp: TcpSock, max: number): void {
  let q = Math.floor(tp.rcv_wnd / (2 * tp.ack_rcv_mss));
  if (q === 0) q = 2;
  q = Math.min(q, max);
  if (q > tp.ack_quick) tp.ack_quick = q;
  tp.ack_pingpong = 0;
  tp.ack_ato = TCP_ATO_MIN;
}

function tcp_incr_quickack(tp: TcpSock, max: number): void {
  let q = Math.floor(tp.rcv_wnd / (2 * tp.ack_rcv_mss));
  if (q === 0) q = 2;
  q = Math.min(q, max);
  if (q > tp.ack_quick) tp.ack_quick = q;
}

/** the flags after which a short segment may legitimately end a write (TCP_REMNANT) */
const TCP_REMNANT = TCPHDR_FIN | TCPHDR_URG | TCPHDR_SYN | TCPHDR_PSH;

/**
 * tcp_measure_rcv_mss (tcp_input.c, 6.12 / 6.1.y stable): the receiver's estimate of the sender's MSS.
 * A segment (or GRO segment size) at least rcv_mss sets it, and with PSH marks ACK_PUSHED (the end of
 * a write: "tcp: fix delayed ACKs for MSS boundary condition"). A shorter one lowers the estimate
 * only when two in a row have the same size and are not short by choice (≥ 536 + 20 bytes with the
 * header, or ≥ 88 + 20 without FIN/URG/SYN/PSH); otherwise it is "pushed": ACK_PUSHED, and
 * ACK_PUSHED2 when one was already pending — tcp_cleanup_rbuf ACKs those once the reader has read.
 */
function tcp_measure_rcv_mss(tp: TcpSock, seg: TcpSeg): void {
  const lss = tp.ack_last_seg_size;
  tp.ack_last_seg_size = 0;
  let len = seg.gso_size || seg.len;
  if (len >= tp.ack_rcv_mss) {
    tp.ack_rcv_mss = Math.min(len, tp.advmss);
    if (seg.flags & TCPHDR_PSH) tp.ack_pending |= ICSK_ACK_PUSHED;
    return;
  }
  len += seg.doff;
  if (len >= TCP_MSS_DEFAULT + TCP_HLEN || (len >= TCP_MIN_MSS + TCP_HLEN && !(seg.flags & TCP_REMNANT))) {
    // less the invariant header (with the timestamp option): the MSS free of SACK-block jitter
    len -= tp.tcp_header_len;
    tp.ack_last_seg_size = len;
    if (len === lss) {
      tp.ack_rcv_mss = len;
      return;
    }
  }
  if (tp.ack_pending & ICSK_ACK_PUSHED) tp.ack_pending |= ICSK_ACK_PUSHED2;
  tp.ack_pending |= ICSK_ACK_PUSHED;
}

/** tcp_event_data_recv: receive-MSS estimate, ATO adaptation, window growth */
function tcp_event_data_recv(tp: TcpSock, seg: TcpSeg, len: number): void {
  tcp_measure_rcv_mss(tp, seg);
  const now = tp.now();
  if (!tp.ack_ato) {
    // the first data: start in quickack mode
    tcp_incr_quickack(tp, TCP_MAX_QUICKACKS);
    tp.ack_ato = TCP_ATO_MIN;
  } else {
    const m = now - tp.ack_lrcvtime;
    if (m <= TCP_ATO_MIN / 2) {
      tp.ack_ato = (tp.ack_ato >>> 1) + TCP_ATO_MIN / 2;
    } else if (m < tp.ack_ato) {
      tp.ack_ato = (tp.ack_ato >>> 1) + m;
      if (tp.ack_ato > tp.rto) tp.ack_ato = tp.rto;
    } else if (m > tp.rto) {
      // a long gap: the sender restarts its window, ACK quickly
      tcp_incr_quickack(tp, TCP_MAX_QUICKACKS);
    }
  }
  tp.ack_lrcvtime = now;
  tcp_rcv_rtt_measure(tp);
  // tcp_grow_window: the model's truesize is 2 × len, so every segment ≥ 128 bytes earns 2 × advmss
  if (len >= 128) {
    const room = Math.min(tp.window_clamp, tcp_space_now(tp)) - tp.rcv_ssthresh;
    if (room > 0) {
      const incr = Math.max(2 * tp.advmss, 2 * len);
      tp.rcv_ssthresh += Math.min(room, incr);
      tp.ack_quick |= 1;
    }
  }
}

function tcp_space_now(tp: TcpSock): number {
  const held = seqSub(tp.rcv_nxt_data(), tp.rcvbuf.headSeq) + (tp.rcvbuf.ofo.length > 0 ? tp.rcvbuf.ofoBytes : 0);
  return Math.max(tp.rcvbuf.capacity - held, 0);
}

/** tcp_dsack_set */
function tcp_dsack_set(tp: TcpSock, seq: number, end_seq: number): void {
  if (!tp.sack_ok || !tp.net.sysctl.tcp_dsack) return;
  if (before(seq, tp.rcv_nxt)) tp.net.mib.TcpExt.TCPDSACKOldSent++;
  else tp.net.mib.TcpExt.TCPDSACKOfoSent++;
  tp.dsack = true;
  tp.selective_acks[DSACK_SLOT] = seq;
  tp.selective_acks[DSACK_SLOT + 1] = end_seq;
}

/** tcp_sack_new_ofo_skb: the block covering new out-of-order data moves to the front */
function tcp_sack_new_ofo_skb(tp: TcpSock, seq: number, end_seq: number): void {
  const sa = tp.selective_acks;
  let n = tp.num_sacks;
  for (let i = 0; i < n; i++) {
    const s = sa[2 * i];
    const e = sa[2 * i + 1];
    if (!after(seq, e) && !after(s, end_seq)) {
      // extend and rotate to the front
      const ns = before(seq, s) ? seq : s;
      const ne = after(end_seq, e) ? end_seq : e;
      for (let j = i; j > 0; j--) {
        sa[2 * j] = sa[2 * j - 2];
        sa[2 * j + 1] = sa[2 * j - 1];
      }
      sa[0] = ns;
      sa[1] = ne;
      // tcp_sack_maybe_coalesce
      for (let j = 1; j < tp.num_sacks; ) {
        const js = sa[2 * j];
        const je = sa[2 * j + 1];
        if (!after(js, sa[1]) && !after(sa[0], je)) {
          if (before(js, sa[0])) sa[0] = js;
          if (after(je, sa[1])) sa[1] = je;
          tcp_sack_drop_block(tp, sa, j);
        } else {
          j++;
        }
      }
      return;
    }
  }
  if (n >= 4) n = 3;
  for (let j = n; j > 0; j--) {
    sa[2 * j] = sa[2 * j - 2];
    sa[2 * j + 1] = sa[2 * j - 1];
  }
  sa[0] = seq;
  sa[1] = end_seq;
  tp.num_sacks = n + 1;
}

/** remove SACK block i, moving the later ones down (tcp_sack_maybe_coalesce and tcp_sack_remove do this) */
function tcp_sack_drop_block(tp: TcpSock, sa: Uint32Array, i: number): void {
  for (let k = i; k < tp.num_sacks - 1; k++) {
    sa[2 * k] = sa[2 * k + 2];
    sa[2 * k + 1] = sa[2 * k + 3];
  }
  tp.num_sacks--;
}

/** tcp_sack_remove: blocks now below rcv_nxt go */
function tcp_sack_remove(tp: TcpSock): void {
  if (tp.rcvbuf.ofo.length === 0) {
    tp.num_sacks = 0;
    return;
  }
  const sa = tp.selective_acks;
  for (let i = 0; i < tp.num_sacks; ) {
    if (!before(tp.rcv_nxt, sa[2 * i])) {
      tcp_sack_drop_block(tp, sa, i);
    } else {
      i++;
    }
  }
}

/** tcp_data_queue: in-order data to the reader, duplicates ACKed (D-SACK), the rest out of order */
function tcp_data_queue(tp: TcpSock, seg: TcpSeg): void {
  const fin = (seg.flags & TCPHDR_FIN) !== 0;
  if (seg.seq === seg.end_seq) return;
  const mib = tp.net.mib.TcpExt;
  let seq = seg.seq;
  let payOff = seg.payOff;
  let len = seg.len;
  // after our reader saw the peer's FIN nothing more can be queued
  if (tp.peer_fin_received) {
    if (!before(seg.seq, tp.rcv_nxt)) return;
  }
  if (seq === tp.rcv_nxt || (before(seq, tp.rcv_nxt) && after(seg.end_seq, tp.rcv_nxt))) {
    if (before(seq, tp.rcv_nxt)) {
      // partial duplicate: D-SACK the old part, trim it
      tcp_dsack_set(tp, seq, tp.rcv_nxt);
      const d = seqSub(tp.rcv_nxt, seq);
      seq = tp.rcv_nxt;
      payOff += d;
      len -= d;
      if (len < 0) len = 0;
    }
    if (tcp_receive_window(tp) === 0 && len > 0) {
      mib.TCPZeroWindowDrop++;
      out_of_window(tp);
      return;
    }
    // the ring holds what the window allowed (plus rounding slack); anything beyond is dropped
    const room = tp.rcvbuf.size - tp.rcvbuf.offsetOf(seq);
    let withFin = fin;
    if (len > room) {
      len = room > 0 ? room : 0;
      withFin = false;
      mib.TCPRcvQDrop++;
    }
    if (len > 0) {
      tp.rcvbuf.store(seq, seg.buf, payOff, len);
      tp.rcv_nxt = (seq + len) >>> 0;
      tp.bytes_received += len;
      tcp_event_data_recv(tp, seg, len);
      tp.events |= EV_DATA;
    }
    if (tp.rcvbuf.ofo.length > 0) {
      const n = tp.rcvbuf.drainOfo(tp.rcv_nxt);
      if (n !== tp.rcv_nxt) {
        tp.bytes_received += seqSub(n, tp.rcv_nxt);
        tp.rcv_nxt = n;
        tp.events |= EV_DATA;
      }
      // a filled hole is ACKed at once (RFC 5681 4.2)
      if (tp.rcvbuf.ofo.length === 0) tp.ack_pending |= ICSK_ACK_NOW;
    }
    if (withFin) tcp_fin(tp);
    else if (tp.ofo_fin_seq >= 0 && tp.rcv_nxt === tp.ofo_fin_seq) tcp_fin(tp);
    if (tp.num_sacks) tcp_sack_remove(tp);
    tp.ack_pending |= ICSK_ACK_SCHED;
    return;
  }
  if (!after(seg.end_seq, tp.rcv_nxt)) {
    // a retransmission of what we have: D-SACK and ACK at once
    mib.DelayedACKLost++;
    tcp_dsack_set(tp, seg.seq, seg.end_seq);
    out_of_window(tp);
    return;
  }
  if (!before(seq, (tp.rcv_nxt + tcp_receive_window(tp)) >>> 0)) {
    out_of_window(tp);
    return;
  }
  tcp_data_queue_ofo(tp, seg);
}

function out_of_window(tp: TcpSock): void {
  tcp_enter_quickack_mode(tp, TCP_MAX_QUICKACKS);
  tp.ack_pending |= ICSK_ACK_SCHED;
}

/** tcp_data_queue_ofo */
function tcp_data_queue_ofo(tp: TcpSock, seg: TcpSeg): void {
  const mib = tp.net.mib.TcpExt;
  mib.TCPOFOQueue++;
  tp.ack_pending |= ICSK_ACK_SCHED;
  let len = seg.len;
  const fin = (seg.flags & TCPHDR_FIN) !== 0;
  const room = tp.rcvbuf.size - tp.rcvbuf.offsetOf(seg.seq);
  let withFin = fin;
  if (len > room) {
    len = room;
    withFin = false;
  }
  if (len <= 0 && !withFin) {
    mib.TCPOFODrop++;
    return;
  }
  const end = (seg.seq + len) >>> 0;
  if (len > 0) {
    // the overlap with what is held, for the D-SACK
    const ofo = tp.rcvbuf.ofo;
    let ds = -1;
    let de = -1;
    for (let i = 0; i < ofo.length; i += 2) {
      if (before(ofo[i], end) && after(ofo[i + 1], seg.seq)) {
        ds = after(ofo[i], seg.seq) ? ofo[i] : seg.seq;
        de = before(ofo[i + 1], end) ? ofo[i + 1] : end;
        break;
      }
    }
    const r = tp.rcvbuf.addOfo(seg.seq, end);
    if (r === OFO_FULL) {
      mib.TCPOFODrop++;
      return;
    }
    if (r === OFO_DUP && ds >= 0) {
      mib.TCPOFOMerge++;
      tcp_dsack_set(tp, ds >>> 0, de >>> 0);
    }
    tp.rcvbuf.store(seg.seq, seg.buf, seg.payOff, len);
    if (tp.sack_ok) tcp_sack_new_ofo_skb(tp, seg.seq, end);
  }
  if (withFin) tp.ofo_fin_seq = end;
}

/** tcp_fin: the peer's FIN is in order */
function tcp_fin(tp: TcpSock): void {
  if (tp.peer_fin_received) return;
  tp.rcv_nxt = (tp.rcv_nxt + 1) >>> 0;
  tp.peer_fin_received = true;
  tp.ofo_fin_seq = -1;
  tp.ack_pending |= ICSK_ACK_SCHED;
  tp.events |= EV_DATA;
  switch (tp.state) {
    case TCP_SYN_RECV:
    case TCP_ESTABLISHED:
      tcp_set_state(tp, TCP_CLOSE_WAIT);
      tp.ack_pingpong = 1;
      break;
    case TCP_FIN_WAIT1:
      // simultaneous close
      tcp_send_ack(tp);
      tcp_set_state(tp, TCP_CLOSING);
      break;
    case TCP_FIN_WAIT2:
      tcp_send_ack(tp);
      tcp_time_wait(tp);
      break;
  }
  // out-of-order data beyond the FIN is dropped
  tp.rcvbuf.ofo.length = 0;
  tp.num_sacks = 0;
}

/** __tcp_ack_snd_check: ACK now (more than one full segment, quickack, ACK_NOW, out-of-order) or delay */
function tcp_ack_snd_check(tp: TcpSock): void {
  if (!(tp.ack_pending & ICSK_ACK_SCHED)) return;
  if (tp.state === TCP_CLOSE || tp.state === TCP_TIME_WAIT) return;
  if (
    (seqSub(tp.rcv_nxt, tp.rcv_wup) > tp.ack_rcv_mss && __tcp_select_window(tp) >= tp.rcv_wnd) ||
    (tp.ack_quick > 0 && tp.ack_pingpong === 0) ||
    tp.ack_pending & ICSK_ACK_NOW ||
    tp.rcvbuf.ofo.length > 0
  ) {
    tcp_send_ack(tp);
    return;
  }
  tcp_send_delayed_ack(tp);
}

/**
 * tcp_cleanup_rbuf: after the reader took `copied` bytes, send a window update when the window
 * the peer sees has at least doubled (or an ACK was being delayed and is now due anyway).
 */
export function tcp_cleanup_rbuf(tp: TcpSock, copied: number): void {
  if (tp.state === TCP_CLOSE || tp.state === TCP_TIME_WAIT || tp.state === TCP_SYN_SENT) return;
  let time_to_ack = false;
  if (tp.ack_pending & ICSK_ACK_SCHED) {
    const p = tp.ack_pending;
    // the once-per-two-segments ACK was not sent by the receive path; or this read emptied the
    // receive queue (sk_rmem_alloc 0: nothing unread, nothing out of order) after a short segment,
    // and the connection is not interactive (PUSHED2: two short segments — ACK even then)
    if (
      seqSub(tp.rcv_nxt, tp.rcv_wup) > tp.ack_rcv_mss ||
      (copied > 0 && (p & ICSK_ACK_PUSHED2 || (p & ICSK_ACK_PUSHED && tp.ack_pingpong === 0)) && tp.readableLength === 0 && tp.rcvbuf.ofo.length === 0)
    ) {
      time_to_ack = true;
    }
  }
  if (copied > 0 && !time_to_ack && !tp.peer_fin_received) {
    const now_win = tcp_receive_window(tp);
    if (2 * now_win <= tp.window_clamp) {
      const new_win = __tcp_select_window(tp);
      if (new_win && new_win >= 2 * now_win) time_to_ack = true;
    }
  }
  if (time_to_ack) tcp_send_ack(tp);
}

