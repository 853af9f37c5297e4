// TCP output (net/ipv4/tcp_output.c): building and sending segments (__tcp_transmit_skb), the
// send loop with cwnd / receive-window / Nagle tests (tcp_write_xmit), ACKs and delayed ACKs,
// retransmissions, FIN, RST, SYN / SYN-ACK with Linux's option layout and initial window
// (tcp_select_initial_window), window selection (__tcp_select_window), MSS (tcp_sync_mss), zero-window
// probes (tcp_send_probe0 / tcp_write_wakeup), and the state changes with their counters.
import type { InDevice } from '../ipv4/devinet';
import { MAX_IPV4_HEADER } from '../ipv4/ip_output';
import { CHECKSUM_PARTIAL, SKB_GSO_TCPV4, SKB_GSO_TCPV6 } from '../core/skb';
import { NETIF_F_GSO, NETIF_F_GSO_SOFTWARE, NETIF_F_TSO, NETIF_F_TSO6 } from '../core/netdevice';
import { csum_fold16, csum_tcpudp_nofold } from '../wire/checksum';
import { IPPROTO_TCP } from '../wire/ipv4';
import { csum_ipv6_magic } from '../wire/ipv6';
import { AF_INET } from './tcp_af_ops';
import { setU16, setU32 } from '../wire/bytes';
import {
  TCPHDR_ACK,
  TCPHDR_FIN,
  TCPHDR_PSH,
  TCPHDR_RST,
  TCPHDR_SYN,
  TCPOLEN_SACK_BASE_ALIGNED,
  TCPOLEN_SACK_PERBLOCK,
  TCPOLEN_TSTAMP_ALIGNED,
  TCP_HLEN,
  TCP_MAX_OPTION_SPACE,
  TCP_MAX_WSCALE,
  TcpOutOptions,
  tcp_options_size,
  tcp_options_write,
} from '../wire/tcp';
import { TCPCB_EVER_RETRANS, TCPCB_LOST, TCPCB_SACKED_ACKED, TCPCB_SACKED_RETRANS, type TcpSkbCb } from './sack';
import {
  EV_CLOSE,
  EV_DRAIN,
  ICSK_ACK_PUSHED,
  ICSK_ACK_SCHED,
  ICSK_ACK_TIMER,
  ICSK_TIME_LOSS_PROBE,
  ICSK_TIME_PROBE0,
  ICSK_TIME_REO_TIMEOUT,
  ICSK_TIME_RETRANS,
  DSACK_SLOT,
  type TcpListener,
  TcpSock,
} from './sock';
import { CA_EVENT_CWND_RESTART, CA_EVENT_TX_START } from './tcp_cong';
import type { SynInfo, TcpNet } from './tcp_ipv4';
import { tcp_schedule_loss_probe } from './tcp_tlp';
import { tcp_init_buffer_space, tcp_should_expand_sndbuf, tcp_sndbuf_expand } from './tcp_rcvbuf';
import {
  after,
  before,
  seqSub,
  TCP_ATO_MIN,
  TCP_CA_CWR,
  TCP_CA_Loss,
  TCP_CA_Recovery,
  TCP_CLOSE,
  TCP_CLOSE_WAIT,
  TCP_DELACK_MAX,
  TCP_DELACK_MAX_NONPINGPONG,
  TCP_DELACK_MIN,
  TCP_ESTABLISHED,
  TCP_INIT_CWND,
  TCP_MIN_SND_MSS,
  TCP_MSS_DEFAULT,
  TCP_RTO_MAX,
  TCP_SYN_RECV,
  TCP_SYN_SENT,
  TCP_TIMEOUT_FALLBACK,
  TCP_TIMEOUT_INIT,
  TCP_TIMEWAIT_LEN,
  TCP_TIME_WAIT,
} from './tcp_states';

const outOpts = new TcpOutOptions();

// ---- states ----

/** tcp_set_state with its counters: CurrEstab counts ESTABLISHED; EstabResets closes from ESTABLISHED/CLOSE_WAIT */
export function tcp_set_state(tp: TcpSock, state: number): void {
  const old = tp.state;
  const mib = tp.net.mib.Tcp;
  if (state === TCP_ESTABLISHED) {
    if (old !== TCP_ESTABLISHED) mib.CurrEstab++;
  } else {
    if (state === TCP_CLOSE && (old === TCP_CLOSE_WAIT || old === TCP_ESTABLISHED)) mib.EstabResets++;
    if (old === TCP_ESTABLISHED) mib.CurrEstab--;
  }
  tp.state = state;
}

/** tcp_done: CLOSED for good — timers off, buffers freed, unhashed, the user told */
export function tcp_done(tp: TcpSock, error: string): void {
  if (tp.state === TCP_SYN_SENT || tp.state === TCP_SYN_RECV) tp.net.mib.Tcp.AttemptFails++;
  if (tp.state !== TCP_CLOSE) tcp_set_state(tp, TCP_CLOSE);
  if (error !== '' && tp.error === '') tp.error = error;
  tp.shutdown = 3;
  tcp_release(tp);
  tp.net.unhash(tp);
  tp.events |= EV_CLOSE;
}

function tcp_release(tp: TcpSock): void {
  tp.retransmit_timer.kill();
  tp.delack_timer.kill();
  tp.sk_timer.kill();
  tp.icsk_pending = 0;
  tp.ack_pending = 0;
  tp.rtx.clear();
  tp.sndbuf.release();
  if (tp.parent !== null) {
    tp.parent.synQueue--;
    tp.parent = null;
  }
  tp.releaseOwner();
}

/** tcp_time_wait: keep the 4-tuple for TCP_TIMEWAIT_LEN to absorb old duplicates and re-ACK FINs */
export function tcp_time_wait(tp: TcpSock): void {
  tcp_set_state(tp, TCP_TIME_WAIT);
  tp.retransmit_timer.kill();
  tp.delack_timer.kill();
  tp.icsk_pending = 0;
  tp.ack_pending = 0;
  tp.rtx.clear();
  tp.sndbuf.release();
  tp.packets_out = tp.sacked_out = tp.lost_out = tp.retrans_out = 0;
  tp.sk_timer.reset(TCP_TIMEWAIT_LEN);
  tp.releaseOwner();
  tp.events |= EV_CLOSE;
}

// ---- MSS and windows ----

/** tcp_sync_mss: the send MSS for the path MTU — min(pmtu − 40, peer MSS) − option overhead, bounded */
export function tcp_sync_mss(tp: TcpSock, pmtu: number): number {
  tp.pmtu_cookie = pmtu;
  let mss = pmtu - tp.af.net_header_len - TCP_HLEN;
  if (mss > tp.mss_clamp) mss = tp.mss_clamp;
  if (mss < TCP_MIN_SND_MSS) mss = TCP_MIN_SND_MSS;
  mss -= tp.tcp_header_len - TCP_HLEN;
  // tcp_bound_to_half_wnd
  const cutoff = tp.max_window > TCP_MSS_DEFAULT ? tp.max_window >>> 1 : tp.max_window;
  if (cutoff && mss > cutoff) mss = Math.max(cutoff, 68 - tp.tcp_header_len);
  tp.mss_cache = mss;
  return mss;
}

