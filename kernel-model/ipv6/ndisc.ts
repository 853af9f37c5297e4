// Neighbour Discovery (RFC 4861; net/ipv6/ndisc.c): ndisc_rcv's checks, NS → NA for the model's
// addresses (DAD probes answered to all-nodes), NA updating known neighbours, RS feeding the router
// advertisement logic, and the neighbour-cache ops that solicit the guest (ndisc_solicit) and send to it.
// Linux counts malformed ND in no MIB (ND_PRINTK only); the model keeps NdiscStats for tests and logs.
import { kfree_skb, type Skb } from '../core/skb';
import {
  NEIGH_UPDATE_F_OVERRIDE,
  NEIGH_UPDATE_F_WEAK_OVERRIDE,
  NUD_REACHABLE,
  NUD_STALE,
  type NeighOps,
  type Neighbour,
} from '../arp/neighbour';
import { formatMac, readMac, writeMac, type MacAddr } from '../wire/address';
import { setU32 } from '../wire/bytes';
import { csum_fold, csum_partial } from '../wire/checksum';
import {
  ND_OPT_LL_ADDR_LEN,
  ND_OPT_SOURCE_LL_ADDR,
  ND_OPT_TARGET_LL_ADDR,
  NDISC_HOP_LIMIT,
  NDISC_NA_LEN,
  NDISC_NA_OVERRIDE,
  NDISC_NA_ROUTER,
  NDISC_NA_SOLICITED,
  NDISC_NEIGHBOUR_ADVERTISEMENT,
  NDISC_NEIGHBOUR_SOLICITATION,
  NDISC_NS_LEN,
  NDISC_REDIRECT,
  NDISC_ROUTER_ADVERTISEMENT,
  NDISC_ROUTER_SOLICITATION,
  NDISC_TARGET_OFF,
  NdiscOptions,
} from '../wire/icmpv6';
import {
  csum_ipv6_magic,
  formatIpv6,
  IN6ADDR_LINKLOCAL_ALLNODES,
  ipv6IsMulticast,
  ipv6IsSolicitedNodeOf,
  ipv6IsUnspecified,
  ipv6SolicitedNode,
  NEXTHDR_ICMP,
} from '../wire/ipv6';
import type { Inet6Dev } from './inet6_dev';
import { ip6_xmit, MAX_IPV6_HEADER, neigh_hh_output6, NET_XMIT_DROP, NET_XMIT_SUCCESS } from './ip6_output';
import { NET_RX_DROP, NET_RX_SUCCESS } from './netns';
import { ndisc_recv_rs } from './ndisc_router';

/** the model's ND counters for one device */
export interface NdiscStats {
  /** hop limit other than 255: not from the link (RFC 4861 §6.1.1, §7.1.1) */
  InBadHopLimit: number;
  /** ICMPv6 code other than 0 */
  InBadCode: number;
  /** shorter than the message's fixed part */
  InTruncated: number;
  /** an option of length 0 or past the end, or a misplaced option */
  InBadOptions: number;
  /** other violations of RFC 4861's validity rules (multicast target, DAD to a unicast address, …) */
  InInvalid: number;
  /** NS for one of our addresses (DAD probes included) */
  InSolicitsForUs: number;
  /** DAD probes for one of our addresses (answered, defending it) */
  InDadForUs: number;
  /** someone advertises one of our addresses */
  InConflicts: number;
  OutSolicits: number;
  OutAdvertisements: number;
  OutRouterAdvertisements: number;
  /** no skb for an ND message */
  OutErrors: number;
}

/** ND messages have at most one link-layer option we look at; this scanner is shared (not reentrant) */
const opts = new NdiscOptions();
const solicitScratch = new Uint8Array(16);

/** the neighbour-cache ops of one device's nd_tbl */
export class NdiscNeighOps implements NeighOps {
  readonly stats: NdiscStats = {
    InBadHopLimit: 0,
    InBadCode: 0,
    InTruncated: 0,
    InBadOptions: 0,
    InInvalid: 0,
    InSolicitsForUs: 0,
    InDadForUs: 0,
    InConflicts: 0,
    OutSolicits: 0,
    OutAdvertisements: 0,
    OutRouterAdvertisements: 0,
    OutErrors: 0,
  };

  constructor(private readonly idev: Inet6Dev) {}

