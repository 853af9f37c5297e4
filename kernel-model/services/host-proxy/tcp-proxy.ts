// Outbound TCP for the guest (libslirp's tcp_input → tcp_fconnect → soread/sowrite, done with the
// model's own TCP): every guest SYN that no model listener takes reaches the forwarder (the routing
// layer delivers TCP to any off-link address locally, NetnsIpv4.terminate), which opens a host
// net.Socket to the destination and completes the guest's handshake only when that connect succeeds,
// answering as the original destination. Then tcp-splice.ts carries the bytes.
//
// Destinations (libslirp socket.c sotranslate_out): the gateway address (10.0.2.2) is the host's
// loopback; the DNS address (10.0.2.3) port 53 goes to the DNS upstream when one is configured, any
// other port there is refused; every other address is connected as is.
//
// Failures, as libslirp's tcp_input answers a failed tcp_fconnect and as a Linux guest would see them
// on a real network:
// - ECONNREFUSED → RST|ACK to the SYN (the guest's connect fails with ECONNREFUSED);
// - EHOSTUNREACH → ICMP host unreachable, ENETUNREACH and other errors → ICMP net unreachable, from the
//   gateway address as a router sends them (the guest's tcp_v4_err aborts SYN_SENT: EHOSTUNREACH /
//   ENETUNREACH);
// - no answer within connectTimeoutMs (default 75 s, BSD/libslirp TCPTV_KEEP_INIT) or ETIMEDOUT from
//   the host's kernel → ICMP host unreachable. libslirp resets there instead (tcp_timers TCPT_KEEP →
//   tcp_drop); the ICMP keeps "could not reach" distinct from "refused" for the guest.
// While the host connect is pending the SYN is not answered (the guest retransmits; the model ignores
// the copies). `-netdev user,restrict=on`: SYNs are dropped (libslirp tcp_input: restricted → drop).
// Limits: at most maxConnections connections (connecting or open) per guest; a SYN beyond is dropped
// and counted, as a full SYN queue drops (tcp_conn_request: ListenDrops), so the guest retries later.
import * as net from 'net';
import type { Subscription } from 'rxjs';
import type { Inet } from '../../inet';
import { inSubnet } from '../../ipv4/config';
import { RTN_UNICAST } from '../../ipv4/route';
import { kfree_skb, PACKET_HOST, type Skb } from '../../core/skb';
import type { NetDevice } from '../../core/netdevice';
import type { NetStack } from '../../core/stack';
import type { SynInfo, TcpForwardRequest, TcpNet } from '../../tcp/tcp_ipv4';
import { formatIpv4, type Ipv4Addr } from '../../wire/address';
import { setU16, setU32 } from '../../wire/bytes';
import { csum_fold, csum_partial } from '../../wire/checksum';
import { ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, ICMP_NET_UNREACH } from '../../wire/icmp';
import { IPPROTO_TCP, IP_DF } from '../../wire/ipv4';
import { TCPHDR_SYN } from '../../wire/tcp';
import type { Inet6 } from '../../inet6';
import type { TcpSock } from '../../tcp/sock';
import { tcp_v6_init, type Tcp6Net, type TcpForwardRequest6 } from '../../tcp/tcp_ipv6';
import { formatIpv6, ipv6Eq, NEXTHDR_TCP } from '../../wire/ipv6';
import { ICMPV6_ADDR_UNREACH, ICMPV6_DEST_UNREACH, ICMPV6_NOROUTE } from '../../wire/icmpv6';
import { spliceStats, TcpSplice, type SpliceStats } from './tcp-splice';
import { hostHasIpv6Loopback } from './udp6-proxy';

/** what open() needs of a forward request, IPv4 or IPv6 */
interface ForwardReq {
  accept(): TcpSock | null;
  reset(): void;
  drop(): void;
}
/** how a failed host connect is reported to the guest */
const UNREACH_HOST = 0;
const UNREACH_NET = 1;

/** BSD's connection-establishment timer (tcp_timer.h TCPTV_KEEP_INIT, 75 s), which libslirp keeps */
export const TCP_PROXY_CONNECT_TIMEOUT_MS = 75_000;
export const TCP_PROXY_MAX_CONNECTIONS = 4096;
export const TCP_PROXY_MAX_BUFFERED = 64 * 1024;
/** bytes one host read may bring (the shared read buffer) */
const READ_SIZE = 64 * 1024;

