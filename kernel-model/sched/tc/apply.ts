// Applying a tc command to a NetStack's device (net/sched/sch_api.c tc_modify_qdisc / tc_get_qdisc /
// qdisc_graft, tc_ctl_tclass): create, change, replace and delete qdiscs at the root or under a
// class, and htb classes. The root is swapped on every tx queue at once; the old qdisc is
// deactivated and destroyed (timers cancelled, queued skbs freed, not counted as drops).
import type { NetStack } from '../../core/stack';
import type { NetDevice } from '../../core/netdevice';
import { Qdisc, TC_H_MAJ, TC_H_ROOT, __QDISC_STATE_DEACTIVATED } from '../../core/sch_generic';
import { PfifoQdisc } from '../pfifo';
import { BfifoQdisc } from '../sch_bfifo';
import { PfifoFastQdisc } from '../sch_pfifo_fast';
import { FqCodelQdisc } from '../sch_fq_codel';
import { TbfQdisc } from '../sch_tbf';
import { NetemQdisc } from '../sch_netem';
import { PrioQdisc } from '../sch_prio';
import { HtbQdisc, fmt_classid } from '../sch_htb';
import { is_classful, type ClassfulQdisc } from '../classful';
import { ifb_of, NoqueueQdisc } from '../ifb';
import { TcError, parse_fifo, parse_fq_codel, parse_htb, parse_htb_class, parse_netem, parse_prio, parse_tbf } from './kinds';

export const QDISC_KINDS = ['pfifo', 'bfifo', 'pfifo_fast', 'fq_codel', 'tbf', 'netem', 'prio', 'htb'] as const;

export interface QdiscCommand {
  verb: 'add' | 'replace' | 'change' | 'del';
  dev: string;
  /** TC_H_ROOT or a class id; 0 when not given */
  parent: number;
  /** major << 16, 0 when not given */
  handle: number;
  kind: string | null;
  args: string[];
}

export interface ClassCommand {
  verb: 'add' | 'replace' | 'change' | 'del';
  dev: string;
  parent: number;
  classid: number;
  kind: string | null;
  args: string[];
}

/** the per-stack autohandle counter (qdisc_alloc_handle: 8001:, 8002:, …) */
const autohandle = new WeakMap<NetStack, number>();

function alloc_handle(stack: NetStack, dev: NetDevice): number {
  let h = autohandle.get(stack) ?? 0x8000;
  for (let i = 0; i < 0x8000; i++) {
    h = h + 1 > 0xffff ? 0x8001 : h + 1;
    if (!qdisc_lookup(dev, (h << 16) >>> 0)) {
      autohandle.set(stack, h);
      return (h << 16) >>> 0;
    }
  }
  throw new TcError('Error: no free qdisc handle.');
}

/** every qdisc of the device's tree, preorder (root first); invisible defaults included */
export function qdisc_walk(dev: NetDevice): Qdisc[] {
  const out: Qdisc[] = [];
  const seen = new Set<Qdisc>();
  const visit = (q: Qdisc): void => {
    if (seen.has(q) || q === dev.stack.noop_qdisc) return;
    seen.add(q);
    out.push(q);
    if (is_classful(q)) for (const c of q.child_qdiscs()) visit(c);
  };
  for (const txq of dev._tx) visit(txq.qdisc_sleeping);
  return out;
}

/** qdisc_lookup: by handle among the device's visible qdiscs (and its root) */
export function qdisc_lookup(dev: NetDevice, handle: number): Qdisc | null {
  for (const q of qdisc_walk(dev)) if (q.handle === handle && (!q.invisible || q.parent === TC_H_ROOT)) return q;
  return null;
}

function set_dev_queue(q: Qdisc, txq: Qdisc['dev_queue']): void {
  q.dev_queue = txq;
  if (is_classful(q)) for (const c of q.child_qdiscs()) set_dev_queue(c, txq);
}

/** the default qdisc the stack gives a txq (NetStack's default_qdisc option; pfifo otherwise) */
function default_root(stack: NetStack, dev: NetDevice): Qdisc {
  // an ifb's default is noqueue (no ingress redirect), see ifb.ts
  if (ifb_of(dev)) return new NoqueueQdisc(stack);
  const make = (stack as unknown as { makeQdisc?: (s: NetStack, limit: number) => Qdisc }).makeQdisc;
  return make ? make(stack, dev.tx_queue_len) : new PfifoQdisc(stack, dev.tx_queue_len);
}