  /**
   * ndisc_solicit: source = the waiting packet's source when it is ours, else by source selection;
   * unicast to the cached address for the first ucast_probes probes of PROBE, else to the
   * solicited-node group
   */
  solicit(n: Neighbour, skb: Skb | null): void {
    const idev = this.idev;
    const target = idev.keys.view(n.primary_key);
    let sb: Uint8Array = idev.saddrFor(target, 0);
    let so = 0;
    if (skb !== null && skb.network_header >= 0 && idev.isLocal(skb.buf, skb.network_header + 8)) {
      sb = skb.buf;
      so = skb.network_header + 8;
    }
    const probes = n.probes - idev.nd_tbl.parms.ucast_probes;
    if (probes < 0) {
      ndisc_send_ns(idev, target, 0, target, 0, sb, so, n.ha);
    } else {
      ipv6SolicitedNode(target, 0, solicitScratch, 0);
      ndisc_send_ns(idev, target, 0, solicitScratch, 0, sb, so, -1);
    }
  }

  output(n: Neighbour, skb: Skb): void {
    neigh_hh_output6(this.idev, skb, n.ha);
  }

  error_report(n: Neighbour, skb: Skb): void {
    // ndisc_error_report → dst_link_failure: the packet was the model's own; no socket to tell
    this.idev.net.logBad(`ndisc: ${this.idev.dev.name}: ${formatIpv6(this.idev.keys.view(n.primary_key))} did not answer; queued packet dropped`);
    kfree_skb(skb);
  }
}

/** build an ND message of `len` bytes (type, code 0, the rest zero); null when out of skbs (counted) */
export function ndisc_alloc_skb(idev: Inet6Dev, len: number, type: number): Skb | null {
  const skb = idev.net.stack.alloc_skb(len + MAX_IPV6_HEADER);
  if (skb === null) {
    idev.ndiscStats.OutErrors++;
    idev.net.mib.Icmp6.OutErrors++;
    return null;
  }
  if (skb.headroom < MAX_IPV6_HEADER) skb.reserve(MAX_IPV6_HEADER - skb.headroom);
  const o = skb.put(len);
  skb.buf.fill(0, o, o + len);
  skb.buf[o] = type;
  return skb;
}

/** write a source/target link-layer address option at b[o] */
export function ndisc_fill_addr_option(b: Uint8Array, o: number, type: number, mac: MacAddr): void {
  b[o] = type;
  b[o + 1] = ND_OPT_LL_ADDR_LEN >> 3;
  writeMac(b, o + 2, mac);
}

/**
 * ndisc_send_skb: checksum over the pseudo-header, count Icmp6OutMsgs and the type (only when the
 * packet went out, as Linux), hop limit 255, flow label 0 (ip6_nd_hdr)
 */
export function ndisc_send_skb(
  idev: Inet6Dev,
  skb: Skb,
  sb: Uint8Array,
  so: number,
  db: Uint8Array,
  dof: number,
  dstMac: MacAddr | -1 = -1,
): number {
  const b = skb.buf;
  const o = skb.data;
  const type = b[o];
  b[o + 2] = b[o + 3] = 0;
  const c = csum_fold(csum_partial(b, o, skb.len, csum_ipv6_magic(sb, so, db, dof, skb.len, NEXTHDR_ICMP)));
  b[o + 2] = c >>> 8;
  b[o + 3] = c & 0xff;
  const rc = ip6_xmit(idev, skb, sb, so, db, dof, NEXTHDR_ICMP, NDISC_HOP_LIMIT, 0, 0, dstMac);
  if (rc === NET_XMIT_SUCCESS) {
    idev.net.mib.Icmp6Msg.OutType[type]++;
    idev.net.mib.Icmp6.OutMsgs++;
  }
  return rc;
}

/** ndisc_send_ns: solicit `target` at `daddr` from `saddr` (unspecified = a DAD probe, no SLLA option) */
export function ndisc_send_ns(
  idev: Inet6Dev,
  tb: Uint8Array,
  to: number,
  db: Uint8Array,
  dof: number,
  sb: Uint8Array,
  so: number,
  dstMac: MacAddr | -1,
): number {
  const sendSllao = !ipv6IsUnspecified(sb, so);
  const skb = ndisc_alloc_skb(idev, NDISC_NS_LEN + (sendSllao ? ND_OPT_LL_ADDR_LEN : 0), NDISC_NEIGHBOUR_SOLICITATION);
  if (skb === null) return NET_XMIT_DROP;
  const b = skb.buf;
  const o = skb.data;
  for (let i = 0; i < 16; i++) b[o + NDISC_TARGET_OFF + i] = tb[to + i];
  if (sendSllao) ndisc_fill_addr_option(b, o + NDISC_NS_LEN, ND_OPT_SOURCE_LL_ADDR, idev.mac);
  idev.ndiscStats.OutSolicits++;
  return ndisc_send_skb(idev, skb, sb, so, db, dof, dstMac);
}

