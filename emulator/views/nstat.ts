// `skbnet nstat`: iproute2's nstat (misc/nstat.c) over the model's MIBs — counters under the same
// names (IpInReceives, TcpExtDelayedACKs, Ip6InReceives, …), the same "#kernel" block and line format,
// and the same history rule: without -a it prints increments since the previous run and remembers.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { NetMib, mib_list, mib6_list } from '../../kernel-model/core/mib';

/**
 * the counters the profile's kernel version lists (NetMib.layout: Linux 6.1's by default, `--sysctl
 * kernel.osrelease=6.12` for 6.12's), by their nstat names, in /proc order: what nstat -az shows there
 */
export function nstatCounters(mib: NetMib): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of [...mib_list(mib), ...mib6_list(mib)]) out[e.nstat] = e.value;
  return out;
}

export interface NstatOptions {
  /** -a: absolute values instead of increments */
  absolute: boolean;
  /** -z: also counters that are zero */
  zeros: boolean;
  /** -r: forget the history first */
  reset: boolean;
  /** -n: do not update the history */
  noUpdate: boolean;
  /** name patterns (shell-style `*`), as nstat's arguments */
  patterns: string[];
}

export function parseNstatArgs(args: string[]): NstatOptions {
  const o: NstatOptions = { absolute: false, zeros: false, reset: false, noUpdate: false, patterns: [] };
  for (const a of args) {
    if (/^-[azrn]+$/.test(a)) {
      for (const c of a.slice(1)) {
        if (c === 'a') o.absolute = true;
        else if (c === 'z') o.zeros = true;
        else if (c === 'r') o.reset = true;
        else o.noUpdate = true;
      }
    } else if (a.startsWith('-')) {
      throw new Error(`nstat: unknown option ${a}`);
    } else {
      o.patterns.push(a);
    }
  }
  return o;
}

const globRe = (p: string): RegExp => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);

/** nstat's dump_kern_db / dump_incr_db line: "%-32s%-16llu%6.1f" (the rate column is not modelled: 0.0) */
export function formatNstat(now: Record<string, number>, history: Record<string, number> | null, o: NstatOptions): string {
  const match = o.patterns.map(globRe);
  let out = '#kernel\n';
  for (const [name, value] of Object.entries(now)) {
    const v = o.absolute || !history ? value : value - (history[name] ?? 0);
    if (!o.zeros && v === 0) continue;
    if (match.length && !match.some((re) => re.test(name))) continue;
    out += `${name.padEnd(32)}${String(v).padEnd(16)}${(0).toFixed(1).padStart(6)}\n`;
  }
  return out;
}

/** nstat keeps its history per user in /tmp/.nstat.u$UID; ours is per user, control socket and guest */
export function historyPath(control: string, guest: number): string {
  const tag = crypto.createHash('sha1').update(`${path.resolve(control)}#${guest}`).digest('hex').slice(0, 12);
  return path.join(os.tmpdir(), `.skbnet-nstat.u${process.getuid?.() ?? 0}.${tag}`);
}

export function readHistory(file: string): Record<string, number> | null {
  try {
    const h: Record<string, number> = {};
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const m = /^(\S+)\s+(\d+)/.exec(line);
      if (m) h[m[1]] = Number(m[2]);
    }
    return h;
  } catch {
    return null;
  }
}

export function writeHistory(file: string, now: Record<string, number>): void {
  const text = Object.entries(now).map(([k, v]) => `${k} ${v}`).join('\n') + '\n';
  fs.writeFileSync(file, text, { mode: 0o600 });
}
