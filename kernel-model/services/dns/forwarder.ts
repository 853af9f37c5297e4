// The DNS forwarder behind the model's DNS address (10.0.2.3:53, and fec0::3:53), as libslirp's
// "dns" alias does for `-netdev user`: each guest query goes to the upstream resolver through one host
// UDP socket with a fresh query ID (so two guests, or two of one guest's queries, with the same ID and
// port never collide), the reply comes back to the guest from the DNS address with the guest's own ID.
// In flight: bounded table keyed by the upstream ID, each entry expiring after `timeoutMs` of
// scheduler time. Malformed queries and foreign or late replies are counted and dropped.
import * as dgram from 'dgram';
import { randomInt } from 'crypto';
import type { Subscription } from 'rxjs';
import type { Inet } from '../../inet';
import type { Inet6 } from '../../inet6';
import type { Skb } from '../../core/skb';
import type { Inet6Dev } from '../../ipv6/inet6_dev';
import type { UdpDatagram } from '../../udp/udp';
import { MAX_IPV6_HEADER } from '../../ipv6/ip6_output';
import { formatIpv4, type Ipv4Addr } from '../../wire/address';
import { copyBytes, copyOf, getU16, setU16 } from '../../wire/bytes';
import { csum_fold, csum_partial } from '../../wire/checksum';
import { csum_ipv6_magic, formatIpv6, ipv6Eq, NEXTHDR_UDP } from '../../wire/ipv6';
import { udp_send_host } from '../udp-send';
import { DNS_PORT, dnsId, dnsIsResponse, dnsQueryError, dnsServfail, setDnsId } from './message';
import { formatUpstream, type DnsUpstream } from './resolv';

/** counters of the forwarder (no Linux MIB has these; named for what they count) */
export interface DnsForwarderStats {
  /** queries taken from the guest (IPv4 and IPv6) */
  queries: number;
  /** queries sent upstream */
  forwarded: number;
  /** replies delivered to the guest */
  replies: number;
  /** guest datagrams that are not DNS queries (short, QR set) */
  malformed: number;
  /** queries dropped because the in-flight table was full */
  inflightFull: number;
  /** queries that got no reply within the timeout */
  timeouts: number;
  /** SERVFAIL answers made here (no upstream, or the host socket failed) */
  servfail: number;
  /** upstream datagrams with no query in flight (late, duplicated, forged) */
  unmatched: number;
  /** datagrams on the upstream socket from another address, or not a response */
  foreign: number;
  /** host socket send errors */
  sendErrors: number;
  /** replies the model could not send to the guest (no buffer, no route) */
  guestSendErrors: number;
}

export interface DnsForwarderOptions {
  /** where queries go; null = none known: every query is answered SERVFAIL */
  upstream: DnsUpstream | null;
  /** per query, scheduler ms (a stub resolver retries after 5 s: resolv.conf(5) timeout) */
  timeoutMs?: number;
  /** in-flight queries at most */
  maxInflight?: number;
  /** IPv6 presence to serve fec0::3 on as well */
  inet6?: Inet6 | null;
}

/** one query in flight */
class Pending {
  /** guest address: IPv4 number, or 16 bytes for IPv6 */
  addr4: Ipv4Addr = 0;
  addr6: Uint8Array | null = null;
  /** the guest's source port and its query ID */
  port = 0;
  id = 0;
  timer: Subscription | null = null;
}

export class DnsForwarder {
  readonly stats: DnsForwarderStats = {
    queries: 0,
    forwarded: 0,
    replies: 0,
    malformed: 0,
    inflightFull: 0,
    timeouts: 0,
    servfail: 0,
    unmatched: 0,
    foreign: 0,
    sendErrors: 0,
    guestSendErrors: 0,
  };
  readonly timeoutMs: number;
  readonly maxInflight: number;
  readonly upstream: DnsUpstream | null;
  private readonly inflight = new Map<number, Pending>();
  private sock: dgram.Socket | null = null;
  private readonly inet6: Inet6 | null;
  private bound6 = false;
  private closed = false;
  private warnedNoUpstream = false;
  /** scratch for SERVFAIL answers (a query is at most one UDP payload) */
  private readonly scratch = new Uint8Array(0x10000);

  constructor(
    readonly inet: Inet,
    opts: DnsForwarderOptions,
  ) {
    this.upstream = opts.upstream;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.maxInflight = opts.maxInflight ?? 256;
    this.inet6 = opts.inet6 ?? null;
  }