/** tcp_established_options: timestamps, and SACK blocks (D-SACK first) in the space left */
function tcp_established_options(tp: TcpSock, o: TcpOutOptions): number {
  o.clear();
  let size = 0;
  if (tp.tstamp_ok) {
    o.ts = true;
    o.tsval = tp.tsval();
    o.tsecr = tp.ts_recent;
    size += TCPOLEN_TSTAMP_ALIGNED;
  }
  const eff = tp.num_sacks + (tp.dsack ? 1 : 0);
  if (eff > 0) {
    const remaining = TCP_MAX_OPTION_SPACE - size;
    if (remaining >= TCPOLEN_SACK_BASE_ALIGNED + TCPOLEN_SACK_PERBLOCK) {
      const n = Math.min(eff, Math.floor((remaining - TCPOLEN_SACK_BASE_ALIGNED) / TCPOLEN_SACK_PERBLOCK));
      let k = 0;
      if (tp.dsack) {
        o.sack[0] = tp.selective_acks[DSACK_SLOT];
        o.sack[1] = tp.selective_acks[DSACK_SLOT + 1];
        k = 1;
      }
      for (let i = 0; k < n; i++, k++) {
        o.sack[2 * k] = tp.selective_acks[2 * i];
        o.sack[2 * k + 1] = tp.selective_acks[2 * i + 1];
      }
      o.numSackBlocks = n;
      size += TCPOLEN_SACK_BASE_ALIGNED + n * TCPOLEN_SACK_PERBLOCK;
    }
  }
  return size;
}

/** tcp_current_mss: mss_cache less the SACK blocks the next segment will carry */
export function tcp_current_mss(tp: TcpSock): number {
  const size = tcp_established_options(tp, outOpts) + TCP_HLEN;
  let mss = tp.mss_cache;
  if (size !== tp.tcp_header_len) mss -= size - tp.tcp_header_len;
  return mss;
}

/** tcp_full_space: the most the receive window may cover */
export function tcp_full_space(tp: TcpSock): number {
  return tp.rcvbuf.capacity;
}

/** tcp_space: free receive space (bytes held count twice toward sk_rcvbuf, so half of rcvbuf is the window) */
export function tcp_space(tp: TcpSock): number {
  const held = seqSub(tp.rcv_nxt_data(), tp.rcvbuf.headSeq) + (tp.rcvbuf.ofo.length > 0 ? tp.rcvbuf.ofoBytes : 0);
  const s = tp.rcvbuf.capacity - held;
  return s > 0 ? s : 0;
}

/** tcp_receive_window: what is left of the window last advertised */
export function tcp_receive_window(tp: TcpSock): number {
  const w = seqSub((tp.rcv_wup + tp.rcv_wnd) >>> 0, tp.rcv_nxt);
  return w < 0 ? 0 : w;
}

/** __tcp_select_window */
export function __tcp_select_window(tp: TcpSock): number {
  let mss = tp.ack_rcv_mss;
  let free_space = tcp_space(tp);
  const allowed_space = tcp_full_space(tp);
  const full_space = Math.min(tp.window_clamp, allowed_space);
  if (mss > full_space) {
    mss = full_space;
    if (mss <= 0) return 0;
  }
  if (free_space < full_space >>> 1) {
    tp.ack_quick = 0;
    free_space = free_space & ~((1 << tp.rcv_wscale) - 1);
    if (free_space < allowed_space >>> 4 || free_space < mss) return 0;
  }
  if (free_space > tp.rcv_ssthresh) free_space = tp.rcv_ssthresh;
  let window: number;
  if (tp.rcv_wscale) {
    const unit = 1 << tp.rcv_wscale;
    window = Math.ceil(free_space / unit) * unit;
  } else {
    window = tp.rcv_wnd;
    if (window <= free_space - mss || window > free_space) window = Math.floor(free_space / mss) * mss;
    else if (mss === full_space && free_space > window + (full_space >>> 1)) window = free_space;
  }
  return window;
}

/** tcp_select_window: never shrink the offered window; returns the scaled header value */
export function tcp_select_window(tp: TcpSock): number {
  const mib = tp.net.mib.TcpExt;
  const old_win = tp.rcv_wnd;
  const cur_win = tcp_receive_window(tp);
  let new_win = __tcp_select_window(tp);
  if (new_win < cur_win) {
    if (new_win === 0) mib.TCPWantZeroWindowAdv++;
    const unit = 1 << tp.rcv_wscale;
    new_win = Math.ceil(cur_win / unit) * unit;
  }
  tp.rcv_wnd = new_win;
  tp.rcv_wup = tp.rcv_nxt;
  new_win = Math.min(new_win, 65535 * (1 << tp.rcv_wscale));
  new_win = Math.floor(new_win / (1 << tp.rcv_wscale));
  if (new_win === 0) {
    if (old_win) mib.TCPToZeroWindowAdv++;
  } else if (old_win === 0) {
    mib.TCPFromZeroWindowAdv++;
  }
  return new_win;
}

/**
 * tcp_select_initial_window: the SYN/SYN-ACK window (space rounded down to MSS multiples, ≤ 65535)
 * and the window scale that would cover the largest receive buffer (tcp_rmem[2], rmem_max)
 */
export function tcp_select_initial_window(tp: TcpSock, mss: number, wscale_ok: boolean): void {
  const sc = tp.net.sysctl;
  let space = tcp_full_space(tp);
  if (space > mss) space = Math.floor(space / mss) * mss;
  tp.rcv_wnd = Math.min(space, 65535);
  tp.rcv_wscale = 0;
  let clamp = 65535 * 2 ** TCP_MAX_WSCALE;
  if (wscale_ok) {
    let s = Math.max(space, sc.tcp_rmem[2], sc.rmem_max);
    s = Math.min(s, clamp);
    tp.rcv_wscale = Math.min(Math.max(Math.floor(Math.log2(s)) - 15, 0), TCP_MAX_WSCALE);
  }
  clamp = Math.min(65535 * 2 ** tp.rcv_wscale, clamp);
  // tcp_init_buffer_space: the clamp starts at the full space; tcp_rcv_space_adjust raises it later
  tp.window_clamp = Math.min(clamp, tcp_full_space(tp));
  tp.rcv_ssthresh = tp.rcv_wnd;
}

// ---- building and sending ----

/**
 * __tcp_transmit_skb: one segment — header, options, `len` payload bytes from the send buffer at
 * `seq` (SYN/FIN occupy no payload), window, checksum — handed to IPv4. OutSegs counts new data and
 * zero-length segments (not retransmissions). Returns false when no buffer was available.
 */
