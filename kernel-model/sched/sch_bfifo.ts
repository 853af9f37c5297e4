// bfifo (net/sched/sch_fifo.c): one FIFO of at most `limit` bytes (backlog + len <= limit);
// tbf's inner queue. Work-conserving when limit >= psched_mtu (TCQ_F_CAN_BYPASS).
import type { NetStack } from '../core/stack';
import { kfree_skb, SkbQueue, type Skb } from '../core/skb';
import { Qdisc, TCQ_F_CAN_BYPASS, qdisc_bstats_update } from '../core/sch_generic';
import { NET_XMIT_DROP, NET_XMIT_SUCCESS } from '../core/xmit';
import { print_size } from './tc/units';

export class BfifoQdisc extends Qdisc {
  readonly id = 'bfifo';
  private readonly q = new SkbQueue(64);

  constructor(stack: NetStack, limitBytes: number, mtu = 1514) {
    super(stack);
    this.limit = Math.max(0, Math.floor(limitBytes));
    if (this.limit >= mtu) this.flags |= TCQ_F_CAN_BYPASS;
  }

  /** bfifo_enqueue: accept while backlog + len <= limit, else qdisc_drop */
  enqueue(skb: Skb): number {
    if (this.qstats.backlog + skb.pkt_len <= this.limit) {
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

  tc_opts(): string {
    return `limit ${print_size(this.limit)}`;
  }
}
