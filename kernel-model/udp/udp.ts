// UDP over IPv4 (net/ipv4/udp.c __udp4_lib_rcv / udp_send_skb): length and checksum checks with Linux's
// counters, demultiplexing by local port to in-model services, port unreachable for unicast to a closed
// port (rate limited by ICMP), IgnoredMulti for broadcast/multicast nobody wants.
import type { NetDevice } from '../core/netdevice';
import { kfree_skb, type Skb } from '../core/skb';
import { skb_csum_unnecessary } from '../ipv4/csum';
import { icmp_send } from '../icmp/icmp';
import type { InDevice } from '../ipv4/devinet';
import { ip_build_and_send_pkt, MAX_IPV4_HEADER, NET_XMIT_SUCCESS } from '../ipv4/ip_output';
import { NET_RX_DROP, NET_RX_SUCCESS } from '../ipv4/netns';
import { RTN_BROADCAST, RTN_MULTICAST } from '../ipv4/route';
import { formatIpv4, readMac, type Ipv4Addr, type MacAddr } from '../wire/address';
import { copyBytes, getU16, getU32, setU16 } from '../wire/bytes';
import { csum_fold, csum_partial, csum_tcpudp_nofold } from '../wire/checksum';
import { ICMP_DEST_UNREACH, ICMP_PORT_UNREACH } from '../wire/icmp';
import { IPPROTO_UDP } from '../wire/ipv4';
import { UDP_HLEN } from '../wire/udp';

/**
 * One received datagram as a service sees it. The object is reused for every datagram and the payload
 * views the receive buffer (possibly guest memory): both are valid only during the handler call.
 */
export class UdpDatagram {
  skb!: Skb;
  ind!: InDevice;
  saddr: Ipv4Addr = 0;
  daddr: Ipv4Addr = 0;
  sport = 0;
  dport = 0;
  /** the sender's link address (Ethernet source) */
  srcMac: MacAddr = 0;
  /** the destination was a broadcast or multicast address */
  broadcast = false;
  buf!: Uint8Array;
  payloadOffset = 0;
  payloadLen = 0;
}

export type UdpHandler = (d: UdpDatagram) => void;

/** a bound "socket": local port, optional local address (0 = any) and device (null = any) */
export class UdpSock {
  /** datagrams delivered to the handler */
  rx = 0;
  constructor(
    readonly port: number,
    readonly addr: Ipv4Addr,
    readonly dev: NetDevice | null,
    readonly handler: UdpHandler,
  ) {}
}

/** the namespace's UDP port table (udp_table); a handful of in-model services, so arrays per port */
export class UdpTable {
  private readonly ports = new Map<number, UdpSock[]>();
  /**
   * Where a unicast datagram with no bound socket goes before it counts as NoPorts: the outbound
   * proxy plays a transparent (IP_TRANSPARENT) socket for destinations the model terminates. Returns
   * true when it took the datagram.
   */
  forwarder: ((d: UdpDatagram) => boolean) | null = null;

  /**
   * udp_v4_get_port + bind: null (EADDRINUSE) when an existing socket on the port overlaps in both
   * address (either is wildcard or equal) and device (either is unbound or equal).
   */
  bind(port: number, handler: UdpHandler, addr: Ipv4Addr = 0, dev: NetDevice | null = null): UdpSock | null {
    if (!Number.isInteger(port) || port < 1 || port > 0xffff) return null;
    const list = this.ports.get(port) ?? [];
    for (const s of list) {
      const addrClash = s.addr === 0 || addr === 0 || s.addr === addr;
      const devClash = s.dev === null || dev === null || s.dev === dev;
      if (addrClash && devClash) return null;
    }
    const sock = new UdpSock(port, addr, dev, handler);
    list.push(sock);
    this.ports.set(port, list);
    return sock;
  }

  unbind(sock: UdpSock): void {
    const list = this.ports.get(sock.port);
    if (!list) return;
    const i = list.indexOf(sock);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.ports.delete(sock.port);
  }