function tcp_transmit(tp: TcpSock, seq: number, len: number, flags: number, opts: TcpOutOptions | null, segs = 1, gso_mss = 0): boolean {
  const net = tp.net;
  const o = opts ?? outOpts;
  if (opts === null) tcp_established_options(tp, o);
  const optLen = tcp_options_size(o);
  const hl = TCP_HLEN + optLen;
  const skb = net.stack.alloc_skb(MAX_IPV4_HEADER + hl + len);
  if (skb === null) return false;
  skb.reserve(MAX_IPV4_HEADER);
  const off = skb.put(hl + len);
  const b = skb.buf;
  const end_seq = (seq + len + (flags & TCPHDR_SYN ? 1 : 0) + (flags & TCPHDR_FIN ? 1 : 0)) >>> 0;
  setU16(b, off, tp.sport);
  setU16(b, off + 2, tp.dport);
  setU32(b, off + 4, seq);
  setU32(b, off + 8, flags & TCPHDR_ACK ? tp.rcv_nxt : 0);
  b[off + 12] = (hl >>> 2) << 4;
  b[off + 13] = flags;
  // RFC 7323 §2.2: the window in a SYN is never scaled
  const win = flags & TCPHDR_SYN ? Math.min(tp.rcv_wnd, 65535) : tcp_select_window(tp);
  setU16(b, off + 14, win);
  setU16(b, off + 16, 0);
  setU16(b, off + 18, 0);
  tcp_options_write(b, off + TCP_HLEN, o);
  if (o.numSackBlocks > 0 && tp.dsack) tp.dsack = false;
  if (len > 0) tp.sndbuf.copyOut(flags & TCPHDR_SYN ? (seq + 1) >>> 0 : seq, len, b, off + hl);
  if (segs > 1) {
    // a TSO frame (tcp_set_skb_tso_segs + __tcp_v4_send_check / __tcp_v6_send_check): the checksum is
    // left to the device or to tcp_gso_segment — the field holds the pseudo-header sum, CHECKSUM_PARTIAL
    skb.gso_size = gso_mss;
    skb.gso_segs = segs;
    skb.ip_summed = CHECKSUM_PARTIAL;
    skb.csum_start = off;
    skb.csum_offset = 16;
    if (tp.af.family === AF_INET) {
      skb.gso_type = SKB_GSO_TCPV4;
      setU16(b, off + 16, csum_fold16(csum_tcpudp_nofold(tp.saddr, tp.daddr, hl + len, IPPROTO_TCP)));
    } else {
      const a = tp.inet6!.addrs;
      skb.gso_type = SKB_GSO_TCPV6;
      setU16(b, off + 16, csum_ipv6_magic(a, 0, a, 16, hl + len, IPPROTO_TCP));
    }
  } else {
    setU16(b, off + 16, tp.af.send_check(tp, b, off, hl + len));
  }
  // OutSegs, segs_out and data_segs_out count tcp_skb_pcount segments
  if (after(end_seq, tp.snd_nxt) || seq === end_seq) net.mib.Tcp.OutSegs += segs;
  tp.segs_out += segs;
  if (len > 0) {
    tp.data_segs_out += segs;
    tp.bytes_sent += len;
  }
  if (flags & TCPHDR_ACK) tcp_event_ack_sent(tp);
  tp.xmit_order++;
  tp.af.queue_xmit(tp, skb);
  return true;
}

/**
 * tcp_event_ack_sent: an ACK went out — the delayed-ACK timer off, and one quickack credit spent if
 * it acknowledged new data (an ACK was scheduled): tcp_dec_quickack_mode as in 6.12 and 6.1.y stable
 * ("tcp: fix quick-ack counting to count actual ACKs of new data")
 */
function tcp_event_ack_sent(tp: TcpSock): void {
  if (tp.ack_quick && tp.ack_pending & ICSK_ACK_SCHED) {
    if (tp.ack_quick <= 1) {
      tp.ack_quick = 0;
      tp.ack_ato = TCP_ATO_MIN;
    } else {
      tp.ack_quick--;
    }
  }
  tp.ack_pending = 0;
  tp.delack_timer.stop();
}

/** tcp_acceptable_seq: snd_nxt, unless the peer's window shrank below it */
function tcp_acceptable_seq(tp: TcpSock): number {
  const wnd_end = (tp.snd_una + tp.snd_wnd) >>> 0;
  return !before(wnd_end, tp.snd_nxt) ? tp.snd_nxt : wnd_end;
}

/** tcp_send_ack: a pure ACK now */
export function tcp_send_ack(tp: TcpSock): void {
  if (tp.state === TCP_CLOSE) return;
  if (!tcp_transmit(tp, tcp_acceptable_seq(tp), 0, TCPHDR_ACK, null)) {
    // __tcp_send_ack on allocation failure: schedule a retry
    tp.ack_pending |= ICSK_ACK_SCHED | ICSK_ACK_TIMER;
    tp.delack_timer.reset(TCP_ATO_MIN);
  }
}

/** tcp_send_delayed_ack: the ATO, bounded by max(srtt, 40 ms) and 200/500 ms; or ACK now if due soon */
export function tcp_send_delayed_ack(tp: TcpSock): void {
  let ato = tp.ack_ato;
  if (ato > TCP_DELACK_MIN) {
    let max_ato = TCP_DELACK_MAX_NONPINGPONG;
    if (tp.ack_pingpong > 0 || tp.ack_pending & ICSK_ACK_PUSHED) max_ato = TCP_DELACK_MAX;
    if (tp.rtt.srtt_us) {
      const rtt = Math.max(tp.rtt.srtt_us / 8000, TCP_DELACK_MIN);
      if (rtt < max_ato) max_ato = rtt;
    }
    ato = Math.min(ato, max_ato);
  }
  const now = tp.now();
  let timeout = now + ato;
  if (tp.ack_pending & ICSK_ACK_TIMER) {
    // a timer is already pending: if it is due within a quarter ATO, ACK now
    if (tp.ack_timeout <= now + (ato >>> 2)) {
      tcp_send_ack(tp);
      return;
    }
    if (tp.ack_timeout < timeout) timeout = tp.ack_timeout;
  }
  tp.ack_pending |= ICSK_ACK_SCHED | ICSK_ACK_TIMER;
  tp.ack_timeout = timeout;
  tp.delack_timer.reset(timeout - now);
}

/** tcp_send_active_reset: RST|ACK at snd_nxt */
export function tcp_send_active_reset(tp: TcpSock): void {
  tp.net.mib.Tcp.OutRsts++;
  outOpts.clear();
  if (tp.tstamp_ok) {
    outOpts.ts = true;
    outOpts.tsval = tp.tsval();
    outOpts.tsecr = tp.ts_recent;
  }
  tcp_transmit(tp, tcp_acceptable_seq(tp), 0, TCPHDR_RST | TCPHDR_ACK, outOpts);
}

// ---- connection setup ----

function tcp_init_sock_common(tp: TcpSock): void {
  const dev = tp.ind.dev;
  tp.advmss = dev.mtu - tp.af.net_header_len - TCP_HLEN;
  tp.mss_cache = Math.min(tp.advmss, TCP_MSS_DEFAULT);
  tp.ack_rcv_mss = TCP_MSS_DEFAULT;
}

