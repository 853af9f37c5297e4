// fq_codel and CoDel in virtual time: the control law's drop times (interval/sqrt(count)), ECN
// marking instead of dropping, DRR fairness between a fat and a thin flow, new-flow priority,
// the overlimit batch drop from the fattest flow, and the Newton step against 1/sqrt(n).
import { expect } from 'chai';
import { SchedLink } from './sched-harness';
import { tcCommand } from '../../kernel-model/sched/tc';
import { FqCodelQdisc } from '../../kernel-model/sched/sch_fq_codel';
import { CodelVars, codel_Newton_step, codel_control_law, REC_INV_SQRT_SHIFT, ms2time } from '../../kernel-model/sched/codel';
import { NET_XMIT_CN, NET_XMIT_SUCCESS } from '../../kernel-model/core/xmit';

const tc = (l: SchedLink, line: string): string => tcCommand(l.stack, line.split(/\s+/).filter(Boolean));

/** a link whose "wire" takes one frame per `gapMs`: the driver stops its queue after each frame */
function slowLink(gapMs: number): SchedLink {
  const l = new SchedLink({ qdiscBulk: 0 });
  const orig = l.ndo_start_xmit.bind(l);
  l.ndo_start_xmit = (skb) => {
    const rc = orig(skb);
    l.dev.netif_stop_queue(0);
    l.sched.schedule(() => l.dev.netif_wake_queue(0), gapMs);
    return rc;
  };
  return l;
}

/** the same Newton iteration in floating point: y_n = y_{n-1}·(3 − n·y²)/2 from y_1 = 1 */
function newtonGaps(interval: number, n: number): number[] {
  let y = 1;
  const out = [interval];
  for (let c = 2; c <= n; c++) {
    y = (y * (3 - c * y * y)) / 2;
    out.push(interval * y);
  }
  return out;
}

describe('sched: codel control law (codel_impl.h)', () => {
  it('Newton steps follow y·(3 − n·y²)/2 in Q16 and converge to 1/sqrt(count)', () => {
    const v = new CodelVars();
    v.count = 1;
    v.rec_inv_sqrt = 0xffffffff >>> REC_INV_SQRT_SHIFT;
    let y = 1;
    for (let n = 2; n <= 200; n++) {
      v.count = n;
      codel_Newton_step(v);
      y = (y * (3 - n * y * y)) / 2;
      expect(v.rec_inv_sqrt / 65536, `count ${n}`).to.be.closeTo(y, 0.002);
      if (n >= 40) expect(Math.abs(v.rec_inv_sqrt / 65536 - 1 / Math.sqrt(n)) * Math.sqrt(n), `count ${n}`).to.be.lessThan(0.01);
    }
  });

  it('control law: drop_next advances by interval·rec_inv_sqrt (100 ms, then the Newton sequence)', () => {
    const v = new CodelVars();
    v.count = 1;
    v.rec_inv_sqrt = 0xffffffff >>> REC_INV_SQRT_SHIFT;
    const interval = ms2time(100);
    let t = 0;
    const gaps: number[] = [];
    for (let n = 1; n <= 6; n++) {
      if (n > 1) {
        v.count = n;
        codel_Newton_step(v);
      }
      const next = codel_control_law(t, interval, v.rec_inv_sqrt);
      gaps.push(((next - t) * 1024) / 1e6);
      t = next;
    }
    const want = newtonGaps(100, 6);
    gaps.forEach((g, i) => expect(g, `gap ${i}`).to.be.closeTo(want[i], 0.1));
  });
});

