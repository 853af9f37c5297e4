// Which counters a kernel version prints, and in what order: the layout of /proc/net/snmp,
// /proc/net/netstat, /proc/net/snmp6 and /proc/net/softnet_stat. The model keeps every counter it
// knows (the union over versions) in memory; the profile's kernel version (`--sysctl
// kernel.osrelease=6.1|6.12`, default 6.1: the Debian kernel the guest fixture runs) picks which
// ones are listed (core/mib.ts mib_list and the *_seq_show functions, hence nstat, metrics, views).
// This file holds only types, so the generated data (mib-layout-6.1.ts) and mib.ts can both import it.

/** the kernel versions whose layout the model can print */
export type KernelRelease = '6.1' | '6.12';
export const KERNEL_RELEASES: readonly KernelRelease[] = ['6.1', '6.12'];
export const DEFAULT_KERNEL_RELEASE: KernelRelease = '6.1';

/** one "Group: Name Name …" / "Group: v v …" pair of lines: the group and its field names in order */
export type MibGroupLayout = readonly [group: string, fields: readonly string[]];

export interface MibLayout {
  /** the release it stands for (uname -r of the kernel it was read from, for captured layouts) */
  release: string;
  /**
   * /proc/net/snmp groups in print order (snmp_seq_show_ipstats, icmp, tcp_udp). IcmpMsg is not
   * listed: it prints only non-zero types, right after Icmp, in every version.
   */
  snmp: readonly MibGroupLayout[];
  /** /proc/net/netstat groups in print order (netstat_seq_show: TcpExt, IpExt, then MPTcpExt when built in) */
  netstat: readonly MibGroupLayout[];
  /**
   * /proc/net/snmp6 names in print order (snmp6_seq_show). Icmp6InType<N>/Icmp6OutType<N> are not
   * listed: they print only when non-zero, after the named Icmp6 counters, in every version.
   */
  snmp6: readonly string[];
  /** columns per /proc/net/softnet_stat line (softnet_seq_show, net/core/net-procfs.c) */
  softnet_stat_columns: number;
}

/**
 * A release string (6.1, 6.12, or a full uname -r such as 6.1.0-28-amd64) → the layout version it
 * names; null when the model has no layout for it.
 */
export function kernel_release_parse(text: string): KernelRelease | null {
  const m = /^(\d+)\.(\d+)(?:[.-][\w.+~-]*)?$/.exec(text.trim());
  if (!m) return null;
  const v = `${Number(m[1])}.${Number(m[2])}`;
  return (KERNEL_RELEASES as readonly string[]).includes(v) ? (v as KernelRelease) : null;
}
