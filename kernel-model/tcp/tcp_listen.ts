// A segment for a LISTEN socket (Linux 6.1: tcp_v4_do_rcv → tcp_v4_cookie_check, then
// tcp_rcv_state_process in LISTEN → tcp_conn_request in tcp_input.c; cookie_v4_check in syncookies.c).
// The model has no request socks: a SYN that fits the queue becomes a full child in SYN_RECV (counted
// in the listener's synQueue and children). When the SYN queue is full (synQueue ≥ backlog) or the
// connection cap is reached (children ≥ maxConnections), tcp_syncookies 1 answers with a cookie
// SYN-ACK that keeps no state; the returning ACK is checked as a cookie and becomes the child then.
import type { InDevice } from '../ipv4/devinet';
import { NET_RX_DROP, NET_RX_SUCCESS } from '../ipv4/netns';
import { TCPHDR_ACK, TCPHDR_FIN, TCPHDR_RST, TCPHDR_SYN, TCPOLEN_TSTAMP_ALIGNED, TCP_HLEN, TCP_MAX_WSCALE } from '../wire/tcp';
import { TcpSock, type TcpListener } from './sock';
import {
  CookieOptions,
  cookie_init_timestamp,
  cookie_timestamp_decode,
  cookie_v4_check_mss,
  cookie_v4_init_sequence,
  TCP_SYNCOOKIE_VALID_MS,
} from './syncookies';
import { tcp_rcv, type TcpSeg } from './tcp_input';
import { synInfoOf, tcp_v4_send_reset, type SynInfo, type TcpNet } from './tcp_ipv4';
import { tcp_create_openreq_child, tcp_select_initial_window, tcp_send_synack } from './tcp_output';
import { TCP_MSS_DEFAULT } from './tcp_states';

const COOKIE_NONE = 0;
const COOKIE_CHILD = 1;
const COOKIE_DISCARD = 2;

/** tcp_v4_do_rcv for a listener */
export function tcp_v4_listen_rcv(tn: TcpNet, l: TcpListener, ind: InDevice, seg: TcpSeg): number {
  const f = seg.flags;
  if (!(f & TCPHDR_SYN)) {
    // tcp_v4_cookie_check
    const r = cookie_v4_check(tn, l, ind, seg);
    if (r === COOKIE_CHILD) return NET_RX_SUCCESS;
    if (r === COOKIE_DISCARD) return NET_RX_DROP;
  }
  if (f & TCPHDR_ACK) {
    // no request for it (or a stale / failed cookie): RST
    tcp_v4_send_reset(tn, ind, seg);
    return NET_RX_DROP;
  }
  if (f & TCPHDR_RST || !(f & TCPHDR_SYN) || f & TCPHDR_FIN) return NET_RX_DROP;
  return tcp_conn_request(tn, l, ind, seg);
}

/** inet_csk_reqsk_queue_is_full, with the model's connection cap as a second limit */
function reqsk_queue_is_full(l: TcpListener): boolean {
  return l.synQueue >= l.backlog || l.children >= l.maxConnections;
}

/** tcp_listendrop */
function tcp_listendrop(tn: TcpNet): void {
  tn.mib.TcpExt.ListenDrops++;
}

/**
 * tcp_syn_flood_action: cookies (TCPReqQFullDoCookies) or a drop (TCPReqQFullDrop); the first time
 * per listener (unless cookies are always on) the kernel's one-line warning
 */
function tcp_syn_flood_action(tn: TcpNet, l: TcpListener): boolean {
  const sc = tn.sysctl;
  let msg = 'Dropping request';
  let want_cookie = false;
  if (sc.tcp_syncookies) {
    msg = 'Sending cookies';
    want_cookie = true;
    tn.mib.TcpExt.TCPReqQFullDoCookies++;
  } else {
    tn.mib.TcpExt.TCPReqQFullDrop++;
  }
  if (!l.synflood_warned && sc.tcp_syncookies !== 2) {
    l.synflood_warned = true;
    // net_info_ratelimited with pr_fmt "TCP: " and proto = rsk_ops->slab_name (6.1 wording)
    tn.log.info(`TCP: request_sock_TCP: Possible SYN flooding on port ${l.port}. ${msg}.  Check SNMP counters.`);
  }
  return want_cookie;
}

