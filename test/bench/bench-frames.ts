// The frames the bench guest sends, built once per run with complete checksums (test/support/frames.ts
// helpers), and the few byte reads it needs to recognise what comes back.
import { GUEST_MAC, arpRequest, icmpEcho, inetChecksum, ip } from '../support/frames';

export const GUEST_IP = '10.0.2.15';
export const GATEWAY_IP = '10.0.2.2';
/**
 * Where the tx-path UDP frames go: a port nobody listens on at the model's DNS address, so they run
 * through NAPI, GRO, netif_receive_skb, ip_rcv and udp_rcv and end as NoPorts (plus a rate-limited port
 * unreachable). Not the gateway: guest UDP to 10.0.2.2 (or beyond the link) goes to the UDP host proxy,
 * which would make this a benchmark of host sockets.
 */
export const SINK_IP = '10.0.2.3';
export const SINK_PORT = 9;
export const ETH_HLEN = 14;
/** IPv4 + UDP headers; frames shorter than this cannot carry the bench's UDP datagram */
export const MIN_UDP_FRAME = ETH_HLEN + 20 + 8;
/** echo request/reply: Ethernet + IPv4 + ICMP header */
export const MIN_ICMP_FRAME = ETH_HLEN + 20 + 8;

/** how the guest leaves the UDP checksum: complete in the frame, or to the device (VIRTIO_NET_HDR_F_NEEDS_CSUM) */
export type CsumMode = 'full' | 'offload';

/** an IPv4/UDP frame of exactly `frameLen` bytes (Ethernet header included, no FCS) from the guest to the gateway */
export function udpFrame(frameLen: number, dstMac: Uint8Array, csum: CsumMode): Uint8Array {
  if (frameLen < MIN_UDP_FRAME) throw new Error(`a UDP frame needs at least ${MIN_UDP_FRAME} bytes`);
  const f = new Uint8Array(frameLen);
  f.set(dstMac, 0);
  f.set(GUEST_MAC, 6);
  f.set([0x08, 0x00], 12);
  const ipLen = frameLen - ETH_HLEN;
  const ipo = ETH_HLEN;
  f.set([0x45, 0, ipLen >> 8, ipLen & 0xff, 0x4b, 0x1d, 0x40, 0, 64, 17, 0, 0], ipo);
  f.set(ip(GUEST_IP), ipo + 12);
  f.set(ip(SINK_IP), ipo + 16);
  put16(f, ipo + 10, inetChecksum(f, ipo, 20));
  const uo = ipo + 20;
  const ulen = ipLen - 20;
  put16(f, uo, 40000);
  put16(f, uo + 2, SINK_PORT);
  put16(f, uo + 4, ulen);
  for (let i = uo + 8; i < frameLen; i++) f[i] = (i * 7) & 0xff;
  // pseudo-header sum (RFC 768): with offload the guest stores it uncomplemented and lets the device finish
  const pseudo = new Uint8Array(12 + ulen);
  pseudo.set(f.subarray(ipo + 12, ipo + 20), 0);
  pseudo[9] = 17;
  put16(pseudo, 10, ulen);
  if (csum === 'offload') {
    put16(f, uo + 6, ~inetChecksum(pseudo, 0, 12) & 0xffff);
  } else {
    pseudo.set(f.subarray(uo, uo + ulen), 12);
    put16(f, uo + 6, inetChecksum(pseudo) || 0xffff);
  }
  return f;
}

/** an ICMP echo request to the gateway whose reply is a `frameLen`-byte frame (same size as the request) */
export function echoRequest(frameLen: number, dstMac: Uint8Array, id: number, seq: number): Uint8Array {
  if (frameLen < MIN_ICMP_FRAME) throw new Error(`an echo frame needs at least ${MIN_ICMP_FRAME} bytes`);
  const payload = new Uint8Array(frameLen - MIN_ICMP_FRAME);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 13 + seq) & 0xff;
  return icmpEcho(GUEST_MAC, dstMac, GUEST_IP, GATEWAY_IP, id, seq, payload);
}

/** 12-byte virtio_net_hdr (VERSION_1) + frame; with offload, NEEDS_CSUM over the UDP header */
export function withVirtioHeader(frame: Uint8Array, csum: CsumMode): Uint8Array {
  const b = new Uint8Array(12 + frame.length);
  if (csum === 'offload') {
    const start = ETH_HLEN + 20;
    b[0] = 1; // VIRTIO_NET_HDR_F_NEEDS_CSUM
    b[6] = start & 0xff;
    b[7] = start >> 8;
    b[8] = 6; // csum_offset of the UDP checksum
  }
  b.set(frame, 12);
  return b;
}

// ---- reading what the device wrote: [virtio_net_hdr (12)][Ethernet frame] at `o` in guest RAM ----

export const enum RxKind { EchoReply, PortUnreach, ArpReply, ArpRequest, Other }

export function classify(b: Uint8Array, o: number, len: number): RxKind {
  const e = o + 12;
  if (len < 12 + ETH_HLEN + 28) return RxKind.Other; // shorter than any ARP or ICMP frame
  const type = (b[e + 12] << 8) | b[e + 13];
  if (type === 0x0806) {
    if (isArpReply(b, e)) return RxKind.ArpReply;
    return b[e + ETH_HLEN + 7] === 1 ? RxKind.ArpRequest : RxKind.Other;
  }
  if (type !== 0x0800 || b[e + ETH_HLEN + 9] !== 1) return RxKind.Other;
  const icmp = e + ETH_HLEN + (b[e + ETH_HLEN] & 0x0f) * 4;
  if (icmp >= o + len) return RxKind.Other;
  if (b[icmp] === 0) return RxKind.EchoReply;
  if (b[icmp] === 3 && b[icmp + 1] === 3) return RxKind.PortUnreach;
  return RxKind.Other;
}

/** num_buffers of a mergeable receive header (how many buffers this frame spans) */
export function numBuffers(b: Uint8Array, o: number): number {
  return b[o + 10] | (b[o + 11] << 8);
}

function isArpReply(b: Uint8Array, e: number): boolean {
  return b[e + 12] === 0x08 && b[e + 13] === 0x06 && b[e + ETH_HLEN + 7] === 2;
}

/** sender hardware address of an ARP reply (Ethernet frame at e) */
export function arpSenderMac(b: Uint8Array, e: number): Uint8Array {
  return b.slice(e + ETH_HLEN + 8, e + ETH_HLEN + 14);
}

/** target protocol address of an ARP packet, dotted */
export function arpTargetIp(b: Uint8Array, e: number): string {
  return Array.from(b.subarray(e + ETH_HLEN + 24, e + ETH_HLEN + 28)).join('.');
}

/** the guest's answer to an ARP request for its address (RFC 826), unicast to the asker */
export function arpReplyFromGuest(askerMac: Uint8Array, askerIp: string): Uint8Array {
  const f = arpRequest(GUEST_MAC, GUEST_IP, askerIp);
  f.set(askerMac, 0);
  f[ETH_HLEN + 7] = 2; // ARPOP_REPLY
  f.set(askerMac, ETH_HLEN + 18);
  return f;
}

/** sender protocol address of an ARP reply, dotted */
export function arpSenderIp(b: Uint8Array, e: number): string {
  return Array.from(b.subarray(e + ETH_HLEN + 14, e + ETH_HLEN + 18)).join('.');
}

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >> 8) & 0xff;
  b[o + 1] = v & 0xff;
}
