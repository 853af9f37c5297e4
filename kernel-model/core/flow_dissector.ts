// The flow dissector and the software flow hash (net/core/flow_dissector.c, include/net/flow_dissector.h,
// Linux 6.1): skb_get_hash dissects Ethernet payloads (VLAN tags, IPv4, IPv6 with extension headers,
// IP-in-IP, TCP/UDP/SCTP/DCCP/UDP-Lite ports, ESP/AH SPIs) into struct flow_keys, sorts addresses
// and ports so both directions hash alike (__flow_hash_consistentify), and SipHashes the keys from
// `basic` on with the per-boot key hashrnd. The keys live in an 80-byte buffer with Linux's x86-64
// layout, so for the same hashrnd the hash is the one Linux computes.
import type { Skb } from './skb';
import { siphash, type SipHashKey } from './rps/siphash';

// struct flow_keys (include/net/flow_dissector.h, 6.1) on x86-64: `basic` is __aligned(SIPHASH_ALIGNMENT)
export const FLOW_KEYS_SIZE = 80;
export const FLOW_KEYS_HASH_OFFSET = 8;
const CONTROL_THOFF = 0; // u16
const CONTROL_ADDR_TYPE = 2; // u16
const CONTROL_FLAGS = 4; // u32
const BASIC_N_PROTO = 8; // __be16
const BASIC_IP_PROTO = 10; // u8
const TAGS_FLOW_LABEL = 12; // u32 (host order)
const VLAN = 16; // u16 id:12 dei:1 prio:3, __be16 tpid, __be16 eth_type, u16 pad
const CVLAN = 24;
const KEYID = 32; // __be32 (GRE key; not parsed here: stays 0)
const PORTS = 36; // __be16 src, __be16 dst
// ICMP at 40 is not among flow_keys_dissector's keys: stays 0
const ADDRS = 44; // v4: src, dst (8 bytes); v6: src, dst (32 bytes)

// enum flow_dissector_key_id values used as control.addr_type (6.1)
export const FLOW_DISSECTOR_KEY_IPV4_ADDRS = 2;
export const FLOW_DISSECTOR_KEY_IPV6_ADDRS = 3;

// control.flags
export const FLOW_DIS_IS_FRAGMENT = 1 << 0;
export const FLOW_DIS_FIRST_FRAG = 1 << 1;
export const FLOW_DIS_ENCAPSULATION = 1 << 2;

// dissector flags
export const FLOW_DISSECTOR_F_PARSE_1ST_FRAG = 1 << 0;
export const FLOW_DISSECTOR_F_STOP_AT_FLOW_LABEL = 1 << 1;
export const FLOW_DISSECTOR_F_STOP_AT_ENCAP = 1 << 2;

/** MAX_FLOW_DISSECT_HDRS: headers skb_flow_dissect_allowed lets the dissector walk */
export const MAX_FLOW_DISSECT_HDRS = 15;

const ETH_P_IP = 0x0800;
const ETH_P_ARP = 0x0806;
const ETH_P_RARP = 0x8035;
const ETH_P_IPV6 = 0x86dd;
const ETH_P_8021Q = 0x8100;
const ETH_P_8021AD = 0x88a8;

const IPPROTO_HOPOPTS = 0;
const IPPROTO_IPIP = 4;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPPROTO_DCCP = 33;
const IPPROTO_IPV6 = 41;
const IPPROTO_ROUTING = 43;
const IPPROTO_FRAGMENT = 44;
const IPPROTO_ESP = 50;
const IPPROTO_AH = 51;
const IPPROTO_DSTOPTS = 60;
const IPPROTO_SCTP = 132;
const IPPROTO_UDPLITE = 136;

// enum flow_dissect_ret
const RET_OUT_GOOD = 0;
const RET_OUT_BAD = 1;
const RET_PROTO_AGAIN = 2;
const RET_IPPROTO_AGAIN = 3;
const RET_CONTINUE = 4;