/**
 * dev_graft_qdisc on every txq + qdisc_put(old): `q` (or the default when null) becomes the root.
 * While the carrier is off the txqs keep the noop qdisc and the new root waits deactivated.
 */
export function graft_root(dev: NetDevice, q: Qdisc | null): void {
  const stack = dev.stack;
  const olds = new Set<Qdisc>();
  if (!q) {
    // deleting the root: dev_activate attaches the default qdisc (one per txq, as attach_default_qdiscs)
    for (const txq of dev._tx) {
      olds.add(txq.qdisc_sleeping);
      const d = default_root(stack, dev);
      install(dev, txq, d);
    }
  } else {
    q.parent = TC_H_ROOT;
    q.parent_qdisc = null;
    for (const txq of dev._tx) {
      olds.add(txq.qdisc_sleeping);
      install(dev, txq, q);
    }
    set_dev_queue(q, dev._tx[0]);
  }
  for (const old of olds) {
    if (old === q) continue;
    old.state |= __QDISC_STATE_DEACTIVATED;
    old.destroy();
  }
}

function install(dev: NetDevice, txq: NetDevice['_tx'][number], q: Qdisc): void {
  txq.qdisc_sleeping = q;
  if (dev.netif_carrier_ok()) {
    txq.qdisc = q;
    q.state &= ~__QDISC_STATE_DEACTIVATED;
  } else {
    txq.qdisc = dev.stack.noop_qdisc;
    q.state |= __QDISC_STATE_DEACTIVATED;
  }
  if (!q.dev_queue) q.dev_queue = txq;
}

/** qdisc_create: a new qdisc of `kind` from tc arguments */
export function qdisc_create(stack: NetStack, dev: NetDevice, kind: string, handle: number, args: string[]): Qdisc {
  let q: Qdisc;
  switch (kind) {
    case 'pfifo':
    case 'bfifo': {
      const o = parse_fifo(kind, args);
      q = kind === 'pfifo' ? new PfifoQdisc(stack, o.limit ?? dev.tx_queue_len) : new BfifoQdisc(stack, o.limit ?? dev.tx_queue_len * dev.mtu);
      break;
    }
    case 'pfifo_fast':
      if (args.length) throw new TcError(`Unknown qdisc "pfifo_fast", hence option "${args[0]}" is unparsable`);
      q = new PfifoFastQdisc(stack, dev.tx_queue_len);
      break;
    case 'fq_codel':
      q = new FqCodelQdisc(stack, dev, parse_fq_codel(args));
      break;
    case 'tbf':
      q = new TbfQdisc(stack, dev, parse_tbf(args));
      break;
    case 'netem':
      q = new NetemQdisc(stack, dev, parse_netem(args));
      break;
    case 'prio': {
      const o = parse_prio(args);
      q = new PrioQdisc(stack, dev, handle, o.bands, o.priomap);
      break;
    }
    case 'htb':
      q = new HtbQdisc(stack, dev, handle, parse_htb(args));
      break;
    default:
      throw new TcError(`Error: Specified qdisc kind is unknown.`);
  }
  q.handle = handle;
  return q;
}

/** qdisc ops->change from tc arguments (kind must match) */
function qdisc_change(q: Qdisc, dev: NetDevice, kind: string, args: string[]): void {
  if (q instanceof FqCodelQdisc) q.change(parse_fq_codel(args));
  else if (q instanceof TbfQdisc) q.change(parse_tbf(args));
  else if (q instanceof NetemQdisc) q.change(parse_netem(args));
  else if (q instanceof PrioQdisc) {
    const o = parse_prio(args);
    q.change(o.bands, o.priomap);
  } else if (q instanceof HtbQdisc) q.change(parse_htb(args));
  else if (q instanceof PfifoQdisc) q.change(parse_fifo('pfifo', args).limit ?? dev.tx_queue_len);
  else throw new TcError(`Error: Change operation not supported by specified qdisc.`);
  void kind;
}

function find_dev(stack: NetStack, name: string): NetDevice {
  const dev = stack.dev_get_by_name(name);
  if (!dev) throw new TcError(`Cannot find device "${name}"`);
  return dev;
}

/** where a command points: the root, or a class of a classful qdisc */
function locate(dev: NetDevice, parent: number): { at: Qdisc | null; owner: (Qdisc & ClassfulQdisc) | null } {
  if (parent === TC_H_ROOT) return { at: dev._tx[0].qdisc_sleeping, owner: null };
  const owner = qdisc_lookup(dev, TC_H_MAJ(parent));
  if (!owner) throw new TcError('Error: Failed to find qdisc with specified classid.');
  if (!is_classful(owner)) throw new TcError('Error: Specified qdisc not classful.');
  // a class without a leaf found here is checked by graft_class
  const leaf = owner.child_qdiscs().find((c) => c.parent === parent) ?? null;
  return { at: leaf, owner };
}

