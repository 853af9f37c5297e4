// attachInet: give one NetDevice the model's IPv4 presence — addresses, ARP, IPv4 receive/transmit, ICMP,
// UDP, TCP and (by default) the DHCP server — as Linux's inet_init + devinet + a DHCP daemon would. The
// first call on a NetStack registers ETH_P_IP/ETH_P_ARP with dev_add_pack, ICMP/UDP/TCP in inet_protos,
// and which transports are terminated for any destination (TCP by default, see NetnsIpv4.terminate).
import type { NetDevice } from './core/netdevice';
import type { Skb } from './core/skb';
import type { NetStack } from './core/stack';
import { arp_rcv, arp_send } from './arp/arp';
import type { NeighParms, NeighTable } from './arp/neighbour';
import { icmp_rcv, icmp_send } from './icmp/icmp';
import { defaultInetConfig, type InetConfig } from './ipv4/config';
import { InDevice } from './ipv4/devinet';
import { ip_rcv } from './ipv4/ip_input';
import { ip_build_and_send_pkt } from './ipv4/ip_output';
import { NetnsIpv4, type Ipv4Sysctl } from './ipv4/netns';
import { DhcpServer } from './services/dhcp/server';
import { udp_alloc_skb, udp_rcv, udp_send_skb, udp_sendto, type UdpHandler, type UdpSock } from './udp/udp';
import { MAC_BROADCAST, type Ipv4Addr, type MacAddr } from './wire/address';
import { ARPOP_REQUEST } from './wire/arp';
import { DHCP_SERVER_PORT } from './wire/dhcp';
import { ETH_P_ARP, ETH_P_IP } from './wire/ethernet';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from './wire/ipv4';
import { tcp_v4_init, type TcpNet } from './tcp/tcp_ipv4';
import type { TcpSysctl } from './tcp/sysctl';

export {
  DEFAULT_INET_CONFIG,
  defaultInetConfig,
  dhcpPool,
  parseInetCidr,
  parseInetCidr as parseInetConfig,
  validateInetConfig,
  type InetConfig,
} from './ipv4/config';
export { InDevice } from './ipv4/devinet';
export type { UdpDatagram, UdpHandler, UdpSock } from './udp/udp';

export interface AttachInetOptions {
  /** neighbour table parameters (ARP timers, queue and table sizes) */
  neigh?: Partial<NeighParms>;
  /** net.ipv4 sysctls, applied when the namespace's IPv4 state is first created */
  sysctl?: Partial<Ipv4Sysctl>;
  /** randomness for reachable time, IP IDs and ICMP credit (tests pass a seeded one) */
  random?: () => number;
  /** net.ipv4.tcp_* sysctls, applied when the namespace's TCP state is first created */
  tcpSysctl?: Partial<TcpSysctl>;
  /**
   * transport protocols delivered locally for any off-link destination (NetnsIpv4.terminate), set when
   * the namespace is created; default [IPPROTO_TCP] (UDP joins once its host proxy takes such datagrams)
   */
  terminate?: number[];
}

const namespaces = new WeakMap<NetStack, NetnsIpv4>();

/** the NetStack's IPv4 state, creating it (and registering the packet handlers) on first use */
export function netns_ipv4(stack: NetStack, opts: AttachInetOptions = {}): NetnsIpv4 {
  let net = namespaces.get(stack);
  if (net !== undefined) return net;
  const created = new NetnsIpv4(stack, opts.random, opts.sysctl);
  net = created;
  namespaces.set(stack, created);
  // one closure each for the lifetime of the namespace (not per packet)
  stack.dev_add_pack(ETH_P_IP, (skb, dev) => {
    ip_rcv(created, skb, dev);
  });
  stack.dev_add_pack(ETH_P_ARP, (skb, dev) => {
    arp_rcv(created, skb, dev);
  });
  created.inet_add_protocol(IPPROTO_ICMP, icmp_rcv);
  created.inet_add_protocol(IPPROTO_UDP, udp_rcv);
  for (const p of opts.terminate ?? [IPPROTO_TCP]) created.setTerminate(p, true);
  return created;
}

/**
 * IPv4 on `dev` with `config` (default: QEMU user-mode networking, 10.0.2.0/24, the model at .2 and .3,
 * DHCP from .15). Returns the device's Inet handle. Throws when the device already has IPv4 or the
 * DHCP port is taken on it (configuration errors, not packet errors).
 */
