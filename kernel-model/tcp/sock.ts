// One TCP connection (struct tcp_sock + inet_connection_sock, reduced to what the model uses) and
// the socket API the rest of skbnet calls: connect/listen live on TcpNet (tcp_ipv4.ts); here are
// write (with backpressure), end (FIN), destroy (RST), pause/resume of reading, callbacks and
// tcp_info. Protocol work is in tcp_input.ts / tcp_output.ts / tcp_timer.ts, named as in Linux.
import type { InDevice } from '../ipv4/devinet';
import type { Ipv4Addr } from '../wire/address';
import { sock_rps_record_flow } from '../core/sock_rps';
import { RecvBuffer, SendBuffer } from './buffers';
import { RttEstimator } from './rtt';
import { ipv4_specific, type TcpAfOps, type TcpInet6 } from './tcp_af_ops';
import { RtxQueue, SackTagState } from './sack';
import type { TcpCongestionOps } from './tcp_cong';
import type { TcpNet } from './tcp_ipv4';
import { tcp_cleanup_rbuf } from './tcp_input';
import { tcp_rcv_space_adjust } from './tcp_rcvbuf';
import { tcp_push, tcp_send_active_reset, tcp_send_fin, tcp_set_state, tcp_done } from './tcp_output';
import {
  SEND_SHUTDOWN,
  TCP_CA_Open,
  TCP_CLOSE,
  TCP_CLOSE_WAIT,
  TCP_ESTABLISHED,
  TCP_INFINITE_SSTHRESH,
  TCP_INIT_CWND,
  TCP_LISTEN,
  TCP_REORDERING,
  TCP_SYN_RECV,
  TCP_SYN_SENT,
  TCP_TIMEOUT_INIT,
  tcpStateName,
  TCP_FIN_WAIT1,
  TCP_FIN_WAIT2,
  TCP_CLOSING,
  TCP_LAST_ACK,
  TCP_TIME_WAIT,
  type TcpStateName,
} from './tcp_states';
import { TcpTimer } from './tcp_timer';
import { tcp_delack_timer, tcp_keepalive_timer, tcp_write_timer } from './tcp_timer_handlers';

// inet_csk pending timer kinds (ICSK_TIME_*)
export const ICSK_TIME_RETRANS = 1;
export const ICSK_TIME_PROBE0 = 3;
export const ICSK_TIME_LOSS_PROBE = 5;
export const ICSK_TIME_REO_TIMEOUT = 6;

// icsk_ack.pending bits
export const ICSK_ACK_SCHED = 1;
export const ICSK_ACK_TIMER = 2;
export const ICSK_ACK_PUSHED = 4;
export const ICSK_ACK_PUSHED2 = 8;
export const ICSK_ACK_NOW = 16;

// events delivered to the user after protocol work (sk_data_ready, sk_state_change, sk_write_space)
export const EV_CONNECT = 1;
export const EV_DATA = 2;
export const EV_EOF = 4;
export const EV_DRAIN = 8;
export const EV_CLOSE = 16;

export type TcpDataHandler = (buf: Uint8Array, off: number, len: number) => void;

/** tcp_info, the subset `ss -ti` shows (times in µs as in struct tcp_info) */
export interface TcpInfo {
  state: TcpStateName;
  ca_state: number;
  retransmits: number;
  backoff: number;
  rto: number;
  ato: number;
  snd_mss: number;
  rcv_mss: number;
  unacked: number;
  sacked: number;
  lost: number;
  retrans: number;
  rtt: number;
  rttvar: number;
  min_rtt: number;
  snd_ssthresh: number;
  snd_cwnd: number;
  advmss: number;
  reordering: number;
  rcv_space: number;
  total_retrans: number;
  snd_wnd: number;
  rcv_wnd: number;
  snd_wscale: number;
  rcv_wscale: number;
  options: { ts: boolean; sack: boolean; wscale: boolean };
  bytes_acked: number;
  bytes_received: number;
  segs_out: number;
  segs_in: number;
  data_segs_out: number;
  data_segs_in: number;
  notsent_bytes: number;
  delivered: number;
  congestion: string;
}

