// pfifo_fast (net/sched/sch_generic.c): three bands, each a ring of txqueuelen packets; band =
// prio2band[skb->priority & TC_PRIO_MAX]; dequeue serves the lowest non-empty band. A full ring
// drops the new packet. Work-conserving: TCQ_F_CAN_BYPASS.
import type { NetStack } from '../core/stack';
import { kfree_skb, SkbQueue, type Skb } from '../core/skb';
import { Qdisc, TCQ_F_CAN_BYPASS, TC_PRIO_MAX, qdisc_bstats_update } from '../core/sch_generic';
import { NET_XMIT_DROP, NET_XMIT_SUCCESS } from '../core/xmit';

export const PFIFO_FAST_BANDS = 3;
/** prio2band (sch_generic.c), also prio's default priomap */
export const PRIO2BAND: readonly number[] = [1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1];

/**
 * ip_tos2prio (net/ipv4/route.c): skb->priority for an IP TOS byte, as IP_TOS sets sk_priority and
 * forwarding sets skb->priority (rt_tos2priority: index (tos & 0x1E) >> 1).
 */
const IP_TOS2PRIO = [0, 0, 0, 0, 2, 2, 2, 2, 6, 6, 6, 6, 4, 4, 4, 4];
export function rt_tos2priority(tos: number): number {
  return IP_TOS2PRIO[(tos & 0x1e) >> 1];
}

export class PfifoFastQdisc extends Qdisc {
  readonly id = 'pfifo_fast';
  private readonly bands: SkbQueue[];

  constructor(stack: NetStack, txqueuelen: number) {
    super(stack);
    // pfifo_fast_init: each ring holds tx_queue_len skbs (at least 1)
    this.limit = Math.max(1, Math.floor(txqueuelen));
    this.bands = Array.from({ length: PFIFO_FAST_BANDS }, () => new SkbQueue(Math.min(this.limit, 1024)));
    this.flags |= TCQ_F_CAN_BYPASS;
  }

  enqueue(skb: Skb): number {
    const q = this.bands[PRIO2BAND[skb.priority & TC_PRIO_MAX]];
    if (q.length >= this.limit) {
      this.qstats.drops++;
      kfree_skb(skb);
      return NET_XMIT_DROP;
    }
    q.push(skb);
    this.qlen++;
    this.qstats.backlog += skb.pkt_len;
    return NET_XMIT_SUCCESS;
  }

  dequeue(): Skb | null {
    for (let band = 0; band < PFIFO_FAST_BANDS; band++) {
      const skb = this.bands[band].shift();
      if (skb) {
        this.qlen--;
        this.qstats.backlog -= skb.pkt_len;
        qdisc_bstats_update(this, skb);
        return skb;
      }
    }
    return null;
  }

  peek(): Skb | null {
    for (let band = 0; band < PFIFO_FAST_BANDS; band++) {
      const skb = this.bands[band].peek();
      if (skb) return skb;
    }
    return null;
  }

  /** per-band queue length (tests, debugging) */
  band_len(band: number): number {
    return this.bands[band].length;
  }

  protected reset_queue(): void {
    for (const q of this.bands) q.purge(kfree_skb);
  }

  /** tc print: pfifo_fast is printed by prio's print_opt (tc_qdisc.c hardcodes it) */
  tc_opts(): string {
    return `bands ${PFIFO_FAST_BANDS} priomap ${PRIO2BAND.map((b) => ` ${b}`).join('').slice(1)}`;
  }
}