/** tcp_synq_overflow: remember the overflow time (at most once a second) */
function tcp_synq_overflow(tn: TcpNet, l: TcpListener): void {
  const now = tn.scheduler.now();
  if (!(now >= l.last_overflow && now <= l.last_overflow + 1000)) l.last_overflow = now;
}

/** tcp_synq_no_recent_overflow: ACKs are looked at as cookies only for TCP_SYNCOOKIE_VALID after one */
function tcp_synq_no_recent_overflow(tn: TcpNet, l: TcpListener): boolean {
  const now = tn.scheduler.now();
  return !(now >= l.last_overflow - 1000 && now <= l.last_overflow + TCP_SYNCOOKIE_VALID_MS);
}

/**
 * tcp_conn_request for a SYN: a child in SYN_RECV when the queue has room; else (tcp_syncookies 1,
 * or always with 2) a cookie SYN-ACK, or a drop (ListenDrops) with cookies off
 */
function tcp_conn_request(tn: TcpNet, l: TcpListener, ind: InDevice, seg: TcpSeg): number {
  const sc = tn.sysctl;
  let want_cookie = false;
  if (sc.tcp_syncookies === 2 || reqsk_queue_is_full(l)) {
    want_cookie = tcp_syn_flood_action(tn, l);
    if (!want_cookie) {
      tcp_listendrop(tn);
      return NET_RX_DROP;
    }
  }
  // sk_acceptq_is_full never holds here: the model hands an established child to onConnection at once
  if (!want_cookie) {
    const child = tcp_create_openreq_child(tn, ind, synInfoOf(seg), l);
    return child === null ? NET_RX_DROP : NET_RX_SUCCESS;
  }
  // cookie_init_sequence: the overflow time, SyncookiesSent, the ISN
  tcp_synq_overflow(tn, l);
  tn.mib.TcpExt.SyncookiesSent++;
  const o = seg.opts;
  // tcp_parse_options: mss_clamp starts at TCP_MSS_DEFAULT (af_ops->mss_clamp); options off here do not count
  const mss_clamp = o.mss > 0 ? o.mss : TCP_MSS_DEFAULT;
  const isn = cookie_v4_init_sequence(tn, seg.saddr, seg.daddr, seg.sport, seg.dport, seg.seq, mss_clamp);
  tcp_v4_send_cookie_synack(tn, ind, seg, isn);
  return NET_RX_SUCCESS;
}

/** one reusable socket per device to lay out cookie SYN-ACKs exactly as tcp_make_synack does; never hashed */
const synackTemplates = new WeakMap<InDevice, TcpSock>();

/**
 * tcp_v4_send_synack with TCP_SYNACK_COOKIE: the options the SYN asked for and we allow — none but
 * MSS without a timestamp (a cookie cannot carry them otherwise) — with the cookie timestamp
 * (cookie_init_timestamp + the connection's TS offset). Nothing is kept.
 */
function tcp_v4_send_cookie_synack(tn: TcpNet, ind: InDevice, seg: TcpSeg, isn: number): void {
  let tp = synackTemplates.get(ind);
  if (tp === undefined || tp.net !== tn) {
    tp = new TcpSock(tn, ind);
    synackTemplates.set(ind, tp);
  }
  const sc = tn.sysctl;
  const o = seg.opts;
  tp.saddr = seg.daddr;
  tp.daddr = seg.saddr;
  tp.sport = seg.dport;
  tp.dport = seg.sport;
  tp.advmss = ind.dev.mtu - tp.af.net_header_len - TCP_HLEN;
  // want_cookie && !saw_tstamp → tcp_clear_options
  tp.tstamp_ok = o.ts && sc.tcp_timestamps;
  tp.sack_ok = tp.tstamp_ok && o.sackPerm && sc.tcp_sack;
  tp.wscale_ok = tp.tstamp_ok && o.wscale >= 0 && sc.tcp_window_scaling;
  tp.snd_wscale = tp.wscale_ok ? Math.min(o.wscale, TCP_MAX_WSCALE) : 0;
  tp.ts_recent = o.tsval;
  tp.irs = seg.seq;
  tp.rcv_nxt = (seg.seq + 1) >>> 0;
  tp.iss = isn;
  tp.snd_nxt = (isn + 1) >>> 0;
  tcp_select_initial_window(tp, tp.advmss - (tp.tstamp_ok ? TCPOLEN_TSTAMP_ALIGNED : 0), tp.wscale_ok);
  if (tp.tstamp_ok) {
    const now = Math.floor(tn.scheduler.now());
    const ts = cookie_init_timestamp(now, tp.wscale_ok, tp.snd_wscale, tp.sack_ok, false);
    const off = tn.secure_tcp_ts_off(tp.saddr, tp.daddr);
    // tsval() = now + ts_offset = the cookie timestamp + the connection's offset
    tp.ts_offset = (ts + off - now) >>> 0;
  } else {
    tp.ts_offset = 0;
  }
  tcp_send_synack(tp);
}