/** where TcpSock.selective_acks keeps duplicate_sack's start and end (after the 4 SACK blocks) */
export const DSACK_SLOT = 8;

export class TcpSock {
  state = TCP_CLOSE;
  /** why the connection ended: '' while open or after an orderly close; 'ECONNRESET', 'ETIMEDOUT', 'ECONNREFUSED' */
  error = '';
  // addresses (inet_sock)
  saddr: Ipv4Addr = 0;
  daddr: Ipv4Addr = 0;
  sport = 0;
  dport = 0;
  /** the address family's operations (icsk_af_ops); IPv6 sockets also carry inet6 (saddr/daddr then
   * hold only a 32-bit fold of the IPv6 addresses, for the ISN hash) */
  af: TcpAfOps = ipv4_specific;
  inet6: TcpInet6 | null = null;

  // sequence space (tcp_sock)
  iss = 0;
  irs = 0;
  /**
   * inet_sock.inet_id: the IPv4 ID of this connected socket's next packet (ip_select_ident_segs), advanced
   * by the segments each skb becomes. −1 until the first packet; Linux starts it at a random u16
   * (tcp_v4_connect / tcp_v4_syn_recv_sock), the model from the ISN (a keyed hash) so that seeded runs
   * keep their random streams.
   */
  inet_id = -1;
  /** sk_rxhash: flow hash of the last segment received (RFS, core/sock_rps.ts) */
  sk_rxhash = 0;
  /** RFS: the CPU the application using this socket runs on; −1 = the CPU running now (core/sock_rps.ts) */
  consumer_cpu = -1;
  snd_una = 0;
  snd_nxt = 0;
  snd_wnd = 0;
  snd_wl1 = 0;
  max_window = 0;
  /** sequence after the last byte written (and after the FIN once queued) */
  write_seq = 0;
  /** write_seq at the last push (PSH goes on the segment that carries the byte before it) */
  pushed_seq = 0;
  /** snd_sml: end of the last small segment sent (Minshall's Nagle) */
  snd_sml = 0;
  rcv_nxt = 0;
  rcv_wnd = 0;
  rcv_wup = 0;
  rcv_ssthresh = 0;
  window_clamp = 0;

  // negotiated options (tcp_options_received)
  tstamp_ok = false;
  sack_ok = false;
  wscale_ok = false;
  snd_wscale = 0;
  rcv_wscale = 0;
  ts_recent = 0;
  /** seconds (ktime_get_seconds) when ts_recent was stored; 0 = never */
  ts_recent_stamp = 0;
  ts_offset = 0;
  /** options of the segment being processed */
  saw_tstamp = false;
  rcv_tsval = 0;
  rcv_tsecr = 0;
  /** the peer's MSS (mss_clamp), our advertised MSS, the current send MSS */
  mss_clamp = 536;
  advmss = 1460;
  mss_cache = 536;
  /** header length of established segments: 20 + 12 with timestamps */
  tcp_header_len = 20;

  // congestion state
  snd_cwnd = TCP_INIT_CWND;
  snd_ssthresh = TCP_INFINITE_SSTHRESH;
  snd_cwnd_cnt = 0;
  snd_cwnd_clamp = 0xffff_ffff;
  snd_cwnd_stamp = 0;
  prior_cwnd = 0;
  prior_ssthresh = 0;
  prr_delivered = 0;
  prr_out = 0;
  high_seq = 0;
  undo_marker = 0;
  /** retransmissions not yet proven spurious by D-SACK (−1: none were in flight at the start) */
  undo_retrans = 0;
  /** F-RTO (RFC 5682) in progress after this RTO (tcp_sock.frto) */
  frto = false;
  /** snd_nxt when the tail loss probe went out; 0 = none outstanding (tcp_sock.tlp_high_seq) */
  tlp_high_seq = 0;
  /** the probe was a retransmission (not new data) */
  tlp_retrans = false;
  ca_state = TCP_CA_Open;
  ca!: TcpCongestionOps;
  is_cwnd_limited = false;
  max_packets_out = 0;
  cwnd_usage_seq = 0;
  reordering = TCP_REORDERING;
  reord_seen = 0;
  /** highest SACKed end (tcp_highest_sack / fackets reference) */
  highest_sack = 0;