/** struct flow_keys over its byte image (reused: zeroed by each dissection) */
export class FlowKeys {
  readonly b = new Uint8Array(FLOW_KEYS_SIZE);
  readonly dv = new DataView(this.b.buffer);
  get thoff(): number {
    return this.dv.getUint16(CONTROL_THOFF, true);
  }
  get addr_type(): number {
    return this.dv.getUint16(CONTROL_ADDR_TYPE, true);
  }
  get flags(): number {
    return this.dv.getUint32(CONTROL_FLAGS, true);
  }
  /** basic.n_proto in host order */
  get n_proto(): number {
    return this.dv.getUint16(BASIC_N_PROTO, false);
  }
  get ip_proto(): number {
    return this.b[BASIC_IP_PROTO];
  }
  get flow_label(): number {
    return this.dv.getUint32(TAGS_FLOW_LABEL, true);
  }
  get vlan_id(): number {
    return this.dv.getUint16(VLAN, true) & 0xfff;
  }
  /** ports.src / ports.dst in host order */
  get sport(): number {
    return this.dv.getUint16(PORTS, false);
  }
  get dport(): number {
    return this.dv.getUint16(PORTS + 2, false);
  }
  /** ports.ports as a raw 32-bit value (non-zero when ports were found) */
  get ports(): number {
    return this.dv.getUint32(PORTS, true);
  }
  /** src/dst address bytes (4 or 16 bytes by addr_type; empty when none) */
  src(): Uint8Array {
    const n = this.addrLen();
    return this.b.slice(ADDRS, ADDRS + n);
  }
  dst(): Uint8Array {
    const n = this.addrLen();
    return this.b.slice(ADDRS + n, ADDRS + 2 * n);
  }
  private addrLen(): number {
    const t = this.addr_type;
    return t === FLOW_DISSECTOR_KEY_IPV4_ADDRS ? 4 : t === FLOW_DISSECTOR_KEY_IPV6_ADDRS ? 16 : 0;
  }
}

/** proto_ports_offset (include/net/ip.h): where the 32-bit "ports" word sits in the L4 header */
function proto_ports_offset(proto: number): number {
  switch (proto) {
    case IPPROTO_TCP:
    case IPPROTO_UDP:
    case IPPROTO_DCCP:
    case IPPROTO_ESP: // SPI
    case IPPROTO_SCTP:
    case IPPROTO_UDPLITE:
      return 0;
    case IPPROTO_AH: // SPI
      return 4;
    default:
      return -1;
  }
}

/**
 * __skb_flow_dissect with flow_keys_dissector over buf[nhoff .. end): `proto` is the ethertype (host
 * order) of the header at nhoff. Fills `keys` (zeroed first); returns false when a header was
 * missing or malformed (the keys found so far stay, as Linux's out_bad does). Reads nothing
 * outside [nhoff, end).
 */
