// Test-only frame injection into a virtio-net device's transmit path (toward the guest), for tests
// that run the back-end in-process (BackendUnderTest). The frames go straight to ndo_start_xmit,
// bypassing the qdisc (whose bypass would publish each frame on its own), with xmit_more true on all
// but the last: the device writes them into the guest's receive buffers and publishes used.idx and
// signals once, so the guest's virtnet_poll finds them all in one NAPI run, as a NIC's burst.
import { CHECKSUM_PARTIAL, SKB_GSO_TCPV4, SKB_GSO_TCPV6, Skb } from '../../kernel-model/core/skb';
import { NETDEV_TX_BUSY } from '../../kernel-model/core/netdevice';
import type { VirtioNetDevice } from '../../devices/virtio-net/virtio-net-device';

/**
 * Transmit `frames` (Ethernet frames, no virtio header) to the guest as one burst; throws when the ring is
 * full. `gsoSizes[i] > 0` sends frame i as a TCP GSO super-frame (CHECKSUM_PARTIAL at its TCP header, the
 * frame's TCP check holding the pseudo-header sum): the device writes VIRTIO_NET_HDR_GSO_TCPV4/6 with that
 * gso_size and NEEDS_CSUM, which the guest negotiated (GUEST_TSO4/6, GUEST_CSUM).
 */
export function injectToGuest(device: VirtioNetDevice, frames: Uint8Array[], gsoSizes: number[] = [], queue = 0): void {
  const skb = new Skb();
  const dropped = device.dev.stats.tx_dropped;
  for (let i = 0; i < frames.length; i++) {
    skb.reset(frames[i], 0, frames[i].length);
    skb.dev = device.dev;
    skb.queue_mapping = queue;
    if ((gsoSizes[i] ?? 0) > 0) setTcpGso(skb, gsoSizes[i]);
    const rc = device.ndo_start_xmit(skb, i < frames.length - 1);
    if (rc === NETDEV_TX_BUSY) {
      // what was written before is published (the device flushed before stopping): the burst is broken
      device.dev.netif_wake_queue(queue);
      throw new Error(`guest receive ring full after ${i} of ${frames.length} frames`);
    }
  }
  if (device.dev.stats.tx_dropped !== dropped) throw new Error(`the device dropped ${device.dev.stats.tx_dropped - dropped} frames (ring not ready?)`);
}

/** GSO metadata of a TCP super-frame in `skb` (from its Ethernet header): as tcp_gso_segment expects it */
export function setTcpGso(skb: Skb, gsoSize: number): void {
  const f = skb.buf;
  const v6 = f[skb.data + 12] === 0x86 && f[skb.data + 13] === 0xdd;
  const th = skb.data + 14 + (v6 ? 40 : (f[skb.data + 14] & 15) * 4);
  skb.ip_summed = CHECKSUM_PARTIAL;
  skb.transport_header = th;
  skb.csum_start = th;
  skb.csum_offset = 16;
  skb.gso_size = gsoSize;
  skb.gso_type = v6 ? SKB_GSO_TCPV6 : SKB_GSO_TCPV4;
}