const cookieOpts = new CookieOptions();

/**
 * cookie_v4_check + tcp_get_cookie_sock: an ACK to a listener that overflowed within the last
 * TCP_SYNCOOKIE_VALID. A good cookie (SyncookiesRecv) becomes a child that processes the ACK at once;
 * a bad one counts SyncookiesFailed and falls through to the RST; a good one past the connection cap
 * counts ListenOverflows + ListenDrops and is dropped (tcp_v4_syn_recv_sock's overflow exit).
 */
function cookie_v4_check(tn: TcpNet, l: TcpListener, ind: InDevice, seg: TcpSeg): number {
  const sc = tn.sysctl;
  const f = seg.flags;
  if (!sc.tcp_syncookies || !(f & TCPHDR_ACK) || f & TCPHDR_RST) return COOKIE_NONE;
  if (tcp_synq_no_recent_overflow(tn, l)) return COOKIE_NONE;
  const mss = cookie_v4_check_mss(tn, seg.saddr, seg.daddr, seg.sport, seg.dport, seg.seq, seg.ack);
  if (mss === 0) {
    tn.mib.TcpExt.SyncookiesFailed++;
    return COOKIE_NONE;
  }
  tn.mib.TcpExt.SyncookiesRecv++;
  const o = seg.opts;
  // tcp_parse_options on the ACK: a TSecr loses the connection's TS offset to reveal the option bits
  const saw_tstamp = o.ts && sc.tcp_timestamps;
  let tsecr = o.tsecr;
  if (saw_tstamp && tsecr !== 0) tsecr = (tsecr - tn.secure_tcp_ts_off(seg.daddr, seg.saddr)) >>> 0;
  if (!cookie_timestamp_decode(tn, saw_tstamp, tsecr, cookieOpts)) return COOKIE_NONE;
  // tcp_v4_syn_recv_sock: sk_acceptq_is_full → the model's connection cap
  if (l.children >= l.maxConnections) {
    tn.mib.TcpExt.ListenOverflows++;
    tcp_listendrop(tn);
    return COOKIE_DISCARD;
  }
  if (tn.lookup(seg.daddr, seg.dport, seg.saddr, seg.sport) !== null) return COOKIE_DISCARD;
  const syn: SynInfo = {
    saddr: seg.saddr,
    daddr: seg.daddr,
    sport: seg.sport,
    dport: seg.dport,
    seq: (seg.seq - 1) >>> 0,
    window: seg.window,
    mss,
    wscale: cookieOpts.wscale_ok ? cookieOpts.snd_wscale : -1,
    sackPerm: cookieOpts.sack_ok,
    ts: cookieOpts.tstamp_ok,
    tsval: o.tsval,
  };
  const child = tcp_create_openreq_child(tn, ind, syn, l, null, (seg.ack - 1) >>> 0);
  if (child === null) return COOKIE_DISCARD;
  // tcp_child_process: the ACK (and any data on it) completes the handshake
  try {
    tcp_rcv(child, seg);
  } catch (err) {
    tn.stack.bug(`tcp_rcv ${child}`, err);
  }
  tn.sk_data_ready(child);
  return COOKIE_CHILD;
}

