// Per-namespace IPv4 state (struct netns_ipv4): the protocol table (inet_protos), UDP sockets, ICMP rate
// limits, IP ID state, sysctls, and which devices carry IPv4. One per NetStack, created by attachInet.
import type { SchedulerLike } from 'rxjs';
import type { Logger } from '../core/log';
import { RateLimitState } from '../core/log';
import type { NetMib } from '../core/mib';
import type { NetDevice } from '../core/netdevice';
import type { Skb } from '../core/skb';
import type { NetStack } from '../core/stack';
import { ICMP_SYSCTL_DEFAULTS, IcmpRateLimiter, type IcmpSysctl } from '../icmp/ratelimit';
import type { IcmpErr } from '../icmp/icmp_err';
import { UdpTable } from '../udp/udp';
import type { InDevice } from './devinet';
import { Ipv4Frags } from './ip_fragment';

/**
 * An upper protocol's receive function (net_protocol.handler): skb.data is at the transport header,
 * skb.network_header at the IPv4 header, skb.len trimmed to the datagram. `rt` is the RTN_* type of the
 * destination (LOCAL, BROADCAST or MULTICAST). Returns NET_RX_SUCCESS (0) or NET_RX_DROP (1).
 */
export type NetProtocolHandler = (skb: Skb, ind: InDevice, rt: number) => number;

/**
 * net_protocol.err_handler: an ICMP error (or a local one, e.g. EMSGSIZE from ip_fragment) about a
 * datagram of this protocol. `err` is reused for every error: valid only during the call.
 */
export type NetProtocolErrHandler = (err: IcmpErr) => void;

export const NET_RX_SUCCESS = 0;
export const NET_RX_DROP = 1;

/** net.ipv4 sysctls the model obeys */
export interface Ipv4Sysctl extends IcmpSysctl {
  ip_default_ttl: number;
  /** net.ipv4.ip_no_pmtu_disc: 0 = honour the next-hop MTU of frag-needed errors (icmp_unreach) */
  ip_no_pmtu_disc: number;
  /** net.ipv4.ipfrag_high_thresh: bytes of reassembly memory above which fragments are refused (4 MB) */
  ipfrag_high_thresh: number;
  /** net.ipv4.ipfrag_low_thresh: obsolete since 4.17 (no evictor); kept as a sysctl, unused (3 MB) */
  ipfrag_low_thresh: number;
  /** net.ipv4.ipfrag_time: reassembly timeout in ms (IP_FRAG_TIME, 30 s) */
  ipfrag_time: number;
  /** net.ipv4.ipfrag_max_dist: fragments from a peer between two of one queue before it restarts (64) */
  ipfrag_max_dist: number;
}

/** Linux defaults of the IPv4 sysctls above (net/ipv4/ip_fragment.c ipv4_frags_init_net, af_inet.c) */
export const IPV4_SYSCTL_DEFAULTS = Object.freeze({
  ip_default_ttl: 64,
  ip_no_pmtu_disc: 0,
  ipfrag_high_thresh: 4 * 1024 * 1024,
  ipfrag_low_thresh: 3 * 1024 * 1024,
  ipfrag_time: 30_000,
  ipfrag_max_dist: 64,
});

/** drops Linux counts in no MIB (route cache stats, drop reasons); the model keeps them for tests and logs */
export interface Ipv4DropStats {
  /** ip_rcv: frame addressed to another host's MAC (rx_otherhost_dropped) */
  otherhost: number;
  /** RT_CACHE_STAT in_martian_src / in_martian_dst */
  martianSrc: number;
  martianDst: number;
  /** multicast to a group the model has not joined */
  mcastNotJoined: number;
  /** source-routed packets (accept_source_route = 0) */
  sourceRoute: number;
  /** frames on a device without IPv4 configuration */
  noInDevice: number;
  /** exceptions thrown by a protocol or UDP handler (caught; a bug, never the peer's fault) */
  handlerErrors: number;
}

const IP_IDENTS_SZ = 2048;

