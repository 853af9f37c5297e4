// The control socket's RST or ACK (tcp_v4_send_reset / tcp_v6_send_response): a bare 20-byte TCP
// header, window 0, no options, counted in Tcp OutSegs and OutRsts. The family fills in the checksum
// over its pseudo-header and sends it (tcp_ipv4.ts, tcp_ipv6.ts).
import type { Skb } from '../core/skb';
import { setU16, setU32 } from '../wire/bytes';
import { TCP_HLEN } from '../wire/tcp';
import type { TcpNet } from './tcp_ipv4';

/** the header at skb.data with checksum 0, `headroom` bytes reserved for the network header; null when out of skbs */
export function tcp_make_reset(tn: TcpNet, headroom: number, sport: number, dport: number, seq: number, ack: number, flags: number): Skb | null {
  const skb = tn.stack.alloc_skb(TCP_HLEN + headroom);
  if (skb === null) return null;
  skb.reserve(headroom);
  const o = skb.put(TCP_HLEN);
  const b = skb.buf;
  setU16(b, o, sport);
  setU16(b, o + 2, dport);
  setU32(b, o + 4, seq);
  setU32(b, o + 8, ack);
  b[o + 12] = 5 << 4;
  b[o + 13] = flags;
  setU16(b, o + 14, 0);
  setU16(b, o + 16, 0);
  setU16(b, o + 18, 0);
  tn.mib.Tcp.OutSegs++;
  tn.mib.Tcp.OutRsts++;
  return skb;
}
