// tc's units, parsed and printed as iproute2 does (lib/utils_math.c get_rate64/get_size64,
// lib/utils.c get_time/get_time64, tc/tc_util.c parse_percent, lib/json_print*.c print_rate /
// sprint_size, lib/utils.c sprint_time/sprint_time64). Rates are bytes/s, sizes bytes, times ns.

/** C's strtod prefix: the numeric part of s and the rest, or null when there is no number */
function strtod(s: string): { v: number; rest: string } | null {
  const m = /^\s*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|0[xX][0-9a-fA-F]+|inf(?:inity)?|nan)/i.exec(s);
  if (!m) return null;
  return { v: Number(m[0].trim().toLowerCase().replace(/^([+-]?)inf(inity)?$/, '$1Infinity')), rest: s.slice(m[0].length) };
}

const RATE_SUFFIXES: [string, number][] = [
  ['bit', 1], ['Kibit', 1024], ['kbit', 1000], ['mibit', 1024 * 1024], ['mbit', 1e6],
  ['gibit', 1024 ** 3], ['gbit', 1e9], ['tibit', 1024 ** 4], ['tbit', 1e12],
  ['Bps', 8], ['KiBps', 8 * 1024], ['KBps', 8000], ['MiBps', 8 * 1024 * 1024], ['MBps', 8e6],
  ['GiBps', 8 * 1024 ** 3], ['GBps', 8e9], ['TiBps', 8 * 1024 ** 4], ['TBps', 8e12],
];

/** get_rate64: "10mbit" → bytes/s (a bare number is bit/s); null when malformed */
export function get_rate64(str: string): number | null {
  const p = strtod(str);
  if (!p || !(p.v >= 0) || !Number.isFinite(p.v)) return null;
  let bps = p.v;
  let rest = p.rest;
  for (const [name, scale] of RATE_SUFFIXES) {
    if (name.toLowerCase() === rest.toLowerCase()) {
      bps *= scale;
      rest = '';
      break;
    }
  }
  if (rest) return null;
  return Math.floor(bps / 8);
}

/** get_size64: "32kb" → bytes (k/kb = 1024, m/mb, g/gb, kbit/mbit/gbit = /8, b); null when malformed */
export function get_size64(str: string): number | null {
  const p = strtod(str);
  if (!p || !(p.v >= 0) || !Number.isFinite(p.v)) return null;
  let sz = p.v;
  const r = p.rest.toLowerCase();
  if (r) {
    if (r === 'kb' || r === 'k') sz *= 1024;
    else if (r === 'gb' || r === 'g') sz *= 1024 ** 3;
    else if (r === 'gbit') sz *= 1024 ** 3 / 8;
    else if (r === 'mb' || r === 'm') sz *= 1024 * 1024;
    else if (r === 'mbit') sz *= (1024 * 1024) / 8;
    else if (r === 'kbit') sz *= 1024 / 8;
    else if (r !== 'b') return null;
  }
  if (sz !== Math.floor(sz)) return null; // get_size64's overflow/fraction check
  return sz;
}

/** get_size_and_cell: "SIZE[/CELL]" (cell a power of two) */
export function get_size_and_cell(str: string): { size: number; cell_log: number } | null {
  const [a, b] = str.split('/', 2);
  const size = get_size64(a);
  if (size === null) return null;
  if (b === undefined) return { size, cell_log: -1 };
  const cell = Number(b);
  for (let i = 0; i < 32; i++) if (2 ** i === cell) return { size, cell_log: i };
  return null;
}

/** get_time64: "100ms" → ns (s/sec/secs, ms/msec/msecs, us/usec/usecs, ns/nsec/nsecs; bare = ns) */
export function get_time64(str: string): number | null {
  const p = strtod(str);
  if (!p || !(p.v >= 0) || !Number.isFinite(p.v)) return null;
  let t = p.v;
  const r = p.rest.toLowerCase();
  if (r) {
    if (r === 's' || r === 'sec' || r === 'secs') t *= 1e9;
    else if (r === 'ms' || r === 'msec' || r === 'msecs') t *= 1e6;
    else if (r === 'us' || r === 'usec' || r === 'usecs') t *= 1e3;
    else if (r !== 'ns' && r !== 'nsec' && r !== 'nsecs') return null;
  }
  return Math.floor(t);
}

/** get_time: like get_time64 but in µs (TIME_UNITS_PER_SEC 1e6) and a bare number is µs; returns µs */
export function get_time_us(str: string): number | null {
  const p = strtod(str);
  if (!p || !(p.v >= 0) || !Number.isFinite(p.v)) return null;
  let t = p.v;
  const r = p.rest.toLowerCase();
  if (r) {
    if (r === 's' || r === 'sec' || r === 'secs') t *= 1e6;
    else if (r === 'ms' || r === 'msec' || r === 'msecs') t *= 1e3;
    else if (r === 'us' || r === 'usec' || r === 'usecs') t *= 1;
    else return null;
  }
  return Math.floor(t) >>> 0;
}

