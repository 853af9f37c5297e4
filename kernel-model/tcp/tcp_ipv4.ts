// TCP over IPv4 for one namespace (net/ipv4/tcp_ipv4.c): the socket tables (ehash, listening hash),
// tcp_v4_rcv's checks and demultiplexing, tcp_v4_send_reset, active and passive opens, ISNs
// (net/core/secure_seq.c style: a keyed hash plus a 64 ns clock), ephemeral ports, and the forwarder
// hook (gVisor's tcp.Forwarder idea): for a SYN no listener takes, a callback decides per request to
// complete the handshake, answer RST, or drop it.
import type { SchedulerLike } from 'rxjs';
import type { NetMib } from '../core/mib';
import type { Logger } from '../core/log';
import { RateLimitState } from '../core/log';
import type { Skb } from '../core/skb';
import { sock_rps_save_rxhash } from '../core/sock_rps';
import type { NetStack } from '../core/stack';
import { skb_csum_unnecessary } from '../ipv4/csum';
import type { InDevice } from '../ipv4/devinet';
import { ip_build_and_send_pkt, MAX_IPV4_HEADER } from '../ipv4/ip_output';
import { NET_RX_DROP, NET_RX_SUCCESS, type NetnsIpv4 } from '../ipv4/netns';
import { RTN_LOCAL } from '../ipv4/route';
import { formatIpv4, type Ipv4Addr } from '../wire/address';
import { getU16, getU32, setU16, setU32 } from '../wire/bytes';
import { IPPROTO_TCP } from '../wire/ipv4';
import { TCPHDR_ACK, TCPHDR_FIN, TCPHDR_RST, TCPHDR_SYN, TCP_HLEN, tcp_v4_check } from '../wire/tcp';
import { TcpListener, TcpSock } from './sock';
import { defaultTcpSysctl, type TcpSysctl } from './sysctl';
import { RenoOps, tcp_ca_create, type TcpCongestionOps } from './tcp_cong';
import { CubicOps } from './tcp_cubic';
import { tcp_v4_err } from './tcp_err';
import { tcp_make_reset } from './tcp_reset';
import { tcp_v4_listen_rcv } from './tcp_listen';
import { SynCookieSecret } from './syncookies';
import { rcvSeg, tcp_parse_segment, tcp_rcv, type TcpSeg } from './tcp_input';
import { tcp_connect, tcp_create_openreq_child, tcp_done } from './tcp_output';
import { TCP_CLOSE, TCP_SYN_SENT, TCP_TIME_WAIT } from './tcp_states';

/** a SYN's parameters, copied so a decision may come later (struct request_sock's inputs) */
export interface SynInfo {
  saddr: Ipv4Addr;
  daddr: Ipv4Addr;
  sport: number;
  dport: number;
  seq: number;
  window: number;
  mss: number;
  wscale: number;
  sackPerm: boolean;
  ts: boolean;
  tsval: number;
}

/**
 * A SYN offered to the forwarder. Call exactly one of accept / reset / drop, now or later; until then
 * retransmitted SYNs of the same connection are ignored.
 */
