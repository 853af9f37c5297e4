// The Toeplitz hash of RSS (Microsoft "Verifying the RSS Hash Calculation"; Linux
// include/linux/netdevice.h / drivers, DPDK rte_thash): the hash a NIC with receive-side scaling puts
// in skb->hash (an L4 hash when ports are included). For each set bit i of the input (MSB first) the
// 32-bit window of the key starting at key bit i is XORed into the result.

/**
 * The default 40-byte key Microsoft publishes with the RSS verification suite (also the Intel
 * 82599 datasheet's and DPDK's default). Linux drivers use a random 52-byte netdev_rss_key instead.
 */
export const RSS_DEFAULT_KEY = Uint8Array.of(
  0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
  0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
  0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
);

/** NETDEV_RSS_KEY_LEN (include/linux/netdevice.h): the kernel's own key length */
export const NETDEV_RSS_KEY_LEN = 52;

/**
 * toeplitz_hash(key, input[off .. off+len)): 32-bit Toeplitz hash. Key bytes beyond the key's end
 * count as zero (the key should be at least len + 4 bytes long).
 */
export function toeplitz_hash(key: Uint8Array, input: Uint8Array, off: number, len: number): number {
  let result = 0;
  let v = ((key[0] << 24) | (key[1] << 16) | (key[2] << 8) | key[3]) >>> 0;
  const klen = key.length;
  for (let i = 0; i < len; i++) {
    const b = input[off + i];
    const next = i + 4 < klen ? key[i + 4] : 0;
    for (let bit = 7; bit >= 0; bit--) {
      if (b & (1 << bit)) result ^= v;
      v = ((v << 1) | ((next >>> bit) & 1)) >>> 0;
    }
  }
  return result >>> 0;
}

/**
 * The RSS input tuple for an IPv4/IPv6 packet, in network byte order: src addr, dst addr, then (with
 * ports) src port, dst port — 8/12 bytes for IPv4, 32/36 for IPv6. `ipHeader` is the IP header's
 * offset in buf. Returns the input length written to `out`, or 0 when the header is not IPv4/IPv6
 * or does not fit. Ports are used only for a TCP/UDP packet that is not a fragment (as NICs do).
 */
export function rss_input(buf: Uint8Array, ipHeader: number, end: number, withPorts: boolean, out: Uint8Array): number {
  if (ipHeader < 0 || ipHeader >= end) return 0;
  const version = buf[ipHeader] >>> 4;
  let n = 0;
  let l4 = -1;
  let proto = 0;
  if (version === 4) {
    if (ipHeader + 20 > end) return 0;
    const ihl = (buf[ipHeader] & 15) * 4;
    if (ihl < 20) return 0;
    out.set(buf.subarray(ipHeader + 12, ipHeader + 20), 0);
    n = 8;
    proto = buf[ipHeader + 9];
    const frag = ((buf[ipHeader + 6] << 8) | buf[ipHeader + 7]) & 0x3fff;
    if (frag === 0) l4 = ipHeader + ihl;
  } else if (version === 6) {
    if (ipHeader + 40 > end) return 0;
    out.set(buf.subarray(ipHeader + 8, ipHeader + 40), 0);
    n = 32;
    proto = buf[ipHeader + 6];
    l4 = ipHeader + 40;
  } else {
    return 0;
  }
  if (withPorts && l4 >= 0 && (proto === 6 || proto === 17) && l4 + 4 <= end) {
    out.set(buf.subarray(l4, l4 + 4), n);
    n += 4;
  }
  return n;
}
