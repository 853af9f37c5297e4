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
// says how to allow them and each request is dropped and counted; --restrict sends nothing out.
import * as vde from 'net-vde';
import type { Subscription } from 'rxjs';
import type { Inet } from '../../inet';
import type { InDevice } from '../../ipv4/devinet';
import { ip_build_and_send_pkt, MAX_IPV4_HEADER } from '../../ipv4/ip_output';
import { RTN_UNICAST } from '../../ipv4/route';
import { icmp_set_echo_forwarder } from '../../icmp/icmp';
import { PACKET_HOST, type Skb } from '../../core/skb';
import { formatIpv4, ipv4IsLbcast, ipv4IsLoopback, ipv4IsMulticast, ipv4IsZeronet, parseIpv4, type Ipv4Addr } from '../../wire/address';
import { copyBytes, getU16, getU32, setU16 } from '../../wire/bytes';
import { csum_fold, csum_partial } from '../../wire/checksum';
import { ICMP_DEST_UNREACH, ICMP_ECHOREPLY, ICMP_HLEN, ICMP_HOST_UNREACH, ICMP_NET_UNREACH } from '../../wire/icmp';
import { IPPROTO_ICMP } from '../../wire/ipv4';

/** libslirp socket.h SO_EXPIRE: an ICMP socket idle this long (ms) is closed */
export const ICMP_PROXY_IDLE_MS = 240_000;
/** the line logged once when the host refuses ping sockets */
export const PING_SOCKETS_HINT =
  "ICMP echo to outside addresses needs ping sockets: sysctl -w net.ipv4.ping_group_range='0 2147483647'";
/** the largest echo message (an IPv4 datagram of 65535 bytes less its 20-byte header) */
const MAX_ECHO = 0xffff - 20;

export interface IcmpProxyOptions {
  /** flows (host ping sockets) at most; requests beyond are dropped and counted */
  maxFlows?: number;
  /** idle timeout of a flow, scheduler ms */
  idleMs?: number;
  /** `-netdev user,restrict=on`: no ICMP leaves (default: the InetConfig's) */
  restrict?: boolean;
}

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
  /** ICMP destination unreachable sent to the guest after sendto failed (ENETUNREACH, EHOSTUNREACH…) */
  unreachable: number;
  /** dropped: the host socket's buffer was full (EAGAIN) */
  sendBusy: number;
  /** other host socket errors */
  hostErrors: number;
  /** replies that were not echo replies from an IPv4 address (never expected from a ping socket) */
  badReplies: number;
  /** replies the model could not send to the guest (no buffer, no route) */
  guestSendErrors: number;
}

class IcmpFlow {
  fd = -1;
  poller: vde.Poller | null = null;
  /** the TTL set on the host socket (IP_TTL), -1 = the host's default */
  ttl = -1;
  /** the guest's TOS, reflected in replies as icmp_reply does */
  tos = 0;
  lastActive = 0;
  timer: Subscription | null = null;
  closed = false;
  constructor(
    readonly key: number,
    readonly guestAddr: Ipv4Addr,
    readonly id: number,
  ) {}
  toString(): string {
    return `${formatIpv4(this.guestAddr)} id ${this.id}`;
  }
}

export class IcmpProxy {
  readonly stats: IcmpProxyStats = {
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
  };
  readonly maxFlows: number;
  readonly idleMs: number;
  restrict: boolean;
  /** guest address × 65536 + echo identifier → flow */
  private readonly flows = new Map<number, IcmpFlow>();
  private closed = false;
  private hinted = false;
  /** one receive buffer for every flow: a reply is sent on (copied into an skb) before the next read */
  private readonly rx = new Uint8Array(MAX_ECHO);

  constructor(
    readonly inet: Inet,
    opts: IcmpProxyOptions = {},
  ) {
    this.maxFlows = opts.maxFlows ?? 256;
    this.idleMs = opts.idleMs ?? ICMP_PROXY_IDLE_MS;
    this.restrict = opts.restrict ?? inet.config.restrict;
  }

  /** take the namespace's echo requests to other addresses (ICMP joins the terminate rule) */
  start(): this {
    icmp_set_echo_forwarder(this.inet.net, (skb, ind) => this.handle(skb, ind));
    this.inet.net.setTerminate(IPPROTO_ICMP, true);
    return this;
  }

  get flowCount(): number {
    return this.flows.size;
  }

  /** the host's echo identifier of the guest's flow (0 before its first send), for tests and views */
  hostId(guestAddr: Ipv4Addr, id: number): number {
    const f = this.flows.get(guestAddr * 65536 + id);
    return f === undefined || f.fd < 0 ? -1 : vde.localPort(f.fd);
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
    const o = skb.data;
    const id = getU16(b, o + 4);
    const key = saddr * 65536 + id;
    let f = this.flows.get(key);
    if (f === undefined) {
      if (this.flows.size >= this.maxFlows) {
        this.stats.flowLimit++;
        this.inet.net.logBad(`icmp-proxy: ${this.flows.size} flows open (the limit); echo ${formatIpv4(saddr)}→${formatIpv4(daddr)} id ${id} dropped`);
        return true;
      }
      const fd = this.openSocket();
      if (fd < 0) return true;
      f = this.open(key, saddr, id, fd);
    }
    f.lastActive = this.inet.net.scheduler.now();
    f.tos = b[nh + 1];
    const ttl = b[nh + 8];
    try {
      if (ttl !== f.ttl && ttl > 0) {
        vde.setHopLimit(f.fd, ttl);
        f.ttl = ttl;
      }
      // the kernel takes type, code, sequence and data, and writes its identifier and the checksum
      const n = vde.sendto(f.fd, b.subarray(o, o + skb.len), formatIpv4(daddr));
      if (n === null) {
        this.stats.sendBusy++;
        return true;
      }
      this.stats.requestsOut++;
    } catch (err) {
      this.sendFailed(skb, f, err as vde.SysError);
    }
    return true;
  }

