// pfifo_fast and prio bands, and htb as a shaper with borrowing, a default class, the direct queue,
// and netem hanging under an htb class (the example) — all in virtual time.
import { expect } from 'chai';
import { SchedLink } from './sched-harness';
import { tcCommand } from '../../kernel-model/sched/tc';
import { PfifoFastQdisc, rt_tos2priority } from '../../kernel-model/sched/sch_pfifo_fast';
import { PrioQdisc } from '../../kernel-model/sched/sch_prio';
import { HtbQdisc } from '../../kernel-model/sched/sch_htb';
import { NetemQdisc } from '../../kernel-model/sched/sch_netem';
import { NET_XMIT_DROP } from '../../kernel-model/core/xmit';

const tc = (l: SchedLink, line: string): string => tcCommand(l.stack, line.split(/\s+/).filter(Boolean));

describe('sched: pfifo_fast', () => {
  it('maps TOS to priority (ip_tos2prio) and priority to band (priomap)', () => {
    expect([0x00, 0x02, 0x08, 0x10, 0x18, 0x1e].map(rt_tos2priority)).to.deep.equal([0, 0, 2, 6, 4, 4]);
  });

  it('dequeues band 0, then 1, then 2; each band holds txqueuelen packets', () => {
    const l = new SchedLink({ txQueueLen: 3 });
    tc(l, 'qdisc replace dev eth0 root pfifo_fast');
    const q = l.dev.qdisc as PfifoFastQdisc;
    l.dev.netif_stop_queue(0);
    l.send(9, 0, 100); // bypass attempt → requeued while stopped
    const prios = [2, 0, 6, 1, 4, 7, 3];
    prios.forEach((p, i) => l.send(p, i + 1, 100, { priority: p }));
    // band 2 (prio 2, 1, 3) holds 3; one more in band 2 drops
    expect(l.send(5, 99, 100, { priority: 5 })).to.equal(NET_XMIT_DROP);
    expect([0, 1, 2].map((b) => q.band_len(b))).to.deep.equal([2, 2, 3]);
    expect(q.qstats.drops).to.equal(1);
    l.dev.netif_wake_queue(0);
    l.run(1);
    expect(l.sent.map((r) => r.flow)).to.deep.equal([9, 6, 7, 0, 4, 2, 1, 3]);
    expect(tc(l, '-s qdisc show dev eth0')).to.equal(
      'qdisc pfifo_fast 8001: root refcnt 2 bands 3 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1\n' +
        ' Sent 800 bytes 8 pkt (dropped 1, overlimits 0 requeues 1) \n' +
        ' backlog 0b 0p requeues 1\n',
    );
  });
});

describe('sched: prio', () => {
  it('classifies by priomap and by classid in skb->priority; children are replaceable', () => {
    const l = new SchedLink();
    tc(l, 'qdisc add dev eth0 root handle 1: prio');
    tc(l, 'qdisc add dev eth0 parent 1:3 handle 30: netem delay 10ms seed 1');
    const q = l.dev.qdisc as PrioQdisc;
    expect(q.queues[2]).to.be.instanceOf(NetemQdisc);
    l.dev.netif_stop_queue(0);
    l.send(1, 0, 100, { priority: 0 }); // band 1 (bypass not set for prio: queued)
    l.send(2, 0, 100, { priority: 6 }); // band 0
    l.send(3, 0, 100, { priority: 0x10003 }); // class 1:3 → band 2 (netem)
    l.send(4, 0, 100, { priority: 0x10001 }); // class 1:1 → band 0
    expect(q.qlen).to.equal(4);
    l.dev.netif_wake_queue(0);
    l.run(50);
    expect(l.sent.map((r) => r.flow)).to.deep.equal([2, 4, 1, 3]);
    expect(l.sent[3].t).to.be.closeTo(10, 1e-6);
    expect(tc(l, 'qdisc show dev eth0')).to.equal(
      'qdisc prio 1: root refcnt 2 bands 3 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1\n' + 'qdisc netem 30: parent 1:3 limit 1000 delay 10ms seed 1\n',
    );
  });
});

