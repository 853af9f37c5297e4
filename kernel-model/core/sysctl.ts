// net.core sysctls that the core obeys (net/core/hotdata.c, net/core/sysctl_net_core.c,
// Documentation/admin-guide/sysctl/net.rst). Defaults are Debian 6.12's (HZ=250).

export interface NetCoreSysctlOptions {
  HZ?: number;
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
   * extra skbs one qdisc_restart may dequeue after the first (try_bulk_dequeue_skb_slow's 8,
   * net/sched/sch_generic.c). Linux bulks single-queue devices by BQL bytes instead; BQL is not
   * modelled, so this bound decides how often the device sees xmit_more.
   */
  qdisc_bulk: number;

  constructor(o: NetCoreSysctlOptions = {}) {
    this.HZ = o.HZ ?? 250;
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
