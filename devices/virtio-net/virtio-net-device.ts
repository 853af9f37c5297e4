// virtio-net as a vhost-user back-end device (drivers/net/virtio_net.c is the guest's half).
// Guest transmitq → NAPI poll → Skb batches into the model's core; the model's dev_queue_xmit →
// ndo_start_xmit → guest receiveq (mergeable buffers). Knows no protocol above Ethernet.
import { VhostUserDevice } from '../vhost-user/device-model';
import { SplitVirtqueue, DescChain } from '../virtio/virtqueue';
import * as F from '../virtio/features';
import * as H from '../virtio/virtio-net-hdr';
import { copyBytes } from '../../kernel-model/wire/bytes';
import { OFFERED_FEATURES, OFFERED_PROTOCOL_FEATURES } from './features';
import { MAX_FRAME, QueuePair } from './queue-pair';
import type { NetStack } from '../../kernel-model/core/stack';
import type { NetDevice } from '../../kernel-model/core/netdevice';
import {
  NetDeviceOps, NETDEV_TX_BUSY, NETDEV_TX_OK, NETIF_F_HW_CSUM, NETIF_F_SG, NETIF_F_SOFT_FEATURES, NETIF_F_TSO,
  NETIF_F_TSO6, NETIF_F_TSO_ECN, __netdev_tx_sent_queue, netdev_tx_completed_queue, netdev_tx_reset_queue,
} from '../../kernel-model/core/netdevice';
import { NapiStruct, napi_complete_done, napi_schedule } from '../../kernel-model/core/napi';
import {
  Skb, CHECKSUM_NONE, CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, SKB_GSO_TCPV4, SKB_GSO_TCPV6, SKB_GSO_TCP_ECN,
  SKB_GSO_UDP_L4, SKB_GSO_DODGY,
} from '../../kernel-model/core/skb';

const HDR = H.VIRTIO_NET_HDR_SIZE; // 12 with VERSION_1
const ETH_HLEN = 14;
const has = (features: bigint, mask: bigint): boolean => (features & mask) !== 0n;

export interface VirtioNetOptions {
  queuePairs?: number;
  mac?: Uint8Array;
  mtu?: number;
}

/** counters of guest-driver misbehaviour seen by this device (ethtool -S style) */
export class VirtioNetDeviceStats {
  tx_bad_header = 0;
  tx_bad_csum_offset = 0;
  tx_bad_gso = 0;
  tx_too_long = 0;
  tx_too_short = 0;
  rx_buffer_too_small = 0;
  rx_no_buffer = 0;
  notifications = 0;
}

export class VirtioNetDevice implements VhostUserDevice, NetDeviceOps {
  readonly features = OFFERED_FEATURES;
  readonly protocolFeatures = OFFERED_PROTOCOL_FEATURES;
  readonly queuePairs: number;
  readonly dev: NetDevice;
  readonly stats = new VirtioNetDeviceStats();
  private readonly pairs: QueuePair[];
  private acked = 0n;
  private mergeable = false;
  private guestCsum = false;
  private guestTso = false;
  /** a 12-byte header composed here, then written into guest buffers */
  private readonly hdr = new Uint8Array(HDR);
  /** inside a poll's receive_batch: receiveq signals wait for the poll's end */
  private polling = false;
  private rxSignalPending = false;

  constructor(stack: NetStack, opts: VirtioNetOptions = {}) {
    this.queuePairs = opts.queuePairs ?? 1;
    this.pairs = Array.from({ length: this.queuePairs }, (_, i) => new QueuePair(i, this.queuePairs));
    this.dev = stack.register_netdev(this, {
      mac: opts.mac,
      mtu: opts.mtu,
      txQueues: this.queuePairs,
      rxQueues: this.queuePairs,
    });
    for (const pair of this.pairs) pair.napi = this.dev.netif_napi_add((napi, budget) => this.poll(pair, napi, budget));
    this.dev.netif_carrier_off();
  }

  // ---- VhostUserDevice -------------------------------------------------------------------------

  setFeatures(acked: bigint): void {
    this.acked = acked;
    this.mergeable = has(acked, F.VIRTIO_NET_F_MRG_RXBUF);
    this.guestCsum = has(acked, F.VIRTIO_NET_F_GUEST_CSUM);
    this.guestTso = has(acked, F.VIRTIO_NET_F_GUEST_TSO4) || has(acked, F.VIRTIO_NET_F_GUEST_TSO6);
    this.dev.features = guest_offload_features(acked);
  }

