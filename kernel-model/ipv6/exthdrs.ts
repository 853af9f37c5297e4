// IPv6 extension headers on receive (net/ipv6/exthdrs.c, net/ipv6/reassembly.c ipv6_frag_rcv):
// hop-by-hop and destination options (TLVs with RFC 8200 §4.2's unknown-option actions and Linux's
// padding and count limits), the routing header (RFC 8200 §4.4, RFC 5095), and the fragment header
// (atomic fragments pass; real fragments go to reassembly.ts). Every
// read is bounds-checked against the packet's end. A handler returns the offset of the next header, or
// -1 when the packet was dropped (already counted, and answered with ICMPv6 where Linux does).
import type { Skb } from '../core/skb';
import { PACKET_HOST } from '../core/skb';
import { getU16 } from '../wire/bytes';
import {
  ICMPV6_HDR_FIELD,
  ICMPV6_HDR_INCOMP,
  ICMPV6_PARAMPROB,
  ICMPV6_UNK_OPTION,
} from '../wire/icmpv6';
import {
  formatIpv6,
  IP6_MF,
  IP6_OFFSET,
  ipv6IsMulticast,
  IPV6_HLEN,
  IPV6_TLV_JUMBO,
  IPV6_TLV_PAD1,
  IPV6_TLV_PADN,
  IPV6_TLV_ROUTERALERT,
  NEXTHDR_AUTH,
  NEXTHDR_DEST,
  NEXTHDR_FRAGMENT,
  NEXTHDR_HOP,
  NEXTHDR_NONE,
  NEXTHDR_ROUTING,
} from '../wire/ipv6';
import { icmp6_send } from './icmp';
import { ip6_frag_queue, type Ip6Resume } from './reassembly';
import type { Inet6Dev } from './inet6_dev';

/** ipv6_ext_hdr */
export function ipv6_ext_hdr(nexthdr: number): boolean {
  return (
    nexthdr === NEXTHDR_HOP ||
    nexthdr === NEXTHDR_ROUTING ||
    nexthdr === NEXTHDR_FRAGMENT ||
    nexthdr === NEXTHDR_AUTH ||
    nexthdr === NEXTHDR_NONE ||
    nexthdr === NEXTHDR_DEST
  );
}

/** ipv6_skip_exthdr's outputs (one shared object: the walk is synchronous) */
export const skipResult = { nexthdr: 0, fragOff: 0 };

/**
 * ipv6_skip_exthdr: from the header after the fixed one, skip extension headers; returns the offset of
 * the upper-layer header (skipResult.nexthdr names it), or -1 when the chain is cut short or ends in
 * NEXTHDR_NONE. Stops at a non-first fragment (nexthdr stays FRAGMENT).
 */
export function ipv6_skip_exthdr(b: Uint8Array, nh: number, end: number): number {
  let nexthdr = b[nh + 6];
  let start = nh + IPV6_HLEN;
  skipResult.fragOff = 0;
  while (ipv6_ext_hdr(nexthdr)) {
    if (nexthdr === NEXTHDR_NONE || start + 2 > end) return -1;
    let hdrlen: number;
    if (nexthdr === NEXTHDR_FRAGMENT) {
      if (start + 4 > end) return -1;
      skipResult.fragOff = getU16(b, start + 2);
      if (skipResult.fragOff & ~7) break;
      hdrlen = 8;
    } else if (nexthdr === NEXTHDR_AUTH) {
      hdrlen = (b[start + 1] + 2) << 2;
    } else {
      hdrlen = (b[start + 1] + 1) << 3;
    }
    nexthdr = b[start];
    start += hdrlen;
  }
  skipResult.nexthdr = nexthdr;
  return start;
}

/** icmpv6_param_prob: pointer = offset from the start of the IPv6 header */
function param_prob(idev: Inet6Dev, skb: Skb, code: number, pointer: number, allowMcast = false): void {
  icmp6_send(idev, skb, ICMPV6_PARAMPROB, code, pointer, allowMcast);
}

/**
 * ip6_parse_tlv: the options of a hop-by-hop (`hop`) or destination options header at b[off, off+len).
 * True when the packet may go on. Bad padding, too many options or an option past the end drop it
 * silently; an unknown option acts by its two high bits (RFC 8200 §4.2).
 */
function ip6_parse_tlv(idev: Inet6Dev, skb: Skb, hop: boolean, off: number, len: number): boolean {
  const b = skb.buf;
  const nh = skb.network_header;
  const max = hop ? idev.net.sysctl.max_hbh_opts_number : idev.net.sysctl.max_dst_opts_number;
  let i = off + 2;
  const end = off + len;
  let padlen = 0;
  let count = 0;
  while (i < end) {
    const t = b[i];
    if (t === IPV6_TLV_PAD1) {
      padlen++;
      if (padlen > 7) return false;
      i++;
      continue;
    }
    if (i + 2 > end) return false;
    const optlen = b[i + 1] + 2;
    if (i + optlen > end) return false;
    if (t === IPV6_TLV_PADN) {
      // RFC 8200: PadN aligns to 8 bytes (at most 7); RFC 4942 §2.1.9.5: its payload must be zero
      padlen += optlen;
      if (padlen > 7) return false;
      for (let k = 2; k < optlen; k++) if (b[i + k] !== 0) return false;
    } else {
      count++;
      if (count > max) return false;
      if (hop && t === IPV6_TLV_ROUTERALERT) {
        // ipv6_hop_ra: two bytes of value (no router-alert sockets in the model: nothing else to do)
        if (optlen !== 4) return false;
      } else if (hop && t === IPV6_TLV_JUMBO) {
        // ipv6_hop_jumbo: a jumbogram cannot arrive over the model's links (< 65536 bytes)
        if (optlen !== 6 || (i - nh) & 3) return false;
        param_prob(idev, skb, ICMPV6_HDR_FIELD, i + 2 - nh);
        return false;
      } else {
        // ip6_tlvopt_unknown
        switch (t >>> 6) {
          case 0:
            break;
          case 1:
            return false;
          case 3:
            if (ipv6IsMulticast(b, nh + 24)) return false;
            param_prob(idev, skb, ICMPV6_UNK_OPTION, i - nh, false);
            return false;
          default:
            param_prob(idev, skb, ICMPV6_UNK_OPTION, i - nh, true);
            return false;
        }
      }
      padlen = 0;
    }
    i += optlen;
  }
  return true;
}

