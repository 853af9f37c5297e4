// net.core sysctls that the core obeys (net/core/hotdata.c, net/core/sysctl_net_core.c,
// Documentation/admin-guide/sysctl/net.rst). Defaults are Debian's Linux 6.1 (HZ=250).
import { DEFAULT_KERNEL_RELEASE, KERNEL_RELEASES, kernel_release_parse, type KernelRelease } from './mib-layout';

export interface NetCoreSysctlOptions {
  HZ?: number;
  osrelease?: KernelRelease;
  netdev_budget?: number;
  netdev_budget_usecs?: number;
  dev_weight?: number;
  dev_weight_rx_bias?: number;
  dev_weight_tx_bias?: number;
  netdev_max_backlog?: number;
  qdisc_bulk?: number;
}

export class NetCoreSysctl {
  /** CONFIG_HZ: jiffies per second (Debian amd64: 250) */
  HZ: number;
  /**
   * the kernel version the profile follows (kernel.osrelease; default 6.1, the guest fixture's):
   * which counters /proc lists and in what order (core/mib-layout.ts)
   */
  osrelease: KernelRelease;
  /** packets per net_rx_action run (net.core.netdev_budget) */
  netdev_budget: number;
  /** µs per net_rx_action run; default 2 jiffies = 2 * USEC_PER_SEC / HZ (8000 at HZ=250) */
  netdev_budget_usecs: number;
  /** NAPI_POLL_WEIGHT / backlog weight (net.core.dev_weight) */
  dev_weight: number;
  dev_weight_rx_bias: number;
  dev_weight_tx_bias: number;
  /** per-CPU backlog limit (net.core.netdev_max_backlog); kept for RPS/backlog later */
  netdev_max_backlog: number;
  /**
   * extra skbs one qdisc_restart may dequeue after the first for a qdisc that feeds several txqs
   * (try_bulk_dequeue_skb_slow's 8, net/sched/sch_generic.c). One-txq qdiscs (every qdisc the
   * model attaches) bulk by BQL bytes instead (try_bulk_dequeue_skb, core/dql.ts).
   */
  qdisc_bulk: number;

  constructor(o: NetCoreSysctlOptions = {}) {
    this.HZ = o.HZ ?? 250;
    this.osrelease = o.osrelease ?? DEFAULT_KERNEL_RELEASE;
    this.netdev_budget = o.netdev_budget ?? 300;
    this.netdev_budget_usecs = o.netdev_budget_usecs ?? Math.floor((2 * 1_000_000) / this.HZ);
    this.dev_weight = o.dev_weight ?? 64;
    this.dev_weight_rx_bias = o.dev_weight_rx_bias ?? 1;
    this.dev_weight_tx_bias = o.dev_weight_tx_bias ?? 1;
    this.netdev_max_backlog = o.netdev_max_backlog ?? 1000;
    this.qdisc_bulk = o.qdisc_bulk ?? 8;
  }

  /** dev_rx_weight = dev_weight * dev_weight_rx_bias */
  get dev_rx_weight(): number {
    return this.dev_weight * this.dev_weight_rx_bias;
  }

  /** dev_tx_weight = dev_weight * dev_weight_tx_bias: the __qdisc_run quota */
  get dev_tx_weight(): number {
    return this.dev_weight * this.dev_weight_tx_bias;
  }
}

/** usecs_to_jiffies (include/linux/jiffies.h): rounds up */
export function usecs_to_jiffies(usecs: number, HZ: number): number {
  return Math.ceil((usecs * HZ) / 1_000_000);
}

/** time_after_eq(a, b) for our non-wrapping jiffies */
export function time_after_eq(a: number, b: number): boolean {
  return a >= b;
}

/**
 * The kernel profile a user may set at start (`skbnet serve --sysctl NAME=VALUE`): /proc/sys names
 * for the net.core knobs, the sysfs per-device attributes as /sys/class/net/<dev>/<attr> (and the
 * per-rx-queue RPS ones as /sys/class/net/<dev>/queues/rx-<n>/<attr>), kernel.hz for CONFIG_HZ (a
 * build option on Linux, not a sysctl: the model's profile setting), and kernel.osrelease for the
 * kernel version whose counter layout /proc prints (read-only on Linux). The machine's shape rides
 * along: `cpus` (nr_cpu_ids, `--cpus`) and `consumer_cpus` (`--proxy-cpus`).
 */