  get ackedFeatures(): bigint {
    return this.acked;
  }

  startRing(index: number, vq: SplitVirtqueue, notify: () => void): void {
    const pair = this.pairs[index >> 1];
    if (index & 1) {
      pair.tx = vq;
      pair.notifyTx = notify;
    } else {
      pair.rx = vq;
      pair.notifyRx = notify;
      pair.rxPending = 0;
      // We only want kicks on the receiveq when we ran out of buffers.
      vq.disableNotify();
      this.dev.netif_carrier_on();
      this.dev.netif_wake_queue(pair.index);
    }
  }

  stopRing(index: number): void {
    const pair = this.pairs[index >> 1];
    if (index & 1) {
      // Our poll completes every popped descriptor before it returns, so nothing is in flight here.
      pair.tx = null;
    } else {
      this.flushRx(pair);
      pair.rx = null;
      this.dev.netif_stop_queue(pair.index);
      // the ring is gone: nothing it held will complete (virtnet's free_unused_bufs / netdev_tx_reset_queue)
      netdev_tx_reset_queue(this.dev.netdev_get_tx_queue(pair.index));
      if (this.pairs.every((p) => p.rx === null)) this.dev.netif_carrier_off();
    }
  }

  kick(index: number): void {
    const pair = this.pairs[index >> 1];
    if (index & 1) napi_schedule(pair.napi);
    else this.dev.netif_wake_queue(pair.index); // new receive buffers
  }

  setConnected(up: boolean): void {
    if (!up) this.dev.netif_carrier_off();
  }

  // ---- receive path: the guest's transmitq, polled by NAPI ------------------------------------------

  /** virtnet_poll's counterpart for the guest's transmitq (drivers/net/virtio_net.c) */
  private poll(pair: QueuePair, napi: NapiStruct, budget: number): number {
    const vq = pair.tx;
    if (!vq || vq.broken) {
      napi_complete_done(napi, 0);
      return 0;
    }
    const batch = napi.batch;
    batch.clear();
    const chain = pair.txChain;
    let work = 0;
    let scratchUsed = 0;
    while (work < budget) {
      const r = vq.pop(chain);
      if (r <= 0) break;
      pair.txHeads[work++] = chain.head;
      const skb = batch.next()!;
      scratchUsed = this.frameToSkb(pair, chain, skb, scratchUsed);
      if (scratchUsed < 0) {
        // The frame did not fit what is left of the scratch area: give the chain back, end the batch.
        batch.count--;
        vq.rewind(1);
        work--;
        break;
      }
      if (skb.len === 0) batch.count--; // dropped, counted by frameToSkb
    }
    if (batch.count > 0) {
      // Frames the stack sends back while it handles this batch each come with xmit_more false;
      // one receiveq signal for the whole batch spares the guest an interrupt per reply, the way
      // vhost-net batches its signals.
      this.polling = true;
      try {
        napi.receive_batch();
      } finally {
        this.polling = false;
      }
      if (this.rxSignalPending) {
        this.rxSignalPending = false;
        for (const p of this.pairs) if (p.rx) this.signal(p.notifyRx);
      }
    }
    for (let i = 0; i < work; i++) vq.pushUsed(pair.txHeads[i], 0);
    if (work > 0 && vq.flushUsed()) this.signal(pair.notifyTx);
    if (work < budget && napi_complete_done(napi, work) && vq.enableNotify()) napi_schedule(napi);
    return work;
  }

