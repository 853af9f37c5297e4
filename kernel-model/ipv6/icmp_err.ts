// ICMPv6 errors handed to the protocol that sent the quoted packet (Linux 6.1 net/ipv6/icmp.c
// icmpv6_notify, icmpv6_err_convert): the IPv6 twin of icmp/icmp_err.ts. The quoted packet's extension
// headers are walked with ipv6_skip_exthdr, bounded by the message's end; a quote without its IPv6
// header, with a broken header chain, or without 8 bytes of the upper-layer header counts Icmp6
// InErrors and goes no further. Each protocol registers its hook with NetnsIpv6.inet6_add_err_handler.
import type { Skb } from '../core/skb';
import { ECONNREFUSED, EHOSTUNREACH, EMSGSIZE, ENETUNREACH, EPROTO } from '../icmp/icmp_err';
import { getU16 } from '../wire/bytes';
import { ICMPV6_DEST_UNREACH, ICMPV6_HLEN, ICMPV6_PARAMPROB, ICMPV6_PKT_TOOBIG, ICMPV6_TIME_EXCEED } from '../wire/icmpv6';
import { formatIpv6, IPV6_HLEN } from '../wire/ipv6';
import { ipv6_ext_hdr, ipv6_skip_exthdr, skipResult } from './exthdrs';
import type { Inet6Dev } from './inet6_dev';

/** EACCES (include/uapi/asm-base/errno-base.h): administratively prohibited, policy, reject route */
export const EACCES = 13;

/** icmpv6_err_convert's tab_unreach, by ICMPv6 destination-unreachable code (RFC 4443 §3.1) */
const tab_unreach: readonly { errno: number; fatal: boolean }[] = Object.freeze([
  { errno: ENETUNREACH, fatal: false }, // ICMPV6_NOROUTE
  { errno: EACCES, fatal: true }, // ICMPV6_ADM_PROHIBITED
  { errno: EHOSTUNREACH, fatal: false }, // was NOT_NEIGHBOUR, now reserved
  { errno: EHOSTUNREACH, fatal: false }, // ICMPV6_ADDR_UNREACH
  { errno: ECONNREFUSED, fatal: true }, // ICMPV6_PORT_UNREACH
  { errno: EACCES, fatal: true }, // ICMPV6_POLICY_FAIL
  { errno: EACCES, fatal: true }, // ICMPV6_REJECT_ROUTE
]);

/** icmpv6_err_convert's outputs */
export const convertResult = { errno: 0, fatal: false };

/** icmpv6_err_convert: errno and whether the error is hard (into convertResult); returns fatal */
export function icmpv6_err_convert(type: number, code: number): boolean {
  let errno = EPROTO;
  let fatal = false;
  switch (type) {
    case ICMPV6_DEST_UNREACH:
      fatal = true;
      if (code < tab_unreach.length) {
        errno = tab_unreach[code].errno;
        fatal = tab_unreach[code].fatal;
      }
      break;
    case ICMPV6_PKT_TOOBIG:
      errno = EMSGSIZE;
      break;
    case ICMPV6_PARAMPROB:
      fatal = true;
      break;
    case ICMPV6_TIME_EXCEED:
      errno = EHOSTUNREACH;
      break;
    default:
      break;
  }
  convertResult.errno = errno;
  convertResult.fatal = fatal;
  return fatal;
}

/**
 * One ICMPv6 error as a protocol's err_handler sees it (inet6_protocol.err_handler's arguments). The
 * quote stays in `buf` (the receive buffer, possibly guest memory): valid only during the call. The
 * quoted IPv6 header and 8 bytes of the upper-layer header are present.
 */
export class Icmp6Err {
  idev!: Inet6Dev;
  /** the ICMPv6 message: data at its header, network_header at the outer IPv6 header */
  skb!: Skb;
  type = 0;
  code = 0;
  /** the 32-bit field after the checksum: the MTU of a Packet Too Big, a parameter problem's pointer */
  info = 0;
  /** icmpv6_err_convert's errno and hardness */
  errno = 0;
  fatal = false;
  buf!: Uint8Array;
  /** absolute offset of the quoted IPv6 header (its source, normally ours, at +8; destination at +24) */
  iph = 0;
  /** the upper-layer protocol the header chain ends in */
  nexthdr = 0;
  /** absolute offset of the upper-layer header and how many of its bytes are present (≥ 8) */
  l4 = 0;
  l4Len = 0;

  /** offset (in buf) of the quoted source / destination address */
  get saddr(): number {
    return this.iph + 8;
  }
  get daddr(): number {
    return this.iph + 24;
  }
  /** quoted transport source / destination port (UDP, TCP) */
  get sport(): number {
    return getU16(this.buf, this.l4);
  }
  get dport(): number {
    return getU16(this.buf, this.l4 + 2);
  }
}

const err = new Icmp6Err();

/**
 * icmpv6_notify: `skb.data` at the ICMPv6 header of an error message (type < 128), skb.len its length.
 * Walks the quote to the upper-layer header and calls that protocol's err_handler. False when the
 * quote was unusable (counted in Icmp6 InErrors).
 */
export function icmpv6_notify(idev: Inet6Dev, skb: Skb, type: number, code: number, info: number): boolean {
  const net = idev.net;
  const b = skb.buf;
  const q = skb.data + ICMPV6_HLEN;
  const end = skb.data + skb.len;
  if (q + IPV6_HLEN > end) return notify_bad(idev, skb, 'quote shorter than an IPv6 header');
  let nexthdr = b[q + 6];
  let inner = q + IPV6_HLEN;
  if (ipv6_ext_hdr(nexthdr)) {
    // every step is bounded by `end`; a header length that lies puts the next one past it
    inner = ipv6_skip_exthdr(b, q, end);
    if (inner < 0) return notify_bad(idev, skb, 'quoted extension headers cut short');
    nexthdr = skipResult.nexthdr;
  }
  // the quoted upper-layer header's first 8 bytes (ports and sequence)
  if (inner + 8 > end) return notify_bad(idev, skb, 'quote without 8 bytes of its transport header');
  const hook = net.inet6_err_handlers[nexthdr];
  if (hook === null) return true;
  const e = err;
  e.idev = idev;
  e.skb = skb;
  e.type = type;
  e.code = code;
  e.info = info >>> 0;
  icmpv6_err_convert(type, code);
  e.errno = convertResult.errno;
  e.fatal = convertResult.fatal;
  e.buf = b;
  e.iph = q;
  e.nexthdr = nexthdr;
  e.l4 = inner;
  e.l4Len = end - inner;
  try {
    hook(e);
  } catch (x) {
    net.drops.handlerErrors++;
    net.log.error(`icmpv6: err_handler for next header ${nexthdr} threw: ${(x as Error)?.stack ?? String(x)}`);
  }
  return true;
}

function notify_bad(idev: Inet6Dev, skb: Skb, what: string): boolean {
  idev.net.mib.Icmp6.InErrors++;
  idev.net.logBad(`icmpv6: error type ${skb.buf[skb.data]} from ${formatIpv6(skb.buf, skb.network_header + 8)}: ${what}; dropped`);
  return false;
}
