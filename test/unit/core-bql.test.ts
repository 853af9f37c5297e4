// BQL: lib/dynamic_queue_limits.c (dql_queued / dql_completed / dql_avail) step by step, the tx queue
// side (netdev_tx_sent_queue stops the queue over the limit, netdev_tx_completed_queue wakes it) and
// the qdisc's bulk dequeue by BQL bytes (try_bulk_dequeue_skb), all in virtual time.
import { expect } from 'chai';
import { VirtualTimeScheduler } from 'rxjs';
import { NetStack } from '../../kernel-model/core/stack';
import { Dql, DQL_MAX_LIMIT } from '../../kernel-model/core/dql';
import {
  NETDEV_TX_BUSY, NETDEV_TX_OK, __netdev_tx_sent_queue, __QUEUE_STATE_STACK_XOFF, netdev_tx_completed_queue,
  netdev_tx_reset_queue, netif_xmit_stopped, type NetDevice, type NetDeviceOps,
} from '../../kernel-model/core/netdevice';
import type { Skb } from '../../kernel-model/core/skb';
import { silentLogger } from '../../kernel-model/core/log';

describe('BQL: dynamic queue limits (lib/dynamic_queue_limits.c)', () => {
  it('starts at limit_min 0, limit_max 1879048192, avail 0; a tx queue holds HZ jiffies (1000 ms)', () => {
    const stack = new NetStack({ scheduler: new VirtualTimeScheduler(), log: silentLogger });
    const dev = stack.register_netdev({ ndo_start_xmit: () => NETDEV_TX_OK });
    const dql = dev.netdev_get_tx_queue(0).dql;
    expect([dql.limit, dql.min_limit, dql.max_limit, dql.slack_hold_time, dql.avail(), dql.inflight]).to.deep.equal([0, 0, 1879048192, 250, 0, 0]);
    expect(DQL_MAX_LIMIT).to.equal(1879048192);
  });

  it('grows when starved: over the limit and emptied, or over it last interval with all completed', () => {
    const d = new Dql(250, 0);
    d.queued(1500);
    expect(d.avail()).to.equal(-1500);
    // over the limit (0) and nothing left in progress: limit += completed since prev_num_queued (1500)
    d.completed(1500, 0);
    expect([d.limit, d.avail(), d.inflight]).to.deep.equal([1500, 1500, 0]);
    d.queued(1500);
    d.queued(1500);
    // 3000 in flight against 1500: over by 1500, half completes, the rest still in progress — no change
    d.completed(1500, 1);
    expect([d.limit, d.prev_ovlimit, d.avail()]).to.deep.equal([1500, 1500, 0]);
    // previous interval was over the limit and everything queued then is now done: starved,
    // limit += (completed - prev_num_queued = 0) + prev_ovlimit 1500
    d.completed(1500, 2);
    expect([d.limit, d.prev_ovlimit, d.inflight]).to.deep.equal([3000, 0, 0]);
  });

  it('shrinks by the lowest slack seen once hold_time has passed while the queue stayed busy', () => {
    const d = new Dql(250, 0);
    d.queued(100000);
    d.completed(100000, 0); // starved: limit 100000, slack_start_time 0
    expect(d.limit).to.equal(100000);
    d.queued(30000);
    d.completed(10000, 1); // busy, but nothing was in progress at the previous completion
    d.queued(10000);
    d.completed(10000, 2); // busy all interval: slack = limit - 2·completed = 80000 (lowest)
    expect([d.limit, d.lowest_slack]).to.deep.equal([100000, 80000]);
    d.queued(10000);
    d.completed(10000, 250); // not after slack_start_time + hold_time (time_after is strict)
    expect(d.limit).to.equal(100000);
    d.queued(10000);
    d.completed(10000, 251);
    expect([d.limit, d.lowest_slack, d.slack_start_time]).to.deep.equal([20000, 0xffffffff, 251]);
    expect(d.avail()).to.equal(0);
  });

  it('clamps to [limit_min, limit_max] and ignores impossible completions', () => {
    const d = new Dql(250, 0);
    d.min_limit = 50000;
    d.max_limit = 60000;
    d.queued(100000);
    d.completed(100000, 0);
    expect(d.limit).to.equal(60000);
    d.completed(1, 1); // nothing in flight: Linux BUG_ONs; the model ignores it
    expect([d.num_completed, d.limit]).to.deep.equal([100000, 60000]);
    d.reset(5);
    expect([d.limit, d.num_queued, d.slack_start_time]).to.deep.equal([50000, 0, 5]);
  });
});

/** A "NIC" with BQL: each frame goes on a wire that completes everything in flight 1 ms after the first send. */
class BqlNic implements NetDeviceOps {
  readonly dev: NetDevice;
  readonly log: { t: number; seq: number; more: boolean }[] = [];
  private inflight = 0;
  private pkts = 0;
  private timer = false;
  /** frames the ring still takes before it answers NETDEV_TX_BUSY (Infinity: never) */
  room = Infinity;

  constructor(readonly stack: NetStack, readonly sched: VirtualTimeScheduler) {
    this.dev = stack.register_netdev(this);
  }

  ndo_start_xmit(skb: Skb, more: boolean): number {
    if (this.room <= 0) {
      this.dev.netif_stop_queue(0);
      return NETDEV_TX_BUSY;
    }
    this.room--;
    this.log.push({ t: this.sched.now(), seq: skb.buf[skb.data + 20], more });
    this.inflight += skb.len;
    this.pkts++;
    __netdev_tx_sent_queue(this.dev.netdev_get_tx_queue(0), skb.len, more);
    if (!this.timer) {
      this.timer = true;
      this.sched.schedule(() => {
        this.timer = false;
        const bytes = this.inflight;
        const pkts = this.pkts;
        this.inflight = this.pkts = 0;
        netdev_tx_completed_queue(this.dev.netdev_get_tx_queue(0), pkts, bytes);
      }, 1);
    }
    return NETDEV_TX_OK;
  }
}