export class TcpForwardRequest {
  decided = false;
  constructor(
    readonly net: TcpNet,
    readonly ind: InDevice,
    readonly syn: SynInfo,
  ) {}
  /** the guest's address and port (the SYN's source) */
  get remoteAddress(): Ipv4Addr {
    return this.syn.saddr;
  }
  get remotePort(): number {
    return this.syn.sport;
  }
  /** the address and port the guest asked for */
  get localAddress(): Ipv4Addr {
    return this.syn.daddr;
  }
  get localPort(): number {
    return this.syn.dport;
  }
  /** complete the handshake: a socket in SYN_RECV that becomes ESTABLISHED when the peer ACKs */
  accept(): TcpSock | null {
    if (!this.finish()) return null;
    if (this.net.lookup(this.syn.daddr, this.syn.dport, this.syn.saddr, this.syn.sport) !== null) return null;
    return tcp_create_openreq_child(this.net, this.ind, this.syn, null);
  }
  /** refuse: RST|ACK as for a closed port */
  reset(): void {
    if (!this.finish()) return;
    const s = this.syn;
    tcp_v4_send_reset_to(this.net, this.ind, s.daddr, s.saddr, s.dport, s.sport, 0, (s.seq + 1) >>> 0, TCPHDR_RST | TCPHDR_ACK);
  }
  /** ignore the SYN (the peer retransmits, or times out) */
  drop(): void {
    this.finish();
  }
  /**
   * ignore the SYN because the forwarder is at capacity (the per-guest connection cap): as a full
   * listener drops it in tcp_conn_request, counted in ListenDrops (tcp_listendrop)
   */
  overflow(): void {
    if (this.finish()) this.net.mib.TcpExt.ListenDrops++;
  }
  private finish(): boolean {
    if (this.decided) return false;
    this.decided = true;
    this.net.forwardPending.delete(this.net.tupleKey(this.syn.daddr, this.syn.dport, this.syn.saddr, this.syn.sport));
    return true;
  }
}

export type TcpForwarder = (req: TcpForwardRequest) => void;

export interface TcpConnectOptions {
  /** source port; default an ephemeral one */
  sport?: number;
  /** source address; default the device's primary address */
  saddr?: Ipv4Addr;
}

const registered = new WeakMap<NetnsIpv4, TcpNet>();

/**
 * tcp_v4_init for a namespace: create its TCP state and register IPPROTO_TCP with the IPv4 layer
 * (inet_add_protocol). Idempotent (attachInet calls it); a later call's `sysctl` overrides the values
 * (sockets read them when created, as `sysctl -w` affects new sockets only).
 */
export function tcp_v4_init(net: NetnsIpv4, sysctl: Partial<TcpSysctl> = {}): TcpNet {
  let t = registered.get(net);
  if (t !== undefined) {
    Object.assign(t.sysctl, sysctl);
    return t;
  }
  const created = new TcpNet(net, sysctl);
  t = created;
  registered.set(net, created);
  net.inet_add_protocol(IPPROTO_TCP, (skb, ind, rt) => tcp_v4_rcv(created, skb, ind, rt));
  // net_protocol.err_handler = tcp_v4_err (ICMP errors about our segments)
  net.inet_add_err_handler(IPPROTO_TCP, (e) => tcp_v4_err(created, e));
  return created;
}

export class TcpNet {
  readonly stack: NetStack;
  readonly mib: NetMib;
  readonly scheduler: SchedulerLike;
  readonly log: Logger;
  readonly sysctl: TcpSysctl;
  readonly HZ: number;
  /** established-hash: (lport << 16 | rport) → sockets (SYN_RECV … TIME_WAIT) */
  // chains are intrusive (TcpSock.ehash_next, Linux's sk_nulls_node): no bucket array per connection
  private readonly ehash = new Map<number, TcpSock>();
  private readonly listeners = new Map<number, TcpListener[]>();
  forwarder: TcpForwarder | null = null;
  readonly forwardPending = new Map<string, TcpForwardRequest>();
  readonly congestion = new Map<string, () => TcpCongestionOps>([
    ['cubic', () => new CubicOps()],
    ['reno', () => new RenoOps()],
  ]);
  /**
   * drops and limits Linux counts in no MIB (kept for tests and logs): RSTs for segments no socket
   * wanted, forwarder SYNs beyond max_forward_inflight, autotuning stopped by max_buffered_bytes
   */
  readonly drops = { noSocketRst: 0, forwardBusy: 0, rcvbufCapped: 0, sndbufCapped: 0 };
  /** syncookie_secret */
  readonly cookieSecret: SynCookieSecret;
  private readonly secret: number[];
  private portOffset: number;
  private readonly rl = new RateLimitState();

