// ICMP errors about our TCP segments (Linux 6.1 net/ipv4/tcp_ipv4.c tcp_v4_err, tcp_req_err,
// tcp_ld_RTO_revert (RFC 6069), tcp_v4_mtu_reduced; tcp_input.c tcp_simple_retransmit;
// route.c __ip_rt_update_pmtu's floor). Registered as IPPROTO_TCP's err_handler (tcp_v4_init).
// - no socket for the quoted 4-tuple: Icmp InErrors; TIME_WAIT and CLOSE: ignored;
// - the quoted sequence outside [snd_una, snd_nxt]: TcpExt OutOfWindowIcmps;
// - frag needed (RFC 1191): the socket's path MTU drops to the reported MTU (552 at least), the send
//   MSS follows (tcp_sync_mss) and segments now too big are retransmitted at once;
// - a passive open still in SYN_RECV (Linux's request sock): net/host unreachable, time exceeded and
//   parameter problem remove it silently (ListenDrops); other errors are ignored;
// - SYN_SENT (and a simultaneous open's SYN_RECV): the connect fails with the error;
// - synchronized states: a soft error (sk_err_soft, reported if the connection later times out), and
//   net/host unreachable reverts one RTO backoff step (RFC 6069).
// The family-independent parts (tcp_err_check, tcp_err_report, tcp_pmtu_lowered) serve tcp_v6_err too.
import { EHOSTDOWN, ECONNREFUSED, EHOSTUNREACH, EMSGSIZE, ENETUNREACH, ENONET, ENOPROTOOPT, EOPNOTSUPP, EPROTO, icmp_err_convert, type IcmpErr } from '../icmp/icmp_err';
import { EACCES } from '../ipv6/icmp_err';
import { getU32 } from '../wire/bytes';
import {
  ICMP_DEST_UNREACH,
  ICMP_FRAG_NEEDED,
  ICMP_HOST_UNREACH,
  ICMP_NET_UNREACH,
  ICMP_PARAMETERPROB,
  ICMP_REDIRECT,
  ICMP_SOURCE_QUENCH,
  ICMP_TIME_EXCEEDED,
} from '../wire/icmp';
import { ICSK_TIME_RETRANS, type TcpSock } from './sock';
import type { TcpNet } from './tcp_ipv4';
import { tcp_current_mss, tcp_done, tcp_in_cwnd_reduction, tcp_reset_xmit_timer, tcp_sync_mss, tcp_xmit_retransmit_queue } from './tcp_output';
import { tcp_mark_skb_lost } from './tcp_recovery';
import { tcp_write_timer } from './tcp_timer_handlers';
import { TCP_HLEN } from '../wire/tcp';
import { TCP_CA_Loss, TCP_MIN_SND_MSS, TCP_CLOSE, TCP_LISTEN, TCP_RTO_MAX, TCP_SYN_RECV, TCP_SYN_SENT, TCP_TIMEOUT_INIT, TCP_TIME_WAIT } from './tcp_states';

/** NR_ICMP_UNREACH: the highest destination-unreachable code */
const NR_ICMP_UNREACH = 15;
/** net.ipv4.route.min_pmtu (ip_rt_min_pmtu = 512 + 20 + 20) */
export const IP_RT_MIN_PMTU = 552;

const errnoNames = new Map<number, string>([
  [ENETUNREACH, 'ENETUNREACH'],
  [EHOSTUNREACH, 'EHOSTUNREACH'],
  [ENOPROTOOPT, 'ENOPROTOOPT'],
  [ECONNREFUSED, 'ECONNREFUSED'],
  [EMSGSIZE, 'EMSGSIZE'],
  [EOPNOTSUPP, 'EOPNOTSUPP'],
  [EHOSTDOWN, 'EHOSTDOWN'],
  [ENONET, 'ENONET'],
  [EPROTO, 'EPROTO'],
  [EACCES, 'EACCES'],
]);

/** the errno name the socket reports */
export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

/** between(seq, low, high): low ≤ seq ≤ high in sequence space */
function between(seq: number, low: number, high: number): boolean {
  return ((high - low) >>> 0) >= ((seq - low) >>> 0);
}