  // scoreboard counters
  packets_out = 0;
  retrans_out = 0;
  sacked_out = 0;
  lost_out = 0;
  delivered = 0;
  total_retrans = 0;
  /** first retransmission time of the current episode, ms; 0 = none (tcp_sock.retrans_stamp) */
  retrans_stamp = 0;

  /**
   * frames this socket transmitted: the model's tie-break for sends at one virtual instant (its clock
   * does not move while one softirq batch is processed; Linux's does, per tcp_mstamp_refresh)
   */
  xmit_order = 0;

  // RACK (struct tcp_rack)
  rack_mstamp = 0;
  /** xmit_order of the segment at rack_mstamp */
  rack_order = 0;
  rack_rtt_us = 0;
  rack_end_seq = 0;
  rack_advanced = false;
  rack_reo_wnd_steps = 1;

  // inet_connection_sock
  rto = TCP_TIMEOUT_INIT;
  backoff = 0;
  retransmits = 0;
  probes_out = 0;
  icsk_pending = 0;
  ack_pending = 0;
  ack_quick = 0;
  ack_pingpong = 0;
  ack_ato = 0;
  /** last data receive time (ms) */
  ack_lrcvtime = 0;
  ack_rcv_mss = 536;
  /** size of the last short segment that could be a full one (icsk_ack.last_seg_size), 0 none */
  ack_last_seg_size = 0;
  ack_timeout = 0;
  /** last send time in ms and jiffies (lsndtime) */
  lsndtime = 0;
  lsndtime_j = 0;
  /** last ACK receive time (rcv_tstamp), ms */
  rcv_tstamp = 0;
  /** last out-of-window / challenge ACK time, ms (tcp_sock.last_oow_ack_time); −1 never */
  last_oow_ack_time = -1;
  /** time the SYN / SYN-ACK was first sent, µs, and whether it was retransmitted (for the handshake RTT) */
  syn_sent_us = 0;
  syn_retrans = 0;
  /** created from a SYN cookie (cookie_v4_check): no SYN-ACK timing, so no handshake RTT but the TS echo */
  from_cookie = false;
  /** created by a passive open (a request sock until established: tcp_v4_err treats it as tcp_req_err) */
  passive = false;

  // path MTU (inet_connection_sock icsk_pmtu_cookie, tcp_sock mtu_info) and ICMP errors
  /** the PMTU tcp_sync_mss last used */
  pmtu_cookie = 0;
  /** the MTU an ICMP frag-needed reported (tcp_v4_err → tcp_v4_mtu_reduced) */
  mtu_info = 0;
  /** sk_err_soft: an ICMP error that did not abort the connection ('' none), reported on timeout */
  err_soft = '';

  // receive-buffer autotuning (tcp_rcv_space_adjust) and the receiver's RTT estimate (rcv_rtt_est)
  /** sk_rcvbuf (bytes); the window may cover half of it (tcp_win_from_space, tcp_adv_win_scale 1) */
  sk_rcvbuf = 0;
  /** rcv_rtt_est.rtt_us (8 × µs), .seq, .time (µs) */
  rcv_rtt_us = 0;
  rcv_rtt_seq = 0;
  rcv_rtt_time = 0;
  rcv_rtt_last_tsecr = 0;
  /** rcvq_space: bytes the reader took in the last RTT, from copied_seq `seq` at `time` (µs) */
  rcvq_space = 0;
  rcvq_seq = 0;
  rcvq_time = 0;