  /**
   * Point `skb` at the frame in `chain` (12-byte virtio_net_hdr, then the Ethernet frame). A frame that
   * sits in one descriptor, or in the descriptor after a header-only one, is viewed in place; a scattered
   * one is gathered into the queue's scratch area. Returns the new scratch fill, or -1 when the frame
   * needs more scratch than is left. A dropped frame leaves skb.len = 0.
   */
  private frameToSkb(pair: QueuePair, chain: DescChain, skb: Skb, scratchUsed: number): number {
    const total = chain.totalReadable;
    const s = this.dev.stats;
    skb.reset(pair.scratch, 0, 0);
    if (total < HDR + ETH_HLEN) {
      this.stats.tx_too_short++;
      s.rx_length_errors++;
      s.rx_errors++;
      return scratchUsed;
    }
    if (total > HDR + MAX_FRAME) {
      this.stats.tx_too_long++;
      s.rx_length_errors++;
      s.rx_errors++;
      return scratchUsed;
    }
    let hbuf: Uint8Array;
    let hoff: number;
    let fbuf: Uint8Array;
    let foff: number;
    const len = total - HDR;
    if (chain.len[0] >= total) {
      hbuf = fbuf = chain.buf[0];
      hoff = chain.off[0];
      foff = hoff + HDR;
    } else if (chain.len[0] === HDR && chain.count >= 2 && chain.len[1] >= len) {
      hbuf = chain.buf[0];
      hoff = chain.off[0];
      fbuf = chain.buf[1];
      foff = chain.off[1];
    } else {
      if (scratchUsed + total > pair.scratch.length) return -1;
      gather(chain, pair.scratch, scratchUsed);
      hbuf = fbuf = pair.scratch;
      hoff = scratchUsed;
      foff = hoff + HDR;
      scratchUsed += total;
    }
    skb.reset(fbuf, foff, len);
    if (!this.applyHeader(hbuf, hoff, skb)) skb.len = 0;
    else {
      skb.dev = this.dev;
      skb.queue_mapping = pair.index;
      s.rx_packets++;
      s.rx_bytes += len;
    }
    return scratchUsed;
  }

  /** virtio_net_hdr_to_skb (include/linux/virtio_net.h): checksum and GSO metadata, validated */
  private applyHeader(h: Uint8Array, o: number, skb: Skb): boolean {
    const flags = h[o + H.HDR_FLAGS];
    const gsoType = h[o + H.HDR_GSO_TYPE];
    const gsoSize = h[o + H.HDR_GSO_SIZE] | (h[o + H.HDR_GSO_SIZE + 1] << 8);
    const s = this.dev.stats;
    if (flags & H.VIRTIO_NET_HDR_F_NEEDS_CSUM) {
      const start = h[o + H.HDR_CSUM_START] | (h[o + H.HDR_CSUM_START + 1] << 8);
      const off = h[o + H.HDR_CSUM_OFFSET] | (h[o + H.HDR_CSUM_OFFSET + 1] << 8);
      if (start + off + 2 > skb.len) {
        this.stats.tx_bad_csum_offset++;
        s.rx_errors++;
        s.rx_frame_errors++;
        return false;
      }
      skb.ip_summed = CHECKSUM_PARTIAL;
      skb.csum_start = skb.data + start;
      skb.csum_offset = off;
    } else if (flags & H.VIRTIO_NET_HDR_F_DATA_VALID) {
      skb.ip_summed = CHECKSUM_UNNECESSARY;
    } else {
      skb.ip_summed = CHECKSUM_NONE;
    }
    const base = gsoType & ~H.VIRTIO_NET_HDR_GSO_ECN;
    if (base !== H.VIRTIO_NET_HDR_GSO_NONE) {
      let t: number;
      if (base === H.VIRTIO_NET_HDR_GSO_TCPV4) t = SKB_GSO_TCPV4;
      else if (base === H.VIRTIO_NET_HDR_GSO_TCPV6) t = SKB_GSO_TCPV6;
      else if (base === H.VIRTIO_NET_HDR_GSO_UDP_L4) t = SKB_GSO_UDP_L4;
      else t = -1;
      if (t < 0 || gsoSize === 0 || skb.ip_summed !== CHECKSUM_PARTIAL) {
        this.stats.tx_bad_gso++;
        s.rx_errors++;
        s.rx_frame_errors++;
        return false;
      }
      if (gsoType & H.VIRTIO_NET_HDR_GSO_ECN) t |= SKB_GSO_TCP_ECN;
      // From an untrusted source: gso_segs is recomputed by whoever segments (SKB_GSO_DODGY).
      skb.gso_type = t | SKB_GSO_DODGY;
      skb.gso_size = gsoSize;
      skb.gso_segs = 0;
    }
    return true;
  }

  // ---- transmit path: the model's frames into the guest's receiveq --------------------------------

