// Per-qdisc option parsers with iproute2's syntax and messages (tc/q_fifo.c, q_fq_codel.c, q_tbf.c,
// q_netem.c, q_prio.c, q_htb.c). Each turns an argument list into the options the kernel side
// (../sch_*.ts) takes; errors throw TcError with the text tc would print.
import type { FqCodelOptions } from '../sch_fq_codel';
import type { TbfOptions } from '../sch_tbf';
import type { HtbClassOptions } from '../sch_htb';
import { netem_defaults, type NetemOptions } from '../sch_netem';
import { netem_dist_table } from '../netem_dist';
import { TC_LINKLAYER_ATM, TC_LINKLAYER_ETHERNET } from '../psched';
import { get_rate64, get_size64, get_size_and_cell, get_time64, get_time_us, get_u32, parse_percent, percent_u32 } from './units';

export class TcError extends Error {}

/** matches(arg, pattern): arg is a non-empty prefix of pattern (lib/utils.c) */
export function matches(arg: string, pattern: string): boolean {
  return arg.length > 0 && pattern.startsWith(arg);
}

/** argument cursor with tc's NEXT_ARG semantics */
export class Args {
  i = 0;
  constructor(readonly a: readonly string[]) {}
  get more(): boolean {
    return this.i < this.a.length;
  }
  get cur(): string {
    return this.a[this.i];
  }
  /** NEXT_ARG: advance, or "Command line is not complete" */
  next(): string {
    this.i++;
    if (this.i >= this.a.length) throw new TcError('Command line is not complete. Try option "help"');
    return this.a[this.i];
  }
  peek(): string | undefined {
    return this.a[this.i + 1];
  }
  nextIsNumber(): boolean {
    const p = this.peek();
    return p !== undefined && /^[0-9]/.test(p);
  }
  nextIsSignedNumber(): boolean {
    const p = this.peek();
    return p !== undefined && /^[0-9-]/.test(p);
  }
}

function need<T>(v: T | null, msg: string): T {
  if (v === null) throw new TcError(msg);
  return v;
}

export interface ParsedFifo {
  kind: 'pfifo' | 'bfifo';
  limit?: number;
}

/** q_fifo.c fifo_parse_opt */
export function parse_fifo(kind: 'pfifo' | 'bfifo', argv: readonly string[]): ParsedFifo {
  const a = new Args(argv);
  const out: ParsedFifo = { kind };
  for (; a.more; a.i++) {
    if (a.cur === 'limit') {
      const v = a.next();
      out.limit = need(kind === 'bfifo' ? get_size64(v) : get_u32(v, 0), `${kind}: illegal value for "limit": "${v}"`);
    } else throw new TcError(`${kind}: unknown parameter "${a.cur}"`);
  }
  return out;
}

/** q_fq_codel.c fq_codel_parse_opt */
export function parse_fq_codel(argv: readonly string[]): FqCodelOptions {
  const a = new Args(argv);
  const o: FqCodelOptions = {};
  const bad = (what: string, v: string): TcError => new TcError(`Illegal "${what}"` + (v ? `` : ''));
  for (; a.more; a.i++) {
    const w = a.cur;
    if (w === 'limit') {
      const v = a.next();
      o.limit = need(get_u32(v, 0), `Illegal "limit"`);
    } else if (w === 'flows') {
      const v = a.next();
      o.flows = need(get_u32(v, 0), `Illegal "flows"`);
    } else if (w === 'quantum') {
      const v = a.next();
      o.quantum = need(get_u32(v, 0), `Illegal "quantum"`);
    } else if (w === 'drop_batch') {
      const v = a.next();
      o.drop_batch = need(get_u32(v, 0), `Illegal "drop_batch"`);
    } else if (w === 'target') {
      const v = a.next();
      o.target = need(get_time_us(v), `Illegal "target"`) * 1000;
    } else if (w === 'ce_threshold') {
      const v = a.next();
      o.ce_threshold = need(get_time_us(v), `Illegal "ce_threshold"`) * 1000;
    } else if (w === 'memory_limit') {
      const v = a.next();
      o.memory_limit = need(get_size64(v), `Illegal "memory_limit"`);
    } else if (w === 'interval') {
      const v = a.next();
      o.interval = need(get_time_us(v), `Illegal "interval"`) * 1000;
    } else if (w === 'ecn') o.ecn = true;
    else if (w === 'noecn') o.ecn = false;
    else if (w === 'help') throw bad('help', '');
    else throw new TcError(`What is "${w}"?`);
  }
  return o;
}

