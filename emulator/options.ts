// Command-line options of `skbnet serve` / `skbnet qemu` (cold path: clarity first).
import { parseDnsUpstream, type DnsUpstream } from '../kernel-model/services/dns/resolv';
import { parseHostFwd, type HostFwdRule } from '../kernel-model/services/hostfwd/rule';
import { emptyKernelProfile, kernel_profile_check, kernel_profile_set, MAX_CPUS, type KernelProfile } from '../kernel-model/core/sysctl';

export interface ServeOptions {
  vhostUser: string[];
  queues: number;
  /** MAC of the first guest's NIC (the -device mac=); later guests count up from it */
  mac: Uint8Array;
  net: string;
  pcap: string | null;
  /** control socket for the views (`skbnet nstat`, `ip`, `softnet`, …) */
  control: string | null;
  /** `--tc "qdisc …"`: tc commands in iproute2's syntax applied to every guest's devices at start */
  tc: string[];
  logLevel: 'error' | 'warn' | 'info';
  /** `--dns-forward ADDR[:PORT]`; null = the first nameserver of /etc/resolv.conf */
  dnsForward: DnsUpstream | null;
  /** `--hostfwd RULE`, repeatable (applied to the first guest) */
  hostfwd: HostFwdRule[];
  /** `--restrict`: as `-netdev user,restrict=on` */
  restrict: boolean;
  /** `--max-connections N`: TCP connections and UDP flows per guest at most */
  maxConnections: number;
  /** `--max-buffer BYTES`: bytes one TCP connection may buffer per direction at most (the model's
   *  autotuned receive and send buffers stop there; counted when hit) */
  maxBuffer: number;
  /**
   * `--sysctl NAME=VALUE` (repeatable): HZ, net.core budgets and weights, per-device NAPI settings,
   * RPS/RFS/flow limit; `--cpus N` lands in profile.cpus and `--proxy-cpus LIST` in
   * profile.consumer_cpus, since the profile is what reaches each guest's stack
   */
  profile: KernelProfile;
  /** `--metrics ADDR:PORT`: serve Prometheus metrics there (null = off) */
  metrics: { host: string; port: number } | null;
}

export const DEFAULT_MAX_CONNECTIONS = 1024;

/** 1 MiB: ample at a guest link's sub-millisecond RTT; Linux's tcp_rmem[2] (6 MiB) × 1024 connections is not bounded enough */
export const DEFAULT_MAX_BUFFER = 1 << 20;

export const DEFAULT_GUEST_MAC = '52:54:00:12:34:56';

export class UsageError extends Error {}

export function parseMac(text: string): Uint8Array {
  const m = /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i.exec(text);
  if (!m) throw new UsageError(`bad MAC address '${text}' (want xx:xx:xx:xx:xx:xx)`);
  const mac = Uint8Array.from(m.slice(1).map((h) => parseInt(h, 16)));
  if (mac[0] & 1) throw new UsageError(`MAC address ${text} is multicast`);
  return mac;
}

