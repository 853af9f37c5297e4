// RPS/RFS and the per-CPU backlogs in virtual time: real frames through a real NAPI (or netif_rx),
// steered by the flow hash to virtual CPUs, each processing its backlog in its own softirq turn.
import { expect } from 'chai';
import { VirtualTimeScheduler } from 'rxjs';
import { NetStack } from '../../kernel-model/core/stack';
import { NETDEV_TX_OK, type NetDevice, type NetDeviceOps } from '../../kernel-model/core/netdevice';
import { napi_complete_done, napi_schedule, type NapiStruct } from '../../kernel-model/core/napi';
import { Skb } from '../../kernel-model/core/skb';
import { softnet_seq_show } from '../../kernel-model/core/softnet';
import { get_rps_cpu, netif_rx, parse_cpumask } from '../../kernel-model/core/rps';
import { NET_RX_DROP, NET_RX_SUCCESS } from '../../kernel-model/core/rps/backlog';
import { skb_get_hash } from '../../kernel-model/core/flow_dissector';
import { siphash_key } from '../../kernel-model/core/rps/siphash';
import { silentLogger } from '../../kernel-model/core/log';

const HASHRND = Uint8Array.from({ length: 16 }, (_, i) => (i * 37 + 11) & 0xff);
const GW = [0x52, 0x55, 0x0a, 0x00, 0x02, 0x02];
const GUEST = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

/** Ethernet + IPv4 + UDP frame (60 bytes) for flow 10.0.2.15:sport → 10.0.2.2:dport */
function udpFrame(sport: number, dport = 9000, seq = 0): Uint8Array {
  const b = new Uint8Array(60);
  b.set(GW, 0);
  b.set(GUEST, 6);
  b.set([0x08, 0x00], 12);
  b.set([0x45, 0, 0, 46, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 2, 15, 10, 0, 2, 2], 14);
  b.set([sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, 0, 26, 0, 0], 34);
  b[42] = seq & 0xff;
  b[43] = (seq >> 8) & 0xff;
  return b;
}

class Nic implements NetDeviceOps {
  readonly dev: NetDevice;
  readonly napi: NapiStruct;
  queue: Uint8Array[] = [];
  constructor(readonly stack: NetStack) {
    this.dev = stack.register_netdev(this);
    this.napi = this.dev.netif_napi_add((n, b) => this.poll(n, b));
  }
  ndo_start_xmit(): number {
    return NETDEV_TX_OK;
  }
  receive(frames: Uint8Array[]): void {
    this.queue.push(...frames);
    napi_schedule(this.napi);
  }
  private poll(napi: NapiStruct, budget: number): number {
    let work = 0;
    while (work < budget && this.queue.length) {
      const f = this.queue.shift()!;
      napi.batch.next()!.reset(f, 0, f.length);
      work++;
    }
    napi.receive_batch();
    if (work < budget) napi_complete_done(napi, work);
    return work;
  }
}

interface Seen {
  cpu: number;
  sport: number;
  seq: number;
  copied: boolean;
  mac0: number;
}

function setup(cpus: number, rps: ConstructorParameters<typeof NetStack>[0] extends infer O ? (O extends { rps?: infer R } ? R : never) : never = {}, pool?: { slabs: number }) {
  const sched = new VirtualTimeScheduler();
  const stack = new NetStack({ scheduler: sched, log: silentLogger, cpus, rps: { hashrnd: HASHRND, ...rps }, pool });
  const nic = new Nic(stack);
  const seen: Seen[] = [];
  const frames = new Set<Uint8Array>();
  stack.dev_add_pack(0x0800, (skb: Skb) => {
    const b = skb.buf;
    const l4 = skb.data + 20;
    seen.push({
      cpu: stack.this_cpu().cpu,
      sport: (b[l4] << 8) | b[l4 + 1],
      seq: b[l4 + 8] | (b[l4 + 9] << 8),
      copied: !frames.has(b),
      mac0: b[skb.mac_header],
    });
  });
  const send = (list: Uint8Array[]): void => {
    for (const f of list) frames.add(f);
    nic.receive(list);
    sched.flush();
  };
  return { sched, stack, nic, seen, send };
}

/** the CPU RPS must pick for a frame: map[reciprocal_scale(skb_get_hash, len)] computed independently */
function expectedCpu(frame: Uint8Array, cpus: number[]): number {
  const skb = new Skb().reset(frame, 14, frame.length - 14);
  skb.protocol = 0x0800;
  const h = skb_get_hash(skb, siphash_key(HASHRND));
  return cpus[Number((BigInt(h) * BigInt(cpus.length)) >> 32n)];
}