export interface KernelProfile {
  core: NetCoreSysctlOptions;
  /** per device name: gro_flush_timeout (ns), napi_defer_hard_irqs, and per rx queue rps_cpus / rps_flow_cnt */
  dev: Record<string, DevProfile>;
  /** net.core.rps_sock_flow_entries, flow_limit_table_len, flow_limit_cpu_bitmap (RpsOptions of the stack) */
  rps: { rps_sock_flow_entries?: number; flow_limit_table_len?: number; flow_limit_cpu_bitmap?: string };
  /** virtual CPUs (softnet_data instances, nr_cpu_ids); undefined = 1 */
  cpus?: number;
  /**
   * CPUs the host proxies' consumers (the application reading and writing the model's sockets) are
   * taken to run on, round-robin per connection (TcpSock.consumer_cpu); undefined = the CPU running
   * at the call, as before
   */
  consumer_cpus?: number[];
}

export interface DevProfile {
  gro_flush_timeout?: number;
  napi_defer_hard_irqs?: number;
  /** per rx queue index: the sysfs rps_cpus mask as written (hex) and rps_flow_cnt */
  rx_queues?: Record<number, { rps_cpus?: string; rps_flow_cnt?: number }>;
}

/** most virtual CPUs a profile may ask for (`--cpus`) */
export const MAX_CPUS = 64;
/** largest rps_flow_cnt the model allocates (Linux allows up to 2^32 entries, memory permitting) */
export const RPS_FLOW_CNT_MAX = 1 << 30;
/** largest net.core.rps_sock_flow_entries (rps_sock_flow_sysctl: larger is EINVAL) */
const RPS_SOCK_FLOW_ENTRIES_MAX = 1 << 29;

/**
 * bitmap_parse (lib/bitmap.c, 6.1) as store_rps_map and flow_limit_cpu_sysctl use it on a cpumask of
 * nbits = nr_cpumask_bits (nr_cpu_ids on Debian, CONFIG_CPUMASK_OFFSTACK): hex, read from the end in
 * 32-bit groups of at most 8 digits that commas or spaces separate (runs of them count as one), most
 * significant group first, "0x" not accepted, text after a newline ignored. Errors as Linux's: EINVAL
 * for a non-hex character; EOVERFLOW for a group of more than 8 digits, more groups than
 * BITS_TO_U32(nbits) (even zero ones: "00000000,00000003" overflows a 2-CPU mask), or a bit at or above
 * nbits. Returns the CPUs set, ascending.
 */
export function bitmap_parse(text: string, nbits: number): number[] {
  const nl = text.indexOf('\n');
  const groups = (nl >= 0 ? text.slice(0, nl) : text).split(/[\s,]+/).filter((g) => g !== '');
  const overflow = (why: string): Error => new Error(`'${text}': Value too large for defined data type (EOVERFLOW: ${why})`);
  const cpus: number[] = [];
  let chunks = Math.ceil(nbits / 32);
  for (let g = 0; g < groups.length; g++) {
    const word = groups[groups.length - 1 - g];
    if (chunks-- === 0) throw overflow(`more than ${Math.ceil(nbits / 32)} 32-bit group(s) for ${nbits} CPUs`);
    const einval = new Error(`'${text}': Invalid argument (EINVAL: want hex digits in comma-separated 32-bit groups, e.g. 3 or 00000000,00000003)`);
    if (!/^[0-9a-fA-F]+$/.test(word.slice(-8))) throw einval;
    if (word.length > 8) throw /[0-9a-fA-F]/.test(word[word.length - 9]) ? overflow('a group holds 8 hex digits') : einval;
    const v = parseInt(word, 16);
    for (let bit = 0; bit < 32; bit++) {
      if (!(v & (1 << bit))) continue;
      const cpu = g * 32 + bit;
      if (cpu >= nbits) throw overflow(`CPU ${cpu} does not exist, nr_cpu_ids ${nbits}`);
      cpus.push(cpu);
    }
  }
  return cpus;
}

/**
 * Checks a profile against the machine it will run on (after every `--sysctl` and `--cpus` is read, so
 * the order of options does not matter): masks name existing CPUs (bitmap_parse with nr_cpu_ids) and
 * rx-N queues exist (`rxQueues`: the device's rx queue count). Throws naming the problem.
 */
