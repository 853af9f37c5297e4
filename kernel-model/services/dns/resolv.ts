// Where the DNS forwarder sends queries: `--dns-forward ADDR[:PORT]` or the first `nameserver` of the
// host's resolv.conf (resolv.conf(5): "nameserver Name-server-IP-address", at most MAXNS = 3 used;
// the first is tried first). Cold path.
import * as fs from 'fs';
import * as net from 'net';

export interface DnsUpstream {
  /** numeric IPv4 or IPv6 address (no brackets, an IPv6 zone kept as given) */
  address: string;
  port: number;
}

/**
 * Parse `ADDR[:PORT]`: `1.2.3.4`, `1.2.3.4:5353`, `::1`, `[::1]`, `[fe80::1%eth0]:53`. Throws RangeError
 * with the reason.
 */
export function parseDnsUpstream(spec: string): DnsUpstream {
  const s = spec.trim();
  let host = s;
  let portText = '';
  const br = /^\[([^\]]+)\](?::(.*))?$/.exec(s);
  if (br) {
    host = br[1];
    portText = br[2] ?? '';
    if (br[2] !== undefined && portText === '') throw new RangeError(`--dns-forward ${spec}: empty port`);
  } else if (s.indexOf(':') === s.lastIndexOf(':') && s.includes(':')) {
    // one colon: IPv4:port
    host = s.slice(0, s.indexOf(':'));
    portText = s.slice(s.indexOf(':') + 1);
    if (portText === '') throw new RangeError(`--dns-forward ${spec}: empty port`);
  }
  if (net.isIP(host.replace(/%.*$/, '')) === 0) throw new RangeError(`--dns-forward ${spec}: '${host}' is not a numeric IPv4 or IPv6 address`);
  let port = 53;
  if (portText !== '') {
    if (!/^\d+$/.test(portText)) throw new RangeError(`--dns-forward ${spec}: bad port '${portText}'`);
    port = Number(portText);
    if (port < 1 || port > 65535) throw new RangeError(`--dns-forward ${spec}: port must be 1..65535`);
  }
  return { address: host, port };
}

/** the first usable `nameserver` line of resolv.conf text, or null */
export function firstNameserver(text: string): DnsUpstream | null {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const m = /^nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    const addr = m[1];
    if (net.isIP(addr.replace(/%.*$/, '')) !== 0) return { address: addr, port: 53 };
  }
  return null;
}

/** the host's default upstream: the first nameserver in `path` (null when unreadable or none) */
export function hostResolver(path = '/etc/resolv.conf'): DnsUpstream | null {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  return firstNameserver(text);
}

export function formatUpstream(u: DnsUpstream): string {
  return u.address.includes(':') ? `[${u.address}]:${u.port}` : `${u.address}:${u.port}`;
}
