// struct in_device (include/linux/inetdevice.h, net/ipv4/devinet.c): IPv4 on one NetDevice — the
// model's addresses on that link, its neighbour (ARP) table and, when enabled, its DHCP server.
import type { NetDevice } from '../core/netdevice';
import { ArpNeighOps, type ArpStats } from '../arp/arp';
import { NeighTable, type NeighParms } from '../arp/neighbour';
import type { DhcpServer } from '../services/dhcp/server';
import {
  IPV4_BROADCAST,
  ipv4IsLbcast,
  ipv4IsLoopback,
  ipv4IsMulticast,
  ipv4IsZeronet,
  macFromBytes,
  type Ipv4Addr,
  type MacAddr,
} from '../wire/address';
import { broadcastOf, netmaskOf, type InetConfig } from './config';
import type { NetnsIpv4 } from './netns';
import { RTN_BROADCAST, RTN_LOCAL, RTN_MULTICAST, RTN_UNICAST, RTN_UNREACHABLE } from './route';

export class InDevice {
  /** the model's MAC on this link (dev.dev_addr as a number) */
  readonly mac: MacAddr;
  /** ifa_list: the model's addresses here; [0] is the primary (the host/gateway address) */
  readonly ifa_list: Ipv4Addr[];
  readonly netmask: Ipv4Addr;
  /** the subnet-directed broadcast address; 0xffffffff when the prefix is /31 or /32 */
  readonly broadcast: Ipv4Addr;
  /** the ARP neighbour table of this device */
  readonly arp_tbl: NeighTable;
  readonly arpOps: ArpNeighOps;
  dhcp: DhcpServer | null = null;

  constructor(
    readonly net: NetnsIpv4,
    readonly dev: NetDevice,
    readonly config: InetConfig,
    neighParms: Partial<NeighParms> = {},
  ) {
    this.mac = macFromBytes(dev.dev_addr);
    // the DNS address is ours even outside the subnet (QEMU allows that unless restricted)
    this.ifa_list = config.dns !== config.host ? [config.host, config.dns] : [config.host];
    this.netmask = netmaskOf(config);
    this.broadcast = config.prefixLen < 31 ? broadcastOf(config) : IPV4_BROADCAST;
    this.arpOps = new ArpNeighOps(this);
    this.arp_tbl = new NeighTable(net.scheduler, this.arpOps, neighParms, net.random);
  }

  /** ARP traffic counters of this device */
  get arpStats(): ArpStats {
    return this.arpOps.stats;
  }

  /** the primary address: source of what the model originates on this link */
  get primary(): Ipv4Addr {
    return this.ifa_list[0];
  }

  isLocal(a: Ipv4Addr): boolean {
    const l = this.ifa_list;
    for (let i = 0; i < l.length; i++) if (l[i] === a) return true;
    return false;
  }

  /** on this link (inside the configured network) */
  onLink(a: Ipv4Addr): boolean {
    return ((a & this.netmask) >>> 0) === this.config.network;
  }

  /**
   * inet_addr_type_dev_table for this device: LOCAL (ours), BROADCAST (limited or directed), MULTICAST,
   * UNICAST (an on-link host), UNREACHABLE (off-link: the model has no routes beyond the link).
   */
  inet_addr_type(a: Ipv4Addr): number {
    if (this.isLocal(a)) return RTN_LOCAL;
    if (ipv4IsLbcast(a) || a === this.broadcast) return RTN_BROADCAST;
    if (ipv4IsMulticast(a)) return RTN_MULTICAST;
    if (ipv4IsZeronet(a) || ipv4IsLoopback(a)) return RTN_UNREACHABLE;
    return this.onLink(a) ? RTN_UNICAST : RTN_UNREACHABLE;
  }
}
