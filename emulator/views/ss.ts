// `skbnet ss [-t] [-u] [-i] [-n] [-a] [-l] [-o]`: the model's sockets as iproute2's ss (misc/ss.c, 6.1)
// prints them when its output is not a terminal: columns sized to their widest cell (render_calc_width's
// compact output), Recv-Q/Send-Q as inet_diag reports them, and with -i the tcp_info line
// (tcp_stats_print's fields, order and number formats). Cold path: clarity first.
import type { TcpNet } from '../../kernel-model/tcp/tcp_ipv4';
import type { TcpListener, TcpSock } from '../../kernel-model/tcp/sock';
import { tcp_get_info, PACING_UNLIMITED, TCPI_OPT_SACK, TCPI_OPT_TIMESTAMPS, TCPI_OPT_WSCALE, type TcpInfoStruct } from '../../kernel-model/tcp/tcp_info';
import { TCP_CLOSE, TCP_ESTABLISHED, TCP_LISTEN, TCP_SYN_RECV, TCP_TIME_WAIT, TCP_INIT_CWND } from '../../kernel-model/tcp/tcp_states';
import { formatIpv4, type Ipv4Addr } from '../../kernel-model/wire/address';

export interface SsOptions {
  tcp: boolean;
  udp: boolean;
  /** -i: tcp_info */
  info: boolean;
  /** -n: numeric (ports are always numeric here; it also selects exact bandwidths, as in ss) */
  numeric: boolean;
  /** -a: every state (listeners, TIME-WAIT, unconnected UDP) */
  all: boolean;
  /** -l: listeners (and unconnected UDP) only */
  listening: boolean;
  /** -o: timer and option flags (ts, sack) */
  options: boolean;
}

export function parseSsArgs(args: readonly string[]): SsOptions {
  const o: SsOptions = { tcp: false, udp: false, info: false, numeric: false, all: false, listening: false, options: false };
  const long: Record<string, keyof SsOptions> = {
    '--tcp': 'tcp', '--udp': 'udp', '--info': 'info', '--numeric': 'numeric', '--all': 'all', '--listening': 'listening', '--options': 'options',
  };
  const short: Record<string, keyof SsOptions> = { t: 'tcp', u: 'udp', i: 'info', n: 'numeric', a: 'all', l: 'listening', o: 'options' };
  for (const a of args) {
    if (long[a]) o[long[a]] = true;
    else if (/^-[a-zA-Z]+$/.test(a)) {
      for (const c of a.slice(1)) {
        const k = short[c];
        if (!k) throw new Error(`ss: invalid option -- '${c}' (modelled: -t -u -i -n -a -l -o)`);
        o[k] = true;
      }
    } else throw new Error(`ss: filters are not modelled ('${a}')`);
  }
  if (!o.tcp && !o.udp) o.tcp = o.udp = true;
  return o;
}

