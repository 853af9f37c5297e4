// What the ICMP echo proxies share, IPv4 (icmp-proxy.ts) and IPv6 (icmp6-proxy.ts), as Linux shares
// net/ipv4/ping.c between the families with per-family ops: one unprivileged host ping socket per guest
// flow (guest address, echo identifier); the request leaves with the guest's TTL / hop limit set on the
// socket; a failed sendto that means "unreachable" becomes the family's destination unreachable to the
// guest (libslirp icmp_send); each reply read from the socket gets the guest's identifier back and goes
// to the guest through the family's output. Each family supplies addresses, lookup, checksum and sends.
import * as vde from 'net-vde';
import type { Logger } from '../../core/log';
import type { NetStack } from '../../core/stack';
import { PACKET_HOST, type Skb } from '../../core/skb';
import { copyBytes, setU16 } from '../../wire/bytes';
import { ICMP_HLEN } from '../../wire/icmp';
import { HostFlow, HostFlows, type FlowNet, type HostFlowsOptions } from './host-flow-table';

/** libslirp socket.h SO_EXPIRE: an ICMP socket idle this long (ms) is closed */
export const ICMP_PROXY_IDLE_MS = 240_000;
/** the line logged once when the host refuses ping sockets */
export const PING_SOCKETS_HINT =
  "ICMP echo to outside addresses needs ping sockets: sysctl -w net.ipv4.ping_group_range='0 2147483647'";
/** stacks that have logged PING_SOCKETS_HINT: once per namespace, for both families */
const hinted = new WeakSet<NetStack>();

/**
 * A ping socket of `family` for a proxy, or -1 when the host refuses it (EACCES/EPERM: counted in
 * noPingSockets, and PING_SOCKETS_HINT logged once per stack — net.ipv4.ping_group_range governs
 * ICMPv6 ping sockets too) or fails otherwise (hostErrors, logged as bad input is).
 */
export function openPingSocket(family: 4 | 6, net: { stack: NetStack; log: Logger; logBad(m: string): void }, stats: { noPingSockets: number; hostErrors: number }): number {
  try {
    return vde.pingSocket(family);
  } catch (err) {
    const e = err as vde.SysError;
    if (e.code === 'EACCES' || e.code === 'EPERM') {
      stats.noPingSockets++;
      if (!hinted.has(net.stack)) {
        hinted.add(net.stack);
        net.log.warn(PING_SOCKETS_HINT);
      }
    } else {
      stats.hostErrors++;
      net.logBad(`icmp-proxy: ping socket (IPv${family}): ${e.message}`);
    }
    return -1;
  }
}

export type PingFlowOptions = HostFlowsOptions;

export interface IcmpProxyStats {
  /** flows opened (host ping sockets created) */
  flows: number;
  /** flows closed after idleMs without traffic */
  expired: number;
  /** echo requests sent to the host / replies delivered to the guest */
  requestsOut: number;
  repliesIn: number;
  /** dropped: restrict mode */
  restricted: number;
  /** dropped: the flow table was full */
  flowLimit: number;
  /** dropped: the host refuses ping sockets (EACCES/EPERM from socket()) */
  noPingSockets: number;
  /** destination unreachable sent to the guest after sendto failed (ENETUNREACH, EHOSTUNREACH…) */
  unreachable: number;
  /** dropped: the host socket's buffer was full (EAGAIN) */
  sendBusy: number;
  /** other host socket errors */
  hostErrors: number;
  /** replies that were not echo replies from an address of the family (never expected from a ping socket) */
  badReplies: number;
  /** replies the model could not send to the guest (no buffer, no route) */
  guestSendErrors: number;
}

/** a guest echo flow (guest address, identifier) and its host ping socket; the family adds the address */
export abstract class PingFlow extends HostFlow {
  fd = -1;
  poller: vde.Poller | null = null;
  /** the TTL / hop limit set on the host socket (IP_TTL, IPV6_UNICAST_HOPS), -1 = the host's default */
  hops = -1;
  /** the guest's TOS / traffic class, reflected in replies as icmp_reply / icmpv6_echo_reply do */
  tos = 0;
  constructor(
    hash: number,
    readonly id: number,
  ) {
    super(hash);
  }
  release(): void {
    this.poller?.close();
    this.poller = null;
    if (this.fd >= 0) vde.close(this.fd);
    this.fd = -1;
  }
}

/** the per-family constants of a ping proxy */
export interface PingFamily {
  readonly family: 4 | 6;
  /** the proxy's name in log lines */
  readonly name: string;
  /** ICMP_ECHOREPLY / ICMPV6_ECHO_REPLY */
  readonly echoReply: number;
  /** headroom for the family's header in front of a reply */
  readonly maxHeader: number;
  /** the largest echo message the family carries */
  readonly maxEcho: number;
  /** destination unreachable codes for ENETUNREACH and EHOSTUNREACH/EHOSTDOWN */
  readonly netUnreach: number;
  readonly hostUnreach: number;
}

export abstract class PingHostFlows<F extends PingFlow> extends HostFlows<F, IcmpProxyStats> {
  /** one receive buffer for every flow: a reply is sent on (copied into an skb) before the next read */
  private readonly rx: Uint8Array;

