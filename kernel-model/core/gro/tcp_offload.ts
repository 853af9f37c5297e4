// TCP GRO (net/ipv4/tcp_offload.c tcp_gro_receive/tcp_gro_complete/tcp4_gro_receive/tcp4_gro_complete,
// net/ipv6/tcpv6_offload.c tcp6_gro_receive/tcp6_gro_complete), Linux 6.1. The TCP header is read at
// fixed offsets: 0 ports, 4 seq, 8 ack_seq, 12 the flag word (doff, reserved, flags, window), 16 check.
import { CHECKSUM_PARTIAL, SKB_GSO_TCPV4, SKB_GSO_TCPV6, SKB_GSO_TCP_ECN } from '../skb';
import { getU32, setU16 } from '../../wire/bytes';
import { SKB_GSO_TCP_FIXEDID, type GroCb, type GroList } from './gro_cb';
import { inet_pseudo, ip6_pseudo, pseudo_check, skb_gro_checksum_validate } from './gro_csum';
import { skb_gro_receive } from './skb_gro_receive';
import type { NapiGro } from './napi_gro';

export const IPPROTO_TCP = 6;

// tcp_flag_word bits (include/uapi/linux/tcp.h TCP_FLAG_*): the 32-bit word at offset 12, whose low
// 16 bits are the window, so a window change also breaks a merge
export const TCP_FLAG_CWR = 0x00800000;
export const TCP_FLAG_ECE = 0x00400000;
export const TCP_FLAG_URG = 0x00200000;
export const TCP_FLAG_ACK = 0x00100000;
export const TCP_FLAG_PSH = 0x00080000;
export const TCP_FLAG_RST = 0x00040000;
export const TCP_FLAG_SYN = 0x00020000;
export const TCP_FLAG_FIN = 0x00010000;
const FLUSH_FLAGS = TCP_FLAG_URG | TCP_FLAG_PSH | TCP_FLAG_RST | TCP_FLAG_SYN | TCP_FLAG_FIN;
const MERGE_IGNORED = ~(TCP_FLAG_CWR | TCP_FLAG_FIN | TCP_FLAG_PSH);

/**
 * tcp_gro_receive: find the held skb of this connection (same ports, among those the IP layer left
 * same_flow) and merge when everything but FIN/PSH/CWR of the flag word, the ACK number and the
 * option bytes match word for word, the IP ID rule holds, the segment is not larger than the head's
 * mss, its sequence continues the held data, and it fits (skb_gro_receive). Returns the held skb to
 * complete now (pp), or null; sets cb.flush when the segment must not be held.
 */
export function tcp_gro_receive(g: NapiGro, list: GroList, cb: GroCb): GroCb | null {
  const skb = cb.skb;
  const b = skb.buf;
  const off = cb.data_offset;
  const avail = skb.len - off;
  let flush = 1;
  let mss = 1;
  let p: GroCb | null = null;
  let pp: GroCb | null = null;

  // skb_gro_header: the fixed header, then the whole header with options
  if (avail < 20) {
    cb.flush |= 1;
    return null;
  }
  const th = skb.data + off;
  const thlen = (b[th + 12] >>> 4) << 2;
  if (thlen < 20 || avail < thlen) {
    cb.flush |= 1;
    return null;
  }
  cb.thoff = off;
  cb.thlen = thlen;
  cb.data_offset = off + thlen; // skb_gro_pull
  const len = avail - thlen;
  cb.payload = len;
  const flags = getU32(b, th + 12) | 0;
  const ports = getU32(b, th);
  cb.ports = ports;

  // list_for_each_entry, youngest first
  const e = list.entries;
  for (let i = list.count - 1; i >= 0; i--) {
    const q = e[i]!;
    if (!q.same_flow) continue;
    if (q.ports !== ports) {
      q.same_flow = 0;
      continue;
    }
    p = q;
    break;
  }

  if (p !== null) {
    const pb = p.skb.buf;
    const pth = p.skb.data + p.thoff;
    const flags2 = getU32(pb, pth + 12) | 0;
    // the IP layer's verdict on this pair (TTL/TOS/DF, length, fragments)
    flush = p.flush;
    flush |= flags & TCP_FLAG_CWR;
    flush |= (flags ^ flags2) & MERGE_IGNORED;
    flush |= getU32(b, th + 8) ^ getU32(pb, pth + 8);
    // options byte for byte (the doff is in the flag word: different lengths already flush)
    for (let i = 20; i < thlen && flush === 0; i += 4) flush |= getU32(b, th + i) ^ getU32(pb, pth + i);

    // on the second segment decide between a fixed and an incrementing IP ID
    if (p.flush_id !== 1 || p.count !== 1 || !p.is_atomic) flush |= p.flush_id;
    else p.is_atomic = 0;

    mss = p.skb.gso_size;
    // a GSO segment must have the head's mss; a single one may not be larger than it
    if (skb.gso_size !== 0) flush |= mss !== skb.gso_size ? 1 : 0;
    else flush |= (len - 1) >>> 0 >= mss ? 1 : 0;
    // contiguous sequence
    flush |= ((getU32(pb, pth + 4) + p.payload) >>> 0) ^ getU32(b, th + 4);

    if (flush !== 0 || skb_gro_receive(g, p, cb) !== 0) {
      mss = 1;
    } else {
      // the merged skb carries the segment's FIN and PSH (p's bytes are ours now)
      const ps = p.skb;
      ps.buf[ps.data + p.thoff + 13] |= (flags & (TCP_FLAG_FIN | TCP_FLAG_PSH)) >>> 16;
    }
  }

  // out_check_final: a segment shorter than mss, or with URG/PSH/RST/SYN/FIN, ends the flow
  if (skb.gso_size !== 0) flush = len !== cb.count * skb.gso_size ? 1 : 0;
  else flush = len < mss ? 1 : 0;
  flush |= flags & FLUSH_FLAGS;
  if (p !== null && (!cb.same_flow || flush !== 0)) pp = p;
  cb.flush |= flush !== 0 ? 1 : 0;
  return pp;
}