  // receive-side SACK state (rx_opt.num_sacks, selective_acks, duplicate_sack): one array, made at the
  // first out-of-order or duplicate segment, so an in-order (or idle) connection carries none
  private sack_blocks: Uint32Array | null = null;
  /** rx_opt.selective_acks in [0, 8) (4 blocks of start, end) and duplicate_sack at [DSACK_SLOT, DSACK_SLOT + 2) */
  get selective_acks(): Uint32Array {
    return this.sack_blocks ?? (this.sack_blocks = new Uint32Array(DSACK_SLOT + 2));
  }
  num_sacks = 0;
  dsack = false;

  shutdown = 0;
  /** a FIN is queued at write_seq − 1 */
  fin_queued = false;
  /** the peer's FIN arrived out of order at this sequence (−1 none) */
  ofo_fin_seq = -1;
  /** user called close(): no more reading; FIN_WAIT2 is bounded by tcp_fin_timeout */
  orphan = false;
  nodelay = false;
  keepalive = false;
  keepalive_time: number;
  keepalive_intvl: number;
  keepalive_probes: number;

  // statistics for tcp_info
  bytes_acked = 0;
  bytes_received = 0;
  /** payload bytes sent, retransmissions included (tcpi_bytes_sent), and retransmitted (tcpi_bytes_retrans) */
  bytes_sent = 0;
  bytes_retrans = 0;
  segs_out = 0;
  segs_in = 0;
  data_segs_out = 0;
  data_segs_in = 0;

  readonly rtt: RttEstimator;
  readonly rtx = new RtxQueue();
  readonly sacktag = new SackTagState();
  readonly sndbuf: SendBuffer;
  readonly rcvbuf: RecvBuffer;

  readonly retransmit_timer: TcpTimer;
  readonly delack_timer: TcpTimer;
  /** sk_timer: keepalive, SYN-RECV expiry, FIN_WAIT2 and TIME_WAIT */
  readonly sk_timer: TcpTimer;

  /** the listener (or forwarder) that created this passive socket, until it is accepted */
  parent: TcpListener | null = null;
  /** the listener to hand this socket to once established (inet_csk_accept) */
  acceptor: TcpListener | null = null;
  /** the listener whose connection count this socket holds until it closes (TcpListener.children) */
  owner: TcpListener | null = null;
  /** reading paused by the user: data stays in the receive buffer and the window closes */
  readPaused = false;
  /** pending EV_* bits and the flush guard */
  events = 0;
  private flushing = false;
  /** queued for TcpNet.sk_data_ready's after-softirq wake-up */
  woken = false;
  hashed = false;
  /** the next socket in this one's ehash chain (sk_nulls_node) */
  ehash_next: TcpSock | null = null;

  onConnect: (() => void) | null = null;
  onData: TcpDataHandler | null = null;
  /** the peer sent FIN and every byte before it was delivered */
  onEnd: (() => void) | null = null;
  /** send-buffer space became available after write() returned less than asked */
  onDrain: (() => void) | null = null;
  /** the socket reached CLOSED or TIME_WAIT (`error` says why when abnormal) */
  onClose: ((error: string) => void) | null = null;
  /** write() hit the full buffer */
  wantDrain = false;
  /** the peer's FIN was delivered to onEnd */
  eofDelivered = false;
  closeDelivered = false;

  constructor(
    readonly net: TcpNet,
    readonly ind: InDevice,
  ) {
    const sc = net.sysctl;
    this.rtt = new RttEstimator(sc.tcp_rto_min * 1000, net.HZ);
    this.sndbuf = new SendBuffer(sc.sndbuf);
    this.sk_rcvbuf = sc.rcvbuf;
    // tcp_full_space: the window may cover half of sk_rcvbuf; slack for rounding up to the wscale unit
    this.rcvbuf = new RecvBuffer(sc.rcvbuf >>> 1, (sc.rcvbuf >>> 1) + (1 << 14));
    this.keepalive_time = sc.tcp_keepalive_time;
    this.keepalive_intvl = sc.tcp_keepalive_intvl;
    this.keepalive_probes = sc.tcp_keepalive_probes;
    const sched = net.scheduler;
    this.retransmit_timer = new TcpTimer(sched, () => this.guard(tcp_write_timer));
    this.delack_timer = new TcpTimer(sched, () => this.guard(tcp_delack_timer));
    this.sk_timer = new TcpTimer(sched, () => this.guard(tcp_keepalive_timer));
    this.ca = net.newCongestionOps();
  }

