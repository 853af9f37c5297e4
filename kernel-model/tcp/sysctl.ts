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
  /** tcp_early_retrans: 3 = RACK-TLP's tail loss probe on (4 too); 0..2 off */
  tcp_early_retrans: number;
  /** tcp_frto: 0 off, 1 basic, 2 SACK-enhanced F-RTO (RFC 5682) — the model treats 1 and 2 alike */
  tcp_frto: number;
  /** tcp_syncookies: 0 never, 1 when the SYN queue (or the connection cap) overflows, 2 always */
  tcp_syncookies: number;
  /** tcp_moderate_rcvbuf: receive-buffer autotuning (tcp_rcv_space_adjust) */
  tcp_moderate_rcvbuf: boolean;
  /**
   * tcp_challenge_ack_limit: RFC 5961 challenge ACKs per second for the whole namespace. Since 6.0
   * (commit "tcp: make global challenge ack rate limitation per net-ns and default disabled") the
   * default is INT_MAX = no namespace limit; each socket still keeps tcp_invalid_ratelimit (500 ms).
   */
  tcp_challenge_ack_limit: number;
  /** tcp_congestion_control: 'cubic' (default) or 'reno' */
  tcp_congestion_control: string;
  /** tcp_rto_min in ms (route rto_min; Linux's 200 ms) */
  tcp_rto_min: number;
  /** ephemeral ports for connect (ip_local_port_range) */
  ip_local_port_range: [number, number];
  /** somaxconn: caps a listener's backlog */
  somaxconn: number;
  /**
   * Model limits (no Linux sysctl): the send buffer a socket starts with (bytes); tcp_sndbuf_expand
   * grows it with cwnd up to min(tcp_wmem[2], max_buffered_bytes), as Linux grows sk_sndbuf.
   */
  sndbuf: number;
  /**
   * the initial receive buffer (sk_rcvbuf, bytes; Linux's is tcp_rmem[1]); the window is half of it, as
   * with tcp_adv_win_scale 1. tcp_rcv_space_adjust grows it (tcp_moderate_rcvbuf) up to
   * min(tcp_rmem[2], 2 × max_buffered_bytes).
   */
  rcvbuf: number;
  /** forwarder requests awaiting a decision at once (SYNs beyond are dropped: TCPReqQFullDrop) */
  max_forward_inflight: number;
  /**
   * The per-connection buffered-bytes cap (model limit): autotuning grows the send buffer
   * (tcp_sndbuf_expand) to at most this many bytes and the receive window space (tcp_rcv_space_adjust:
   * half of sk_rcvbuf) to at most this many bytes, below Linux's own tcp_wmem[2] / tcp_rmem[2].
   * Default 1 MiB: the model's connections span the guest link (sub-ms RTT; 1 MiB per RTT is far above
   * what a guest moves), while the host kernel tunes the host side; with --max-connections 1024 the
   * worst case stays ~3 GiB instead of Linux's 10 MB per connection.
   */
  max_buffered_bytes: number;
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
    tcp_early_retrans: 3,
    tcp_frto: 2,
    tcp_syncookies: 1,
    tcp_moderate_rcvbuf: true,
    tcp_challenge_ack_limit: 0x7fffffff,
    tcp_congestion_control: 'cubic',
    tcp_rto_min: 200,
    ip_local_port_range: [32768, 60999],
    somaxconn: 4096,
    sndbuf: 262144,
    rcvbuf: 131072,
    max_forward_inflight: 256,
    max_buffered_bytes: 1024 * 1024,
  };
}
