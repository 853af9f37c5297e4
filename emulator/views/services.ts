// `skbnet services`: the counters of skbnet's own services — the host proxies, host forwarding, the
// DNS forwarder and the TCP model's non-MIB drops (caps hit: connLimit, flow caps, --max-buffer) —
// which no Linux MIB holds, so `skbnet nstat` does not show them. One line per service, `name value`
// pairs in the order the service defines them; numbers only (nested or text fields are left out).

/** a service's counters, by service name */
export type ServiceStats = Record<string, Readonly<Record<string, number>>>;

/** the counters as flat [service, counter, value] rows (also what --metrics exports) */
export function serviceRows(stats: ServiceStats): [string, string, number][] {
  const rows: [string, string, number][] = [];
  for (const [service, s] of Object.entries(stats)) {
    for (const [k, v] of Object.entries(s)) if (typeof v === 'number' && Number.isFinite(v)) rows.push([service, k, v]);
  }
  return rows;
}

export function formatServices(stats: ServiceStats): string {
  const byService = new Map<string, string[]>();
  for (const [service, k, v] of serviceRows(stats)) {
    let l = byService.get(service);
    if (l === undefined) byService.set(service, (l = []));
    l.push(`${k} ${v}`);
  }
  const w = Math.max(0, ...[...byService.keys()].map((s) => s.length)) + 1;
  return [...byService].map(([s, l]) => `${`${s}:`.padEnd(w + 1)}${l.join(' ')}`).join('\n') + '\n';
}
