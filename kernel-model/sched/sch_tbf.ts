// tbf (net/sched/sch_tbf.c): a token bucket in ns. `rate` fills `buffer` (the burst's transmit
// time); a packet leaves when toks = min(now - t_c, buffer) + tokens, capped at buffer, minus its
// time at `rate` stays >= 0 (and likewise for the optional peakrate bucket of `mtu`). Otherwise the
// watchdog is armed for the deficit and overlimits++ — on every throttled dequeue attempt. Packets
// queue in a child (bfifo of `limit` bytes by default). A packet larger than max_size is dropped,
// unless it is a GSO skb whose segments fit: tbf_segment enqueues those instead.
import type { NetStack } from '../core/stack';
import type { NetDevice } from '../core/netdevice';
import { kfree_skb, type Skb } from '../core/skb';
import { Qdisc, QdiscWatchdog, ktime_get_ns, psched_mtu, qdisc_bstats_update, qdisc_dequeue_peeked, qdisc_peek_dequeued, qdisc_purge_queue, qdisc_tree_reduce_backlog, net_xmit_drop_count, TC_H_MAKE } from '../core/sch_generic';
import { skb_gso_segment, skb_gso_validate_mac_len } from '../core/gso';
import { NET_XMIT_DROP, NET_XMIT_SUCCESS } from '../core/xmit';
import { BfifoQdisc } from './sch_bfifo';
import type { ClassfulQdisc } from './classful';
import { PschedRatecfg, TC_LINKLAYER_ATM, TC_LINKLAYER_ETHERNET, psched_ns2ticks } from './psched';
import { print_rate, print_size, print_time_us } from './tc/units';

export interface TbfOptions {
  /** bytes/s */
  rate: number;
  /** bucket size in bytes (tc's burst/buffer/maxburst) */
  burst: number;
  /** child bfifo size in bytes (tc computes it from latency when `latency` is given) */
  limit: number;
  /** bytes/s, 0 = none */
  peakrate?: number;
  /** peak bucket in bytes (tc's mtu/minburst), required with peakrate */
  mtu?: number;
  mpu?: number;
  overhead?: number;
  linklayer?: number;
}

export class TbfQdisc extends Qdisc implements ClassfulQdisc {
  readonly id = 'tbf';
  /** child qdisc (class 1) */
  child: Qdisc;
  readonly rate = new PschedRatecfg();
  readonly peak = new PschedRatecfg();
  /** ns */
  buffer = 0;
  /** ns (peak bucket) */
  mtu = 0;
  max_size = 0;
  tokens = 0;
  ptokens = 0;
  t_c = 0;
  readonly watchdog = new QdiscWatchdog(this);

  constructor(stack: NetStack, readonly dev: NetDevice, o: TbfOptions) {
    super(stack);
    this.child = stack.noop_qdisc;
    this.t_c = ktime_get_ns(stack);
    this.change(o);
  }

