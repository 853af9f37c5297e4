// Outbound UDP for the guest: one connected host UDP socket per guest flow (guest addr:port → dest
// addr:port), as libslirp's udp.c keeps one socket per flow. The gateway address maps to the host's
// loopback (`-netdev user`: 10.0.2.2 → 127.0.0.1). Replies come back to the guest from the original
// destination. A flow idle for `idleMs` (libslirp socket.h SO_EXPIRE, 240 s) is closed. When the host
// reports ECONNREFUSED (an ICMP port unreachable reached the connected socket, udp(7)), the guest gets
// an ICMP port unreachable from the destination, as it would on a real network.
// The routing layer calls handle() for each UDP datagram addressed beyond the model; the model's own
// ports (DHCP, DNS) never come here. The flow machinery is udp-host-flows.ts, shared with IPv6; this file
// holds IPv4's addresses, lookup and sends.
import type { Inet } from '../../inet';
import { inSubnet } from '../../ipv4/config';
import { RTN_LOCAL } from '../../ipv4/route';
import type { Skb } from '../../core/skb';
import type { UdpDatagram } from '../../udp/udp';
import { formatIpv4, ipv4IsLbcast, ipv4IsLoopback, ipv4IsMulticast, ipv4IsZeronet, type Ipv4Addr } from '../../wire/address';
import { ICMP_DEST_UNREACH, ICMP_PORT_UNREACH } from '../../wire/icmp';
import { udp_send_host } from '../udp-send';
import { QUOTE_PAYLOAD, UdpHostFlow, UdpHostFlows, type UdpFlowOptions } from './udp-host-flows';

export { UDP_PROXY_IDLE_MS, type UdpProxyStats } from './udp-host-flows';

/** IPv4 header (with options) + UDP header + quoted payload */
const QUOTE_MAX = 60 + 8 + QUOTE_PAYLOAD;

export interface UdpProxyOptions extends UdpFlowOptions {
  /** the host address the gateway address stands for */
  loopback?: string;
}

/** what a view (`ss -u`) may read of a flow */
export interface UdpFlowView {
  readonly guestAddr: Ipv4Addr;
  readonly guestPort: number;
  readonly destAddr: Ipv4Addr;
  readonly destPort: number;
  /** bytes the guest sent that the host socket has not taken yet */
  readonly queued: number;
}

class UdpFlow extends UdpHostFlow implements UdpFlowView {
  constructor(
    hash: number,
    readonly guestAddr: Ipv4Addr,
    guestPort: number,
    readonly destAddr: Ipv4Addr,
    destPort: number,
    hostAddr: string,
  ) {
    super(hash, guestPort, destPort, hostAddr, QUOTE_MAX);
  }
  override toString(): string {
    return `${formatIpv4(this.guestAddr)}:${this.guestPort}→${formatIpv4(this.destAddr)}:${this.destPort}`;
  }
}

/** the flow's hash: both addresses and ports (FNV-1a over the four numbers) */
function flowHash(saddr: number, sport: number, daddr: number, dport: number): number {
  let h = Math.imul(0x811c9dc5 ^ saddr, 0x01000193);
  h = Math.imul(h ^ daddr, 0x01000193);
  h = Math.imul(h ^ ((sport << 16) | dport), 0x01000193);
  return h >>> 0;
}

export class UdpProxy extends UdpHostFlows<UdpFlow> {
  readonly loopback: string;

  constructor(
    readonly inet: Inet,
    opts: UdpProxyOptions = {},
  ) {
    super(inet.net, 'udp-proxy', opts, inet.config.restrict);
    this.loopback = opts.loopback ?? '127.0.0.1';
  }

  /** the open flows, read-only (for views) */
  openFlows(): UdpFlowView[] {
    return this.table.list();
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
    const h = flowHash(d.saddr, d.sport, daddr, d.dport);
    let flow = this.find(h, d);
    if (flow === null) {
      if (this.table.refuseWhenFull(() => `${formatIpv4(d.saddr)}:${d.sport}→${formatIpv4(daddr)}:${d.dport}`)) return true;
      flow = this.open(new UdpFlow(h, d.saddr, d.sport, daddr, d.dport, toGateway ? this.loopback : formatIpv4(daddr)));
    }
    this.send(flow, d.buf, d.skb.network_header, d.payloadOffset, d.payloadLen);
    return true;
  }

  private find(h: number, d: UdpDatagram): UdpFlow | null {
    const list = this.table.bucket(h);
    if (list === undefined) return null;
    for (const f of list) {
      if (f.guestAddr === d.saddr && f.guestPort === d.sport && f.destAddr === d.daddr && f.destPort === d.dport) return f;
    }
    return null;
  }

  protected deliver(f: UdpFlow, msg: Buffer): number {
    return udp_send_host(this.inet, f.destAddr, f.destPort, f.guestAddr, f.guestPort, msg, 0, msg.length);
  }

  /** ICMP port unreachable from the destination (RTN_LOCAL: the model speaks for it) */
  protected sendPortUnreach(_f: UdpFlow, skb: Skb): void {
    skb.dev = this.inet.dev;
    this.inet.icmpSend(skb, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, RTN_LOCAL);
  }
}