/**
 * ndisc_send_na: advertise our address `target` (its bytes are the source too) to `daddr`; the R flag
 * because the model is the link's router (idev->cnf.forwarding), S and O as the caller decides, and the
 * target link-layer option when `incOpt`
 */
export function ndisc_send_na(
  idev: Inet6Dev,
  db: Uint8Array,
  dof: number,
  target: Uint8Array,
  solicited: boolean,
  override: boolean,
  incOpt: boolean,
): number {
  const skb = ndisc_alloc_skb(idev, NDISC_NA_LEN + (incOpt ? ND_OPT_LL_ADDR_LEN : 0), NDISC_NEIGHBOUR_ADVERTISEMENT);
  if (skb === null) return NET_XMIT_DROP;
  const b = skb.buf;
  const o = skb.data;
  setU32(b, o + 4, ((NDISC_NA_ROUTER | (solicited ? NDISC_NA_SOLICITED : 0) | (override ? NDISC_NA_OVERRIDE : 0)) << 24) >>> 0);
  b.set(target, o + NDISC_TARGET_OFF);
  if (incOpt) ndisc_fill_addr_option(b, o + NDISC_NA_LEN, ND_OPT_TARGET_LL_ADDR, idev.mac);
  idev.ndiscStats.OutAdvertisements++;
  return ndisc_send_skb(idev, skb, target, 0, db, dof);
}

/**
 * ndisc_rcv: skb.data at the ICMPv6 header (checksum verified, type counted by icmpv6_rcv). RFC 4861:
 * hop limit must be 255 and code 0, or the message did not originate on the link.
 */
export function ndisc_rcv(skb: Skb, idev: Inet6Dev): number {
  const st = idev.ndiscStats;
  const b = skb.buf;
  const nh = skb.network_header;
  if (b[nh + 7] !== NDISC_HOP_LIMIT) {
    st.InBadHopLimit++;
    idev.net.logBad(`ndisc: ${idev.dev.name}: invalid hop-limit ${b[nh + 7]} from ${formatIpv6(b, nh + 8)}; dropped`);
    return NET_RX_DROP;
  }
  if (b[skb.data + 1] !== 0) {
    st.InBadCode++;
    idev.net.logBad(`ndisc: ${idev.dev.name}: invalid ICMPv6 code ${b[skb.data + 1]} from ${formatIpv6(b, nh + 8)}; dropped`);
    return NET_RX_DROP;
  }
  switch (b[skb.data]) {
    case NDISC_NEIGHBOUR_SOLICITATION:
      return ndisc_recv_ns(skb, idev);
    case NDISC_NEIGHBOUR_ADVERTISEMENT:
      return ndisc_recv_na(skb, idev);
    case NDISC_ROUTER_SOLICITATION:
      return ndisc_recv_rs(skb, idev);
    case NDISC_ROUTER_ADVERTISEMENT:
    case NDISC_REDIRECT:
      // a router ignores other routers' RAs (accept_ra needs forwarding = 0) and takes no redirects
      return NET_RX_SUCCESS;
    default:
      return NET_RX_DROP;
  }
}

/**
 * Parse the options after the fixed part; returns the link-layer address of option `llType`, -1 when
 * absent, or -2 when an option is malformed (counted). A later option of the same type is ignored, as
 * ndisc_parse_options keeps the first.
 */
export function ndisc_ll_option(skb: Skb, idev: Inet6Dev, fixedLen: number, llType: number): number {
  opts.start(skb.buf, skb.data + fixedLen, skb.len - fixedLen);
  let found = -1;
  let t: number;
  while ((t = opts.next()) >= 0) {
    if (t === llType && found < 0) {
      // ndisc_opt_addr_data: the option must hold an Ethernet address (8 bytes)
      if (opts.optLen !== ND_OPT_LL_ADDR_LEN) {
        idev.ndiscStats.InBadOptions++;
        return -2;
      }
      found = readMac(skb.buf, opts.optOff + 2);
    }
  }
  if (t === -2) {
    idev.ndiscStats.InBadOptions++;
    idev.net.logBad(`ndisc: ${idev.dev.name}: malformed option from ${formatIpv6(skb.buf, skb.network_header + 8)}; dropped`);
    return -2;
  }
  return found;
}