  /** tbf_change: as the kernel applies what tc sends (TCA_TBF_PARMS + TCA_TBF_BURST/PBURST) */
  change(o: TbfOptions): void {
    if (!(o.rate > 0)) throw new Error('tbf: the "rate" parameter is mandatory.');
    if (!(o.burst > 0)) throw new Error('tbf: the "burst" parameter is mandatory.');
    const linklayer = o.linklayer ?? TC_LINKLAYER_ETHERNET;
    const rate = new PschedRatecfg().precompute(o.rate, o.overhead ?? 0, o.mpu ?? 0, linklayer);
    let max_size = o.burst;
    const buffer = Math.min(rate.l2t_ns(max_size), 0xffffffff);
    let mtu = 0;
    const peak = new PschedRatecfg();
    if (o.peakrate) {
      peak.precompute(o.peakrate, o.overhead ?? 0, o.mpu ?? 0, linklayer);
      if (peak.rate_bytes_ps <= rate.rate_bytes_ps) {
        throw new Error(`tbf: peakrate ${peak.rate_bytes_ps} is lower than or equals to rate ${rate.rate_bytes_ps} !`);
      }
      if (!o.mtu) throw new Error('tbf: when "peakrate" is specified, "mtu" must also be specified.');
      max_size = Math.min(max_size, o.mtu);
      mtu = peak.l2t_ns(o.mtu);
    }
    if (max_size < psched_mtu(this.dev)) {
      this.stack.ratelimited_warn(`sch_tbf: burst ${max_size} is lower than device ${this.dev.name} mtu (${psched_mtu(this.dev)}) !`);
    }
    if (!max_size) throw new Error('tbf: burst out of range');
    if (this.child === this.stack.noop_qdisc || this.child instanceof BfifoQdisc) {
      if (o.limit > 0) {
        const old = this.child;
        const fifo = new BfifoQdisc(this.stack, o.limit, psched_mtu(this.dev));
        this.graft(fifo, true);
        if (old !== this.stack.noop_qdisc) old.destroy();
      }
    }
    this.limit = o.limit;
    this.max_size = max_size;
    this.buffer = buffer;
    this.mtu = mtu;
    this.tokens = this.buffer;
    this.ptokens = this.mtu;
    Object.assign(this.rate, rate);
    Object.assign(this.peak, peak);
  }

  /** tbf_graft: a new child for class 1; the old one's packets leave our counters */
  graft(child: Qdisc, dflt = false): Qdisc {
    const old = this.child;
    if (old !== this.stack.noop_qdisc) qdisc_purge_queue(old);
    child.parent_qdisc = this;
    child.parent = TC_H_MAKE(this.handle, 1);
    child.dev_queue = this.dev_queue;
    child.invisible = dflt;
    this.child = child;
    return old;
  }

  /** tc qdisc add … parent H:1 …: tbf has one class, 1 */
  graft_class(classid: number, child: Qdisc): Qdisc {
    if ((classid >>> 16) !== this.handle >>> 16 || (classid & 0xffff) !== 1) throw new Error('tbf: the only class is :1');
    return this.graft(child);
  }

  child_qdiscs(): Qdisc[] {
    return this.child === this.stack.noop_qdisc ? [] : [this.child];
  }

  private get peak_present(): boolean {
    return this.peak.rate_bytes_ps > 0;
  }

  enqueue(skb: Skb): number {
    const len = skb.pkt_len;
    if (len > this.max_size) {
      if (skb.gso_size > 0 && skb_gso_validate_mac_len(skb, this.max_size)) return this.tbf_segment(skb);
      this.qstats.drops++;
      kfree_skb(skb);
      return NET_XMIT_DROP;
    }
    const ret = this.child.enqueue(skb);
    if (ret !== NET_XMIT_SUCCESS) {
      if (net_xmit_drop_count(ret)) this.qstats.drops++;
      return ret;
    }
    this.qstats.backlog += len;
    this.qlen++;
    return NET_XMIT_SUCCESS;
  }

  /**
   * tbf_segment: software-segment a GSO skb (checksums as the device would take them, GSO features
   * masked off) and enqueue each segment in the child; the ancestors learn that one packet of
   * pkt_len became nb packets of their summed length (qdisc_tree_reduce_backlog with 1 − nb).
   * Linux 6.1 leaves tbf's own backlog short of the segments' bytes here (fixed upstream later);
   * the model counts them.
   */
  private tbf_segment(skb: Skb): number {
    const prev_len = skb.pkt_len;
    const segs = this.segs;
    const n = skb_gso_segment(this.stack, skb, this.dev.features & 0xffff, segs);
    if (n < 0) {
      this.qstats.drops++;
      kfree_skb(skb);
      return NET_XMIT_DROP;
    }
    let nb = 0;
    let len = 0;
    for (let i = 0; i < n; i++) {
      const seg = segs[i];
      seg.pkt_len = seg.len;
      const seglen = seg.len;
      const ret = this.child.enqueue(seg);
      if (ret !== NET_XMIT_SUCCESS) {
        if (net_xmit_drop_count(ret)) this.qstats.drops++;
      } else {
        nb++;
        len += seglen;
      }
    }
    segs.length = 0;
    this.qlen += nb;
    this.qstats.backlog += len;
    if (nb > 0) qdisc_tree_reduce_backlog(this, 1 - nb, prev_len - len);
    kfree_skb(skb);
    return nb > 0 ? NET_XMIT_SUCCESS : NET_XMIT_DROP;
  }

