// prio (net/sched/sch_prio.c): `bands` (3) child qdiscs, class N = band N-1; band from
// skb->priority: a classid of this qdisc (major = handle) selects band minor-1, otherwise
// priomap[priority & 15] (default priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1). Dequeue takes the
// lowest band with a packet. Children default to pfifo with limit txqueuelen.
import type { NetStack } from '../core/stack';
import type { NetDevice } from '../core/netdevice';
import type { Skb } from '../core/skb';
import { Qdisc, TC_H_MAJ, TC_H_MIN, TC_H_MAKE, TC_PRIO_MAX, net_xmit_drop_count, qdisc_bstats_update, qdisc_dequeue_peeked, qdisc_purge_queue } from '../core/sch_generic';
import { NET_XMIT_SUCCESS } from '../core/xmit';
import { PfifoQdisc } from './pfifo';
import { PRIO2BAND } from './sch_pfifo_fast';
import type { ClassfulQdisc } from './classful';

export const TCQ_PRIO_BANDS = 16;
export const TCQ_MIN_PRIO_BANDS = 2;

export class PrioQdisc extends Qdisc implements ClassfulQdisc {
  readonly id = 'prio';
  bands = 3;
  priomap: number[] = [...PRIO2BAND];
  readonly queues: Qdisc[] = [];

  constructor(stack: NetStack, readonly dev: NetDevice, handle: number, bands = 3, priomap?: number[]) {
    super(stack);
    this.handle = handle;
    this.change(bands, priomap ?? [...PRIO2BAND]);
  }

  /** prio_tune: bands 2..16, every priomap entry < bands; new bands get a default pfifo */
  change(bands: number, priomap: number[]): void {
    if (bands > TCQ_PRIO_BANDS || bands < TCQ_MIN_PRIO_BANDS) throw new Error(`prio: bands must be ${TCQ_MIN_PRIO_BANDS}..${TCQ_PRIO_BANDS}`);
    for (const b of priomap) if (b >= bands) throw new Error(`prio: priomap entry ${b} is not a band (bands ${bands})`);
    for (let i = bands; i < this.queues.length; i++) {
      qdisc_purge_queue(this.queues[i]);
      this.queues[i].destroy();
    }
    this.queues.length = Math.min(this.queues.length, bands);
    for (let i = this.queues.length; i < bands; i++) {
      const child = new PfifoQdisc(this.stack, this.dev.tx_queue_len);
      this.attach(i, child, true);
    }
    this.bands = bands;
    this.priomap = priomap.slice(0, TC_PRIO_MAX + 1);
  }

  private attach(band: number, child: Qdisc, dflt: boolean): void {
    child.parent_qdisc = this;
    child.parent = TC_H_MAKE(this.handle, band + 1);
    child.dev_queue = this.dev_queue;
    child.invisible = dflt;
    this.queues[band] = child;
  }

  graft_class(classid: number, child: Qdisc): Qdisc {
    const band = TC_H_MIN(classid) - 1;
    if (TC_H_MAJ(classid) !== this.handle || band < 0 || band >= this.bands) throw new Error(`prio: no class ${(classid >>> 16).toString(16)}:${TC_H_MIN(classid).toString(16)}`);
    const old = this.queues[band];
    qdisc_purge_queue(old);
    this.attach(band, child, false);
    return old;
  }

  child_qdiscs(): Qdisc[] {
    return this.queues;
  }

  /** prio_classify (no filters) */
  private classify(skb: Skb): Qdisc {
    let band = skb.priority >>> 0;
    if (TC_H_MAJ(band) !== this.handle) {
      if (TC_H_MAJ(band)) band = 0;
      return this.queues[this.priomap[band & TC_PRIO_MAX]];
    }
    band = TC_H_MIN(band) - 1;
    if (band < 0 || band >= this.bands) return this.queues[this.priomap[0]];
    return this.queues[band];
  }

  enqueue(skb: Skb): number {
    const len = skb.pkt_len;
    const child = this.classify(skb);
    const ret = child.enqueue(skb);
    if (ret === NET_XMIT_SUCCESS) {
      this.qstats.backlog += len;
      this.qlen++;
      return NET_XMIT_SUCCESS;
    }
    if (net_xmit_drop_count(ret)) this.qstats.drops++;
    return ret;
  }

  dequeue(): Skb | null {
    for (let prio = 0; prio < this.bands; prio++) {
      const skb = qdisc_dequeue_peeked(this.queues[prio]);
      if (skb) {
        qdisc_bstats_update(this, skb);
        this.qstats.backlog -= skb.pkt_len;
        this.qlen--;
        return skb;
      }
    }
    return null;
  }

  peek(): Skb | null {
    for (let prio = 0; prio < this.bands; prio++) {
      const skb = this.queues[prio].peek();
      if (skb) return skb;
    }
    return null;
  }

  protected reset_queue(): void {
    for (const q of this.queues) q.reset();
  }

  override destroy(): void {
    for (const q of this.queues) q.destroy();
  }

  tc_opts(): string {
    return `bands ${this.bands} priomap ${this.priomap.map(String).join(' ')}`;
  }
}
