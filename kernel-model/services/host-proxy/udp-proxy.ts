// Outbound UDP for the guest: one connected host UDP socket per guest flow (guest addr:port → dest
// addr:port), as libslirp's udp.c keeps one socket per flow. The gateway address maps to the host's
// loopback (`-netdev user`: 10.0.2.2 → 127.0.0.1). Replies come back to the guest from the original
// destination. A flow idle for `idleMs` (libslirp socket.h SO_EXPIRE, 240 s) is closed. When the host
// reports ECONNREFUSED (an ICMP port unreachable reached the connected socket, udp(7)), the guest gets
// an ICMP port unreachable from the destination, as it would on a real network.
// The routing layer calls handle() for each UDP datagram addressed beyond the model; the model's own
// ports (DHCP, DNS) never come here.
import * as dgram from 'dgram';
import type { Subscription } from 'rxjs';
import type { Inet } from '../../inet';
import { inSubnet } from '../../ipv4/config';
import { RTN_LOCAL } from '../../ipv4/route';
import { kfree_skb, PACKET_HOST } from '../../core/skb';
import type { UdpDatagram } from '../../udp/udp';
import { formatIpv4, ipv4IsLbcast, ipv4IsLoopback, ipv4IsMulticast, ipv4IsZeronet, type Ipv4Addr } from '../../wire/address';
import { copyBytes } from '../../wire/bytes';
import { ICMP_DEST_UNREACH, ICMP_PORT_UNREACH } from '../../wire/icmp';
import { udp_send_host } from '../udp-send';

/** libslirp socket.h SO_EXPIRE: a UDP socket idle this long (ms) is detached */
export const UDP_PROXY_IDLE_MS = 240_000;
/** payload bytes kept per flow to quote in an ICMP error (RFC 792 needs 8; Linux quotes up to 576) */
const QUOTE_PAYLOAD = 64;
/** IPv4 header (with options) + UDP header + quoted payload */
const QUOTE_MAX = 60 + 8 + QUOTE_PAYLOAD;

export interface UdpProxyOptions {
  /** flows at most (one host socket each); more are dropped and counted */
  maxFlows?: number;
  /** idle timeout of a flow, scheduler ms */
  idleMs?: number;
  /** bytes queued to one host socket at most (written but not yet sent); more are dropped */
  maxQueuedBytes?: number;
  /** `-netdev user,restrict=on`: the guest may not reach the outside; its datagrams are dropped (default: the InetConfig's) */
  restrict?: boolean;
  /** the host address the gateway address stands for */
  loopback?: string;
}

export interface UdpProxyStats {
  /** flows opened */
  flows: number;
  /** flows closed after idleMs without traffic */
  expired: number;
  /** guest datagrams sent to the host / host datagrams delivered to the guest */
  datagramsOut: number;
  datagramsIn: number;
  bytesOut: number;
  bytesIn: number;
  /** dropped: the flow table was full */
  flowLimit: number;
  /** dropped: restrict mode */
  restricted: number;
  /** dropped: the host socket's queue was full */
  queueFull: number;
  /** ICMP port unreachable sent to the guest after ECONNREFUSED */
  refused: number;
  /** other host socket errors */
  hostErrors: number;
  /** host datagrams the model could not send to the guest */
  guestSendErrors: number;
}

class UdpFlow {
  sock: dgram.Socket | null = null;
  connected = false;
  closed = false;
  /** datagrams written before connect() completed */
  backlog: Buffer[] = [];
  /** bytes handed to the socket or the backlog and not yet sent */
  queued = 0;
  lastActive = 0;
  timer: Subscription | null = null;
  /** the guest's last datagram: IP header, UDP header and the start of the payload (for ICMP) */
  readonly quote = new Uint8Array(QUOTE_MAX);
  quoteLen = 0;
  constructor(
    readonly outerKey: number,
    readonly innerKey: number,
    readonly guestAddr: Ipv4Addr,
    readonly guestPort: number,
    readonly destAddr: Ipv4Addr,
    readonly destPort: number,
    readonly hostAddr: string,
  ) {}
  toString(): string {
    return `${formatIpv4(this.guestAddr)}:${this.guestPort}→${formatIpv4(this.destAddr)}:${this.destPort}`;
  }
}