describe('sched: fq_codel', () => {
  it('has Linux defaults and bypasses an empty queue', () => {
    const l = new SchedLink();
    tc(l, 'qdisc replace dev eth0 root fq_codel');
    const q = l.dev.qdisc as FqCodelQdisc;
    expect(q.limit).to.equal(10240);
    expect(q.flows_cnt).to.equal(1024);
    expect(q.quantum).to.equal(1514);
    expect(q.memory_limit).to.equal(32 << 20);
    expect(q.drop_batch_size).to.equal(64);
    expect(q.cparams.ecn).to.equal(true);
    l.send(1, 0);
    expect(l.sent).to.have.length(1);
    expect(q.new_flow_count).to.equal(0);
  });

  it('drops a standing queue at times following interval/sqrt(count) (noecn)', () => {
    // one flow, 1000-byte frames every 1 ms into a link draining one per 2 ms: the queue grows,
    // sojourn passes target, and after interval CoDel drops at 100, 70.7, 57.7… ms spacing
    const l = slowLink(2);
    tc(l, 'qdisc replace dev eth0 root fq_codel noecn');
    const q = l.dev.qdisc as FqCodelQdisc;
    const dropTimes: number[] = [];
    let lastDrops = 0;
    l.every(0, 1, 1500, (i) => l.send(1, i, 1000));
    // sample drops after each dequeue opportunity
    l.every(0.25, 0.5, 1500, () => {
      if (q.qstats.drops !== lastDrops) {
        for (let k = lastDrops; k < q.qstats.drops; k++) dropTimes.push(l.sched.now());
        lastDrops = q.qstats.drops;
      }
    });
    l.run(1600);
    expect(dropTimes.length).to.be.greaterThan(5);
    const gaps = dropTimes.slice(1, 6).map((t, i) => t - dropTimes[i]);
    // first gap interval/sqrt(1), then the Newton sequence; dequeues happen every 2 ms
    const law = newtonGaps(100, 5);
    for (let i = 0; i < gaps.length; i++) expect(gaps[i], `gap ${i + 1}`).to.be.closeTo(law[i], 2.5);
    // first drop: the k-th packet waits k ms, so sojourn passes 5 ms at ~10 ms; drop one interval later
    expect(dropTimes[0]).to.be.within(110, 114);
    expect(q.cstats.ecn_mark).to.equal(0);
    expect(tc(l, '-s qdisc show dev eth0')).to.contain(`(dropped ${q.qstats.drops}, overlimits 0 requeues`);
  });

  it('marks ECT packets CE instead of dropping (ecn, the default)', () => {
    const l = slowLink(2);
    l.keepBytes = true;
    tc(l, 'qdisc replace dev eth0 root fq_codel');
    const q = l.dev.qdisc as FqCodelQdisc;
    l.every(0, 1, 600, (i) => l.send(1, i, 1000, { tos: 0x02 /* ECT(0) */ }));
    l.run(1300);
    expect(q.qstats.drops).to.equal(0);
    expect(q.cstats.ecn_mark).to.be.greaterThan(3);
    const ce = l.sent.filter((r) => (r.tos & 3) === 3);
    expect(ce.length).to.equal(q.cstats.ecn_mark);
    // CE-marked headers still carry a valid checksum
    for (const r of ce) {
      let s = 0;
      for (let i = 14; i < 34; i += 2) s += (r.bytes[i] << 8) | r.bytes[i + 1];
      while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
      expect(s).to.equal(0xffff);
    }
  });

  it('shares the link between a fat and a thin flow by DRR (quantum bytes each turn)', () => {
    const l = slowLink(1);
    tc(l, 'qdisc replace dev eth0 root fq_codel quantum 1514 noecn target 100ms interval 1s');
    // fat flow: 200 frames of 1500 B at t=0; thin flow: one 100-byte frame every 5 ms
    l.at(0, () => {
      for (let i = 0; i < 200; i++) l.send(1, i, 1500);
    });
    for (let i = 0; i < 30; i++) l.at(1 + i * 5, () => l.send(2, i, 100));
    l.run(400);
    const thin = l.flow(2);
    expect(thin).to.have.length(30);
    // the thin flow is a "new flow" each time and goes ahead of the fat one; only the very first
    // waits for the fat flow's first quantum (two 1500-byte frames) and a requeued frame
    const waits = thin.map((r, i) => r.t - (1 + i * 5));
    expect(waits[0]).to.equal(3);
    waits.slice(1).forEach((w, i) => expect(w, `thin ${i + 1}`).to.be.at.most(1));
    const q = l.dev.qdisc as FqCodelQdisc;
    expect(q.new_flow_count).to.be.greaterThan(25);
  });

  it('gives two backlogged flows equal bytes (DRR with equal quanta)', () => {
    const l = slowLink(1);
    tc(l, 'qdisc replace dev eth0 root fq_codel noecn target 1s interval 10s');
    l.at(0, () => {
      for (let i = 0; i < 300; i++) {
        l.send(1, i, 1500);
        l.send(2, i, 500);
        l.send(2, 1000 + i, 500);
        l.send(2, 2000 + i, 500);
      }
    });
    l.run(200);
    const bytes = (f: number): number => l.flow(f).reduce((s, r) => s + r.len, 0);
    expect(Math.abs(bytes(1) - bytes(2)) / bytes(1)).to.be.lessThan(0.05);
  });

  it('over limit, drops half of the fattest flow (batch ≤ 64) and returns CN for its own flow', () => {
    const l = new SchedLink();
    l.dev.netif_stop_queue(0); // nothing leaves: everything queues
    tc(l, 'qdisc replace dev eth0 root fq_codel limit 100');
    const q = l.dev.qdisc as FqCodelQdisc;
    // the first frame takes the bypass, meets the stopped queue and waits in the requeue slot
    expect(l.send(1, 0, 1000)).to.equal(NET_XMIT_SUCCESS);
    expect(q.qstats.requeues).to.equal(1);
    for (let i = 1; i < 91; i++) expect(l.send(1, i, 1000)).to.equal(NET_XMIT_SUCCESS);
    for (let i = 0; i < 9; i++) expect(l.send(2, i, 100)).to.equal(NET_XMIT_SUCCESS);
    expect(q.qlen).to.equal(100);
    expect(q.qstats.drops).to.equal(0);
    // 101 > limit on a thin-flow arrival: flow 1 (90 000 bytes) loses half, 45 packets; the
    // arriving packet's flow was not the victim, so the sender hears SUCCESS
    expect(l.send(2, 9, 100)).to.equal(NET_XMIT_SUCCESS);
    expect(q.qstats.drops).to.equal(45);
    expect(q.drop_overlimit).to.equal(45);
    expect(q.qlen).to.equal(56);
    for (let i = 91; i < 135; i++) expect(l.send(1, i, 1000)).to.equal(NET_XMIT_SUCCESS);
    expect(q.qlen).to.equal(100);
    // now the fat flow's own arrival overflows: its flow is the victim → NET_XMIT_CN
    expect(l.send(1, 135, 1000)).to.equal(NET_XMIT_CN);
    expect(q.qstats.drops).to.equal(90);
    expect(q.qlen).to.equal(56);
    expect(q.qstats.backlog).to.equal(1000 + 45 * 1000 + 10 * 100);
    expect(tcCommand(l.stack, ['-s', 'qdisc', 'show', 'dev', 'eth0'])).to.contain('drop_overlimit 90 new_flow_count 2');
    tc(l, 'qdisc del dev eth0 root');
    expect(l.stack.pool.available).to.equal(4096);
  });

  it('classifies by skb->priority naming one of its flows (major = handle)', () => {
    const l = new SchedLink();
    l.dev.netif_stop_queue(0);
    tc(l, 'qdisc replace dev eth0 root handle 7: fq_codel flows 4');
    const q = l.dev.qdisc as FqCodelQdisc;
    l.send(1, 0, 100, { priority: 0x70003 });
    l.send(2, 0, 100, { priority: 0x70003 });
    expect(q.new_flow_count).to.equal(1);
    expect(q.new_flows_len).to.equal(1);
  });
});