  constructor(
    fnet: FlowNet,
    private readonly fam: PingFamily,
    opts: PingFlowOptions,
    restrict: boolean,
  ) {
    super(
      fnet,
      fam.name,
      {
        flows: 0,
        expired: 0,
        requestsOut: 0,
        repliesIn: 0,
        restricted: 0,
        flowLimit: 0,
        noPingSockets: 0,
        unreachable: 0,
        sendBusy: 0,
        hostErrors: 0,
        badReplies: 0,
        guestSendErrors: 0,
      },
      opts,
      { idleMs: ICMP_PROXY_IDLE_MS, restrict },
    );
    this.rx = new Uint8Array(fam.maxEcho);
  }

  /** parse the text address a reply came from and keep it for sendReply; false when it is not one */
  protected abstract replyFrom(address: string): boolean;
  /** the family's OutErrors: no buffer for a reply */
  protected abstract outError(): void;
  /**
   * Send the reply in skb (the ICMP message at o, len bytes, checksum zero) to the guest from the address
   * replyFrom kept, with hop limit `hops` (-1: the host's was unknown). False when it could not be sent.
   */
  protected abstract sendReply(f: F, skb: Skb, o: number, len: number, hops: number): boolean;
  /** the family's destination unreachable, code `code`, to the guest about its request skb */
  protected abstract sendUnreach(skb: Skb, code: number): void;

  /** the host's echo identifier of a flow (-1 when none or before its first send) */
  protected hostPort(f: F | null): number {
    return f === null || f.fd < 0 ? -1 : vde.localPort(f.fd);
  }

  /** open a host ping socket for a new flow f; null when the host refuses (counted, hinted) */
  protected open(f: F): F | null {
    const fd = openPingSocket(this.fam.family, this.fnet, this.stats);
    if (fd < 0) return null;
    f.fd = fd;
    f.poller = new vde.Poller(fd, (events, error) => this.readable(f, events, error));
    f.poller.start(vde.POLL_READABLE);
    return this.table.add(f);
  }

  /**
   * The guest's echo request (skb.data at the ICMP header) out through f's socket to `dest`, with the
   * guest's TOS / traffic class and TTL / hop limit.
   */
  protected echo(skb: Skb, f: F, dest: string, tos: number, hops: number): void {
    this.table.touch(f);
    f.tos = tos;
    try {
      if (hops !== f.hops && hops > 0) {
        vde.setHopLimit(f.fd, hops);
        f.hops = hops;
      }
      // the kernel takes type, code, sequence and data, and writes its identifier and the checksum
      const o = skb.data;
      const n = vde.sendto(f.fd, skb.buf.subarray(o, o + skb.len), dest);
      if (n === null) {
        this.stats.sendBusy++;
        return;
      }
      this.stats.requestsOut++;
    } catch (err) {
      this.sendFailed(skb, f, err as vde.SysError);
    }
  }

  /** sendto failed: unreachable → destination unreachable to the guest (libslirp icmp_send) */
  private sendFailed(skb: Skb, f: F, e: vde.SysError): void {
    const fam = this.fam;
    const code = e.code === 'ENETUNREACH' ? fam.netUnreach : e.code === 'EHOSTUNREACH' || e.code === 'EHOSTDOWN' ? fam.hostUnreach : -1;
    if (code < 0) {
      this.stats.hostErrors++;
      this.fnet.logBad(`${fam.name}: ${f}: ${e.message}`);
      return;
    }
    this.stats.unreachable++;
    skb.pkt_type = PACKET_HOST;
    this.sendUnreach(skb, code);
  }

  private readable(f: F, events: number, error: vde.SysError | null): void {
    if (f.closed) return;
    if (error !== null) {
      this.stats.hostErrors++;
      this.fnet.logBad(`${this.fam.name}: ${f}: ${error.message}`);
      this.table.close(f);
      return;
    }
    if ((events & vde.POLL_READABLE) === 0) return;
    for (;;) {
      let r: vde.RecvFromResult | null;
      try {
        r = vde.recvfrom(f.fd, this.rx);
      } catch (err) {
        // an error pending on the socket (an ICMP error for an earlier request): reading cleared it,
        // and the poller calls again while more is readable
        this.stats.hostErrors++;
        this.fnet.logBad(`${this.fam.name}: ${f}: ${(err as Error).message}`);
        return;
      }
      if (r === null) return;
      this.reply(f, r);
      if (f.closed) return;
    }
  }

  /** one echo reply from the host: restore the guest's identifier and send it from the address that answered */
  private reply(f: F, r: vde.RecvFromResult): void {
    const rx = this.rx;
    const fam = this.fam;
    // reply rate, not per packet of a stream: parsing the text address is fine
    const fromOk = this.replyFrom(r.address);
    if (r.truncated || r.bytes < ICMP_HLEN || rx[0] !== fam.echoReply || !fromOk) {
      this.stats.badReplies++;
      return;
    }
    this.table.touch(f);
    const len = r.bytes;
    const skb = this.fnet.stack.alloc_skb(len + fam.maxHeader);
    if (skb === null) {
      this.outError();
      this.stats.guestSendErrors++;
      return;
    }
    if (skb.headroom < fam.maxHeader) skb.reserve(fam.maxHeader - skb.headroom);
    const o = skb.put(len);
    const b = skb.buf;
    copyBytes(b, o, rx, 0, len);
    setU16(b, o + 4, f.id);
    setU16(b, o + 2, 0);
    if (!this.sendReply(f, skb, o, len, r.hopLimit > 0 ? r.hopLimit : -1)) {
      this.stats.guestSendErrors++;
      return;
    }
    this.stats.repliesIn++;
  }
}
