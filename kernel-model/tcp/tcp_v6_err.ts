// ICMPv6 errors about our TCP segments (Linux 6.1 net/ipv6/tcp_ipv6.c tcp_v6_err, tcp_v6_mtu_reduced;
// route.c __ip6_rt_update_pmtu). Registered as NEXTHDR_TCP's err_handler (tcp_v6_init); the rules
// shared with IPv4 live in tcp_err.ts.
// - no socket for the quoted 4-tuple: Icmp6 InErrors; TIME_WAIT and CLOSE: ignored;
// - a passive open in SYN_RECV: removed when icmpv6_err_convert calls the error fatal (tcp_req_err);
// - the quoted sequence outside [snd_una, snd_nxt]: TcpExt OutOfWindowIcmps;
// - Packet Too Big: below IPV6_MIN_MTU ignored (6.1 drops such "silly" messages), otherwise the path
//   MTU drops, the MSS follows and what no longer fits is resent at once;
// - everything else (unknown error types too) carries icmpv6_err_convert's errno: the connect fails in
//   SYN_SENT / SYN_RECV, a soft error once synchronized, and no-route reverts an RTO backoff step.
import type { Icmp6Err } from '../ipv6/icmp_err';
import { getU32 } from '../wire/bytes';
import { ICMPV6_DEST_UNREACH, ICMPV6_NOROUTE, ICMPV6_PKT_TOOBIG, NDISC_REDIRECT } from '../wire/icmpv6';
import { IPV6_MIN_MTU } from '../wire/ipv6';
import type { TcpSock } from './sock';
import { tcp_err_check, tcp_err_report, tcp_ld_RTO_revert, tcp_mtu_to_mss, tcp_pmtu_lowered } from './tcp_err';
import type { Tcp6Net } from './tcp_ipv6';
import { TCP_CLOSE, TCP_LISTEN, TCP_SYN_RECV, TCP_SYN_SENT } from './tcp_states';

/** tcp_v6_err: the err_handler for an ICMPv6 error quoting one of our segments */
export function tcp_v6_err(t6: Tcp6Net, e: Icmp6Err): void {
  const tn = t6.tcp;
  const b = e.buf;
  // the quoted segment went from us (saddr:sport) to the peer (daddr:dport): __inet6_lookup_established
  const tp = t6.lookup(b, e.saddr, e.sport, b, e.daddr, e.dport);
  if (tp === null) {
    e.idev.net.mib.Icmp6.InErrors++;
    return;
  }
  const seq = getU32(b, e.l4 + 4);
  if (!tcp_err_check(tn, tp, seq, e.fatal, e.errno)) return;
  const type = e.type;
  // a redirect updates a route cache the model does not have
  if (type === NDISC_REDIRECT) return;
  if (type === ICMPV6_PKT_TOOBIG) {
    if (e.info < IPV6_MIN_MTU) return;
    tp.mtu_info = e.info;
    // never owned by a user here: at once (no TCP_MTU_REDUCED_DEFERRED)
    tcp_v6_mtu_reduced(tp);
    return;
  }
  const st = tp.state;
  if (st !== TCP_SYN_SENT && st !== TCP_SYN_RECV && type === ICMPV6_DEST_UNREACH && e.code === ICMPV6_NOROUTE) tcp_ld_RTO_revert(tp, seq);
  tcp_err_report(tp, e.errno);
}

/**
 * tcp_v6_mtu_reduced: a report that would not lower the MSS is dropped; else inet6_csk_update_pmtu
 * lowers the route's MTU (never raises it, never below IPV6_MIN_MTU) and tcp_pmtu_lowered resyncs.
 */
export function tcp_v6_mtu_reduced(tp: TcpSock): void {
  const st = tp.state;
  if (st === TCP_LISTEN || st === TCP_CLOSE) return;
  const mtu = tp.mtu_info;
  if (tcp_mtu_to_mss(tp, mtu) >= tp.mss_cache) return;
  const old = tp.pmtu_cookie || tp.ind.dev.mtu;
  tcp_pmtu_lowered(tp, mtu < old ? Math.max(mtu, IPV6_MIN_MTU) : old);
}