export interface ParsedTbf extends TbfOptions {
  latency_us?: number;
}

/** q_tbf.c tbf_parse_opt: rate, burst and one of limit/latency; the limit tc computes */
export function parse_tbf(argv: readonly string[]): TbfOptions {
  const a = new Args(argv);
  let limit = 0;
  let latency = 0;
  let buffer = 0;
  let mtu = 0;
  let mpu = 0;
  let rate = 0;
  let prate = 0;
  let overhead = 0;
  let linklayer = TC_LINKLAYER_ETHERNET;
  const ill = (p: string, v: string): TcError => new TcError(`tbf: illegal value for "${p}": "${v}"`);
  for (; a.more; a.i++) {
    const w = a.cur;
    if (matches(w, 'limit')) {
      const v = a.next();
      if (limit) throw new TcError('tbf: duplicate "limit" specification');
      if (latency) throw new TcError('tbf: specifying both "latency" and "limit" is not allowed');
      limit = need(get_size64(v), `tbf: illegal value for "limit": "${v}"`);
    } else if (matches(w, 'latency')) {
      const v = a.next();
      if (latency) throw new TcError('tbf: duplicate "latency" specification');
      if (limit) throw new TcError('tbf: specifying both "limit" and "/latency" is not allowed');
      latency = need(get_time_us(v), `tbf: illegal value for "latency": "${v}"`);
    } else if (matches(w, 'burst') || w === 'buffer' || w === 'maxburst') {
      const v = a.next();
      if (buffer) throw new TcError('tbf: duplicate "buffer/burst/maxburst" specification');
      const sc = get_size_and_cell(v);
      if (!sc) throw ill(w, v);
      buffer = sc.size;
    } else if (w === 'mtu' || w === 'minburst') {
      const v = a.next();
      if (mtu) throw new TcError('tbf: duplicate "mtu/minburst" specification');
      const sc = get_size_and_cell(v);
      if (!sc) throw ill(w, v);
      mtu = sc.size;
    } else if (w === 'mpu') {
      const v = a.next();
      if (mpu) throw new TcError('tbf: duplicate "mpu" specification');
      mpu = need(get_size64(v), `tbf: illegal value for "mpu": "${v}"`);
    } else if (w === 'rate') {
      const v = a.next();
      if (rate) throw new TcError('tbf: duplicate "rate" specification');
      if (v.includes('%')) throw new TcError('tbf: rates in % of the device speed need a link speed, which the model does not have');
      rate = need(get_rate64(v), `tbf: illegal value for "rate": "${v}"`);
    } else if (matches(w, 'peakrate')) {
      const v = a.next();
      if (prate) throw new TcError('tbf: duplicate "peakrate" specification');
      prate = need(get_rate64(v), `tbf: illegal value for "peakrate": "${v}"`);
    } else if (matches(w, 'overhead')) {
      const v = a.next();
      if (overhead) throw new TcError('tbf: duplicate "overhead" specification');
      const n = get_u32(v, 10);
      if (n === null || n > 0xffff) throw ill('overhead', v);
      overhead = n;
    } else if (matches(w, 'linklayer')) {
      const v = a.next();
      if (v === 'ethernet') linklayer = TC_LINKLAYER_ETHERNET;
      else if (v === 'atm' || v === 'adsl') linklayer = TC_LINKLAYER_ATM;
      else throw ill('linklayer', v);
    } else throw new TcError(`tbf: unknown parameter "${w}"`);
  }
  const errs: string[] = [];
  if (rate === 0) errs.push('tbf: the "rate" parameter is mandatory.');
  if (!buffer) errs.push('tbf: the "burst" parameter is mandatory.');
  if (prate && !mtu) errs.push('tbf: when "peakrate" is specified, "mtu" must also be specified.');
  if (limit === 0 && latency === 0) errs.push('tbf: either "limit" or "latency" is required.');
  if (errs.length) throw new TcError(errs.join('\n'));
  if (limit === 0) {
    let lim = (rate * latency) / 1e6 + buffer;
    if (prate) {
      const lim2 = (prate * latency) / 1e6 + mtu;
      if (lim2 < lim) lim = lim2;
    }
    limit = Math.floor(lim) >>> 0;
  }
  return { rate, burst: buffer, limit, peakrate: prate || undefined, mtu: mtu || undefined, mpu, overhead, linklayer };
}