  /** start_xmit's counterpart: copy the frame into guest receive buffers (mergeable or one chain) */
  ndo_start_xmit(skb: Skb, more: boolean): number {
    let pair = this.pairs[skb.queue_mapping % this.queuePairs];
    if (!pair.rx) pair = this.pairs[0];
    const vq = pair.rx;
    const s = this.dev.stats;
    if (!vq || vq.broken) {
      s.tx_dropped++;
      return NETDEV_TX_OK;
    }
    this.composeHeader(skb);
    let r = this.fill(pair, vq, skb);
    if (r === FILL_NO_BUFFERS && vq.enableNotify()) r = this.fill(pair, vq, skb); // buffers raced in
    if (r === FILL_NO_BUFFERS) {
      this.stats.rx_no_buffer++;
      this.flushRx(pair);
      this.dev.netif_stop_queue(pair.index);
      return NETDEV_TX_BUSY;
    }
    if (r === FILL_DROPPED) {
      s.tx_dropped++;
      if (!more) this.flushRx(pair);
      return NETDEV_TX_OK;
    }
    s.tx_packets++;
    s.tx_bytes += skb.len;
    // BQL (virtio_net start_xmit since 6.11): account the bytes; publish now unless more follow
    const q = skb.queue_mapping < this.queuePairs ? skb.queue_mapping : 0;
    pair.bqlBytes[q] += skb.len;
    pair.bqlPkts[q]++;
    if (__netdev_tx_sent_queue(this.dev.netdev_get_tx_queue(q), skb.len, more)) this.flushRx(pair);
    return NETDEV_TX_OK;
  }

  private composeHeader(skb: Skb): void {
    const h = this.hdr;
    h.fill(0);
    if (skb.ip_summed === CHECKSUM_PARTIAL && this.guestCsum) {
      h[H.HDR_FLAGS] = H.VIRTIO_NET_HDR_F_NEEDS_CSUM;
      const start = skb.csum_start - skb.data;
      h[H.HDR_CSUM_START] = start & 0xff;
      h[H.HDR_CSUM_START + 1] = start >> 8;
      h[H.HDR_CSUM_OFFSET] = skb.csum_offset & 0xff;
      h[H.HDR_CSUM_OFFSET + 1] = skb.csum_offset >> 8;
    } else if (this.guestCsum) {
      // The model builds complete checksums: spare the guest verifying them (as passt does).
      h[H.HDR_FLAGS] = H.VIRTIO_NET_HDR_F_DATA_VALID;
    }
    if (skb.gso_size > 0 && this.guestTso) {
      const t = skb.gso_type & SKB_GSO_TCPV6 ? H.VIRTIO_NET_HDR_GSO_TCPV6 : H.VIRTIO_NET_HDR_GSO_TCPV4;
      h[H.HDR_GSO_TYPE] = t | (skb.gso_type & SKB_GSO_TCP_ECN ? H.VIRTIO_NET_HDR_GSO_ECN : 0);
      h[H.HDR_GSO_SIZE] = skb.gso_size & 0xff;
      h[H.HDR_GSO_SIZE + 1] = skb.gso_size >> 8;
      // a hint (virtio_net_hdr_from_skb): the L2-L4 headers in front of the payload
      const th = skb.transport_header;
      const hl = th >= skb.data && th + 13 < skb.data + skb.len ? th - skb.data + (skb.buf[th + 12] >> 4) * 4 : 0;
      h[H.HDR_HDR_LEN] = hl & 0xff;
      h[H.HDR_HDR_LEN + 1] = hl >> 8;
    }
  }

