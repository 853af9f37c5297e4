// TCP over IPv6 (net/ipv6/tcp_ipv6.c): tcp_v6_rcv's checks and demultiplexing with 128-bit addresses,
// the ipv6_specific address-family operations (40-byte network header, so MSS = MTU − 60; the RFC 8200
// §8.1 pseudo-header checksum; ip6_xmit), tcp_v6_send_reset, and the forwarder hook for SYNs no socket
// takes (the IPv6 twin of TcpForwardRequest). Sockets of both families share the namespace's TcpNet:
// one ehash (keyed by ports, as tcp_hashinfo is shared), one MIB (TCP_INC_STATS is family-blind), one
// set of sysctls. An IPv6 socket keeps its addresses in TcpSock.inet6.addrs (no strings per packet).
import type { Skb } from '../core/skb';
import { PACKET_HOST } from '../core/skb';
import { skb_csum_unnecessary } from '../ipv4/csum';
import type { Inet6Dev } from '../ipv6/inet6_dev';
import { ip6_make_flowlabel, ip6_xmit, MAX_IPV6_HEADER } from '../ipv6/ip6_output';
import { NET_RX_DROP, NET_RX_SUCCESS, type NetnsIpv6 } from '../ipv6/netns';
import { getU16, getU32, setU16, setU32 } from '../wire/bytes';
import { csum_fold, csum_partial } from '../wire/checksum';
import { csum_ipv6_magic, formatIpv6, ipv6Eq, ipv6IsMulticast, NEXTHDR_TCP } from '../wire/ipv6';
import { TCPHDR_ACK, TCPHDR_FIN, TCPHDR_RST, TCPHDR_SYN, TCP_HLEN } from '../wire/tcp';
import { TcpSock } from './sock';
import { tcp_make_reset } from './tcp_reset';
import { AF_INET6, TcpInet6, type TcpAfOps } from './tcp_af_ops';
import { rcvSeg, tcp_parse_segment, type TcpSeg } from './tcp_input';
import { synInfoOf, tcp_do_rcv, type SynInfo, type TcpNet } from './tcp_ipv4';
import { tcp_connect, tcp_create_openreq_child } from './tcp_output';
import { tcp_v6_err } from './tcp_v6_err';

/** a 32-bit fold of an IPv6 address: what TcpSock.saddr/daddr hold for the ISN and TS-offset hashes */
export function ipv6_fold32(b: Uint8Array, o: number): number {
  return (getU32(b, o) ^ getU32(b, o + 4) ^ getU32(b, o + 8) ^ getU32(b, o + 12)) >>> 0;
}

/** tcp_v6_check: the folded checksum of buf[off, off+len) with the IPv6 pseudo-header */
export function tcp_v6_check(b: Uint8Array, off: number, len: number, sb: Uint8Array, so: number, db: Uint8Array, dof: number): number {
  return csum_fold(csum_partial(b, off, len, csum_ipv6_magic(sb, so, db, dof, len, NEXTHDR_TCP)));
}

/** ipv6_specific */
export const ipv6_specific: TcpAfOps = {
  family: AF_INET6,
  net_header_len: 40,
  send_check(tp, b, off, len) {
    const a = tp.inet6!.addrs;
    return tcp_v6_check(b, off, len, a, 0, a, 16);
  },
  queue_xmit(tp, skb) {
    const i6 = tp.inet6!;
    const a = i6.addrs;
    return ip6_xmit(i6.idev, skb, a, 0, a, 16, NEXTHDR_TCP, i6.idev.net.sysctl.hop_limit, 0, i6.flowlabel);
  },
  send_reset(tp, seq, ack, flags) {
    const i6 = tp.inet6!;
    tcp_v6_send_reset_to(tp.net, i6.idev, i6.addrs, 0, i6.addrs, 16, tp.sport, tp.dport, seq, ack, flags);
  },
  format(tp) {
    const a = tp.inet6!.addrs;
    return `[${formatIpv6(a, 0)}]:${tp.sport}→[${formatIpv6(a, 16)}]:${tp.dport}`;
  },
};

/**
 * A SYN over IPv6 offered to the forwarder: call exactly one of accept / reset / drop, now or later.
 * addrs[0..16) is the guest's (the SYN's source), addrs[16..32) the destination it asked for.
 */