export class UdpProxy {
  readonly stats: UdpProxyStats = {
    flows: 0,
    expired: 0,
    datagramsOut: 0,
    datagramsIn: 0,
    bytesOut: 0,
    bytesIn: 0,
    flowLimit: 0,
    restricted: 0,
    queueFull: 0,
    refused: 0,
    hostErrors: 0,
    guestSendErrors: 0,
  };
  readonly maxFlows: number;
  readonly idleMs: number;
  readonly maxQueuedBytes: number;
  readonly loopback: string;
  restrict: boolean;
  /** guest (addr × 65536 + port) → dest (addr × 65536 + port) → flow: no per-datagram key objects */
  private readonly flows = new Map<number, Map<number, UdpFlow>>();
  private count = 0;
  private closed = false;

  constructor(
    readonly inet: Inet,
    opts: UdpProxyOptions = {},
  ) {
    this.maxFlows = opts.maxFlows ?? 256;
    this.idleMs = opts.idleMs ?? UDP_PROXY_IDLE_MS;
    this.maxQueuedBytes = opts.maxQueuedBytes ?? 256 * 1024;
    this.restrict = opts.restrict ?? inet.config.restrict;
    this.loopback = opts.loopback ?? '127.0.0.1';
  }

  get flowCount(): number {
    return this.count;
  }

  /**
   * A UDP datagram from the guest to d.daddr:d.dport (valid only during the call). Returns false when
   * the destination is not one the proxy carries (broadcast, multicast, loopback, the model's own
   * subnet other than the gateway): the caller goes on as for a closed port. True when it was taken —
   * sent, or dropped and counted.
   */
  handle(d: UdpDatagram): boolean {
    const daddr = d.daddr;
    if (d.broadcast || ipv4IsMulticast(daddr) || ipv4IsLbcast(daddr) || ipv4IsZeronet(daddr) || ipv4IsLoopback(daddr)) return false;
    const cfg = this.inet.config;
    const toGateway = daddr === cfg.host;
    if (!toGateway && inSubnet(cfg, daddr)) return false;
    if (this.closed) return false;
    if (this.restrict) {
      this.stats.restricted++;
      return true;
    }
    const outer = d.saddr * 65536 + d.sport;
    const inner = daddr * 65536 + d.dport;
    let flow = this.flows.get(outer)?.get(inner);
    if (flow === undefined) {
      if (this.count >= this.maxFlows) {
        this.stats.flowLimit++;
        this.inet.net.logBad(`udp-proxy: ${this.count} flows open (the limit); ${formatIpv4(d.saddr)}:${d.sport}→${formatIpv4(daddr)}:${d.dport} dropped`);
        return true;
      }
      flow = this.open(outer, inner, d, toGateway ? this.loopback : formatIpv4(daddr));
    }
    const len = d.payloadLen;
    if (flow.queued + len > this.maxQueuedBytes) {
      this.stats.queueFull++;
      return true;
    }
    flow.lastActive = this.inet.net.scheduler.now();
    // quote for a later ICMP error: from the IP header to a little of the payload
    const nh = d.skb.network_header;
    const q = Math.min(d.payloadOffset + Math.min(len, QUOTE_PAYLOAD) - nh, QUOTE_MAX);
    copyBytes(flow.quote, 0, d.buf, nh, q);
    flow.quoteLen = q;
    // the host socket sends later: copy the payload out of the receive buffer
    const msg = Buffer.allocUnsafe(len);
    copyBytes(msg, 0, d.buf, d.payloadOffset, len);
    flow.queued += len;
    this.stats.datagramsOut++;
    this.stats.bytesOut += len;
    if (flow.connected) this.send(flow, msg);
    else flow.backlog.push(msg);
    return true;
  }

