// Parses /proc/net/snmp and /proc/net/netstat text (pairs of "Group: Name Name …" / "Group: v v …" lines,
// net/ipv4/proc.c) into counters under nstat's names (group + name: IpInReceives, TcpOutSegs,
// TcpExtDelayedACKs, IpExtInOctets), the names `skbnet nstat` prints for the model.
export function parseProcNetSnmp(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => /^\w+: /.test(l));
  for (let i = 0; i + 1 < lines.length; i++) {
    const names = lines[i].split(/\s+/);
    const values = lines[i + 1].split(/\s+/);
    if (names[0] !== values[0] || !/^-?\d+$/.test(values[1] ?? '') || /^-?\d+$/.test(names[1] ?? '')) continue;
    const group = names[0].slice(0, -1);
    for (let k = 1; k < names.length && k < values.length; k++) out[group + names[k]] = Number(values[k]);
    i++;
  }
  return out;
}

/** b − a for every counter in b */
export function counterDelta(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const d: Record<string, number> = {};
  for (const [k, v] of Object.entries(b)) d[k] = v - (a[k] ?? 0);
  return d;
}
