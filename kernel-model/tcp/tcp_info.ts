// tcp_get_info (net/ipv4/tcp.c) over the model's socket fields: struct tcp_info (include/uapi/linux/tcp.h)
// under its own field names, for `skbnet ss -ti`. Read-only: nothing here changes the socket.
// Where the model keeps no state for a field (rate sampling, chrono busy times, receiver RTT, ECN),
// the field is 0, which `ss` prints as Linux's does for a socket where it is 0: not at all.
import type { TcpSock } from './sock';
import { TCP_LISTEN, TCP_SYN_SENT, TCP_SYN_RECV, TCP_TIME_WAIT } from './tcp_states';

// tcpi_options bits (include/uapi/linux/tcp.h)
export const TCPI_OPT_TIMESTAMPS = 1;
export const TCPI_OPT_SACK = 2;
export const TCPI_OPT_WSCALE = 4;
export const TCPI_OPT_ECN = 8;
export const TCPI_OPT_ECN_SEEN = 16;
export const TCPI_OPT_SYN_DATA = 32;

/** ~0ULL: "no pacing rate" (sk_pacing_rate before the first RTT sample, sk_max_pacing_rate unset) */
export const PACING_UNLIMITED = Number.MAX_SAFE_INTEGER;

/** struct tcp_info; times in µs (rto, ato, rtt, rttvar, min_rtt) or ms (last_*), rates in bytes/s */
export interface TcpInfoStruct {
  tcpi_state: number;
  tcpi_ca_state: number;
  tcpi_retransmits: number;
  tcpi_probes: number;
  tcpi_backoff: number;
  tcpi_options: number;
  tcpi_snd_wscale: number;
  tcpi_rcv_wscale: number;
  tcpi_delivery_rate_app_limited: number;
  tcpi_rto: number;
  tcpi_ato: number;
  tcpi_snd_mss: number;
  tcpi_rcv_mss: number;
  tcpi_unacked: number;
  tcpi_sacked: number;
  tcpi_lost: number;
  tcpi_retrans: number;
  tcpi_fackets: number;
  tcpi_last_data_sent: number;
  tcpi_last_ack_sent: number;
  tcpi_last_data_recv: number;
  tcpi_last_ack_recv: number;
  tcpi_pmtu: number;
  tcpi_rcv_ssthresh: number;
  tcpi_rtt: number;
  tcpi_rttvar: number;
  tcpi_snd_ssthresh: number;
  tcpi_snd_cwnd: number;
  tcpi_advmss: number;
  tcpi_reordering: number;
  tcpi_rcv_rtt: number;
  tcpi_rcv_space: number;
  tcpi_total_retrans: number;
  tcpi_pacing_rate: number;
  tcpi_max_pacing_rate: number;
  tcpi_bytes_acked: number;
  tcpi_bytes_received: number;
  tcpi_segs_out: number;
  tcpi_segs_in: number;
  tcpi_notsent_bytes: number;
  tcpi_min_rtt: number;
  tcpi_data_segs_in: number;
  tcpi_data_segs_out: number;
  tcpi_delivery_rate: number;
  tcpi_busy_time: number;
  tcpi_rwnd_limited: number;
  tcpi_sndbuf_limited: number;
  tcpi_delivered: number;
  tcpi_delivered_ce: number;
  tcpi_bytes_sent: number;
  tcpi_bytes_retrans: number;
  tcpi_dsack_dups: number;
  tcpi_reord_seen: number;
  tcpi_rcv_ooopack: number;
  tcpi_snd_wnd: number;
  /** INET_DIAG_CONG */
  congestion: string;
}

// tcp_update_pacing_rate's ratios (net.ipv4.tcp_pacing_ss_ratio / tcp_pacing_ca_ratio)
const TCP_PACING_SS_RATIO = 200;
const TCP_PACING_CA_RATIO = 120;

/** jiffies of a scheduler time in ms (the model keeps these stamps in ms; Linux in jiffies) */
const toJiffies = (ms: number, HZ: number): number => Math.floor((ms * HZ) / 1000);
const jiffies_to_msecs = (j: number, HZ: number): number => Math.floor((j * 1000) / HZ);

/**
 * tcp_update_pacing_rate (tcp_input.c): mss × ratio% × max(cwnd, packets_out) / srtt, in bytes/s;
 * ~0 before the first RTT sample (sk_pacing_rate's initial value).
 */
export function tcp_pacing_rate(tp: TcpSock): number {
  const srtt_us = tp.rtt.srtt_us; // 8 × srtt
  if (srtt_us === 0) return PACING_UNLIMITED;
  const ratio = tp.snd_cwnd < tp.snd_ssthresh / 2 ? TCP_PACING_SS_RATIO : TCP_PACING_CA_RATIO;
  // (USEC_PER_SEC / 100) << 3 undoes srtt_us's ×8 and ratio's percent
  const rate = tp.mss_cache * ((1_000_000 / 100) * 8) * ratio * Math.max(tp.snd_cwnd, tp.packets_out);
  return Math.floor(rate / srtt_us);
}

