// Sending a host-originated UDP payload to the guest as a Linux UDP socket with the default
// IP_PMTUDISC_WANT would: datagrams that fit the MTU go out with DF (udp_send_skb), larger ones are
// fragmented locally (ip_sk_ignore_df: ignore_df for pmtudisc < IP_PMTUDISC_DO, net/ipv4/ip_output.c).
// Used by the DNS forwarder, the UDP proxy and UDP host forwarding, whose payloads come from host
// sockets and may exceed the guest's MTU.
import type { Inet } from '../inet';
import { MAX_IPV4_HEADER, NET_XMIT_SUCCESS } from '../ipv4/ip_output';
import type { Ipv4Addr } from '../wire/address';
import { copyBytes, setU16 } from '../wire/bytes';
import { csum_fold, csum_partial, csum_tcpudp_nofold } from '../wire/checksum';
import { IPPROTO_UDP, IPV4_HLEN } from '../wire/ipv4';
import { UDP_HLEN } from '../wire/udp';

/** largest UDP payload over IPv4 (65535 − 20 − 8) */
export const UDP_MAX_PAYLOAD = 0xffff - IPV4_HLEN - UDP_HLEN;

/**
 * Send `payload[off, off+len)` from saddr:sport to daddr:dport on `inet`'s device (copied into an skb).
 * 0 = sent (or queued for ARP), < 0 = dropped (no buffer, too big, no route; counted by the layers).
 */
export function udp_send_host(inet: Inet, saddr: Ipv4Addr, sport: number, daddr: Ipv4Addr, dport: number, payload: Uint8Array, off = 0, len = payload.length - off): number {
  if (off < 0 || len < 0 || off + len > payload.length || len > UDP_MAX_PAYLOAD) return -1;
  if (len + UDP_HLEN + IPV4_HLEN <= inet.dev.mtu) return inet.udpSend(saddr, sport, daddr, dport, payload, off, len);
  const net = inet.net;
  const skb = net.stack.alloc_skb(len + UDP_HLEN + MAX_IPV4_HEADER);
  if (skb === null) {
    net.mib.Udp.SndbufErrors++;
    return -1;
  }
  if (skb.headroom < MAX_IPV4_HEADER + UDP_HLEN) skb.reserve(MAX_IPV4_HEADER + UDP_HLEN - skb.headroom);
  const p = skb.put(len);
  copyBytes(skb.buf, p, payload, off, len);
  const o = skb.push(UDP_HLEN);
  const b = skb.buf;
  const ulen = len + UDP_HLEN;
  setU16(b, o, sport);
  setU16(b, o + 2, dport);
  setU16(b, o + 4, ulen);
  setU16(b, o + 6, 0);
  const c = csum_fold(csum_partial(b, o, ulen, csum_tcpudp_nofold(saddr, daddr, ulen, IPPROTO_UDP)));
  setU16(b, o + 6, c === 0 ? 0xffff : c);
  // DF clear: ip_do_fragment cuts it to the MTU
  if (inet.ipSend(skb, saddr, daddr, IPPROTO_UDP, 0, false) !== NET_XMIT_SUCCESS) return -1;
  net.mib.Udp.OutDatagrams++;
  return 0;
}
