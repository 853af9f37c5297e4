// IPv4 receive (net/ipv4/ip_input.c ip_rcv/ip_rcv_core/ip_rcv_finish/ip_local_deliver, with the input
// route decision of net/ipv4/route.c ip_route_input_slow reduced to the model's one link).
// The model is a host, not a router: datagrams for other addresses count InAddrErrors and are dropped —
// except for the transport protocols the namespace terminates (NetnsIpv4.terminate, TCP by default):
// those reach local delivery for any off-link unicast destination, as with a TPROXY "local 0.0.0.0/0"
// route, and their protocol answers as that destination (libslirp's rule: the guest's gateway is the
// whole Internet). ICMP joins the rule when the ICMP proxy runs: icmp_rcv then passes echo requests to
// other addresses to the proxy and drops the rest as not routed (icmp.ts, icmp_set_echo_forwarder).
// Fragments for us are reassembled (ip_fragment.ts) and the datagram continues in ip_local_deliver.
import type { NetDevice } from '../core/netdevice';
import { PACKET_OTHERHOST, type Skb } from '../core/skb';
import { icmp_send } from '../icmp/icmp';
import { getU16, getU32 } from '../wire/bytes';
import { formatIpv4, ipv4IsLbcast, ipv4IsLoopback, ipv4IsMulticast, ipv4IsZeronet, type Ipv4Addr } from '../wire/address';
import { csum_fold, csum_partial } from '../wire/checksum';
import { ICMP_DEST_UNREACH, ICMP_PARAMETERPROB, ICMP_PROT_UNREACH } from '../wire/icmp';
import { IPV4_HLEN, IP_MF, IP_OFFSET } from '../wire/ipv4';
import type { InDevice } from './devinet';
import { IpOptions } from './ip_options';
import { NET_RX_DROP, NET_RX_SUCCESS, type NetnsIpv4 } from './netns';
import {
  EHOSTUNREACH,
  EINVAL,
  INADDR_ALLHOSTS_GROUP,
  RTN_BROADCAST,
  RTN_LOCAL,
  RTN_MULTICAST,
} from './route';

const ipOpts = new IpOptions();

/** ip_rcv: the ETH_P_IP packet handler. skb.data is at the IPv4 header (after eth_type_trans). */
export function ip_rcv(net: NetnsIpv4, skb: Skb, dev: NetDevice): number {
  const mib = net.mib;
  // ip_rcv_core: drop what the interface only saw in promiscuous mode, before any accounting
  if (skb.pkt_type === PACKET_OTHERHOST) {
    dev.stats.rx_otherhost_dropped++;
    net.drops.otherhost++;
    return NET_RX_DROP;
  }
  mib.Ip.InReceives++;
  mib.IpExt.InOctets += skb.len;
  const b = skb.buf;
  const o = skb.data;
  if (skb.len < IPV4_HLEN) return inhdr_error(net, skb, 'truncated header');
  const vihl = b[o];
  const ihl = vihl & 15;
  if (ihl < 5 || vihl >>> 4 !== 4) return inhdr_error(net, skb, ihl < 5 ? `ihl ${ihl} < 5` : `version ${vihl >>> 4}`);
  // ECN accounting of ip_rcv_core (IPSTATS_MIB_NOECTPKTS + (tos & INET_ECN_MASK)), counting
  // max(1, gso_segs): a GRO-merged skb adds its segments
  const segs = skb.gso_segs > 1 ? skb.gso_segs : 1;
  switch (b[o + 1] & 3) {
    case 0: mib.IpExt.InNoECTPkts += segs; break;
    case 1: mib.IpExt.InECT1Pkts += segs; break;
    case 2: mib.IpExt.InECT0Pkts += segs; break;
    default: mib.IpExt.InCEPkts += segs; break;
  }
  const hlen = ihl << 2;
  if (skb.len < hlen) return inhdr_error(net, skb, `header length ${hlen} beyond ${skb.len}-byte packet`);
  if (csum_fold(csum_partial(b, o, hlen)) !== 0) {
    mib.IpExt.InCsumErrors++;
    return inhdr_error(net, skb, 'bad header checksum');
  }
  const tot = getU16(b, o + 2);
  if (skb.len < tot) {
    mib.IpExt.InTruncatedPkts++;
    net.logBad(`ip_rcv: ${dev.name}: total length ${tot} > ${skb.len} received from ${formatIpv4(getU32(b, o + 12))}; dropped`);
    return NET_RX_DROP;
  }
  if (tot < hlen) return inhdr_error(net, skb, `total length ${tot} < header length ${hlen}`);
  // pskb_trim_rcsum: the link may have padded the frame (Ethernet minimum 60 bytes)
  skb.len = tot;
  skb.network_header = o;
  skb.transport_header = o + hlen;
  return ip_rcv_finish(net, skb, dev);
}

