// Per-namespace IPv6 state (struct netns_ipv6): the protocol table (inet6_protos), sysctls, the ICMPv6
// per-peer rate limit, which devices carry IPv6, and drops Linux counts in no MIB. One per NetStack.
import type { SchedulerLike } from 'rxjs';
import { RateLimitState, type Logger } from '../core/log';
import type { NetMib } from '../core/mib';
import type { NetDevice } from '../core/netdevice';
import type { Skb } from '../core/skb';
import type { NetStack } from '../core/stack';
import type { IcmpRateLimiter } from '../icmp/ratelimit';
import { XRLIM_BURST_FACTOR } from '../icmp/ratelimit';
import type { Icmp6Err } from './icmp_err';
import type { Inet6Dev } from './inet6_dev';
import { Udp6Table } from './udp';

/**
 * An upper protocol's receive function (inet6_protocol.handler): skb.data and transport_header at the
 * protocol's header, skb.network_header at the IPv6 header, skb.len trimmed to the payload left.
 * Returns NET_RX_SUCCESS (0) or NET_RX_DROP (1).
 */
export type Inet6ProtocolHandler = (skb: Skb, idev: Inet6Dev) => number;

/**
 * inet6_protocol.err_handler: an ICMPv6 error quoting a packet of the protocol (icmpv6_notify). The
 * Icmp6Err is reused: valid only during the call.
 */
export type Inet6ProtocolErrHandler = (err: Icmp6Err) => void;

export const NET_RX_SUCCESS = 0;
export const NET_RX_DROP = 1;

/** net.ipv6 sysctls the model obeys (Documentation/networking/ip-sysctl.rst defaults) */
export interface Ipv6Sysctl {
  /** conf.default.hop_limit */
  hop_limit: number;
  /** icmp.ratelimit, ms (1000 on 6.1) */
  icmp_ratelimit: number;
  /** icmp.ratemask as a predicate bitmap: default "0-1,3-127" (every error but Packet Too Big) */
  icmp_ratemask: Uint8Array;
  icmp_echo_ignore_all: boolean;
  icmp_echo_ignore_multicast: boolean;
  /** max_hbh_opts_number / max_dst_opts_number (IP6_DEFAULT_MAX_*_OPTS_CNT) */
  max_hbh_opts_number: number;
  max_dst_opts_number: number;
}

export function defaultRatemask(): Uint8Array {
  const m = new Uint8Array(256);
  for (let t = 0; t <= 127; t++) m[t] = t === 2 ? 0 : 1;
  return m;
}

/** drops the model counts that Linux keeps only as drop reasons */
export interface Ipv6DropStats {
  otherhost: number;
  noInet6Dev: number;
  mcastNotJoined: number;
  handlerErrors: number;
}

interface Peer {
  rate_tokens: number;
  rate_last: number;
}
const MAX_PEERS = 4096;

export class NetnsIpv6 {
  readonly mib: NetMib;
  readonly log: Logger;
  readonly scheduler: SchedulerLike;
  readonly sysctl: Ipv6Sysctl;
  readonly inet6_protos: (Inet6ProtocolHandler | null)[] = new Array<Inet6ProtocolHandler | null>(256).fill(null);
  /** inet6_protos[nexthdr]->err_handler, registered separately so a protocol can add it later */
  readonly inet6_err_handlers: (Inet6ProtocolErrHandler | null)[] = new Array<Inet6ProtocolErrHandler | null>(256).fill(null);
  /**
   * transports delivered locally for any off-link unicast destination (terminate[nexthdr] = 1), as
   * NetnsIpv4.terminate: the host proxies then answer as the original destination
   */
  readonly terminate = new Uint8Array(256);
  /** some transport is terminated */
  terminating = false;
  /** the model's bound UDPv6 ports */
  readonly udp = new Udp6Table();
  readonly drops: Ipv6DropStats = { otherhost: 0, noInet6Dev: 0, mcastNotJoined: 0, handlerErrors: 0 };
  private readonly byIndex: (Inet6Dev | undefined)[] = [];
  private readonly peers = new Map<string, Peer>();
  private readonly rl = new RateLimitState();

