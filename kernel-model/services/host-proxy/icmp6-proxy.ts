// ICMPv6 echo to outside addresses: icmp-proxy.ts's rules with 128-bit addresses. A guest echo request
// to an off-link address (it reaches icmpv6_rcv through the namespace's terminate rule for ICMPv6, and
// icmpv6_rcv hands only echo requests on) goes out through an unprivileged ICMPv6 ping socket of the host
// (net-vde pingSocket(6), net/ipv6/ping.c), one per guest flow (guest address, echo identifier), closed
// after `idleMs` without traffic. The host kernel replaces the identifier with the socket's own and hands
// that socket only the replies carrying it; the reply goes back to the guest with the guest's identifier
// (sequence and data untouched), from the address that answered, with the hop limit it arrived with at
// the host (IPV6_RECVHOPLIMIT) and the guest's traffic class reflected. The request leaves with the
// guest's hop limit (IPV6_UNICAST_HOPS). The model's own addresses (fec0::2, fec0::3, its link-local) are
// answered by icmpv6_echo_reply and never come here; neither do NDP, RS/RA or MLD (on-link or multicast).
// Where the host forbids ping sockets (net.ipv4.ping_group_range governs both families) one line says how
// to allow them and each request is dropped and counted; --restrict sends nothing out. The flow
// machinery is ping-host-flows.ts, shared with IPv4.
import type { Skb } from '../../core/skb';
import type { Inet6 } from '../../inet6';
import { icmpv6_set_echo_forwarder } from '../../ipv6/icmp';
import type { Inet6Dev } from '../../ipv6/inet6_dev';
import { ip6_make_flowlabel, ip6_xmit, MAX_IPV6_HEADER, NET_XMIT_SUCCESS } from '../../ipv6/ip6_output';
import { copyBytes, getU16, setU16 } from '../../wire/bytes';
import { csum_fold, csum_partial } from '../../wire/checksum';
import { ICMPV6_ADDR_UNREACH, ICMPV6_DEST_UNREACH, ICMPV6_ECHO_REPLY, ICMPV6_NOROUTE } from '../../wire/icmpv6';
import {
  csum_ipv6_magic,
  formatIpv6,
  ipv6Eq,
  ipv6IsLoopback,
  ipv6IsMulticast,
  ipv6IsUnspecified,
  ipv6IsV4Mapped,
  NEXTHDR_ICMP,
  parseIpv6,
} from '../../wire/ipv6';
import { PingFlow, PingHostFlows, type PingFamily, type PingFlowOptions } from './ping-host-flows';

export type Icmp6ProxyOptions = PingFlowOptions;

const IPV6_PING: PingFamily = {
  family: 6,
  name: 'icmp6-proxy',
  echoReply: ICMPV6_ECHO_REPLY,
  maxHeader: MAX_IPV6_HEADER,
  // the largest echo message over IPv6 without a jumbogram (the payload length field's 65535)
  maxEcho: 0xffff,
  netUnreach: ICMPV6_NOROUTE,
  hostUnreach: ICMPV6_ADDR_UNREACH,
};

class Icmp6Flow extends PingFlow {
  /** the guest's address */
  readonly addr = new Uint8Array(16);
  constructor(
    hash: number,
    id: number,
    readonly idev: Inet6Dev,
  ) {
    super(hash, id);
  }
  override toString(): string {
    return `${formatIpv6(this.addr)} id ${this.id}`;
  }
}

/** the flow's hash: guest address and identifier (FNV-1a over bytes the packet already holds) */
function flowHash(b: Uint8Array, so: number, id: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < 16; i++) h = Math.imul(h ^ b[so + i], 0x01000193);
  h = Math.imul(h ^ (id >>> 8), 0x01000193);
  h = Math.imul(h ^ (id & 255), 0x01000193);
  return h >>> 0;
}

export class Icmp6Proxy extends PingHostFlows<Icmp6Flow> {
  /** the address the reply being sent came from */
  private from: Uint8Array = new Uint8Array(16);

  constructor(
    readonly inet6: Inet6,
    opts: Icmp6ProxyOptions = {},
  ) {
    super(inet6.net, IPV6_PING, opts, false);
  }

