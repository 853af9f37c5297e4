// tc handle syntax (tc/tc_util.c get_qdisc_handle, get_tc_classid): hex "major:" and "major:minor".
import { TC_H_ROOT } from '../../core/sch_generic';

/** "1:" or "1" → 0x00010000; "none" → 0; null when invalid */
export function get_qdisc_handle(str: string): number | null {
  if (str === 'none') return 0;
  const m = /^([0-9a-fA-F]+)(:?)$/.exec(str);
  if (!m) return null;
  const maj = parseInt(m[1], 16);
  if (maj >= 1 << 16) return null;
  return (maj << 16) >>> 0;
}

/** "root", "none", "1:10", ":10", "1:" → class id; null when invalid */
export function get_tc_classid(str: string): number | null {
  if (str === 'root') return TC_H_ROOT;
  if (str === 'none') return 0;
  const m = /^([0-9a-fA-F]*)(?::([0-9a-fA-F]*))?$/.exec(str);
  if (!m) return null;
  if (m[2] === undefined) {
    if (!m[1]) return null;
    const v = parseInt(m[1], 16);
    return v <= 0xffffffff ? v >>> 0 : null;
  }
  const maj = m[1] ? parseInt(m[1], 16) : 0;
  const min = m[2] ? parseInt(m[2], 16) : 0;
  if (maj >= 1 << 16 || min >= 1 << 16) return null;
  return ((maj << 16) | min) >>> 0;
}