/** C printf "%.<p>g" */
export function fmtG(x: number, p = 6): string {
  if (x === 0) return '0';
  if (!Number.isFinite(x)) return String(x);
  const e = Number(x.toExponential(p - 1).split('e')[1]);
  const strip = (s: string): string => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  if (e < -4 || e >= p) {
    const [m, ex] = x.toExponential(p - 1).split('e');
    const n = Number(ex);
    return `${strip(m)}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  return strip(x.toFixed(Math.max(0, p - 1 - e)));
}

/** ss's sprint_bw: exact with -n, else three significant digits with a k/M/G/T suffix */
export function sprint_bw(bw: number, numeric: boolean): string {
  if (numeric) return bw.toFixed(0);
  if (bw >= 1e12) return `${fmtG(bw / 1e12, 3)}T`;
  if (bw >= 1e9) return `${fmtG(bw / 1e9, 3)}G`;
  if (bw >= 1e6) return `${fmtG(bw / 1e6, 3)}M`;
  if (bw >= 1e3) return `${fmtG(bw / 1e3, 3)}k`;
  return fmtG(bw);
}

/** tcp_show_info + tcp_stats_print: the text after "\n\t" for one socket's tcp_info */
export function formatTcpInfo(i: TcpInfoStruct, o: { numeric: boolean; options: boolean }): string {
  let s = '';
  const listen = i.tcpi_state === TCP_LISTEN;
  if (o.options) {
    if (i.tcpi_options & TCPI_OPT_TIMESTAMPS) s += ' ts';
    if (i.tcpi_options & TCPI_OPT_SACK) s += ' sack';
  }
  if (i.congestion) s += ` ${i.congestion}`;
  if (i.tcpi_options & TCPI_OPT_WSCALE) s += ` wscale:${i.tcpi_snd_wscale},${i.tcpi_rcv_wscale}`;
  if (i.tcpi_rto && i.tcpi_rto !== 3000000) s += ` rto:${fmtG(i.tcpi_rto / 1000)}`;
  if (i.tcpi_backoff) s += ` backoff:${i.tcpi_backoff}`;
  if (i.tcpi_rtt) s += ` rtt:${fmtG(i.tcpi_rtt / 1000)}/${fmtG(i.tcpi_rttvar / 1000)}`;
  if (i.tcpi_ato) s += ` ato:${fmtG(i.tcpi_ato / 1000)}`;
  if (i.tcpi_snd_mss) s += ` mss:${i.tcpi_snd_mss}`;
  if (i.tcpi_pmtu) s += ` pmtu:${i.tcpi_pmtu}`;
  if (i.tcpi_rcv_mss) s += ` rcvmss:${i.tcpi_rcv_mss}`;
  if (i.tcpi_advmss) s += ` advmss:${i.tcpi_advmss}`;
  if (i.tcpi_snd_cwnd) s += ` cwnd:${i.tcpi_snd_cwnd}`;
  if (i.tcpi_snd_ssthresh < 0xffff && i.tcpi_snd_ssthresh) s += ` ssthresh:${i.tcpi_snd_ssthresh}`;
  if (i.tcpi_bytes_sent) s += ` bytes_sent:${i.tcpi_bytes_sent}`;
  if (i.tcpi_bytes_retrans) s += ` bytes_retrans:${i.tcpi_bytes_retrans}`;
  if (i.tcpi_bytes_acked) s += ` bytes_acked:${i.tcpi_bytes_acked}`;
  if (i.tcpi_bytes_received) s += ` bytes_received:${i.tcpi_bytes_received}`;
  if (i.tcpi_segs_out) s += ` segs_out:${i.tcpi_segs_out}`;
  if (i.tcpi_segs_in) s += ` segs_in:${i.tcpi_segs_in}`;
  if (i.tcpi_data_segs_out) s += ` data_segs_out:${i.tcpi_data_segs_out}`;
  if (i.tcpi_data_segs_in) s += ` data_segs_in:${i.tcpi_data_segs_in}`;
  if (i.tcpi_rtt > 0 && i.tcpi_snd_mss && i.tcpi_snd_cwnd) {
    s += ` send ${sprint_bw((i.tcpi_snd_cwnd * i.tcpi_snd_mss * 8000000) / i.tcpi_rtt, o.numeric)}bps`;
  }
  if (i.tcpi_last_data_sent) s += ` lastsnd:${i.tcpi_last_data_sent}`;
  if (i.tcpi_last_data_recv) s += ` lastrcv:${i.tcpi_last_data_recv}`;
  if (i.tcpi_last_ack_recv) s += ` lastack:${i.tcpi_last_ack_recv}`;
  if (i.tcpi_pacing_rate && i.tcpi_pacing_rate !== PACING_UNLIMITED) {
    s += ` pacing_rate ${sprint_bw(i.tcpi_pacing_rate * 8, o.numeric)}bps`;
    if (i.tcpi_max_pacing_rate && i.tcpi_max_pacing_rate !== PACING_UNLIMITED) s += `/${sprint_bw(i.tcpi_max_pacing_rate * 8, o.numeric)}bps`;
  }
  if (i.tcpi_delivery_rate) s += ` delivery_rate ${sprint_bw(i.tcpi_delivery_rate * 8, o.numeric)}bps`;
  if (i.tcpi_delivered) s += ` delivered:${i.tcpi_delivered}`;
  if (i.tcpi_delivered_ce) s += ` delivered_ce:${i.tcpi_delivered_ce}`;
  if (i.tcpi_delivery_rate_app_limited) s += ' app_limited';
  if (i.tcpi_unacked) s += ` unacked:${i.tcpi_unacked}`;
  if (i.tcpi_retrans || i.tcpi_total_retrans) s += ` retrans:${i.tcpi_retrans}/${i.tcpi_total_retrans}`;
  if (i.tcpi_lost) s += ` lost:${i.tcpi_lost}`;
  if (i.tcpi_sacked && !listen) s += ` sacked:${i.tcpi_sacked}`;
  if (i.tcpi_dsack_dups) s += ` dsack_dups:${i.tcpi_dsack_dups}`;
  if (i.tcpi_reordering !== 3) s += ` reordering:${i.tcpi_reordering}`;
  if (i.tcpi_reord_seen) s += ` reord_seen:${i.tcpi_reord_seen}`;
  if (i.tcpi_rcv_rtt) s += ` rcv_rtt:${fmtG(i.tcpi_rcv_rtt / 1000)}`;
  if (i.tcpi_rcv_space) s += ` rcv_space:${i.tcpi_rcv_space}`;
  if (i.tcpi_rcv_ssthresh) s += ` rcv_ssthresh:${i.tcpi_rcv_ssthresh}`;
  if (i.tcpi_notsent_bytes) s += ` notsent:${i.tcpi_notsent_bytes}`;
  if (i.tcpi_min_rtt && i.tcpi_min_rtt !== 0xffffffff) s += ` minrtt:${fmtG(i.tcpi_min_rtt / 1000)}`;
  if (i.tcpi_rcv_ooopack) s += ` rcv_ooopack:${i.tcpi_rcv_ooopack}`;
  if (i.tcpi_snd_wnd) s += ` snd_wnd:${i.tcpi_snd_wnd}`;
  return s;
}

/** tcp_get_info for a listener: only the fields Linux reports for every state, then the LISTEN aliases */
export function listener_info(l: TcpListener): TcpInfoStruct {
  const z = 0;
  return {
    tcpi_state: TCP_LISTEN, tcpi_ca_state: z, tcpi_retransmits: z, tcpi_probes: z, tcpi_backoff: z, tcpi_options: z,
    tcpi_snd_wscale: z, tcpi_rcv_wscale: z, tcpi_delivery_rate_app_limited: z, tcpi_rto: z, tcpi_ato: z, tcpi_snd_mss: z,
    tcpi_rcv_mss: z, tcpi_unacked: 0, tcpi_sacked: l.backlog, tcpi_lost: z, tcpi_retrans: z, tcpi_fackets: z,
    tcpi_last_data_sent: z, tcpi_last_ack_sent: z, tcpi_last_data_recv: z, tcpi_last_ack_recv: z, tcpi_pmtu: z,
    tcpi_rcv_ssthresh: z, tcpi_rtt: z, tcpi_rttvar: z, tcpi_snd_ssthresh: z, tcpi_snd_cwnd: TCP_INIT_CWND, tcpi_advmss: z,
    tcpi_reordering: l.net.sysctl.tcp_reordering, tcpi_rcv_rtt: z, tcpi_rcv_space: z, tcpi_total_retrans: z,
    tcpi_pacing_rate: PACING_UNLIMITED, tcpi_max_pacing_rate: PACING_UNLIMITED, tcpi_bytes_acked: z, tcpi_bytes_received: z,
    tcpi_segs_out: z, tcpi_segs_in: z, tcpi_notsent_bytes: z, tcpi_min_rtt: z, tcpi_data_segs_in: z, tcpi_data_segs_out: z,
    tcpi_delivery_rate: z, tcpi_busy_time: z, tcpi_rwnd_limited: z, tcpi_sndbuf_limited: z, tcpi_delivered: z,
    tcpi_delivered_ce: z, tcpi_bytes_sent: z, tcpi_bytes_retrans: z, tcpi_dsack_dups: z, tcpi_reord_seen: z,
    tcpi_rcv_ooopack: z, tcpi_snd_wnd: z, congestion: l.net.sysctl.tcp_congestion_control,
  };
}

// sock_state_print's names, indexed by TCP state (SS_* = TCP_* numbering)
const SSTATE_NAME = ['UNKNOWN', 'ESTAB', 'SYN-SENT', 'SYN-RECV', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT', 'UNCONN', 'CLOSE-WAIT', 'LAST-ACK', 'LISTEN', 'CLOSING'];

/** one row of ss output */
export interface SsRow {
  netid: 'tcp' | 'udp';
  state: number;
  recvQ: number;
  sendQ: number;
  laddr: Ipv4Addr;
  lport: number;
  raddr: Ipv4Addr;
  rport: number;
  /** the tcp_info text (without "\n\t"), null when ss prints no info line */
  info: string | null;
}

/** a UDP endpoint the model holds: a bound socket (UNCONN) or a proxied flow (ESTAB, a connected transparent socket) */
export interface UdpEndpoint {
  laddr: Ipv4Addr;
  lport: number;
  raddr: Ipv4Addr;
  rport: number;
  connected: boolean;
  recvQ: number;
  sendQ: number;
}

// which states a socket must be in to be listed (ss's default filters: SS_CONN for TCP, ESTAB for UDP)
function tcpShown(state: number, o: SsOptions): boolean {
  if (o.listening) return state === TCP_LISTEN;
  if (o.all) return true;
  return state !== TCP_LISTEN && state !== TCP_CLOSE && state !== TCP_TIME_WAIT && state !== TCP_SYN_RECV;
}

/** Recv-Q/Send-Q of a connection as tcp_diag_get_info: rcv_nxt − copied_seq, write_seq − snd_una */
function tcpQueues(sk: TcpSock): [number, number] {
  if (sk.state === TCP_TIME_WAIT) return [0, 0];
  const rq = sk.readableLength;
  const wq = (sk.write_seq - sk.snd_una) | 0;
  return [rq > 0 ? rq : 0, wq > 0 ? wq : 0];
}

/** the rows `ss` lists for the model's TCP sockets and UDP endpoints */
export function ssRows(tcp: TcpNet | null, udp: readonly UdpEndpoint[], o: SsOptions): SsRow[] {
  const rows: SsRow[] = [];
  if (o.tcp && tcp) {
    // inet_diag dumps the listening hash, then the established hash (TIME_WAIT included)
    for (const l of tcp.listening()) {
      if (!tcpShown(TCP_LISTEN, o)) break;
      rows.push({
        netid: 'tcp', state: TCP_LISTEN, recvQ: 0, sendQ: l.backlog, laddr: l.addr, lport: l.port, raddr: 0, rport: 0,
        info: o.info ? formatTcpInfo(listener_info(l), o) : null,
      });
    }
    for (const sk of tcp.sockets()) {
      if (!tcpShown(sk.state, o)) continue;
      const [rq, wq] = tcpQueues(sk);
      // TIME_WAIT minisocks carry no INET_DIAG_INFO: ss prints an empty info line
      const info = !o.info ? null : sk.state === TCP_TIME_WAIT ? '' : formatTcpInfo(tcp_get_info(sk), o);
      rows.push({ netid: 'tcp', state: sk.state, recvQ: rq, sendQ: wq, laddr: sk.saddr, lport: sk.sport, raddr: sk.daddr, rport: sk.dport, info });
    }
  }
  if (o.udp) {
    for (const u of udp) {
      // UDP's default filter is ESTAB only; -a adds UNCONN, -l shows UNCONN only (SS_CLOSE)
      if (o.listening ? u.connected : !o.all && !u.connected) continue;
      rows.push({
        netid: 'udp', state: u.connected ? TCP_ESTABLISHED : TCP_CLOSE, recvQ: u.recvQ, sendQ: u.sendQ,
        laddr: u.laddr, lport: u.lport, raddr: u.raddr, rport: u.rport, info: null,
      });
    }
  }
  return rows;
}

interface Column {
  header: string;
  ldelim: string;
  right: boolean;
  disabled: boolean;
}

/**
 * render: the header and rows through ss's column renderer in its compact form (stdout not a tty):
 * each column as wide as its widest cell (+ its left delimiter), address columns right-aligned,
 * every line padded to the widths; the tcp_info text sits in the Process column after "\n\t".
 */
export function formatSs(rows: readonly SsRow[], o: SsOptions): string {
  const cols: Column[] = [
    { header: 'Netid', ldelim: '', right: false, disabled: !(o.tcp && o.udp) },
    { header: 'State', ldelim: ' ', right: false, disabled: false },
    { header: 'Recv-Q', ldelim: ' ', right: false, disabled: false },
    { header: 'Send-Q', ldelim: ' ', right: false, disabled: false },
    { header: 'Local Address:', ldelim: ' ', right: true, disabled: false },
    { header: 'Port', ldelim: '', right: false, disabled: false },
    { header: 'Peer Address:', ldelim: ' ', right: true, disabled: false },
    { header: 'Port', ldelim: '', right: false, disabled: false },
    { header: 'Process', ldelim: '', right: false, disabled: false },
    { header: '', ldelim: '', right: false, disabled: false },
  ];
  const lines: string[][] = [cols.map((c) => c.header)];
  lines[0][cols.length - 1] = '';
  for (const r of rows) {
    lines.push([
      r.netid,
      SSTATE_NAME[r.state] ?? 'UNKNOWN',
      String(r.recvQ).padEnd(6),
      String(r.sendQ).padEnd(6),
      `${formatIpv4(r.laddr)}:`,
      r.lport === 0 ? '*' : String(r.lport),
      `${formatIpv4(r.raddr)}:`,
      r.rport === 0 ? '*' : String(r.rport),
      r.info === null ? '' : `\n\t${r.info}`,
      '',
    ]);
  }
  // render_calc_width, compact output: max_len (+ ldelim, except for the first shown column)
  const width: number[] = [];
  let first = true;
  cols.forEach((c, i) => {
    if (c.disabled) return (width[i] = 0);
    const max = Math.max(...lines.map((l) => l[i].length));
    width[i] = !first && max ? max + c.ldelim.length : max;
    if (width[i]) first = false;
    return width[i];
  });
  let out = '';
  for (const l of lines) {
    let started = false;
    cols.forEach((c, i) => {
      if (c.disabled) return;
      let printed = 0;
      if (started) {
        out += c.ldelim;
        printed = c.ldelim.length;
      }
      started = true;
      const text = l[i];
      if (width[i] && c.right) {
        const s = width[i] - text.length - printed;
        if (s > 0) {
          out += ' '.repeat(s);
          printed += s;
        }
      }
      out += text;
      printed += text.length;
      if (width[i] && !c.right && width[i] - printed > 0) out += ' '.repeat(width[i] - printed);
    });
    out += '\n';
  }
  return out;
}