/** parse_percent: "1%" or "1" → 0.01; null when malformed or outside [0, 100] */
export function parse_percent(str: string): number | null {
  const p = strtod(str);
  if (!p) return null;
  const v = p.v / 100;
  if (!(v >= 0 && v <= 1)) return null;
  if (p.rest && p.rest !== '%') return null;
  return v;
}

/** netem's set_percent: probability → u32 scaled (rint(p * UINT32_MAX)) */
export function percent_u32(p: number): number {
  return Math.round(p * 4294967295) >>> 0;
}

/** get_u32 / get_integer with C base rules (0 = auto: 0x hex, 0 octal) */
export function get_u32(str: string, base: number): number | null {
  let s = str.trim();
  let b = base;
  if (b === 0) {
    if (/^0[xX]/.test(s)) {
      b = 16;
      s = s.slice(2);
    } else if (/^0\d/.test(s)) b = 8;
    else b = 10;
  } else if (b === 16) s = s.replace(/^0[xX]/, '');
  const digits = b === 16 ? /^[0-9a-fA-F]+$/ : b === 8 ? /^[0-7]+$/ : /^\d+$/;
  if (!digits.test(s)) return null;
  const v = parseInt(s, b);
  return v <= 0xffffffff ? v : null;
}

/** C printf %g with `prec` significant digits */
export function fmt_g(x: number, prec = 6): string {
  if (x === 0) return '0';
  if (!Number.isFinite(x)) return String(x);
  const exp = Math.floor(Math.log10(Math.abs(x)));
  // exponent as C decides it: after rounding to prec digits
  let e = Number(x.toExponential(prec - 1).split('e')[1]);
  if (Number.isNaN(e)) e = exp;
  if (e < -4 || e >= prec) {
    const [m, ex] = x.toExponential(prec - 1).split('e');
    const mant = m.includes('.') ? m.replace(/0+$/, '').replace(/\.$/, '') : m;
    const n = Number(ex);
    return `${mant}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  const s = x.toFixed(Math.max(0, prec - 1 - e));
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

/** print_rate (use_iec off): bytes/s → "10Mbit" */
export function print_rate(rateBytes: number): string {
  let rate = rateBytes * 8;
  const units = ['', 'K', 'M', 'G', 'T'];
  const kilo = 1000;
  let i = 0;
  for (; i < units.length - 1; i++) {
    if (rate < kilo) break;
    if (rate % kilo !== 0 && rate < 1000 * kilo) break;
    rate /= kilo;
  }
  return `${Math.round(rate)}${units[i]}bit`;
}

/** sprint_size: bytes → "32Mb", "4Kb", "1514b" */
export function print_size(sz: number): string {
  const kilo = 1024;
  const mega = kilo * kilo;
  const giga = mega * kilo;
  const rint = (v: number): number => {
    const r = Math.round(v);
    return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r; // rint: ties to even
  };
  if (sz >= giga && Math.abs(giga * rint(sz / giga) - sz) < 1024) return `${fmt_g(rint(sz / giga))}Gb`;
  if (sz >= mega && Math.abs(mega * rint(sz / mega) - sz) < 1024) return `${fmt_g(rint(sz / mega))}Mb`;
  if (sz >= kilo && Math.abs(kilo * rint(sz / kilo) - sz) < 16) return `${fmt_g(rint(sz / kilo))}Kb`;
  return `${Math.floor(sz)}b`;
}

/** sprint_time: µs → "5ms", "100ms", "1s", "500us" */
export function print_time_us(us: number): string {
  if (us >= 1e6) return `${fmt_g(us / 1e6, 3)}s`;
  if (us >= 1e3) return `${fmt_g(us / 1e3, 3)}ms`;
  return `${Math.floor(us)}us`;
}

/** sprint_time64: ns → "100ms", "1.5s", "10us", "500ns" */
export function print_time64(ns: number): string {
  if (ns >= 1e9) return `${fmt_g(ns / 1e9, 3)}s`;
  if (ns >= 1e6) return `${fmt_g(ns / 1e6, 3)}ms`;
  if (ns >= 1e3) return `${fmt_g(ns / 1e3, 3)}us`;
  return `${Math.floor(ns)}ns`;
}

/** netem's percent print: u32 scaled → "1%" (%g of 100·p/UINT32_MAX) */
export function print_percent_u32(p: number): string {
  return `${fmt_g((100 * p) / 4294967295)}%`;
}
