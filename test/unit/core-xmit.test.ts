// Egress: dev_queue_xmit → pfifo (bypass, enqueue, limit drop at txqueuelen) → ndo_start_xmit, with
// NETDEV_TX_BUSY requeue and netif_wake_queue through NET_TX_SOFTIRQ, the dev_tx_weight quota,
// carrier off (noop qdisc), GSO accounting and bad input. Virtual time, pooled skbs.
import { expect } from 'chai';
import { VirtualTimeScheduler } from 'rxjs';
import { NetStack } from '../../kernel-model/core/stack';
import { NETDEV_TX_BUSY, NETDEV_TX_OK, type NetDevice, type NetDeviceOps } from '../../kernel-model/core/netdevice';
import { NET_XMIT_CN, NET_XMIT_DROP, NET_XMIT_SUCCESS, net_xmit_eval } from '../../kernel-model/core/xmit';
import { tc_qdisc_show, TCQ_F_CAN_BYPASS } from '../../kernel-model/core/sch_generic';
import { PfifoQdisc } from '../../kernel-model/sched/pfifo';
import { Skb, SKB_GSO_TCPV4 } from '../../kernel-model/core/skb';
import { silentLogger } from '../../kernel-model/core/log';

const LEN = 100;

/** A device with a "guest receive ring" of `room` frames; policy decides how it says "full". */
class TxNic implements NetDeviceOps {
  readonly dev: NetDevice;
  /** seqs the guest has received */
  got: number[] = [];
  mores: boolean[] = [];
  ring = 0;
  /** 'busy': refuse with NETDEV_TX_BUSY and stop; 'stop-after': accept, stop once full; 'busy-nostop' */
  policy: 'busy' | 'stop-after' | 'busy-nostop' = 'busy';
  /** per net_tx_action run: frames sent (index = sd.net_tx_action_runs) */
  perRun = new Map<number, number>();
  calls = 0;
  throwNext = false;

  constructor(readonly stack: NetStack, public room = Infinity) {
    this.dev = stack.register_netdev(this);
  }

  ndo_start_xmit(skb: Skb, more: boolean): number {
    this.calls++;
    if (this.throwNext) {
      this.throwNext = false;
      throw new Error('device bug');
    }
    if (this.ring >= this.room && this.policy !== 'stop-after') {
      if (this.policy === 'busy') this.dev.netif_stop_queue(0);
      return NETDEV_TX_BUSY;
    }
    this.ring++;
    this.got.push(new DataView(skb.buf.buffer, skb.buf.byteOffset).getUint32(skb.data + 14));
    this.mores.push(more);
    this.dev.dev_sw_netstats_tx_add(1, skb.len);
    const run = this.stack.softnet[0].net_tx_action_runs;
    this.perRun.set(run, (this.perRun.get(run) ?? 0) + 1);
    if (this.policy === 'stop-after' && this.ring >= this.room) this.dev.netif_stop_queue(0);
    return NETDEV_TX_OK;
  }

  /** the guest consumed its ring and posted buffers: kick → wake */
  drain(): void {
    this.ring = 0;
    this.dev.netif_wake_queue(0);
  }
}

function setup(room = Infinity) {
  const sched = new VirtualTimeScheduler();
  const stack = new NetStack({ scheduler: sched, log: silentLogger });
  const nic = new TxNic(stack, room);
  return { sched, stack, nic, q: nic.dev.qdisc };
}

function skbFor(stack: NetStack, dev: NetDevice, seq: number, len = LEN): Skb {
  const skb = stack.alloc_skb(len)!;
  const at = skb.put(len);
  skb.buf.fill(0, at, at + len);
  new DataView(skb.buf.buffer, skb.buf.byteOffset).setUint32(at + 14, seq);
  skb.dev = dev;
  return skb;
}