/** tcp_connect (+ tcp_v4_connect, tcp_connect_init): SYN_SENT, the SYN out, RTO armed */
export function tcp_connect(tp: TcpSock): void {
  const net = tp.net;
  const sc = net.sysctl;
  tcp_init_sock_common(tp);
  tp.iss = net.secure_tcp_seq(tp.saddr, tp.daddr, tp.sport, tp.dport);
  tp.ts_offset = net.secure_tcp_ts_off(tp.saddr, tp.daddr);
  tp.snd_una = tp.iss;
  tp.snd_nxt = tp.iss;
  tp.write_seq = (tp.iss + 1) >>> 0;
  tp.pushed_seq = tp.write_seq;
  tp.snd_sml = tp.iss;
  tp.sndbuf.headSeq = tp.write_seq;
  tp.tcp_header_len = TCP_HLEN + (sc.tcp_timestamps ? TCPOLEN_TSTAMP_ALIGNED : 0);
  tcp_select_initial_window(tp, tp.advmss, sc.tcp_window_scaling);
  tp.rto = TCP_TIMEOUT_INIT;
  tcp_set_state(tp, TCP_SYN_SENT);
  net.hash(tp);
  net.mib.Tcp.ActiveOpens++;
  tp.ca.init(tp);
  // stamped before the send, as tcp_connect sets retrans_stamp before tcp_transmit_skb: time may
  // pass during the send, and the SYN-ACK's TSecr must fall inside [retrans_stamp, now]
  // (tcp_rcv_synsent_state_process's PAWS check); syn_sent_us times the handshake RTT
  tp.syn_sent_us = tp.now_us();
  tp.retrans_stamp = Math.floor(tp.now());
  tcp_send_syn(tp);
  tp.snd_nxt = (tp.iss + 1) >>> 0;
  tcp_reset_xmit_timer(tp, ICSK_TIME_RETRANS, tp.rto);
}

/** the SYN (or its retransmission): MSS, SACK_PERM+TS, WS as tcp_syn_options chooses */
export function tcp_send_syn(tp: TcpSock): boolean {
  const sc = tp.net.sysctl;
  const o = outOpts.clear();
  o.mss = tp.advmss;
  if (sc.tcp_timestamps) {
    o.ts = true;
    o.tsval = tp.tsval();
    o.tsecr = 0;
  }
  if (sc.tcp_window_scaling) o.ws = tp.rcv_wscale;
  o.sackPerm = sc.tcp_sack;
  return tcp_transmit(tp, tp.iss, 0, TCPHDR_SYN, o);
}

/**
 * tcp_conn_request + tcp_create_openreq_child, folded: a full socket in SYN_RECV for a SYN, with the
 * options both sides support, hashed, and the SYN-ACK sent. `listener` (if any) counts it in its queue.
 */
export function tcp_create_openreq_child(
  net: TcpNet,
  ind: InDevice,
  syn: SynInfo,
  listener: TcpListener | null,
  /** sets the address family (af, inet6) before anything is sent; null = IPv4 */
  setup: ((tp: TcpSock) => void) | null = null,
  /**
   * ≥ 0: the child of a valid SYN cookie (tcp_get_cookie_sock) — this is its ISN, the SYN-ACK went
   * out statelessly long ago, so none is sent and no SYN-ACK timer runs; the caller feeds it the ACK
   */
  cookie_isn = -1,
): TcpSock | null {
  const sc = net.sysctl;
  const tp = new TcpSock(net, ind);
  tp.saddr = syn.daddr;
  tp.daddr = syn.saddr;
  tp.sport = syn.dport;
  tp.dport = syn.sport;
  if (setup !== null) setup(tp);
  tcp_init_sock_common(tp);
  // tcp_parse_options on a SYN (only what this side enables counts)
  tp.mss_clamp = syn.mss > 0 ? Math.max(syn.mss, TCP_MIN_SND_MSS) : TCP_MSS_DEFAULT;
  tp.tstamp_ok = syn.ts && sc.tcp_timestamps;
  tp.sack_ok = syn.sackPerm && sc.tcp_sack;
  tp.wscale_ok = syn.wscale >= 0 && sc.tcp_window_scaling;
  tp.snd_wscale = tp.wscale_ok ? Math.min(syn.wscale, TCP_MAX_WSCALE) : 0;
  if (tp.tstamp_ok) {
    tp.ts_recent = syn.tsval;
    tp.ts_recent_stamp = Math.floor(tp.now() / 1000) || 1;
    tp.ts_offset = net.secure_tcp_ts_off(tp.saddr, tp.daddr);
  }
  tp.tcp_header_len = TCP_HLEN + (tp.tstamp_ok ? TCPOLEN_TSTAMP_ALIGNED : 0);
  tp.irs = syn.seq;
  tp.rcv_nxt = (syn.seq + 1) >>> 0;
  tp.rcv_wup = tp.rcv_nxt;
  tp.rcvbuf.headSeq = tp.rcv_nxt;
  tp.iss = cookie_isn >= 0 ? cookie_isn >>> 0 : net.secure_tcp_seq(tp.saddr, tp.daddr, tp.sport, tp.dport);
  tp.snd_una = tp.iss;
  tp.snd_nxt = (tp.iss + 1) >>> 0;
  tp.snd_sml = tp.iss;
  tp.write_seq = tp.snd_nxt;
  tp.pushed_seq = tp.write_seq;
  tp.sndbuf.headSeq = tp.write_seq;
  tp.snd_wnd = syn.window;
  tp.snd_wl1 = syn.seq;
  tp.max_window = tp.snd_wnd;
  tcp_select_initial_window(tp, tp.advmss - (tp.tstamp_ok ? TCPOLEN_TSTAMP_ALIGNED : 0), tp.wscale_ok);
  tp.rto = TCP_TIMEOUT_INIT;
  tp.parent = listener;
  tp.passive = true;
  // tcp_create_openreq_child: icsk_ack.lrcvtime = now (tcpi_last_data_recv counts from the SYN)
  tp.ack_lrcvtime = tp.now();
  if (listener !== null) {
    listener.synQueue++;
    listener.children++;
    tp.owner = listener;
  }
  tcp_set_state(tp, TCP_SYN_RECV);
  net.hash(tp);
  tp.ca.init(tp);
  if (cookie_isn >= 0) {
    tp.from_cookie = true;
    return tp;
  }
  tp.syn_sent_us = tp.now_us();
  tcp_send_synack(tp);
  tcp_reset_xmit_timer(tp, ICSK_TIME_RETRANS, tp.rto);
  return tp;
}

/** tcp_make_synack: the options the SYN asked for and we allow; always counts OutSegs */
export function tcp_send_synack(tp: TcpSock): boolean {
  const o = outOpts.clear();
  o.mss = tp.advmss;
  if (tp.tstamp_ok) {
    o.ts = true;
    o.tsval = tp.tsval();
    o.tsecr = tp.ts_recent;
  }
  if (tp.wscale_ok) o.ws = tp.rcv_wscale;
  o.sackPerm = tp.sack_ok;
  const saved = tp.snd_nxt;
  // counted as a new segment every time (tcp_make_synack increments OutSegs itself)
  tp.snd_nxt = tp.iss;
  const ok = tcp_transmit(tp, tp.iss, 0, TCPHDR_SYN | TCPHDR_ACK, o);
  tp.snd_nxt = saved;
  return ok;
}

