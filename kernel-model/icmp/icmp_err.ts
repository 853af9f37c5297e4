// ICMP errors handed to the transport protocols (net/ipv4/icmp.c icmp_socket_deliver → net_protocol
// err_handler, e.g. __udp4_lib_err / tcp_v4_err). The quoted datagram is parsed once into a reused
// IcmpErr; each protocol registers its hook with NetnsIpv4.inet_add_err_handler(protocol, hook).
import type { Skb } from '../core/skb';
import type { InDevice } from '../ipv4/devinet';
import type { Ipv4Addr } from '../wire/address';
import { getU16, getU32 } from '../wire/bytes';
import {
  ICMP_DEST_UNREACH,
  ICMP_FRAG_NEEDED,
  ICMP_PARAMETERPROB,
  ICMP_TIME_EXCEEDED,
} from '../wire/icmp';

// errno values (include/uapi/asm-generic/errno.h)
export const EPROTO = 71;
export const EMSGSIZE = 90;
export const ENOPROTOOPT = 92;
export const EOPNOTSUPP = 95;
export const ENETUNREACH = 101;
export const ECONNREFUSED = 111;
export const EHOSTDOWN = 112;
export const EHOSTUNREACH = 113;
export const ENONET = 64;

/** ICMP_TIME_EXCEEDED codes */
export const ICMP_EXC_TTL = 0;
export const ICMP_EXC_FRAGTIME = 1;
/** IPPROTO_RAW: never gets errors (icmp_socket_deliver) */
const IPPROTO_RAW = 255;

/**
 * icmp_err_convert[code] (net/ipv4/icmp.c) for ICMP_DEST_UNREACH codes 0..15: errno and whether the
 * error is fatal (RFC 1122 §3.2.2.1: net/host unreachable and source route failed are transient).
 */
export const icmp_err_convert: readonly { errno: number; fatal: boolean }[] = Object.freeze([
  { errno: ENETUNREACH, fatal: false }, // ICMP_NET_UNREACH
  { errno: EHOSTUNREACH, fatal: false }, // ICMP_HOST_UNREACH
  { errno: ENOPROTOOPT, fatal: true }, // ICMP_PROT_UNREACH
  { errno: ECONNREFUSED, fatal: true }, // ICMP_PORT_UNREACH
  { errno: EMSGSIZE, fatal: false }, // ICMP_FRAG_NEEDED
  { errno: EOPNOTSUPP, fatal: false }, // ICMP_SR_FAILED
  { errno: ENETUNREACH, fatal: true }, // ICMP_NET_UNKNOWN
  { errno: EHOSTDOWN, fatal: true }, // ICMP_HOST_UNKNOWN
  { errno: ENONET, fatal: true }, // ICMP_HOST_ISOLATED
  { errno: ENETUNREACH, fatal: true }, // ICMP_NET_ANO
  { errno: EHOSTUNREACH, fatal: true }, // ICMP_HOST_ANO
  { errno: ENETUNREACH, fatal: false }, // ICMP_NET_UNR_TOS
  { errno: EHOSTUNREACH, fatal: false }, // ICMP_HOST_UNR_TOS
  { errno: EHOSTUNREACH, fatal: true }, // ICMP_PKT_FILTERED
  { errno: EHOSTUNREACH, fatal: true }, // ICMP_PREC_VIOLATION
  { errno: EHOSTUNREACH, fatal: true }, // ICMP_PREC_CUTOFF
]);

/**
 * One ICMP error as a protocol's err_handler sees it. The quoted datagram stays in `buf` (the receive
 * buffer, possibly guest memory): valid only during the handler call. At least the quoted IP header and
 * 8 bytes of its transport header are present (icmp_socket_deliver's pskb_may_pull).
 */
export class IcmpErr {
  ind!: InDevice;
  /** the ICMP message (skb.data at the quoted IP header); null for a local error */
  skb: Skb | null = null;
  type = 0;
  code = 0;
  /**
   * icmp_unreach's `info`: next-hop MTU for frag-needed (0 when ip_no_pmtu_disc says to ignore it),
   * the pointer for a parameter problem, the gateway for a redirect, else 0
   */
  info = 0;
  /** sender of the ICMP message (our own address for a local error) */
  from: Ipv4Addr = 0;
  /** errno and hardness as __udp4_lib_err maps them; tcp_v4_err has its own rules (PMTU, soft errors) */
  errno = 0;
  fatal = false;
  /** raised by our own output path (Linux: an ICMP sent to ourselves over lo), not received */
  local = false;
  buf!: Uint8Array;
  /** absolute offset of the quoted IPv4 header in buf, and its length in bytes */
  iph = 0;
  ihl = 0;
  protocol = 0;
  /** the quoted datagram's source (normally ours) and destination (the peer) */
  saddr: Ipv4Addr = 0;
  daddr: Ipv4Addr = 0;
  /** absolute offset of the quoted transport header and how many of its bytes are present (≥ 8) */
  l4 = 0;
  l4Len = 0;