  /** close every flow (their host sockets) */
  close(): void {
    this.closed = true;
    for (const m of this.flows.values()) for (const f of m.values()) this.closeFlow(f);
    this.flows.clear();
  }

  private open(outer: number, inner: number, d: UdpDatagram, hostAddr: string): UdpFlow {
    const f = new UdpFlow(outer, inner, d.saddr, d.sport, d.daddr, d.dport, hostAddr);
    let m = this.flows.get(outer);
    if (m === undefined) {
      m = new Map();
      this.flows.set(outer, m);
    }
    m.set(inner, f);
    this.count++;
    this.stats.flows++;
    const s = dgram.createSocket('udp4');
    f.sock = s;
    s.on('message', (msg) => this.fromHost(f, msg));
    s.on('error', (err) => this.hostError(f, err));
    s.connect(f.destPort, hostAddr, () => {
      if (f.closed) return;
      f.connected = true;
      const b = f.backlog;
      f.backlog = [];
      for (const msg of b) this.send(f, msg);
    });
    f.timer = this.inet.net.scheduler.schedule(() => this.idle(f), this.idleMs);
    return f;
  }

  private send(f: UdpFlow, msg: Buffer): void {
    f.sock!.send(msg, (err) => {
      f.queued -= msg.length;
      if (err) this.hostError(f, err);
    });
  }

  private fromHost(f: UdpFlow, msg: Buffer): void {
    if (f.closed) return;
    f.lastActive = this.inet.net.scheduler.now();
    if (udp_send_host(this.inet, f.destAddr, f.destPort, f.guestAddr, f.guestPort, msg, 0, msg.length) < 0) {
      this.stats.guestSendErrors++;
      return;
    }
    this.stats.datagramsIn++;
    this.stats.bytesIn += msg.length;
  }

  private hostError(f: UdpFlow, err: Error): void {
    if (f.closed) return;
    if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') {
      this.portUnreachable(f);
      return;
    }
    this.stats.hostErrors++;
    this.inet.net.logBad(`udp-proxy: ${f} (host ${f.hostAddr}): ${err.message}`);
  }

  /** ICMP port unreachable to the guest, quoting its last datagram, from the destination (RTN_LOCAL) */
  private portUnreachable(f: UdpFlow): void {
    if (f.quoteLen === 0) return;
    const inet = this.inet;
    const skb = inet.net.stack.alloc_skb(f.quoteLen);
    if (skb === null) return;
    const o = skb.put(f.quoteLen);
    copyBytes(skb.buf, o, f.quote, 0, f.quoteLen);
    skb.network_header = o;
    skb.pkt_type = PACKET_HOST;
    skb.dev = inet.dev;
    this.stats.refused++;
    inet.icmpSend(skb, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, RTN_LOCAL);
    kfree_skb(skb);
  }

  private idle(f: UdpFlow): void {
    if (f.closed) return;
    const left = f.lastActive + this.idleMs - this.inet.net.scheduler.now();
    if (left > 0) {
      f.timer = this.inet.net.scheduler.schedule(() => this.idle(f), left);
      return;
    }
    this.stats.expired++;
    this.closeFlow(f);
  }

  private closeFlow(f: UdpFlow): void {
    if (f.closed) return;
    f.closed = true;
    f.timer?.unsubscribe();
    f.backlog = [];
    try {
      f.sock?.close();
    } catch {
      // already closed
    }
    const m = this.flows.get(f.outerKey);
    if (m !== undefined && m.get(f.innerKey) === f) {
      m.delete(f.innerKey);
      if (m.size === 0) this.flows.delete(f.outerKey);
      this.count--;
    }
  }
}