  /**
   * Write header + frame into as many receive buffers as needed (one without MRG_RXBUF). Buffers are
   * popped and written first and completed only when the whole frame fits; otherwise they are given
   * back (rewind) untouched from the guest's point of view, since it sees nothing before used.idx moves.
   */
  private fill(pair: QueuePair, vq: SplitVirtqueue, skb: Skb): number {
    const chain = pair.rxChain;
    const total = HDR + skb.len;
    let done = 0;
    let nbufs = 0;
    // where num_buffers lives in the first buffer (the header may straddle descriptors in theory)
    let nbBuf0: Uint8Array | null = null;
    let nbOff0 = 0;
    let nbBuf1: Uint8Array | null = null;
    let nbOff1 = 0;
    const heads = pair.rxHeads;
    const lens = pair.rxLens;
    while (done < total) {
      const r = vq.pop(chain);
      if (r < 0) return FILL_DROPPED;
      if (r === 0) {
        vq.rewind(nbufs);
        return FILL_NO_BUFFERS;
      }
      if (nbufs === 0 && chain.totalWritable < HDR) {
        // virtio 1.x 5.1.6.3: buffers must hold at least the header. Hand it back empty so the guest
        // frees it, and count the driver error.
        this.stats.rx_buffer_too_small++;
        vq.pushUsed(chain.head, 0);
        pair.rxPending++;
        continue;
      }
      if (!this.mergeable && chain.totalWritable < total) {
        // One frame per chain without MRG_RXBUF: this chain cannot take it. Drop the frame, keep the buffer.
        vq.rewind(1);
        return FILL_DROPPED;
      }
      let written = 0;
      for (let i = 0; i < chain.count && done < total; i++) {
        const dst = chain.buf[i];
        let dOff = chain.off[i];
        let room = chain.len[i];
        while (room > 0 && done < total) {
          let n: number;
          if (done < HDR) {
            n = Math.min(room, HDR - done);
            for (let k = 0; k < n; k++) {
              const at = done + k;
              if (at === H.HDR_NUM_BUFFERS) {
                nbBuf0 = dst;
                nbOff0 = dOff + k;
              } else if (at === H.HDR_NUM_BUFFERS + 1) {
                nbBuf1 = dst;
                nbOff1 = dOff + k;
              }
              dst[dOff + k] = this.hdr[at];
            }
          } else {
            n = Math.min(room, total - done);
            copyBytes(dst, dOff, skb.buf, skb.data + done - HDR, n);
          }
          done += n;
          written += n;
          dOff += n;
          room -= n;
        }
      }
      heads[nbufs] = chain.head;
      lens[nbufs] = written;
      nbufs++;
      if (!this.mergeable) break;
      if (nbufs >= heads.length) {
        vq.rewind(nbufs);
        return FILL_DROPPED;
      }
    }
    nbBuf0![nbOff0] = nbufs & 0xff;
    nbBuf1![nbOff1] = nbufs >> 8;
    for (let i = 0; i < nbufs; i++) vq.pushUsed(heads[i], lens[i]);
    pair.rxPending += nbufs;
    return FILL_OK;
  }

  private flushRx(pair: QueuePair): void {
    if (pair.rxPending === 0 || !pair.rx) return;
    pair.rxPending = 0;
    const signal = pair.rx.flushUsed();
    // The guest owns the frames once used.idx moves: that is their transmit completion for BQL.
    for (let q = 0; q < pair.bqlBytes.length; q++) {
      const bytes = pair.bqlBytes[q];
      if (bytes === 0) continue;
      const pkts = pair.bqlPkts[q];
      pair.bqlBytes[q] = 0;
      pair.bqlPkts[q] = 0;
      netdev_tx_completed_queue(this.dev.netdev_get_tx_queue(q), pkts, bytes);
    }
    if (signal) {
      // Replies made while a poll runs are signalled once when that poll ends (see poll()).
      if (this.polling) this.rxSignalPending = true;
      else this.signal(pair.notifyRx);
    }
  }

  private signal(notify: () => void): void {
    this.stats.notifications++;
    notify();
  }
}

/**
 * What the guest's receive offloads let the model hand this device whole (dev->features), as tun.c
 * set_offload maps a tap's TUN_F_* offloads — the same GUEST_* bits QEMU's tap back-end passes on:
 * GUEST_CSUM → NETIF_F_HW_CSUM | NETIF_F_SG; with it, GUEST_TSO4 → NETIF_F_TSO, GUEST_TSO6 →
 * NETIF_F_TSO6, GUEST_ECN → NETIF_F_TSO_ECN. Anything else is segmented / checksummed in software by
 * validate_xmit_skb before ndo_start_xmit.
 */
export function guest_offload_features(acked: bigint): number {
  let f = NETIF_F_SOFT_FEATURES;
  if (!has(acked, F.VIRTIO_NET_F_GUEST_CSUM)) return f;
  f |= NETIF_F_HW_CSUM | NETIF_F_SG;
  const tso4 = has(acked, F.VIRTIO_NET_F_GUEST_TSO4);
  const tso6 = has(acked, F.VIRTIO_NET_F_GUEST_TSO6);
  if (tso4) f |= NETIF_F_TSO;
  if (tso6) f |= NETIF_F_TSO6;
  if ((tso4 || tso6) && has(acked, F.VIRTIO_NET_F_GUEST_ECN)) f |= NETIF_F_TSO_ECN;
  return f;
}

const FILL_OK = 0;
const FILL_NO_BUFFERS = 1;
const FILL_DROPPED = 2;

/** copy the readable bytes of a chain into one linear buffer */
function gather(chain: DescChain, dst: Uint8Array, at: number): void {
  for (let i = 0; i < chain.count; i++) {
    copyBytes(dst, at, chain.buf[i], chain.off[i], chain.len[i]);
    at += chain.len[i];
  }
}
