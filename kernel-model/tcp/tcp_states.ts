// TCP states, sequence arithmetic and the constants of include/net/tcp.h / include/net/tcp_states.h
// the model uses. Times are in scheduler milliseconds unless a name ends in _us.

// enum tcp_state (include/net/tcp_states.h), the numbering /proc/net/tcp and ss show
export const TCP_ESTABLISHED = 1;
export const TCP_SYN_SENT = 2;
export const TCP_SYN_RECV = 3;
export const TCP_FIN_WAIT1 = 4;
export const TCP_FIN_WAIT2 = 5;
export const TCP_TIME_WAIT = 6;
export const TCP_CLOSE = 7;
export const TCP_CLOSE_WAIT = 8;
export const TCP_LAST_ACK = 9;
export const TCP_LISTEN = 10;
export const TCP_CLOSING = 11;

export type TcpStateName =
  | 'ESTABLISHED' | 'SYN_SENT' | 'SYN_RECV' | 'FIN_WAIT1' | 'FIN_WAIT2' | 'TIME_WAIT' | 'CLOSED'
  | 'CLOSE_WAIT' | 'LAST_ACK' | 'LISTEN' | 'CLOSING';

const NAMES: TcpStateName[] = [
  'CLOSED', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSED',
  'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING',
];

export function tcpStateName(s: number): TcpStateName {
  return NAMES[s] ?? 'CLOSED';
}

// congestion-avoidance states (enum tcp_ca_state)
export const TCP_CA_Open = 0;
export const TCP_CA_Disorder = 1;
export const TCP_CA_CWR = 2;
export const TCP_CA_Recovery = 3;
export const TCP_CA_Loss = 4;

// sk_shutdown bits
export const RCV_SHUTDOWN = 1;
export const SEND_SHUTDOWN = 2;

/** before(seq1, seq2): seq1 precedes seq2 modulo 2^32 */
export function before(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}
/** after(seq2, seq1) */
export function after(a: number, b: number): boolean {
  return ((b - a) | 0) < 0;
}
/** between(seq1, seq2, seq3): seq2 ≤ seq1 ≤ seq3 in 32-bit wrap-around order (include/net/tcp.h) */
export function between(seq1: number, seq2: number, seq3: number): boolean {
  return ((seq3 - seq2) >>> 0) >= ((seq1 - seq2) >>> 0);
}
/** seq + n as an unsigned 32-bit sequence number */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}
/** a − b as a signed distance */
export function seqSub(a: number, b: number): number {
  return (a - b) | 0;
}

// include/net/tcp.h
export const TCP_MSS_DEFAULT = 536;
export const TCP_MIN_MSS = 88;
/** net.ipv4.tcp_min_snd_mss */
export const TCP_MIN_SND_MSS = 48;
export const TCP_INIT_CWND = 10;
export const TCP_INFINITE_SSTHRESH = 0x7fffffff;
export const TCP_MAX_QUICKACKS = 16;
/** TCP_TIMEWAIT_LEN: 60 s */
export const TCP_TIMEWAIT_LEN = 60_000;
export const TCP_FIN_TIMEOUT = 60_000;
/** TCP_RTO_MAX / TCP_RTO_MIN / TCP_TIMEOUT_INIT / TCP_TIMEOUT_FALLBACK */
export const TCP_RTO_MAX = 120_000;
export const TCP_RTO_MIN = 200;
export const TCP_TIMEOUT_INIT = 1_000;
export const TCP_TIMEOUT_FALLBACK = 3_000;
/** TCP_DELACK_MAX / TCP_DELACK_MIN / TCP_ATO_MIN (HZ/5, HZ/25, HZ/25) */
export const TCP_DELACK_MAX = 200;
export const TCP_DELACK_MIN = 40;
export const TCP_ATO_MIN = 40;
/** the delayed-ACK ceiling outside pingpong mode (HZ/2) */
export const TCP_DELACK_MAX_NONPINGPONG = 500;
/** TCP_PAWS_24DAYS (s) and TCP_PAWS_WINDOW */
export const TCP_PAWS_24DAYS = 60 * 60 * 24 * 24;
export const TCP_PAWS_WINDOW = 1;
export const TCP_RESOURCE_PROBE_INTERVAL = 500;
/** TCP_KEEPALIVE_TIME / INTVL / PROBES */
export const TCP_KEEPALIVE_TIME = 7200_000;
export const TCP_KEEPALIVE_INTVL = 75_000;
export const TCP_KEEPALIVE_PROBES = 9;
/** tcp_reordering default and max */
export const TCP_REORDERING = 3;
export const TCP_MAX_REORDERING = 300;
/** tcp_invalid_ratelimit: out-of-window ACKs and challenge ACKs, at most one per 500 ms */
export const TCP_INVALID_RATELIMIT = 500;
/** tcp_min_rtt_wlen: 300 s */
export const TCP_MIN_RTT_WLEN = 300_000;