  /** __udp4_lib_lookup: the best match (bound address and device each score) for a unicast datagram */
  lookup(port: number, daddr: Ipv4Addr, dev: NetDevice): UdpSock | null {
    const list = this.ports.get(port);
    if (list === undefined) return null;
    let best: UdpSock | null = null;
    let bestScore = -1;
    for (let i = 0; i < list.length; i++) {
      const s = list[i];
      let score = 0;
      if (s.addr !== 0) {
        if (s.addr !== daddr) continue;
        score += 4;
      }
      if (s.dev !== null) {
        if (s.dev !== dev) continue;
        score += 4;
      }
      if (score > bestScore) {
        best = s;
        bestScore = score;
      }
    }
    return best;
  }

  /** every bound socket (for views such as `ss -ua`; read-only) */
  *sockets(): IterableIterator<UdpSock> {
    for (const list of this.ports.values()) yield* list;
  }

  /** sockets for a broadcast/multicast datagram (__udp_is_mcast_sock: wildcard or equal address) */
  socketsFor(port: number): readonly UdpSock[] | undefined {
    return this.ports.get(port);
  }
}

const dgram = new UdpDatagram();

/** udp_rcv (__udp4_lib_rcv): skb.data at the UDP header */
export function udp_rcv(skb: Skb, ind: InDevice, rt: number): number {
  const net = ind.net;
  const mib = net.mib.Udp;
  const b = skb.buf;
  const o = skb.data;
  const nh = skb.network_header;
  const saddr = getU32(b, nh + 12);
  const daddr = getU32(b, nh + 16);
  if (skb.len < UDP_HLEN) {
    mib.InErrors++;
    net.logBad(`udp: ${skb.len}-byte datagram from ${formatIpv4(saddr)} shorter than its header; dropped`);
    return NET_RX_DROP;
  }
  const ulen = getU16(b, o + 4);
  if (ulen > skb.len || ulen < UDP_HLEN) {
    // short_packet
    mib.InErrors++;
    net.logBad(`udp: short packet from ${formatIpv4(saddr)}:${getU16(b, o)} (length field ${ulen}, ${skb.len} bytes) to port ${getU16(b, o + 2)}; dropped`);
    return NET_RX_DROP;
  }
  skb.len = ulen;
  // udp4_csum_init: a zero checksum means none (IPv4 only); the device may have validated it
  // (CHECKSUM_UNNECESSARY) or the guest left it to offload (CHECKSUM_PARTIAL: virtio NEEDS_CSUM)
  if (getU16(b, o + 6) !== 0 && !skb_csum_unnecessary(skb) && csum_fold(csum_partial(b, o, ulen, csum_tcpudp_nofold(saddr, daddr, ulen, IPPROTO_UDP))) !== 0) {
    mib.InCsumErrors++;
    mib.InErrors++;
    net.logBad(`udp: bad checksum from ${formatIpv4(saddr)}:${getU16(b, o)} to port ${getU16(b, o + 2)}; dropped`);
    return NET_RX_DROP;
  }
  const sport = getU16(b, o);
  const dport = getU16(b, o + 2);
  const d = dgram;
  d.skb = skb;
  d.ind = ind;
  d.saddr = saddr;
  d.daddr = daddr;
  d.sport = sport;
  d.dport = dport;
  d.srcMac = skb.mac_header >= 0 ? readMac(b, skb.mac_header + 6) : 0;
  d.buf = b;
  d.payloadOffset = o + UDP_HLEN;
  d.payloadLen = ulen - UDP_HLEN;
  if (rt === RTN_BROADCAST || rt === RTN_MULTICAST) {
    // __udp4_lib_mcast_deliver: every wildcard (or matching) socket on the port and device
    d.broadcast = true;
    const list = net.udp.socketsFor(dport);
    let delivered = 0;
    if (list !== undefined) {
      for (let i = 0; i < list.length; i++) {
        const s = list[i];
        if ((s.addr !== 0 && s.addr !== daddr) || (s.dev !== null && s.dev !== ind.dev)) continue;
        deliver(ind, s, d);
        delivered++;
      }
    }
    if (delivered === 0) mib.IgnoredMulti++;
    return NET_RX_SUCCESS;
  }
  d.broadcast = false;
  const sock = net.udp.lookup(dport, daddr, ind.dev);
  if (sock === null) {
    if (net.udp.forwarder !== null && net.udp.forwarder(d)) {
      mib.InDatagrams++;
      return NET_RX_SUCCESS;
    }
    mib.NoPorts++;
    icmp_send(ind, skb, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, rt);
    return NET_RX_DROP;
  }
  deliver(ind, sock, d);
  return NET_RX_SUCCESS;
}