/** q_netem.c netem_parse_opt: the whole configuration (netem replaces everything on change) */
export function parse_netem(argv: readonly string[]): NetemOptions {
  const a = new Args(argv);
  const o = netem_defaults();
  let lossSet = false;
  let reorderSet = false;
  let distName: string | null = null;
  const pct = (v: string, what: string): number => {
    const p = parse_percent(v);
    if (p === null) throw new TcError(`Illegal "${what}"`);
    return percent_u32(p);
  };
  const time64 = (v: string, what: string): number => need(get_time64(v), `Illegal "${what}"`);
  for (; a.more; a.i++) {
    const w = a.cur;
    if (matches(w, 'limit')) {
      const v = a.next();
      o.limit = need(get_size64(v), 'Illegal "limit"');
    } else if (matches(w, 'latency') || matches(w, 'delay')) {
      o.latency = time64(a.next(), 'latency');
      if (a.nextIsNumber()) {
        o.jitter = time64(a.next(), 'latency');
        if (a.nextIsNumber()) o.delay_corr = pct(a.next(), 'latency');
      }
    } else if (matches(w, 'loss') || matches(w, 'drop')) {
      if (lossSet) throw new TcError('duplicate loss argument');
      lossSet = true;
      let v = a.next();
      if (/^[0-9]/.test(v) || v === 'random') {
        if (v === 'random') v = a.next();
        o.loss = pct(v, 'loss percent');
        if (a.nextIsNumber()) o.loss_corr = pct(a.next(), 'loss correlation');
      } else if (v === 'state') {
        const p13 = parse_percent(a.next());
        if (p13 === null) throw new TcError('Illegal "loss state p13"');
        o.gi = { p13: percent_u32(p13), p31: percent_u32(1 - p13), p32: 0, p23: percent_u32(1), p14: 0 };
        if (a.nextIsNumber()) {
          o.gi.p31 = pct(a.next(), 'loss state p31');
          if (a.nextIsNumber()) {
            o.gi.p32 = pct(a.next(), 'loss state p32');
            if (a.nextIsNumber()) {
              o.gi.p23 = pct(a.next(), 'loss state p23');
              if (a.nextIsNumber()) o.gi.p14 = pct(a.next(), 'loss state p14');
            }
          }
        }
      } else if (v === 'gemodel') {
        const p = parse_percent(a.next());
        if (p === null) throw new TcError('Illegal "loss gemodel p"');
        o.ge = { p: percent_u32(p), r: percent_u32(1 - p), h: 0, k1: 0 };
        if (a.nextIsNumber()) {
          o.ge.r = pct(a.next(), 'loss gemodel r');
          if (a.nextIsNumber()) {
            // the option is "1-h", the kernel wants h
            o.ge.h = (0xffffffff - pct(a.next(), 'loss gemodel h')) >>> 0;
            if (a.nextIsNumber()) o.ge.k1 = pct(a.next(), 'loss gemodel k');
          }
        }
      } else throw new TcError(`Unknown loss parameter: ${v}`);
    } else if (matches(w, 'seed')) {
      const v = a.next();
      if (!/^\d+$/.test(v) || BigInt(v) > 0xffffffffffffffffn) throw new TcError('Illegal "seed"');
      o.seed = BigInt(v);
    } else if (matches(w, 'ecn')) o.ecn = true;
    else if (matches(w, 'reorder')) {
      reorderSet = true;
      o.reorder = pct(a.next(), 'reorder');
      if (a.nextIsNumber()) o.reorder_corr = pct(a.next(), 'reorder');
    } else if (matches(w, 'corrupt')) {
      o.corrupt = pct(a.next(), 'corrupt');
      if (a.nextIsNumber()) o.corrupt_corr = pct(a.next(), 'corrupt');
    } else if (matches(w, 'gap')) {
      const v = a.next();
      o.gap = need(get_u32(v, 0), 'Illegal "gap"');
    } else if (matches(w, 'duplicate')) {
      o.duplicate = pct(a.next(), 'duplicate');
      if (a.nextIsNumber()) o.dup_corr = pct(a.next(), 'duplicate');
    } else if (matches(w, 'distribution')) {
      distName = a.next();
      o.dist = netem_dist_table(distName);
      if (!o.dist) throw new TcError(`No distribution data for ${distName} (the model generates normal, pareto and paretonormal)`);
    } else if (matches(w, 'rate')) {
      const v = a.next();
      if (v.includes('%')) throw new TcError('netem: rates in % of the device speed need a link speed, which the model does not have');
      o.rate = need(get_rate64(v), 'Illegal "rate"');
      if (a.nextIsSignedNumber()) o.packet_overhead = need(parse_int(a.next()), 'Illegal "rate packet overhead"');
      if (a.nextIsNumber()) o.cell_size = need(get_u32(a.next(), 0), 'Illegal "rate cell size"');
      if (a.nextIsSignedNumber()) o.cell_overhead = need(parse_int(a.next()), 'Illegal "rate cell overhead"');
    } else if (matches(w, 'slot')) {
      const s = { min_delay: 0, max_delay: 0, max_packets: 0, max_bytes: 0, dist_delay: 0, dist_jitter: 0, dist: null as Int16Array | null };
      if (a.nextIsNumber()) {
        s.min_delay = time64(a.next(), 'slot min delay');
        if (a.nextIsNumber()) {
          s.max_delay = time64(a.next(), 'slot max delay');
          if (s.max_delay < s.min_delay) throw new TcError('Illegal "slot max delay"');
        } else s.max_delay = s.min_delay;
      } else {
        const v = a.next();
        if (v !== 'distribution') throw new TcError(`Unknown slot parameter: ${v}`);
        const name = a.next();
        s.dist = netem_dist_table(name);
        if (!s.dist) throw new TcError(`No distribution data for ${name}`);
        s.dist_delay = time64(a.next(), 'slot delay');
        s.dist_jitter = time64(a.next(), 'slot jitter');
        if (s.dist_jitter <= 0) throw new TcError('Non-positive jitter');
      }
      if (a.peek() !== undefined && matches(a.peek()!, 'packets')) {
        a.next();
        s.max_packets = need(parse_int(a.next()), 'Illegal "slot packets"');
      }
      if (a.peek() !== undefined && matches(a.peek()!, 'bytes')) {
        a.next();
        s.max_bytes = need(get_size64(a.next()), 'Illegal "slot bytes"');
      }
      o.slot = s;
    } else throw new TcError(`What is "${w}"?`);
  }
  if (reorderSet && o.reorder) {
    if (o.latency === 0) throw new TcError('reordering not possible without specifying some delay');
    if (o.gap === 0) o.gap = 1;
  } else if (o.gap > 0) throw new TcError('gap specified without reorder probability');
  if (o.ecn && o.loss <= 0 && !o.gi && !o.ge) throw new TcError('ecn requested without loss model');
  if (distName && (o.latency === 0 || o.jitter === 0)) throw new TcError('distribution specified but no latency and jitter values');
  return o;
}

