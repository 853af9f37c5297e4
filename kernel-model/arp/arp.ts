// ARP (net/ipv4/arp.c): arp_rcv/arp_process — answer requests for the model's addresses (including
// DAD probes), learn requesters, update known neighbours from replies and gratuitous ARP (arp_accept = 0:
// unsolicited ARP creates no entry) — and the neighbour ops: arp_solicit and the resolved output path.
import type { NetDevice } from '../core/netdevice';
import { kfree_skb, PACKET_HOST, PACKET_OTHERHOST, type Skb } from '../core/skb';
import type { InDevice } from '../ipv4/devinet';
import { dev_hard_header_xmit, NET_XMIT_SUCCESS } from '../ipv4/ip_output';
import { NET_RX_DROP, NET_RX_SUCCESS, type NetnsIpv4 } from '../ipv4/netns';
import { RTN_UNICAST } from '../ipv4/route';
import {
  MAC_BROADCAST,
  formatIpv4,
  formatMac,
  ipv4IsLbcast,
  ipv4IsLoopback,
  ipv4IsMulticast,
  ipv4IsZeronet,
  readMac,
  writeMac,
  type Ipv4Addr,
  type MacAddr,
} from '../wire/address';
import { ARPHRD_ETHER, ARPHRD_IEEE802, ARPOP_REPLY, ARPOP_REQUEST, ARP_ETH_IP_LEN } from '../wire/arp';
import { getU16, getU32, setU16, setU32 } from '../wire/bytes';
import { ETH_HLEN, ETH_P_ARP, ETH_P_IP } from '../wire/ethernet';
import {
  NEIGH_UPDATE_F_OVERRIDE,
  NUD_REACHABLE,
  NUD_STALE,
  type NeighOps,
  type Neighbour,
} from './neighbour';

/** ARP traffic on one device. Linux has no ARP MIB; these are the model's counters. */
export interface ArpStats {
  InRequests: number;
  InReplies: number;
  /** requests for one of our addresses that we answered (including DAD probes) */
  InRequestsForUs: number;
  /** gratuitous announcements seen (sender = target address) */
  InGratuitous: number;
  /** someone else claims one of our addresses */
  InConflicts: number;
  /** too short, not Ethernet/IPv4, unknown operation, bogus addresses, addressed to another host */
  InDropped: number;
  OutRequests: number;
  OutReplies: number;
  /** no skb for a request or reply */
  OutErrors: number;
}

/** the NeighOps of one device's ARP table: how to solicit and how to send once resolved */
export class ArpNeighOps implements NeighOps {
  readonly stats: ArpStats = {
    InRequests: 0,
    InReplies: 0,
    InRequestsForUs: 0,
    InGratuitous: 0,
    InConflicts: 0,
    InDropped: 0,
    OutRequests: 0,
    OutReplies: 0,
    OutErrors: 0,
  };

  constructor(private readonly ind: InDevice) {}

  /**
   * arp_solicit: source address from the packet that waits for resolution when it is ours
   * (arp_announce = 0), else the primary address; unicast to the known address while probing a STALE
   * entry (the first ucast_probes probes), broadcast otherwise.
   */
  solicit(n: Neighbour, skb: Skb | null): void {
    const ind = this.ind;
    let saddr = ind.primary;
    if (skb !== null && skb.network_header >= 0) {
      const s = getU32(skb.buf, skb.network_header + 12);
      if (ind.isLocal(s)) saddr = s;
    }
    const probes = n.probes - ind.arp_tbl.parms.ucast_probes;
    const dst = probes < 0 ? n.ha : MAC_BROADCAST;
    arp_send(ind, ARPOP_REQUEST, n.primary_key, saddr, dst, 0);
  }

  output(n: Neighbour, skb: Skb): void {
    dev_hard_header_xmit(this.ind, skb, n.ha, ETH_P_IP);
  }

  error_report(n: Neighbour, skb: Skb): void {
    // arp_error_report → dst_link_failure: the datagram was ours; there is no local socket to tell
    this.ind.net.logBad(`arp: ${this.ind.dev.name}: ${formatIpv4(n.primary_key)} did not answer; queued packet dropped`);
    kfree_skb(skb);
  }
}

/**
 * arp_create + arp_xmit: an Ethernet/IPv4 ARP packet of `op` from the model's MAC. `destHw` is the
 * Ethernet destination; the target hardware address field is `targetHw` (0 for requests, as Linux).
 * Frames are 42 bytes: padding to 60 is the NIC's business, and virtio does not pad.
 */