/** tcp_finish_connect / the SYN_RECV → ESTABLISHED step: tcp_init_transfer */
export function tcp_init_transfer(tp: TcpSock): void {
  tcp_set_state(tp, TCP_ESTABLISHED);
  tp.rcv_tstamp = tp.now();
  tp.lsndtime = tp.now();
  tp.lsndtime_j = tp.jiffies();
  if (tp.rtt.srtt_us === 0) {
    // RFC 6298 5.7: no RTT sample from the handshake → 3 s
    tp.rtt.rttvar_us = TCP_TIMEOUT_FALLBACK * 1000;
    tp.rtt.mdev_us = tp.rtt.mdev_max_us = tp.rtt.rttvar_us;
    tp.rto = TCP_TIMEOUT_FALLBACK;
  }
  tp.snd_cwnd = tp.syn_retrans > 1 ? 1 : TCP_INIT_CWND;
  tp.snd_cwnd_stamp = tp.jiffies();
  tcp_sync_mss(tp, tp.pmtu_cookie || tp.ind.dev.mtu);
  tp.ack_rcv_mss = Math.max(Math.min(tp.advmss, tp.mss_cache, tp.rcv_wnd >>> 1, TCP_MSS_DEFAULT), 88);
  tcp_init_buffer_space(tp);
  if (tp.keepalive) tp.sk_timer.reset(tp.keepalive_time);
}

// ---- data ----

/** tcp_check_probe_timer: nothing in flight but data waits: arm the zero-window probe */
function tcp_check_probe_timer(tp: TcpSock): void {
  if (tp.packets_out === 0 && tp.icsk_pending === 0) {
    tcp_reset_xmit_timer(tp, ICSK_TIME_PROBE0, tcp_probe0_when(tp));
  }
}

/** tcp_probe0_when: the RTO backed off by the probes sent so far, ≤ 120 s */
export function tcp_probe0_when(tp: TcpSock): number {
  return Math.min(tp.rto * 2 ** Math.min(tp.backoff, 16), TCP_RTO_MAX);
}

/** the end of the data (and FIN) queued for sending */
function send_end(tp: TcpSock): number {
  return tp.write_seq;
}

/** tcp_push / __tcp_push_pending_frames: send what the windows allow; arm the probe timer if stuck */
export function tcp_push(tp: TcpSock, pushed: boolean): void {
  if (tp.state === TCP_CLOSE || tp.state === TCP_SYN_SENT) return;
  if (pushed) tp.pushed_seq = tp.write_seq;
  if (tcp_write_xmit(tp, false)) return;
  if (before(tp.snd_nxt, send_end(tp))) tcp_check_probe_timer(tp);
}

/** tcp_slow_start_after_idle_check (tcp_skb_entail): an idle period longer than the RTO decays cwnd */
export function tcp_slow_start_after_idle_check(tp: TcpSock): void {
  if (!tp.net.sysctl.tcp_slow_start_after_idle || tp.packets_out) return;
  let delta = tp.now() - tp.lsndtime;
  if (delta <= tp.rto) return;
  // tcp_cwnd_restart
  tp.ca.cwnd_event(tp, CA_EVENT_CWND_RESTART);
  tp.snd_ssthresh = Math.max(tp.snd_ssthresh, ((tp.snd_cwnd >>> 1) + (tp.snd_cwnd >>> 2)) | 0);
  const restart = Math.min(TCP_INIT_CWND, tp.snd_cwnd);
  let cwnd = tp.snd_cwnd;
  while ((delta -= tp.rto) > 0 && cwnd > restart) cwnd >>>= 1;
  tp.snd_cwnd = Math.max(cwnd, restart);
  tp.snd_cwnd_stamp = tp.jiffies();
}

/**
 * tcp_write_xmit: new data while cwnd, the peer's window, Nagle and TSO deferral allow — as TSO
 * super-frames of up to tcp_tso_segs() MSS-sized segments when the route can GSO (sk_can_gso), else
 * one MSS per frame. `probe` is push_one (a loss probe): one frame, no Nagle, no deferral. Returns
 * true when nothing is left to send (or something is in flight to clock the rest out).
 *
 * The "skb" at the send head is the next size_goal bytes of the send buffer (tcp_sendmsg cuts the
 * write queue into skbs of tcp_xmit_size_goal); it is the write queue's tail when it reaches the end
 * of the data.
 */
export function tcp_write_xmit(tp: TcpSock, probe: boolean): boolean {
  const st = tp.state;
  if (st === TCP_SYN_SENT || st === TCP_CLOSE || st === TCP_TIME_WAIT) return true;
  let cwnd_limited = false;
  const end = send_end(tp);
  const first_nxt = tp.snd_nxt;
  const mss = tcp_current_mss(tp);
  const gso = sk_can_gso(tp);
  const max_segs = gso ? tcp_tso_segs(tp, mss) : 1;
  const size_goal = gso ? tcp_xmit_size_goal(tp, mss) : mss;
  while (before(tp.snd_nxt, end)) {
    const seq = tp.snd_nxt;
    const finSeq = tp.fin_queued ? (end - 1) >>> 0 : end;
    let avail = seqSub(finSeq, seq);
    if (avail < 0) avail = 0;
    // the skb at the send head, and whether it is the write queue's tail
    const skb_len = Math.min(avail, size_goal);
    const is_tail = skb_len === avail;
    const tso_segs = skb_len > mss ? Math.ceil(skb_len / mss) : 1;
    const fin_skb = tp.fin_queued && is_tail;
    // tcp_cwnd_test: a lone FIN is not held back by cwnd; else at most half the cwnd per frame
    let cwnd_quota = 1;
    if (!(fin_skb && skb_len <= mss)) {
      const in_flight = tp.in_flight();
      if (in_flight >= tp.snd_cwnd) {
        cwnd_limited = true;
        break;
      }
      cwnd_quota = Math.min(Math.max(tp.snd_cwnd >>> 1, 1), tp.snd_cwnd - in_flight);
    }
    // tcp_snd_wnd_test: the first segment must fit the peer's window
    const wnd_end = (tp.snd_una + tp.snd_wnd) >>> 0;
    if (after((seq + Math.min(skb_len, mss)) >>> 0, wnd_end)) break;
    let len: number;
    if (tso_segs === 1) {
      len = skb_len;
      // tcp_nagle_test: a short segment waits while a previous short one is unacknowledged (Minshall)
      if (len < mss && !fin_skb && !probe && tcp_nagle_check(tp)) break;
    } else {
      if (!probe && tcp_tso_should_defer(tp, seq, skb_len, is_tail, fin_skb, max_segs)) {
        if (tso_defer_cwnd_limited) cwnd_limited = true;
        break;
      }
      // tso_fragment at the split point (a limit beyond the skb sends all of it)
      len = Math.min(skb_len, tcp_mss_split_point(tp, seq, skb_len, is_tail, fin_skb, mss, Math.min(cwnd_quota, max_segs)));
    }
    const withFin = tp.fin_queued && ((seq + len) >>> 0) === finSeq;
    let flags = TCPHDR_ACK;
    if (withFin) flags |= TCPHDR_FIN;
    // PSH on the frame carrying the last byte pushed (tcp_gso_segment moves it to the last segment)
    const segEnd = (seq + len) >>> 0;
    if (len > 0 && !before(segEnd, tp.pushed_seq) && before(seq, tp.pushed_seq)) flags |= TCPHDR_PSH;
    let segs = len > mss ? Math.ceil(len / mss) : 1;
    if (!tcp_transmit(tp, seq, len, flags, null, segs, mss)) {
      if (segs === 1) break;
      // no big buffer for the super-frame: send one MSS from the small pool instead
      len = mss;
      segs = 1;
      flags = TCPHDR_ACK;
      if (before(seq, tp.pushed_seq) && !before((seq + len) >>> 0, tp.pushed_seq)) flags |= TCPHDR_PSH;
      if (!tcp_transmit(tp, seq, len, flags, null)) break;
      tcp_event_new_data_sent(tp, seq, (seq + len) >>> 0, flags, len, mss);
    } else {
      tcp_event_new_data_sent(tp, seq, (segEnd + (withFin ? 1 : 0)) >>> 0, flags, len, mss);
    }
    if (probe) break;
  }
  // tcp_cwnd_validate
  if (!before(tp.snd_una, tp.cwnd_usage_seq) || cwnd_limited || (!tp.is_cwnd_limited && tp.packets_out > tp.max_packets_out)) {
    tp.is_cwnd_limited = cwnd_limited;
    tp.max_packets_out = tp.packets_out;
    tp.cwnd_usage_seq = tp.snd_nxt;
  }
  // one loss probe per tail loss episode (not when this send is the probe itself)
  if (tp.snd_nxt !== first_nxt && !probe) tcp_schedule_loss_probe(tp, false);
  return !before(tp.snd_nxt, end) || tp.packets_out > 0;
}