  /** take the namespace's echo requests to off-link addresses (ICMPv6 joins the terminate rule) */
  start(): this {
    icmpv6_set_echo_forwarder(this.inet6.net, (skb, idev) => this.handle(skb, idev));
    this.inet6.net.setTerminate(NEXTHDR_ICMP, true);
    return this;
  }

  /** the host's echo identifier of the guest's flow (-1 when none or before its first send), for tests */
  hostId(guest: Uint8Array, id: number): number {
    return this.hostPort(this.find(flowHash(guest, 0, id), guest, 0, id));
  }

  /**
   * An echo request from the guest (skb.data at the ICMPv6 header, checksum verified by icmpv6_rcv) to
   * an address that is not the model's. False when the destination is not one to carry (multicast,
   * loopback, unspecified, IPv4-mapped, on the guest's link): icmpv6_rcv drops it as not routed. True
   * when taken.
   */
  handle(skb: Skb, idev: Inet6Dev): boolean {
    const b = skb.buf;
    const nh = skb.network_header;
    const d = nh + 24;
    if (this.closed || ipv6IsMulticast(b, d) || ipv6IsLoopback(b, d) || ipv6IsUnspecified(b, d) || ipv6IsV4Mapped(b, d) || idev.onLink(b, d)) return false;
    if (this.restrict) {
      this.stats.restricted++;
      return true;
    }
    const id = getU16(b, skb.data + 4);
    const h = flowHash(b, nh + 8, id);
    let f = this.find(h, b, nh + 8, id);
    if (f === null) {
      if (this.table.refuseWhenFull(() => `echo ${formatIpv6(b, nh + 8)}→${formatIpv6(b, d)} id ${id}`)) return true;
      const nf = new Icmp6Flow(h, id, idev);
      copyBytes(nf.addr, 0, b, nh + 8, 16);
      f = this.open(nf);
      if (f === null) return true;
    }
    const tclass = ((b[nh] & 15) << 4) | (b[nh + 1] >>> 4);
    this.echo(skb, f, formatIpv6(b, d), tclass, b[nh + 7]);
    return true;
  }

  protected override detach(): void {
    icmpv6_set_echo_forwarder(this.inet6.net, null);
  }

  private find(h: number, b: Uint8Array, so: number, id: number): Icmp6Flow | null {
    const list = this.table.bucket(h);
    if (list === undefined) return null;
    for (const f of list) if (f.id === id && ipv6Eq(f.addr, 0, b, so)) return f;
    return null;
  }

  protected replyFrom(address: string): boolean {
    // a scope id would follow '%'
    const pct = address.indexOf('%');
    const from = parseIpv6(pct < 0 ? address : address.slice(0, pct));
    if (from === null) return false;
    this.from = from;
    return true;
  }

  protected outError(): void {
    this.inet6.net.mib.Icmp6.OutErrors++;
  }

  protected sendReply(f: Icmp6Flow, skb: Skb, o: number, len: number, hopLimit: number): boolean {
    const net = this.inet6.net;
    const b = skb.buf;
    const from = this.from;
    setU16(b, o + 2, csum_fold(csum_partial(b, o, len, csum_ipv6_magic(from, 0, f.addr, 0, len, NEXTHDR_ICMP))));
    // the model emits this message toward the guest (counted as icmpv6_push_reply counts)
    net.mib.Icmp6Msg.OutType[ICMPV6_ECHO_REPLY]++;
    net.mib.Icmp6.OutMsgs++;
    const hops = hopLimit > 0 ? hopLimit : net.sysctl.hop_limit;
    const flow = ip6_make_flowlabel(from, 0, f.addr, 0, NEXTHDR_ICMP, ICMPV6_ECHO_REPLY);
    return ip6_xmit(f.idev, skb, from, 0, f.addr, 0, NEXTHDR_ICMP, hops, f.tos, flow) === NET_XMIT_SUCCESS;
  }

  /** ICMPv6 destination unreachable from the gateway (icmp6_send's source) */
  protected sendUnreach(skb: Skb, code: number): void {
    this.inet6.icmp6Send(skb, ICMPV6_DEST_UNREACH, code, 0);
  }
}
