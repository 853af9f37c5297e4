// ICMP echo to outside addresses, as libslirp's ip_icmp.c does it (icmp_send / icmp_receive): a guest
// echo request to an address that is not the model's goes out through an unprivileged ping socket of the
// host (net-vde pingSocket, net/ipv4/ping.c), one per guest flow (guest address, echo identifier), closed
// after `idleMs` without traffic (libslirp SO_EXPIRE). The host kernel replaces the identifier with the
// socket's own and only hands that socket the replies carrying it; the reply goes back to the guest with
// the guest's identifier (the sequence and data are untouched), from the address that answered.
// TTL: the request leaves the host with the guest's TTL (IP_TTL on the socket: `ping -t N` means the same
// through the model), and the reply reaches the guest with the TTL it had when it arrived at the host
// (IP_RECVTTL), not the model's own default — what the guest would see on a routed network, less our hop.
// Where the host forbids ping sockets (net.ipv4.ping_group_range; socket() fails with EACCES) one line
// says how to allow them (once per namespace, for both families) and each request is dropped and
// counted; --restrict sends nothing out. ICMPv6 echo goes the same way in icmp6-proxy.ts; the flow
// machinery both use is ping-host-flows.ts, this file holds IPv4's addresses, lookup and sends.
import type { Inet } from '../../inet';
import type { InDevice } from '../../ipv4/devinet';
import { ip_build_and_send_pkt, MAX_IPV4_HEADER } from '../../ipv4/ip_output';
import { RTN_UNICAST } from '../../ipv4/route';
import { icmp_set_echo_forwarder } from '../../icmp/icmp';
import type { Skb } from '../../core/skb';
import { formatIpv4, ipv4IsLbcast, ipv4IsLoopback, ipv4IsMulticast, ipv4IsZeronet, parseIpv4, type Ipv4Addr } from '../../wire/address';
import { getU16, getU32, setU16 } from '../../wire/bytes';
import { csum_fold, csum_partial } from '../../wire/checksum';
import { ICMP_DEST_UNREACH, ICMP_ECHOREPLY, ICMP_HOST_UNREACH, ICMP_NET_UNREACH } from '../../wire/icmp';
import { IPPROTO_ICMP } from '../../wire/ipv4';
import { PingFlow, PingHostFlows, type PingFamily, type PingFlowOptions } from './ping-host-flows';

export { ICMP_PROXY_IDLE_MS, openPingSocket, PING_SOCKETS_HINT, type IcmpProxyStats } from './ping-host-flows';

export type IcmpProxyOptions = PingFlowOptions;

const IPV4_PING: PingFamily = {
  family: 4,
  name: 'icmp-proxy',
  echoReply: ICMP_ECHOREPLY,
  maxHeader: MAX_IPV4_HEADER,
  // the largest echo message (an IPv4 datagram of 65535 bytes less its 20-byte header)
  maxEcho: 0xffff - 20,
  netUnreach: ICMP_NET_UNREACH,
  hostUnreach: ICMP_HOST_UNREACH,
};

class IcmpFlow extends PingFlow {
  constructor(
    key: number,
    readonly guestAddr: Ipv4Addr,
    id: number,
  ) {
    super(key, id);
  }
  override toString(): string {
    return `${formatIpv4(this.guestAddr)} id ${this.id}`;
  }
}

export class IcmpProxy extends PingHostFlows<IcmpFlow> {
  /** the address the reply being sent came from */
  private from: Ipv4Addr = 0;

  constructor(
    readonly inet: Inet,
    opts: IcmpProxyOptions = {},
  ) {
    super(inet.net, IPV4_PING, opts, inet.config.restrict);
  }

  /** take the namespace's echo requests to other addresses (ICMP joins the terminate rule) */
  start(): this {
    icmp_set_echo_forwarder(this.inet.net, (skb, ind) => this.handle(skb, ind));
    this.inet.net.setTerminate(IPPROTO_ICMP, true);
    return this;
  }

  /** the host's echo identifier of the guest's flow (-1 when none or before its first send), for tests and views */
  hostId(guestAddr: Ipv4Addr, id: number): number {
    return this.hostPort(this.find(guestAddr * 65536 + id));
  }

  /**
   * An echo request from the guest (skb.data at the ICMP header, checksum verified by icmp_rcv) to an
   * address that is not the model's. False when the destination is not one to carry (broadcast,
   * multicast, loopback, this network): icmp_rcv drops it as not routed. True when taken.
   */
  handle(skb: Skb, ind: InDevice): boolean {
    const b = skb.buf;
    const nh = skb.network_header;
    const saddr = getU32(b, nh + 12);
    const daddr = getU32(b, nh + 16);
    if (this.closed || ipv4IsMulticast(daddr) || ipv4IsLbcast(daddr) || ipv4IsZeronet(daddr) || ipv4IsLoopback(daddr) || ind.onLink(daddr)) return false;
    if (this.restrict) {
      this.stats.restricted++;
      return true;
    }
    const id = getU16(b, skb.data + 4);
    // guest address × 65536 + identifier: a key, so each bucket holds one flow
    const key = saddr * 65536 + id;
    let f = this.find(key);
    if (f === null) {
      if (this.table.refuseWhenFull(() => `echo ${formatIpv4(saddr)}→${formatIpv4(daddr)} id ${id}`)) return true;
      f = this.open(new IcmpFlow(key, saddr, id));
      if (f === null) return true;
    }
    this.echo(skb, f, formatIpv4(daddr), b[nh + 1], b[nh + 8]);
    return true;
  }

  protected override detach(): void {
    icmp_set_echo_forwarder(this.inet.net, null);
  }

  private find(key: number): IcmpFlow | null {
    const list = this.table.bucket(key);
    return list === undefined || list.length === 0 ? null : list[0];
  }

  protected replyFrom(address: string): boolean {
    this.from = parseIpv4(address);
    return this.from >= 0;
  }

  protected outError(): void {
    this.inet.net.mib.Icmp.OutErrors++;
  }

  protected sendReply(f: IcmpFlow, skb: Skb, o: number, len: number, ttl: number): boolean {
    const inet = this.inet;
    const b = skb.buf;
    setU16(b, o + 2, csum_fold(csum_partial(b, o, len)));
    // icmp_out_count: the model emits this message toward the guest
    inet.net.mib.IcmpMsg.OutType[ICMP_ECHOREPLY]++;
    inet.net.mib.Icmp.OutMsgs++;
    return ip_build_and_send_pkt(inet.ind, skb, this.from, f.guestAddr, IPPROTO_ICMP, f.tos, false, -1, ttl) === 0;
  }

  /** ICMP destination unreachable from the gateway (libslirp icmp_send) */
  protected sendUnreach(skb: Skb, code: number): void {
    this.inet.icmpSend(skb, ICMP_DEST_UNREACH, code, 0, RTN_UNICAST);
  }
}
