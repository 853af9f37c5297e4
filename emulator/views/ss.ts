// `skbnet ss [-t] [-u] [-i] [-n] [-a] [-l] [-o] [-4|-6]`: the model's sockets as iproute2's ss (misc/ss.c,
// 6.1) prints them when its output is not a terminal: columns sized to their widest cell (render_calc_width's
// compact output), Recv-Q/Send-Q as inet_diag reports them, and with -i the tcp_info line
// (tcp_stats_print's fields, order and number formats). Tables are dumped in ss's order — UDP before TCP,
// each AF_INET then AF_INET6 (inet_show_netlink) — and IPv6 addresses are bracketed (inet_addr_print).
// Cold path: clarity first.
import type { TcpNet } from '../../kernel-model/tcp/tcp_ipv4';
import type { TcpListener, TcpSock } from '../../kernel-model/tcp/sock';
import { tcp_get_info, PACING_UNLIMITED, TCPI_OPT_SACK, TCPI_OPT_TIMESTAMPS, TCPI_OPT_WSCALE, type TcpInfoStruct } from '../../kernel-model/tcp/tcp_info';
import { TCP_CLOSE, TCP_ESTABLISHED, TCP_LISTEN, TCP_SYN_RECV, TCP_TIME_WAIT, TCP_INIT_CWND } from '../../kernel-model/tcp/tcp_states';
import { formatIpv4, type Ipv4Addr } from '../../kernel-model/wire/address';
import { formatIpv6, IN6ADDR_ANY } from '../../kernel-model/wire/ipv6';
import type { UdpTable } from '../../kernel-model/udp/udp';
import type { Udp6Table } from '../../kernel-model/ipv6/udp';
import type { UdpFlowView } from '../../kernel-model/services/host-proxy/udp-proxy';
import type { Udp6FlowView } from '../../kernel-model/services/host-proxy/udp6-proxy';

// ss's state bits (1 << SS_*, SS_* = TCP_* numbering) and its default filters
const SS_ALL = (1 << 12) - 1;
const SS_CONN = SS_ALL & ~((1 << TCP_LISTEN) | (1 << TCP_CLOSE) | (1 << TCP_TIME_WAIT) | (1 << TCP_SYN_RECV));

export interface SsOptions {
  tcp: boolean;
  udp: boolean;
  /** -i: tcp_info */
  info: boolean;
  /** -n: numeric (ports are always numeric here; it also selects exact bandwidths, as in ss) */
  numeric: boolean;
  /** -o: timer and option flags (ts, sack) */
  options: boolean;
  /**
   * the state filter, a mask of 1 << state: the tables' defaults (SS_CONN for TCP, ESTAB for UDP; -4/-6
   * add SS_CONN), or -a's every state, or -l's LISTEN|CLOSE (listeners and unconnected UDP)
   */
  states: number;
  /** AF_INET / AF_INET6 sockets are dumped: both unless -4/-6; of those the last given wins (preferred_family) */
  ipv4: boolean;
  ipv6: boolean;
}

const FAMILY_ARG: Record<string, 4 | 6> = { inet: 4, inet6: 6 };

