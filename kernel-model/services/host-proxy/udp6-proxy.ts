// Outbound UDP over IPv6 for the guest: udp-proxy.ts's rules with 128-bit addresses. One connected host
// UDP socket per guest flow ([guest]:port → [dest]:port); the gateway fec0::2 maps to the host's
// loopback (::1, or 127.0.0.1 when the host has no ::1, as -netdev user maps its gateway); replies come
// back from the original destination; a flow idle for idleMs closes; ECONNREFUSED from the host (an
// ICMP port unreachable reached the connected socket) becomes an ICMPv6 port unreachable to the guest,
// quoting its last datagram. Datagrams larger than the guest's MTU are fragmented by ip6_fragment.
// The IPv6 layer delivers UDP to off-link destinations locally (NetnsIpv6.terminate); udpv6_rcv hands
// datagrams for no bound port to handle(). Flows are found by a numeric hash and a byte compare: no key
// objects per datagram.
import * as dgram from 'dgram';
import * as net from 'net';
import * as os from 'os';
import type { Subscription } from 'rxjs';
import { kfree_skb, PACKET_HOST, type Skb } from '../../core/skb';
import type { Inet6 } from '../../inet6';
import type { Inet6Dev } from '../../ipv6/inet6_dev';
import { udpv6_sendto, UDP_HLEN } from '../../ipv6/udp';
import { getU16 } from '../../wire/bytes';
import { ICMPV6_DEST_UNREACH, ICMPV6_PORT_UNREACH } from '../../wire/icmpv6';
import { formatIpv6, ipv6Eq, ipv6IsLoopback, ipv6IsMulticast, ipv6IsUnspecified, NEXTHDR_UDP } from '../../wire/ipv6';
import { UDP_PROXY_IDLE_MS, type UdpProxyStats } from './udp-proxy';

/** IPv6 header + UDP header + quoted payload kept per flow for an ICMPv6 error */
const QUOTE_MAX = 40 + 8 + 64;

export interface Udp6ProxyOptions {
  maxFlows?: number;
  idleMs?: number;
  maxQueuedBytes?: number;
  restrict?: boolean;
  /** the host address fec0::2 stands for (default ::1, else 127.0.0.1) */
  loopback6?: string;
}

class Udp6Flow {
  sock: dgram.Socket | null = null;
  connected = false;
  closed = false;
  backlog: Buffer[] = [];
  queued = 0;
  lastActive = 0;
  timer: Subscription | null = null;
  /** guest address [0..16), destination [16..32) */
  readonly addrs = new Uint8Array(32);
  readonly quote = new Uint8Array(QUOTE_MAX);
  quoteLen = 0;
  constructor(
    readonly hash: number,
    readonly guestPort: number,
    readonly destPort: number,
    readonly hostAddr: string,
    readonly idev: Inet6Dev,
  ) {}
  toString(): string {
    return `[${formatIpv6(this.addrs, 0)}]:${this.guestPort}→[${formatIpv6(this.addrs, 16)}]:${this.destPort}`;
  }
}

/** the flow's hash: both addresses and ports (FNV-1a over the bytes the packet already holds) */
function flowHash(b: Uint8Array, nh: number, uh: number): number {
  let h = 0x811c9dc5;
  for (let i = 8; i < 40; i++) h = Math.imul(h ^ b[nh + i], 0x01000193);
  for (let i = 0; i < 4; i++) h = Math.imul(h ^ b[uh + i], 0x01000193);
  return h >>> 0;
}

export class Udp6Proxy {
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
  readonly loopback6: string;
  restrict: boolean;
  private readonly flows = new Map<number, Udp6Flow[]>();
  private count = 0;
  private closed = false;

  constructor(
    readonly inet6: Inet6,
    opts: Udp6ProxyOptions = {},
  ) {
    this.maxFlows = opts.maxFlows ?? 256;
    this.idleMs = opts.idleMs ?? UDP_PROXY_IDLE_MS;
    this.maxQueuedBytes = opts.maxQueuedBytes ?? 256 * 1024;
    this.restrict = opts.restrict ?? false;
    this.loopback6 = opts.loopback6 ?? (hostHasIpv6Loopback() ? '::1' : '127.0.0.1');
  }

  /** take the namespace's UDPv6 datagrams for no bound port, to any off-link address too */
  start(): this {
    const n = this.inet6.net;
    n.udp.forwarder = (skb, idev) => this.handle(skb, idev);
    n.setTerminate(NEXTHDR_UDP, true);
    return this;
  }

  get flowCount(): number {
    return this.count;
  }

  /**
   * A guest datagram (skb.data at the UDP header, checksum verified). False when the destination is not
   * one the proxy carries (multicast, loopback, unspecified, the guest's own link other than the
   * gateway): the caller answers as for a closed port. True when taken (sent, or dropped and counted).
   */
  handle(skb: Skb, idev: Inet6Dev): boolean {
    const b = skb.buf;
    const nh = skb.network_header;
    const uh = skb.data;
    const d = nh + 24;
    if (this.closed || ipv6IsMulticast(b, d) || ipv6IsLoopback(b, d) || ipv6IsUnspecified(b, d)) return false;
    const cfg = idev.config;
    const toGateway = ipv6Eq(b, d, cfg.gateway, 0);
    if (!toGateway && idev.onLink(b, d)) return false;
    if (this.restrict) {
      this.stats.restricted++;
      return true;
    }
    const h = flowHash(b, nh, uh);
    const sport = getU16(b, uh);
    const dport = getU16(b, uh + 2);
    let flow = this.find(h, b, nh, sport, dport);
    if (flow === null) {
      if (this.count >= this.maxFlows) {
        this.stats.flowLimit++;
        this.inet6.net.logBad(`udp6-proxy: ${this.count} flows open (the limit); [${formatIpv6(b, nh + 8)}]:${sport}→[${formatIpv6(b, d)}]:${dport} dropped`);
        return true;
      }
      flow = this.open(h, b, nh, sport, dport, idev, toGateway ? this.loopback6 : formatIpv6(b, d));
    }
    const len = getU16(b, uh + 4) - UDP_HLEN;
    if (flow.queued + len > this.maxQueuedBytes) {
      this.stats.queueFull++;
      return true;
    }
    flow.lastActive = this.inet6.net.scheduler.now();
    const q = Math.min(uh + UDP_HLEN + Math.min(len, 64) - nh, QUOTE_MAX);
    flow.quote.set(b.subarray(nh, nh + q), 0);
    flow.quoteLen = q;
    const msg = Buffer.allocUnsafe(len);
    msg.set(b.subarray(uh + UDP_HLEN, uh + UDP_HLEN + len));
    flow.queued += len;
    this.stats.datagramsOut++;
    this.stats.bytesOut += len;
    if (flow.connected) this.send(flow, msg);
    else flow.backlog.push(msg);
    return true;
  }

