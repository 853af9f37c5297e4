// NAPI + net_rx_action under virtual time: weights, budget and time squeezes, repoll order, MISSED,
// napi_defer_hard_irqs, one batch per poll. Real skbs over real Ethernet frames.
import { expect } from 'chai';
import { VirtualTimeScheduler } from 'rxjs';
import { NetStack } from '../../kernel-model/core/stack';
import { NETDEV_TX_OK, type NetDevice, type NetDeviceOps } from '../../kernel-model/core/netdevice';
import {
  NAPIF_STATE_MISSED,
  NAPIF_STATE_SCHED,
  napi_complete_done,
  napi_disable,
  napi_enable,
  napi_schedule,
  type NapiStruct,
} from '../../kernel-model/core/napi';
import { softnet_poll_list_len, softnet_seq_show } from '../../kernel-model/core/softnet';
import { silentLogger } from '../../kernel-model/core/log';
import { ETH_P_IP } from '../../kernel-model/core/eth';
import type { SkbBatch } from '../../kernel-model/core/skb';

const GW_MAC = [0x52, 0x55, 0x0a, 0x00, 0x02, 0x02];
const GUEST_MAC = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

/** a 60-byte IPv4-typed Ethernet frame to the gateway, with seq in the payload */
function frame(seq: number, ethertype = ETH_P_IP): Uint8Array {
  const f = new Uint8Array(60);
  f.set(GW_MAC, 0);
  f.set(GUEST_MAC, 6);
  f[12] = ethertype >> 8;
  f[13] = ethertype & 0xff;
  new DataView(f.buffer).setUint32(14, seq);
  return f;
}

interface PollRecord {
  name: string;
  budget: number;
  work: number;
  at: number;
  /** which net_rx_action run polled it (1-based) */
  run: number;
}

/** A tiny driver: a ring of pending frames, a NAPI per instance, polls like virtnet_poll. */
class TestNic implements NetDeviceOps {
  readonly dev: NetDevice;
  readonly napi: NapiStruct;
  pending: Uint8Array[] = [];
  private next = 0;
  completes: boolean[] = [];
  /** called inside poll after the batch went up: simulate CPU time, interrupts, … */
  onPoll: ((work: number) => void) | null = null;

  constructor(
    readonly stack: NetStack,
    readonly name: string,
    readonly log: PollRecord[],
    weight = 64,
  ) {
    this.dev = stack.register_netdev(this);
    this.napi = this.dev.netif_napi_add((n, budget) => this.poll(n, budget), weight);
  }

  ndo_start_xmit(): number {
    return NETDEV_TX_OK;
  }

  fill(n: number): this {
    for (let i = 0; i < n; i++) this.pending.push(frame(this.pending.length));
    return this;
  }

  get left(): number {
    return this.pending.length - this.next;
  }

  kick(): boolean {
    return napi_schedule(this.napi);
  }

  private poll(napi: NapiStruct, budget: number): number {
    const batch = napi.batch;
    let work = 0;
    while (work < budget && this.next < this.pending.length) {
      const f = this.pending[this.next++];
      batch.next()!.reset(f, 0, f.length);
      this.dev.dev_sw_netstats_rx_add(f.length);
      work++;
    }
    napi.receive_batch();
    this.log.push({ name: this.name, budget, work, at: this.stack.scheduler.now(), run: this.stack.softnet[0].net_rx_action_runs });
    if (this.onPoll) this.onPoll(work);
    if (work < budget) this.completes.push(napi_complete_done(napi, work));
    return work;
  }
}

function setup(): { sched: VirtualTimeScheduler; stack: NetStack; log: PollRecord[]; delivered: number[]; batches: number[] } {
  const sched = new VirtualTimeScheduler();
  const stack = new NetStack({ scheduler: sched, log: silentLogger });
  const log: PollRecord[] = [];
  const delivered: number[] = [];
  stack.dev_add_pack(ETH_P_IP, (skb) => delivered.push(new DataView(skb.buf.buffer, skb.buf.byteOffset).getUint32(skb.data)));
  const batches: number[] = [];
  stack.rx_pipeline.subscribe((b: SkbBatch) => batches.push(b.count));
  return { sched, stack, log, delivered, batches };
}