export class TcpForwardRequest6 {
  decided = false;
  readonly addrs = new Uint8Array(32);
  constructor(
    readonly t6: Tcp6Net,
    readonly idev: Inet6Dev,
    readonly syn: SynInfo,
    readonly key: string,
  ) {}
  get remoteAddress(): string {
    return formatIpv6(this.addrs, 0);
  }
  get remotePort(): number {
    return this.syn.sport;
  }
  get localAddress(): string {
    return formatIpv6(this.addrs, 16);
  }
  get localPort(): number {
    return this.syn.dport;
  }
  /** complete the handshake: a socket in SYN_RECV answering as the asked-for destination */
  accept(): TcpSock | null {
    if (!this.finish()) return null;
    const t6 = this.t6;
    const a = this.addrs;
    if (t6.lookup(a, 16, this.syn.dport, a, 0, this.syn.sport) !== null) return null;
    const ind = t6.tcp.net.in_dev_get(this.idev.dev);
    if (ind === undefined) return null;
    const idev = this.idev;
    return tcp_create_openreq_child(t6.tcp, ind, this.syn, null, (tp) => tcp_v6_setup(tp, idev, a, 16, a, 0));
  }
  /** refuse: RST|ACK as for a closed port */
  reset(): void {
    if (!this.finish()) return;
    const s = this.syn;
    const a = this.addrs;
    tcp_v6_send_reset_to(this.t6.tcp, this.idev, a, 16, a, 0, s.dport, s.sport, 0, (s.seq + 1) >>> 0, TCPHDR_RST | TCPHDR_ACK);
  }
  drop(): void {
    this.finish();
  }
  private finish(): boolean {
    if (this.decided) return false;
    this.decided = true;
    this.t6.forwardPending.delete(this.key);
    return true;
  }
}

export type TcpForwarder6 = (req: TcpForwardRequest6) => void;

/** make `tp` an IPv6 socket from local sb[so] to remote db[dof] on idev (before anything is sent) */
export function tcp_v6_setup(tp: TcpSock, idev: Inet6Dev, sb: Uint8Array, so: number, db: Uint8Array, dof: number): void {
  const i6 = new TcpInet6(idev);
  i6.addrs.set(sb.subarray(so, so + 16), 0);
  i6.addrs.set(db.subarray(dof, dof + 16), 16);
  i6.flowlabel = ip6_make_flowlabel(i6.addrs, 0, i6.addrs, 16, NEXTHDR_TCP, (tp.sport << 16) | tp.dport);
  tp.inet6 = i6;
  tp.af = ipv6_specific;
  tp.saddr = ipv6_fold32(sb, so);
  tp.daddr = ipv6_fold32(db, dof);
}

/** the namespace's TCP-over-IPv6 state (the v6 half of TcpNet) */
export class Tcp6Net {
  forwarder: TcpForwarder6 | null = null;
  readonly forwardPending = new Map<string, TcpForwardRequest6>();
  readonly drops = { noSocketRst: 0, forwardBusy: 0 };
  constructor(
    readonly tcp: TcpNet,
    readonly net6: NetnsIpv6,
  ) {}

  /** __inet6_lookup_established: local la[lo]:lport, remote ra[ro]:rport */
  lookup(la: Uint8Array, lo: number, lport: number, ra: Uint8Array, ro: number, rport: number): TcpSock | null {
    for (let s = this.tcp.ehashChain(lport, rport); s !== null; s = s.ehash_next) {
      const i6 = s.inet6;
      if (i6 !== null && ipv6Eq(i6.addrs, 0, la, lo) && ipv6Eq(i6.addrs, 16, ra, ro)) return s;
    }
    return null;
  }

  setForwarder(fn: TcpForwarder6 | null): void {
    this.forwarder = fn;
  }

  /**
   * tcp_v6_connect: an active open from sb[so] (default: idev.saddrFor the destination) to db[dof]:dport.
   * The socket in SYN_SENT, or null when no ephemeral port is free or the device has no IPv4 state
   * (TcpSock keeps the device's InDevice for its MTU).
   */
  connect(idev: Inet6Dev, db: Uint8Array, dof: number, dport: number, opts: { sport?: number; saddr?: Uint8Array } = {}): TcpSock | null {
    const tn = this.tcp;
    const ind = tn.net.in_dev_get(idev.dev);
    if (ind === undefined) return null;
    const sb = opts.saddr ?? idev.saddrFor(db, dof);
    let sport = opts.sport ?? 0;
    if (sport === 0) {
      const [lo, hi] = tn.sysctl.ip_local_port_range;
      const n = hi - lo + 1;
      const start = Math.floor(tn.net.random() * n);
      for (let i = 0; i < n && sport === 0; i++) {
        const p = lo + ((start + i) % n);
        if (this.lookup(sb, 0, p, db, dof, dport) === null) sport = p;
      }
      if (sport === 0) return null;
    } else if (this.lookup(sb, 0, sport, db, dof, dport) !== null) {
      return null;
    }
    const sk = new TcpSock(tn, ind);
    sk.sport = sport;
    sk.dport = dport;
    tcp_v6_setup(sk, idev, sb, 0, db, dof);
    tcp_connect(sk);
    return sk;
  }
}

const registered = new WeakMap<TcpNet, Tcp6Net>();

/** tcpv6_init: the TCP-over-IPv6 state of a namespace, registering NEXTHDR_TCP with IPv6 (idempotent) */
export function tcp_v6_init(tcp: TcpNet, net6: NetnsIpv6): Tcp6Net {
  let t = registered.get(tcp);
  if (t !== undefined) return t;
  const created = new Tcp6Net(tcp, net6);
  t = created;
  registered.set(tcp, created);
  net6.inet6_add_protocol(NEXTHDR_TCP, (skb, idev) => tcp_v6_rcv(created, skb, idev));
  // inet6_protocol.err_handler = tcp_v6_err (ICMPv6 errors about our segments)
  net6.inet6_add_err_handler(NEXTHDR_TCP, (e) => tcp_v6_err(created, e));
  return created;
}