export function attachInet(
  stack: NetStack,
  dev: NetDevice,
  config: InetConfig = defaultInetConfig(),
  opts: AttachInetOptions = {},
): Inet {
  const net = netns_ipv4(stack, opts);
  if (net.in_dev_get(dev) !== undefined) throw new Error(`${dev.name}: IPv4 already attached`);
  const ind = new InDevice(net, dev, config, opts.neigh);
  net.addDevice(ind);
  const inet = new Inet(ind);
  if (config.dhcp) {
    const server = new DhcpServer(ind, config);
    ind.dhcp = server;
    const sock = net.udp.bind(DHCP_SERVER_PORT, (d) => server.rcv(d), 0, dev);
    if (sock === null) {
      net.removeDevice(ind);
      throw new Error(`${dev.name}: UDP port ${DHCP_SERVER_PORT} already bound`);
    }
    inet.socks.push(sock);
  }
  // after the device's state, so the namespace's random stream is drawn in the order it was before TCP
  // joined attachInet (seeded tests keep their schedules)
  tcp_v4_init(net, opts.tcpSysctl);
  return inet;
}

/** The handle attachInet returns: the device's IPv4 state and the send/bind helpers services use. */
export class Inet {
  /** sockets bound through this handle (closed by detach) */
  readonly socks: UdpSock[] = [];

  constructor(readonly ind: InDevice) {}

  get net(): NetnsIpv4 {
    return this.ind.net;
  }
  /** the namespace's TCP (tcp_v4_init, idempotent) */
  get tcp(): TcpNet {
    return tcp_v4_init(this.ind.net);
  }
  get dev(): NetDevice {
    return this.ind.dev;
  }
  get config(): InetConfig {
    return this.ind.config;
  }
  get dhcp(): DhcpServer | null {
    return this.ind.dhcp;
  }
  /** the ARP neighbour table of this device */
  get neigh(): NeighTable {
    return this.ind.arp_tbl;
  }

  /**
   * inetdev_send_gratuitous_arp (NETDEV_NOTIFY_PEERS): announce each of our addresses with a broadcast
   * request whose sender and target are that address, so the guest refreshes its ARP cache (after a
   * reconnect, or a MAC change). Linux does this on its own only with arp_notify set.
   */
  announce(): void {
    for (const a of this.ind.ifa_list) arp_send(this.ind, ARPOP_REQUEST, a, a, MAC_BROADCAST, 0);
  }

  /**
   * Bind a UDP port to `handler` (on this device; `addr` 0 = any of our addresses). The handler's
   * UdpDatagram and its payload are valid only during the call. Null when the port is taken.
   */
  udpBind(port: number, handler: UdpHandler, addr: Ipv4Addr = 0): UdpSock | null {
    const s = this.ind.net.udp.bind(port, handler, addr, this.ind.dev);
    if (s !== null) this.socks.push(s);
    return s;
  }

  udpUnbind(sock: UdpSock): void {
    this.ind.net.udp.unbind(sock);
    const i = this.socks.indexOf(sock);
    if (i >= 0) this.socks.splice(i, 1);
  }

  /** send `payload[off, off+len)` as one UDP datagram (copied); 0 = sent or queued for ARP, < 0 = dropped */
  udpSend(saddr: Ipv4Addr, sport: number, daddr: Ipv4Addr, dport: number, payload: Uint8Array, off = 0, len = payload.length - off): number {
    return udp_sendto(this.ind, saddr, sport, daddr, dport, payload, off, len);
  }

  /** zero-copy form: an skb whose data (skb.len = payloadLen bytes) the caller fills, then udpSendSkb */
  udpAlloc(payloadLen: number): Skb | null {
    return udp_alloc_skb(this.ind, payloadLen);
  }

  udpSendSkb(skb: Skb, saddr: Ipv4Addr, sport: number, daddr: Ipv4Addr, dport: number, dstMac: MacAddr | -1 = -1): number {
    return udp_send_skb(this.ind, skb, saddr, sport, daddr, dport, dstMac);
  }

  /**
   * Send a transport payload (skb.data = transport header, headroom ≥ 34) as IPv4 `protocol` from
   * `saddr` to `daddr`, resolving the neighbour. NET_XMIT_SUCCESS (0) or NET_XMIT_DROP (1).
   */
  ipSend(skb: Skb, saddr: Ipv4Addr, daddr: Ipv4Addr, protocol: number, tos = 0, df = true, dstMac: MacAddr | -1 = -1): number {
    return ip_build_and_send_pkt(this.ind, skb, saddr, daddr, protocol, tos, df, dstMac);
  }

  /** an ICMP error about a received skb (network_header set), rate limited as Linux */
  icmpSend(skbIn: Skb, type: number, code: number, info: number, rt: number): void {
    icmp_send(this.ind, skbIn, type, code, info, rt);
  }

  /** remove IPv4 from the device: unbind its sockets, flush its neighbours (queued skbs freed) */
  detach(): void {
    for (const s of [...this.socks]) this.udpUnbind(s);
    this.ind.arp_tbl.flush();
    this.ind.net.removeDevice(this.ind);
  }
}