  /** bind port 53 on the DNS address (and fec0::3's port 53); throws when taken (configuration error) */
  start(): this {
    const dns = this.inet.config.dns;
    const s = this.inet.udpBind(DNS_PORT, (d) => this.rcv4(d), dns);
    if (s === null) throw new Error(`dns: UDP port 53 on ${formatIpv4(dns)} already bound`);
    if (this.inet6 !== null) {
      this.bound6 = this.inet6.udpBind(DNS_PORT, (skb, idev) => this.rcv6(skb, idev));
      if (!this.bound6) this.inet.net.log.warn('dns: UDPv6 port 53 already bound; not serving fec0::3');
    }
    if (this.upstream === null) this.noUpstream();
    return this;
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  /** the host socket's local port (0 before the first query) */
  get localPort(): number {
    try {
      return this.sock?.address().port ?? 0;
    } catch {
      return 0;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.inflight.values()) p.timer?.unsubscribe();
    this.inflight.clear();
    this.sock?.close();
    this.sock = null;
  }

  private noUpstream(): void {
    if (this.warnedNoUpstream) return;
    this.warnedNoUpstream = true;
    this.inet.net.log.warn('dns: no upstream resolver (no nameserver in /etc/resolv.conf and no --dns-forward); answering SERVFAIL');
  }

  // ---- guest side ----

  private rcv4(d: UdpDatagram): void {
    const p = this.take(d.buf, d.payloadOffset, d.payloadLen, `${formatIpv4(d.saddr)}:${d.sport}`);
    if (p === null) {
      // SERVFAIL answer or a drop (counted)
      if (this.answerLocally) {
        this.answerLocally = false;
        const n = dnsServfail(d.buf, d.payloadOffset, d.payloadLen, this.scratch);
        this.stats.servfail++;
        if (udp_send_host(this.inet, d.daddr, DNS_PORT, d.saddr, d.sport, this.scratch, 0, n) < 0) this.stats.guestSendErrors++;
      }
      return;
    }
    p.addr4 = d.saddr;
    p.addr6 = null;
    p.port = d.sport;
  }

  private rcv6(skb: Skb, idev: Inet6Dev): void {
    const b = skb.buf;
    const nh = skb.network_header;
    const th = skb.transport_header;
    // the UDPv6 table binds a port on every address: only fec0::3 is the DNS server
    if (!ipv6Eq(b, nh + 24, idev.config.dns, 0)) {
      this.stats.malformed++;
      idev.net.logBad(`dns: query to [${formatIpv6(b, nh + 24)}]:53, not the DNS address; dropped`);
      return;
    }
    const sport = getU16(b, th);
    const p = this.take(b, skb.data, skb.len, `[${formatIpv6(b, nh + 8)}]:${sport}`);
    if (p === null) {
      if (this.answerLocally) {
        this.answerLocally = false;
        const n = dnsServfail(b, skb.data, skb.len, this.scratch);
        this.stats.servfail++;
        if (this.send6(copyOf(b, nh + 8, nh + 24), sport, this.scratch, n) < 0) this.stats.guestSendErrors++;
      }
      return;
    }
    // copied: the query waits for the upstream answer, and b views guest memory reused after this batch
    p.addr6 = copyOf(b, nh + 8, nh + 24);
    p.port = sport;
  }

  /** set by take() when the caller should answer SERVFAIL itself (no upstream) */
  private answerLocally = false;

  /**
   * Validate and forward one query; returns its in-flight entry for the caller to fill in the guest's
   * address, or null when it was not forwarded (counted; answerLocally set when SERVFAIL is due).
   */
  private take(b: Uint8Array, o: number, len: number, from: string): Pending | null {
    this.answerLocally = false;
    const why = dnsQueryError(b, o, len);
    if (why !== null) {
      this.stats.malformed++;
      this.inet.net.logBad(`dns: from ${from}: ${why}; dropped`);
      return null;
    }
    this.stats.queries++;
    if (this.closed) return null;
    if (this.upstream === null) {
      this.noUpstream();
      this.answerLocally = true;
      return null;
    }
    if (this.inflight.size >= this.maxInflight) {
      this.stats.inflightFull++;
      this.inet.net.logBad(`dns: ${this.inflight.size} queries in flight (the limit); query from ${from} dropped`);
      return null;
    }
    const sock = this.socket();
    // a fresh upstream ID: random start, the next free one (the table is far smaller than 65536)
    let id = randomInt(0x10000);
    while (this.inflight.has(id)) id = (id + 1) & 0xffff;
    const p = new Pending();
    p.id = dnsId(b, o);
    this.inflight.set(id, p);
    p.timer = this.inet.net.scheduler.schedule(() => this.expire(id, p), this.timeoutMs);
    // the host socket sends later: copy the query out of the receive buffer, with our ID
    const msg = Buffer.allocUnsafe(len);
    copyBytes(msg, 0, b, o, len);
    setDnsId(msg, 0, id);
    const up = this.upstream;
    sock.send(msg, up.port, up.address, (err) => {
      if (err) {
        this.stats.sendErrors++;
        this.inet.net.logBad(`dns: sending to ${formatUpstream(up)}: ${err.message}`);
      }
    });
    this.stats.forwarded++;
    return p;
  }

  private expire(id: number, p: Pending): void {
    if (this.inflight.get(id) !== p) return;
    this.inflight.delete(id);
    this.stats.timeouts++;
  }

  // ---- upstream side ----

  private socket(): dgram.Socket {
    if (this.sock !== null) return this.sock;
    const up = this.upstream!;
    const s = dgram.createSocket(up.address.includes(':') ? 'udp6' : 'udp4');
    s.on('message', (msg, rinfo) => this.fromUpstream(msg, rinfo));
    s.on('error', (err) => {
      this.stats.sendErrors++;
      this.inet.net.logBad(`dns: upstream socket: ${err.message}`);
    });
    this.sock = s;
    return s;
  }

  private fromUpstream(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const up = this.upstream!;
    if (rinfo.port !== up.port || !sameAddress(rinfo.address, up.address) || !dnsIsResponse(msg, msg.length)) {
      this.stats.foreign++;
      this.inet.net.logBad(`dns: ${msg.length}-byte datagram from ${rinfo.address}:${rinfo.port} is not a response from ${formatUpstream(up)}; dropped`);
      return;
    }
    const id = dnsId(msg, 0);
    const p = this.inflight.get(id);
    if (p === undefined) {
      this.stats.unmatched++;
      return;
    }
    this.inflight.delete(id);
    p.timer?.unsubscribe();
    setDnsId(msg, 0, p.id);
    const rc = p.addr6 !== null ? this.send6(p.addr6, p.port, msg, msg.length) : udp_send_host(this.inet, this.inet.config.dns, DNS_PORT, p.addr4, p.port, msg, 0, msg.length);
    if (rc < 0) this.stats.guestSendErrors++;
    else this.stats.replies++;
  }

  /** a UDPv6 datagram from [fec0::3]:53 to the guest (udpv6_sendmsg's header and mandatory checksum) */
  private send6(daddr: Uint8Array, dport: number, payload: Uint8Array, len: number): number {
    const inet6 = this.inet6;
    if (inet6 === null) return -1;
    const stack = inet6.net.stack;
    const ulen = len + 8;
    const skb = stack.alloc_skb(ulen + MAX_IPV6_HEADER);
    if (skb === null) return -1;
    if (skb.headroom < MAX_IPV6_HEADER) skb.reserve(MAX_IPV6_HEADER - skb.headroom);
    const o = skb.put(ulen);
    const b = skb.buf;
    const src = inet6.config.dns;
    setU16(b, o, DNS_PORT);
    setU16(b, o + 2, dport);
    setU16(b, o + 4, ulen);
    setU16(b, o + 6, 0);
    copyBytes(b, o + 8, payload, 0, len);
    const c = csum_fold(csum_partial(b, o, ulen, csum_ipv6_magic(src, 0, daddr, 0, ulen, NEXTHDR_UDP)));
    setU16(b, o + 6, c === 0 ? 0xffff : c);
    if (inet6.ip6Send(skb, src, 0, daddr, 0, NEXTHDR_UDP) !== 0) return -1;
    inet6.net.mib.Udp6.OutDatagrams++;
    return 0;
  }
}

/** rinfo gives IPv4-mapped or plain forms; compare numerically enough for a configured upstream */
function sameAddress(a: string, b: string): boolean {
  if (a === b) return true;
  const strip = (x: string): string => x.replace(/^::ffff:/i, '').replace(/%.*$/, '').toLowerCase();
  return strip(a) === strip(b);
}