function deliver(ind: InDevice, s: UdpSock, d: UdpDatagram): void {
  const net = ind.net;
  net.mib.Udp.InDatagrams++;
  s.rx++;
  try {
    s.handler(d);
  } catch (err) {
    net.drops.handlerErrors++;
    net.log.error(`udp: handler for port ${s.port} threw: ${(err as Error)?.stack ?? String(err)}`);
  }
}

/**
 * An skb for a UDP payload of `payloadLen` bytes with room for UDP, IPv4 and Ethernet headers in front:
 * write the payload at skb.data (skb.len is already payloadLen), then udp_send_skb. Null when the pool
 * is empty or the payload does not fit a slab (Udp SndbufErrors).
 */
export function udp_alloc_skb(ind: InDevice, payloadLen: number): Skb | null {
  const skb = ind.net.stack.alloc_skb(payloadLen + MAX_IPV4_HEADER);
  if (skb === null) {
    ind.net.mib.Udp.SndbufErrors++;
    return null;
  }
  if (skb.headroom < MAX_IPV4_HEADER) skb.reserve(MAX_IPV4_HEADER - skb.headroom);
  skb.put(payloadLen);
  return skb;
}

/**
 * udp_send_skb: prepend the UDP header (checksum computed in software, never 0) to the payload at
 * skb.data..skb.len and send it as an unconnected Linux socket would: DF set, IP ID 0, TTL 64.
 * `dstMac` ≥ 0 sends straight to that link address (no ARP). Consumes the skb. Returns 0 when sent or
 * queued for ARP, else a negative value (no route, too big, no buffer).
 */
export function udp_send_skb(
  ind: InDevice,
  skb: Skb,
  saddr: Ipv4Addr,
  sport: number,
  daddr: Ipv4Addr,
  dport: number,
  dstMac: MacAddr | -1 = -1,
): number {
  const ulen = skb.len + UDP_HLEN;
  if (ulen > 0xffff - 20 || skb.headroom < MAX_IPV4_HEADER) {
    kfree_skb(skb);
    return -1;
  }
  const o = skb.push(UDP_HLEN);
  const b = skb.buf;
  setU16(b, o, sport);
  setU16(b, o + 2, dport);
  setU16(b, o + 4, ulen);
  setU16(b, o + 6, 0);
  const c = csum_fold(csum_partial(b, o, ulen, csum_tcpudp_nofold(saddr, daddr, ulen, IPPROTO_UDP)));
  setU16(b, o + 6, c === 0 ? 0xffff : c);
  const rc = ip_build_and_send_pkt(ind, skb, saddr, daddr, IPPROTO_UDP, 0, true, dstMac);
  if (rc === NET_XMIT_SUCCESS) {
    ind.net.mib.Udp.OutDatagrams++;
    return 0;
  }
  return -1;
}

/** udp_sendmsg for a payload held in a byte array: allocate, copy, send. Returns as udp_send_skb. */
export function udp_sendto(
  ind: InDevice,
  saddr: Ipv4Addr,
  sport: number,
  daddr: Ipv4Addr,
  dport: number,
  payload: Uint8Array,
  off = 0,
  len = payload.length - off,
  dstMac: MacAddr | -1 = -1,
): number {
  if (off < 0 || len < 0 || off + len > payload.length) return -1;
  const skb = udp_alloc_skb(ind, len);
  if (skb === null) return -1;
  copyBytes(skb.buf, skb.data, payload, off, len);
  return udp_send_skb(ind, skb, saddr, sport, daddr, dport, dstMac);
}