export interface TcpProxyOptions {
  /** connections (host connect pending or open) at most; more SYNs are dropped and counted */
  maxConnections?: number;
  /** per connection: the host socket's queue at which the guest's window is closed (bytes) */
  maxBufferedBytes?: number;
  /** a host connect not done after this long (scheduler ms) is abandoned: ICMP host unreachable */
  connectTimeoutMs?: number;
  /** the host address the gateway address stands for */
  loopback?: string;
  /** where TCP to the DNS address port 53 goes (DNS over TCP); null = refused */
  dnsUpstream?: { address: string; port: number } | null;
  /** `-netdev user,restrict=on` (default: the InetConfig's) */
  restrict?: boolean;
  /** IPv6: the guest's TCP over IPv6 is carried too (fec0::2 → loopback6, fec0::3:53 → dnsUpstream) */
  inet6?: Inet6 | null;
  /** the host address fec0::2 stands for (default ::1, or loopback when the host has no ::1) */
  loopback6?: string;
  /**
   * the virtual CPUs the proxy's consumer — the application reading and writing the model's sockets —
   * is taken to run on: each accepted connection's TcpSock.consumer_cpu is the next of these in turn
   * (round-robin), so RFS steers its segments to that CPU's backlog. Empty (default): consumer_cpu
   * stays −1, the CPU running at the call (CPU 0 outside softirqs). Each is an existing CPU.
   */
  consumerCpus?: readonly number[];
}

export interface TcpProxyStats extends SpliceStats {
  /** host connects started */
  opened: number;
  /** host connects that succeeded (the guest's handshake was then completed) */
  connected: number;
  /** refused by the host (RST to the guest), including closed DNS-address ports */
  refused: number;
  /** EHOSTUNREACH / ENETUNREACH / other connect errors (ICMP to the guest) */
  unreachable: number;
  /** no connect within connectTimeoutMs, or ETIMEDOUT (ICMP host unreachable to the guest) */
  timedOut: number;
  /** connected on the host but the model could not take the connection (tuple in use): host closed */
  failed: number;
  /** SYNs dropped: the connection cap was reached */
  connLimit: number;
  /** SYNs dropped: restrict mode */
  restricted: number;
  /** connections finished (both sides closed) */
  closed: number;
}

/** shared by every host socket: a read lands here and is written to the model socket at once */
let readBuffer: Buffer | null = null;

export class TcpProxy {
  readonly stats: TcpProxyStats = {
    opened: 0,
    connected: 0,
    refused: 0,
    unreachable: 0,
    timedOut: 0,
    failed: 0,
    connLimit: 0,
    restricted: 0,
    closed: 0,
    ...spliceStats(),
  };
  readonly maxConnections: number;
  readonly maxBufferedBytes: number;
  readonly connectTimeoutMs: number;
  readonly loopback: string;
  readonly dnsUpstream: { address: string; port: number } | null;
  restrict: boolean;
  private readonly splices = new Set<TcpSplice>();
  private closed = false;
  readonly inet6: Inet6 | null;
  readonly tcp6: Tcp6Net | null;
  readonly loopback6: string;
  readonly consumerCpus: readonly number[];
  /** round-robin position in consumerCpus */
  private nextConsumer = 0;

  constructor(
    readonly inet: Inet,
    readonly tcp: TcpNet = inet.tcp,
    opts: TcpProxyOptions = {},
  ) {
    this.maxConnections = opts.maxConnections ?? TCP_PROXY_MAX_CONNECTIONS;
    this.maxBufferedBytes = Math.max(1, opts.maxBufferedBytes ?? TCP_PROXY_MAX_BUFFERED);
    this.connectTimeoutMs = opts.connectTimeoutMs ?? TCP_PROXY_CONNECT_TIMEOUT_MS;
    this.loopback = opts.loopback ?? '127.0.0.1';
    this.dnsUpstream = opts.dnsUpstream ?? null;
    this.restrict = opts.restrict ?? inet.config.restrict;
    this.inet6 = opts.inet6 ?? null;
    this.tcp6 = this.inet6 === null ? null : tcp_v6_init(tcp, this.inet6.net);
    this.loopback6 = opts.loopback6 ?? (hostHasIpv6Loopback() ? '::1' : this.loopback);
    this.consumerCpus = opts.consumerCpus ?? [];
  }

  /** become the namespace's TCP forwarder */
  start(): this {
    this.tcp.setForwarder((req) => this.forward(req));
    this.tcp6?.setForwarder((req) => this.forward6(req));
    if (this.inet6 !== null) this.inet6.net.setTerminate(NEXTHDR_TCP, true);
    return this;
  }

  /** connections connecting or open */
  get connections(): number {
    return this.splices.size;
  }

