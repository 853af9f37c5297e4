// `tc [-s] qdisc show [dev DEV]` and `tc [-s] class show dev DEV` in iproute2's text format
// (tc/tc_qdisc.c print_qdisc, tc/tc_class.c print_class, tc/tc_util.c print_tcstats2_attr, and each
// q_*.c print_qopt / print_xstats). Spacing follows those printf formats exactly, trailing spaces
// included.
import type { NetStack } from '../../core/stack';
import type { NetDevice } from '../../core/netdevice';
import { Qdisc, TC_H_ROOT, type QdiscBstats } from '../../core/sch_generic';
import { HtbQdisc, fmt_classid } from '../sch_htb';
import { qdisc_walk } from './apply';
import { print_size } from './units';

interface TcPrintable {
  tc_opts?(): string;
  tc_xstats?(): string;
}

/** print_tcstats2_attr: " Sent … requeues R) \n backlog Xb Np requeues R" (no final newline) */
export function tc_stats(b: QdiscBstats, drops: number, overlimits: number, requeues: number, backlog: number, qlen: number): string {
  return (
    ` Sent ${b.bytes} bytes ${b.packets} pkt (dropped ${drops}, overlimits ${overlimits} requeues ${requeues}) \n` +
    ` backlog ${print_size(backlog)} ${qlen}p requeues ${requeues}`
  );
}

/** one qdisc as print_qdisc prints it */
export function print_qdisc(q: Qdisc, dev: NetDevice, opts: { stats: boolean; showDev: boolean; refcnt?: number; parentOverride?: number }): string {
  const parent = opts.parentOverride ?? q.parent;
  let s = `qdisc ${q.id} ${(q.handle >>> 16).toString(16)}: `;
  if (opts.showDev) s += `dev ${dev.name} `;
  if (parent === TC_H_ROOT) s += 'root ';
  else if (parent) s += `parent ${fmt_classid(parent)} `;
  const refcnt = opts.refcnt ?? (parent === TC_H_ROOT ? 2 : 1);
  if (refcnt !== 1) s += `refcnt ${refcnt} `;
  const p = q as Qdisc & TcPrintable;
  if (p.tc_opts) s += p.tc_opts();
  s += '\n';
  if (opts.stats) {
    s += tc_stats(q.bstats, q.qstats.drops, q.qstats.overlimits, q.qstats.requeues, q.qstats.backlog, q.qlen) + '\n';
    if (p.tc_xstats) s += p.tc_xstats() + '\n';
  }
  return s;
}

/** tc [-s] qdisc show [dev DEV] */
export function tc_qdisc_show_all(stack: NetStack, o: { stats: boolean; dev?: string }): string {
  const devs = o.dev ? [stack.dev_get_by_name(o.dev)] : stack.devices;
  if (o.dev && !devs[0]) throw new Error(`Cannot find device "${o.dev}"`);
  let out = '';
  for (const dev of devs as NetDevice[]) {
    const showDev = !o.dev;
    const roots = new Set(dev._tx.map((t) => t.qdisc_sleeping));
    if (roots.size > 1) {
      // a multiqueue device with a default qdisc per txq: mq at the root, children parent :N
      const sum = { bytes: 0, packets: 0 };
      let drops = 0, over = 0, req = 0, backlog = 0, qlen = 0;
      for (const t of dev._tx) {
        const q = t.qdisc_sleeping;
        sum.bytes += q.bstats.bytes;
        sum.packets += q.bstats.packets;
        drops += q.qstats.drops;
        over += q.qstats.overlimits;
        req += q.qstats.requeues;
        backlog += q.qstats.backlog;
        qlen += q.qlen;
      }
      out += `qdisc mq 0: ${showDev ? `dev ${dev.name} ` : ''}root \n`;
      if (o.stats) out += tc_stats(sum, drops, over, req, backlog, qlen) + '\n';
      dev._tx.forEach((t, i) => {
        out += print_qdisc(t.qdisc_sleeping, dev, { stats: o.stats, showDev, refcnt: 1, parentOverride: i + 1 });
      });
      continue;
    }
    for (const q of qdisc_walk(dev)) {
      if (q.invisible && q.parent !== TC_H_ROOT) continue;
      out += print_qdisc(q, dev, { stats: o.stats, showDev });
    }
  }
  return out;
}

/** tc [-s] class show dev DEV (htb classes) */
export function tc_class_show(stack: NetStack, o: { stats: boolean; dev: string }): string {
  const dev = stack.dev_get_by_name(o.dev);
  if (!dev) throw new Error(`Cannot find device "${o.dev}"`);
  let out = '';
  for (const q of qdisc_walk(dev)) {
    if (!(q instanceof HtbQdisc)) continue;
    for (const cl of [...q.classes.values()].sort((a, b) => a.classid - b.classid)) {
      let s = `class htb ${fmt_classid(cl.classid)} `;
      s += cl.parent ? `parent ${fmt_classid(cl.parent.classid)} ` : 'root ';
      if (cl.level === 0 && cl.leaf && cl.leaf.handle) s += `leaf ${(cl.leaf.handle >>> 16).toString(16)}: `;
      s += q.class_opts(cl) + '\n';
      if (o.stats) {
        const leaf = cl.level === 0 ? cl.leaf : null;
        s += tc_stats(cl.bstats, cl.drops, cl.overlimits, 0, leaf ? leaf.qstats.backlog : 0, leaf ? leaf.qlen : 0) + '\n';
        s += q.class_xstats(cl) + '\n\n';
      }
      out += s;
    }
  }
  return out;
}
