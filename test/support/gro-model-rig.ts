// The model's half of the GRO differential test: a test device shaped like the guest's virtio_net
// (virtnet_poll: up to the NAPI weight of 64 frames per poll, napi_complete_done when fewer; skbs with
// CHECKSUM_UNNECESSARY because skbnet sets VIRTIO_NET_HDR_F_DATA_VALID; no hash, so GRO bucket 0) whose
// frames go NAPI → GRO → netif_receive_skb under virtual time, and a tap that records what it saw the
// way AF_PACKET shows it to tcpdump (original length, first `snaplen` bytes) plus the GSO metadata.
import { VirtualTimeScheduler } from 'rxjs';
import { NetStack } from '../../kernel-model/core/stack';
import { NETDEV_TX_OK, type NetDevice, type NetDeviceOps } from '../../kernel-model/core/netdevice';
import { napi_complete_done, napi_schedule, type NapiStruct } from '../../kernel-model/core/napi';
import { silentLogger } from '../../kernel-model/core/log';
import { CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, SKB_GSO_DODGY, SKB_GSO_TCPV4, SKB_GSO_TCPV6 } from '../../kernel-model/core/skb';
import type { PcapRecord } from './pcap-read';

export interface ModelTapRecord extends PcapRecord {
  gso_size: number;
  gso_segs: number;
}

export class GroModelRig implements NetDeviceOps {
  readonly sched = new VirtualTimeScheduler(undefined, Number.POSITIVE_INFINITY);
  readonly stack: NetStack;
  readonly dev: NetDevice;
  readonly napi: NapiStruct;
  readonly seen: ModelTapRecord[] = [];
  private pending: Uint8Array[] = [];
  private pendingGso: number[] = [];

  constructor(mac: ArrayLike<number>, readonly snaplen = 256) {
    this.stack = new NetStack({ scheduler: this.sched, log: silentLogger });
    this.dev = this.stack.register_netdev(this, { mac: Uint8Array.from(mac) });
    this.napi = this.dev.netif_napi_add((n, budget) => this.poll(n, budget), 64);
    this.stack.dev_add_tap((skb, _dev, dir) => {
      if (dir !== 'rx') return;
      const end = skb.data + skb.len;
      this.seen.push({
        time: this.sched.now() / 1000,
        origLen: end - skb.mac_header,
        data: skb.buf.slice(skb.mac_header, Math.min(end, skb.mac_header + this.snaplen)),
        gso_size: skb.gso_size,
        gso_segs: skb.gso_segs,
      });
    });
  }

  ndo_start_xmit(): number {
    return NETDEV_TX_OK;
  }

  /**
   * The frames arrive in the ring together, one interrupt: NAPI polls until they are gone; what the tap saw.
   * `gsoSizes[i] > 0`: frame i came with a VIRTIO_NET_HDR_GSO_TCPV4/6 header and NEEDS_CSUM.
   */
  receive(frames: Uint8Array[], gsoSizes: number[] = []): ModelTapRecord[] {
    const from = this.seen.length;
    this.pending.push(...frames);
    for (let i = 0; i < frames.length; i++) this.pendingGso.push(gsoSizes[i] ?? 0);
    napi_schedule(this.napi);
    this.sched.maxFrames = this.sched.frame;
    this.sched.flush();
    return this.seen.slice(from);
  }

  private poll(napi: NapiStruct, budget: number): number {
    let work = 0;
    napi.batch.clear();
    while (work < budget && this.pending.length > 0) {
      const f = this.pending.shift()!;
      const gso = this.pendingGso.shift()!;
      const skb = napi.batch.next()!.reset(f, 0, f.length);
      if (gso > 0) {
        // virtio_net_hdr_to_skb (include/linux/virtio_net.h): CHECKSUM_PARTIAL at the TCP header,
        // gso_type | SKB_GSO_DODGY, gso_segs 0 (left for whoever segments to compute)
        const v6 = f[12] === 0x86 && f[13] === 0xdd;
        skb.ip_summed = CHECKSUM_PARTIAL;
        skb.csum_start = 14 + (v6 ? 40 : (f[14] & 15) * 4);
        skb.csum_offset = 16;
        skb.gso_size = gso;
        skb.gso_segs = 0;
        skb.gso_type = (v6 ? SKB_GSO_TCPV6 : SKB_GSO_TCPV4) | SKB_GSO_DODGY;
      } else {
        skb.ip_summed = CHECKSUM_UNNECESSARY;
      }
      work++;
    }
    napi.receive_batch();
    if (work < budget) napi_complete_done(napi, work);
    return work;
  }
}
