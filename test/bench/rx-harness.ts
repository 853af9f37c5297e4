// The receive-path bench's device: a NetStack on the real-time softirq scheduler with one NetDevice whose
// NAPI poll hands the model preallocated 64-byte frames of N interleaved TCP flows (Ethernet + IPv4 +
// TCP without options + 10 bytes of data), the way virtio-net's poll does (skb.reset over the frame
// bytes, CHECKSUM_PARTIAL as for a guest's VIRTIO_NET_HDR_F_NEEDS_CSUM, napi_complete_done when the
// ring is empty). With `deliver` the flows are real connections: the model listens, the harness does
// each handshake, and every data segment ends in an established socket (ip_rcv → tcp_v4_rcv → the
// receive queue → onData) that ACKs back through dev_queue_xmit. Without it a counting ETH_P_IP
// handler stands in for IP, so the figure is NAPI → GRO → netif_receive_skb alone.
import { Observable, Subject, map, type Subscription } from 'rxjs';
import { NetStack } from '../../kernel-model/core/stack';
import { NETDEV_TX_OK, type NetDevice, type NetDeviceOps } from '../../kernel-model/core/netdevice';
import { napi_complete_done, napi_schedule, type NapiStruct } from '../../kernel-model/core/napi';
import { CHECKSUM_PARTIAL, type Skb, type SkbBatch } from '../../kernel-model/core/skb';
import { silentLogger } from '../../kernel-model/core/log';
import { eth_type_trans_batch, netif_receive_skb_list } from '../../kernel-model/core/dev';
import { gro_receive, netif_set_gro, napi_gro_stats } from '../../kernel-model/core/gro';
import { rps } from '../../kernel-model/core/rps';
import { attachInet, type Inet } from '../../kernel-model/inet';
import { defaultInetConfig } from '../../kernel-model/ipv4/config';
import type { TcpSock } from '../../kernel-model/tcp/sock';

export const FRAME = 64;
const ETH = 14;
const IP = ETH;
const TCP = IP + 20;
const DATA = 10;
const GUEST_MAC = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
const GUEST_IP = [10, 0, 2, 15];
const MODEL_IP = [10, 0, 2, 2];
const PORT = 5001;
const SPORT0 = 20000;

export interface RxConfig {
  flows: number;
  gro: boolean;
  /** virtual CPUs; with rps, rps_cpus covers all of them */
  cpus: number;
  rps: boolean;
  /** real TCP connections (IP + TCP delivery) instead of a counting ETH_P_IP handler */
  deliver: boolean;
  /** frames per lap (the ring the poll walks; seqs advance between laps) */
  lap: number;
}

/** time spent per stage (ns), attributed by StageClock */
export interface StageTimes {
  napi: number;
  gro: number;
  rps: number;
  deliver: number;
}

/**
 * Attributes wall time to the stage running now: boundaries switch the current stage on the way down
 * the (synchronous) pipeline and back on return. Two clock reads per boundary crossing.
 */
