// Outbound UDP over IPv6 for the guest: udp-proxy.ts's rules with 128-bit addresses. One connected host
// UDP socket per guest flow ([guest]:port → [dest]:port); the gateway fec0::2 maps to the host's
// loopback (::1, or 127.0.0.1 when the host has no ::1, as -netdev user maps its gateway); replies come
// back from the original destination; a flow idle for idleMs closes; ECONNREFUSED from the host (an
// ICMP port unreachable reached the connected socket) becomes an ICMPv6 port unreachable to the guest,
// quoting its last datagram. Datagrams larger than the guest's MTU are fragmented by ip6_fragment.
// The IPv6 layer delivers UDP to off-link destinations locally (NetnsIpv6.terminate); udpv6_rcv hands
// datagrams for no bound port to handle(). Flows are found by a numeric hash and a byte compare: no key
// objects per datagram. The flow machinery is udp-host-flows.ts, shared with IPv4.
import * as os from 'os';
import type { Skb } from '../../core/skb';
import type { Inet6 } from '../../inet6';
import type { Inet6Dev } from '../../ipv6/inet6_dev';
import { udpv6_sendto, UDP_HLEN } from '../../ipv6/udp';
import { copyBytes, getU16 } from '../../wire/bytes';
import { ICMPV6_DEST_UNREACH, ICMPV6_PORT_UNREACH } from '../../wire/icmpv6';
import { formatIpv6, ipv6Eq, ipv6IsLoopback, ipv6IsMulticast, ipv6IsUnspecified, NEXTHDR_UDP } from '../../wire/ipv6';
import { QUOTE_PAYLOAD, UdpHostFlow, UdpHostFlows, type UdpFlowOptions } from './udp-host-flows';

/** IPv6 header + UDP header + quoted payload kept per flow for an ICMPv6 error */
const QUOTE_MAX = 40 + 8 + QUOTE_PAYLOAD;

export interface Udp6ProxyOptions extends UdpFlowOptions {
  /** the host address fec0::2 stands for (default ::1, else 127.0.0.1) */
  loopback6?: string;
}

/** what a view (`ss -u`) may read of a flow */
export interface Udp6FlowView {
  /** the guest's address at [0..16), the destination it addressed at [16..32) */
  readonly addrs: Uint8Array;
  readonly guestPort: number;
  readonly destPort: number;
  /** bytes the guest sent that the host socket has not taken yet */
  readonly queued: number;
}

class Udp6Flow extends UdpHostFlow implements Udp6FlowView {
  /** guest address [0..16), destination [16..32) */
  readonly addrs = new Uint8Array(32);
  constructor(
    hash: number,
    guestPort: number,
    destPort: number,
    hostAddr: string,
    readonly idev: Inet6Dev,
  ) {
    super(hash, guestPort, destPort, hostAddr, QUOTE_MAX);
  }
  override toString(): string {
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

export class Udp6Proxy extends UdpHostFlows<Udp6Flow> {
  readonly loopback6: string;

  constructor(
    readonly inet6: Inet6,
    opts: Udp6ProxyOptions = {},
  ) {
    super(inet6.net, 'udp6-proxy', opts, false);
    this.loopback6 = opts.loopback6 ?? (hostHasIpv6Loopback() ? '::1' : '127.0.0.1');
  }

  /** take the namespace's UDPv6 datagrams for no bound port, to any off-link address too */
  start(): this {
    const n = this.inet6.net;
    n.udp.forwarder = (skb, idev) => this.handle(skb, idev);
    n.setTerminate(NEXTHDR_UDP, true);
    return this;
  }

  /** the open flows, read-only (for views) */
  openFlows(): Udp6FlowView[] {
    return this.table.list();
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
    const toGateway = ipv6Eq(b, d, idev.config.gateway, 0);
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
      if (this.table.refuseWhenFull(() => `[${formatIpv6(b, nh + 8)}]:${sport}→[${formatIpv6(b, d)}]:${dport}`)) return true;
      flow = new Udp6Flow(h, sport, dport, toGateway ? this.loopback6 : formatIpv6(b, d), idev);
      copyBytes(flow.addrs, 0, b, nh + 8, 32);
      this.open(flow);
    }
    this.send(flow, b, nh, uh + UDP_HLEN, getU16(b, uh + 4) - UDP_HLEN);
    return true;
  }

  protected override detach(): void {
    const n = this.inet6.net;
    if (n.udp.forwarder !== null) n.udp.forwarder = null;
  }

  private find(h: number, b: Uint8Array, nh: number, sport: number, dport: number): Udp6Flow | null {
    const list = this.table.bucket(h);
    if (list === undefined) return null;
    for (const f of list) {
      if (f.guestPort === sport && f.destPort === dport && ipv6Eq(f.addrs, 0, b, nh + 8) && ipv6Eq(f.addrs, 16, b, nh + 24)) return f;
    }
    return null;
  }

  protected deliver(f: Udp6Flow, msg: Buffer): number {
    return udpv6_sendto(f.idev, f.addrs, 16, f.destPort, f.addrs, 0, f.guestPort, msg, 0, msg.length);
  }

  /** ICMPv6 port unreachable to the guest about its datagram */
  protected sendPortUnreach(f: Udp6Flow, skb: Skb): void {
    skb.dev = f.idev.dev;
    this.inet6.icmp6Send(skb, ICMPV6_DEST_UNREACH, ICMPV6_PORT_UNREACH, 0);
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