  constructor(
    readonly stack: NetStack,
    /** the namespace's ICMP global bucket: Linux shares icmp_global between ICMPv4 and ICMPv6 */
    readonly icmpGlobal: IcmpRateLimiter,
    readonly random: () => number = Math.random,
    sysctl: Partial<Ipv6Sysctl> = {},
  ) {
    this.mib = stack.mib;
    this.log = stack.log;
    this.scheduler = stack.scheduler;
    this.sysctl = {
      hop_limit: 64,
      icmp_ratelimit: 1000,
      icmp_ratemask: defaultRatemask(),
      icmp_echo_ignore_all: false,
      icmp_echo_ignore_multicast: false,
      max_hbh_opts_number: 8,
      max_dst_opts_number: 8,
      ...sysctl,
    };
  }

  now(): number {
    return this.scheduler.now();
  }

  in6_dev_get(dev: NetDevice): Inet6Dev | undefined {
    return this.byIndex[dev.ifindex];
  }

  devices(): Inet6Dev[] {
    return this.byIndex.filter((d): d is Inet6Dev => d !== undefined);
  }

  addDevice(idev: Inet6Dev): void {
    this.byIndex[idev.dev.ifindex] = idev;
  }

  removeDevice(idev: Inet6Dev): void {
    if (this.byIndex[idev.dev.ifindex] === idev) this.byIndex[idev.dev.ifindex] = undefined;
  }

  private fragId = -1;
  /** ipv6_select_ident: the next fragment identification (random start, then +1) */
  next_frag_id(): number {
    if (this.fragId < 0) this.fragId = Math.floor(this.random() * 0x1_0000_0000) >>> 0;
    this.fragId = (this.fragId + 1) >>> 0;
    return this.fragId;
  }

  setTerminate(protocol: number, on: boolean): void {
    this.terminate[protocol & 255] = on ? 1 : 0;
    this.terminating = this.terminate.some((x) => x !== 0);
  }

  inet6_add_protocol(protocol: number, handler: Inet6ProtocolHandler): boolean {
    if (this.inet6_protos[protocol & 255] !== null) return false;
    this.inet6_protos[protocol & 255] = handler;
    return true;
  }

  /** set inet6_protocol.err_handler for `protocol` (icmpv6_notify calls it); false when one is set */
  inet6_add_err_handler(protocol: number, handler: Inet6ProtocolErrHandler): boolean {
    if (this.inet6_err_handlers[protocol & 255] !== null) return false;
    this.inet6_err_handlers[protocol & 255] = handler;
    return true;
  }

  inet6_del_err_handler(protocol: number, handler: Inet6ProtocolErrHandler): void {
    if (this.inet6_err_handlers[protocol & 255] === handler) this.inet6_err_handlers[protocol & 255] = null;
  }

  /** icmpv6_mask_allow: true when `type` is not rate limited at all */
  icmpv6_mask_allow(type: number): boolean {
    return this.sysctl.icmp_ratemask[type & 255] === 0;
  }

  /**
   * icmpv6_xrlim_allow's per-peer part (inet_peer_xrlim_allow): tokens accrue 1 per ms up to 6 × tmo.
   * `tmo` is icmp.ratelimit shifted by the route's prefix ((128 - plen) >> 5). Keyed by the address's
   * text: only error messages come here, never the data path.
   */
  peerAllow(addr: Uint8Array, ao: number, tmo: number): boolean {
    let key = '';
    for (let i = 0; i < 16; i++) key += String.fromCharCode(addr[ao + i]);
    const now = this.now();
    let p = this.peers.get(key);
    if (p === undefined) {
      if (this.peers.size >= MAX_PEERS) this.peers.delete(this.peers.keys().next().value as string);
      p = { rate_tokens: 0, rate_last: now - 60_000 };
      this.peers.set(key, p);
    }
    let token = p.rate_tokens + (now - p.rate_last);
    p.rate_last = now;
    if (token > XRLIM_BURST_FACTOR * tmo) token = XRLIM_BURST_FACTOR * tmo;
    let rc = false;
    if (token >= tmo) {
      token -= tmo;
      rc = true;
    }
    p.rate_tokens = token;
    return rc;
  }

  /** net_ratelimit()-guarded warning for bad input */
  logBad(msg: string): void {
    if (this.rl.allow(this.now(), (n) => this.log.warn(`ipv6: ${n} messages suppressed`))) this.log.warn(msg);
  }
}