export class NetnsIpv4 {
  readonly mib: NetMib;
  readonly log: Logger;
  readonly scheduler: SchedulerLike;
  readonly sysctl: Ipv4Sysctl;
  /** inet_protos[protocol] */
  readonly inet_protos: (NetProtocolHandler | null)[] = new Array<NetProtocolHandler | null>(256).fill(null);
  /** inet_protos[protocol]->err_handler, registered separately so a protocol can add it later */
  readonly inet_err_handlers: (NetProtocolErrHandler | null)[] = new Array<NetProtocolErrHandler | null>(256).fill(null);
  /** net->ipv4.fqdir: fragment reassembly queues (ip_fragment.ts) */
  readonly frags: Ipv4Frags;
  readonly udp = new UdpTable();
  readonly icmp: IcmpRateLimiter;
  readonly drops: Ipv4DropStats = {
    otherhost: 0,
    martianSrc: 0,
    martianDst: 0,
    mcastNotJoined: 0,
    sourceRoute: 0,
    noInDevice: 0,
    handlerErrors: 0,
  };
  /**
   * Transport protocols whose datagrams to ANY off-link unicast destination are delivered locally
   * (terminate[protocol] = 1), as libslirp terminates every guest connection itself. Linux's analogue is
   * transparent proxying: an iptables TPROXY rule plus `ip route add local 0.0.0.0/0 dev lo table N`
   * (Documentation/networking/tproxy.rst), so ip_route_input sees RTN_LOCAL for every address. The
   * protocol then answers as the original destination. Set with setTerminate (attachInet: TCP by default).
   */
  readonly terminate = new Uint8Array(256);
  /** InDevice by ifindex (dense, small) */
  private readonly byIndex: (InDevice | undefined)[] = [];
  /** ip_idents: per-bucket IP ID counters for packets without DF */
  private readonly idents = new Uint16Array(IP_IDENTS_SZ);
  private readonly rl = new RateLimitState();

  constructor(
    readonly stack: NetStack,
    readonly random: () => number = Math.random,
    sysctl: Partial<Ipv4Sysctl> = {},
  ) {
    this.mib = stack.mib;
    this.log = stack.log;
    this.scheduler = stack.scheduler;
    this.sysctl = { ...ICMP_SYSCTL_DEFAULTS, ...IPV4_SYSCTL_DEFAULTS, ...sysctl };
    this.icmp = new IcmpRateLimiter(this.sysctl, () => this.now(), random);
    for (let i = 0; i < IP_IDENTS_SZ; i++) this.idents[i] = Math.floor(random() * 65536);
    this.frags = new Ipv4Frags(this);
  }

  now(): number {
    return this.scheduler.now();
  }

  in_dev_get(dev: NetDevice): InDevice | undefined {
    return this.byIndex[dev.ifindex];
  }

  /** every device with IPv4 */
  devices(): InDevice[] {
    return this.byIndex.filter((d): d is InDevice => d !== undefined);
  }

  addDevice(ind: InDevice): void {
    this.byIndex[ind.dev.ifindex] = ind;
  }

  removeDevice(ind: InDevice): void {
    if (this.byIndex[ind.dev.ifindex] === ind) this.byIndex[ind.dev.ifindex] = undefined;
    // the last IPv4 device gone: drop the reassembly queues and their timer (fqdir_exit)
    if (this.devices().length === 0) this.frags.close();
  }

  /** deliver `protocol` to any off-link destination locally (on) or count it as not ours (off) */
  setTerminate(protocol: number, on: boolean): void {
    this.terminate[protocol & 255] = on ? 1 : 0;
  }

  /** inet_add_protocol; false when the slot is taken */
  inet_add_protocol(protocol: number, handler: NetProtocolHandler): boolean {
    if (this.inet_protos[protocol & 255] !== null) return false;
    this.inet_protos[protocol & 255] = handler;
    return true;
  }

  inet_del_protocol(protocol: number, handler: NetProtocolHandler): void {
    if (this.inet_protos[protocol & 255] === handler) this.inet_protos[protocol & 255] = null;
  }

  /**
   * Set net_protocol.err_handler for `protocol`: icmp_unreach/icmp_redirect (icmp_socket_deliver) and
   * ip_fragment's local EMSGSIZE call it with the parsed error. False when one is already set.
   */
  inet_add_err_handler(protocol: number, handler: NetProtocolErrHandler): boolean {
    if (this.inet_err_handlers[protocol & 255] !== null) return false;
    this.inet_err_handlers[protocol & 255] = handler;
    return true;
  }

  inet_del_err_handler(protocol: number, handler: NetProtocolErrHandler): void {
    if (this.inet_err_handlers[protocol & 255] === handler) this.inet_err_handlers[protocol & 255] = null;
  }

  /** the error hook of `protocol`, or null */
  err_handler(protocol: number): NetProtocolErrHandler | null {
    return this.inet_err_handlers[protocol & 255];
  }

  /**
   * ip_idents_reserve: the next IP ID of the bucket for (daddr, saddr, protocol). Linux hashes with
   * siphash and adds a random jump after idle time; the model uses a multiplicative hash and +1.
   */
  ip_idents_reserve(daddr: number, saddr: number, protocol: number): number {
    let h = Math.imul(daddr ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(saddr, 0xc2b2ae35) ^ protocol;
    h ^= h >>> 15;
    const i = h & (IP_IDENTS_SZ - 1);
    const id = this.idents[i];
    this.idents[i] = id + 1;
    return id;
  }

  /** net_ratelimit()-guarded warning for bad input: one line per burst, never per packet */
  logBad(msg: string): void {
    if (this.rl.allow(this.now(), (n) => this.log.warn(`ipv4: ${n} messages suppressed`))) this.log.warn(msg);
  }
}