export function formatMac(mac: Uint8Array): string {
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** the MAC of the n-th guest: the base with its last bytes counted up */
export function nthMac(base: Uint8Array, n: number): Uint8Array {
  const mac = Uint8Array.from(base);
  let carry = n;
  for (let i = 5; i >= 3 && carry > 0; i--) {
    const v = mac[i] + carry;
    mac[i] = v & 0xff;
    carry = v >> 8;
  }
  return mac;
}

/**
 * Parse serve options from `args`; returns the options and whatever was not an option
 * (for `skbnet qemu`, everything after `--`).
 */
export function parseServeOptions(args: string[]): { options: ServeOptions; rest: string[] } {
  const o: ServeOptions = {
    vhostUser: [],
    queues: 1,
    mac: parseMac(DEFAULT_GUEST_MAC),
    net: '10.0.2.0/24',
    pcap: null,
    control: null,
    tc: [],
    logLevel: 'info',
    dnsForward: null,
    hostfwd: [],
    restrict: false,
    maxConnections: DEFAULT_MAX_CONNECTIONS,
    maxBuffer: DEFAULT_MAX_BUFFER,
    profile: emptyKernelProfile(),
    metrics: null,
  };
  let proxyAll = false;
  let i = 0;
  const value = (name: string): string => {
    const v = args[++i];
    if (v === undefined) throw new UsageError(`${name} needs a value`);
    return v;
  };
  for (; i < args.length; i++) {
    const a = args[i];
    if (a === '--') return { options: checked(o, proxyAll), rest: args.slice(i + 1) };
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) {
      args = [...args.slice(0, i), a.slice(0, eq), a.slice(eq + 1), ...args.slice(i + 1)];
      i--;
      continue;
    }
    switch (a) {
      case '--vhost-user':
        o.vhostUser.push(value(a));
        break;
      case '--queues': {
        const n = Number(value(a));
        if (!Number.isInteger(n) || n < 1 || n > 16) throw new UsageError('--queues takes 1..16');
        o.queues = n;
        break;
      }
      case '--mac':
        o.mac = parseMac(value(a));
        break;
      case '--net':
        o.net = value(a);
        break;
      case '--pcap':
        o.pcap = value(a);
        break;
      case '--control':
        o.control = value(a);
        break;
      case '--tc':
        o.tc.push(value(a));
        break;
      case '--dns-forward':
        try {
          o.dnsForward = parseDnsUpstream(value(a));
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
        break;
      case '--hostfwd':
        try {
          o.hostfwd.push(parseHostFwd(value(a)));
        } catch (e) {
          throw new UsageError(`--hostfwd: ${(e as Error).message}`);
        }
        break;
      case '--restrict':
        o.restrict = true;
        break;
      case '--max-connections': {
        const n = Number(value(a));
        if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError('--max-connections takes 1..65535');
        o.maxConnections = n;
        break;
      }
      case '--max-buffer': {
        const n = Number(value(a));
        if (!Number.isInteger(n) || n < 65536 || n > 64 << 20) throw new UsageError('--max-buffer takes 65536..67108864 (bytes)');
        o.maxBuffer = n;
        break;
      }
      case '--sysctl':
        try {
          kernel_profile_set(o.profile, value(a));
          for (const d of Object.keys(o.profile.dev)) if (d !== 'eth0') throw new Error(`--sysctl: no device '${d}' with NAPI (each guest has eth0)`);
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
        break;
      case '--cpus': {
        const n = Number(value(a));
        if (!Number.isInteger(n) || n < 1 || n > MAX_CPUS) throw new UsageError(`--cpus takes 1..${MAX_CPUS}`);
        o.profile.cpus = n;
        break;
      }
      case '--proxy-cpus': {
        const list = value(a);
        proxyAll = list.trim() === 'all';
        if (!proxyAll) o.profile.consumer_cpus = parseCpuList(list, a);
        break;
      }
      case '--metrics':
        o.metrics = parseMetricsAddr(value(a));
        break;
      case '--quiet':
        o.logLevel = 'warn';
        break;
      case '--verbose':
        o.logLevel = 'info';
        break;
      default:
        throw new UsageError(`unknown option '${a}'`);
    }
  }
  return { options: checked(o, proxyAll), rest: [] };
}

/** the profile against the machine (--cpus, --queues), whatever order the options came in */
function checked(o: ServeOptions, proxyAll: boolean): ServeOptions {
  if (proxyAll) o.profile.consumer_cpus = Array.from({ length: o.profile.cpus ?? 1 }, (_, c) => c);
  try {
    kernel_profile_check(o.profile, o.queues);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return o;
}

/**
 * A CPU list as Linux writes them (bitmap_parselist, taskset -c): "N" and "N-M", comma-separated.
 * Returns the CPUs in the order given, each once (the order is the round-robin order).
 */
export function parseCpuList(text: string, what = 'cpu list'): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new UsageError(`${what}: '${text}' is not a CPU list (e.g. 1, 0-3, 1,3)`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new UsageError(`${what}: range ${part} goes down`);
    if (hi >= MAX_CPUS) throw new UsageError(`${what}: CPU ${hi} is over ${MAX_CPUS - 1}`);
    for (let c = lo; c <= hi; c++) if (!out.includes(c)) out.push(c);
  }
  return out;
}

/** `--metrics ADDR:PORT`, `[ADDR]:PORT` or `PORT` (then 127.0.0.1: metrics stay local unless asked) */
export function parseMetricsAddr(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:]+)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--metrics wants ADDR:PORT or PORT, got '${text}'`);
  return { host: m[1] || m[2] || '127.0.0.1', port };
}
