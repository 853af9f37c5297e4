// IPv6 receive (net/ipv6/ip6_input.c ipv6_rcv/ip6_rcv_core/ip6_rcv_finish/ip6_input_finish and
// ip6_mc_input). The model is the link's router but forwards nothing yet: unicast for other addresses
// ends in ip6_forward's checks (hop limit → Time Exceeded) and is then counted in Ip6InAddrErrors.
import type { NetDevice } from '../core/netdevice';
import { PACKET_OTHERHOST, type Skb } from '../core/skb';
import { getU16 } from '../wire/bytes';
import { ICMPV6_EXC_HOPLIMIT, ICMPV6_PARAMPROB, ICMPV6_TIME_EXCEED, ICMPV6_UNK_NEXTHDR } from '../wire/icmpv6';
import {
  formatIpv6,
  IPV6_HLEN,
  ipv6IsLoopback,
  ipv6IsMulticast,
  ipv6McastScope,
  NEXTHDR_DEST,
  NEXTHDR_FRAGMENT,
  NEXTHDR_HOP,
  NEXTHDR_NONE,
  NEXTHDR_ROUTING,
} from '../wire/ipv6';
import { ipv6_destopt_rcv, ipv6_frag_rcv, ipv6_parse_hopopts, ipv6_rthdr_rcv, ipv6_skip_exthdr, skipResult } from './exthdrs';
import { icmp6_send } from './icmp';
import type { Inet6Dev } from './inet6_dev';
import { NET_RX_DROP, NET_RX_SUCCESS, type NetnsIpv6 } from './netns';

/** ipv6_rcv: the ETH_P_IPV6 packet handler; skb.data at the IPv6 header */
export function ipv6_rcv(net: NetnsIpv6, skb: Skb, dev: NetDevice): number {
  const mib = net.mib;
  if (skb.pkt_type === PACKET_OTHERHOST) {
    dev.stats.rx_otherhost_dropped++;
    net.drops.otherhost++;
    return NET_RX_DROP;
  }
  mib.Ip6.InReceives++;
  mib.Ip6.InOctets += skb.len;
  const idev = net.in6_dev_get(dev);
  if (idev === undefined) {
    mib.Ip6.InDiscards++;
    net.drops.noInet6Dev++;
    return NET_RX_DROP;
  }
  const b = skb.buf;
  const nh = skb.data;
  if (skb.len < IPV6_HLEN) return hdr_err(idev, skb, `truncated header (${skb.len} bytes)`);
  if (b[nh] >>> 4 !== 6) return hdr_err(idev, skb, `version ${b[nh] >>> 4}`);
  // ECN accounting (IPSTATS_MIB_NOECTPKTS + (dsfield & INET_ECN_MASK)), counting
  // max(1, gso_segs): a GRO-merged skb adds its segments (ip6_input.c ip6_rcv_core)
  const segs = skb.gso_segs > 1 ? skb.gso_segs : 1;
  switch ((b[nh + 1] >>> 4) & 3) {
    case 0: mib.Ip6.InNoECTPkts += segs; break;
    case 1: mib.Ip6.InECT1Pkts += segs; break;
    case 2: mib.Ip6.InECT0Pkts += segs; break;
    default: mib.Ip6.InCEPkts += segs; break;
  }
  // RFC 4291 §2.5.3 / §2.7: no loopback on the wire, no interface-local or scope-0 multicast,
  // no multicast source
  if (ipv6IsLoopback(b, nh + 8) || ipv6IsLoopback(b, nh + 24)) return hdr_err(idev, skb, 'loopback address on the wire');
  if (ipv6IsMulticast(b, nh + 24) && ipv6McastScope(b, nh + 24) <= 1) return hdr_err(idev, skb, `multicast scope ${ipv6McastScope(b, nh + 24)} destination`);
  if (ipv6IsMulticast(b, nh + 8)) return hdr_err(idev, skb, 'multicast source');
  const plen = getU16(b, nh + 4);
  if (plen === 0 && b[nh + 6] === NEXTHDR_HOP) {
    // a jumbogram (RFC 2675) is judged by its hop-by-hop option: it cannot fit the model's frames
  } else {
    if (plen + IPV6_HLEN > skb.len) {
      mib.Ip6.InTruncatedPkts++;
      net.logBad(`ipv6_rcv: ${dev.name}: payload length ${plen} > ${skb.len - IPV6_HLEN} received from ${formatIpv6(b, nh + 8)}; dropped`);
      return NET_RX_DROP;
    }
    skb.len = plen + IPV6_HLEN; // pskb_trim_rcsum: drop link padding
  }
  skb.network_header = nh;
  skb.transport_header = nh + IPV6_HLEN;
  const end = nh + skb.len;
  let off = nh + IPV6_HLEN;
  let nhoff = nh + 6;
  if (b[nh + 6] === NEXTHDR_HOP) {
    const next = ipv6_parse_hopopts(idev, skb, off, end);
    if (next < 0) return NET_RX_DROP;
    nhoff = off;
    off = next;
  }
  return ip6_rcv_finish(idev, skb, off, nhoff);
}

