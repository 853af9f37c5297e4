// attachInet6: give one NetDevice the model's IPv6 presence — its EUI-64 link-local address and the
// `-netdev user` addresses (gateway fec0::2, DNS fec0::3), Neighbour Discovery, router advertisements
// with the SLAAC prefix and RDNSS, ICMPv6 and UDPv6 receive — as Linux's inet6_init + addrconf + a
// router-advertisement daemon would. The first call on a NetStack registers ETH_P_IPV6 with
// dev_add_pack and ICMPv6/UDP in inet6_protos. Call it after attachInet (they share the ICMP bucket).
import type { NetDevice } from './core/netdevice';
import type { Skb } from './core/skb';
import type { NetStack } from './core/stack';
import type { NeighParms, NeighTable } from './arp/neighbour';
import { netns_ipv4 } from './inet';
import { defaultInet6Config, type Inet6Config } from './ipv6/config';
import { icmp6_send, icmpv6_rcv } from './ipv6/icmp';
import { Inet6Dev } from './ipv6/inet6_dev';
import { ipv6_rcv } from './ipv6/ip6_input';
import { ip6_make_flowlabel, ip6_xmit } from './ipv6/ip6_output';
import { ndisc_send_ra, ra_start, ra_stop } from './ipv6/ndisc_router';
import { NetnsIpv6, type Ipv6Sysctl } from './ipv6/netns';
import type { NdiscStats } from './ipv6/ndisc';
import { udpv6_err, udpv6_rcv, type Udp6ErrHandler, type Udp6Handler } from './ipv6/udp';
import { ETH_P_IPV6 } from './wire/ethernet';
import { formatIpv6, NEXTHDR_ICMP, NEXTHDR_UDP, type Ipv6Addr } from './wire/ipv6';

export { defaultInet6Config, parseInet6Prefix, validateInet6Config, type Inet6Config } from './ipv6/config';
export { Inet6Dev } from './ipv6/inet6_dev';
export type { NdiscStats } from './ipv6/ndisc';
export type { Udp6Handler } from './ipv6/udp';

export interface AttachInet6Options {
  /** nd_tbl parameters (defaults: ARP's, locktime 0) */
  neigh?: Partial<NeighParms>;
  /** net.ipv6 sysctls, applied when the namespace's IPv6 state is first created */
  sysctl?: Partial<Ipv6Sysctl>;
  /** randomness for RA intervals and delays and reachable time (tests pass a seeded one) */
  random?: () => number;
}

const namespaces = new WeakMap<NetStack, NetnsIpv6>();

/** the NetStack's IPv6 state, creating it (and registering the packet handler) on first use */
export function netns_ipv6(stack: NetStack, opts: AttachInet6Options = {}): NetnsIpv6 {
  let net = namespaces.get(stack);
  if (net !== undefined) return net;
  const created = new NetnsIpv6(stack, netns_ipv4(stack, { random: opts.random }).icmp, opts.random, opts.sysctl);
  net = created;
  namespaces.set(stack, created);
  stack.dev_add_pack(ETH_P_IPV6, (skb, dev) => {
    ipv6_rcv(created, skb, dev);
  });
  created.inet6_add_protocol(NEXTHDR_ICMP, icmpv6_rcv);
  created.inet6_add_protocol(NEXTHDR_UDP, udpv6_rcv);
  created.inet6_add_err_handler(NEXTHDR_UDP, udpv6_err);
  return created;
}

/**
 * IPv6 on `dev` with `config` (default: QEMU user-mode networking, fec0::/64, gateway fec0::2, DNS
 * fec0::3, RAs on). Starts advertising at once (RAs go out while the carrier is up). Throws when the
 * device already has IPv6 (a configuration error, not a packet error).
 */
export function attachInet6(stack: NetStack, dev: NetDevice, config: Inet6Config = defaultInet6Config(), opts: AttachInet6Options = {}): Inet6 {
  const net = netns_ipv6(stack, opts);
  if (net.in6_dev_get(dev) !== undefined) throw new Error(`${dev.name}: IPv6 already attached`);
  const idev = new Inet6Dev(net, dev, config, opts.neigh);
  net.addDevice(idev);
  ra_start(idev);
  return new Inet6(idev);
}

/** The handle attachInet6 returns: the device's IPv6 state and the helpers services use. */
export class Inet6 {
  private readonly ports: [number, Udp6Handler][] = [];

  constructor(readonly idev: Inet6Dev) {}

  get net(): NetnsIpv6 {
    return this.idev.net;
  }
  get dev(): NetDevice {
    return this.idev.dev;
  }
  get config(): Inet6Config {
    return this.idev.config;
  }
  /** fe80::/64 + EUI-64 of the device MAC: the source of RAs, the guest's default router */
  get linkLocal(): Ipv6Addr {
    return this.idev.linkLocal;
  }
  /** our addresses on the link: link-local, gateway, DNS */
  get addresses(): string[] {
    return this.idev.addrs.map((a) => formatIpv6(a));
  }
  /** the ND neighbour table of this device (keys are NdiscKeys ids: see neighbourAddress) */
  get neigh(): NeighTable {
    return this.idev.nd_tbl;
  }
  get ndiscStats(): NdiscStats {
    return this.idev.ndiscStats;
  }
  /** the IPv6 address of a neighbour-table entry */
  neighbourAddress(key: number): string {
    return formatIpv6(this.idev.keys.view(key));
  }

  /** send an unsolicited router advertisement now (e.g. after the guest reconnects) */
  sendRa(): number {
    return ndisc_send_ra(this.idev);
  }

  /**
   * bind a UDPv6 port (any of our addresses) to `handler`; `onError` hears ICMPv6 errors about the
   * port's datagrams (IPV6_RECVERR). False when taken.
   */
  udpBind(port: number, handler: Udp6Handler, onError?: Udp6ErrHandler): boolean {
    if (!this.net.udp.bind(port, handler, onError)) return false;
    this.ports.push([port, handler]);
    return true;
  }

  /**
   * Send a transport payload (skb.data = transport header, headroom ≥ 54) as IPv6 `nexthdr` from sb[so]
   * to db[dof] with the namespace hop limit, resolving the neighbour. 0 sent/queued, 1 dropped.
   */
  ip6Send(skb: Skb, sb: Uint8Array, so: number, db: Uint8Array, dof: number, nexthdr: number, tclass = 0): number {
    return ip6_xmit(this.idev, skb, sb, so, db, dof, nexthdr, this.net.sysctl.hop_limit, tclass, ip6_make_flowlabel(sb, so, db, dof, nexthdr, 0));
  }

  /** an ICMPv6 error about a received skb (network_header set), rate limited as Linux */
  icmp6Send(skbIn: Skb, type: number, code: number, info: number): void {
    icmp6_send(this.idev, skbIn, type, code, info);
  }

  /** remove IPv6 from the device: stop advertising, unbind ports, flush neighbours */
  detach(): void {
    ra_stop(this.idev);
    for (const [p, h] of this.ports) this.net.udp.unbind(p, h);
    this.ports.length = 0;
    this.idev.nd_tbl.flush();
    this.net.removeDevice(this.idev);
  }
}
