// bfifo (net/sched/sch_fifo.c): one FIFO of at most `limit` bytes (backlog + len <= limit);
// tbf's inner queue. Work-conserving when limit >= psched_mtu (TCQ_F_CAN_BYPASS).
import type { NetStack } from '../core/stack';
import type { Skb } from '../core/skb';
import { TCQ_F_CAN_BYPASS } from '../core/sch_generic';
import { FifoQdisc } from './sch_fifo';
import { print_size } from './tc/units';

export class BfifoQdisc extends FifoQdisc {
  readonly id = 'bfifo';

  constructor(stack: NetStack, limitBytes: number, mtu = 1514) {
    super(stack, 64);
    this.limit = Math.max(0, Math.floor(limitBytes));
    if (this.limit >= mtu) this.flags |= TCQ_F_CAN_BYPASS;
  }

  /** bfifo_enqueue: room while backlog + len <= limit */
  protected admits(skb: Skb): boolean {
    return this.qstats.backlog + skb.pkt_len <= this.limit;
  }

  tc_opts(): string {
    return `limit ${print_size(this.limit)}`;
  }
}