export class StageClock {
  readonly t: StageTimes = { napi: 0, gro: 0, rps: 0, deliver: 0 };
  cur: keyof StageTimes = 'napi';
  last = 0;
  switch(to: keyof StageTimes): keyof StageTimes {
    const now = performance.now();
    this.t[this.cur] += (now - this.last) * 1e6;
    this.last = now;
    const prev = this.cur;
    this.cur = to;
    return prev;
  }
}

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 255;
  b[o + 1] = v & 255;
}
function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 255;
  b[o + 2] = (v >>> 8) & 255;
  b[o + 3] = v & 255;
}
function get32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}
function csum(b: Uint8Array, o: number, n: number, sum = 0): number {
  for (let i = 0; i < n; i += 2) sum += (b[o + i] << 8) | (i + 1 < n ? b[o + i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** an Ethernet/IPv4/TCP frame from the guest to the model, checksums complete */
function tcpFrame(dstMac: Uint8Array, sport: number, seq: number, ack: number, flags: number, opts: number[], dataLen: number): Uint8Array {
  const thl = 20 + opts.length;
  const tot = 20 + thl + dataLen;
  const f = new Uint8Array(ETH + tot);
  f.set(dstMac, 0);
  f.set(GUEST_MAC, 6);
  put16(f, 12, 0x0800);
  f.set([0x45, 0, tot >> 8, tot & 255, 0, 0, 0x40, 0, 64, 6, 0, 0], IP);
  f.set(GUEST_IP, IP + 12);
  f.set(MODEL_IP, IP + 16);
  put16(f, IP + 10, ~csum(f, IP, 20) & 0xffff);
  put16(f, TCP, sport);
  put16(f, TCP + 2, PORT);
  put32(f, TCP + 4, seq);
  put32(f, TCP + 8, ack);
  f[TCP + 12] = (thl / 4) << 4;
  f[TCP + 13] = flags;
  put16(f, TCP + 14, 0xffff);
  f.set(opts, TCP + 20);
  for (let i = 0; i < dataLen; i++) f[TCP + thl + i] = (i * 7 + sport) & 255;
  const l4 = tot - 20;
  const pseudo = csum(f, IP + 12, 8, 6 + l4);
  put16(f, TCP + 16, ~csum(f, TCP, l4, pseudo) & 0xffff);
  return f;
}

function arpRequest(): Uint8Array {
  const f = new Uint8Array(42);
  f.fill(0xff, 0, 6);
  f.set(GUEST_MAC, 6);
  f.set([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1], 12);
  f.set(GUEST_MAC, 22);
  f.set(GUEST_IP, 28);
  f.set(MODEL_IP, 38);
  return f;
}

const sleepTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

export class RxBench implements NetDeviceOps {
  readonly stack: NetStack;
  readonly dev: NetDevice;
  readonly napi: NapiStruct;
  readonly inet: Inet | null = null;
  readonly socks: TcpSock[] = [];
  /** frames the model transmitted (ACKs) */
  txFrames = 0;
  /** IP packets the stand-in handler counted (deliver off) */
  ipSeen = 0;
  /** bytes the sockets delivered to onData */
  delivered = 0;
  /** the model's ISN per source port (from its SYN-ACK) */
  private readonly misn = new Map<number, number>();
  private setup: Uint8Array[] = [];
  /** the lap: `lap` frames of FRAME bytes, flow = index % flows */
  private area: Uint8Array = new Uint8Array(0);
  private cursor = 0;
  private end = 0;
  private done: (() => void) | null = null;
  /** instrumented pipeline (stage clock) instead of the stack's own rx_pipeline */
  private clock: StageClock | null = null;
  private readonly mine = new Subject<SkbBatch>();
  private mineSub: Subscription | null = null;
  private seq: Uint32Array;

  constructor(readonly cfg: RxConfig) {
    this.stack = new NetStack({ log: silentLogger, cpus: cfg.cpus, rps: { hashrnd: new Uint8Array(16).fill(7) } });
    this.dev = this.stack.register_netdev(this);
    this.napi = this.dev.netif_napi_add((n, budget) => this.poll(n, budget));
    netif_set_gro(this.dev, cfg.gro);
    if (cfg.rps) this.stack.rps.set_rps_cpus(this.dev, 0, Array.from({ length: cfg.cpus }, (_, i) => i));
    if (cfg.deliver) {
      this.inet = attachInet(this.stack, this.dev, defaultInetConfig({ dhcp: false }), { terminate: [] });
    } else {
      this.stack.dev_add_pack(0x0800, () => {
        this.ipSeen++;
      });
    }
    this.seq = new Uint32Array(cfg.flows);
  }

  /** handshakes (deliver) and the lap frames; throws if a connection does not establish */
  async prepare(): Promise<void> {
    const { flows, lap } = this.cfg;
    const modelMac = this.dev.dev_addr;
    for (let f = 0; f < flows; f++) this.seq[f] = (0x1000_0000 + f * 0x0100_0000) >>> 0;
    if (this.inet) {
      this.inet.tcp.listen(PORT, (sk) => {
        sk.onData = (_b, _o, len) => {
          this.delivered += len;
        };
        this.socks.push(sk);
      });
      await this.injectSetup([arpRequest()]);
      // SYN with MSS 1460 and window scale 7, as a Linux guest without SACK/timestamps
      await this.injectSetup(Array.from({ length: flows }, (_, f) => tcpFrame(modelMac, SPORT0 + f, this.seq[f], 0, 0x02, [2, 4, 5, 0xb4, 1, 3, 3, 7], 0)));
      const acks: Uint8Array[] = [];
      for (let f = 0; f < flows; f++) {
        const m = this.misn.get(SPORT0 + f);
        if (m === undefined) throw new Error(`no SYN-ACK for flow ${f}`);
        this.seq[f] = (this.seq[f] + 1) >>> 0;
        acks.push(tcpFrame(modelMac, SPORT0 + f, this.seq[f], (m + 1) >>> 0, 0x10, [], 0));
      }
      await this.injectSetup(acks);
      if (this.socks.length !== flows) throw new Error(`${this.socks.length} of ${flows} connections established`);
    }
    this.area = new Uint8Array(lap * FRAME);
    for (let i = 0; i < lap; i++) {
      const f = i % flows;
      const m = this.misn.get(SPORT0 + f) ?? 0;
      this.area.set(tcpFrame(modelMac, SPORT0 + f, 0, (m + 1) >>> 0, 0x10, [], DATA), i * FRAME);
    }
    this.rewriteSeqs();
  }

  /** stamp the next lap's sequence numbers (TCP checksum left to CHECKSUM_PARTIAL, as a guest does) */
  private rewriteSeqs(): void {
    const { flows, lap } = this.cfg;
    const a = this.area;
    for (let i = 0; i < lap; i++) {
      const f = i % flows;
      put32(a, i * FRAME + TCP + 4, this.seq[f]);
      this.seq[f] = (this.seq[f] + DATA) >>> 0;
    }
  }

  private async injectSetup(frames: Uint8Array[]): Promise<void> {
    this.setup.push(...frames);
    napi_schedule(this.napi);
    for (let i = 0; i < 20; i++) await sleepTurn();
  }

  /** run `laps` laps through the path; resolves with the ns spent processing (seq rewrites excluded) */
  async run(laps: number, instrumented: boolean): Promise<{ ns: number; cpuNs: number; stages: StageTimes | null }> {
    let ns = 0;
    let cpuNs = 0;
    if (instrumented) this.instrument();
    for (let l = 0; l < laps; l++) {
      const fin = new Promise<void>((r) => (this.done = r));
      this.cursor = 0;
      this.end = this.cfg.lap;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      if (this.clock) {
        this.clock.last = t0;
        this.clock.cur = 'napi';
      }
      napi_schedule(this.napi);
      await fin;
      const t1 = performance.now();
      const c = process.cpuUsage(c0);
      if (this.clock) this.clock.switch('napi');
      ns += (t1 - t0) * 1e6;
      cpuNs += (c.user + c.system) * 1e3;
      this.rewriteSeqs();
    }
    return { ns, cpuNs, stages: this.clock ? { ...this.clock.t } : null };
  }

  /** the stack's pipeline rebuilt from its exported stages with a stage clock at each boundary */
  private instrument(): void {
    const clock = (this.clock = new StageClock());
    const stack = this.stack;
    this.mineSub = this.mine
      .pipe(
        map((b: SkbBatch) => eth_type_trans_batch(stack, b)),
        stageBoundary(clock, 'gro'),
        gro_receive(stack),
        stageBoundary(clock, 'rps'),
        rps(stack),
        stageBoundary(clock, 'deliver'),
      )
      .subscribe((b) => netif_receive_skb_list(stack, b));
  }

  ndo_start_xmit(skb: Skb): number {
    this.txFrames++;
    const b = skb.buf;
    const o = skb.data;
    // SYN-ACK during setup: remember the model's ISN for the flow
    if (skb.len >= 54 && b[o + 12] === 8 && b[o + 13] === 0 && b[o + 23] === 6 && (b[o + TCP + 13] & 0x12) === 0x12) {
      this.misn.set((b[o + TCP + 2] << 8) | b[o + TCP + 3], get32(b, o + TCP + 4));
    }
    return NETDEV_TX_OK;
  }

  private poll(napi: NapiStruct, budget: number): number {
    let work = 0;
    if (this.setup.length > 0) {
      while (work < budget && this.setup.length > 0) {
        const f = this.setup.shift()!;
        napi.batch.next()!.reset(f, 0, f.length);
        work++;
      }
      this.handUp(napi);
    } else {
      const a = this.area;
      let c = this.cursor;
      const n = Math.min(budget, this.end - c);
      for (; work < n; work++, c++) {
        const skb = napi.batch.next()!.reset(a, c * FRAME, FRAME);
        skb.ip_summed = CHECKSUM_PARTIAL;
        skb.csum_start = c * FRAME + TCP;
        skb.csum_offset = 16;
      }
      this.cursor = c;
      this.dev.stats.rx_packets += work;
      this.dev.stats.rx_bytes += work * FRAME;
      this.handUp(napi);
    }
    if (work < budget) {
      napi_complete_done(napi, work);
      if (this.setup.length === 0 && this.cursor >= this.end && this.done) {
        const d = this.done;
        this.done = null;
        // the backlogs of other CPUs (RPS) finish in their own softirq: resolve once they are empty
        // and one more turn has passed (readers woken by sk_data_ready run after the softirq)
        const drained = (): void => {
          if (this.stack.softnet.some((sd) => sd.backlog_len > 0)) setImmediate(drained);
          else setImmediate(d);
        };
        setImmediate(drained);
      }
    }
    return work;
  }

  private handUp(napi: NapiStruct): void {
    if (this.clock === null) {
      napi.receive_batch();
      return;
    }
    // what receive_batch does, into the instrumented pipeline
    const b = napi.batch;
    if (b.count === 0) return;
    b.dev = this.dev;
    b.napi = napi;
    napi.batches++;
    this.mine.next(b);
    b.clear();
  }

  /** GRO merge count so far (model counter) */
  groStats(): ReturnType<typeof napi_gro_stats> {
    return napi_gro_stats(this.napi);
  }

  close(): void {
    this.mineSub?.unsubscribe();
    for (const s of this.socks) s.destroy();
    this.stack.close();
  }
}

/** a pipeline operator that switches the stage clock to `to` while the batch is downstream */
function stageBoundary(clock: StageClock, to: keyof StageTimes) {
  return (src: Observable<SkbBatch>): Observable<SkbBatch> =>
    new Observable<SkbBatch>((sub) =>
      src.subscribe({
        next: (b) => {
          const prev = clock.switch(to);
          sub.next(b);
          clock.switch(prev);
        },
        error: (e: unknown) => sub.error(e),
        complete: () => sub.complete(),
      }),
    );
}