  /** quoted transport source / destination port (UDP, TCP) */
  get sport(): number {
    return getU16(this.buf, this.l4);
  }
  get dport(): number {
    return getU16(this.buf, this.l4 + 2);
  }
}

const err = new IcmpErr();

/** the errno/fatal pair __udp4_lib_err derives from (type, code) */
function convert(e: IcmpErr): void {
  e.errno = 0;
  e.fatal = false;
  switch (e.type) {
    case ICMP_DEST_UNREACH:
      if (e.code === ICMP_FRAG_NEEDED) {
        e.errno = EMSGSIZE;
        e.fatal = true;
      } else if (e.code < icmp_err_convert.length) {
        e.errno = icmp_err_convert[e.code].errno;
        e.fatal = icmp_err_convert[e.code].fatal;
      } else {
        e.errno = EHOSTUNREACH;
      }
      break;
    case ICMP_TIME_EXCEEDED:
      e.errno = EHOSTUNREACH;
      break;
    case ICMP_PARAMETERPROB:
      e.errno = EPROTO;
      e.fatal = true;
      break;
    default:
      break;
  }
}

/**
 * icmp_socket_deliver: `skb.data` is at the quoted IP header (after the 8-byte ICMP header), `icmph`
 * the ICMP header's offset. Needs the quoted header + 8 bytes (else Icmp InErrors); hands the error to
 * the quoted protocol's err_handler. Returns false when the message was counted as an error.
 */
export function icmp_socket_deliver(ind: InDevice, skb: Skb, icmph: number, info: number): boolean {
  const net = ind.net;
  const b = skb.buf;
  const iph = skb.data;
  const ihl = (b[iph] & 15) << 2;
  if (skb.len < ihl + 8) {
    net.mib.Icmp.InErrors++;
    return false;
  }
  const protocol = b[iph + 9];
  if (protocol === IPPROTO_RAW) {
    net.mib.Icmp.InErrors++;
    return false;
  }
  const hook = net.inet_err_handlers[protocol];
  if (hook === null) return true;
  const e = err;
  e.ind = ind;
  e.skb = skb;
  e.type = b[icmph];
  e.code = b[icmph + 1];
  e.info = info >>> 0;
  e.from = getU32(b, skb.network_header + 12);
  e.local = false;
  fill(e, b, iph, ihl, skb.len - ihl);
  run(ind, hook, e);
  return true;
}

/**
 * The error ip_fragment raises for a locally generated DF datagram larger than the MTU. Linux sends
 * ICMP frag-needed to itself over lo, which reaches the protocol's err_handler; the model calls the
 * hook directly (no loopback device, so no ICMP or lo counters). `nh` is the datagram's IP header.
 */
export function icmp_local_error(ind: InDevice, buf: Uint8Array, nh: number, len: number, type: number, code: number, info: number): void {
  const ihl = (buf[nh] & 15) << 2;
  if (len < ihl) return;
  const hook = ind.net.inet_err_handlers[buf[nh + 9]];
  if (hook === null) return;
  const e = err;
  e.ind = ind;
  e.skb = null;
  e.type = type;
  e.code = code;
  e.info = info >>> 0;
  e.from = ind.primary;
  e.local = true;
  fill(e, buf, nh, ihl, len - ihl);
  run(ind, hook, e);
}

function fill(e: IcmpErr, b: Uint8Array, iph: number, ihl: number, l4Len: number): void {
  e.buf = b;
  e.iph = iph;
  e.ihl = ihl;
  e.protocol = b[iph + 9];
  e.saddr = getU32(b, iph + 12);
  e.daddr = getU32(b, iph + 16);
  e.l4 = iph + ihl;
  e.l4Len = l4Len;
  convert(e);
}

function run(ind: InDevice, hook: (e: IcmpErr) => void, e: IcmpErr): void {
  try {
    hook(e);
  } catch (x) {
    ind.net.drops.handlerErrors++;
    ind.net.log.error(`icmp: err_handler for protocol ${e.protocol} threw: ${(x as Error)?.stack ?? String(x)}`);
  }
}