  constructor(
    readonly net: NetnsIpv4,
    sysctl: Partial<TcpSysctl> = {},
  ) {
    this.stack = net.stack;
    this.mib = net.mib;
    this.scheduler = net.scheduler;
    this.log = net.log;
    this.sysctl = { ...defaultTcpSysctl(), ...sysctl };
    this.HZ = net.stack.sysctl.HZ;
    const r = net.random;
    this.secret = [0, 1, 2, 3].map(() => Math.floor(r() * 0x1_0000_0000) >>> 0);
    this.portOffset = Math.floor(r() * 0x10000);
    this.cookieSecret = new SynCookieSecret(r);
  }

  newCongestionOps(): TcpCongestionOps {
    return tcp_ca_create(this.sysctl.tcp_congestion_control, this.congestion) ?? new CubicOps();
  }

  /** the key of a pending forward request (a SYN-rate path, so a string is fine) */
  tupleKey(laddr: Ipv4Addr, lport: number, raddr: Ipv4Addr, rport: number): string {
    return `${laddr}:${lport}:${raddr}:${rport}`;
  }

  /** __inet_lookup_established */
  lookup(laddr: Ipv4Addr, lport: number, raddr: Ipv4Addr, rport: number): TcpSock | null {
    for (let s = this.ehash.get(((lport << 16) | rport) >>> 0) ?? null; s !== null; s = s.ehash_next) {
      if (s.saddr === laddr && s.daddr === raddr && s.inet6 === null) return s;
    }
    return null;
  }

  /**
   * the first socket of a port pair's ehash chain (follow `ehash_next`); shared by both families, as
   * Linux's tcp_hashinfo (tcp_ipv6.ts)
   */
  ehashChain(lport: number, rport: number): TcpSock | null {
    return this.ehash.get(((lport << 16) | rport) >>> 0) ?? null;
  }

  /** __inet_lookup_listener: an exact address beats the wildcard */
  lookupListener(laddr: Ipv4Addr, lport: number): TcpListener | null {
    const l = this.listeners.get(lport);
    if (l === undefined) return null;
    let any: TcpListener | null = null;
    for (const x of l) {
      if (x.addr === laddr) return x;
      if (x.addr === 0) any = x;
    }
    return any;
  }

  hash(sk: TcpSock): void {
    if (sk.hashed) return;
    const k = ((sk.sport << 16) | sk.dport) >>> 0;
    // __sk_nulls_add_node_rcu: at the head of the chain
    sk.ehash_next = this.ehash.get(k) ?? null;
    this.ehash.set(k, sk);
    sk.hashed = true;
  }

  unhash(sk: TcpSock): void {
    if (!sk.hashed) return;
    const k = ((sk.sport << 16) | sk.dport) >>> 0;
    sk.hashed = false;
    const head = this.ehash.get(k);
    if (head === sk) {
      if (sk.ehash_next === null) this.ehash.delete(k);
      else this.ehash.set(k, sk.ehash_next);
    } else {
      for (let s = head ?? null; s !== null; s = s.ehash_next) {
        if (s.ehash_next === sk) {
          s.ehash_next = sk.ehash_next;
          break;
        }
      }
    }
    sk.ehash_next = null;
  }

  /** every hashed connection (for ss) */
  sockets(): TcpSock[] {
    const out: TcpSock[] = [];
    for (const head of this.ehash.values()) for (let s: TcpSock | null = head; s !== null; s = s.ehash_next) out.push(s);
    return out;
  }

  listening(): TcpListener[] {
    const out: TcpListener[] = [];
    for (const l of this.listeners.values()) out.push(...l);
    return out;
  }