/** tcp4_gro_receive: validate the checksum unless the segment is flushed anyway */
export function tcp4_gro_receive(g: NapiGro, list: GroList, cb: GroCb): GroCb | null {
  const skb = cb.skb;
  if (!cb.flush) {
    const len = skb.len - cb.data_offset;
    const pseudo = inet_pseudo(skb.buf, skb.network_header, IPPROTO_TCP, len);
    if (skb_gro_checksum_validate(cb, pseudo, false, 1)) {
      cb.flush = 1;
      return null;
    }
  }
  return tcp_gro_receive(g, list, cb);
}

/** tcp6_gro_receive */
export function tcp6_gro_receive(g: NapiGro, list: GroList, cb: GroCb): GroCb | null {
  const skb = cb.skb;
  if (!cb.flush) {
    const len = skb.len - cb.data_offset;
    const pseudo = ip6_pseudo(skb.buf, skb.network_header, IPPROTO_TCP, len);
    if (skb_gro_checksum_validate(cb, pseudo, false, 1)) {
      cb.flush = 1;
      return null;
    }
  }
  return tcp_gro_receive(g, list, cb);
}

/** tcp_gro_complete: checksum left to the pseudo header (CHECKSUM_PARTIAL), gso_segs, ECN */
function tcp_gro_complete(p: GroCb): void {
  const skb = p.skb;
  const th = skb.data + p.thoff;
  skb.csum_start = th;
  skb.csum_offset = 16;
  skb.ip_summed = CHECKSUM_PARTIAL;
  skb.gso_segs = p.count;
  if (skb.buf[th + 13] & 0x80) skb.gso_type |= SKB_GSO_TCP_ECN;
}

/** tcp4_gro_complete: th->check = ~tcp_v4_check(len, saddr, daddr, 0); TCPV4 (+ FIXEDID) */
export function tcp4_gro_complete(p: GroCb): void {
  const skb = p.skb;
  const th = skb.data + p.thoff;
  const len = skb.len - p.thoff;
  setU16(skb.buf, th + 16, pseudo_check(inet_pseudo(skb.buf, skb.data, IPPROTO_TCP, len)));
  skb.gso_type |= SKB_GSO_TCPV4 | (p.is_atomic ? SKB_GSO_TCP_FIXEDID : 0);
  tcp_gro_complete(p);
}

/** tcp6_gro_complete: th->check = ~tcp_v6_check(len, saddr, daddr, 0); TCPV6 */
export function tcp6_gro_complete(p: GroCb): void {
  const skb = p.skb;
  const th = skb.data + p.thoff;
  const len = skb.len - p.thoff;
  setU16(skb.buf, th + 16, pseudo_check(ip6_pseudo(skb.buf, skb.data, IPPROTO_TCP, len)));
  skb.gso_type |= SKB_GSO_TCPV6;
  tcp_gro_complete(p);
}