/** tcp_v4_err: the err_handler for an ICMP error quoting one of our segments */
export function tcp_v4_err(tn: TcpNet, e: IcmpErr): void {
  if (e.l4Len < 8) return;
  // the quoted segment went from us (saddr:sport) to the peer (daddr:dport)
  const tp = tn.lookup(e.saddr, e.sport, e.daddr, e.dport);
  if (tp === null) {
    // __inet_lookup_established found nothing (listeners are not looked up)
    if (!e.local) tn.mib.Icmp.InErrors++;
    return;
  }
  const seq = getU32(e.buf, e.l4 + 4);
  const type = e.type;
  const code = e.code;
  // a request in SYN_RECV goes only for errors saying the path is gone (tcp_v4_err's tcp_req_err call)
  const reqAbort = type === ICMP_PARAMETERPROB || type === ICMP_TIME_EXCEEDED || (type === ICMP_DEST_UNREACH && (code === ICMP_NET_UNREACH || code === ICMP_HOST_UNREACH));
  const reqErr = !reqAbort ? 0 : type === ICMP_PARAMETERPROB ? EPROTO : type === ICMP_TIME_EXCEEDED ? EHOSTUNREACH : icmp_err_convert[code].errno;
  if (!tcp_err_check(tn, tp, seq, reqAbort, reqErr)) return;
  let err: number;
  switch (type) {
    case ICMP_REDIRECT: // do_redirect updates a route cache the model does not have
    case ICMP_SOURCE_QUENCH:
      return;
    case ICMP_PARAMETERPROB:
      err = EPROTO;
      break;
    case ICMP_DEST_UNREACH:
      if (code > NR_ICMP_UNREACH) return;
      if (code === ICMP_FRAG_NEEDED) {
        // PMTU discovery (RFC 1191); the socket is never owned by a user here, so at once
        tp.mtu_info = e.info;
        tcp_v4_mtu_reduced(tp);
        return;
      }
      err = icmp_err_convert[code].errno;
      if (code === ICMP_NET_UNREACH || code === ICMP_HOST_UNREACH) tcp_ld_RTO_revert(tp, seq);
      break;
    case ICMP_TIME_EXCEEDED:
      err = EHOSTUNREACH;
      break;
    default:
      return;
  }
  tcp_err_report(tp, err);
}

/**
 * The family-independent head of tcp_v4_err / tcp_v6_err once the lookup found `tp`: TIME_WAIT and
 * CLOSE ignore errors; a passive open still in SYN_RECV (Linux's request sock) goes to tcp_req_err
 * (`reqAbort`: the family's rule for removing it, `reqErr` the errno then); a quoted sequence outside
 * [snd_una, snd_nxt] counts OutOfWindowIcmps. True when the family's type rules should go on.
 */
export function tcp_err_check(tn: TcpNet, tp: TcpSock, seq: number, reqAbort: boolean, reqErr: number): boolean {
  const st = tp.state;
  if (st === TCP_TIME_WAIT || st === TCP_CLOSE) return false;
  if (st === TCP_SYN_RECV && tp.passive) {
    tcp_req_err(tn, tp, seq, reqAbort, reqErr);
    return false;
  }
  if (st !== TCP_LISTEN && !between(seq, tp.snd_una, tp.snd_nxt)) {
    tn.mib.TcpExt.OutOfWindowIcmps++;
    return false;
  }
  return true;
}

/**
 * The family-independent tail: during a handshake (SYN_SENT, a simultaneous open's SYN_RECV) the
 * connect fails with `err` (sk_err, sk_error_report, tcp_done); once synchronized only a soft error is
 * kept (RFC 1122 4.2.3.9; IP_RECVERR is off), reported if the connection later times out.
 */
export function tcp_err_report(tp: TcpSock, err: number): void {
  if (tp.state === TCP_SYN_SENT || tp.state === TCP_SYN_RECV) {
    tcp_done(tp, errnoName(err));
    tp.flush();
    return;
  }
  tp.err_soft = errnoName(err);
}

/** tcp_req_err: an error about a request's SYN-ACK */
function tcp_req_err(tn: TcpNet, tp: TcpSock, seq: number, abort: boolean, err: number): void {
  if (seq !== tp.iss) {
    tn.mib.TcpExt.OutOfWindowIcmps++;
    return;
  }
  if (!abort) return;
  // inet_csk_reqsk_queue_drop + tcp_listendrop: gone without a word (an expired request is no AttemptFail)
  tn.mib.TcpExt.ListenDrops++;
  tn.mib.Tcp.AttemptFails--;
  tcp_done(tp, errnoName(err));
  tp.flush();
}

/**
 * tcp_v4_mtu_reduced: inet_csk_update_pmtu lowers the socket's path MTU (never raises it; below
 * min_pmtu it is clamped to 552 and the soft error EMSGSIZE remembered), then a smaller PMTU than the
 * MSS was computed for resyncs the MSS and retransmits what no longer fits.
 */
