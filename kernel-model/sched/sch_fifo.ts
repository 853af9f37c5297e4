// The FIFO both fifo qdiscs share (net/sched/sch_fifo.c): tail-append when the kind's limit admits the
// packet (qdisc_enqueue_tail), else qdisc_drop; dequeue from the head (qdisc_dequeue_head), bstats at
// dequeue. pfifo limits packets, bfifo bytes.
import type { NetStack } from '../core/stack';
import { kfree_skb, SkbQueue, type Skb } from '../core/skb';
import { Qdisc, qdisc_bstats_update } from '../core/sch_generic';
import { NET_XMIT_DROP, NET_XMIT_SUCCESS } from '../core/xmit';

export abstract class FifoQdisc extends Qdisc {
  private readonly q: SkbQueue;

  constructor(stack: NetStack, initialCapacity: number) {
    super(stack);
    this.q = new SkbQueue(initialCapacity);
  }

  /** whether the limit leaves room for skb */
  protected abstract admits(skb: Skb): boolean;

  enqueue(skb: Skb): number {
    if (this.admits(skb)) {
      this.q.push(skb);
      this.qlen++;
      this.qstats.backlog += skb.pkt_len;
      return NET_XMIT_SUCCESS;
    }
    this.qstats.drops++;
    kfree_skb(skb);
    return NET_XMIT_DROP;
  }

  dequeue(): Skb | null {
    const skb = this.q.shift();
    if (skb) {
      this.qlen--;
      this.qstats.backlog -= skb.pkt_len;
      qdisc_bstats_update(this, skb);
    }
    return skb;
  }

  peek(): Skb | null {
    return this.q.peek();
  }

  protected reset_queue(): void {
    this.q.purge(kfree_skb);
  }
}