  get HZ(): number {
    return this.net.HZ;
  }
  /** scheduler time, ms */
  now(): number {
    return this.net.scheduler.now();
  }
  now_us(): number {
    return Math.round(this.net.scheduler.now() * 1000);
  }
  jiffies(): number {
    return Math.floor((this.net.scheduler.now() * this.net.HZ) / 1000);
  }
  /** tcp_time_stamp_raw + ts_offset: the TSval clock (1 ms) */
  tsval(): number {
    return (Math.floor(this.net.scheduler.now()) + this.ts_offset) >>> 0;
  }

  get stateName(): TcpStateName {
    return tcpStateName(this.state);
  }

  toString(): string {
    return this.af.format(this);
  }

  // ---- socket API ----

  /**
   * tcp_sendmsg: copy what fits in the send buffer, push it; returns the bytes accepted (0 when full
   * — wait for onDrain). Writing after end() or on a closed socket returns −1 (EPIPE).
   */
  write(data: Uint8Array, off = 0, len = data.length - off): number {
    sock_rps_record_flow(this.net.stack, this, this.state === TCP_ESTABLISHED); // inet_sendmsg
    if (this.shutdown & SEND_SHUTDOWN || this.state === TCP_CLOSE || this.state === TCP_LISTEN) return -1;
    if (off < 0 || len < 0 || off + len > data.length) return -1;
    const n = this.sndbuf.write(data, off, len);
    if (n < len) this.wantDrain = true;
    if (n > 0) {
      this.write_seq = (this.write_seq + n) >>> 0;
      this.pushed_seq = this.write_seq;
      if (this.state !== TCP_SYN_SENT && this.state !== TCP_SYN_RECV) tcp_push(this, true);
    }
    this.flush();
    return n;
  }

  /** bytes the send buffer can take now */
  get writable(): number {
    return this.state === TCP_CLOSE || this.shutdown & SEND_SHUTDOWN ? 0 : this.sndbuf.free;
  }

  /** bytes written and not yet acknowledged */
  get bufferedAmount(): number {
    return this.sndbuf.len;
  }

  /** shutdown(SHUT_WR): queue a FIN after the written data */
  end(): void {
    if (this.shutdown & SEND_SHUTDOWN) return;
    const s = this.state;
    if (s === TCP_CLOSE || s === TCP_LISTEN) return;
    this.shutdown |= SEND_SHUTDOWN;
    // tcp_close_state
    if (s === TCP_ESTABLISHED || s === TCP_SYN_RECV) tcp_set_state(this, TCP_FIN_WAIT1);
    else if (s === TCP_CLOSE_WAIT) tcp_set_state(this, TCP_LAST_ACK);
    if (s === TCP_SYN_SENT) {
      // nothing was sent yet: like close() in SYN_SENT, the connection just goes away
      tcp_done(this, '');
      this.flush();
      return;
    }
    tcp_send_fin(this);
    this.flush();
  }

  /**
   * close(): end() and stop reading. Unread or later-arriving data aborts with RST (tcp_close:
   * TCPAbortOnClose / TCPAbortOnData), and FIN_WAIT2 lasts at most tcp_fin_timeout.
   */
  close(): void {
    this.orphan = true;
    this.onData = null;
    if (this.state !== TCP_CLOSE && this.state !== TCP_LISTEN && this.readableLength > 0) {
      this.net.mib.TcpExt.TCPAbortOnClose++;
      this.destroy();
      return;
    }
    this.end();
  }