function inhdr_error(net: NetnsIpv4, skb: Skb, why: string): number {
  net.mib.Ip.InHdrErrors++;
  net.logBad(`ip_rcv: ${skb.dev?.name ?? '?'}: ${why}; dropped`);
  return NET_RX_DROP;
}

/** ip_rcv_finish: route the destination, process options, count broadcast/multicast, deliver locally */
function ip_rcv_finish(net: NetnsIpv4, skb: Skb, dev: NetDevice): number {
  const mib = net.mib;
  const ind = net.in_dev_get(dev);
  const b = skb.buf;
  const o = skb.network_header;
  if (ind === undefined) {
    net.drops.noInDevice++;
    return NET_RX_DROP;
  }
  const saddr = getU32(b, o + 12);
  const daddr = getU32(b, o + 16);
  const rt = ip_route_input(ind, daddr, saddr, b[o + 9]);
  if (rt < 0) {
    if (rt === -EHOSTUNREACH) {
      // ip_error with forwarding off: the model is not a router
      mib.Ip.InAddrErrors++;
      net.logBad(`ip_rcv: ${dev.name}: ${formatIpv4(saddr)} → ${formatIpv4(daddr)} is not for us (not a router); dropped`);
    }
    return NET_RX_DROP;
  }
  const hlen = (b[o] & 15) << 2;
  if (hlen > IPV4_HLEN) {
    // ip_rcv_options → ip_options_compile (a parameter problem points at the bad byte) and the
    // accept_source_route = 0 rule
    if (!ipOpts.compile(b, o, hlen)) {
      icmp_send(ind, skb, ICMP_PARAMETERPROB, 0, (ipOpts.pointer << 24) >>> 0, rt);
      mib.Ip.InHdrErrors++;
      net.logBad(`ip_rcv: ${dev.name}: malformed IP option at byte ${ipOpts.pointer} from ${formatIpv4(saddr)}; dropped`);
      return NET_RX_DROP;
    }
    if (ipOpts.srr !== 0) {
      net.drops.sourceRoute++;
      net.logBad(`ip_rcv: ${dev.name}: source route option ${formatIpv4(saddr)} → ${formatIpv4(daddr)}; dropped`);
      return NET_RX_DROP;
    }
  }
  if (rt === RTN_MULTICAST) {
    mib.IpExt.InMcastPkts++;
    mib.IpExt.InMcastOctets += skb.len;
  } else if (rt === RTN_BROADCAST) {
    mib.IpExt.InBcastPkts++;
    mib.IpExt.InBcastOctets += skb.len;
  }
  return ip_local_deliver(net, ind, skb, rt);
}

/**
 * ip_route_input for the model's link: RTN_LOCAL / RTN_BROADCAST / RTN_MULTICAST, or a negative errno:
 * -EINVAL for martians (counted in the model's drop stats, as Linux counts them in the route cache
 * stats only), -EHOSTUNREACH for a unicast destination that is not ours. A datagram of a terminated
 * `protocol` (NetnsIpv4.terminate) to an off-link unicast address is RTN_LOCAL (the TPROXY route);
 * on-link addresses other than ours stay unreachable (the guest resolves those with ARP, not via us).
 */
