// Pluggable congestion control (net/ipv4/tcp_cong.c, struct tcp_congestion_ops) and Reno.
// The sender calls these hooks at the points Linux does; CUBIC is in tcp_cubic.ts.
import type { TcpSock } from './sock';

// enum tcp_ca_event
export const CA_EVENT_TX_START = 0;
export const CA_EVENT_CWND_RESTART = 1;
export const CA_EVENT_COMPLETE_CWR = 2;
export const CA_EVENT_LOSS = 3;

export interface TcpCongestionOps {
  readonly name: string;
  init(tp: TcpSock): void;
  /** new slow-start threshold after loss (required) */
  ssthresh(tp: TcpSock): number;
  /** grow cwnd on an ACK that delivered `acked` packets */
  cong_avoid(tp: TcpSock, ack: number, acked: number): void;
  set_state(tp: TcpSock, newState: number): void;
  cwnd_event(tp: TcpSock, ev: number): void;
  /** an ACK with an RTT sample (µs, −1 when none) for `acked` packets */
  pkts_acked(tp: TcpSock, acked: number, rtt_us: number): void;
}

/** tcp_slow_start: grow by `acked` up to ssthresh; returns the ACKs left over for avoidance */
export function tcp_slow_start(tp: TcpSock, acked: number): number {
  const cwnd = Math.min(tp.snd_cwnd + acked, tp.snd_ssthresh);
  acked -= cwnd - tp.snd_cwnd;
  tp.snd_cwnd = Math.min(cwnd, tp.snd_cwnd_clamp);
  return acked;
}

/** tcp_cong_avoid_ai: +1 per `w` packets acked, with credits carried in snd_cwnd_cnt */
export function tcp_cong_avoid_ai(tp: TcpSock, w: number, acked: number): void {
  if (tp.snd_cwnd_cnt >= w) {
    tp.snd_cwnd_cnt = 0;
    tp.snd_cwnd++;
  }
  tp.snd_cwnd_cnt += acked;
  if (tp.snd_cwnd_cnt >= w) {
    const delta = Math.floor(tp.snd_cwnd_cnt / w);
    tp.snd_cwnd_cnt -= delta * w;
    tp.snd_cwnd += delta;
  }
  tp.snd_cwnd = Math.min(tp.snd_cwnd, tp.snd_cwnd_clamp);
}

/** tcp_in_slow_start */
export function tcp_in_slow_start(tp: TcpSock): boolean {
  return tp.snd_cwnd < tp.snd_ssthresh;
}

/** tcp_is_cwnd_limited: the sender used its window, or (in slow start) cwnd < 2 × max packets out */
export function tcp_is_cwnd_limited(tp: TcpSock): boolean {
  if (tp.is_cwnd_limited) return true;
  if (tcp_in_slow_start(tp)) return tp.snd_cwnd < 2 * tp.max_packets_out;
  return false;
}

/** tcp_reno_cong_avoid / tcp_reno_ssthresh */
export class RenoOps implements TcpCongestionOps {
  readonly name = 'reno';
  init(): void {}
  ssthresh(tp: TcpSock): number {
    return Math.max(tp.snd_cwnd >>> 1, 2);
  }
  cong_avoid(tp: TcpSock, _ack: number, acked: number): void {
    if (!tcp_is_cwnd_limited(tp)) return;
    if (tcp_in_slow_start(tp)) {
      acked = tcp_slow_start(tp, acked);
      if (acked === 0) return;
    }
    tcp_cong_avoid_ai(tp, tp.snd_cwnd, acked);
  }
  set_state(): void {}
  cwnd_event(): void {}
  pkts_acked(): void {}
}

/** tcp_ca_find: a fresh per-socket instance of the named algorithm; null when unknown */
export function tcp_ca_create(name: string, factories: ReadonlyMap<string, () => TcpCongestionOps>): TcpCongestionOps | null {
  const f = factories.get(name);
  return f === undefined ? null : f();
}