export function kernel_profile_check(p: KernelProfile, rxQueues: number): void {
  const nr = p.cpus ?? 1;
  if (p.rps.flow_limit_cpu_bitmap !== undefined) {
    try {
      bitmap_parse(p.rps.flow_limit_cpu_bitmap, nr);
    } catch (e) {
      throw new Error(`--sysctl net.core.flow_limit_cpu_bitmap=${(e as Error).message}`);
    }
  }
  for (const [name, d] of Object.entries(p.dev)) {
    for (const [q, attrs] of Object.entries(d.rx_queues ?? {})) {
      const where = `/sys/class/net/${name}/queues/rx-${q}`;
      if (Number(q) >= rxQueues) throw new Error(`--sysctl ${where}: ${name} has ${rxQueues} rx queue(s) (rx-0..rx-${rxQueues - 1}; see --queues)`);
      if (attrs.rps_cpus !== undefined) {
        try {
          bitmap_parse(attrs.rps_cpus, nr);
        } catch (e) {
          throw new Error(`--sysctl ${where}/rps_cpus=${(e as Error).message}`);
        }
      }
    }
  }
  for (const c of p.consumer_cpus ?? []) if (c >= nr) throw new Error(`--proxy-cpus: CPU ${c} does not exist (--cpus ${nr})`);
}

export function emptyKernelProfile(): KernelProfile {
  return { core: {}, dev: {}, rps: {} };
}

