// netem delay distribution tables, generated with iproute2's own algorithms (netem/normal.c,
// pareto.c, paretonormal.c) rather than read from its .dist files: 4096 s16 entries scaled by
// NETEM_DIST_SCALE (8192), the inverse CDF sampled at every 4th of 16384 points. Generated once.

export const NETEM_DIST_SCALE = 8192;
const TABLESIZE = 16384;
const SHRT_MIN = -32768;
const SHRT_MAX = 32767;

/** C rint: round half to even */
function rint(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** erf to double precision: Taylor series near 0, Lentz continued fraction for erfc beyond */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    // erf(x) = 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
    let term = ax;
    let sum = ax;
    const x2 = ax * ax;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    const r = (2 / Math.sqrt(Math.PI)) * sum;
    return x < 0 ? -r : r;
  }
  // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))) (modified Lentz)
  const tiny = 1e-300;
  let f = ax;
  let C = ax;
  let D = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    D = ax + a * D;
    D = D === 0 ? tiny : 1 / D;
    C = ax + a / C;
    if (C === 0) C = tiny;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  const r = 1 - erfc;
  return x < 0 ? -r : r;
}

function normal_cdf(x: number): number {
  return 0.5 + 0.5 * erf(x / Math.sqrt(2.0));
}

/** the inverse normal CDF table the generators sweep for (x from -10 in steps of .00005) */
function normal_inverse(): Float64Array {
  const table = new Float64Array(TABLESIZE + 1);
  for (let x = -10.0; x < 10.05; x += 0.00005) {
    const i = rint(TABLESIZE * normal_cdf(x));
    table[i] = x;
  }
  return table;
}

const clampShort = (v: number): number => (v < SHRT_MIN ? SHRT_MIN : v > SHRT_MAX ? SHRT_MAX : v);

/** netem/normal.c */
export function make_normal_table(): Int16Array {
  const table = normal_inverse();
  const out = new Int16Array(TABLESIZE / 4);
  for (let i = 0, n = 0; i < TABLESIZE; i += 4) out[n++] = clampShort(Math.trunc(rint(table[i] * NETEM_DIST_SCALE)));
  return out;
}

/** netem/pareto.c (a = 3) */
export function make_pareto_table(): Int16Array {
  const a = 3.0;
  const out = new Int16Array(65536 / 16);
  let n = 0;
  for (let i = 65536; i > 0; i -= 16) {
    let d = i / 65536;
    d = 1.0 / Math.pow(d, 1.0 / a);
    d -= 1.5;
    d *= (4.0 / 3.0) * NETEM_DIST_SCALE;
    if (d > 32767) d = 32767;
    out[n++] = Math.trunc(rint(d));
  }
  return out;
}

/** netem/paretonormal.c: (normal + 3·pareto) / 4, C integer division */
export function make_paretonormal_table(): Int16Array {
  const table = normal_inverse();
  const a = 3.0;
  const pareto = (i: number): number => {
    const j = 65536 - 4 * i;
    let d = j / 65536;
    d = 1.0 / Math.pow(d, 1.0 / a);
    d -= 1.5;
    d *= (4.0 / 3.0) * NETEM_DIST_SCALE;
    if (d > 32767) d = 32767;
    return Math.trunc(rint(d));
  };
  const out = new Int16Array(TABLESIZE / 4);
  for (let i = 0, n = 0; i < TABLESIZE; i += 4) {
    const normvalue = Math.trunc(rint(table[i] * NETEM_DIST_SCALE));
    const value = Math.trunc((normvalue + 3 * pareto(i)) / 4);
    out[n++] = clampShort(value);
  }
  return out;
}

const cache = new Map<string, Int16Array>();

/** get_distribution: a table by name (normal, pareto, paretonormal), or null */
export function netem_dist_table(name: string): Int16Array | null {
  const hit = cache.get(name);
  if (hit) return hit;
  const make = name === 'normal' ? make_normal_table : name === 'pareto' ? make_pareto_table : name === 'paretonormal' ? make_paretonormal_table : null;
  if (!make) return null;
  const t = make();
  cache.set(name, t);
  return t;
}
