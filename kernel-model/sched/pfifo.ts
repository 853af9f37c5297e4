// pfifo (net/sched/sch_fifo.c): one FIFO of at most `limit` packets (default txqueuelen). Full → the
// new packet is dropped (qstats.drops). limit >= 1 makes it work-conserving: TCQ_F_CAN_BYPASS.
import type { NetStack } from '../core/stack';
import type { Skb } from '../core/skb';
import { TCQ_F_CAN_BYPASS } from '../core/sch_generic';
import { FifoQdisc } from './sch_fifo';

export class PfifoQdisc extends FifoQdisc {
  readonly id = 'pfifo';

  constructor(stack: NetStack, limit: number) {
    super(stack, Math.max(16, limit));
    this.change(limit);
  }

  /** `tc qdisc change ... pfifo limit N` (fifo_init): bypass only with limit >= 1 */
  change(limit: number): void {
    this.limit = Math.max(0, Math.floor(limit));
    if (this.limit >= 1) this.flags |= TCQ_F_CAN_BYPASS;
    else this.flags &= ~TCQ_F_CAN_BYPASS;
  }

  /** pfifo_enqueue: room while qlen < limit */
  protected admits(_skb: Skb): boolean {
    return this.qlen < this.limit;
  }

  /** tc/q_fifo.c fifo_print_opt */
  tc_opts(): string {
    return `limit ${this.limit}p`;
  }
}