/** ss's getopt loop and filter defaults (main, filter_db_set, filter_af_set, filter_merge_defaults) */
export function parseSsArgs(args: readonly string[]): SsOptions {
  const o: SsOptions = { tcp: false, udp: false, info: false, numeric: false, options: false, states: 0, ipv4: false, ipv6: false };
  let stateFilter = 0;
  // preferred_family: the last -4/-6 given (closures set it)
  let preferred = 0 as number;
  const family = (f: 4 | 6): void => {
    preferred = f;
    o.states |= SS_CONN;
  };
  const family_arg = (v: string | undefined): void => {
    const f = v === undefined ? undefined : FAMILY_ARG[v];
    if (f === undefined) throw new Error(`ss: "${v ?? ''}" is invalid family (modelled: inet, inet6)`);
    family(f);
  };
  const flag = (c: string): void => {
    switch (c) {
      case 't':
        o.tcp = true;
        o.states |= SS_CONN;
        break;
      case 'u':
        o.udp = true;
        o.states |= 1 << TCP_ESTABLISHED;
        break;
      case 'i':
        o.info = true;
        break;
      case 'n':
        o.numeric = true;
        break;
      case 'o':
        o.options = true;
        break;
      case 'a':
        stateFilter = SS_ALL;
        break;
      case 'l':
        stateFilter = (1 << TCP_LISTEN) | (1 << TCP_CLOSE);
        break;
      case '4':
        family(4);
        break;
      case '6':
        family(6);
        break;
      default:
        throw new Error(`ss: invalid option -- '${c}' (modelled: -t -u -i -n -a -l -o -4 -6 -f inet|inet6)`);
    }
  };
  const long: Record<string, string> = {
    '--tcp': 't', '--udp': 'u', '--info': 'i', '--numeric': 'n', '--all': 'a', '--listening': 'l', '--options': 'o', '--ipv4': '4', '--ipv6': '6',
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (long[a]) flag(long[a]);
    else if (a === '--family') family_arg(args[++i]);
    else if (a.startsWith('--family=')) family_arg(a.slice(9));
    else if (/^-[a-zA-Z0-9]+$/.test(a)) {
      for (let j = 1; j < a.length; j++) {
        if (a[j] !== 'f') {
          flag(a[j]);
          continue;
        }
        // getopt's "f:": the rest of this word, else the next one
        family_arg(j + 1 < a.length ? a.slice(j + 1) : args[++i]);
        break;
      }
    } else throw new Error(`ss: filters are not modelled ('${a}')`);
  }
  // do_default: every table with SS_CONN; then -a/-l replace the states, and the tables and families
  // fill each other in (filter_merge_defaults)
  if (!o.tcp && !o.udp && preferred === 0) o.states = SS_CONN;
  if (stateFilter) o.states = stateFilter;
  if (!o.tcp && !o.udp) o.tcp = o.udp = true;
  o.ipv4 = preferred !== 6;
  o.ipv6 = preferred !== 4;
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

// sock_state_print's names, indexed by TCP state
const SSTATE_NAME = ['UNKNOWN', 'ESTAB', 'SYN-SENT', 'SYN-RECV', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT', 'UNCONN', 'CLOSE-WAIT', 'LAST-ACK', 'LISTEN', 'CLOSING'];

/** an address as the model holds it: an IPv4 number, or the 16 bytes of an IPv6 address */
export type SsAddr = Ipv4Addr | Uint8Array;

/** one row of ss output */
export interface SsRow {
  netid: 'tcp' | 'udp';
  state: number;
  recvQ: number;
  sendQ: number;
  laddr: SsAddr;
  lport: number;
  raddr: SsAddr;
  rport: number;
  /** the tcp_info text (without "\n\t"), null when ss prints no info line */
  info: string | null;
}

/**
 * A UDP endpoint the model holds: a bound socket (UNCONN) or a proxied flow (ESTAB, a connected
 * transparent socket from the destination the guest addressed to the guest). IPv6 endpoints give
 * 16-byte addresses (read during the call; ssRows keeps no reference past formatting).
 */
export interface UdpEndpoint {
  laddr: SsAddr;
  lport: number;
  raddr: SsAddr;
  rport: number;
  connected: boolean;
  recvQ: number;
  sendQ: number;
}

/** where the model's UDP endpoints live: the bound-port tables and the host proxies' open flows */
export interface UdpSources {
  udp: UdpTable;
  udpFlows: readonly UdpFlowView[];
  udp6: Udp6Table | null;
  udp6Flows: readonly Udp6FlowView[];
}

/**
 * The model's UDP endpoints, IPv4 then IPv6: bound sockets (UNCONN; the IPv6 ports answer on any of the
 * model's addresses, "[::]") and the proxies' flows, each a connected transparent socket from the
 * destination the guest addressed to the guest (ESTAB). Recv-Q of a flow is what the guest sent that the
 * host socket has not taken yet.
 */
export function udpEndpoints(src: UdpSources): UdpEndpoint[] {
  const out: UdpEndpoint[] = [];
  for (const s of src.udp.sockets()) out.push({ laddr: s.addr, lport: s.port, raddr: 0, rport: 0, connected: false, recvQ: 0, sendQ: 0 });
  for (const f of src.udpFlows) {
    out.push({ laddr: f.destAddr, lport: f.destPort, raddr: f.guestAddr, rport: f.guestPort, connected: true, recvQ: f.queued, sendQ: 0 });
  }
  for (const port of src.udp6?.boundPorts() ?? []) out.push({ laddr: IN6ADDR_ANY, lport: port, raddr: IN6ADDR_ANY, rport: 0, connected: false, recvQ: 0, sendQ: 0 });
  for (const f of src.udp6Flows) {
    out.push({ laddr: f.addrs.subarray(16, 32), lport: f.destPort, raddr: f.addrs.subarray(0, 16), rport: f.guestPort, connected: true, recvQ: f.queued, sendQ: 0 });
  }
  return out;
}

/** inet_ntop(AF_INET6) as glibc prints it (one implementation: wire/ipv6.ts formatIpv6) */
export function inet_ntop6(b: Uint8Array): string {
  return formatIpv6(b, 0);
}

/**
 * inet_addr_print's address text: IPv4 dotted; IPv6 in brackets. (ss prints a wildcard IPv6 address
 * as "*" only for a dual-stack socket; the model's IPv6 sockets are all IPv6-only — bound to one of
 * its addresses, or sharing a port number with an IPv4 socket — so "[::]" as Linux shows those.)
 */
export function ssAddr(a: SsAddr): string {
  return typeof a === 'number' ? formatIpv4(a) : `[${inet_ntop6(a)}]`;
}

const shown = (state: number, o: SsOptions): boolean => (o.states & (1 << state)) !== 0;
const isV6 = (a: SsAddr): boolean => typeof a !== 'number';

/** Recv-Q/Send-Q of a connection as tcp_diag_get_info: rcv_nxt − copied_seq, write_seq − snd_una */
function tcpQueues(sk: TcpSock): [number, number] {
  if (sk.state === TCP_TIME_WAIT) return [0, 0];
  const rq = sk.readableLength;
  const wq = (sk.write_seq - sk.snd_una) | 0;
  return [rq > 0 ? rq : 0, wq > 0 ? wq : 0];
}

/** the address pair of a connection: 32-bit numbers, or the IPv6 socket's two addresses */
function tcpAddrs(sk: TcpSock): [SsAddr, SsAddr] {
  const i6 = sk.inet6;
  if (i6 === null) return [sk.saddr, sk.daddr];
  return [i6.addrs.slice(0, 16), i6.addrs.slice(16, 32)];
}

function tcpFamilyRows(tcp: TcpNet, v6: boolean, o: SsOptions, rows: SsRow[]): void {
  // inet_diag dumps the listening hash, then the established hash (TIME_WAIT included); listeners are IPv4
  if (!v6 && shown(TCP_LISTEN, o)) {
    for (const l of tcp.listening()) {
      rows.push({
        netid: 'tcp', state: TCP_LISTEN, recvQ: 0, sendQ: l.backlog, laddr: l.addr, lport: l.port, raddr: 0, rport: 0,
        info: o.info ? formatTcpInfo(listener_info(l), o) : null,
      });
    }
  }
  for (const sk of tcp.sockets()) {
    if ((sk.inet6 !== null) !== v6 || !shown(sk.state, o)) continue;
    const [rq, wq] = tcpQueues(sk);
    const [laddr, raddr] = tcpAddrs(sk);
    // TIME_WAIT minisocks carry no INET_DIAG_INFO: ss prints an empty info line
    const info = !o.info ? null : sk.state === TCP_TIME_WAIT ? '' : formatTcpInfo(tcp_get_info(sk), o);
    rows.push({ netid: 'tcp', state: sk.state, recvQ: rq, sendQ: wq, laddr, lport: sk.sport, raddr, rport: sk.dport, info });
  }
}

function udpFamilyRows(udp: readonly UdpEndpoint[], v6: boolean, o: SsOptions, rows: SsRow[]): void {
  for (const u of udp) {
    const state = u.connected ? TCP_ESTABLISHED : TCP_CLOSE;
    if (isV6(u.laddr) !== v6 || !shown(state, o)) continue;
    const copy = (a: SsAddr): SsAddr => (typeof a === 'number' ? a : a.slice(0, 16));
    rows.push({
      netid: 'udp', state, recvQ: u.recvQ, sendQ: u.sendQ, laddr: copy(u.laddr), lport: u.lport, raddr: copy(u.raddr), rport: u.rport, info: null,
    });
  }
}

/** the rows `ss` lists for the model's UDP endpoints and TCP sockets, in ss's order */
export function ssRows(tcp: TcpNet | null, udp: readonly UdpEndpoint[], o: SsOptions): SsRow[] {
  const rows: SsRow[] = [];
  // main: udp_show before tcp_show; inet_show_netlink: AF_INET, then AF_INET6
  if (o.udp) {
    if (o.ipv4) udpFamilyRows(udp, false, o, rows);
    if (o.ipv6) udpFamilyRows(udp, true, o, rows);
  }
  if (o.tcp && tcp) {
    if (o.ipv4) tcpFamilyRows(tcp, false, o, rows);
    if (o.ipv6) tcpFamilyRows(tcp, true, o, rows);
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
 * Netid shows when more than one table is listed, State when the filter allows more than one state.
 */
export function formatSs(rows: readonly SsRow[], o: SsOptions): string {
  const cols: Column[] = [
    { header: 'Netid', ldelim: '', right: false, disabled: !(o.tcp && o.udp) },
    { header: 'State', ldelim: ' ', right: false, disabled: (o.states & (o.states - 1)) === 0 },
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
      `${ssAddr(r.laddr)}:`,
      r.lport === 0 ? '*' : String(r.lport),
      `${ssAddr(r.raddr)}:`,
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
