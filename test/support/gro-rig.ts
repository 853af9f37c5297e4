// A test device for the GRO tests, shaped like a virtio_net driver: its poll hands pending frames to
// NAPI like virtnet_poll (up to the NAPI weight per poll, napi_complete_done when fewer), so frames go
// NAPI → GRO → netif_receive_skb under virtual time, and a tap records each skb the stack delivered
// with its GSO/checksum metadata. The GRO unit tests drive it directly; the GRO differential test
// shows its records the way AF_PACKET shows an skb to tcpdump (capturedAs).
import { VirtualTimeScheduler } from 'rxjs';
import { NetStack, type SkbPoolOptions } from '../../kernel-model/core/stack';
import { NETDEV_TX_OK, type NetDevice, type NetDeviceOps } from '../../kernel-model/core/netdevice';
import { napi_complete_done, napi_schedule, type NapiStruct } from '../../kernel-model/core/napi';
import { silentLogger } from '../../kernel-model/core/log';
import { CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, SKB_GSO_DODGY, SKB_GSO_TCPV4, SKB_GSO_TCPV6, type Skb } from '../../kernel-model/core/skb';
import type { PcapRecord } from './pcap-read';

/** what the tap saw: the frame from its Ethernet header, and the skb's GSO/checksum metadata */
export interface Seen {
  frame: Uint8Array;
  /** skb.len (from the network header) */
  len: number;
  gso_size: number;
  gso_segs: number;
  gso_type: number;
  ip_summed: number;
  /** csum_start relative to the network header */
  csum_start: number;
  csum_offset: number;
  pool: boolean;
  /** virtual time of delivery (ms) */
  time: number;
}

export interface GroRigOptions {
  /** NAPI weight (virtio_net's 64) */
  weight?: number;
  pool?: SkbPoolOptions;
  /** the device's MAC (default: the stack's gateway MAC) */
  mac?: ArrayLike<number>;
  /**
   * frames arrive as skbnet sends them to a guest that negotiated GUEST_CSUM: VIRTIO_NET_HDR_F_DATA_VALID,
   * CHECKSUM_UNNECESSARY (default: CHECKSUM_NONE, GRO checks the TCP checksum itself)
   */
  dataValid?: boolean;
}

export class GroRig implements NetDeviceOps {
  readonly sched = new VirtualTimeScheduler(undefined, Number.POSITIVE_INFINITY);
  readonly stack: NetStack;
  readonly dev: NetDevice;
  readonly napi: NapiStruct;
  readonly seen: Seen[] = [];
  private readonly dataValid: boolean;
  private pending: Uint8Array[] = [];
  private pendingGso: number[] = [];
  /** applied to each skb the "driver" fills (ip_summed, hash, …) */
  rxHook: ((skb: Skb, i: number) => void) | null = null;
  polls = 0;

  constructor(o: GroRigOptions = {}) {
    this.dataValid = o.dataValid === true;
    this.stack = new NetStack({ scheduler: this.sched, log: silentLogger, pool: o.pool ?? {} });
    this.dev = this.stack.register_netdev(this, o.mac === undefined ? {} : { mac: Uint8Array.from(o.mac) });
    this.napi = this.dev.netif_napi_add((n, budget) => this.poll(n, budget), o.weight ?? 64);
    this.stack.dev_add_tap((skb, _dev, dir) => {
      if (dir !== 'rx') return;
      this.seen.push({
        frame: skb.buf.slice(skb.mac_header, skb.data + skb.len),
        len: skb.len,
        gso_size: skb.gso_size,
        gso_segs: skb.gso_segs,
        gso_type: skb.gso_type,
        ip_summed: skb.ip_summed,
        csum_start: skb.csum_start - skb.data,
        csum_offset: skb.csum_offset,
        pool: skb.pool !== null,
        time: this.sched.now(),
      });
    });
  }

  ndo_start_xmit(): number {
    return NETDEV_TX_OK;
  }

  /**
   * The frames arrive in the ring together, one interrupt: kick the NAPI, run what is due now; what the
   * tap saw. `gsoSizes[i] > 0`: frame i came with a VIRTIO_NET_HDR_GSO_TCPV4/6 header and NEEDS_CSUM.
   */
  inject(frames: Uint8Array[], gsoSizes: number[] = []): Seen[] {
    const before = this.seen.length;
    this.pending.push(...frames);
    for (let i = 0; i < frames.length; i++) this.pendingGso.push(gsoSizes[i] ?? 0);
    napi_schedule(this.napi);
    this.runDue();
    return this.seen.slice(before);
  }

  runDue(): void {
    this.sched.maxFrames = this.sched.frame;
    this.sched.flush();
  }

  advance(ms: number): void {
    const target = this.sched.frame + ms;
    this.sched.schedule(() => undefined, ms);
    this.sched.maxFrames = target;
    this.sched.flush();
  }

  private poll(napi: NapiStruct, budget: number): number {
    this.polls++;
    let work = 0;
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
      } else if (this.dataValid) {
        skb.ip_summed = CHECKSUM_UNNECESSARY;
      }
      if (this.rxHook) this.rxHook(skb, work);
      work++;
    }
    napi.receive_batch();
    if (work < budget) napi_complete_done(napi, work);
    return work;
  }
}

/** a tap record as tcpdump shows it (original length, first `snaplen` bytes), with the GSO metadata */
export interface CapturedSkb extends PcapRecord {
  gso_size: number;
  gso_segs: number;
}

/** what AF_PACKET would show of a delivered skb with a `snaplen` capture */
export function capturedAs(s: Seen, snaplen: number): CapturedSkb {
  return {
    time: s.time / 1000,
    origLen: s.frame.length,
    data: s.frame.slice(0, snaplen),
    gso_size: s.gso_size,
    gso_segs: s.gso_segs,
  };
}