/** tcp_nagle_check's Minshall part: a small segment is still unacknowledged (and Nagle is on) */
function tcp_nagle_check(tp: TcpSock): boolean {
  if (tp.nodelay || tp.packets_out === 0) return false;
  return after(tp.snd_sml, tp.snd_una) && !after(tp.snd_sml, tp.snd_nxt);
}

// ---- TSO (tcp_output.c: sk_can_gso, tcp_tso_autosize, tcp_tso_segs, tcp_xmit_size_goal,
// tcp_mss_split_point, tcp_tso_should_defer; tcp_input.c tcp_update_pacing_rate) ----

/** sysctl_tcp_min_tso_segs */
const TCP_MIN_TSO_SEGS = 2;
/** sysctl_tcp_tso_rtt_log: 2^9 µs of min_rtt halve the extra autosize budget */
const TCP_TSO_RTT_LOG = 9;
/** sysctl_tcp_tso_win_divisor: one TSO frame may use at most 1/3 of the window */
const TCP_TSO_WIN_DIVISOR = 3;
/** sk_pacing_shift default: ~1 ms of data per TSO frame */
const SK_PACING_SHIFT = 10;
/** sysctl_tcp_pacing_ss_ratio / _ca_ratio (%) */
const TCP_PACING_SS_RATIO = 200;
const TCP_PACING_CA_RATIO = 120;
/**
 * MAX_TCP_HEADER (include/net/tcp.h: L1_CACHE_ALIGN(128 + MAX_HEADER)) on Debian's x86-64 config;
 * sk_setup_caps leaves sk_gso_max_size = gso_max_size − (MAX_TCP_HEADER + 1)
 */
const MAX_TCP_HEADER = 320;

/**
 * sk_can_gso for the socket's route: sk_setup_caps turns NETIF_F_GSO (software GSO, on for every
 * device) into NETIF_F_GSO_SOFTWARE, so TCP builds TSO frames whenever the device has GSO or TSO; a
 * device without TSO gets them segmented by validate_xmit_skb. Both families: an IPv6 socket's frames
 * are SKB_GSO_TCPV6 (NETIF_F_TSO6 is part of NETIF_F_GSO_SOFTWARE), which ip6_output passes whole.
 */
export function sk_can_gso(tp: TcpSock): boolean {
  let f = tp.ind.dev.features;
  if (f & NETIF_F_GSO) f |= NETIF_F_GSO_SOFTWARE;
  // net_gso_ok(sk_route_caps, sk_gso_type): SKB_GSO_TCPV4 needs NETIF_F_TSO, SKB_GSO_TCPV6 NETIF_F_TSO6
  return (f & (tp.af.family === AF_INET ? NETIF_F_TSO : NETIF_F_TSO6)) !== 0;
}

/** sk->sk_gso_max_size as sk_setup_caps sets it */
function sk_gso_max_size(tp: TcpSock): number {
  return tp.ind.dev.gso_max_size - (MAX_TCP_HEADER + 1);
}

/**
 * sk_pacing_rate as tcp_update_pacing_rate keeps it (bytes/s): mss × ratio × max(cwnd, packets_out)
 * / srtt, ratio 200 % in slow start (cwnd < ssthresh/2), else 120 %. Before an RTT sample it stays
 * unlimited (sk_pacing_rate starts at ~0).
 */
export function tcp_pacing_rate(tp: TcpSock): number {
  const srtt_us = tp.rtt.srtt_us; // 8 × srtt
  if (srtt_us === 0) return Infinity;
  const ratio = tp.snd_cwnd < tp.snd_ssthresh / 2 ? TCP_PACING_SS_RATIO : TCP_PACING_CA_RATIO;
  return (tp.mss_cache * ((1e6 / 100) * 8) * ratio * Math.max(tp.snd_cwnd, tp.packets_out)) / srtt_us;
}

/**
 * tcp_tso_autosize: about 1 ms of data at the pacing rate (rate >> sk_pacing_shift), plus
 * gso_max_size >> (min_rtt_us >> tcp_tso_rtt_log) — a full 64 KB below 512 µs of min_rtt — at most
 * sk_gso_max_size; in segments, at least min_tso_segs.
 */
export function tcp_tso_autosize(tp: TcpSock, mss: number, min_tso_segs: number): number {
  const gso_max = sk_gso_max_size(tp);
  let bytes = Math.floor(tcp_pacing_rate(tp) / 2 ** SK_PACING_SHIFT);
  const min_rtt = tp.rtt.min_rtt_us === 0xffffffff ? 0 : tp.rtt.min_rtt_us;
  const r = min_rtt >>> TCP_TSO_RTT_LOG;
  if (r < 32) bytes += Math.floor(gso_max / 2 ** r);
  bytes = Math.min(bytes, gso_max);
  return Math.max(Math.floor(bytes / mss), min_tso_segs);
}

/** tcp_tso_segs: segments per TSO frame, ≤ gso_max_segs */
export function tcp_tso_segs(tp: TcpSock, mss: number): number {
  return Math.min(tcp_tso_autosize(tp, mss, TCP_MIN_TSO_SEGS), tp.ind.dev.gso_max_segs);
}

/** tcp_bound_to_half_wnd */
function tcp_bound_to_half_wnd(tp: TcpSock, pktsize: number): number {
  const cutoff = tp.max_window > TCP_MSS_DEFAULT ? tp.max_window >>> 1 : tp.max_window;
  if (cutoff && pktsize > cutoff) return Math.max(cutoff, 68 - tp.tcp_header_len);
  return pktsize;
}

