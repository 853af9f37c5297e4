// IPv6 GRO (net/ipv6/ip6_offload.c ipv6_gro_receive/ipv6_gro_complete), Linux 6.1.
import { getU16, getU32, setU16 } from '../../wire/bytes';
import type { GroCb, GroList } from './gro_cb';
import { IPPROTO_TCP, tcp6_gro_complete, tcp6_gro_receive } from './tcp_offload';
import { IPPROTO_UDP, udp6_gro_receive } from './udp_offload';
import type { NapiGro } from './napi_gro';

const IPV6_HLEN = 40;

/**
 * ipv6_gro_receive: same flow = equal version and flow label (first word & 0xF00FFFFF), addresses
 * and next header; a traffic class or hop limit difference flushes the held skb (hop limit: since
 * 5.18), as does a payload_len other than the received length. Extension headers (which Linux
 * skips through ipv6_gso_pull_exthdrs) are not modelled: such packets pass up unmerged.
 */
export function ipv6_gro_receive(g: NapiGro, list: GroList, cb: GroCb): GroCb | null {
  const skb = cb.skb;
  const b = skb.buf;
  const off = cb.data_offset;
  const o = skb.data + off;
  let flush = 1;
  let pp: GroCb | null = null;

  if (skb.len - off >= IPV6_HLEN) {
    skb.network_header = o;
    cb.data_offset = off + IPV6_HLEN;
    skb.transport_header = skb.data + cb.data_offset;
    flush += getU16(b, o + 4) !== skb.len - cb.data_offset ? 1 : 0;
    const proto = b[o + 6];
    if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) {
      flush--;
      const first = getU32(b, o) | 0;
      const hop = b[o + 7];
      const e = list.entries;
      for (let i = list.count - 1; i >= 0; i--) {
        const p = e[i]!;
        if (!p.same_flow) continue;
        const pb = p.skb.buf;
        const po = p.skb.data + off;
        const fw = first ^ getU32(pb, po);
        if ((fw & 0xf00fffff) !== 0 || pb[po + 6] !== proto || !addrs_equal(b, o + 8, pb, po + 8)) {
          p.same_flow = 0;
          continue;
        }
        p.flush |= (fw & 0x0ff00000) !== 0 || hop !== pb[po + 7] ? 1 : 0;
        p.flush |= flush;
        if (cb.is_atomic) p.flush_id = 0;
      }
      cb.is_atomic = 1;
      cb.flush |= flush;
      pp = proto === IPPROTO_TCP ? tcp6_gro_receive(g, list, cb) : udp6_gro_receive(g, list, cb);
    }
  }
  cb.flush |= flush !== 0 ? 1 : 0;
  return pp;
}

/** saddr and daddr (32 bytes) equal */
function addrs_equal(a: Uint8Array, ao: number, b: Uint8Array, bo: number): boolean {
  for (let i = 0; i < 32; i += 4) if (getU32(a, ao + i) !== getU32(b, bo + i)) return false;
  return true;
}

/** ipv6_gro_complete: payload_len = the merged length (no jumbogram: gro_max_size <= 64 KiB) */
export function ipv6_gro_complete(p: GroCb): void {
  const skb = p.skb;
  const b = skb.buf;
  const o = skb.data;
  setU16(b, o + 4, skb.len - IPV6_HLEN);
  if (b[o + 6] === IPPROTO_TCP) tcp6_gro_complete(p);
}