describe('RPS / RFS / per-CPU backlog', () => {
  it('RPS off: batches go inline on the polling CPU, uncopied, no pool use, no IPIs', () => {
    const { stack, seen, send } = setup(4);
    const free = stack.pool.available;
    send([udpFrame(1000), udpFrame(1001), udpFrame(1002)]);
    expect(seen.map((s) => [s.cpu, s.copied])).to.deep.equal([[0, false], [0, false], [0, false]]);
    expect(stack.pool.available).to.equal(free);
    expect(stack.softnet.map((sd) => sd.received_rps)).to.deep.equal([0, 0, 0, 0]);
    expect(stack.softnet[0].backlog).to.equal(null);
  });

  it('parse_cpumask reads sysfs hex masks and CPU lists', () => {
    expect(parse_cpumask('f')).to.deep.equal([0, 1, 2, 3]);
    expect(parse_cpumask('0000000a')).to.deep.equal([1, 3]);
    expect(parse_cpumask('1,00000001')).to.deep.equal([0, 32]);
    expect(parse_cpumask([3, 1, 1])).to.deep.equal([1, 3]);
    expect(() => parse_cpumask('xyz')).to.throw(RangeError);
  });

  it('spreads flows over the rps_cpus mask by reciprocal_scale(hash), deterministically, as pooled copies', () => {
    for (const mask of ['f', 'a']) {
      const { stack, nic, seen, send } = setup(4);
      stack.rps.set_rps_cpus(nic.dev, 0, mask);
      const cpus = parse_cpumask(mask);
      const frames = Array.from({ length: 48 }, (_, i) => udpFrame(2000 + i));
      const free = stack.pool.available;
      send(frames);
      expect(seen).to.have.length(48);
      for (const s of seen) {
        expect(s.cpu, `flow ${s.sport}`).to.equal(expectedCpu(udpFrame(s.sport), cpus));
        expect(s.copied).to.equal(true);
        expect(s.mac0).to.equal(GW[0]); // the Ethernet header travels with the copy
      }
      const used = new Set(seen.map((s) => s.cpu));
      expect([...used].every((c) => cpus.includes(c))).to.equal(true);
      expect(used.size).to.equal(cpus.length); // 48 flows reach every CPU of the mask
      // per-CPU counters: processed where handled; pool slabs all returned
      for (const sd of stack.softnet) expect(sd.processed, `cpu ${sd.cpu}`).to.equal(seen.filter((s) => s.cpu === sd.cpu).length);
      expect(stack.pool.available).to.equal(free);
      // one IPI per remote CPU that got packets (its queue went from empty once); none for local
      for (const sd of stack.softnet) expect(sd.received_rps).to.equal(sd.cpu !== 0 && used.has(sd.cpu) ? 1 : 0);
    }
  });

  it('processing order: CPU 0 drains its backlog in the same softirq; remote CPUs follow in IPI order, each flow in order', () => {
    const { stack, nic, seen, send } = setup(4);
    stack.rps.set_rps_cpus(nic.dev, 0, 'f');
    const frames: Uint8Array[] = [];
    for (let seq = 0; seq < 3; seq++) for (let f = 0; f < 8; f++) frames.push(udpFrame(3000 + f, 9000, seq));
    send(frames);
    const order = seen.map((s) => s.cpu);
    // CPUs in the order they first got a packet; IPIs go out LIFO from rps_ipi_list
    const firstUse: number[] = [];
    for (const f of frames) {
      const c = expectedCpu(f, [0, 1, 2, 3]);
      if (!firstUse.includes(c)) firstUse.push(c);
    }
    const remote = firstUse.filter((c) => c !== 0).reverse();
    const runs = order.filter((c, i) => i === 0 || order[i - 1] !== c);
    expect(runs).to.deep.equal(firstUse.includes(0) ? [0, ...remote] : remote);
    for (let f = 0; f < 8; f++) {
      expect(seen.filter((s) => s.sport === 3000 + f).map((s) => s.seq)).to.deep.equal([0, 1, 2]);
    }
    expect(stack.softnet.reduce((n, sd) => n + sd.net_rx_action_runs, 0)).to.be.greaterThan(remote.length);
  });

  it('netif_rx always enqueues: the 1001st packet fits (qlen checked before insert), the rest drop', () => {
    const { sched, stack, nic, seen } = setup(1);
    const sd = stack.softnet[0];
    const rcs: number[] = [];
    for (let i = 0; i < 1005; i++) {
      const skb = new Skb().reset(udpFrame(4000, 9000, i), 0, 60);
      skb.dev = nic.dev;
      rcs.push(netif_rx(stack, skb));
    }
    expect(rcs.slice(0, 1001).every((r) => r === NET_RX_SUCCESS)).to.equal(true);
    expect(rcs.slice(1001)).to.deep.equal([NET_RX_DROP, NET_RX_DROP, NET_RX_DROP, NET_RX_DROP]);
    expect(sd.input_pkt_queue.length).to.equal(1001);
    expect(sd.dropped).to.equal(4);
    expect(nic.dev.stats.rx_dropped).to.equal(4);
    const line = softnet_seq_show(stack).trim().split(' ');
    expect(line[1]).to.equal('00000004');
    expect(line[11]).to.equal((1001).toString(16).padStart(8, '0'));
    sched.flush();
    expect(seen).to.have.length(1001);
    expect(seen.map((s) => s.seq).slice(0, 3)).to.deep.equal([0, 1, 2]);
    expect(sd.processed).to.equal(1001);
    expect(sd.backlog_len).to.equal(0);
    expect(sd.input_queue_head).to.equal(1001);
    expect(sd.input_queue_tail).to.equal(1001);
    expect(stack.pool.available).to.equal(1024);
    // the backlog NAPI polls dev_rx_weight (64) at a time: 1001 = 15 full polls + 41
    expect(sd.backlog!.polls).to.equal(16);
  });

  it('flow_limit: with the queue half full one flow may hold at most 64 of the last 128 packets', () => {
    const { sched, stack, nic } = setup(2, { flow_limit_cpu_bitmap: [0] });
    stack.rps.set_rps_cpus(nic.dev, 0, [1]); // every packet to CPU 1, enqueued from CPU 0
    const h = expectedCpu(udpFrame(5000), [1]);
    expect(h).to.equal(1);
    const skb0 = new Skb().reset(udpFrame(5000), 14, 46);
    skb0.protocol = 0x0800;
    expect(skb_get_hash(skb0, stack.rps.hashrnd) & 4095).to.not.equal(0); // precondition of the count below
    for (let i = 0; i < 700; i++) {
      const skb = new Skb().reset(udpFrame(5000, 9000, i), 0, 60);
      skb.dev = nic.dev;
      netif_rx(stack, skb);
    }
    // 500 enter below the threshold, then 64 more; the other 136 are flow-limited
    expect(stack.softnet[1].input_pkt_queue.length).to.equal(564);
    expect(stack.softnet[0].flow_limit_count).to.equal(136); // counted on the enqueuing CPU
    expect(stack.softnet[1].flow_limit_count).to.equal(0);
    expect(stack.softnet[1].dropped).to.equal(136); // dropped on the target CPU
    expect(nic.dev.stats.rx_dropped).to.equal(136);
    sched.flush();
    expect(stack.softnet[1].processed).to.equal(564);
    expect(stack.softnet[1].received_rps).to.equal(1);

    // two interleaved flows never exceed half the history: no flow-limit drops
    const t = setup(2, { flow_limit_cpu_bitmap: '1' });
    t.stack.rps.set_rps_cpus(t.nic.dev, 0, [1]);
    for (let i = 0; i < 900; i++) {
      const skb = new Skb().reset(udpFrame(i % 2 ? 5000 : 5001, 9000, i), 0, 60);
      skb.dev = t.nic.dev;
      netif_rx(t.stack, skb);
    }
    expect(t.stack.softnet[0].flow_limit_count).to.equal(0);
    expect(t.stack.softnet[1].input_pkt_queue.length).to.equal(900);
  });

  it('RFS steers a flow to the CPU its socket recorded and switches only once the old backlog drained', () => {
    const { sched, stack, nic, seen } = setup(4, { rps_sock_flow_entries: 1000 });
    expect(stack.rps.rps_sock_flow_entries).to.equal(1024);
    stack.rps.set_rps_flow_cnt(nic.dev, 0, 200);
    const frame = (seq: number): Skb => {
      const skb = new Skb().reset(udpFrame(6000, 9000, seq), 0, 60);
      skb.dev = nic.dev;
      return skb;
    };
    // no socket recorded yet and no rps map: local CPU
    netif_rx(stack, frame(0));
    sched.flush();
    expect(seen.map((s) => s.cpu)).to.deep.equal([0]);
    const probe = frame(99);
    probe.protocol = 0x0800;
    probe.data = 14;
    probe.len = 46;
    const hash = stack.rps.skb_get_hash(probe);

    stack.rps.rps_record_sock_flow(hash, 2);
    netif_rx(stack, frame(1)); // → CPU 2 (current CPU unset)
    stack.rps.rps_record_sock_flow(hash, 3); // the socket moved, but packet 1 is still queued on CPU 2
    netif_rx(stack, frame(2)); // must stay on CPU 2 (in order)
    expect(stack.softnet[2].input_pkt_queue.length).to.equal(2);
    sched.flush();
    netif_rx(stack, frame(3)); // CPU 2 drained: switch to CPU 3
    sched.flush();
    expect(seen.map((s) => [s.seq, s.cpu])).to.deep.equal([[0, 0], [1, 2], [2, 2], [3, 3]]);
    expect(stack.softnet[3].received_rps).to.equal(1);

    // through the NAPI path too, with an rps map that would pick otherwise
    stack.rps.set_rps_cpus(nic.dev, 0, '2'); // CPU 1 only
    seen.length = 0;
    nic.receive([udpFrame(6000, 9000, 10), udpFrame(6001, 9000, 11)]);
    sched.flush();
    // 6000 follows its socket to CPU 3, 6001 (no socket) takes the map; IPIs leave LIFO: CPU 1 runs first
    expect(seen.map((s) => [s.sport, s.cpu])).to.deep.equal([[6001, 1], [6000, 3]]);
  });

  it('get_rps_cpu: a socket entry of another flow (hash bits differ) falls back to the RPS map', () => {
    const { stack, nic } = setup(4, { rps_sock_flow_entries: 16 });
    stack.rps.set_rps_flow_cnt(nic.dev, 0, 16);
    stack.rps.set_rps_cpus(nic.dev, 0, [1]);
    const skb = new Skb().reset(udpFrame(7000), 14, 46);
    skb.protocol = 0x0800;
    skb.dev = nic.dev;
    const hash = stack.rps.skb_get_hash(skb);
    stack.rps.rps_record_sock_flow((hash ^ 0x10000) >>> 0, 3); // same bucket, different high bits
    expect(get_rps_cpu(stack.rps, stack.rps.rx_queue(nic.dev, 0), skb)).to.equal(1);
    stack.rps.rps_record_sock_flow(hash, 3);
    expect(get_rps_cpu(stack.rps, stack.rps.rx_queue(nic.dev, 0), skb)).to.equal(3);
  });

  it('an empty skb pool drops the steered packet, counted on the target CPU and in rx_dropped', () => {
    const { stack, nic, seen, send } = setup(2, {}, { slabs: 8 });
    stack.rps.set_rps_cpus(nic.dev, 0, [1]);
    send(Array.from({ length: 20 }, (_, i) => udpFrame(8000, 9000, i)));
    // 8 slabs: the first batch of 20 needs 20 copies while nothing is processed yet
    expect(seen).to.have.length(8);
    expect(stack.softnet[1].backlog_nomem).to.equal(12);
    expect(stack.softnet[1].dropped).to.equal(12);
    expect(nic.dev.stats.rx_dropped).to.equal(12);
    expect(stack.pool.available).to.equal(8);
  });

  it('unregister flushes the device from every backlog; close frees queued skbs', () => {
    const { stack, nic } = setup(2);
    stack.rps.set_rps_cpus(nic.dev, 0, [1]);
    for (let i = 0; i < 5; i++) {
      const skb = new Skb().reset(udpFrame(9000, 9000, i), 0, 60);
      skb.dev = nic.dev;
      netif_rx(stack, skb);
    }
    expect(stack.softnet[1].input_pkt_queue.length).to.equal(5);
    stack.unregister_netdev(nic.dev);
    expect(stack.softnet[1].backlog_len).to.equal(0);
    expect(stack.softnet[1].input_queue_head).to.equal(5);
    expect(stack.rps.rps_needed).to.equal(0);
    expect(stack.pool.available).to.equal(1024);
    const skb = new Skb().reset(udpFrame(9000), 0, 60);
    skb.dev = nic.dev;
    expect(netif_rx(stack, skb)).to.equal(NET_RX_DROP); // device gone: dropped, counted
    expect(stack.softnet[0].dropped).to.equal(1);
    stack.close();
  });

  it('netif_rx rejects short frames and device-less skbs without throwing', () => {
    const { stack, nic } = setup(1);
    const short = new Skb().reset(new Uint8Array(10), 0, 10);
    short.dev = nic.dev;
    expect(netif_rx(stack, short)).to.equal(NET_RX_DROP);
    expect(nic.dev.stats.rx_length_errors).to.equal(1);
    expect(netif_rx(stack, new Skb().reset(udpFrame(1), 0, 60))).to.equal(NET_RX_DROP);
  });
});
