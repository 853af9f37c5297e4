// struct inet6_dev (include/net/if_inet6.h): IPv6 on one NetDevice — the model's addresses on the link
// (its EUI-64 link-local address, the gateway and DNS addresses of the prefix), the groups it has joined,
// its neighbour (ND) cache and the router-advertisement state.
import type { Subscription } from 'rxjs';
import type { NetDevice } from '../core/netdevice';
import { NeighTable, type NeighParms } from '../arp/neighbour';
import { macFromBytes, type MacAddr } from '../wire/address';
import {
  ipv6Eq,
  ipv6IsLinkLocal,
  ipv6IsSolicitedNodeOf,
  ipv6LinkLocalFromMac,
  ipv6PrefixEq,
  type Ipv6Addr,
} from '../wire/ipv6';
import type { Inet6Config } from './config';
import { NdiscKeys } from './ndisc_keys';
import type { NetnsIpv6 } from './netns';
import { NdiscNeighOps, type NdiscStats } from './ndisc';

/** nd_tbl parameters: ARP's, except locktime 0 (net/ipv6/ndisc.c nd_tbl) */
export const ND_NEIGH_PARMS: Partial<NeighParms> = { locktime: 0 };

export class Inet6Dev {
  readonly mac: MacAddr;
  /** fe80::/64 + EUI-64 of the model's MAC (addrconf_addr_gen, addr_gen_mode 0) */
  readonly linkLocal: Ipv6Addr;
  /** every address of ours: [linkLocal, gateway, dns] */
  readonly addrs: Ipv6Addr[];
  readonly nd_tbl: NeighTable;
  readonly keys: NdiscKeys;
  readonly ndiscOps: NdiscNeighOps;
  /** router advertisement state (ndisc_router.ts) */
  raTimer: Subscription | null = null;
  /** unsolicited RAs sent so far (the first MAX_INITIAL_RTR_ADVERTISEMENTS come faster) */
  raInitialSent = 0;
  /** scheduler time of the last multicast RA, -Infinity before the first */
  lastRaTime = -Infinity;
  /** a solicited RA is scheduled */
  raPending: Subscription | null = null;
  /** the ids the neighbour cache still uses (for NdiscKeys.compact), allocated once */
  readonly keyLive: () => Set<number>;

  constructor(
    readonly net: NetnsIpv6,
    readonly dev: NetDevice,
    readonly config: Inet6Config,
    neighParms: Partial<NeighParms> = {},
  ) {
    this.mac = macFromBytes(dev.dev_addr);
    this.linkLocal = ipv6LinkLocalFromMac(this.mac);
    this.addrs = [this.linkLocal, config.gateway, config.dns];
    this.ndiscOps = new NdiscNeighOps(this);
    this.nd_tbl = new NeighTable(net.scheduler, this.ndiscOps, { ...ND_NEIGH_PARMS, ...neighParms }, net.random);
    this.keys = new NdiscKeys(this.nd_tbl.parms.gc_thresh3 + 64);
    this.keyLive = () => new Set(Array.from(this.nd_tbl.all(), (n) => n.primary_key));
  }

  get ndiscStats(): NdiscStats {
    return this.ndiscOps.stats;
  }

  /** the index in addrs of our address at b[o], or -1 (ipv6_chk_addr) */
  addrIndex(b: Uint8Array, o: number): number {
    const a = this.addrs;
    for (let i = 0; i < a.length; i++) if (ipv6Eq(a[i], 0, b, o)) return i;
    return -1;
  }

  isLocal(b: Uint8Array, o: number): boolean {
    return this.addrIndex(b, o) >= 0;
  }

  /**
   * ipv6_chk_mcast_addr: groups the model has joined — ff02::1 (all nodes), ff02::2 (all routers: it is
   * the link's router) and the solicited-node group of each of its addresses. Scope-1 groups never come
   * from the wire (ipv6_rcv drops them first).
   */
  isMcastMember(b: Uint8Array, o: number): boolean {
    if (b[o] !== 0xff || b[o + 1] !== 0x02) return false;
    let zero = true;
    for (let i = 2; i < 15; i++) if (b[o + i] !== 0) zero = false;
    if (zero && (b[o + 15] === 1 || b[o + 15] === 2)) return true;
    const a = this.addrs;
    for (let i = 0; i < a.length; i++) if (ipv6IsSolicitedNodeOf(b, o, a[i])) return true;
    return false;
  }

  /** on this link: link-local, or inside the configured prefix */
  onLink(b: Uint8Array, o: number): boolean {
    return ipv6IsLinkLocal(b, o) || ipv6PrefixEq(b, o, this.config.prefix, 0, this.config.prefixLen);
  }

  /**
   * ipv6_dev_get_saddr, reduced to the model's addresses (RFC 6724 rule 2, scope): link-local for a
   * link-local destination, the gateway address for everything else
   */
  saddrFor(b: Uint8Array, o: number): Ipv6Addr {
    return ipv6IsLinkLocal(b, o) || (b[o] === 0xff && (b[o + 1] & 15) <= 2) ? this.linkLocal : this.config.gateway;
  }

  /** the neighbour-cache key of the address at b[o], interning it; -1 when the key table is full */
  neighKey(b: Uint8Array, o: number): number {
    return this.keys.intern(b, o, this.keyLive);
  }
}
