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
 * for the net.core knobs, the sysfs per-device attributes as /sys/class/net/<dev>/<attr>, and
 * kernel.hz for CONFIG_HZ (a build option on Linux, not a sysctl: the model's profile setting), and
 * kernel.osrelease for the kernel version whose counter layout /proc prints (read-only on Linux).
 */
export interface KernelProfile {
  core: NetCoreSysctlOptions;
  /** per device name: gro_flush_timeout (ns) and napi_defer_hard_irqs */
  dev: Record<string, { gro_flush_timeout?: number; napi_defer_hard_irqs?: number }>;
}

export function emptyKernelProfile(): KernelProfile {
  return { core: {}, dev: {} };
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
  const name = raw.replace(/\//g, '.');
  if (name === 'kernel.hz' || name === 'kernel.HZ') {
    if (!HZ_CHOICES.includes(v)) throw new Error(`--sysctl kernel.hz: CONFIG_HZ is one of ${HZ_CHOICES.join(', ')}`);
    p.core.HZ = v;
    return 'kernel.hz';
  }
  const c = CORE[name];
  if (!c) {
    throw new Error(`--sysctl: '${raw}' is not a modelled setting (${[...Object.keys(CORE), 'kernel.hz', 'kernel.osrelease', '/sys/class/net/DEV/gro_flush_timeout', '/sys/class/net/DEV/napi_defer_hard_irqs'].join(', ')})`);
  }
  if (v < c.min || v > c.max) throw new Error(`--sysctl ${name}: ${v} is outside ${c.min}..${c.max}`);
  p.core[c.key] = v;
  return name;
}