  /** stop forwarding and abort every connection (RST both ways) */
  close(): void {
    this.closed = true;
    if (this.tcp.forwarder !== null) this.tcp.setForwarder(null);
    this.tcp6?.setForwarder(null);
    for (const s of [...this.splices]) s.destroy();
  }

  /** the host address and port for a guest destination, or null when it is refused */
  hostTarget(daddr: Ipv4Addr, dport: number): { host: string; port: number } | null {
    const cfg = this.inet.config;
    if (daddr === cfg.host) return { host: this.loopback, port: dport };
    if (daddr === cfg.dns) {
      const u = this.dnsUpstream;
      return u !== null && dport === 53 ? { host: u.address, port: u.port } : null;
    }
    // another address on the guest's own link is not reached through the gateway
    if (inSubnet(cfg, daddr)) return null;
    return { host: formatIpv4(daddr), port: dport };
  }

  private forward(req: TcpForwardRequest): void {
    this.forwardSyn(req, describe(req), this.hostTarget(req.localAddress, req.localPort), () => req.overflow(), (kind) =>
      this.unreachable(req, kind === UNREACH_HOST ? ICMP_HOST_UNREACH : ICMP_NET_UNREACH),
    );
  }

  /** the host address and port for a guest IPv6 destination a[o], or null when it is refused */
  hostTarget6(a: Uint8Array, o: number, dport: number): { host: string; port: number } | null {
    const cfg = this.inet6!.config;
    if (ipv6Eq(a, o, cfg.gateway, 0)) return { host: this.loopback6, port: dport };
    if (ipv6Eq(a, o, cfg.dns, 0)) {
      const u = this.dnsUpstream;
      return u !== null && dport === 53 ? { host: u.address, port: u.port } : null;
    }
    if (this.inet6!.idev.onLink(a, o)) return null;
    return { host: formatIpv6(a, o), port: dport };
  }

  private forward6(req: TcpForwardRequest6): void {
    const what = `[${req.remoteAddress}]:${req.remotePort}→[${req.localAddress}]:${req.localPort}`;
    // TcpForwardRequest6 has no overflow(): at the cap the SYN is dropped without a ListenDrops count
    this.forwardSyn(req, what, this.hostTarget6(req.addrs, 16, req.localPort), () => req.drop(), (kind) =>
      this.unreachable6(req, kind === UNREACH_HOST ? ICMPV6_ADDR_UNREACH : ICMPV6_NOROUTE),
    );
  }

  /**
   * One guest SYN no listener took, either family: dropped once closed or under restrict, RST when its
   * destination is refused (`target` null), `full` at the connection cap, else the host connect starts.
   */
  private forwardSyn(
    req: ForwardReq,
    what: string,
    target: { host: string; port: number } | null,
    full: () => void,
    unreachable: (kind: number) => void,
  ): void {
    if (this.closed) {
      req.drop();
      return;
    }
    if (this.restrict) {
      this.stats.restricted++;
      req.drop();
      return;
    }
    if (target === null) {
      this.stats.refused++;
      req.reset();
      return;
    }
    if (this.splices.size >= this.maxConnections) {
      this.stats.connLimit++;
      this.inet.net.logBad(`tcp-proxy: ${this.splices.size} connections (the limit); SYN ${what} dropped`);
      full();
      return;
    }
    this.open(req, target.host, target.port, what, unreachable);
  }

  private open(req: ForwardReq, host: string, port: number, what: string, unreachable: (kind: number) => void): void {
    this.stats.opened++;
    readBuffer ??= Buffer.allocUnsafe(READ_SIZE);
    let splice: TcpSplice | null = null;
    // writableHighWaterMark reaches stream.Duplex through net.Socket's options, and the constructor
    // takes onread as connect() does (Node 20); @types/node lists neither there
    const opts: net.SocketConstructorOpts & { writableHighWaterMark: number; onread: net.OnReadOpts } = {
      allowHalfOpen: true,
      writableHighWaterMark: this.maxBufferedBytes,
      onread: { buffer: readBuffer, callback: (n: number, buf: Uint8Array) => (splice === null ? false : splice.fromHost(n, buf as Buffer)) },
    };
    const sock = new net.Socket(opts);
    const s = new TcpSplice(sock, this.stats, (done) => {
      if (this.splices.delete(done)) this.stats.closed++;
    });
    splice = s;
    this.splices.add(s);
    let connecting = true;
    let timer: Subscription | null = this.inet.net.scheduler.schedule(() => {
      timer = null;
      if (!connecting) return;
      connecting = false;
      this.stats.timedOut++;
      unreachable(UNREACH_HOST);
      sock.destroy();
    }, this.connectTimeoutMs);
    sock.once('connect', () => {
      timer?.unsubscribe();
      timer = null;
      if (!connecting) return;
      connecting = false;
      const child = this.closed ? null : req.accept();
      if (child === null) {
        this.stats.failed++;
        req.drop();
        sock.destroy();
        return;
      }
      this.stats.connected++;
      const cpus = this.consumerCpus;
      if (cpus.length > 0) {
        child.consumer_cpu = cpus[this.nextConsumer];
        this.nextConsumer = (this.nextConsumer + 1) % cpus.length;
      }
      sock.setNoDelay(true);
      s.attach(child);
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (!connecting) return;
      connecting = false;
      timer?.unsubscribe();
      timer = null;
      switch (err.code) {
        case 'ECONNREFUSED':
          this.stats.refused++;
          req.reset();
          break;
        case 'EHOSTUNREACH':
          this.stats.unreachable++;
          unreachable(UNREACH_HOST);
          break;
        case 'ETIMEDOUT':
          this.stats.timedOut++;
          unreachable(UNREACH_HOST);
          break;
        default:
          this.stats.unreachable++;
          this.inet.net.logBad(`tcp-proxy: ${what} → ${host}:${port}: ${err.message}`);
          unreachable(UNREACH_NET);
      }
    });
    sock.connect(port, host);
  }