/** tcp_xmit_size_goal: how large tcp_sendmsg makes each skb — whole MSS up to sk_gso_max_size, ≤ half the peer's largest window */
export function tcp_xmit_size_goal(tp: TcpSock, mss: number): number {
  const goal = tcp_bound_to_half_wnd(tp, sk_gso_max_size(tp));
  const segs = Math.min(Math.floor(goal / mss), tp.ind.dev.gso_max_segs);
  return Math.max(segs * mss, mss);
}

/**
 * tcp_mss_split_point: how much of the head skb to send now — max_segs MSS when the window allows
 * and the skb is not the tail; else what the window allows, with a trailing partial segment only if
 * Nagle lets it go (a FIN's skb always may: tcp_send_fin pushes with TCP_NAGLE_OFF).
 */
function tcp_mss_split_point(tp: TcpSock, seq: number, skb_len: number, is_tail: boolean, fin: boolean, mss: number, max_segs: number): number {
  const window = seqSub((tp.snd_una + tp.snd_wnd) >>> 0, seq);
  const max_len = mss * max_segs;
  if (max_len <= window && !is_tail) return max_len;
  const needed = Math.min(skb_len, window);
  if (max_len <= needed) return max_len;
  const partial = needed % mss;
  if (partial !== 0 && !fin && tcp_nagle_check(tp)) return needed - partial;
  return needed;
}

/** set by tcp_tso_should_defer: it deferred because cwnd was the limit */
let tso_defer_cwnd_limited = false;

/**
 * tcp_tso_should_defer, simplified to what the model can see: wait for more ACKs (to send a larger
 * frame later) only when the last send was within 1 ms, not in Recovery/Loss, a full max_segs frame
 * cannot go, less than 1/3 of the window (tcp_tso_win_divisor) is open, and the oldest unacknowledged
 * segment left over srtt/2 ago (so an ACK is due). The skb boundaries are the model's size_goal cuts
 * (see tcp_write_xmit); "the skb may still grow" (application-limited) holds for the tail without FIN.
 */
function tcp_tso_should_defer(tp: TcpSock, seq: number, skb_len: number, is_tail: boolean, fin: boolean, max_segs: number): boolean {
  tso_defer_cwnd_limited = false;
  if (tp.ca_state >= TCP_CA_Recovery) return false;
  if (tp.now() - tp.lsndtime > 1) return false;
  const in_flight = tp.in_flight();
  const send_win = seqSub((tp.snd_una + tp.snd_wnd) >>> 0, seq);
  const cong_win = (tp.snd_cwnd - in_flight) * tp.mss_cache;
  const limit = Math.min(send_win, cong_win);
  if (limit >= max_segs * tp.mss_cache) return false;
  if (!is_tail && limit >= skb_len) return false;
  const chunk = Math.floor(Math.min(tp.snd_wnd, tp.snd_cwnd * tp.mss_cache) / TCP_TSO_WIN_DIVISOR);
  if (limit >= chunk) return false;
  const head = tp.rtx.first();
  if (head === null) return false;
  // if the next ACK is likely to come too late (half srtt), do not defer
  if (tp.now_us() - head.xmit_us < tp.rtt.srtt_us >>> 4) return false;
  if (cong_win < send_win) {
    if (cong_win <= skb_len) {
      tso_defer_cwnd_limited = true;
      return true;
    }
  } else if (send_win <= skb_len) {
    return true;
  }
  if (fin) return false;
  return true;
}

/**
 * The retransmission-queue records of a sent frame [seq, end_seq): one per MSS of payload (FIN and
 * PSH on the last). Returns the count (tcp_skb_pcount of the frame).
 */
function tcp_record_segments(tp: TcpSock, seq: number, end_seq: number, flags: number, len: number, mss: number): number {
  const now_us = tp.now_us();
  const order = tp.xmit_order;
  if (len <= mss) {
    tp.rtx.push(seq, end_seq, flags, now_us, order);
    return 1;
  }
  const inner = flags & ~(TCPHDR_FIN | TCPHDR_PSH);
  let n = 0;
  for (let off = 0; off < len; off += mss) {
    const s = (seq + off) >>> 0;
    const last = off + mss >= len;
    tp.rtx.push(s, last ? end_seq : (s + mss) >>> 0, last ? flags : inner, now_us, order);
    n++;
  }
  return n;
}

/** tcp_event_new_data_sent + tcp_event_data_sent */
function tcp_event_new_data_sent(tp: TcpSock, seq: number, end_seq: number, flags: number, len: number, mss: number): void {
  const prior_packets = tp.packets_out;
  const now = tp.now();
  if (tp.in_flight() === 0) tp.ca.cwnd_event(tp, CA_EVENT_TX_START);
  // pingpong: a reply within ATO of the last receive
  if (now - tp.ack_lrcvtime < tp.ack_ato) tp.ack_pingpong = Math.min(tp.ack_pingpong + 1, 255);
  tp.lsndtime = now;
  tp.lsndtime_j = tp.jiffies();
  // A TSO frame of n segments is kept as n records, as if tcp_fragment had cut it at every MSS:
  // the counts are Linux's (packets_out += tcp_skb_pcount), and SACK, loss marking and retransmission
  // work per segment. FIN/PSH go with the last record, as tcp_gso_segment puts them on the wire.
  const pcount = tcp_record_segments(tp, seq, end_seq, flags, len, mss);
  tp.snd_nxt = end_seq;
  tp.packets_out += pcount;
  // tcp_minshall_update: the frame ended with a short segment
  if (len > 0 && len < pcount * mss) tp.snd_sml = end_seq;
  if (tcp_in_cwnd_reduction(tp)) tp.prr_out += pcount;
  tp.net.mib.TcpExt.TCPOrigDataSent += pcount;
  if (!prior_packets || tp.icsk_pending === ICSK_TIME_PROBE0 || tp.icsk_pending === ICSK_TIME_LOSS_PROBE) tcp_rearm_rto(tp);
}

export function tcp_in_cwnd_reduction(tp: TcpSock): boolean {
  return tp.ca_state === TCP_CA_CWR || tp.ca_state === TCP_CA_Recovery;
}

/** tcp_send_fin: a FIN after the queued data (on the last data segment when it is still unsent) */
export function tcp_send_fin(tp: TcpSock): void {
  if (tp.fin_queued) return;
  tp.fin_queued = true;
  tp.write_seq = (tp.write_seq + 1) >>> 0;
  tp.pushed_seq = tp.write_seq;
  if (tp.state === TCP_SYN_RECV) return; // sent once established
  tcp_push(tp, true);
  // the FIN must go even with a closed window; tcp_push armed the probe timer otherwise
}

/**
 * tcp_retransmit_skb: send a record again (same sequence range). RetransSegs counts the attempt;
 * a local failure counts TCPRetransFail.
 */