export function flow_dissect(keys: FlowKeys, buf: Uint8Array, nhoff: number, end: number, proto: number, flags: number): boolean {
  const k = keys.b;
  k.fill(0);
  const start = nhoff;
  if (end > buf.length) end = buf.length;
  let ip_proto = 0;
  let num_hdrs = 0;
  let cflags = 0;
  let vlan_depth = 0;
  let ret = false;
  let in_proto = true;

  for (;;) {
    let fdret = RET_CONTINUE;
    if (in_proto) {
      switch (proto) {
        case ETH_P_IP: {
          if (nhoff + 20 > end) {
            fdret = RET_OUT_BAD;
            break;
          }
          const ihl = buf[nhoff] & 15;
          if (ihl < 5) {
            fdret = RET_OUT_BAD;
            break;
          }
          ip_proto = buf[nhoff + 9];
          for (let i = 0; i < 8; i++) k[ADDRS + i] = buf[nhoff + 12 + i];
          keys.dv.setUint16(CONTROL_ADDR_TYPE, FLOW_DISSECTOR_KEY_IPV4_ADDRS, true);
          const frag_off = (buf[nhoff + 6] << 8) | buf[nhoff + 7];
          nhoff += ihl * 4;
          // ip_is_fragment: MF or an offset
          if (frag_off & 0x3fff) {
            cflags |= FLOW_DIS_IS_FRAGMENT;
            if (frag_off & 0x1fff) fdret = RET_OUT_GOOD;
            else {
              cflags |= FLOW_DIS_FIRST_FRAG;
              if (!(flags & FLOW_DISSECTOR_F_PARSE_1ST_FRAG)) fdret = RET_OUT_GOOD;
            }
          }
          break;
        }
        case ETH_P_IPV6: {
          if (nhoff + 40 > end) {
            fdret = RET_OUT_BAD;
            break;
          }
          ip_proto = buf[nhoff + 6];
          for (let i = 0; i < 32; i++) k[ADDRS + i] = buf[nhoff + 8 + i];
          keys.dv.setUint16(CONTROL_ADDR_TYPE, FLOW_DISSECTOR_KEY_IPV6_ADDRS, true);
          const flow_label = ((buf[nhoff + 1] & 0x0f) << 16) | (buf[nhoff + 2] << 8) | buf[nhoff + 3];
          nhoff += 40;
          if (flow_label) {
            // key_tags->flow_label = ntohl(ip6_flowlabel(iph))
            keys.dv.setUint32(TAGS_FLOW_LABEL, flow_label, true);
            if (flags & FLOW_DISSECTOR_F_STOP_AT_FLOW_LABEL) fdret = RET_OUT_GOOD;
          }
          break;
        }
        case ETH_P_8021Q:
        case ETH_P_8021AD: {
          if (nhoff + 4 > end) {
            fdret = RET_OUT_BAD;
            break;
          }
          const tpid = proto;
          const tci = (buf[nhoff] << 8) | buf[nhoff + 1];
          proto = (buf[nhoff + 2] << 8) | buf[nhoff + 3];
          nhoff += 4;
          fdret = RET_PROTO_AGAIN;
          if (vlan_depth >= 2) break; // a third tag: walked over, not recorded
          const o = vlan_depth === 0 ? VLAN : CVLAN;
          vlan_depth++;
          // vlan_id:12 then vlan_dei:1 then vlan_priority:3 (the dissector sets id and priority)
          keys.dv.setUint16(o, (tci & 0x0fff) | ((tci >>> 13) << 13), true);
          keys.dv.setUint16(o + 2, tpid, false);
          keys.dv.setUint16(o + 4, proto, false);
          break;
        }
        case ETH_P_ARP:
        case ETH_P_RARP:
          fdret = RET_OUT_GOOD; // no ARP key in flow_keys_dissector
          break;
        default:
          fdret = RET_OUT_BAD;
      }
      if (fdret === RET_OUT_GOOD) {
        ret = true;
        break;
      }
      if (fdret === RET_PROTO_AGAIN) {
        if (++num_hdrs <= MAX_FLOW_DISSECT_HDRS) continue;
        ret = true;
        break;
      }
      if (fdret === RET_OUT_BAD) break;
      in_proto = false;
      fdret = RET_CONTINUE;
    }

    // ip_proto_again
    switch (ip_proto) {
      case IPPROTO_HOPOPTS:
      case IPPROTO_ROUTING:
      case IPPROTO_DSTOPTS:
        if (proto !== ETH_P_IPV6) break;
        if (nhoff + 2 > end) {
          fdret = RET_OUT_BAD;
          break;
        }
        ip_proto = buf[nhoff];
        nhoff += (buf[nhoff + 1] + 1) << 3;
        fdret = RET_IPPROTO_AGAIN;
        break;
      case IPPROTO_FRAGMENT: {
        if (proto !== ETH_P_IPV6) break;
        if (nhoff + 8 > end) {
          fdret = RET_OUT_BAD;
          break;
        }
        cflags |= FLOW_DIS_IS_FRAGMENT;
        const frag_off = (buf[nhoff + 2] << 8) | buf[nhoff + 3];
        ip_proto = buf[nhoff];
        nhoff += 8;
        fdret = RET_OUT_GOOD;
        if (!(frag_off & 0xfff8)) {
          cflags |= FLOW_DIS_FIRST_FRAG;
          if (flags & FLOW_DISSECTOR_F_PARSE_1ST_FRAG) fdret = RET_IPPROTO_AGAIN;
        }
        break;
      }
      case IPPROTO_IPIP:
        proto = ETH_P_IP;
        cflags |= FLOW_DIS_ENCAPSULATION;
        fdret = flags & FLOW_DISSECTOR_F_STOP_AT_ENCAP ? RET_OUT_GOOD : RET_PROTO_AGAIN;
        break;
      case IPPROTO_IPV6:
        proto = ETH_P_IPV6;
        cflags |= FLOW_DIS_ENCAPSULATION;
        fdret = flags & FLOW_DISSECTOR_F_STOP_AT_ENCAP ? RET_OUT_GOOD : RET_PROTO_AGAIN;
        break;
      default:
        break;
    }

    // __skb_flow_dissect_ports: every pass that is not a fragment
    if (!(cflags & FLOW_DIS_IS_FRAGMENT)) {
      const poff = proto_ports_offset(ip_proto);
      const at = nhoff + poff;
      if (poff >= 0 && at >= 0 && at + 4 <= end) {
        k[PORTS] = buf[at];
        k[PORTS + 1] = buf[at + 1];
        k[PORTS + 2] = buf[at + 2];
        k[PORTS + 3] = buf[at + 3];
      } else {
        k[PORTS] = k[PORTS + 1] = k[PORTS + 2] = k[PORTS + 3] = 0;
      }
    }

    if (fdret === RET_PROTO_AGAIN) {
      if (++num_hdrs <= MAX_FLOW_DISSECT_HDRS) {
        in_proto = true;
        continue;
      }
    } else if (fdret === RET_IPPROTO_AGAIN) {
      if (++num_hdrs <= MAX_FLOW_DISSECT_HDRS) continue;
    } else if (fdret === RET_OUT_BAD) {
      break;
    }
    ret = true;
    break;
  }

  // out:
  const thoff = nhoff - start;
  keys.dv.setUint16(CONTROL_THOFF, Math.max(0, Math.min(thoff, end - start, 0xffff)), true);
  keys.dv.setUint32(CONTROL_FLAGS, cflags, true);
  keys.dv.setUint16(BASIC_N_PROTO, proto & 0xffff, false);
  k[BASIC_IP_PROTO] = ip_proto;
  return ret;
}

