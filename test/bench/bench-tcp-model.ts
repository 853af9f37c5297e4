// Issue 3's in-process TCP figures: bulk throughput between two instances of the TCP model (two
// NetStacks, each with IPv4 + TCP on one device, linked back to back in real time on the softirq
// scheduler, no guest) and memory per idle connection (tcp-idle-memory.ts, written separately, used
// when present). The link is a ring of preallocated frame slots per direction: ndo_start_xmit copies
// the frame into the peer's ring and schedules its NAPI; the peer's poll hands the slots up as views.
import * as fs from 'fs';
import * as path from 'path';
import { NetStack } from '../../kernel-model/core/stack';
import { NETDEV_TX_OK, type NetDevice, type NetDeviceOps } from '../../kernel-model/core/netdevice';
import { napi_complete_done, napi_schedule, type NapiStruct } from '../../kernel-model/core/napi';
import { silentLogger } from '../../kernel-model/core/log';
import type { Skb } from '../../kernel-model/core/skb';
import { attachInet, type Inet } from '../../kernel-model/inet';
import { defaultInetConfig } from '../../kernel-model/ipv4/config';
import type { TcpSock } from '../../kernel-model/tcp/sock';

export interface TcpModelBenchOptions {
  /** bytes to move */
  bytes: number;
  mtu: number;
  /** connections for memory per idle connection */
  idleConns: number;
}

const SLOTS = 1024;

class LinkEnd implements NetDeviceOps {
  readonly stack: NetStack;
  readonly dev: NetDevice;
  readonly napi: NapiStruct;
  readonly inet: Inet;
  peer!: LinkEnd;
  /** frames waiting for this end's poll, in a ring of fixed slots */
  private readonly ring: Uint8Array;
  private readonly lens = new Uint32Array(SLOTS);
  private head = 0;
  private tail = 0;
  /** frames the ring had no room for (a full device queue) */
  ringDrops = 0;
  frames = 0;

  constructor(host: number, mac: number[], readonly slot: number, mtu: number) {
    this.stack = new NetStack({ log: silentLogger });
    this.dev = this.stack.register_netdev(this, { mac: new Uint8Array(mac), mtu });
    this.napi = this.dev.netif_napi_add((n, budget) => this.poll(n, budget));
    this.inet = attachInet(this.stack, this.dev, defaultInetConfig({ host, dns: (host + 1) >>> 0, dhcpStart: 0x0a000264, dhcp: false }), { terminate: [] });
    this.ring = new Uint8Array(SLOTS * slot);
  }

  ndo_start_xmit(skb: Skb): number {
    this.peer.receive(skb.buf, skb.data, skb.len);
    return NETDEV_TX_OK;
  }

  private receive(b: Uint8Array, o: number, len: number): void {
    if (this.tail - this.head >= SLOTS || len > this.slot) {
      this.ringDrops++;
      return;
    }
    const i = this.tail % SLOTS;
    this.ring.set(b.subarray(o, o + len), i * this.slot);
    this.lens[i] = len;
    this.tail++;
    this.frames++;
    napi_schedule(this.napi);
  }

  private poll(napi: NapiStruct, budget: number): number {
    let work = 0;
    while (work < budget && this.head < this.tail) {
      const i = this.head % SLOTS;
      napi.batch.next()!.reset(this.ring, i * this.slot, this.lens[i]);
      this.dev.dev_sw_netstats_rx_add(this.lens[i]);
      this.head++;
      work++;
    }
    napi.receive_batch();
    if (work < budget) napi_complete_done(napi, work);
    return work;
  }

  close(): void {
    this.stack.close();
  }
}

const ADDR_A = 0x0a000202;
const ADDR_B = 0x0a00020f;

interface Throughput {
  gbps: number;
  seconds: number;
  cpu: number;
  bytes: number;
  notes: string[];
}