/** tc qdisc add|replace|change|del; on an ifb the ingress redirect follows its root (ifb.ts) */
export function tc_modify_qdisc(stack: NetStack, c: QdiscCommand): void {
  try {
    tc_modify_qdisc_dev(stack, c);
  } finally {
    const dev = stack.dev_get_by_name(c.dev);
    if (dev) ifb_of(dev)?.refresh();
  }
}

function tc_modify_qdisc_dev(stack: NetStack, c: QdiscCommand): void {
  const dev = find_dev(stack, c.dev);
  if (!c.parent) throw new TcError('Error: Parent not specified (use "root" or "parent X:Y").');
  if (c.kind && !QDISC_KINDS.includes(c.kind as (typeof QDISC_KINDS)[number])) throw new TcError(`Error: Specified qdisc kind is unknown.`);
  const { at, owner } = locate(dev, c.parent);
  // a default qdisc (root handle 0:, or a class's own pfifo) is replaced by add and cannot be deleted
  const isDefault = !at || at.handle === 0 || at.invisible;

  if (c.verb === 'del') {
    if (isDefault) throw new TcError('Error: Cannot delete qdisc with handle of zero.');
    if (c.handle && at.handle !== c.handle) throw new TcError('Error: Specified qdisc not found.');
    if (c.kind && at.id !== c.kind) throw new TcError('Error: Invalid qdisc name.');
    if (owner) {
      const dflt = new PfifoQdisc(stack, dev.tx_queue_len);
      const old = owner.graft_class(c.parent, dflt);
      dflt.invisible = true;
      old.destroy();
    } else graft_root(dev, null);
    return;
  }
  if (!c.kind) throw new TcError('Error: qdisc kind is required.');
  if (c.verb === 'change') {
    if (isDefault) throw new TcError('Error: Specified qdisc not found.');
    if (c.handle && at.handle !== c.handle) throw new TcError('Error: Specified qdisc not found.');
    if (at.id !== c.kind) throw new TcError('Error: Invalid qdisc name.');
    qdisc_change(at, dev, c.kind, c.args);
    return;
  }
  if (!isDefault) {
    if (c.verb === 'add') throw new TcError('Error: Exclusivity flag on, cannot modify.');
    if ((!c.handle || at.handle === c.handle) && at.id === c.kind) {
      qdisc_change(at, dev, c.kind, c.args);
      return;
    }
  }
  if (c.handle && qdisc_lookup(dev, c.handle) && qdisc_lookup(dev, c.handle) !== at) {
    throw new TcError('Error: Exclusivity flag on, cannot modify.');
  }
  const handle = c.handle || alloc_handle(stack, dev);
  const q = qdisc_create(stack, dev, c.kind, handle, c.args);
  if (owner) {
    q.dev_queue = owner.dev_queue;
    const old = owner.graft_class(c.parent, q);
    set_dev_queue(q, owner.dev_queue);
    old.destroy();
  } else graft_root(dev, q);
}

/** tc class add|replace|change|del (htb) */
export function tc_modify_class(stack: NetStack, c: ClassCommand): void {
  const dev = find_dev(stack, c.dev);
  if (!c.classid && c.verb !== 'del') throw new TcError('Error: classid is required.');
  const major = TC_H_MAJ(c.classid || c.parent);
  const q = qdisc_lookup(dev, major);
  if (!q) throw new TcError('Error: Specified qdisc not found.');
  if (!(q instanceof HtbQdisc)) throw new TcError(`Error: Qdisc ${q.id} does not support classes that tc can change here (htb only).`);
  if (c.kind && c.kind !== 'htb') throw new TcError('Error: Specified class kind does not match the qdisc.');
  if (c.verb === 'del') {
    q.delete_class(c.classid);
    return;
  }
  if (!c.kind) throw new TcError('Error: class kind is required.');
  const exists = q.classes.has(c.classid);
  if (c.verb === 'add' && exists) throw new TcError('Error: Exclusivity flag on, cannot modify.');
  if (c.verb === 'change' && !exists) throw new TcError(`Error: class ${fmt_classid(c.classid)} not found.`);
  q.change_class(c.classid, c.parent === TC_H_ROOT ? q.handle : c.parent, parse_htb_class(c.args));
}