/** ndisc_recv_ns */
function ndisc_recv_ns(skb: Skb, idev: Inet6Dev): number {
  const st = idev.ndiscStats;
  const b = skb.buf;
  const nh = skb.network_header;
  const o = skb.data;
  if (skb.len < NDISC_NS_LEN) {
    st.InTruncated++;
    return NET_RX_DROP;
  }
  const t = o + NDISC_TARGET_OFF;
  if (ipv6IsMulticast(b, t)) {
    st.InInvalid++;
    idev.net.logBad(`ndisc: ${idev.dev.name}: NS for multicast address ${formatIpv6(b, t)}; dropped`);
    return NET_RX_DROP;
  }
  const dad = ipv6IsUnspecified(b, nh + 8);
  // RFC 4861 §7.1.1: a DAD probe goes to the target's solicited-node group
  if (dad && !ipv6IsSolicitedNodeOf(b, nh + 24, b, t)) {
    st.InInvalid++;
    idev.net.logBad(`ndisc: ${idev.dev.name}: bad DAD packet (wrong destination ${formatIpv6(b, nh + 24)}); dropped`);
    return NET_RX_DROP;
  }
  const lladdr = ndisc_ll_option(skb, idev, NDISC_NS_LEN, ND_OPT_SOURCE_LL_ADDR);
  if (lladdr === -2) return NET_RX_DROP;
  if (dad && lladdr >= 0) {
    st.InInvalid++;
    idev.net.logBad(`ndisc: ${idev.dev.name}: bad DAD packet (link-layer address option); dropped`);
    return NET_RX_DROP;
  }
  const ifp = idev.addrIndex(b, t);
  if (ifp < 0) return NET_RX_SUCCESS; // not ours: no proxy ND, no anycast
  const target = idev.addrs[ifp];
  st.InSolicitsForUs++;
  if (dad) {
    // someone probes for one of our addresses: defend it (to all nodes, not solicited, override)
    st.InDadForUs++;
    ndisc_send_na(idev, IN6ADDR_LINKLOCAL_ALLNODES, 0, target, false, true, true);
    return NET_RX_SUCCESS;
  }
  const inc = ipv6IsMulticast(b, nh + 24);
  if (inc) idev.nd_tbl.stats.rcv_probes_mcast++;
  else idev.nd_tbl.stats.rcv_probes_ucast++;
  // the soliciting node's entry: created unless a multicast NS came without its address
  if (!inc || lladdr >= 0) {
    const key = idev.neighKey(b, nh + 8);
    if (key < 0) return NET_RX_DROP;
    const n = idev.nd_tbl.lookupOrCreate(key);
    if (n === null) return NET_RX_DROP;
    idev.nd_tbl.update(n, lladdr, NUD_STALE, NEIGH_UPDATE_F_WEAK_OVERRIDE | NEIGH_UPDATE_F_OVERRIDE);
    ndisc_send_na(idev, b, nh + 8, target, true, inc, inc);
  }
  return NET_RX_SUCCESS;
}

/** ndisc_recv_na */
function ndisc_recv_na(skb: Skb, idev: Inet6Dev): number {
  const st = idev.ndiscStats;
  const b = skb.buf;
  const nh = skb.network_header;
  const o = skb.data;
  if (skb.len < NDISC_NA_LEN) {
    st.InTruncated++;
    return NET_RX_DROP;
  }
  const t = o + NDISC_TARGET_OFF;
  const flags = b[o + 4];
  const solicited = (flags & NDISC_NA_SOLICITED) !== 0;
  if (ipv6IsMulticast(b, t)) {
    st.InInvalid++;
    return NET_RX_DROP;
  }
  if (ipv6IsMulticast(b, nh + 24) && solicited) {
    st.InInvalid++;
    idev.net.logBad(`ndisc: ${idev.dev.name}: solicited NA is multicasted; dropped`);
    return NET_RX_DROP;
  }
  const lladdr = ndisc_ll_option(skb, idev, NDISC_NA_LEN, ND_OPT_TARGET_LL_ADDR);
  if (lladdr === -2) return NET_RX_DROP;
  if (idev.isLocal(b, t)) {
    st.InConflicts++;
    idev.net.logBad(`ndisc: ${idev.dev.name}: NA: ${lladdr >= 0 ? formatMac(lladdr) : '?'} advertised our address ${formatIpv6(b, t)}!`);
    return NET_RX_SUCCESS;
  }
  // only entries we already have are updated (no creation from NA)
  const key = idev.keys.find(b, t);
  if (key < 0) return NET_RX_SUCCESS;
  const n = idev.nd_tbl.lookup(key);
  if (n === undefined) return NET_RX_SUCCESS;
  const override = (flags & NDISC_NA_OVERRIDE) !== 0;
  idev.nd_tbl.update(n, lladdr, solicited ? NUD_REACHABLE : NUD_STALE, NEIGH_UPDATE_F_WEAK_OVERRIDE | (override ? NEIGH_UPDATE_F_OVERRIDE : 0));
  return NET_RX_SUCCESS;
}