  /**
   * listen(): accept connections to `port` (on `addr`, 0 = any of ours); `onConnection` gets each child
   * once it is ESTABLISHED. `backlog` bounds the SYN queue (≤ somaxconn), `maxConnections` the
   * children alive at once (the per-guest connection cap); past either, SYNs get SYN cookies
   * (tcp_syncookies 1) and a cookie ACK past the cap counts ListenOverflows. Null (EADDRINUSE) when
   * the port is taken for an overlapping address.
   */
  listen(
    port: number,
    onConnection: (sock: TcpSock) => void,
    opts: { addr?: Ipv4Addr; backlog?: number; maxConnections?: number } = {},
  ): TcpListener | null {
    if (!Number.isInteger(port) || port < 1 || port > 0xffff) return null;
    const addr = opts.addr ?? 0;
    const list = this.listeners.get(port) ?? [];
    for (const l of list) if (l.addr === 0 || addr === 0 || l.addr === addr) return null;
    const backlog = Math.min(opts.backlog ?? 128, this.sysctl.somaxconn);
    const l = new TcpListener(this, addr, port, backlog, onConnection, opts.maxConnections ?? Infinity);
    list.push(l);
    this.listeners.set(port, list);
    return l;
  }

  unlisten(l: TcpListener): void {
    const list = this.listeners.get(l.port);
    l.closed = true;
    if (list === undefined) return;
    const i = list.indexOf(l);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.listeners.delete(l.port);
  }

  /** the forwarder for SYNs nobody listens for (null to remove) */
  setForwarder(fn: TcpForwarder | null): void {
    this.forwarder = fn;
  }

  /**
   * tcp_v4_connect: an active open from `ind` to daddr:dport. Returns the socket in SYN_SENT (its
   * onConnect fires on ESTABLISHED, onClose with ECONNREFUSED/ETIMEDOUT on failure), or null when no
   * ephemeral port is free.
   */
  connect(ind: InDevice, daddr: Ipv4Addr, dport: number, opts: TcpConnectOptions = {}): TcpSock | null {
    const saddr = opts.saddr ?? ind.primary;
    let sport = opts.sport ?? 0;
    if (sport === 0) {
      sport = this.ephemeralPort(saddr, daddr, dport);
      if (sport === 0) return null;
    } else if (this.lookup(saddr, sport, daddr, dport) !== null) {
      return null;
    }
    const sk = new TcpSock(this, ind);
    sk.saddr = saddr;
    sk.daddr = daddr;
    sk.sport = sport;
    sk.dport = dport;
    tcp_connect(sk);
    return sk;
  }

  /** __inet_hash_connect: the next free port of ip_local_port_range from a random offset */
  private ephemeralPort(saddr: Ipv4Addr, daddr: Ipv4Addr, dport: number): number {
    const [lo, hi] = this.sysctl.ip_local_port_range;
    const n = hi - lo + 1;
    for (let i = 0; i < n; i++) {
      const p = lo + ((this.portOffset + i) % n);
      if (this.lookup(saddr, p, daddr, dport) === null) {
        this.portOffset = (this.portOffset + i + 1) % n;
        return p;
      }
    }
    return 0;
  }

  /** secure_tcp_seq: keyed hash of the 4-tuple plus a 64 ns clock (RFC 6528) */
  secure_tcp_seq(saddr: Ipv4Addr, daddr: Ipv4Addr, sport: number, dport: number): number {
    const h = mix(saddr ^ this.secret[0], daddr ^ this.secret[1], ((sport << 16) | dport) ^ this.secret[2]);
    const clock = Math.floor(this.scheduler.now() * 15625); // ns / 64
    return (h + clock) >>> 0;
  }

  /** secure_tcp_ts_off: a per-address-pair random TSval offset */
  secure_tcp_ts_off(saddr: Ipv4Addr, daddr: Ipv4Addr): number {
    if (!this.sysctl.tcp_timestamps) return 0;
    return mix(saddr ^ this.secret[3], daddr, this.secret[0]) >>> 0;
  }

  /** sockets whose reader sk_data_ready woke during the running softirq (each once: TcpSock.woken) */
  private readonly woken: TcpSock[] = [];
  private wakeScheduled = false;