export function ip_route_input(ind: InDevice, daddr: Ipv4Addr, saddr: Ipv4Addr, protocol = -1): number {
  const net = ind.net;
  if (ipv4IsMulticast(daddr)) {
    // ip_check_mc_rcu: only the all-hosts group is joined
    if (daddr !== INADDR_ALLHOSTS_GROUP) {
      net.drops.mcastNotJoined++;
      return -EINVAL;
    }
    if (ipv4IsMulticast(saddr) || ipv4IsLbcast(saddr) || ipv4IsLoopback(saddr)) return martian_source(ind, daddr, saddr);
    return RTN_MULTICAST;
  }
  if (ipv4IsMulticast(saddr) || ipv4IsLbcast(saddr)) return martian_source(ind, daddr, saddr);
  if (ipv4IsLbcast(daddr) || (saddr === 0 && daddr === 0)) {
    if (saddr !== 0 && !valid_source(ind, saddr)) return martian_source(ind, daddr, saddr);
    return RTN_BROADCAST;
  }
  if (ipv4IsZeronet(saddr)) return martian_source(ind, daddr, saddr);
  if (ipv4IsZeronet(daddr) || ipv4IsLoopback(daddr)) {
    net.drops.martianDst++;
    net.logBad(`ip_rcv: martian destination ${formatIpv4(daddr)} from ${formatIpv4(saddr)}, dev ${ind.dev.name}`);
    return -EINVAL;
  }
  if (ipv4IsLoopback(saddr)) return martian_source(ind, daddr, saddr);
  if (ind.isLocal(daddr)) return valid_source(ind, saddr) ? RTN_LOCAL : martian_source(ind, daddr, saddr);
  if (daddr === ind.broadcast) return valid_source(ind, saddr) ? RTN_BROADCAST : martian_source(ind, daddr, saddr);
  if (protocol >= 0 && net.terminate[protocol] !== 0 && !ind.onLink(daddr)) {
    return valid_source(ind, saddr) ? RTN_LOCAL : martian_source(ind, daddr, saddr);
  }
  return -EHOSTUNREACH;
}

/** fib_validate_source, reduced: a source that is one of our addresses or the subnet broadcast is bogus */
function valid_source(ind: InDevice, saddr: Ipv4Addr): boolean {
  return !ind.isLocal(saddr) && saddr !== ind.broadcast;
}

function martian_source(ind: InDevice, daddr: Ipv4Addr, saddr: Ipv4Addr): number {
  ind.net.drops.martianSrc++;
  ind.net.logBad(`ip_rcv: martian source ${formatIpv4(daddr)} from ${formatIpv4(saddr)}, on dev ${ind.dev.name}`);
  return -EINVAL;
}

/** ip_local_deliver: fragments go to ip_defrag; a whole datagram (received or reassembled) is delivered */
function ip_local_deliver(net: NetnsIpv4, ind: InDevice, skb: Skb, rt: number): number {
  if ((getU16(skb.buf, skb.network_header + 6) & (IP_MF | IP_OFFSET)) === 0) return ip_local_deliver_finish(net, ind, skb, rt);
  const whole = net.frags.ip_defrag(ind, skb);
  if (whole === null) return NET_RX_SUCCESS;
  net.frags.deliverBegin(whole);
  try {
    return ip_local_deliver_finish(net, ind, whole, rt);
  } finally {
    net.frags.deliverEnd(whole);
  }
}

/** ip_local_deliver_finish + ip_protocol_deliver_rcu */
function ip_local_deliver_finish(net: NetnsIpv4, ind: InDevice, skb: Skb, rt: number): number {
  const b = skb.buf;
  const o = skb.network_header;
  const mib = net.mib;
  const hlen = (b[o] & 15) << 2;
  skb.pull(hlen);
  skb.transport_header = skb.data;
  const protocol = b[o + 9];
  const handler = net.inet_protos[protocol];
  if (handler !== null) {
    let ret = NET_RX_DROP;
    try {
      ret = handler(skb, ind, rt);
    } catch (err) {
      net.drops.handlerErrors++;
      net.log.error(`ip_local_deliver: protocol ${protocol} handler threw: ${(err as Error)?.stack ?? String(err)}`);
      return NET_RX_DROP;
    }
    mib.Ip.InDelivers++;
    return ret;
  }
  // no raw sockets in the model: unknown protocol → InUnknownProtos and protocol unreachable
  mib.Ip.InUnknownProtos++;
  icmp_send(ind, skb, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, 0, rt);
  return NET_RX_DROP;
}

