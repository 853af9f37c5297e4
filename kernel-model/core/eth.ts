// Ethernet receive parse (net/ethernet/eth.c eth_type_trans) and the ethertypes the core knows
// (include/uapi/linux/if_ether.h). A small core copy so the core does not depend on wire/.
import {
  PACKET_BROADCAST,
  PACKET_HOST,
  PACKET_MULTICAST,
  PACKET_OTHERHOST,
  type Skb,
} from './skb';
import type { NetDevice } from './netdevice';

export const ETH_ALEN = 6;
export const ETH_HLEN = 14;
export const ETH_ZLEN = 60;
export const ETH_DATA_LEN = 1500;
export const ETH_FRAME_LEN = 1514;

export const ETH_P_802_3 = 0x0001;
export const ETH_P_ALL = 0x0003;
export const ETH_P_802_2 = 0x0004;
export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_8021Q = 0x8100;
export const ETH_P_IPV6 = 0x86dd;
export const ETH_P_8021AD = 0x88a8;
/** ethertypes start here; smaller values are 802.3 lengths */
export const ETH_P_802_3_MIN = 0x0600;

/** 52:55:0a:00:02:02, libslirp's gateway MAC (the model's address on a link unless told otherwise) */
export const DEFAULT_GATEWAY_MAC = Uint8Array.of(0x52, 0x55, 0x0a, 0x00, 0x02, 0x02);

/**
 * eth_type_trans: set skb.dev, mac_header and pkt_type, pull the 14-byte header and return the
 * protocol. The caller guarantees skb.len >= ETH_HLEN and that the skb lies inside its buffer.
 *
 * pkt_type: HOST when the destination is dev_addr; else BROADCAST for dev.broadcast, MULTICAST
 * for other group addresses, OTHERHOST for someone else's unicast. Ethertypes below 0x0600 are
 * 802.3 lengths: ETH_P_802_3 for raw IPX (payload starts 0xFFFF), else ETH_P_802_2 (LLC).
 */
export function eth_type_trans(skb: Skb, dev: NetDevice): number {
  const b = skb.buf;
  const d = skb.data;
  const a = dev.dev_addr;
  skb.dev = dev;
  skb.mac_header = d;
  skb.data = d + ETH_HLEN;
  skb.len -= ETH_HLEN;

  if (b[d] === a[0] && b[d + 1] === a[1] && b[d + 2] === a[2] && b[d + 3] === a[3] && b[d + 4] === a[4] && b[d + 5] === a[5]) {
    skb.pkt_type = PACKET_HOST;
  } else if (b[d] & 1) {
    const c = dev.broadcast;
    skb.pkt_type =
      b[d] === c[0] && b[d + 1] === c[1] && b[d + 2] === c[2] && b[d + 3] === c[3] && b[d + 4] === c[4] && b[d + 5] === c[5]
        ? PACKET_BROADCAST
        : PACKET_MULTICAST;
  } else {
    skb.pkt_type = PACKET_OTHERHOST;
  }

  const proto = (b[d + 12] << 8) | b[d + 13];
  if (proto >= ETH_P_802_3_MIN) return proto;
  if (skb.len >= 2 && b[d + ETH_HLEN] === 0xff && b[d + ETH_HLEN + 1] === 0xff) return ETH_P_802_3;
  return ETH_P_802_2;
}

/** "52:55:0a:00:02:02" (cold path: names and logs) */
export function format_mac(mac: Uint8Array): string {
  return Array.from(mac, (x) => x.toString(16).padStart(2, '0')).join(':');
}
