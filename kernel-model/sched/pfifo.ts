// pfifo (net/sched/sch_fifo.c): one FIFO of at most `limit` packets (default txqueuelen). Full → the
// new packet is dropped (qstats.drops). limit >= 1 makes it work-conserving: TCQ_F_CAN_BYPASS.
import type { NetStack } from '../core/stack';
import { kfree_skb, SkbQueue, type Skb } from '../core/skb';
import { Qdisc, TCQ_F_CAN_BYPASS, qdisc_bstats_update } from '../core/sch_generic';
import { NET_XMIT_DROP, NET_XMIT_SUCCESS } from '../core/xmit';

export class PfifoQdisc extends Qdisc {
  readonly id = 'pfifo';
  private readonly q: SkbQueue;

  constructor(stack: NetStack, limit: number) {
    super(stack);
    this.q = new SkbQueue(Math.max(16, limit));
    this.change(limit);
  }

  /** `tc qdisc change ... pfifo limit N` (fifo_init): bypass only with limit >= 1 */
  change(limit: number): void {
    this.limit = Math.max(0, Math.floor(limit));
    if (this.limit >= 1) this.flags |= TCQ_F_CAN_BYPASS;
    else this.flags &= ~TCQ_F_CAN_BYPASS;
  }

  /** pfifo_enqueue: tail-append while qlen < limit, else qdisc_drop */
  enqueue(skb: Skb): number {
    if (this.qlen < this.limit) {
      this.q.push(skb);
      this.qlen++;
      this.qstats.backlog += skb.pkt_len;
      return NET_XMIT_SUCCESS;
    }
    this.qstats.drops++;
    kfree_skb(skb);
    return NET_XMIT_DROP;
  }

  /** qdisc_dequeue_head: bstats count here, at dequeue */
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

  /** tc/q_fifo.c fifo_print_opt */
  tc_opts(): string {
    return `limit ${this.limit}p`;
  }
}