// name → field, bounds (net/core/sysctl_net_core.c: netdev_budget and dev_weight ≥ 1 here, since 0 would
// stall the model's softirq; netdev_budget_usecs ≥ 0; napi_defer_hard_irqs ≤ S32_MAX, net-sysfs.c)
const CORE: Record<string, { key: Exclude<keyof NetCoreSysctlOptions, 'osrelease'>; min: number; max: number }> = {
  'net.core.netdev_budget': { key: 'netdev_budget', min: 1, max: 0x7fffffff },
  'net.core.netdev_budget_usecs': { key: 'netdev_budget_usecs', min: 0, max: 0x7fffffff },
  'net.core.dev_weight': { key: 'dev_weight', min: 1, max: 0x7fffffff },
  'net.core.dev_weight_rx_bias': { key: 'dev_weight_rx_bias', min: 1, max: 0x7fffffff },
  'net.core.dev_weight_tx_bias': { key: 'dev_weight_tx_bias', min: 1, max: 0x7fffffff },
  'net.core.netdev_max_backlog': { key: 'netdev_max_backlog', min: 0, max: 0x7fffffff },
};
/** roundup_pow_of_two (include/linux/log2.h) */
function roundup_pow_of_two(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** CONFIG_HZ choices (kernel/Kconfig.hz) */
const HZ_CHOICES = [100, 250, 300, 1000];

/**
 * Apply one `NAME=VALUE` (sysctl(8) also accepts '/' separators) to the profile; throws with a
 * message naming the problem. Returns the canonical name.
 */
export function kernel_profile_set(p: KernelProfile, assignment: string): string {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new Error(`--sysctl wants NAME=VALUE, got '${assignment}'`);
  const raw = assignment.slice(0, eq).trim();
  const text = assignment.slice(eq + 1).trim();
  if (raw.replace(/\//g, '.') === 'kernel.osrelease') {
    const r = kernel_release_parse(text);
    if (!r) throw new Error(`--sysctl kernel.osrelease: '${text}' is not a modelled version (${KERNEL_RELEASES.join(', ')})`);
    p.core.osrelease = r;
    return 'kernel.osrelease';
  }
  const rxq = /^\/?sys[./]class[./]net[./]([^./]+)[./]queues[./]rx-(\d+)[./](rps_cpus|rps_flow_cnt)$/.exec(raw);
  if (rxq) {
    const [, name, qtext, attr] = rxq;
    const q = Number(qtext);
    const canonical = `/sys/class/net/${name}/queues/rx-${q}/${attr}`;
    const queues = ((p.dev[name] ??= {}).rx_queues ??= {});
    if (attr === 'rps_cpus') {
      // store_rps_map: syntax now; the CPUs against nr_cpu_ids once --cpus is known (kernel_profile_check)
      try {
        bitmap_parse(text, MAX_CPUS);
      } catch (e) {
        throw new Error(`--sysctl ${canonical}=${(e as Error).message}`);
      }
      (queues[q] ??= {}).rps_cpus = text;
    } else {
      // store_rps_dev_flow_table_cnt: kstrtoul, rounded up to a power of 2 when the table is made
      if (!/^\d+$/.test(text)) throw new Error(`--sysctl ${canonical}: '${text}' is not a non-negative integer`);
      const v = Number(text);
      if (v > RPS_FLOW_CNT_MAX) throw new Error(`--sysctl ${canonical}: at most ${RPS_FLOW_CNT_MAX} in the model`);
      (queues[q] ??= {}).rps_flow_cnt = v;
    }
    return canonical;
  }
  const dotted = raw.replace(/\//g, '.');
  if (dotted === 'net.core.flow_limit_cpu_bitmap') {
    try {
      bitmap_parse(text, MAX_CPUS);
    } catch (e) {
      throw new Error(`--sysctl net.core.flow_limit_cpu_bitmap=${(e as Error).message}`);
    }
    p.rps.flow_limit_cpu_bitmap = text;
    return dotted;
  }
  if (!/^\d+$/.test(text)) throw new Error(`--sysctl ${raw}: '${text}' is not a non-negative integer`);
  const v = Number(text);
  const dev = /^\/?sys[./]class[./]net[./]([^./]+)[./](gro_flush_timeout|napi_defer_hard_irqs)$/.exec(raw);
  if (dev) {
    const [, name, attr] = dev;
    if (attr === 'napi_defer_hard_irqs' && v > 0x7fffffff) throw new Error(`--sysctl ${raw}: at most ${0x7fffffff}`);
    if (!Number.isSafeInteger(v)) throw new Error(`--sysctl ${raw}: value too large`);
    (p.dev[name] ??= {})[attr as 'gro_flush_timeout' | 'napi_defer_hard_irqs'] = v;
    return `/sys/class/net/${name}/${attr}`;
  }
  if (dotted === 'net.core.rps_sock_flow_entries') {
    // rps_sock_flow_sysctl: above 1 << 29 is EINVAL; the table gets roundup_pow_of_two(v) entries
    if (v > RPS_SOCK_FLOW_ENTRIES_MAX) throw new Error(`--sysctl ${dotted}: ${v} is over ${RPS_SOCK_FLOW_ENTRIES_MAX} (EINVAL)`);
    p.rps.rps_sock_flow_entries = v === 0 ? 0 : roundup_pow_of_two(v);
    return dotted;
  }
  if (dotted === 'net.core.flow_limit_table_len') {
    // flow_limit_table_len_sysctl: not a power of 2 is EINVAL (the old value stays)
    if (v === 0 || v > 0x7fffffff || (v & (v - 1)) !== 0) throw new Error(`--sysctl ${dotted}: ${v} is not a power of 2 (EINVAL)`);
    p.rps.flow_limit_table_len = v;
    return dotted;
  }
  const name = dotted;
  if (name === 'kernel.hz' || name === 'kernel.HZ') {
    if (!HZ_CHOICES.includes(v)) throw new Error(`--sysctl kernel.hz: CONFIG_HZ is one of ${HZ_CHOICES.join(', ')}`);
    p.core.HZ = v;
    return 'kernel.hz';
  }
  const c = CORE[name];
  if (!c) {
    const names = [...Object.keys(CORE), 'net.core.rps_sock_flow_entries', 'net.core.flow_limit_cpu_bitmap', 'net.core.flow_limit_table_len',
      'kernel.hz', 'kernel.osrelease', '/sys/class/net/DEV/gro_flush_timeout', '/sys/class/net/DEV/napi_defer_hard_irqs',
      '/sys/class/net/DEV/queues/rx-N/rps_cpus', '/sys/class/net/DEV/queues/rx-N/rps_flow_cnt'];
    throw new Error(`--sysctl: '${raw}' is not a modelled setting (${names.join(', ')})`);
  }
  if (v < c.min || v > c.max) throw new Error(`--sysctl ${name}: ${v} is outside ${c.min}..${c.max}`);
  p.core[c.key] = v;
  return name;
}