export function tcp_retransmit_skb(tp: TcpSock, r: TcpSkbCb, index: number, tlp = false): boolean {
  const mib = tp.net.mib;
  // the head may have been partly acknowledged
  if (before(r.seq, tp.snd_una)) r.seq = tp.snd_una;
  // SACK blocks (or a smaller MSS) may leave less room than when the segment was first sent
  const cur_mss = tcp_current_mss(tp);
  if (r.len > cur_mss) {
    const n = tp.rtx.split(index, (r.seq + cur_mss) >>> 0);
    tp.packets_out++;
    if (n.sacked & TCPCB_LOST) tp.lost_out++;
    if (n.sacked & TCPCB_SACKED_RETRANS) tp.retrans_out++;
  }
  const fin = r.tcp_flags & TCPHDR_FIN;
  const len = seqSub(r.end_seq, r.seq) - (fin ? 1 : 0);
  mib.Tcp.RetransSegs++;
  const flags = TCPHDR_ACK | (r.tcp_flags & (TCPHDR_FIN | TCPHDR_PSH));
  if (len <= 0 && !fin) return true;
  if (!tcp_transmit(tp, r.seq, len, flags, null)) {
    mib.TcpExt.TCPRetransFail++;
    return false;
  }
  // a loss probe (__tcp_retransmit_skb) is not counted as a retransmission in flight
  if (!tlp && !(r.sacked & TCPCB_SACKED_RETRANS)) {
    r.sacked |= TCPCB_SACKED_RETRANS;
    tp.retrans_out++;
  }
  r.sacked |= TCPCB_EVER_RETRANS;
  r.xmit_us = tp.now_us();
  r.xmit_order = tp.xmit_order;
  tp.rtx.tsAppend(r);
  tp.total_retrans++;
  tp.bytes_retrans += len;
  if (tp.retrans_stamp === 0 && !tlp) tp.retrans_stamp = tp.now() || 1;
  if (!tlp) tp.undo_retrans = Math.max(tp.undo_retrans, 0) + 1;
  return true;
}

/** tcp_xmit_retransmit_queue: resend LOST records while the window allows */
export function tcp_xmit_retransmit_queue(tp: TcpSock): void {
  if (tp.packets_out === 0) return;
  const mib = tp.net.mib.TcpExt;
  const q = tp.rtx;
  let rearm = false;
  for (let i = 0; i < q.length; i++) {
    const r = q.at(i);
    const s = r.sacked;
    if (s & (TCPCB_SACKED_ACKED | TCPCB_SACKED_RETRANS)) continue;
    if (!(s & TCPCB_LOST)) continue;
    if (tp.in_flight() >= tp.snd_cwnd) break;
    if (!tcp_retransmit_skb(tp, r, i)) break;
    if (tp.ca_state !== TCP_CA_Loss) mib.TCPFastRetrans++;
    else mib.TCPSlowStartRetrans++;
    if (tcp_in_cwnd_reduction(tp)) tp.prr_out++;
    if (i === 0 && tp.icsk_pending !== ICSK_TIME_REO_TIMEOUT) rearm = true;
  }
  if (rearm) tcp_reset_xmit_timer(tp, ICSK_TIME_RETRANS, tp.rto);
}

// ---- timers ----

/** inet_csk_reset_xmit_timer: the one xmit-timer slot (RTO, probe0, RACK reorder) */
export function tcp_reset_xmit_timer(tp: TcpSock, what: number, when: number): void {
  if (when > TCP_RTO_MAX) when = TCP_RTO_MAX;
  tp.icsk_pending = what;
  tp.retransmit_timer.reset(when);
}

export function tcp_clear_xmit_timer(tp: TcpSock): void {
  tp.icsk_pending = 0;
  tp.retransmit_timer.stop();
}

/** tcp_rearm_rto: RTO from now while packets are out (a reorder timer keeps its remaining time) */
export function tcp_rearm_rto(tp: TcpSock): void {
  if (tp.packets_out === 0) {
    tcp_clear_xmit_timer(tp);
    return;
  }
  let rto = tp.rto;
  if (tp.icsk_pending === ICSK_TIME_REO_TIMEOUT || tp.icsk_pending === ICSK_TIME_LOSS_PROBE) {
    const head = tp.rtx.first();
    if (head !== null) {
      const delta = rto - (tp.now_us() - head.xmit_us) / 1000;
      rto = Math.max(delta, 1);
    }
  }
  tcp_reset_xmit_timer(tp, ICSK_TIME_RETRANS, rto);
}

/** tcp_xmit_probe_skb: a zero-length segment at snd_una − 1 the peer must answer with an ACK */
export function tcp_xmit_probe_skb(tp: TcpSock): void {
  tcp_transmit(tp, (tp.snd_una - 1) >>> 0, 0, TCPHDR_ACK, null);
}

/**
 * tcp_write_wakeup: send a window's worth of new data (PSH) if the window has room, else the
 * zero-length probe. Returns false when nothing could be sent.
 */
export function tcp_write_wakeup(tp: TcpSock): boolean {
  if (tp.state === TCP_CLOSE) return false;
  const end = send_end(tp);
  const wnd_end = (tp.snd_una + tp.snd_wnd) >>> 0;
  if (before(tp.snd_nxt, end) && before(tp.snd_nxt, wnd_end)) {
    const mss = tcp_current_mss(tp);
    const seq = tp.snd_nxt;
    const finSeq = tp.fin_queued ? (end - 1) >>> 0 : end;
    let len = Math.min(seqSub(finSeq, seq), seqSub(wnd_end, seq), mss);
    if (len < 0) len = 0;
    const withFin = tp.fin_queued && ((seq + len) >>> 0) === finSeq;
    const flags = TCPHDR_ACK | (len > 0 ? TCPHDR_PSH : 0) | (withFin ? TCPHDR_FIN : 0);
    if (!tcp_transmit(tp, seq, len, flags, null)) return false;
    tcp_event_new_data_sent(tp, seq, (seq + len + (withFin ? 1 : 0)) >>> 0, flags, len, mss);
    return true;
  }
  tcp_xmit_probe_skb(tp);
  return true;
}

/** tcp_send_probe0: the persist timer fired */
export function tcp_send_probe0(tp: TcpSock): void {
  const sent = tcp_write_wakeup(tp);
  if (tp.packets_out > 0 || !before(tp.snd_nxt, send_end(tp))) {
    // data went out (or nothing is left): the RTO takes over
    tp.probes_out = 0;
    tp.backoff = 0;
    if (tp.packets_out > 0) tcp_rearm_rto(tp);
    return;
  }
  tp.net.mib.TcpExt.TCPWinProbe++;
  if (sent) {
    if (tp.backoff < 16) tp.backoff++;
    tp.probes_out++;
    tcp_reset_xmit_timer(tp, ICSK_TIME_PROBE0, tcp_probe0_when(tp));
  } else {
    tcp_reset_xmit_timer(tp, ICSK_TIME_PROBE0, Math.min(tp.rto, 500));
  }
}

/** sk_write_space: tell a writer that was refused that room is back */
export function tcp_new_space(tp: TcpSock): void {
  if (!tp.wantDrain) return;
  if (tcp_should_expand_sndbuf(tp)) {
    tcp_sndbuf_expand(tp);
    tp.snd_cwnd_stamp = tp.jiffies();
  }
  tp.events |= EV_DRAIN;
}
