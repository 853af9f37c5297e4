// net.ipv4.tcp_* sysctls the model obeys (Documentation/networking/ip-sysctl.rst; Linux 6.1 defaults,
// linux-path.md §7.1). One object per namespace; sockets read it when they are created.

export interface TcpSysctl {
  /** tcp_rmem: min, default (the initial sk_rcvbuf), max (sets the window scale) */
  tcp_rmem: [number, number, number];
  /** tcp_wmem: min, default, max */
  tcp_wmem: [number, number, number];
  /** net.core.rmem_max (also feeds the window scale) */
  rmem_max: number;
  tcp_timestamps: boolean;
  tcp_sack: boolean;
  tcp_dsack: boolean;
  tcp_window_scaling: boolean;
  tcp_syn_retries: number;
  tcp_synack_retries: number;
  tcp_retries2: number;
  tcp_fin_timeout: number;
  tcp_keepalive_time: number;
  tcp_keepalive_intvl: number;
  tcp_keepalive_probes: number;
  tcp_slow_start_after_idle: boolean;
  tcp_reordering: number;
  /** tcp_congestion_control: 'cubic' (default) or 'reno' */
  tcp_congestion_control: string;
  /** tcp_rto_min in ms (route rto_min; Linux's 200 ms) */
  tcp_rto_min: number;
  /** ephemeral ports for connect (ip_local_port_range) */
  ip_local_port_range: [number, number];
  /** somaxconn: caps a listener's backlog */
  somaxconn: number;
  /**
   * Model limits (no Linux sysctl): the send buffer a socket accepts writes into (bytes) — Linux grows
   * sk_sndbuf by autotuning up to tcp_wmem[2]; the model uses a fixed, bounded buffer.
   */
  sndbuf: number;
  /** the receive buffer (sk_rcvbuf, bytes); the window is half of it, as with tcp_adv_win_scale 1 */
  rcvbuf: number;
  /** forwarder requests awaiting a decision at once (SYNs beyond are dropped: TCPReqQFullDrop) */
  max_forward_inflight: number;
}

export function defaultTcpSysctl(): TcpSysctl {
  return {
    tcp_rmem: [4096, 131072, 6291456],
    tcp_wmem: [4096, 16384, 4194304],
    rmem_max: 212992,
    tcp_timestamps: true,
    tcp_sack: true,
    tcp_dsack: true,
    tcp_window_scaling: true,
    tcp_syn_retries: 6,
    tcp_synack_retries: 5,
    tcp_retries2: 15,
    tcp_fin_timeout: 60_000,
    tcp_keepalive_time: 7200_000,
    tcp_keepalive_intvl: 75_000,
    tcp_keepalive_probes: 9,
    tcp_slow_start_after_idle: true,
    tcp_reordering: 3,
    tcp_congestion_control: 'cubic',
    tcp_rto_min: 200,
    ip_local_port_range: [32768, 60999],
    somaxconn: 4096,
    sndbuf: 262144,
    rcvbuf: 131072,
    max_forward_inflight: 256,
  };
}