  /**
   * sk_data_ready / sk_state_change: wake the socket's user for what the protocol just did (data,
   * EOF, connect, close, write space). Inside a softirq run the user is a process that gets the CPU
   * only after the softirq ends, so a NAPI batch of segments is processed before it reads — and
   * tcp_cleanup_rbuf's ACK after a read covers them all, as on Linux. Outside a softirq (timers,
   * direct calls) the user runs at once.
   */
  sk_data_ready(sk: TcpSock): void {
    if (sk.events === 0) return;
    if (this.stack.running_cpu === null) {
      sk.flush();
      return;
    }
    if (sk.woken) return;
    sk.woken = true;
    this.woken.push(sk);
    if (!this.wakeScheduled) {
      this.wakeScheduled = true;
      this.scheduler.schedule(this.runWoken, 0);
    }
  }

  /** the woken users run, after the softirq that woke them */
  private readonly runWoken = (): void => {
    this.wakeScheduled = false;
    const w = this.woken;
    // a user's callback may wake more sockets (a synchronous link): they join this pass
    for (let i = 0; i < w.length; i++) {
      const sk = w[i];
      sk.woken = false;
      sk.flush();
    }
    w.length = 0;
  };

  logBad(msg: string): void {
    if (this.rl.allow(this.scheduler.now(), (n) => this.log.warn(`tcp: ${n} messages suppressed`))) this.log.warn(msg);
  }
}

/** a 32-bit avalanche mix of three words (not Linux's siphash; unpredictable enough for a model) */
function mix(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ b, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h ^ c, 0x27d4eb2f);
  h ^= h >>> 15;
  return h >>> 0;
}

/** tcp_v4_rcv: the IPPROTO_TCP handler. skb.data is at the TCP header, len trimmed to the datagram. */
export function tcp_v4_rcv(tn: TcpNet, skb: Skb, ind: InDevice, rt: number): number {
  const mib = tn.mib.Tcp;
  // only unicast to us (skb->pkt_type != PACKET_HOST → discard, before counting)
  if (rt !== RTN_LOCAL) return NET_RX_DROP;
  mib.InSegs++;
  const b = skb.buf;
  const o = skb.data;
  const nh = skb.network_header;
  const saddr = getU32(b, nh + 12);
  const daddr = getU32(b, nh + 16);
  if (skb.len < TCP_HLEN) return NET_RX_DROP;
  const doff = (b[o + 12] >>> 4) << 2;
  if (doff < TCP_HLEN) {
    mib.InErrs++;
    tn.logBad(`tcp: data offset ${doff} < 20 from ${formatIpv4(saddr)}; dropped`);
    return NET_RX_DROP;
  }
  if (doff > skb.len) return NET_RX_DROP;
  if (!skb_csum_unnecessary(skb) && tcp_v4_check(b, o, skb.len, saddr, daddr) !== 0) {
    mib.InCsumErrors++;
    mib.InErrs++;
    tn.logBad(`tcp: bad checksum from ${formatIpv4(saddr)}:${getU16(b, o)} to port ${getU16(b, o + 2)}; dropped`);
    return NET_RX_DROP;
  }
  const seg = tcp_parse_segment(rcvSeg, b, o, skb.len, saddr, daddr);
  seg.gso_size = skb.gso_size;
  const sk = tn.lookup(daddr, seg.dport, saddr, seg.sport);
  if (sk !== null) return tcp_do_rcv(tn, sk, skb, seg);
  const l = tn.lookupListener(daddr, seg.dport);
  if (l !== null) return tcp_v4_listen_rcv(tn, l, ind, seg);
  if (tn.forwarder !== null && seg.flags & TCPHDR_SYN && !(seg.flags & (TCPHDR_ACK | TCPHDR_RST | TCPHDR_FIN))) {
    return tcp_forward_syn(tn, ind, seg);
  }
  // no_tcp_socket
  tcp_v4_send_reset(tn, ind, seg);
  return NET_RX_DROP;
}