/** tcp_get_info: the socket's struct tcp_info at scheduler time now */
export function tcp_get_info(tp: TcpSock): TcpInfoStruct {
  const HZ = tp.HZ;
  const now_j = tp.jiffies();
  const state = tp.state;
  const listen = state === TCP_LISTEN;
  let options = 0;
  if (tp.tstamp_ok) options |= TCPI_OPT_TIMESTAMPS;
  if (tp.sack_ok) options |= TCPI_OPT_SACK;
  if (tp.wscale_ok) options |= TCPI_OPT_WSCALE;
  const notsent = (tp.write_seq - tp.snd_nxt) | 0;
  const min_rtt = tp.rtt.min_rtt_us;
  const synced = state !== TCP_SYN_SENT && state !== TCP_SYN_RECV;
  return {
    tcpi_state: state,
    tcpi_ca_state: tp.ca_state,
    tcpi_retransmits: tp.retransmits,
    tcpi_probes: tp.probes_out,
    tcpi_backoff: tp.backoff,
    tcpi_options: options,
    tcpi_snd_wscale: tp.wscale_ok ? tp.snd_wscale : 0,
    tcpi_rcv_wscale: tp.wscale_ok ? tp.rcv_wscale : 0,
    tcpi_delivery_rate_app_limited: 0,
    // jiffies_to_usecs(icsk_rto), jiffies_to_usecs(icsk_ack.ato)
    tcpi_rto: Math.round(tp.rto * 1000),
    tcpi_ato: Math.round(tp.ack_ato * 1000),
    tcpi_snd_mss: tp.mss_cache,
    tcpi_rcv_mss: tp.ack_rcv_mss,
    // a listener reports its accept queue in unacked/sacked (tcp_get_info's LISTEN branch)
    tcpi_unacked: listen ? 0 : tp.packets_out,
    tcpi_sacked: listen ? 0 : tp.sacked_out,
    tcpi_lost: tp.lost_out,
    tcpi_retrans: tp.retrans_out,
    tcpi_fackets: 0,
    tcpi_last_data_sent: jiffies_to_msecs(now_j - tp.lsndtime_j, HZ),
    tcpi_last_ack_sent: 0,
    // icsk_ack.lrcvtime: stamped when the socket is created (tcp_create_openreq_child,
    // tcp_finish_connect) and on each data segment (tcp_event_data_recv)
    tcpi_last_data_recv: jiffies_to_msecs(now_j - toJiffies(tp.ack_lrcvtime, HZ), HZ),
    tcpi_last_ack_recv: jiffies_to_msecs(now_j - toJiffies(tp.rcv_tstamp, HZ), HZ),
    // icsk_pmtu_cookie: the device's MTU, lowered by ICMP frag needed (tcp_v4_mtu_reduced)
    tcpi_pmtu: tp.pmtu_cookie || tp.ind.dev.mtu,
    tcpi_rcv_ssthresh: tp.rcv_ssthresh,
    tcpi_rtt: tp.rtt.srtt_us >>> 3,
    tcpi_rttvar: tp.rtt.mdev_us >>> 2,
    tcpi_snd_ssthresh: tp.snd_ssthresh,
    tcpi_snd_cwnd: tp.snd_cwnd,
    tcpi_advmss: tp.advmss,
    tcpi_reordering: tp.reordering,
    // rcv_rtt_est.rtt_us >> 3; rcvq_space.space (tcp_init_buffer_space, then tcp_rcv_space_adjust)
    tcpi_rcv_rtt: tp.rcv_rtt_us >>> 3,
    tcpi_rcv_space: synced ? tp.rcvq_space : 0,
    tcpi_total_retrans: tp.total_retrans,
    tcpi_pacing_rate: listen ? PACING_UNLIMITED : tcp_pacing_rate(tp),
    tcpi_max_pacing_rate: PACING_UNLIMITED,
    tcpi_bytes_acked: tp.bytes_acked,
    tcpi_bytes_received: tp.bytes_received,
    tcpi_segs_out: tp.segs_out,
    tcpi_segs_in: tp.segs_in,
    tcpi_notsent_bytes: notsent > 0 ? notsent : 0,
    tcpi_min_rtt: min_rtt === 0xffffffff ? 0xffffffff : min_rtt,
    tcpi_data_segs_in: tp.data_segs_in,
    tcpi_data_segs_out: tp.data_segs_out,
    tcpi_delivery_rate: 0,
    tcpi_busy_time: 0,
    tcpi_rwnd_limited: 0,
    tcpi_sndbuf_limited: 0,
    tcpi_delivered: tp.delivered,
    tcpi_delivered_ce: 0,
    tcpi_bytes_sent: tp.bytes_sent,
    tcpi_bytes_retrans: tp.bytes_retrans,
    tcpi_dsack_dups: 0,
    tcpi_reord_seen: tp.reord_seen,
    tcpi_rcv_ooopack: 0,
    tcpi_snd_wnd: tp.snd_wnd,
    congestion: tp.ca.name,
  };
}

/** TIME_WAIT sockets report only addresses and the state (inet_twsk_diag_fill carries no tcp_info) */
export function tcp_info_available(tp: TcpSock): boolean {
  return tp.state !== TCP_TIME_WAIT;
}
