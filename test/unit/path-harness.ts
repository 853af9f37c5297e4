// Whole-path harness in virtual time: a NetStack with IPv4 + TCP on one device whose NAPI poll hands
// the model the guest's frames (as virtio-net's poll does: skb.reset over the frame bytes, counted in
// rx_packets/rx_bytes), and whose ndo_start_xmit records every frame the model sends (copied, with
// xmit_more and the virtual time). Frames from the guest: test/support/tcp-frames.ts (toGateway).
import { VirtualTimeScheduler } from 'rxjs';
import { NetStack } from '../../kernel-model/core/stack';
import { NETDEV_TX_OK, type NetDevice, type NetDeviceOps } from '../../kernel-model/core/netdevice';
import { napi_complete_done, napi_schedule, type NapiStruct } from '../../kernel-model/core/napi';
import type { Skb } from '../../kernel-model/core/skb';
import type { RpsOptions } from '../../kernel-model/core/rps';
import type { NetCoreSysctlOptions } from '../../kernel-model/core/sysctl';
import { silentLogger } from '../../kernel-model/core/log';
import { attachInet, type Inet } from '../../kernel-model/inet';
import { defaultInetConfig } from '../../kernel-model/ipv4/config';
import { be16, be32 } from '../support/tcp-frames';

export interface SentFrame {
  t: number;
  bytes: Uint8Array;
  more: boolean;
}

export class PathHarness implements NetDeviceOps {
  readonly sched = new VirtualTimeScheduler();
  readonly stack: NetStack;
  readonly dev: NetDevice;
  readonly napi: NapiStruct;
  readonly inet: Inet;
  readonly sent: SentFrame[] = [];
  private readonly pending: Uint8Array[] = [];

  constructor(opts: { cpus?: number; rps?: RpsOptions; sysctl?: NetCoreSysctlOptions } = {}) {
    this.stack = new NetStack({
      scheduler: this.sched,
      log: silentLogger,
      cpus: opts.cpus,
      rps: { hashrnd: new Uint8Array(16).fill(3), ...opts.rps },
      sysctl: opts.sysctl,
    });
    this.dev = this.stack.register_netdev(this);
    this.napi = this.dev.netif_napi_add((n, budget) => this.poll(n, budget));
    this.inet = attachInet(this.stack, this.dev, defaultInetConfig({ dhcp: false }), { random: seeded(7) });
  }

  ndo_start_xmit(skb: Skb, more: boolean): number {
    this.sent.push({ t: this.sched.now(), bytes: skb.buf.slice(skb.data, skb.data + skb.len), more });
    this.dev.dev_sw_netstats_tx_add(1, skb.len);
    return NETDEV_TX_OK;
  }

  /** the guest's transmitq: frames to poll at the next NAPI run (one "interrupt") */
  send(...frames: Uint8Array[]): void {
    this.pending.push(...frames);
    napi_schedule(this.napi);
  }

  /** run what is due within the next `ms` of virtual time (default 1 ms: no timers beyond the path) */
  run(ms = 1): void {
    this.sched.maxFrames = this.sched.now() + ms;
    this.sched.flush();
    this.sched.frame = this.sched.maxFrames;
  }

  /** frames sent since the last take(), decoded */
  take(): SentFrame[] {
    return this.sent.splice(0, this.sent.length);
  }

  private poll(napi: NapiStruct, budget: number): number {
    let work = 0;
    while (work < budget && this.pending.length > 0) {
      const f = this.pending.shift()!;
      const skb = napi.batch.next()!;
      skb.reset(f, 0, f.length);
      skb.dev = this.dev;
      this.dev.dev_sw_netstats_rx_add(f.length);
      work++;
    }
    if (work > 0) napi.receive_batch();
    if (work < budget) napi_complete_done(napi, work);
    return work;
  }
}

/** a deterministic [0, 1) stream */
export function seeded(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

const FLAG_NAMES: [number, string][] = [[0x02, 'S'], [0x01, 'F'], [0x04, 'R'], [0x08, 'P'], [0x10, '.']];

/**
 * tcpdump-like one-liner of an Ethernet/IPv4/TCP frame, sequence numbers relative to `isn` (the
 * sender's ISN) and acks relative to `peerIsn`: "5201 > 40000 [S.] seq 0 ack 1 len 0". Window and
 * options are left out (they follow TCP's buffer sizing, not the path).
 */
export function tcpLine(f: Uint8Array, isn = 0, peerIsn = 0): string {
  if (f.length < 54 || be16(f, 12) !== 0x0800 || f[23] !== 6) return `non-TCP ${f.length} bytes`;
  const ihl = (f[14] & 15) * 4;
  const t = 14 + ihl;
  const doff = (f[t + 12] >> 4) * 4;
  const len = be16(f, 16) - ihl - doff;
  const fl = f[t + 13];
  const flags = FLAG_NAMES.filter(([b]) => fl & b).map(([, n]) => n).join('');
  const seq = (be32(f, t + 4) - isn) >>> 0;
  const ack = fl & 0x10 ? ` ack ${(be32(f, t + 8) - peerIsn) >>> 0}` : '';
  return `${be16(f, t)} > ${be16(f, t + 2)} [${flags}] seq ${seq}${ack} len ${len}`;
}

/** the TCP sequence number of a frame (for ISNs) */
export function tcpSeqOf(f: Uint8Array): number {
  return be32(f, 14 + (f[14] & 15) * 4 + 4);
}