describe('core egress: dev_queue_xmit and pfifo', () => {
  it('attaches pfifo with limit txqueuelen 1000 and TCQ_F_CAN_BYPASS', () => {
    const { q, nic } = setup();
    expect(q).to.be.instanceOf(PfifoQdisc);
    expect(q.limit).to.equal(1000);
    expect(q.flags & TCQ_F_CAN_BYPASS).to.not.equal(0);
    expect(nic.dev.tx_queue_len).to.equal(1000);
  });

  it('bypasses an empty qdisc: sent inside dev_queue_xmit, counted in Sent, skb freed', () => {
    const { stack, nic, q, sched } = setup();
    const free = stack.pool.available;
    expect(stack.dev_queue_xmit(skbFor(stack, nic.dev, 7))).to.equal(NET_XMIT_SUCCESS);
    expect(nic.got).to.deep.equal([7]);
    expect(nic.mores).to.deep.equal([false]);
    expect(q.bstats.packets).to.equal(1);
    expect(q.bstats.bytes).to.equal(LEN);
    expect(q.qlen).to.equal(0);
    expect(q.qstats.requeues).to.equal(0);
    expect(stack.pool.available).to.equal(free);
    expect(sched.actions.length).to.equal(0); // nothing left for NET_TX
    expect(nic.dev.stats.tx_packets).to.equal(1); // the driver's own count
  });

  it('queues behind a stopped queue up to limit 1000, drops the rest, and drains on wake with the tx quota', () => {
    const { stack, nic, q, sched } = setup();
    nic.dev.netif_stop_queue(0);
    const rcs: number[] = [];
    for (let i = 0; i < 1005; i++) rcs.push(stack.dev_queue_xmit(skbFor(stack, nic.dev, i)));
    // the first skb found the qdisc empty: bypass → txq stopped → requeued (requeues 1)
    expect(rcs.filter((r) => r === NET_XMIT_SUCCESS)).to.have.length(1000);
    expect(rcs.slice(1000)).to.deep.equal([NET_XMIT_DROP, NET_XMIT_DROP, NET_XMIT_DROP, NET_XMIT_DROP, NET_XMIT_DROP]);
    expect(q.qlen).to.equal(1000);
    expect(q.qstats.drops).to.equal(5);
    expect(q.qstats.requeues).to.equal(1);
    expect(q.qstats.backlog).to.equal(1000 * LEN);
    expect(stack.pool.available).to.equal(1024 - 1000);
    expect(nic.dev.stats.tx_dropped).to.equal(0); // qdisc drops are not device drops
    sched.flush(); // the requeue's NET_TX run finds the queue stopped: nothing sent
    expect(nic.got).to.have.length(0);

    nic.dev.netif_wake_queue(0);
    sched.flush();
    expect(nic.got).to.deep.equal(Array.from({ length: 1000 }, (_, i) => i));
    expect(q.qlen).to.equal(0);
    expect(q.qstats.backlog).to.equal(0);
    expect(q.bstats.packets).to.equal(1000); // 1 at bypass + 999 at dequeue
    expect(stack.pool.available).to.equal(1024);
    // __qdisc_run quota: dev_tx_weight 64 per run. This driver reports no BQL, so dql_avail is 0 and
    // a one-txq qdisc never bulks (try_bulk_dequeue_skb): one skb per qdisc_restart, xmit_more false.
    const runs = [...nic.perRun.values()];
    expect(runs).to.deep.equal([...Array(15).fill(64), 40]);
    expect(nic.mores.every((m) => m === false)).to.equal(true);
    expect(q.qstats.requeues).to.equal(1);
  });

  it('requeues on NETDEV_TX_BUSY at the head, keeps order, and resumes on netif_wake_queue', () => {
    const { stack, nic, q, sched } = setup(10);
    for (let i = 0; i < 30; i++) expect(stack.dev_queue_xmit(skbFor(stack, nic.dev, i))).to.equal(NET_XMIT_SUCCESS);
    // 10 bypassed into the ring, the 11th got BUSY (requeued, queue stopped), 19 queued behind it
    expect(nic.got).to.deep.equal(Array.from({ length: 10 }, (_, i) => i));
    expect(q.qstats.requeues).to.equal(1);
    expect(q.qlen).to.equal(20);
    expect(nic.dev.netif_tx_queue_stopped(0)).to.equal(true);
    let rounds = 0;
    while (nic.got.length < 30 && rounds++ < 10) {
      nic.drain();
      sched.flush();
    }
    expect(nic.got).to.deep.equal(Array.from({ length: 30 }, (_, i) => i));
    // round 1: the requeued skb 10, then 11..19 one at a time (no BQL, no bulk) fill the ring; 20 is
    // refused and requeued (requeues 2). round 2: 20 from the requeue list, then 21..29: no refusal.
    expect(q.qstats.requeues).to.equal(2);
    expect(rounds).to.equal(2);
    expect(q.qlen).to.equal(0);
    expect(stack.pool.available).to.equal(1024);
  });

  it('stops dequeuing when the driver stops its queue after accepting', () => {
    const { stack, nic, q, sched } = setup(5);
    nic.policy = 'stop-after';
    nic.dev.netif_stop_queue(0);
    for (let i = 0; i < 20; i++) stack.dev_queue_xmit(skbFor(stack, nic.dev, i));
    expect(q.qstats.requeues).to.equal(1); // the bypass attempt on a stopped queue
    nic.drain();
    sched.flush();
    // requeued skb 0 alone, then 1..4 one at a time: ring full → the driver stops → dequeue waits
    expect(nic.got).to.deep.equal([0, 1, 2, 3, 4]);
    expect(q.qstats.requeues).to.equal(1);
    expect(q.qlen).to.equal(15);
    while (nic.got.length < 20) {
      nic.drain();
      sched.flush();
    }
    expect(nic.got).to.deep.equal(Array.from({ length: 20 }, (_, i) => i));
  });

  it('stops the queue itself when a driver answers BUSY without stopping (no NET_TX busy loop)', () => {
    const { stack, nic, q, sched } = setup(2);
    nic.policy = 'busy-nostop';
    for (let i = 0; i < 5; i++) stack.dev_queue_xmit(skbFor(stack, nic.dev, i));
    sched.flush(); // would never end if the core retried BUSY in a loop
    expect(nic.dev.netif_tx_queue_stopped(0)).to.equal(true);
    expect(nic.got).to.deep.equal([0, 1]);
    expect(q.qlen).to.equal(3);
    nic.drain();
    sched.flush();
    expect(nic.got).to.deep.equal([0, 1, 2, 3]);
  });

  it('drops with NET_XMIT_CN and tx_dropped while the carrier is off (noop qdisc); reset frees the queue', () => {
    const { stack, nic, q, sched } = setup();
    nic.dev.netif_stop_queue(0);
    for (let i = 0; i < 4; i++) stack.dev_queue_xmit(skbFor(stack, nic.dev, i));
    expect(q.qlen).to.equal(4);
    nic.dev.netif_carrier_off();
    // dev_deactivate: qdisc_reset frees queued skbs; these are not counted as drops
    expect(q.qlen).to.equal(0);
    expect(q.qstats.backlog).to.equal(0);
    expect(q.qstats.drops).to.equal(0);
    expect(stack.pool.available).to.equal(1024);
    const rc = stack.dev_queue_xmit(skbFor(stack, nic.dev, 99));
    expect(rc).to.equal(NET_XMIT_CN);
    expect(net_xmit_eval(rc)).to.equal(0);
    expect(nic.dev.stats.tx_dropped).to.equal(1);
    expect(stack.pool.available).to.equal(1024);
    nic.dev.netif_carrier_on();
    nic.drain();
    sched.flush();
    expect(stack.dev_queue_xmit(skbFor(stack, nic.dev, 100))).to.equal(NET_XMIT_SUCCESS);
    expect(nic.got).to.deep.equal([100]);
    // Sent survives deactivation (same qdisc object): skb 0 was counted at its bypass attempt (then
    // requeued and freed by the reset), skb 100 now
    expect(q.bstats.packets).to.equal(2);
  });

  it('accounts GSO skbs as their segments (qdisc_pkt_len_init, bstats packets += gso_segs)', () => {
    const { stack, nic, q } = setup();
    const len = 14 + 20 + 32 + 3 * 1448;
    const skb = skbFor(stack, nic.dev, 1, len);
    skb.transport_header = skb.data + 34;
    skb.buf[skb.transport_header + 12] = 8 << 4; // doff 8: 32-byte TCP header
    skb.gso_size = 1448;
    skb.gso_segs = 3;
    skb.gso_type = SKB_GSO_TCPV4;
    stack.dev_queue_xmit(skb);
    expect(q.bstats.packets).to.equal(3);
    expect(q.bstats.bytes).to.equal(len + 2 * (34 + 32));
  });

  it('copies an skb that views foreign memory before queueing it', () => {
    const { stack, nic, sched } = setup();
    nic.dev.netif_stop_queue(0);
    const guest = new Uint8Array(200);
    new DataView(guest.buffer).setUint32(50 + 14, 1234);
    const view = new Skb().reset(guest, 50, 80);
    view.dev = nic.dev;
    const before = stack.pool.available;
    expect(stack.dev_queue_xmit(view)).to.equal(NET_XMIT_SUCCESS);
    expect(stack.pool.available).to.equal(before - 1);
    guest.fill(0); // the guest reuses its buffer
    nic.drain();
    sched.flush();
    expect(nic.got).to.deep.equal([1234]);
    expect(stack.pool.available).to.equal(before);
  });

  it('drops malformed skbs and skbs without a device, counting tx_dropped where there is a device', () => {
    const { stack, nic } = setup();
    const bad = stack.alloc_skb(10)!;
    bad.len = 5000; // past its slab
    bad.dev = nic.dev;
    expect(stack.dev_queue_xmit(bad)).to.equal(NET_XMIT_DROP);
    expect(nic.dev.stats.tx_dropped).to.equal(1);
    const orphan = skbFor(stack, nic.dev, 1);
    orphan.dev = null;
    expect(stack.dev_queue_xmit(orphan)).to.equal(NET_XMIT_DROP);
    expect(nic.calls).to.equal(0);
    expect(stack.pool.available).to.equal(1024);
  });

  it('survives a throwing ndo_start_xmit: counted, tx_dropped, skb freed, next frame goes out', () => {
    const { stack, nic } = setup();
    nic.throwNext = true;
    stack.dev_queue_xmit(skbFor(stack, nic.dev, 1));
    stack.dev_queue_xmit(skbFor(stack, nic.dev, 2));
    expect(stack.exceptions).to.equal(1);
    expect(nic.dev.stats.tx_dropped).to.equal(1);
    expect(nic.got).to.deep.equal([2]);
    expect(stack.pool.available).to.equal(1024);
  });

  it('prints tc -s style stats', () => {
    const { stack, nic, q } = setup();
    stack.dev_queue_xmit(skbFor(stack, nic.dev, 1));
    expect(tc_qdisc_show(q, nic.dev)).to.equal(
      'qdisc pfifo 0: dev eth0 root refcnt 2 limit 1000p\n' +
        ` Sent ${LEN} bytes 1 pkt (dropped 0, overlimits 0 requeues 0)\n` +
        ' backlog 0b 0p requeues 0\n',
    );
  });

  it('spreads multiqueue devices over txqs by skb hash, one pfifo each', () => {
    const sched = new VirtualTimeScheduler();
    const stack = new NetStack({ scheduler: sched, log: silentLogger });
    const seen: number[] = [];
    const dev = stack.register_netdev({ ndo_start_xmit: (skb) => (seen.push(skb.queue_mapping), NETDEV_TX_OK) }, { txQueues: 4 });
    for (const h of [0, 0x40000000, 0x80000000, 0xc0000000, 0xffffffff]) {
      const skb = skbFor(stack, dev, 0);
      skb.hash = h;
      stack.dev_queue_xmit(skb);
    }
    expect(seen).to.deep.equal([0, 1, 2, 3, 3]);
    expect(dev._tx.map((t) => t.qdisc_sleeping.bstats.packets)).to.deep.equal([1, 1, 1, 2]);
  });
});