  /** close every flow */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    icmp_set_echo_forwarder(this.inet.net, null);
    for (const f of [...this.flows.values()]) this.closeFlow(f);
  }

  /** a ping socket, or -1 when the host refuses (logged once, counted) or fails */
  private openSocket(): number {
    try {
      return vde.pingSocket(4);
    } catch (err) {
      const e = err as vde.SysError;
      if (e.code === 'EACCES' || e.code === 'EPERM') {
        this.stats.noPingSockets++;
        if (!this.hinted) {
          this.hinted = true;
          this.inet.net.log.warn(PING_SOCKETS_HINT);
        }
      } else {
        this.stats.hostErrors++;
        this.inet.net.logBad(`icmp-proxy: ping socket: ${e.message}`);
      }
      return -1;
    }
  }

  private open(key: number, guestAddr: Ipv4Addr, id: number, fd: number): IcmpFlow {
    const f = new IcmpFlow(key, guestAddr, id);
    f.fd = fd;
    f.poller = new vde.Poller(fd, (events, error) => this.readable(f, events, error));
    f.poller.start(vde.POLL_READABLE);
    this.flows.set(key, f);
    this.stats.flows++;
    f.timer = this.inet.net.scheduler.schedule(() => this.idle(f), this.idleMs);
    return f;
  }

  /** sendto failed: unreachable → ICMP destination unreachable from the gateway (libslirp icmp_send) */
  private sendFailed(skb: Skb, f: IcmpFlow, e: vde.SysError): void {
    const code = e.code === 'ENETUNREACH' ? ICMP_NET_UNREACH : e.code === 'EHOSTUNREACH' || e.code === 'EHOSTDOWN' ? ICMP_HOST_UNREACH : -1;
    if (code < 0) {
      this.stats.hostErrors++;
      this.inet.net.logBad(`icmp-proxy: ${f}: ${e.message}`);
      return;
    }
    this.stats.unreachable++;
    skb.pkt_type = PACKET_HOST;
    this.inet.icmpSend(skb, ICMP_DEST_UNREACH, code, 0, RTN_UNICAST);
  }

  private readable(f: IcmpFlow, events: number, error: vde.SysError | null): void {
    if (f.closed) return;
    if (error !== null) {
      this.stats.hostErrors++;
      this.inet.net.logBad(`icmp-proxy: ${f}: ${error.message}`);
      this.closeFlow(f);
      return;
    }
    if ((events & vde.POLL_READABLE) === 0) return;
    const rx = this.rx;
    for (;;) {
      let r: vde.RecvFromResult | null;
      try {
        r = vde.recvfrom(f.fd, rx);
      } catch (err) {
        // an error pending on the socket (an ICMP error for an earlier request): reading cleared it,
        // and the poller calls again while more is readable
        this.stats.hostErrors++;
        this.inet.net.logBad(`icmp-proxy: ${f}: ${(err as Error).message}`);
        return;
      }
      if (r === null) return;
      this.reply(f, r);
      if (f.closed) return;
    }
  }

  /** one echo reply from the host: restore the guest's identifier and send it from the address that answered */
  private reply(f: IcmpFlow, r: vde.RecvFromResult): void {
    const rx = this.rx;
    const from = parseIpv4(r.address);
    if (r.truncated || r.bytes < ICMP_HLEN || rx[0] !== ICMP_ECHOREPLY || from < 0) {
      this.stats.badReplies++;
      return;
    }
    f.lastActive = this.inet.net.scheduler.now();
    const inet = this.inet;
    const len = r.bytes;
    const skb = inet.net.stack.alloc_skb(len + MAX_IPV4_HEADER);
    if (skb === null) {
      inet.net.mib.Icmp.OutErrors++;
      this.stats.guestSendErrors++;
      return;
    }
    if (skb.headroom < MAX_IPV4_HEADER) skb.reserve(MAX_IPV4_HEADER - skb.headroom);
    const o = skb.put(len);
    const b = skb.buf;
    copyBytes(b, o, rx, 0, len);
    setU16(b, o + 4, f.id);
    setU16(b, o + 2, 0);
    setU16(b, o + 2, csum_fold(csum_partial(b, o, len)));
    // icmp_out_count: the model emits this message toward the guest
    inet.net.mib.IcmpMsg.OutType[ICMP_ECHOREPLY]++;
    inet.net.mib.Icmp.OutMsgs++;
    const ttl = r.hopLimit > 0 ? r.hopLimit : -1;
    if (ip_build_and_send_pkt(inet.ind, skb, from, f.guestAddr, IPPROTO_ICMP, f.tos, false, -1, ttl) !== 0) {
      this.stats.guestSendErrors++;
      return;
    }
    this.stats.repliesIn++;
  }

  private idle(f: IcmpFlow): void {
    if (f.closed) return;
    const left = f.lastActive + this.idleMs - this.inet.net.scheduler.now();
    if (left > 0) {
      f.timer = this.inet.net.scheduler.schedule(() => this.idle(f), left);
      return;
    }
    this.stats.expired++;
    this.closeFlow(f);
  }

  private closeFlow(f: IcmpFlow): void {
    if (f.closed) return;
    f.closed = true;
    f.timer?.unsubscribe();
    f.poller?.close();
    f.poller = null;
    if (f.fd >= 0) vde.close(f.fd);
    f.fd = -1;
    if (this.flows.get(f.key) === f) this.flows.delete(f.key);
  }
}