  /** abort: RST to the peer (unless not yet synchronized), then CLOSED */
  destroy(): void {
    const s = this.state;
    if (s === TCP_CLOSE) return;
    if (s !== TCP_SYN_SENT && s !== TCP_LISTEN && s !== TCP_TIME_WAIT) tcp_send_active_reset(this);
    tcp_done(this, '');
    this.flush();
  }

  /** stop delivering data: it accumulates in the receive buffer and the advertised window shrinks */
  pause(): void {
    this.readPaused = true;
  }

  /** deliver buffered data again and reopen the window (tcp_cleanup_rbuf's window update) */
  resume(): void {
    if (!this.readPaused) return;
    this.readPaused = false;
    this.events |= EV_DATA;
    this.flush();
  }

  /** TCP_NODELAY */
  setNoDelay(on = true): void {
    this.nodelay = on;
    if (on && this.state === TCP_ESTABLISHED) tcp_push(this, true);
  }

  /** SO_KEEPALIVE with TCP_KEEPIDLE / KEEPINTVL / KEEPCNT (ms, ms, count) */
  setKeepAlive(on: boolean, idle = this.keepalive_time, intvl = this.keepalive_intvl, probes = this.keepalive_probes): void {
    this.keepalive = on;
    this.keepalive_time = idle;
    this.keepalive_intvl = intvl;
    this.keepalive_probes = probes;
    if (on && this.state === TCP_ESTABLISHED) this.sk_timer.reset(idle);
    else if (!on && (this.state === TCP_ESTABLISHED || this.state === TCP_CLOSE_WAIT)) this.sk_timer.stop();
  }

  /** tcp_get_info */
  info(): TcpInfo {
    return {
      state: this.stateName,
      ca_state: this.ca_state,
      retransmits: this.retransmits,
      backoff: this.backoff,
      rto: this.rto * 1000,
      ato: this.ack_ato * 1000,
      snd_mss: this.mss_cache,
      rcv_mss: this.ack_rcv_mss,
      unacked: this.packets_out,
      sacked: this.sacked_out,
      lost: this.lost_out,
      retrans: this.retrans_out,
      rtt: this.rtt.srtt,
      rttvar: this.rtt.mdev,
      min_rtt: this.rtt.min_rtt_us === 0xffffffff ? 0 : this.rtt.min_rtt_us,
      snd_ssthresh: this.snd_ssthresh,
      snd_cwnd: this.snd_cwnd,
      advmss: this.advmss,
      reordering: this.reordering,
      rcv_space: this.rcvq_space,
      total_retrans: this.total_retrans,
      snd_wnd: this.snd_wnd,
      rcv_wnd: this.rcv_wnd,
      snd_wscale: this.snd_wscale,
      rcv_wscale: this.rcv_wscale,
      options: { ts: this.tstamp_ok, sack: this.sack_ok, wscale: this.wscale_ok },
      bytes_acked: this.bytes_acked,
      bytes_received: this.bytes_received,
      segs_out: this.segs_out,
      segs_in: this.segs_in,
      data_segs_out: this.data_segs_out,
      data_segs_in: this.data_segs_in,
      notsent_bytes: ((this.write_seq - this.snd_nxt) | 0) > 0 ? (this.write_seq - this.snd_nxt) | 0 : 0,
      delivered: this.delivered,
      congestion: this.ca.name,
    };
  }

  // ---- internals ----

  /** tcp_is_reno: no SACK negotiated (duplicate ACKs stand in for SACKed segments) */
  is_reno(): boolean {
    return !this.sack_ok;
  }

  /** tcp_packets_in_flight */
  in_flight(): number {
    return this.packets_out - (this.sacked_out + this.lost_out) + this.retrans_out;
  }

  /** run a timer handler, then deliver events; an exception is a bug, logged, never thrown */
  private guard(fn: (tp: TcpSock) => void): void {
    try {
      fn(this);
    } catch (err) {
      this.net.stack.bug(`tcp timer ${this}`, err);
    }
    this.flush();
  }