  /** tbf_segment's segment list, reused */
  private readonly segs: Skb[] = [];

  dequeue(): Skb | null {
    const skb = this.child.peek();
    if (!skb) return null;
    const len = skb.pkt_len;
    const now = ktime_get_ns(this.stack);
    let toks = Math.min(now - this.t_c, this.buffer);
    let ptoks = 0;
    if (this.peak_present) {
      ptoks = toks + this.ptokens;
      if (ptoks > this.mtu) ptoks = this.mtu;
      ptoks -= this.peak.l2t_ns(len);
    }
    toks += this.tokens;
    if (toks > this.buffer) toks = this.buffer;
    toks -= this.rate.l2t_ns(len);
    if (toks >= 0 && ptoks >= 0) {
      const out = qdisc_dequeue_peeked(this.child);
      if (!out) return null;
      this.t_c = now;
      this.tokens = toks;
      this.ptokens = ptoks;
      this.qstats.backlog -= out.pkt_len;
      this.qlen--;
      qdisc_bstats_update(this, out);
      return out;
    }
    this.watchdog.schedule_ns(now + Math.max(-toks, -ptoks));
    // "Maybe we have a shorter packet in the queue, which can be sent now" — no: no reordering
    this.qstats.overlimits++;
    return null;
  }

  peek(): Skb | null {
    return qdisc_peek_dequeued(this);
  }

  protected reset_queue(): void {
    this.child.reset();
    this.t_c = ktime_get_ns(this.stack);
    this.tokens = this.buffer;
    this.ptokens = this.mtu;
    this.watchdog.cancel();
  }

  override destroy(): void {
    this.watchdog.cancel();
    this.reset();
    if (this.child !== this.stack.noop_qdisc) this.child.destroy();
  }

  /** q_tbf.c tbf_print_opt, from what tbf_dump reports (buffer/mtu in psched ticks) */
  tc_opts(): string {
    const rate = this.rate.rate_bytes_ps;
    const bufTicks = psched_ns2ticks(this.buffer);
    const mtuTicks = psched_ns2ticks(this.mtu);
    // tc_core: 15.625 ticks per µs (t2us 1000 / us2t 64 from /proc/net/psched)
    const tick2us = (t: number): number => t / 15.625;
    const xmitsize = (r: number, t: number): number => Math.floor((r * tick2us(t)) / 1e6);
    let s = `rate ${print_rate(rate)} burst ${print_size(xmitsize(rate, bufTicks))} `;
    const prate = this.peak.rate_bytes_ps;
    if (prate) {
      s += `peakrate ${print_rate(prate)} `;
      if (mtuTicks || this.peak.mpu) s += `minburst ${print_size(xmitsize(prate, mtuTicks))} `;
    }
    let latency = (1e6 * this.limit) / rate - tick2us(bufTicks);
    if (prate) {
      const lat2 = (1e6 * this.limit) / prate - tick2us(mtuTicks);
      if (lat2 > latency) latency = lat2;
    }
    if (latency >= 0) s += `lat ${print_time_us(Math.floor(latency) >>> 0)} `;
    else s += `limit ${print_size(this.limit)} `;
    if (this.rate.overhead) s += `overhead ${this.rate.overhead} `;
    if (this.rate.linklayer === TC_LINKLAYER_ATM) s += 'linklayer atm ';
    return s;
  }
}
