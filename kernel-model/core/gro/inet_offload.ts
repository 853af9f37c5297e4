// IPv4 GRO (net/ipv4/af_inet.c inet_gro_receive/inet_gro_complete), Linux 6.1.
import { getU16, getU32, setU16 } from '../../wire/bytes';
import { csum_fold, csum_partial } from '../../wire/checksum';
import type { GroCb, GroList } from './gro_cb';
import { csum_replace2 } from './gro_csum';
import { IPPROTO_TCP, tcp4_gro_complete, tcp4_gro_receive } from './tcp_offload';
import { IPPROTO_UDP, udp4_gro_receive } from './udp_offload';
import type { NapiGro } from './napi_gro';

const IP_DF = 0x4000;
const IP_MF = 0x2000;
const IP_OFFSET = 0x1fff;

/**
 * inet_gro_receive: only a 20-byte header (first byte 0x45), not a fragment, with a valid header
 * checksum can merge; a tot_len other than the received length (link padding) or a reserved/MF/
 * offset bit marks it flush. For each held skb of the same flow (protocol, saddr, daddr) a TTL, TOS
 * or DF difference flushes that skb, and the IP ID check is stored for tcp_gro_receive: with DF and
 * an "atomic" head any ID delta is recorded (0 = fixed ID, 1 = incrementing), else the ID must be
 * the head's + count.
 */
export function inet_gro_receive(g: NapiGro, list: GroList, cb: GroCb): GroCb | null {
  const skb = cb.skb;
  const b = skb.buf;
  const off = cb.data_offset;
  const glen = skb.len - off;
  const o = skb.data + off;
  let flush = 1;
  let pp: GroCb | null = null;

  if (glen >= 20) {
    const proto = b[o + 9];
    const frag = getU16(b, o + 6);
    if (
      (proto === IPPROTO_TCP || proto === IPPROTO_UDP) && // inet_offloads[proto] with gro_receive
      b[o] === 0x45 &&
      (frag & (IP_MF | IP_OFFSET)) === 0 && // ip_is_fragment
      csum_fold(csum_partial(b, o, 20)) === 0 // ip_fast_csum
    ) {
      flush = ((getU16(b, o + 2) ^ glen) | (frag & ~IP_DF)) & 0xffff;
      const id = getU16(b, o + 4);
      const ttl_tos = (b[o + 8] << 8) | b[o + 1];
      const df = frag & IP_DF;
      const saddr = getU32(b, o + 12);
      const daddr = getU32(b, o + 16);
      const e = list.entries;
      for (let i = list.count - 1; i >= 0; i--) {
        const p = e[i]!;
        if (!p.same_flow) continue;
        if (p.l4proto !== proto || p.saddr !== saddr || p.daddr !== daddr) {
          p.same_flow = 0;
          continue;
        }
        // all fields must match except length and checksum: TTL, TOS, DF
        p.flush |= (ttl_tos ^ p.ip_ttl_tos) | (df ^ p.ip_df);
        p.flush |= flush;
        let flush_id = (id - p.ip_id) & 0xffff;
        if (!p.is_atomic || !df) {
          flush_id = ((flush_id ^ p.count) & 0xffff) !== 0 ? 0xffff : 0;
        }
        // cb.is_atomic is still dev_gro_receive's 1 here: overwrite
        if (cb.is_atomic) p.flush_id = flush_id;
        else p.flush_id |= flush_id;
      }
      cb.l4proto = proto;
      cb.saddr = saddr;
      cb.daddr = daddr;
      cb.ip_id = id;
      cb.ip_ttl_tos = ttl_tos;
      cb.ip_df = df;
      cb.is_atomic = frag & IP_DF ? 1 : 0;
      cb.flush |= flush;
      skb.network_header = o;
      cb.data_offset = off + 20; // skb_gro_pull
      skb.transport_header = skb.data + cb.data_offset;
      pp = proto === IPPROTO_TCP ? tcp4_gro_receive(g, list, cb) : udp4_gro_receive(g, list, cb);
    }
  }
  // skb_gro_flush_final
  cb.flush |= flush !== 0 ? 1 : 0;
  return pp;
}

/** inet_gro_complete: tot_len = the merged length, header checksum patched (csum_replace2) */
export function inet_gro_complete(p: GroCb): void {
  const skb = p.skb;
  const b = skb.buf;
  const o = skb.data;
  const newlen = skb.len;
  csum_replace2(b, o + 10, getU16(b, o + 2), newlen);
  setU16(b, o + 2, newlen);
  if (b[o + 9] === IPPROTO_TCP) tcp4_gro_complete(p);
}
