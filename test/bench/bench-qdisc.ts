// Issue 4's qdisc figures: enqueue and dequeue rates (Mpps) of kernel-model/sched's fq_codel and netem,
// called directly (the qdisc's own cost, not dev_queue_xmit's). Frames are 64-byte IPv4/UDP of many
// flows in pooled skbs, reused round after round; the flow hash is cleared before each enqueue so
// fq_codel dissects every packet as it would a new skb. fq_codel runs on the real-time clock (codel
// stamps and reads ns time per packet); netem with a delay and jitter runs in virtual time (the clock
// jumps past the delay between enqueue and dequeue, so every packet is due and tfifo's time order is
// what costs).
import { VirtualTimeScheduler, type SchedulerLike } from 'rxjs';
import { NetStack } from '../../kernel-model/core/stack';
import { NETDEV_TX_OK, type NetDevice, type NetDeviceOps } from '../../kernel-model/core/netdevice';
import { silentLogger } from '../../kernel-model/core/log';
import type { Skb } from '../../kernel-model/core/skb';
import type { Qdisc } from '../../kernel-model/core/sch_generic';
import { FqCodelQdisc } from '../../kernel-model/sched/sch_fq_codel';
import { NetemQdisc } from '../../kernel-model/sched/sch_netem';

export interface QdiscBenchOptions {
  /** packets per row (enqueued and dequeued) */
  packets: number;
}

class NullDev implements NetDeviceOps {
  ndo_start_xmit(): number {
    return NETDEV_TX_OK;
  }
}

function frames(stack: NetStack, n: number, flows: number): Skb[] {
  const out: Skb[] = [];
  for (let i = 0; i < n; i++) {
    const skb = stack.alloc_skb(64)!;
    const at = skb.put(64);
    const b = skb.buf;
    b.fill(0, at, at + 64);
    b.set([0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x52, 0x55, 0x0a, 0, 2, 2, 0x08, 0x00], at);
    b.set([0x45, 0, 0, 50, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 2, 2, 10, 0, 2, 15], at + 14);
    const f = i % flows;
    b.set([(10000 + f) >> 8, (10000 + f) & 255, 0x13, 0x89, 0, 30, 0, 0], at + 34);
    skb.mac_header = at;
    skb.network_header = at + 14;
    skb.protocol = 0x0800;
    skb.pkt_len = 64;
    out.push(skb);
  }
  return out;
}

interface Rates {
  enq: number;
  deq: number;
  both: number;
  drops: number;
}

/**
 * rounds of: enqueue `batch` skbs, (advance), dequeue until `batch` came back. Rates from the time
 * of each half; `both` = packets / (enqueue + dequeue time).
 */
function run(q: Qdisc, skbs: Skb[], packets: number, advance: (() => void) | null): Rates {
  const batch = skbs.length;
  const rounds = Math.max(1, Math.round(packets / batch));
  let tEnq = 0;
  let tDeq = 0;
  const back: Skb[] = new Array(batch);
  const dropsBefore = q.qstats.drops;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) {
      const skb = skbs[i];
      skb.hash = 0;
      skb.sw_hash = false;
      q.enqueue(skb);
    }
    const t1 = performance.now();
    if (advance) advance();
    const t2 = performance.now();
    let got = 0;
    for (;;) {
      const skb = q.dequeue();
      if (skb === null) break;
      back[got++] = skb;
      if (got === batch) break;
    }
    const t3 = performance.now();
    if (got !== batch) throw new Error(`${q.constructor.name}: ${got} of ${batch} came back in round ${r}`);
    for (let i = 0; i < batch; i++) skbs[i] = back[i];
    tEnq += t1 - t0;
    tDeq += t3 - t2;
  }
  const n = rounds * batch;
  return { enq: n / (tEnq / 1e3), deq: n / (tDeq / 1e3), both: n / ((tEnq + tDeq) / 1e3), drops: q.qstats.drops - dropsBefore };
}

function setup(scheduler?: SchedulerLike): { stack: NetStack; dev: NetDevice } {
  const stack = new NetStack({ log: silentLogger, scheduler, pool: { slabs: 4096 } });
  const dev = stack.register_netdev(new NullDev());
  return { stack, dev };
}

const mpps = (v: number): string => `${(v / 1e6).toFixed(2)} Mpps`;

export function benchQdisc(o: QdiscBenchOptions, out: (s: string) => void): boolean {
  out(`\n== qdiscs (issue 4): enqueue / dequeue rate, 64-byte UDP frames, ${o.packets} packets per row, one core ==\n`);
  const line = (label: string, r: Rates, note: string): void => {
    out(`  ${label.padEnd(52)} enqueue ${mpps(r.enq).padStart(11)}  dequeue ${mpps(r.deq).padStart(11)}  both ${mpps(r.both).padStart(11)}  drops ${r.drops}${note ? `  ${note}` : ''}\n`);
  };
  let ok = true;
  {
    const { stack, dev } = setup();
    const q = new FqCodelQdisc(stack, dev); // Debian's default: limit 10240 flows 1024 target 5ms interval 100ms quantum 1514 ecn
    const skbs = frames(stack, 1024, 1024);
    run(q, skbs, 100_000, null); // warm-up
    const r = run(q, skbs, o.packets, null);
    line('fq_codel (defaults), 1024 flows, batches of 1024', r, 'real time');
    const s = frames(stack, 64, 64);
    const r2 = run(q, s, o.packets, null);
    line('fq_codel (defaults), 64 flows, batches of 64', r2, 'real time');
    ok &&= r.drops === 0;
    stack.close();
  }
  {
    const { stack, dev } = setup();
    const q = new NetemQdisc(stack, dev, { limit: 1000 });
    const skbs = frames(stack, 1000, 64);
    run(q, skbs, 100_000, null);
    line('netem (no delay), batches of 1000', run(q, skbs, o.packets, null), 'real time');
    stack.close();
  }
  {
    const sched = new VirtualTimeScheduler(undefined, Number.POSITIVE_INFINITY);
    const { stack, dev } = setup(sched);
    const q = new NetemQdisc(stack, dev, { limit: 1000, latency: 100e6, jitter: 10e6, seed: 1n });
    const skbs = frames(stack, 1000, 64);
    const adv = (): void => {
      sched.frame += 200; // past the largest delay: every queued packet is due
    };
    run(q, skbs, 100_000, adv);
    line('netem delay 100ms 10ms, batches of 1000', run(q, skbs, o.packets, adv), 'virtual time (tfifo reorders by jitter)');
    stack.close();
  }
  return ok;
}