describe('core NAPI and net_rx_action', () => {
  it('polls one busy NAPI with its weight, once per net_rx_action run, with no squeeze (1000 frames)', () => {
    const { sched, stack, log, delivered, batches } = setup();
    const nic = new TestNic(stack, 'a', log).fill(1000);
    expect(nic.kick()).to.equal(true);
    expect(sched.actions.length).to.equal(1); // one schedule per raise
    sched.flush();
    const sd = stack.softnet[0];
    expect(log.map((p) => p.work)).to.deep.equal([...Array(15).fill(64), 40]);
    expect(log.every((p) => p.budget === 64)).to.equal(true);
    // Linux splices the repoll list back only when a run ends, so a lone NAPI gets one poll per run
    // and never exhausts netdev_budget: 16 runs, no time_squeeze
    expect(sd.net_rx_action_runs).to.equal(16);
    expect(sd.time_squeeze).to.equal(0);
    // __do_softirq reran net_rx_action 10 times in line, then handed the rest to a new action
    expect(sd.softirq_runs).to.equal(2);
    expect(sd.processed).to.equal(1000);
    expect(delivered).to.deep.equal(Array.from({ length: 1000 }, (_, i) => i));
    expect(batches).to.deep.equal([...Array(15).fill(64), 40]); // one batch per poll
    expect(nic.napi.batches).to.equal(16);
    expect(nic.completes).to.deep.equal([true]);
    expect(nic.napi.state & NAPIF_STATE_SCHED).to.equal(0);
    expect(softnet_poll_list_len(sd)).to.equal(0);
    expect(sched.actions.length).to.equal(0);
    expect(nic.dev.stats.rx_packets).to.equal(1000);
    expect(nic.dev.stats.rx_bytes).to.equal(60000);
  });

  it('squeezes when five busy NAPIs exhaust netdev_budget (300) and keeps leftover-then-repoll order', () => {
    const { sched, stack, log } = setup();
    const nics = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5'].map((n) => new TestNic(stack, n, log).fill(100));
    for (const nic of nics) nic.kick();
    sched.flush();
    const sd = stack.softnet[0];
    const order = log.map((p) => `${p.name}:${p.work}`);
    // run 1: n0..n4 take 64 each → budget 300-320 <= 0 → squeeze; n5 is left over.
    // end of run: leftover (n5) first, then the repoll list (n0..n4).
    // run 2: n5 64, then n0..n3 each 36 (complete) → 64+144 = 208, n4 36 → 244 < 300;
    // run 3: n5 36 (complete).
    expect(order).to.deep.equal([
      'n0:64', 'n1:64', 'n2:64', 'n3:64', 'n4:64',
      'n5:64', 'n0:36', 'n1:36', 'n2:36', 'n3:36', 'n4:36',
      'n5:36',
    ]);
    expect(sd.time_squeeze).to.equal(1);
    expect(sd.net_rx_action_runs).to.equal(3);
    expect(sd.processed).to.equal(600);
  });

  it('counts a squeeze when the budget reaches exactly 0 even though the last NAPI completed', () => {
    const { sched, stack, log } = setup();
    const nics = [100, 100, 100, 100, 44].map((n, i) => new TestNic(stack, `n${i}`, log).fill(n));
    for (const nic of nics) nic.kick();
    sched.flush();
    const sd = stack.softnet[0];
    expect(log.map((p) => p.work)).to.deep.equal([64, 64, 64, 64, 44, 36, 36, 36, 36]);
    expect(sd.time_squeeze).to.equal(1); // run 1 ended at budget 0; run 2 (144 packets) did not squeeze
    expect(nics[4].completes).to.deep.equal([true]);
  });

  it('puts NAPIs scheduled during a run between the leftovers and the repoll list', () => {
    const { sched, stack, log } = setup();
    const nics = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5'].map((n) => new TestNic(stack, n, log).fill(64));
    const late = new TestNic(stack, 'late', log).fill(10);
    nics[0].onPoll = () => late.kick(); // an "interrupt" for another device while n0 is polled
    for (const nic of nics) nic.kick();
    sched.flush();
    const order = log.map((p) => p.name);
    // run 1 polls n0..n4 (squeeze); then: n5 (leftover), late (scheduled meanwhile), n0..n4 (repoll)
    expect(order.slice(0, 5)).to.deep.equal(['n0', 'n1', 'n2', 'n3', 'n4']);
    expect(order.slice(5, 12)).to.deep.equal(['n5', 'late', 'n0', 'n1', 'n2', 'n3', 'n4']);
  });

  it('completes a NAPI whose poll returns less than its weight, and schedules nothing more', () => {
    const { sched, stack, log } = setup();
    const nic = new TestNic(stack, 'a', log).fill(5);
    nic.kick();
    sched.flush();
    expect(log).to.have.length(1);
    expect(nic.completes).to.deep.equal([true]);
    expect(nic.napi.state & (NAPIF_STATE_SCHED | NAPIF_STATE_MISSED)).to.equal(0);
    expect(sched.actions.length).to.equal(0);
    // a new kick schedules again
    nic.fill(3);
    expect(nic.kick()).to.equal(true);
    sched.flush();
    expect(log.map((p) => p.work)).to.deep.equal([5, 3]);
  });

  it('sets MISSED when kicked during a poll and polls again in the same run', () => {
    const { sched, stack, log } = setup();
    const nic = new TestNic(stack, 'a', log).fill(10);
    let kicked: boolean | null = null;
    nic.onPoll = () => {
      if (kicked === null) {
        nic.fill(7); // work raced in
        kicked = nic.kick();
        expect(nic.napi.state & NAPIF_STATE_MISSED).to.not.equal(0);
      }
    };
    nic.kick();
    sched.flush();
    expect(kicked).to.equal(false); // already scheduled: napi_schedule_prep said no
    expect(nic.completes).to.deep.equal([false, true]); // MISSED → rescheduled, not re-enabled
    expect(log.map((p) => p.work)).to.deep.equal([10, 7]);
    expect(stack.softnet[0].net_rx_action_runs).to.equal(1); // net_rx_action restarted on its own poll list
    expect(nic.napi.state & (NAPIF_STATE_SCHED | NAPIF_STATE_MISSED)).to.equal(0);
  });

  it('squeezes on netdev_budget_usecs measured in jiffies of scheduler time', () => {
    const { sched, stack, log } = setup();
    const nics = ['n0', 'n1', 'n2', 'n3'].map((n) => new TestNic(stack, n, log).fill(200));
    // each poll "takes" 3 ms of CPU
    for (const nic of nics) nic.onPoll = () => (sched.frame += 3);
    for (const nic of nics) nic.kick();
    sched.flush();
    const sd = stack.softnet[0];
    // HZ=250, 8000 µs = 2 jiffies from jiffy 0: after n0 (3 ms, j0), n1 (6 ms, j1), n2 (9 ms, j2 >= 2)
    // → squeeze with budget 108 left
    expect(log.slice(0, 3).map((p) => p.name)).to.deep.equal(['n0', 'n1', 'n2']);
    expect(log[3].name).to.equal('n3'); // the leftover opens the next run
    expect(sd.time_squeeze).to.be.greaterThan(0);
    expect(sd.processed).to.equal(800);
    // the first run's squeeze was a time squeeze: only 192 packets against a budget of 300
    const firstRun = log.slice(0, 3).reduce((s, p) => s + p.work, 0);
    expect(firstRun).to.equal(192);
  });

  it('measures the time limit from the jiffy the run started in', () => {
    const { sched, stack, log } = setup();
    const nics = ['n0', 'n1', 'n2', 'n3'].map((n) => new TestNic(stack, n, log).fill(64));
    for (const nic of nics) nic.onPoll = () => (sched.frame += 3);
    // start at 7 ms = jiffy 1: limit is jiffy 3 (12 ms). n0 → 10 ms (j2), n1 → 13 ms (j3) → squeeze
    // after only 6 ms. Run 2 starts at 13 ms (j3, limit j5 = 20 ms): n2 → 16, n3 → 19, n0 → 22 (j5)
    // → squeeze. Run 3 at 22 ms (j5, limit j7 = 28 ms): n1 → 25, n2 → 28 (j7) → squeeze. Run 4: n3.
    sched.schedule(() => nics.forEach((n) => n.kick()), 7);
    sched.flush();
    expect(log.map((p) => `${p.run}:${p.name}@${p.at}`)).to.deep.equal([
      '1:n0@7', '1:n1@10',
      '2:n2@13', '2:n3@16', '2:n0@19',
      '3:n1@22', '3:n2@25',
      '4:n3@28',
    ]);
    expect(stack.softnet[0].time_squeeze).to.equal(3);
  });

  it('defers the interrupt with napi_defer_hard_irqs and re-polls from the gro_flush_timeout timer', () => {
    const { sched, stack, log } = setup();
    const nic = new TestNic(stack, 'a', log).fill(5);
    nic.dev.napi_defer_hard_irqs = 1;
    nic.dev.gro_flush_timeout = 50_000; // 50 µs
    nic.kick();
    sched.flush();
    // poll 1: work 5 → defer count 1 → 0, timeout armed, returns false (IRQ stays masked)
    // timer (t = 0.05 ms) reschedules; poll 2: work 0 → true
    expect(nic.completes).to.deep.equal([false, true]);
    expect(log.map((p) => p.at)).to.deep.equal([0, 0.05]);
    expect(nic.napi.state & NAPIF_STATE_SCHED).to.equal(0);
  });

  it('does not poll a disabled NAPI and schedules again once enabled', () => {
    const { sched, stack, log } = setup();
    const nic = new TestNic(stack, 'a', log).fill(3);
    napi_disable(nic.napi);
    expect(nic.kick()).to.equal(false);
    sched.flush();
    expect(log).to.have.length(0);
    napi_enable(nic.napi);
    expect(nic.kick()).to.equal(true);
    sched.flush();
    // the kick while disabled left MISSED set (napi_enable keeps it, as Linux does): one extra poll
    expect(log.map((p) => p.work)).to.deep.equal([3, 0]);
  });

  it('survives a throwing poll: counts it, completes the NAPI, and the next kick works', () => {
    const { sched, stack, log } = setup();
    const nic = new TestNic(stack, 'a', log).fill(3);
    let boom = true;
    nic.onPoll = () => {
      if (boom) {
        boom = false;
        throw new Error('driver bug');
      }
    };
    nic.kick();
    sched.flush();
    expect(stack.exceptions).to.equal(1);
    expect(nic.napi.state & NAPIF_STATE_SCHED).to.equal(0);
    nic.fill(2);
    nic.kick();
    sched.flush();
    expect(log.map((p) => p.work)).to.deep.equal([3, 2]);
  });

  it('completes (and warns once) when a driver returns < weight without napi_complete_done', () => {
    const sched = new VirtualTimeScheduler();
    const warnings: string[] = [];
    const stack = new NetStack({ scheduler: sched, log: { info() {}, warn: (m) => warnings.push(m), error() {} } });
    let polls = 0;
    const dev = stack.register_netdev({ ndo_start_xmit: () => NETDEV_TX_OK });
    const napi = dev.netif_napi_add(() => {
      polls++;
      return 0;
    });
    napi_schedule(napi);
    sched.flush();
    napi_schedule(napi);
    sched.flush();
    expect(polls).to.equal(2);
    expect(warnings.filter((w) => w.includes('without napi_complete_done'))).to.have.length(1);
  });

  it('emits nothing for an empty poll and prints softnet_stat', () => {
    const { sched, stack, log, batches } = setup();
    const nic = new TestNic(stack, 'a', log);
    nic.kick();
    sched.flush();
    expect(batches).to.deep.equal([]);
    // Linux 6.1's 13 columns (the default profile); 6.12's 15 in test/unit/mib-layout.test.ts
    expect(softnet_seq_show(stack)).to.match(/^00000000 00000000 00000000( 00000000){10}\n$/);
  });
});
