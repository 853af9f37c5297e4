// UDP GRO (net/ipv4/udp_offload.c udp4_gro_receive/udp_gro_receive, net/ipv6/udp_offload.c
// udp6_gro_receive), Linux 6.1 defaults. Linux merges UDP only for a socket that set UDP_GRO (or a
// UDP tunnel), or on a device with NETIF_F_GRO_FRAGLIST or NETIF_F_GRO_UDP_FWD. None of these exists
// in the model (no UDP_GRO socket option, both features off by default as in Linux), so every UDP
// datagram is flushed: passed up unmerged after the checksum validation, exactly Linux's default.
import { getU16 } from '../../wire/bytes';
import type { GroCb, GroList } from './gro_cb';
import { inet_pseudo, ip6_pseudo, skb_gro_checksum_validate } from './gro_csum';
import type { NapiGro } from './napi_gro';

export const IPPROTO_UDP = 17;

function udp_gro_receive(cb: GroCb, v6: boolean): GroCb | null {
  const skb = cb.skb;
  // udp_gro_udphdr
  if (skb.len - cb.data_offset < 8) {
    cb.flush = 1;
    return null;
  }
  if (!cb.flush) {
    const len = skb.len - cb.data_offset;
    const check = getU16(skb.buf, skb.data + cb.data_offset + 6);
    const pseudo = v6
      ? ip6_pseudo(skb.buf, skb.network_header, IPPROTO_UDP, len)
      : inet_pseudo(skb.buf, skb.network_header, IPPROTO_UDP, len);
    // skb_gro_checksum_validate_zero_check: a zero UDP checksum (IPv4) is not validated
    if (skb_gro_checksum_validate(cb, pseudo, true, check)) {
      cb.flush = 1;
      return null;
    }
  }
  // udp_gro_receive with no socket (udp_encap_needed_key off) and neither GRO_FRAGLIST nor
  // GRO_UDP_FWD: "no GRO, be sure flush the current packet"
  cb.flush |= 1;
  return null;
}

/** udp4_gro_receive */
export function udp4_gro_receive(_g: NapiGro, _list: GroList, cb: GroCb): GroCb | null {
  return udp_gro_receive(cb, false);
}

/** udp6_gro_receive */
export function udp6_gro_receive(_g: NapiGro, _list: GroList, cb: GroCb): GroCb | null {
  return udp_gro_receive(cb, true);
}