/** tcp_v4_do_rcv / tcp_v6_do_rcv for a socket found in ehash: record the flow, process, wake the reader */
export function tcp_do_rcv(tn: TcpNet, sk: TcpSock, skb: Skb, seg: TcpSeg): number {
  sock_rps_save_rxhash(sk, skb);
  try {
    tcp_rcv(sk, seg);
  } catch (err) {
    tn.stack.bug(`tcp_rcv ${sk}`, err);
  }
  tn.sk_data_ready(sk);
  return NET_RX_SUCCESS;
}

export function synInfoOf(seg: TcpSeg): SynInfo {
  const o = seg.opts;
  return {
    saddr: seg.saddr,
    daddr: seg.daddr,
    sport: seg.sport,
    dport: seg.dport,
    seq: seg.seq,
    window: seg.window,
    mss: o.mss,
    wscale: o.wscale,
    sackPerm: o.sackPerm,
    ts: o.ts,
    tsval: o.tsval,
  };
}

function tcp_forward_syn(tn: TcpNet, ind: InDevice, seg: TcpSeg): number {
  const key = tn.tupleKey(seg.daddr, seg.dport, seg.saddr, seg.sport);
  const pending = tn.forwardPending.get(key);
  if (pending !== undefined) return NET_RX_DROP; // a retransmitted SYN while the decision is pending
  if (tn.forwardPending.size >= tn.sysctl.max_forward_inflight) {
    // tcp_syn_flood_action without cookies (a forwarded SYN's answer waits for the host connect, so
    // it cannot be a cookie), then tcp_listendrop
    tn.drops.forwardBusy++;
    tn.mib.TcpExt.TCPReqQFullDrop++;
    tn.mib.TcpExt.ListenDrops++;
    return NET_RX_DROP;
  }
  const req = new TcpForwardRequest(tn, ind, synInfoOf(seg));
  tn.forwardPending.set(key, req);
  try {
    tn.forwarder!(req);
  } catch (err) {
    tn.stack.bug('tcp forwarder', err);
    req.drop();
  }
  return NET_RX_SUCCESS;
}

/**
 * tcp_v4_send_reset for a segment no socket wants (never for a RST): with ACK, RST seq = its ack;
 * without, RST|ACK acknowledging everything it occupied (SYN and FIN count).
 */
export function tcp_v4_send_reset(tn: TcpNet, ind: InDevice, seg: TcpSeg): void {
  if (seg.flags & TCPHDR_RST) return;
  tn.drops.noSocketRst++;
  if (seg.flags & TCPHDR_ACK) {
    tcp_v4_send_reset_to(tn, ind, seg.daddr, seg.saddr, seg.dport, seg.sport, seg.ack, 0, TCPHDR_RST);
  } else {
    tcp_v4_send_reset_to(tn, ind, seg.daddr, seg.saddr, seg.dport, seg.sport, 0, seg.end_seq, TCPHDR_RST | TCPHDR_ACK);
  }
}

/** the control socket's RST: 20-byte header, window 0, counted in OutSegs and OutRsts */
export function tcp_v4_send_reset_to(
  tn: TcpNet,
  ind: InDevice,
  saddr: Ipv4Addr,
  daddr: Ipv4Addr,
  sport: number,
  dport: number,
  seq: number,
  ack: number,
  flags: number,
): void {
  const skb = tcp_make_reset(tn, MAX_IPV4_HEADER, sport, dport, seq, ack, flags);
  if (skb === null) return;
  setU16(skb.buf, skb.data + 16, tcp_v4_check(skb.buf, skb.data, TCP_HLEN, saddr, daddr));
  ip_build_and_send_pkt(ind, skb, saddr, daddr, IPPROTO_TCP, 0, true);
}

/** destroy every socket and listener (namespace teardown) */
export function tcp_v4_shutdown(tn: TcpNet): void {
  for (const s of tn.sockets()) {
    if (s.state === TCP_TIME_WAIT || s.state === TCP_SYN_SENT || s.state === TCP_CLOSE) tcp_done(s, '');
    else s.destroy();
  }
  for (const l of tn.listening()) tn.unlisten(l);
}