  /**
   * ICMP destination unreachable to the guest about its SYN, from the gateway address (as a router
   * reports it), then forget the request. The quote is rebuilt from the SYN's fields: an IPv4 header
   * and the TCP header's first 20 bytes (RFC 792 needs the header and 8 bytes: ports and sequence).
   */
  private unreachable(req: TcpForwardRequest, code: number): void {
    const inet = this.inet;
    const syn = req.syn;
    const skb = synQuote(inet.net.stack, inet.dev, syn, 20, (b, o) => {
      b[o] = 0x45;
      setU16(b, o + 2, 40);
      setU16(b, o + 6, IP_DF);
      b[o + 8] = 64;
      b[o + 9] = IPPROTO_TCP;
      setU32(b, o + 12, syn.saddr);
      setU32(b, o + 16, syn.daddr);
      setU16(b, o + 10, csum_fold(csum_partial(b, o, 20)));
    });
    if (skb !== null) {
      inet.icmpSend(skb, ICMP_DEST_UNREACH, code, 0, RTN_UNICAST);
      kfree_skb(skb);
    }
    req.drop();
  }

  /**
   * ICMPv6 destination unreachable about an IPv6 SYN, from the gateway address as a router sends it:
   * the quote is rebuilt from the SYN (IPv6 header + the TCP header's first 20 bytes)
   */
  private unreachable6(req: TcpForwardRequest6, code: number): void {
    const inet6 = this.inet6!;
    const skb = synQuote(inet6.net.stack, inet6.dev, req.syn, 40, (b, o) => {
      b[o] = 0x60;
      setU16(b, o + 4, 20);
      b[o + 6] = NEXTHDR_TCP;
      b[o + 7] = 64;
      b.set(req.addrs, o + 8);
    });
    if (skb !== null) {
      inet6.icmp6Send(skb, ICMPV6_DEST_UNREACH, code, 0);
      kfree_skb(skb);
    }
    req.drop();
  }
}

/**
 * A received-looking skb holding the guest's SYN as an ICMP error quotes it: an IP header of `iphlen`
 * bytes that `putIp` writes into zeroed bytes at b[o], then the TCP header's first 20 bytes rebuilt from
 * the SYN's fields. null when the stack has no skb to spare.
 */
function synQuote(stack: NetStack, dev: NetDevice, syn: SynInfo, iphlen: number, putIp: (b: Uint8Array, o: number) => void): Skb | null {
  const skb = stack.alloc_skb(iphlen + 20);
  if (skb === null) return null;
  const o = skb.put(iphlen + 20);
  const b = skb.buf;
  b.fill(0, o, o + iphlen + 20);
  putIp(b, o);
  const t = o + iphlen;
  setU16(b, t, syn.sport);
  setU16(b, t + 2, syn.dport);
  setU32(b, t + 4, syn.seq);
  b[t + 12] = 5 << 4;
  b[t + 13] = TCPHDR_SYN;
  setU16(b, t + 14, syn.window);
  skb.network_header = o;
  skb.transport_header = t;
  skb.pkt_type = PACKET_HOST;
  skb.dev = dev;
  return skb;
}

function describe(req: TcpForwardRequest): string {
  return `${formatIpv4(req.remoteAddress)}:${req.remotePort}→${formatIpv4(req.localAddress)}:${req.localPort}`;
}