/** flow_keys_have_l4: ports or an IPv6 flow label make the hash an L4 hash */
export function flow_keys_have_l4(keys: FlowKeys): boolean {
  return keys.ports !== 0 || keys.flow_label !== 0;
}

/**
 * __flow_hash_consistentify (6.1, after "net: core: fix flow symmetric hash" and "net: let flow
 * have same hash in two directions"): addresses and ports are each put in ascending order, compared
 * as the raw little-endian integers x86 loads (IPv4 addresses as u32, ports as u16; IPv6 by memcmp).
 */
export function __flow_hash_consistentify(keys: FlowKeys): void {
  const dv = keys.dv;
  const b = keys.b;
  const t = keys.addr_type;
  if (t === FLOW_DISSECTOR_KEY_IPV4_ADDRS) {
    const src = dv.getUint32(ADDRS, true);
    const dst = dv.getUint32(ADDRS + 4, true);
    if (dst < src) {
      dv.setUint32(ADDRS, dst, true);
      dv.setUint32(ADDRS + 4, src, true);
    }
  } else if (t === FLOW_DISSECTOR_KEY_IPV6_ADDRS) {
    let diff = 0;
    for (let i = 0; i < 16 && diff === 0; i++) diff = b[ADDRS + 16 + i] - b[ADDRS + i];
    if (diff < 0) {
      for (let i = 0; i < 16; i++) {
        const x = b[ADDRS + i];
        b[ADDRS + i] = b[ADDRS + 16 + i];
        b[ADDRS + 16 + i] = x;
      }
    }
  } else {
    return;
  }
  const sp = dv.getUint16(PORTS, true);
  const dp = dv.getUint16(PORTS + 2, true);
  if (dp < sp) {
    dv.setUint16(PORTS, dp, true);
    dv.setUint16(PORTS + 2, sp, true);
  }
}

/** flow_keys_hash_length: from `basic` to the end of the struct, counting only the address family used */
export function flow_keys_hash_length(keys: FlowKeys): number {
  let diff = FLOW_KEYS_HASH_OFFSET + 32;
  const t = keys.addr_type;
  if (t === FLOW_DISSECTOR_KEY_IPV4_ADDRS) diff -= 8;
  else if (t === FLOW_DISSECTOR_KEY_IPV6_ADDRS) diff -= 32;
  return FLOW_KEYS_SIZE - diff;
}

/** __flow_hash_from_keys: consistentify, siphash from `basic`; 0 becomes 1 */
export function flow_hash_from_keys(keys: FlowKeys, hashrnd: SipHashKey): number {
  __flow_hash_consistentify(keys);
  const h = siphash(keys.b, FLOW_KEYS_HASH_OFFSET, flow_keys_hash_length(keys), hashrnd);
  return h === 0 ? 1 : h;
}

/** scratch keys for skb_get_hash (single-threaded model: never re-entered) */
const scratch = new FlowKeys();

/**
 * skb_flow_dissect_flow_keys(skb, keys, flags): dissect from skb.data (skb.protocol names the
 * header there, as after eth_type_trans).
 */
export function skb_flow_dissect_flow_keys(skb: Skb, keys: FlowKeys, flags: number): boolean {
  const end = skb.data + skb.len;
  if (!skb.valid) {
    keys.b.fill(0);
    return false;
  }
  return flow_dissect(keys, skb.buf, skb.data, end, skb.protocol, flags);
}

/**
 * __skb_get_hash: dissect (stopping at a non-zero IPv6 flow label), hash with hashrnd, and set
 * skb.hash, sw_hash and l4_hash (__skb_set_sw_hash).
 */
export function __skb_get_hash(skb: Skb, hashrnd: SipHashKey): void {
  skb_flow_dissect_flow_keys(skb, scratch, FLOW_DISSECTOR_F_STOP_AT_FLOW_LABEL);
  const hash = flow_hash_from_keys(scratch, hashrnd);
  skb.l4_hash = flow_keys_have_l4(scratch);
  skb.sw_hash = true;
  skb.hash = hash;
}

/**
 * skb_get_hash (include/linux/skbuff.h): the flow hash, computed in software unless the skb already
 * carries an L4 or software hash (a driver's L3-only hash is recomputed, as in Linux).
 */
export function skb_get_hash(skb: Skb, hashrnd: SipHashKey): number {
  if (!skb.l4_hash && !skb.sw_hash) __skb_get_hash(skb, hashrnd);
  return skb.hash;
}