/** tcp_v6_rcv: skb.data at the TCP header, skb.len the rest of the packet, network_header the IPv6 header */
export function tcp_v6_rcv(t6: Tcp6Net, skb: Skb, idev: Inet6Dev): number {
  const tn = t6.tcp;
  const mib = tn.mib.Tcp;
  const b = skb.buf;
  const nh = skb.network_header;
  // only unicast for us (pkt_type != PACKET_HOST → discard, before counting)
  if (skb.pkt_type !== PACKET_HOST || ipv6IsMulticast(b, nh + 24)) return NET_RX_DROP;
  mib.InSegs++;
  const o = skb.data;
  if (skb.len < TCP_HLEN) return NET_RX_DROP;
  const doff = (b[o + 12] >>> 4) << 2;
  if (doff < TCP_HLEN) {
    mib.InErrs++;
    tn.logBad(`tcp6: data offset ${doff} < 20 from ${formatIpv6(b, nh + 8)}; dropped`);
    return NET_RX_DROP;
  }
  if (doff > skb.len) return NET_RX_DROP;
  if (!skb_csum_unnecessary(skb) && tcp_v6_check(b, o, skb.len, b, nh + 8, b, nh + 24) !== 0) {
    mib.InCsumErrors++;
    mib.InErrs++;
    tn.logBad(`tcp6: bad checksum from [${formatIpv6(b, nh + 8)}]:${getU16(b, o)} to port ${getU16(b, o + 2)}; dropped`);
    return NET_RX_DROP;
  }
  const seg = tcp_parse_segment(rcvSeg, b, o, skb.len, ipv6_fold32(b, nh + 8), ipv6_fold32(b, nh + 24));
  seg.gso_size = skb.gso_size;
  const sk = t6.lookup(b, nh + 24, seg.dport, b, nh + 8, seg.sport);
  if (sk !== null) return tcp_do_rcv(tn, sk, skb, seg);
  if (t6.forwarder !== null && seg.flags & TCPHDR_SYN && !(seg.flags & (TCPHDR_ACK | TCPHDR_RST | TCPHDR_FIN))) {
    return tcp_v6_forward_syn(t6, idev, skb, seg);
  }
  // no_tcp_socket
  if (!(seg.flags & TCPHDR_RST)) {
    t6.drops.noSocketRst++;
    if (seg.flags & TCPHDR_ACK) tcp_v6_send_reset_to(tn, idev, b, nh + 24, b, nh + 8, seg.dport, seg.sport, seg.ack, 0, TCPHDR_RST);
    else tcp_v6_send_reset_to(tn, idev, b, nh + 24, b, nh + 8, seg.dport, seg.sport, 0, seg.end_seq, TCPHDR_RST | TCPHDR_ACK);
  }
  return NET_RX_DROP;
}

function tcp_v6_forward_syn(t6: Tcp6Net, idev: Inet6Dev, skb: Skb, seg: TcpSeg): number {
  const b = skb.buf;
  const nh = skb.network_header;
  // SYN rate, not per packet: a string key is fine
  const key = `${formatIpv6(b, nh + 24)}|${seg.dport}|${formatIpv6(b, nh + 8)}|${seg.sport}`;
  if (t6.forwardPending.has(key)) return NET_RX_DROP; // a retransmitted SYN while the decision is pending
  if (t6.forwardPending.size >= t6.tcp.sysctl.max_forward_inflight) {
    t6.drops.forwardBusy++;
    t6.tcp.mib.TcpExt.TCPReqQFullDrop++;
    return NET_RX_DROP;
  }
  const req = new TcpForwardRequest6(t6, idev, synInfoOf(seg), key);
  req.addrs.set(b.subarray(nh + 8, nh + 24), 0);
  req.addrs.set(b.subarray(nh + 24, nh + 40), 16);
  t6.forwardPending.set(key, req);
  try {
    t6.forwarder!(req);
  } catch (err) {
    t6.tcp.stack.bug('tcp6 forwarder', err);
    req.drop();
  }
  return NET_RX_SUCCESS;
}

/** tcp_v6_send_reset's control-socket RST from sb[so]:sport to db[dof]:dport (counted in OutSegs, OutRsts) */
export function tcp_v6_send_reset_to(
  tn: TcpNet,
  idev: Inet6Dev,
  sb: Uint8Array,
  so: number,
  db: Uint8Array,
  dof: number,
  sport: number,
  dport: number,
  seq: number,
  ack: number,
  flags: number,
): void {
  const skb = tcp_make_reset(tn, MAX_IPV6_HEADER, sport, dport, seq, ack, flags);
  if (skb === null) return;
  setU16(skb.buf, skb.data + 16, tcp_v6_check(skb.buf, skb.data, TCP_HLEN, sb, so, db, dof));
  // the addresses may sit in the received packet's buffer: ip6_xmit copies them before anything moves
  ip6_xmit(idev, skb, sb, so, db, dof, NEXTHDR_TCP, idev.net.sysctl.hop_limit, 0, ip6_make_flowlabel(sb, so, db, dof, NEXTHDR_TCP, 0));
}