export function tcp_v4_mtu_reduced(tp: TcpSock): void {
  const st = tp.state;
  if (st === TCP_LISTEN || st === TCP_CLOSE) return;
  const old = tp.pmtu_cookie || tp.ind.dev.mtu;
  const reported = tp.mtu_info;
  let mtu = reported;
  // __ip_rt_update_pmtu
  if (mtu > old) return;
  if (mtu < IP_RT_MIN_PMTU) mtu = Math.min(old, IP_RT_MIN_PMTU);
  // something is about to be wrong: remember a soft error in case the connection cannot recover
  if (reported < mtu) tp.err_soft = 'EMSGSIZE';
  tcp_pmtu_lowered(tp, mtu);
}

/**
 * The family-independent end of tcp_v4_mtu_reduced / tcp_v6_mtu_reduced once the route's path MTU is
 * `mtu`: when the MSS was computed for more (icsk_pmtu_cookie), resync it (tcp_sync_mss) and resend at
 * once what no longer fits (tcp_simple_retransmit).
 */
export function tcp_pmtu_lowered(tp: TcpSock, mtu: number): void {
  const st = tp.state;
  if ((tp.pmtu_cookie || tp.ind.dev.mtu) > mtu) {
    tcp_sync_mss(tp, mtu);
    if (st !== TCP_SYN_SENT && st !== TCP_SYN_RECV) tcp_simple_retransmit(tp);
  }
  tp.flush();
}

/** tcp_mtu_to_mss: the send MSS a path MTU of `pmtu` would give (before the half-window bound) */
export function tcp_mtu_to_mss(tp: TcpSock, pmtu: number): number {
  let mss = pmtu - tp.af.net_header_len - TCP_HLEN;
  if (mss > tp.mss_clamp) mss = tp.mss_clamp;
  if (mss < TCP_MIN_SND_MSS) mss = TCP_MIN_SND_MSS;
  return mss - (tp.tcp_header_len - TCP_HLEN);
}

/**
 * tcp_simple_retransmit: every segment longer than the new MSS is lost; outside Loss state the
 * connection enters it without touching cwnd (the units changed, not the amount of data in flight)
 * and the lost segments go again, cut to the new MSS by tcp_retransmit_skb.
 */
export function tcp_simple_retransmit(tp: TcpSock): void {
  const mss = tcp_current_mss(tp);
  const q = tp.rtx;
  for (let i = 0; i < q.length; i++) {
    const r = q.at(i);
    if (r.len > mss) tcp_mark_skb_lost(tp, r);
  }
  if (!tp.lost_out) return;
  if (tp.ca_state !== TCP_CA_Loss) {
    tp.high_seq = tp.snd_nxt;
    // tcp_current_ssthresh
    tp.snd_ssthresh = tcp_in_cwnd_reduction(tp) ? tp.snd_ssthresh : Math.max(tp.snd_ssthresh, (tp.snd_cwnd >>> 1) + (tp.snd_cwnd >>> 2));
    tp.prior_ssthresh = 0;
    tp.undo_marker = 0;
    tp.ca.set_state(tp, TCP_CA_Loss);
    tp.ca_state = TCP_CA_Loss;
  }
  tcp_xmit_retransmit_queue(tp);
}

/**
 * tcp_ld_RTO_revert (RFC 6069): a net/host unreachable about the segment at snd_una during RTO backoff
 * says the path, not congestion, ate it — undo one backoff step and rearm (or retransmit now)
 */
export function tcp_ld_RTO_revert(tp: TcpSock, seq: number): void {
  if (seq !== tp.snd_una || !tp.retransmits || !tp.backoff) return;
  const head = tp.rtx.first();
  if (head === null) return;
  tp.backoff--;
  const base = tp.rtt.srtt_us ? tp.rtt.rto_ms(TCP_RTO_MAX) : TCP_TIMEOUT_INIT;
  tp.rto = Math.min(base * 2 ** tp.backoff, TCP_RTO_MAX);
  const remaining = tp.rto - (tp.now_us() - head.xmit_us) / 1000;
  if (remaining > 0) {
    tcp_reset_xmit_timer(tp, ICSK_TIME_RETRANS, remaining);
  } else {
    // the revert clocked out the retransmission: now
    tp.icsk_pending = ICSK_TIME_RETRANS;
    tcp_write_timer(tp);
  }
}