  close(): void {
    this.closed = true;
    const n = this.inet6.net;
    if (n.udp.forwarder !== null) n.udp.forwarder = null;
    for (const list of this.flows.values()) for (const f of [...list]) this.closeFlow(f);
    this.flows.clear();
  }

  private find(h: number, b: Uint8Array, nh: number, sport: number, dport: number): Udp6Flow | null {
    const list = this.flows.get(h);
    if (list === undefined) return null;
    for (const f of list) {
      if (f.guestPort === sport && f.destPort === dport && ipv6Eq(f.addrs, 0, b, nh + 8) && ipv6Eq(f.addrs, 16, b, nh + 24)) return f;
    }
    return null;
  }

  private open(h: number, b: Uint8Array, nh: number, sport: number, dport: number, idev: Inet6Dev, hostAddr: string): Udp6Flow {
    const f = new Udp6Flow(h, sport, dport, hostAddr, idev);
    f.addrs.set(b.subarray(nh + 8, nh + 40), 0);
    let list = this.flows.get(h);
    if (list === undefined) {
      list = [];
      this.flows.set(h, list);
    }
    list.push(f);
    this.count++;
    this.stats.flows++;
    const s = dgram.createSocket(net.isIPv6(hostAddr) ? 'udp6' : 'udp4');
    f.sock = s;
    s.on('message', (msg) => this.fromHost(f, msg));
    s.on('error', (err) => this.hostError(f, err));
    s.connect(dport, hostAddr, () => {
      if (f.closed) return;
      f.connected = true;
      const q = f.backlog;
      f.backlog = [];
      for (const m of q) this.send(f, m);
    });
    f.timer = this.inet6.net.scheduler.schedule(() => this.idle(f), this.idleMs);
    return f;
  }

  private send(f: Udp6Flow, msg: Buffer): void {
    f.sock!.send(msg, (err) => {
      f.queued -= msg.length;
      if (err) this.hostError(f, err);
    });
  }

  private fromHost(f: Udp6Flow, msg: Buffer): void {
    if (f.closed) return;
    f.lastActive = this.inet6.net.scheduler.now();
    if (udpv6_sendto(f.idev, f.addrs, 16, f.destPort, f.addrs, 0, f.guestPort, msg, 0, msg.length) < 0) {
      this.stats.guestSendErrors++;
      return;
    }
    this.stats.datagramsIn++;
    this.stats.bytesIn += msg.length;
  }

  private hostError(f: Udp6Flow, err: Error): void {
    if (f.closed) return;
    if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') {
      this.portUnreachable(f);
      return;
    }
    this.stats.hostErrors++;
    this.inet6.net.logBad(`udp6-proxy: ${f} (host ${f.hostAddr}): ${err.message}`);
  }

  /** ICMPv6 port unreachable to the guest, quoting its last datagram */
  private portUnreachable(f: Udp6Flow): void {
    if (f.quoteLen === 0) return;
    const skb = this.inet6.net.stack.alloc_skb(f.quoteLen);
    if (skb === null) return;
    const o = skb.put(f.quoteLen);
    skb.buf.set(f.quote.subarray(0, f.quoteLen), o);
    skb.network_header = o;
    skb.pkt_type = PACKET_HOST;
    skb.dev = f.idev.dev;
    this.stats.refused++;
    this.inet6.icmp6Send(skb, ICMPV6_DEST_UNREACH, ICMPV6_PORT_UNREACH, 0);
    kfree_skb(skb);
  }

  private idle(f: Udp6Flow): void {
    if (f.closed) return;
    const left = f.lastActive + this.idleMs - this.inet6.net.scheduler.now();
    if (left > 0) {
      f.timer = this.inet6.net.scheduler.schedule(() => this.idle(f), left);
      return;
    }
    this.stats.expired++;
    this.closeFlow(f);
  }

  private closeFlow(f: Udp6Flow): void {
    if (f.closed) return;
    f.closed = true;
    f.timer?.unsubscribe();
    f.backlog = [];
    try {
      f.sock?.close();
    } catch {
      // already closed
    }
    const list = this.flows.get(f.hash);
    if (list !== undefined) {
      const i = list.indexOf(f);
      if (i >= 0) {
        list.splice(i, 1);
        this.count--;
      }
      if (list.length === 0) this.flows.delete(f.hash);
    }
  }
}

/** ::1 is configured on the host */
export function hostHasIpv6Loopback(): boolean {
  try {
    for (const list of Object.values(os.networkInterfaces())) {
      for (const a of list ?? []) if (a.family === 'IPv6' && a.address === '::1') return true;
    }
  } catch {
    // no interface list
  }
  return false;
}