function parse_int(v: string): number | null {
  return /^-?\d+$/.test(v) ? Number(v) : null;
}

/** q_prio.c prio_parse_opt: bands N, priomap P0..P15 */
export function parse_prio(argv: readonly string[]): { bands: number; priomap: number[] } {
  const a = new Args(argv);
  let bands = 3;
  const priomap = [1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1];
  let idx = -1;
  for (; a.more; a.i++) {
    const w = a.cur;
    if (w === 'bands') {
      if (idx >= 0) throw new TcError('Error: "bands" after "priomap"');
      bands = need(get_u32(a.next(), 10), 'Illegal "bands"');
    } else if (w === 'priomap') {
      if (idx >= 0) throw new TcError('Error: duplicate "priomap"');
      idx = 0;
    } else if (w === 'multiqueue') throw new TcError('prio: multiqueue is not modelled');
    else if (idx >= 0) {
      const b = get_u32(w, 10);
      if (b === null) throw new TcError(`Illegal "priomap" element`);
      if (b >= bands) throw new TcError(`Illegal "priomap" element: ${b} (bands ${bands})`);
      if (idx > 15) throw new TcError('Error: priomap has too many elements');
      priomap[idx++] = b;
    } else throw new TcError(`What is "${w}"?`);
  }
  return { bands, priomap };
}