export function arp_send(
  ind: InDevice,
  op: number,
  destIp: Ipv4Addr,
  srcIp: Ipv4Addr,
  destHw: MacAddr,
  targetHw: MacAddr,
): number {
  const skb = ind.net.stack.alloc_skb(ETH_HLEN + ARP_ETH_IP_LEN);
  if (skb === null) {
    ind.arpStats.OutErrors++;
    return -1;
  }
  if (skb.headroom < ETH_HLEN) skb.reserve(ETH_HLEN - skb.headroom);
  const o = skb.put(ARP_ETH_IP_LEN);
  const b = skb.buf;
  setU16(b, o, ARPHRD_ETHER);
  setU16(b, o + 2, ETH_P_IP);
  b[o + 4] = 6;
  b[o + 5] = 4;
  setU16(b, o + 6, op);
  writeMac(b, o + 8, ind.mac);
  setU32(b, o + 14, srcIp);
  writeMac(b, o + 18, targetHw);
  setU32(b, o + 24, destIp);
  skb.network_header = o;
  skb.protocol = ETH_P_ARP;
  if (op === ARPOP_REQUEST) ind.arpStats.OutRequests++;
  else ind.arpStats.OutReplies++;
  return dev_hard_header_xmit(ind, skb, destHw, ETH_P_ARP) === NET_XMIT_SUCCESS ? 0 : -1;
}

/** arp_rcv: the ETH_P_ARP packet handler; skb.data at the ARP header */
export function arp_rcv(net: NetnsIpv4, skb: Skb, dev: NetDevice): number {
  const ind = net.in_dev_get(dev);
  if (ind === undefined) {
    net.drops.noInDevice++;
    return NET_RX_DROP;
  }
  const st = ind.arpStats;
  const b = skb.buf;
  const o = skb.data;
  // arp_rcv: not for us, or shorter than an Ethernet/IPv4 ARP packet, or other address sizes
  if (skb.pkt_type === PACKET_OTHERHOST) {
    st.InDropped++;
    return NET_RX_DROP;
  }
  if (skb.len < ARP_ETH_IP_LEN || b[o + 4] !== 6 || b[o + 5] !== 4) {
    st.InDropped++;
    net.logBad(`arp: ${dev.name}: ${skb.len < ARP_ETH_IP_LEN ? `truncated ${skb.len}-byte packet` : `hlen ${b[o + 4]}/plen ${b[o + 5]}`}; dropped`);
    return NET_RX_DROP;
  }
  return arp_process(ind, skb);
}

function arp_process(ind: InDevice, skb: Skb): number {
  const net = ind.net;
  const st = ind.arpStats;
  const b = skb.buf;
  const o = skb.data;
  const hrd = getU16(b, o);
  if ((hrd !== ARPHRD_ETHER && hrd !== ARPHRD_IEEE802) || getU16(b, o + 2) !== ETH_P_IP) {
    st.InDropped++;
    return NET_RX_DROP;
  }
  const op = getU16(b, o + 6);
  if (op !== ARPOP_REQUEST && op !== ARPOP_REPLY) {
    st.InDropped++;
    return NET_RX_DROP;
  }
  if (op === ARPOP_REQUEST) st.InRequests++;
  else st.InReplies++;
  const sha = readMac(b, o + 8);
  const sip = getU32(b, o + 14);
  const tha = readMac(b, o + 18);
  const tip = getU32(b, o + 24);
  // arp_process: never for multicast or loopback targets
  if (ipv4IsMulticast(tip) || ipv4IsLoopback(tip)) {
    st.InDropped++;
    return NET_RX_DROP;
  }
  if (sip === 0) {
    // duplicate address detection probe (RFC 5227): defend our addresses
    if (op === ARPOP_REQUEST && ind.isLocal(tip)) {
      st.InRequestsForUs++;
      arp_send(ind, ARPOP_REPLY, 0, tip, sha, sha);
    }
    return NET_RX_SUCCESS;
  }
  if (ind.isLocal(sip)) {
    // someone uses one of our addresses: Linux learns nothing from it; the model says so once in a while
    st.InConflicts++;
    net.logBad(`arp: ${ind.dev.name}: ${formatMac(sha)} claims our address ${formatIpv4(sip)}`);
    return NET_RX_SUCCESS;
  }
  const sourceOk = !ipv4IsMulticast(sip) && !ipv4IsLbcast(sip) && !ipv4IsLoopback(sip) && !ipv4IsZeronet(sip) && sip !== ind.broadcast;
  if (op === ARPOP_REQUEST && ind.isLocal(tip) && sourceOk) {
    // a request for us: learn the requester (neigh_event_ns, STALE) and answer it directly
    st.InRequestsForUs++;
    ind.arp_tbl.event_ns(sip, sha);
    arp_send(ind, ARPOP_REPLY, sip, tip, sha, sha);
    return NET_RX_SUCCESS;
  }
  // replies and requests not for us: only update an entry we already have (arp_accept = 0)
  let isGarp = sip === tip;
  if (isGarp && op === ARPOP_REPLY) isGarp = tha === sha;
  if (isGarp && ind.inet_addr_type(sip) !== RTN_UNICAST) isGarp = false;
  if (isGarp) st.InGratuitous++;
  const n = ind.arp_tbl.lookup(sip);
  if (n !== undefined && sourceOk) {
    const state = op === ARPOP_REPLY && skb.pkt_type === PACKET_HOST ? NUD_REACHABLE : NUD_STALE;
    const override = net.now() > n.updated + ind.arp_tbl.parms.locktime || isGarp;
    ind.arp_tbl.update(n, sha, state, override ? NEIGH_UPDATE_F_OVERRIDE : 0);
  }
  return NET_RX_SUCCESS;
}
