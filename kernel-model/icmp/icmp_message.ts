// The message layout ICMP (RFC 792) and ICMPv6 (RFC 4443 §2.1) share: type, code, checksum, four
// bytes of rest-of-header, then data. Both icmp_push_reply and icmpv6_push_reply build it here and
// add their own checksum (ICMPv6's covers a pseudo-header, ICMP's does not).
import type { NetStack } from '../core/stack';
import type { Skb } from '../core/skb';
import { copyBytes, setU32 } from '../wire/bytes';

export const ICMP_MESSAGE_HLEN = 8;

/**
 * An skb whose data is the message with its checksum field zero, with `headroom` bytes in front for
 * the IP header; null when the stack's pool is empty (the caller counts OutErrors).
 */
export function icmp_build_message(
  stack: NetStack,
  headroom: number,
  type: number,
  code: number,
  rest: number,
  src: Uint8Array,
  srcOff: number,
  dataLen: number,
): Skb | null {
  const len = ICMP_MESSAGE_HLEN + dataLen;
  const skb = stack.alloc_skb(len + headroom);
  if (skb === null) return null;
  if (skb.headroom < headroom) skb.reserve(headroom - skb.headroom);
  const o = skb.put(len);
  const b = skb.buf;
  b[o] = type;
  b[o + 1] = code;
  b[o + 2] = 0;
  b[o + 3] = 0;
  setU32(b, o + 4, rest);
  copyBytes(b, o + ICMP_MESSAGE_HLEN, src, srcOff, dataLen);
  return skb;
}