function frame(stack: NetStack, dev: NetDevice, seq: number, len = 1000): Skb {
  const skb = stack.alloc_skb(len)!;
  const at = skb.put(len);
  skb.buf.fill(0, at, at + len);
  skb.buf[at + 20] = seq;
  skb.dev = dev;
  return skb;
}

describe('BQL on the tx queue: STACK_XOFF, completion wake-up and bulk dequeue by bytes', () => {
  it('stops the queue over the limit, wakes it on completion, and bulks up to dql_avail bytes', () => {
    const sched = new VirtualTimeScheduler();
    const stack = new NetStack({ scheduler: sched, log: silentLogger });
    const nic = new BqlNic(stack, sched);
    const txq = nic.dev.netdev_get_tx_queue(0);
    const q = nic.dev.qdisc;
    for (let i = 0; i < 20; i++) stack.dev_queue_xmit(frame(stack, nic.dev, i));
    // frame 0 bypassed the empty pfifo: 1000 bytes over limit 0 → STACK_XOFF, the rest waits in the qdisc
    expect(nic.log.map((e) => e.seq)).to.deep.equal([0]);
    expect(txq.state & __QUEUE_STATE_STACK_XOFF).to.not.equal(0);
    expect(netif_xmit_stopped(txq)).to.equal(true);
    expect(nic.dev.netif_tx_queue_stopped(0)).to.equal(false); // the driver did not stop it
    expect(q.qlen).to.equal(19);
    const limits: number[] = [];
    for (let t = 1; t <= 5; t++) {
      sched.maxFrames = t;
      sched.flush();
      limits.push(txq.dql.limit);
    }
    // t=1: starved → limit 1000: one frame fits exactly (avail 0 after it), the next goes over → XOFF
    // t=2: limit 1000 + 2000 = 3000 → a bulk of 3, then one over; t=3: 7000 → 7 + 1; t=4: 15000 → the last 5
    expect(limits).to.deep.equal([1000, 3000, 7000, 15000, 15000]);
    const at = (t: number): string =>
      nic.log.filter((e) => e.t === t).map((e) => `${e.seq}${e.more ? '+' : ''}`).join(' ');
    expect(at(0)).to.equal('0');
    expect(at(1)).to.equal('1 2');
    expect(at(2)).to.equal('3+ 4+ 5 6');
    expect(at(3)).to.equal('7+ 8+ 9+ 10+ 11+ 12+ 13 14');
    expect(at(4)).to.equal('15+ 16+ 17+ 18+ 19');
    expect(q.qlen).to.equal(0);
    expect(txq.dql.inflight).to.equal(0);
    expect(netif_xmit_stopped(txq)).to.equal(false);
    expect(q.bstats.packets).to.equal(20);
  });

  it('requeues the unsent rest of a BQL bulk in order when the driver answers BUSY mid-bulk', () => {
    const sched = new VirtualTimeScheduler();
    const stack = new NetStack({ scheduler: sched, log: silentLogger });
    const nic = new BqlNic(stack, sched);
    const txq = nic.dev.netdev_get_tx_queue(0);
    txq.dql.min_limit = 10000; // limit_min: bulks of 10 frames from the start
    netdev_tx_reset_queue(txq);
    txq.dql.adj_limit = 10000; // dql_completed sets it; before the first completion it is 0
    nic.dev.netif_stop_queue(0);
    for (let i = 0; i < 12; i++) stack.dev_queue_xmit(frame(stack, nic.dev, i));
    nic.room = 4;
    nic.dev.netif_wake_queue(0);
    sched.maxFrames = 0;
    sched.flush();
    // the requeued frame 0 alone, then a bulk 1..9 (10000 bytes of avail minus frame 0): 1, 2, 3 taken,
    // 4 refused → 4..9 back at the head in order (requeues: 1 at the bypass + 6)
    expect(nic.log.map((e) => e.seq)).to.deep.equal([0, 1, 2, 3]);
    expect(nic.dev.qdisc.qstats.requeues).to.equal(7);
    nic.room = Infinity;
    nic.dev.netif_wake_queue(0);
    sched.maxFrames = Infinity;
    sched.flush();
    expect(nic.log.map((e) => e.seq)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('a driver without BQL reports nothing: no STACK_XOFF, no bulk; netdev_tx_reset_queue clears XOFF', () => {
    const sched = new VirtualTimeScheduler();
    const stack = new NetStack({ scheduler: sched, log: silentLogger });
    const mores: boolean[] = [];
    const dev = stack.register_netdev({
      ndo_start_xmit: (_skb: Skb, more: boolean) => {
        mores.push(more);
        return NETDEV_TX_OK;
      },
    });
    dev.netif_stop_queue(0);
    for (let i = 0; i < 30; i++) stack.dev_queue_xmit(frame(stack, dev, i));
    dev.netif_wake_queue(0);
    sched.flush();
    expect(mores).to.have.length(30);
    expect(mores.every((m) => !m)).to.equal(true);
    const txq = dev.netdev_get_tx_queue(0);
    txq.state |= __QUEUE_STATE_STACK_XOFF;
    txq.dql.queued(5000);
    netdev_tx_reset_queue(txq);
    expect([txq.state & __QUEUE_STATE_STACK_XOFF, txq.dql.inflight, txq.dql.limit]).to.deep.equal([0, 0, 0]);
  });
});
