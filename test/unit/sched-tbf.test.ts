// tbf in virtual time: the burst leaves at once, then the rate holds (bytes over simulated seconds
// within 1%), the watchdog wakes exactly when tokens suffice, overlimits count throttled dequeues,
// the byte limit drops, oversized packets drop, peakrate spaces packets.
import { expect } from 'chai';
import { SchedLink } from './sched-harness';
import { tcCommand } from '../../kernel-model/sched/tc';
import { TbfQdisc } from '../../kernel-model/sched/sch_tbf';
import { PschedRatecfg } from '../../kernel-model/sched/psched';

const tc = (l: SchedLink, line: string): string => tcCommand(l.stack, line.split(/\s+/).filter(Boolean));

describe('sched: psched ratecfg (sch_generic.c)', () => {
  it('l2t_ns is len·1e9/rate to within a ns, via mult/shift', () => {
    for (const rate of [125000, 1250000, 12500000, 125000000, 3, 999999937]) {
      const r = new PschedRatecfg().precompute(rate);
      expect(r.mult).to.be.below(2 ** 32);
      for (const len of [64, 1000, 1514, 65536]) expect(r.l2t_ns(len)).to.be.closeTo((len * 1e9) / rate, 1 + (len * 1e9) / rate / 1e9);
      expect(r.ns_t2l(r.l2t_ns(1514))).to.be.within(1513, 1514);
    }
  });
});

describe('sched: tbf', () => {
  it('sends the burst at once, then holds the rate within 1% over simulated seconds', () => {
    const l = new SchedLink({ qdiscBulk: 0 });
    tc(l, 'qdisc add dev eth0 root tbf rate 10mbit burst 10kb latency 50ms');
    const q = l.dev.qdisc as TbfQdisc;
    expect(q.limit).to.equal(1250000 * 0.05 + 10240);
    // offer 2 MB/s of 1000-byte frames for 3 s (more than the 1.25 MB/s rate)
    l.every(0, 0.5, 3000, (i) => l.send(1, i, 1000));
    l.run(3000);
    // the bucket starts full: the first frames leave as they arrive, with no wait
    l.sent.slice(0, 20).forEach((r) => expect(r.t).to.equal(r.seq * 0.5));
    const inWindow = l.sent.filter((r) => r.t > 1000 && r.t <= 3000).reduce((s, r) => s + r.len, 0);
    const rate = inWindow / 2; // bytes per second
    expect(Math.abs(rate - 1250000) / 1250000).to.be.lessThan(0.01);
    // excess beyond the byte limit was dropped at enqueue
    expect(q.qstats.drops).to.be.greaterThan(2000);
    expect(q.qstats.backlog).to.be.at.most(q.limit);
    // every packet after the burst met at least one throttled dequeue first
    expect(q.qstats.overlimits).to.be.at.least(l.sent.length - 10);
    expect(tc(l, '-s qdisc show dev eth0')).to.match(
      new RegExp(`^qdisc tbf 8001: root refcnt 2 rate 10Mbit burst 10Kb lat 50ms \\n Sent ${q.bstats.bytes} bytes ${q.bstats.packets} pkt \\(dropped ${q.qstats.drops}, overlimits ${q.qstats.overlimits} requeues 0\\) \\n backlog \\d+b \\d+p requeues 0\\n$`),
    );
  });

  it('wakes exactly when the tokens for the head packet are there (watchdog on the scheduler)', () => {
    const l = new SchedLink({ qdiscBulk: 0 });
    tc(l, 'qdisc add dev eth0 root tbf rate 1mbit burst 2000 limit 100000');
    for (let i = 0; i < 4; i++) l.send(1, i, 1000);
    l.run(100);
    // 2 frames from the full bucket at 0; then one per 1000 B / 125 000 B/s = 8 ms
    expect(l.sent.map((r) => r.t)).to.deep.equal([0, 0, 8, 16].map((t) => l.sent.find((r) => r.t >= t)!.t));
    expect(l.sent[2].t).to.be.closeTo(8, 1e-6);
    expect(l.sent[3].t).to.be.closeTo(16, 1e-6);
  });

  it('drops packets larger than the bucket (max_size), counted in dropped', () => {
    const l = new SchedLink();
    tc(l, 'qdisc add dev eth0 root tbf rate 1mbit burst 1000 limit 10000');
    l.send(1, 0, 1400);
    l.run(10);
    const q = l.dev.qdisc as TbfQdisc;
    expect(q.qstats.drops).to.equal(1);
    expect(l.sent).to.have.length(0);
    expect(l.stack.pool.available).to.equal(4096);
  });

  it('peakrate spaces packets of the burst at mtu/peakrate', () => {
    const l = new SchedLink({ qdiscBulk: 0 });
    tc(l, 'qdisc add dev eth0 root tbf rate 1mbit burst 10kb limit 100000 peakrate 2mbit mtu 1000');
    for (let i = 0; i < 5; i++) l.send(1, i, 1000);
    l.run(100);
    // the peak bucket holds one 1000-byte packet; it refills in 1000 B / 250 000 B/s = 4 ms
    const gaps = l.sent.slice(1).map((r, i) => r.t - l.sent[i].t);
    gaps.forEach((g) => expect(g).to.be.closeTo(4, 1e-6));
  });

  it('rejects peakrate <= rate as the kernel does', () => {
    const l = new SchedLink();
    expect(() => tc(l, 'qdisc add dev eth0 root tbf rate 2mbit burst 10kb limit 10000 peakrate 1mbit mtu 1500')).to.throw(
      'tbf: peakrate 125000 is lower than or equals to rate 250000 !',
    );
  });
});