function hdr_err(idev: Inet6Dev, skb: Skb, why: string): number {
  idev.net.mib.Ip6.InHdrErrors++;
  idev.net.logBad(`ipv6_rcv: ${idev.dev.name}: ${why}; dropped`);
  return NET_RX_DROP;
}

/** ip6_rcv_finish → ip6_route_input: ours (ip6_input), a joined group (ip6_mc_input), or not for us */
function ip6_rcv_finish(idev: Inet6Dev, skb: Skb, off: number, nhoff: number): number {
  const net = idev.net;
  const mib = net.mib;
  const b = skb.buf;
  const nh = skb.network_header;
  if (ipv6IsMulticast(b, nh + 24)) {
    // ip6_mc_input counts before it checks membership
    mib.Ip6.InMcastPkts++;
    mib.Ip6.InMcastOctets += skb.len;
    if (!idev.isMcastMember(b, nh + 24)) {
      net.drops.mcastNotJoined++;
      return NET_RX_DROP;
    }
    return ip6_input_finish(idev, skb, off, nhoff);
  }
  if (idev.isLocal(b, nh + 24)) return ip6_input_finish(idev, skb, off, nhoff);
  // the TPROXY-like rule IPv4 has (NetnsIpv4.terminate): a terminated transport to an off-link unicast
  // address is delivered locally, and its protocol answers as that address (libslirp terminates every
  // guest flow). A non-first fragment names no transport: it goes to reassembly, which checks again.
  if (b[nh + 7] > 1 && !idev.onLink(b, nh + 24)) {
    const r = ipv6_skip_exthdr(b, nh, nh + skb.len);
    const p = skipResult.nexthdr;
    if ((r >= 0 && net.terminate[p] !== 0) || (p === NEXTHDR_FRAGMENT && net.terminating)) return ip6_input_finish(idev, skb, off, nhoff);
  }
  // ip6_forward: the hop limit is checked first (RFC 8200 §3), then the model declines to forward
  if (b[nh + 7] <= 1) {
    mib.Ip6.InHdrErrors++;
    icmp6_send(idev, skb, ICMPV6_TIME_EXCEED, ICMPV6_EXC_HOPLIMIT, 0);
    return NET_RX_DROP;
  }
  mib.Ip6.InAddrErrors++;
  net.logBad(`ipv6_rcv: ${idev.dev.name}: ${formatIpv6(b, nh + 8)} → ${formatIpv6(b, nh + 24)} is not for us (no forwarding yet); dropped`);
  return NET_RX_DROP;
}

/**
 * ip6_input_finish → ip6_protocol_deliver_rcu: walk the remaining extension headers (each handler
 * bounds-checks its header), then hand the upper-layer header to its protocol; an unknown next header
 * is answered with Parameter Problem code 1 pointing at the field that named it.
 */
function ip6_input_finish(idev: Inet6Dev, skb: Skb, start: number, startNhoff: number): number {
  const net = idev.net;
  const mib = net.mib;
  const b = skb.buf;
  const nh = skb.network_header;
  const end = nh + skb.len;
  let off = start;
  let nhoff = startNhoff;
  for (;;) {
    const nexthdr = b[nhoff];
    let next: number;
    switch (nexthdr) {
      case NEXTHDR_ROUTING:
        next = ipv6_rthdr_rcv(idev, skb, off, end);
        break;
      case NEXTHDR_DEST:
        next = ipv6_destopt_rcv(idev, skb, off, end);
        break;
      case NEXTHDR_FRAGMENT:
        next = ipv6_frag_rcv(idev, skb, off, end, nhoff, ip6_input_finish);
        break;
      case NEXTHDR_NONE:
        // nothing follows (RFC 8200 §4.7): consumed
        mib.Ip6.InDelivers++;
        return NET_RX_SUCCESS;
      default: {
        if (net.terminating && net.terminate[nexthdr] === 0 && !ipv6IsMulticast(b, nh + 24) && !idev.isLocal(b, nh + 24)) {
          // a reassembled datagram of a transport the namespace does not terminate, to an off-link address
          mib.Ip6.InAddrErrors++;
          return NET_RX_DROP;
        }
        const handler = nexthdr === NEXTHDR_HOP ? null : net.inet6_protos[nexthdr];
        if (handler === null) {
          mib.Ip6.InUnknownProtos++;
          icmp6_send(idev, skb, ICMPV6_PARAMPROB, ICMPV6_UNK_NEXTHDR, nhoff - nh);
          return NET_RX_DROP;
        }
        skb.transport_header = off;
        skb.pull(off - skb.data);
        mib.Ip6.InDelivers++;
        try {
          return handler(skb, idev);
        } catch (e) {
          net.drops.handlerErrors++;
          net.log.error(`ip6_input: protocol ${nexthdr} handler threw: ${(e as Error)?.stack ?? String(e)}`);
          return NET_RX_DROP;
        }
      }
    }
    if (next < 0) return NET_RX_DROP;
    nhoff = off;
    off = next;
  }
}