  /** deliver pending events to the user (after protocol work, as sk_data_ready wakes a reader) */
  flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.events !== 0) {
        const ev = this.events;
        this.events = 0;
        if (ev & EV_CONNECT) {
          const l = this.acceptor;
          this.acceptor = null;
          if (l !== null && !l.closed) l.onConnection(this);
          this.onConnect?.();
        }
        if (ev & (EV_DATA | EV_EOF)) this.deliverData();
        if (ev & EV_DRAIN && this.wantDrain && this.sndbuf.free > 0 && !(this.shutdown & SEND_SHUTDOWN)) {
          this.wantDrain = false;
          this.onDrain?.();
        }
        if (ev & EV_CLOSE && !this.closeDelivered) {
          this.closeDelivered = true;
          this.onClose?.(this.error);
        }
      }
    } catch (err) {
      this.net.stack.bug(`tcp callback ${this}`, err);
    } finally {
      this.flushing = false;
    }
  }

  private deliverData(): void {
    const end = this.rcv_nxt_data();
    if (!this.readPaused && this.onData !== null) {
      const n = this.rcvbuf.peek(end, this.onData);
      if (n > 0) {
        sock_rps_record_flow(this.net.stack, this, this.state === TCP_ESTABLISHED); // inet_recvmsg
        this.rcvbuf.consume(n, end);
        // tcp_recvmsg: autotuning, then the window update
        tcp_rcv_space_adjust(this);
        tcp_cleanup_rbuf(this, n);
      }
    } else if (this.orphan) {
      // nobody reads any more: discard
      const n = ((end - this.rcvbuf.headSeq) | 0);
      if (n > 0) this.rcvbuf.consume(n, end);
    }
    if (this.peer_fin_received && !this.eofDelivered && !this.readPaused && this.rcvbuf.headSeq === end) {
      this.eofDelivered = true;
      this.onEnd?.();
    }
  }

  /** the peer's FIN was accepted (rcv_nxt covers it) */
  peer_fin_received = false;

  /** rcv_nxt without the peer's FIN: one past the last data byte received in order */
  rcv_nxt_data(): number {
    return this.peer_fin_received ? (this.rcv_nxt - 1) >>> 0 : this.rcv_nxt;
  }

  /** bytes received in order and not yet read */
  get readableLength(): number {
    return (this.rcv_nxt_data() - this.rcvbuf.headSeq) | 0;
  }

  /** give back this socket's place in its listener's connection count (closed, or in TIME_WAIT) */
  releaseOwner(): void {
    const l = this.owner;
    if (l === null) return;
    this.owner = null;
    l.children--;
  }

  /** true for states where the connection is synchronized (tcp_sk ESTABLISHED and later) */
  get synchronized(): boolean {
    const s = this.state;
    return s === TCP_ESTABLISHED || s === TCP_FIN_WAIT1 || s === TCP_FIN_WAIT2 || s === TCP_CLOSE_WAIT || s === TCP_CLOSING || s === TCP_LAST_ACK || s === TCP_TIME_WAIT;
  }
}

/** a passive opener on a port (inet_csk listen); onConnection gets each child once ESTABLISHED */
export class TcpListener {
  /** children in SYN_RECV (the request queue, inet_csk_reqsk_queue_len) */
  synQueue = 0;
  /** children alive (SYN_RECV up to CLOSED/TIME_WAIT): held against maxConnections */
  children = 0;
  closed = false;
  /** icsk_accept_queue.synflood_warned: the "Possible SYN flooding" line was printed */
  synflood_warned = false;
  /** when the SYN queue last overflowed (ms; tcp_synq_overflow's rx_opt.ts_recent_stamp), −Infinity never */
  last_overflow = -Infinity;
  constructor(
    readonly net: TcpNet,
    readonly addr: Ipv4Addr,
    readonly port: number,
    readonly backlog: number,
    readonly onConnection: (sock: TcpSock) => void,
    /** the connection cap: at most this many children at once (the per-guest cap, --max-connections) */
    readonly maxConnections = Infinity,
  ) {}
  close(): void {
    this.net.unlisten(this);
  }
}
