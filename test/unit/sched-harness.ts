// Harness for the qdisc tests: a NetStack on a VirtualTimeScheduler with one device that records
// every frame it transmits (virtual time, flow id, sequence, length). Frames are IPv4/UDP built
// here byte by byte (independent of kernel-model/wire), with a flow id in the source port and a
// sequence number in the payload, so ordering, fairness and timing can be read back.
import { VirtualTimeScheduler } from 'rxjs';
import { NetStack } from '../../kernel-model/core/stack';
import { NETDEV_TX_OK, type NetDevice, type NetDeviceOps } from '../../kernel-model/core/netdevice';
import { silentLogger } from '../../kernel-model/core/log';
import type { Skb } from '../../kernel-model/core/skb';

export interface TxRecord {
  /** virtual ms */
  t: number;
  flow: number;
  seq: number;
  len: number;
  tos: number;
  bytes: Uint8Array;
}

/** Internet checksum over b[off, off+len) */
export function csum(b: Uint8Array, off: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i += 2) s += (b[off + i] << 8) | (i + 1 < len ? b[off + i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

export class SchedLink implements NetDeviceOps {
  readonly sched = new VirtualTimeScheduler();
  readonly stack: NetStack;
  readonly dev: NetDevice;
  readonly sent: TxRecord[] = [];
  /** keep a copy of each frame's bytes */
  keepBytes = false;

  /**
   * qdiscBulk: extra skbs one qdisc_restart may dequeue (the core's default 8). Timing tests use 0 so
   * that each dequeue happens when the wire can take the frame, as on a BQL-limited device.
   */
  constructor(opts: { txQueueLen?: number; mtu?: number; pool?: number; qdiscBulk?: number } = {}) {
    this.stack = new NetStack({
      scheduler: this.sched,
      log: silentLogger,
      pool: { slabs: opts.pool ?? 4096 },
      sysctl: { qdisc_bulk: opts.qdiscBulk ?? 8 },
    });
    this.dev = this.stack.register_netdev(this, { txQueueLen: opts.txQueueLen, mtu: opts.mtu });
  }

  ndo_start_xmit(skb: Skb): number {
    const b = skb.buf;
    const o = skb.data;
    const flow = skb.len >= 42 ? (b[o + 34] << 8) | b[o + 35] : -1;
    const seq = skb.len >= 46 ? ((b[o + 42] << 24) | (b[o + 43] << 16) | (b[o + 44] << 8) | b[o + 45]) >>> 0 : -1;
    this.sent.push({
      t: this.sched.now(),
      flow,
      seq,
      len: skb.len,
      tos: skb.len >= 16 ? b[o + 15] : 0,
      bytes: this.keepBytes ? b.slice(o, o + skb.len) : new Uint8Array(0),
    });
    this.dev.dev_sw_netstats_tx_add(1, skb.len);
    return NETDEV_TX_OK;
  }

  /** an Ethernet/IPv4/UDP frame of `len` bytes; flow → UDP source port, seq in the payload */
  frame(flow: number, seq: number, len = 1000, o: { tos?: number; priority?: number; dport?: number } = {}): Skb {
    const skb = this.stack.alloc_skb(len)!;
    if (!skb) throw new Error('pool exhausted');
    const at = skb.put(len);
    const b = skb.buf;
    b.fill(0, at, at + len);
    b.set([0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x52, 0x55, 0x0a, 0, 2, 2, 0x08, 0x00], at);
    const ip = at + 14;
    b[ip] = 0x45;
    b[ip + 1] = o.tos ?? 0;
    const tot = len - 14;
    b[ip + 2] = tot >> 8;
    b[ip + 3] = tot & 0xff;
    b[ip + 8] = 64;
    b[ip + 9] = 17;
    b.set([10, 0, 2, 2, 10, 0, 2, 15], ip + 12);
    const c = csum(b, ip, 20);
    b[ip + 10] = c >> 8;
    b[ip + 11] = c & 0xff;
    const udp = ip + 20;
    b[udp] = flow >> 8;
    b[udp + 1] = flow & 0xff;
    const dport = o.dport ?? 9;
    b[udp + 2] = dport >> 8;
    b[udp + 3] = dport & 0xff;
    b[udp + 4] = (tot - 20) >> 8;
    b[udp + 5] = (tot - 20) & 0xff;
    b[udp + 8] = seq >>> 24;
    b[udp + 9] = (seq >>> 16) & 0xff;
    b[udp + 10] = (seq >>> 8) & 0xff;
    b[udp + 11] = seq & 0xff;
    skb.dev = this.dev;
    skb.priority = o.priority ?? 0;
    return skb;
  }

  /** dev_queue_xmit one frame now */
  send(flow: number, seq: number, len = 1000, o: { tos?: number; priority?: number } = {}): number {
    return this.stack.dev_queue_xmit(this.frame(flow, seq, len, o));
  }

  /** run fn at virtual time t (ms) */
  at(t: number, fn: () => void): void {
    this.sched.schedule(fn, Math.max(0, t - this.sched.now()));
  }

  /**
   * call fn(i) at start, start+period, … while < until — one pending action at a time (scheduling
   * thousands up front makes VirtualTimeScheduler sort a long list on every insert)
   */
  every(start: number, period: number, until: number, fn: (i: number) => void): void {
    let i = 0;
    const tick = (): void => {
      fn(i++);
      const next = start + i * period;
      if (next < until) this.sched.schedule(tick, next - this.sched.now());
    };
    if (start < until) this.sched.schedule(tick, Math.max(0, start - this.sched.now()));
  }

  /** advance virtual time to t (ms), running everything due */
  run(until: number): void {
    this.sched.schedule(() => undefined, Math.max(0, until - this.sched.now()));
    this.sched.maxFrames = until;
    this.sched.flush();
    this.sched.maxFrames = Infinity;
  }

  /** tx records of one flow */
  flow(f: number): TxRecord[] {
    return this.sent.filter((r) => r.flow === f);
  }
}