/** q_htb.c htb_parse_opt */
export function parse_htb(argv: readonly string[]): { r2q?: number; defcls?: number; direct_qlen?: number } {
  const a = new Args(argv);
  const o: { r2q?: number; defcls?: number; direct_qlen?: number } = {};
  for (; a.more; a.i++) {
    const w = a.cur;
    if (matches(w, 'r2q')) o.r2q = need(get_u32(a.next(), 10), 'Illegal "r2q"');
    else if (matches(w, 'default')) o.defcls = need(get_u32(a.next(), 16), 'Illegal "default"');
    else if (matches(w, 'debug')) a.next();
    else if (matches(w, 'direct_qlen')) o.direct_qlen = need(get_u32(a.next(), 10), 'Illegal "direct_qlen"');
    else if (matches(w, 'offload')) throw new TcError('htb: offload is not modelled');
    else throw new TcError(`What is "${w}"?`);
  }
  return o;
}

/** q_htb.c htb_parse_class_opt */
export function parse_htb_class(argv: readonly string[]): HtbClassOptions {
  const a = new Args(argv);
  const o: HtbClassOptions = { rate: 0 };
  for (; a.more; a.i++) {
    const w = a.cur;
    if (matches(w, 'prio')) o.prio = need(get_u32(a.next(), 10), 'Illegal "prio"');
    else if (matches(w, 'mtu')) o.mtu = need(get_u32(a.next(), 10), 'Illegal "mtu"');
    else if (matches(w, 'mpu')) o.mpu = need(get_u32(a.next(), 10), 'Illegal "mpu"');
    else if (matches(w, 'overhead')) o.overhead = need(get_u32(a.next(), 10), 'Illegal "overhead"');
    else if (matches(w, 'quantum')) o.quantum = need(get_u32(a.next(), 10), 'Illegal "quantum"');
    else if (matches(w, 'burst') || w === 'buffer' || w === 'maxburst') {
      const sc = get_size_and_cell(a.next());
      if (!sc) throw new TcError('Illegal "buffer"');
      o.burst = sc.size;
    } else if (matches(w, 'cburst') || w === 'cbuffer' || w === 'cmaxburst') {
      const sc = get_size_and_cell(a.next());
      if (!sc) throw new TcError('Illegal "cbuffer"');
      o.cburst = sc.size;
    } else if (w === 'ceil') {
      if (o.ceil) throw new TcError('Double "ceil" spec');
      o.ceil = need(get_rate64(a.next()), 'Illegal "ceil"');
    } else if (w === 'rate') {
      if (o.rate) throw new TcError('Double "rate" spec');
      o.rate = need(get_rate64(a.next()), 'Illegal "rate"');
    } else throw new TcError(`What is "${w}"?`);
  }
  if (!o.rate) throw new TcError('"rate" is required.');
  return o;
}