async function bulk(o: TcpModelBenchOptions): Promise<Throughput> {
  const slot = o.mtu + 14 + 2;
  const a = new LinkEnd(ADDR_A, [0x52, 0x55, 0x0a, 0, 2, 2], slot, o.mtu);
  const b = new LinkEnd(ADDR_B, [0x52, 0x54, 0, 0x12, 0x34, 0x56], slot, o.mtu);
  a.peer = b;
  b.peer = a;
  try {
    const chunk = new Uint8Array(1 << 20);
    for (let i = 0; i < chunk.length; i++) chunk[i] = i & 255;
    let got = 0;
    let bad = 0;
    let server: TcpSock | null = null;
    const finished = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`transfer stalled: ${got} of ${o.bytes} bytes after 600 s`)), 600_000);
      b.inet.tcp.listen(5001, (sk) => {
        server = sk;
        sk.onData = (buf, off, len) => {
          // spot-check the stream: byte k of the stream is k & 255
          if (buf[off] !== (got & 255) || buf[off + len - 1] !== ((got + len - 1) & 255)) bad++;
          got += len;
          if (got >= o.bytes) {
            clearTimeout(timer);
            resolve();
          }
        };
      });
    });
    const c = a.inet.tcp.connect(a.inet.ind, ADDR_B, 5001);
    if (!c) throw new Error('connect failed');
    const up = await new Promise<boolean>((resolve) => {
      c.onConnect = () => resolve(true);
      c.onClose = () => resolve(false);
      setTimeout(() => resolve(false), 5000).unref();
    });
    if (!up) throw new Error(`no connection (${c.stateName}${c.error ? `, ${c.error}` : ''})`);
    c.onClose = null;
    let sent = 0;
    const pump = (): void => {
      while (sent < o.bytes) {
        const off = sent % chunk.length;
        const n = c.write(chunk, off, Math.min(chunk.length - off, o.bytes - sent));
        if (n <= 0) return;
        sent += n;
      }
    };
    c.onDrain = pump;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    pump();
    await finished;
    const t = (performance.now() - t0) / 1e3;
    const cu = process.cpuUsage(cpu0);
    const info = c.info();
    const notes = [
      `${a.frames + b.frames} frames`,
      `retrans ${info.total_retrans}`,
      `cwnd ${info.snd_cwnd}`,
      `rtt ${(info.rtt / 1000).toFixed(2)} ms`,
      `ring drops ${a.ringDrops + b.ringDrops}`,
    ];
    if (bad) notes.push(`WARNING: ${bad} chunks with wrong bytes`);
    void server;
    return { gbps: (got * 8) / t / 1e9, seconds: t, cpu: (cu.user + cu.system) / 1e6, bytes: got, notes };
  } finally {
    a.close();
    b.close();
  }
}

type IdleFn = (n: number) => Promise<{ bytesPerConn: number }>;

/** tcp-idle-memory.ts's measureIdleConnectionMemory, if that file has been written */
function idleMemoryFn(): IdleFn | null {
  const file = path.join(__dirname, 'tcp-idle-memory.js');
  if (!fs.existsSync(file)) return null;
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const m = require(file) as { measureIdleConnectionMemory?: IdleFn };
  return typeof m.measureIdleConnectionMemory === 'function' ? m.measureIdleConnectionMemory : null;
}

export const IDLE_TARGET_BYTES = 4096;

export async function benchTcpModel(o: TcpModelBenchOptions, out: (s: string) => void, rows: { bulk: boolean; idle: boolean } = { bulk: true, idle: true }): Promise<boolean> {
  let ok = true;
  if (rows.bulk) {
    out(`\n== TCP model ↔ TCP model (issue 3): ${(o.bytes / 2 ** 20).toFixed(0)} MiB bulk, MTU ${o.mtu}, two NetStacks back to back in real time, one core ==\n`);
    try {
      const r = await bulk(o);
      out(`  throughput ${r.gbps.toFixed(3)} Gbit/s (${(r.bytes / 2 ** 20).toFixed(0)} MiB in ${r.seconds.toFixed(2)} s, CPU ${r.cpu.toFixed(2)} s = ${(r.cpu / (r.bytes / 1e9)).toFixed(2)} s/GB for both ends)  ${r.notes.join(', ')}\n`);
      ok &&= !r.notes.some((n) => n.startsWith('WARNING'));
    } catch (e) {
      out(`  ERROR: ${(e as Error).message}\n`);
      ok = false;
    }
  }
  if (rows.idle) {
    out(`\n== memory per idle TCP connection (issue 3), ${o.idleConns} connections ==\n`);
    const fn = idleMemoryFn();
    if (fn === null) {
      out('  not available (test/bench/tcp-idle-memory.ts not present)\n');
    } else {
      try {
        const r = await fn(o.idleConns);
        const met = r.bytesPerConn <= IDLE_TARGET_BYTES;
        out(`  ${Math.round(r.bytesPerConn)} bytes per idle connection — target ≤ ${IDLE_TARGET_BYTES} B ${met ? 'met' : 'NOT met'}\n`);
      } catch (e) {
        out(`  ERROR: ${(e as Error).message}\n`);
        ok = false;
      }
    }
  }
  return ok;
}
