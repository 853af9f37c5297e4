// What tc needs from a classful qdisc (Qdisc_class_ops, the part we model): attach a child qdisc to
// a class (graft), find a class's leaf, and list children for `tc qdisc show`.
import type { Qdisc } from '../core/sch_generic';

export interface ClassfulQdisc {
  /** cops->graft: put `child` on class `classid` (major:minor); returns the old leaf; throws if no such class */
  graft_class(classid: number, child: Qdisc): Qdisc;
  /** the qdiscs hanging under this one (for the dump) */
  child_qdiscs(): Qdisc[];
}

export function is_classful(q: Qdisc): q is Qdisc & ClassfulQdisc {
  return typeof (q as Partial<ClassfulQdisc>).graft_class === 'function';
}