/** the length of the 8-byte-unit header at `off`, or -1 when it does not fit before `end` */
function optlen_checked(b: Uint8Array, off: number, end: number): number {
  if (off + 8 > end) return -1;
  const l = (b[off + 1] + 1) << 3;
  return off + l > end ? -1 : l;
}

function hdr_error(idev: Inet6Dev, skb: Skb, what: string): number {
  idev.net.mib.Ip6.InHdrErrors++;
  idev.net.logBad(`ipv6: ${idev.dev.name}: ${what} from ${formatIpv6(skb.buf, skb.network_header + 8)}; dropped`);
  return -1;
}

/** ipv6_parse_hopopts: the hop-by-hop header right after the fixed header */
export function ipv6_parse_hopopts(idev: Inet6Dev, skb: Skb, off: number, end: number): number {
  const l = optlen_checked(skb.buf, off, end);
  if (l < 0) return hdr_error(idev, skb, 'truncated hop-by-hop header');
  if (!ip6_parse_tlv(idev, skb, true, off, l)) return hdr_error(idev, skb, 'bad hop-by-hop options');
  return off + l;
}

/** ipv6_destopt_rcv */
export function ipv6_destopt_rcv(idev: Inet6Dev, skb: Skb, off: number, end: number): number {
  const l = optlen_checked(skb.buf, off, end);
  if (l < 0) return hdr_error(idev, skb, 'truncated destination options header');
  if (!ip6_parse_tlv(idev, skb, false, off, l)) return hdr_error(idev, skb, 'bad destination options');
  return off + l;
}

/** drops Linux makes without a MIB counter (segment routing disabled) go here */
export const exthdrDrops = { srhDisabled: 0 };

/** ipv6_rthdr_rcv with accept_source_route = 0, seg6_enabled = 0, rpl_seg_enabled = 0 */
export function ipv6_rthdr_rcv(idev: Inet6Dev, skb: Skb, off: number, end: number): number {
  const b = skb.buf;
  const nh = skb.network_header;
  const l = optlen_checked(b, off, end);
  if (l < 0) return hdr_error(idev, skb, 'truncated routing header');
  if (ipv6IsMulticast(b, nh + 24) || skb.pkt_type !== PACKET_HOST) {
    idev.net.mib.Ip6.InAddrErrors++;
    return -1;
  }
  const type = b[off + 2];
  if (type === 3 || type === 4) {
    exthdrDrops.srhDisabled++;
    return -1;
  }
  if (b[off + 3] === 0) return off + l;
  // segments left: the model forwards nothing (type 0 is deprecated, RFC 5095; type 2 needs mobile IPv6)
  idev.net.mib.Ip6.InHdrErrors++;
  param_prob(idev, skb, ICMPV6_HDR_FIELD, off + 2 - nh);
  return -1;
}

/**
 * ipv6_frag_rcv: atomic fragments pass (RFC 6946); real ones are queued (reassembly.ts) and, once
 * complete, delivered through `resume` from the header after the fragment header. `nhoff` is the byte
 * that named the fragment header.
 */
export function ipv6_frag_rcv(idev: Inet6Dev, skb: Skb, off: number, end: number, nhoff: number, resume: Ip6Resume): number {
  const mib = idev.net.mib;
  const b = skb.buf;
  const nh = skb.network_header;
  mib.Ip6.ReasmReqds++;
  if (getU16(b, nh + 4) === 0 || off + 8 > end) {
    mib.Ip6.InHdrErrors++;
    param_prob(idev, skb, ICMPV6_HDR_FIELD, off - nh);
    return -1;
  }
  const fo = getU16(b, off + 2);
  if ((fo & (IP6_OFFSET | IP6_MF)) === 0) {
    mib.Ip6.ReasmOKs++;
    return off + 8;
  }
  if ((fo & IP6_OFFSET) === 0) {
    // RFC 8200 §4.5: a first fragment must carry the whole header chain up to the upper-layer header
    const r = ipv6_skip_exthdr_from(b, b[off], off + 8, end);
    if (r < 0) {
      mib.Ip6.InHdrErrors++;
      param_prob(idev, skb, ICMPV6_HDR_INCOMP, 0);
      return -1;
    }
  }
  return ip6_frag_queue(idev, skb, off, nhoff, resume);
}

/** like ipv6_skip_exthdr from an arbitrary header; -1 when the chain runs past `end` */
function ipv6_skip_exthdr_from(b: Uint8Array, first: number, start: number, end: number): number {
  let nexthdr = first;
  let p = start;
  while (ipv6_ext_hdr(nexthdr) && nexthdr !== NEXTHDR_NONE) {
    if (p + 8 > end) return -1;
    const l = nexthdr === NEXTHDR_FRAGMENT ? 8 : nexthdr === NEXTHDR_AUTH ? (b[p + 1] + 2) << 2 : (b[p + 1] + 1) << 3;
    if (p + l > end) return -1;
    nexthdr = b[p];
    p += l;
  }
  return p;
}