describe('sched: htb', () => {
  function offer(l: SchedLink, flowPrio: [number, number][], ms: number, every = 0.2, len = 1000): void {
    l.every(0, every, ms, (i) => {
      for (const [flow, prio] of flowPrio) l.send(flow, i, len, { priority: prio });
    });
  }
  const rateOf = (l: SchedLink, flow: number, from: number, to: number): number =>
    (l.sent.filter((r) => r.flow === flow && r.t > from && r.t <= to).reduce((s, r) => s + r.len, 0) / (to - from)) * 1000;

  it('shapes the default class to its rate within 1%', () => {
    const l = new SchedLink({ qdiscBulk: 0 });
    tc(l, 'qdisc add dev eth0 root handle 1: htb default 10');
    tc(l, 'class add dev eth0 parent 1: classid 1:10 htb rate 10mbit');
    offer(l, [[1, 0]], 3000, 0.5); // 2 MB/s offered
    l.run(3000);
    expect(Math.abs(rateOf(l, 1, 1000, 3000) - 1250000) / 1250000).to.be.lessThan(0.01);
    const q = l.dev.qdisc as HtbQdisc;
    expect(q.qstats.drops).to.be.greaterThan(0); // the leaf pfifo (txqueuelen) overflowed
    expect(q.qstats.overlimits).to.be.greaterThan(0);
  });

  it('borrows: a lone child uses the parent ceil; busy children get their rates', () => {
    const l = new SchedLink({ qdiscBulk: 0 });
    tc(l, 'qdisc add dev eth0 root handle 1: htb default 20');
    tc(l, 'class add dev eth0 parent 1: classid 1:1 htb rate 10mbit');
    tc(l, 'class add dev eth0 parent 1:1 classid 1:10 htb rate 2mbit ceil 10mbit');
    tc(l, 'class add dev eth0 parent 1:1 classid 1:20 htb rate 8mbit ceil 10mbit');
    // 0–2 s: only 1:10 (priority = classid) sends; 2–5 s: both
    l.every(0, 0.4, 5000, (i) => {
      l.send(10, i, 1000, { priority: 0x10010 });
      if (i * 0.4 >= 2000) l.send(20, i, 1000, { priority: 0x10020 });
    });
    l.run(5000);
    expect(rateOf(l, 10, 500, 2000)).to.be.closeTo(1250000, 1250000 * 0.02);
    expect(rateOf(l, 10, 3000, 5000)).to.be.closeTo(250000, 250000 * 0.05);
    expect(rateOf(l, 20, 3000, 5000)).to.be.closeTo(1000000, 1000000 * 0.05);
    const q = l.dev.qdisc as HtbQdisc;
    const c10 = q.classes.get(0x10010)!;
    expect(c10.borrows).to.be.greaterThan(1000);
    expect(tc(l, 'class show dev eth0')).to.equal(
      'class htb 1:1 root rate 10Mbit ceil 10Mbit burst 1600b cburst 1600b\n' +
        'class htb 1:10 parent 1:1 prio 0 rate 2Mbit ceil 10Mbit burst 1600b cburst 1600b\n' +
        'class htb 1:20 parent 1:1 prio 0 rate 8Mbit ceil 10Mbit burst 1600b cburst 1600b\n',
    );
  });

  it('sends unclassified packets through the direct queue when there is no default class', () => {
    const l = new SchedLink();
    tc(l, 'qdisc add dev eth0 root handle 1: htb');
    tc(l, 'class add dev eth0 parent 1: classid 1:10 htb rate 1mbit');
    for (let i = 0; i < 5; i++) l.send(1, i, 1000);
    l.run(1);
    expect(l.sent).to.have.length(5);
    expect(tc(l, 'qdisc show dev eth0')).to.equal('qdisc htb 1: root refcnt 2 r2q 10 default 0 direct_packets_stat 5 direct_qlen 1000\n');
  });

  it('htb + netem: delay under a 10mbit shaper (the issue example)', () => {
    const l = new SchedLink({ qdiscBulk: 0 });
    tc(l, 'qdisc add dev eth0 root handle 1: htb default 10');
    tc(l, 'class add dev eth0 parent 1: classid 1:10 htb rate 10mbit');
    tc(l, 'qdisc add dev eth0 parent 1:10 handle 10: netem delay 50ms seed 1');
    // a light flow: each packet is delayed by exactly 50 ms
    for (let i = 0; i < 20; i++) l.at(i * 10, () => l.send(1, i, 1000));
    l.run(400);
    expect(l.flow(1)).to.have.length(20);
    l.flow(1).forEach((r) => expect(r.t - r.seq * 10).to.be.closeTo(50, 1e-6));
    // a heavy flow: the shaper holds 10 Mbit/s, nothing leaves before 50 ms
    const l2 = new SchedLink({ qdiscBulk: 0 });
    tc(l2, 'qdisc add dev eth0 root handle 1: htb default 10');
    tc(l2, 'class add dev eth0 parent 1: classid 1:10 htb rate 10mbit');
    tc(l2, 'qdisc add dev eth0 parent 1:10 handle 10: netem delay 50ms limit 100000 seed 1');
    offer(l2, [[2, 0]], 2000, 0.5);
    l2.run(2100);
    expect(Math.min(...l2.sent.map((r) => r.t - r.seq * 0.5))).to.be.at.least(50 - 1e-6);
    expect(Math.abs(rateOf(l2, 2, 500, 2000) - 1250000) / 1250000).to.be.lessThan(0.01);
    const s = tc(l2, '-s qdisc show dev eth0');
    expect(s).to.match(/^qdisc htb 1: root refcnt 2 r2q 10 default 0x10 direct_packets_stat 0 direct_qlen 1000\n Sent \d+ bytes \d+ pkt/);
    expect(s).to.match(/\nqdisc netem 10: parent 1:10 limit 100000 delay 50ms seed 1\n Sent \d+ bytes \d+ pkt \(dropped 0, overlimits 0 requeues 0\) \n backlog \d+b \d+p requeues 0\n$/);
  });

  it('replacing the htb root frees everything queued in its classes', () => {
    const l = new SchedLink();
    tc(l, 'qdisc add dev eth0 root handle 1: htb default 10');
    tc(l, 'class add dev eth0 parent 1: classid 1:10 htb rate 1mbit');
    tc(l, 'qdisc add dev eth0 parent 1:10 handle 10: netem delay 1s seed 1');
    for (let i = 0; i < 50; i++) l.send(1, i, 1000);
    expect((l.dev.qdisc as HtbQdisc).qlen).to.equal(50);
    tc(l, 'qdisc del dev eth0 root');
    expect(l.stack.pool.available).to.equal(4096);
    l.run(3000);
    expect(l.sent).to.have.length(0);
  });
});
