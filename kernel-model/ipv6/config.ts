// Configuration of the model's IPv6 presence on one link, compatible with QEMU's `-netdev user`
// (libslirp: ipv6-prefix fec0::/64, ipv6-host fec0::2, ipv6-dns fec0::3) and the router advertisement
// defaults of RFC 4861 §6.2.1 / libslirp's ndp_send_ra (prefix valid 86400 s, preferred 14400 s).
import { formatIpv6, ipv6IsLinkLocal, ipv6IsMulticast, ipv6IsUnspecified, ipv6PrefixEq, parseIpv6, type Ipv6Addr } from '../wire/ipv6';

export interface Inet6Config {
  /** the on-link, autoconfiguration prefix advertised in RAs (host bits zero) */
  prefix: Ipv6Addr;
  /** its length; SLAAC needs 64 (RFC 4862 §5.5.3 with EUI-64 identifiers) */
  prefixLen: number;
  /** the model's address in the prefix: the guest's gateway (QEMU ipv6-host) */
  gateway: Ipv6Addr;
  /** the model's DNS address (QEMU ipv6-dns), sent in the RDNSS option */
  dns: Ipv6Addr;
  /** send router advertisements (answer RS, and unsolicited ones) */
  ra: boolean;
  /** MaxRtrAdvInterval / MinRtrAdvInterval in seconds (RFC 4861 §6.2.1: 600 and 0.33 × max) */
  maxRtrAdvInterval: number;
  minRtrAdvInterval: number;
  /** AdvDefaultLifetime, s (3 × MaxRtrAdvInterval = 1800) */
  routerLifetime: number;
  /** AdvValidLifetime / AdvPreferredLifetime of the prefix, s (libslirp: 86400 / 14400) */
  validLifetime: number;
  preferredLifetime: number;
  /** RDNSS lifetime, s (RFC 8106 §5.1: at least 3 × MaxRtrAdvInterval) */
  rdnssLifetime: number;
  /** AdvCurHopLimit (64, the Assigned Numbers value) */
  curHopLimit: number;
  /** AdvLinkMTU for the MTU option; 0 = the device MTU */
  mtu: number;
}

export function defaultInet6Config(overrides: Partial<Inet6Config> = {}): Inet6Config {
  return validateInet6Config({
    prefix: parseIpv6('fec0::')!,
    prefixLen: 64,
    gateway: parseIpv6('fec0::2')!,
    dns: parseIpv6('fec0::3')!,
    ra: true,
    maxRtrAdvInterval: 600,
    minRtrAdvInterval: 198,
    routerLifetime: 1800,
    validLifetime: 86400,
    preferredLifetime: 14400,
    rdnssLifetime: 1800,
    curHopLimit: 64,
    mtu: 0,
    ...overrides,
  });
}

/** configuration errors are RangeErrors with the reason (a cold path: the CLI reports them) */
export function validateInet6Config(c: Inet6Config): Inet6Config {
  const where = `${formatIpv6(c.prefix)}/${c.prefixLen}`;
  if (!Number.isInteger(c.prefixLen) || c.prefixLen < 1 || c.prefixLen > 128) throw new RangeError(`${where}: prefix length must be 1..128`);
  if (ipv6IsMulticast(c.prefix) || ipv6IsLinkLocal(c.prefix)) throw new RangeError(`${where}: prefix must be a unicast, non-link-local prefix`);
  for (const [name, a] of [['gateway', c.gateway], ['dns', c.dns]] as const) {
    if (a.length !== 16 || ipv6IsUnspecified(a) || !ipv6PrefixEq(a, 0, c.prefix, 0, c.prefixLen))
      throw new RangeError(`${where}: ${name} ${formatIpv6(a)} doesn't belong to the prefix`);
  }
  if (ipv6PrefixEq(c.gateway, 0, c.dns, 0, 128)) throw new RangeError(`${where}: DNS must be different from the gateway`);
  if (!(c.maxRtrAdvInterval >= 4 && c.maxRtrAdvInterval <= 1800)) throw new RangeError(`${where}: MaxRtrAdvInterval must be 4..1800 s`);
  if (!(c.minRtrAdvInterval >= 3 && c.minRtrAdvInterval <= 0.75 * c.maxRtrAdvInterval))
    throw new RangeError(`${where}: MinRtrAdvInterval must be 3..0.75 × MaxRtrAdvInterval`);
  if (!Number.isInteger(c.routerLifetime) || c.routerLifetime < 0 || c.routerLifetime > 9000) throw new RangeError(`${where}: router lifetime must be 0..9000 s`);
  if (!(c.preferredLifetime >= 0 && c.preferredLifetime <= c.validLifetime && c.validLifetime <= 0xffffffff))
    throw new RangeError(`${where}: need 0 <= preferred lifetime <= valid lifetime`);
  if (!(c.curHopLimit >= 0 && c.curHopLimit <= 255)) throw new RangeError(`${where}: hop limit must be 0..255`);
  if (c.mtu !== 0 && !(c.mtu >= 1280 && c.mtu <= 65535)) throw new RangeError(`${where}: MTU must be 0 (device MTU) or 1280..65535`);
  return c;
}

/** "fec0::/64" → prefix and length (and the gateway/dns defaults ::2 and ::3 inside it); throws RangeError */
export function parseInet6Prefix(spec: string, overrides: Partial<Inet6Config> = {}): Inet6Config {
  const [addr, len] = spec.split('/');
  const prefix = parseIpv6(addr ?? '');
  const prefixLen = len === undefined ? 64 : Number(len);
  if (prefix === null || !Number.isInteger(prefixLen)) throw new RangeError(`--ipv6-prefix ${spec}: cannot parse`);
  for (let i = 0; i < 16; i++) {
    const bits = Math.max(0, Math.min(8, prefixLen - i * 8));
    prefix[i] &= (0xff << (8 - bits)) & 0xff;
  }
  const host = (n: number): Ipv6Addr => {
    const a = prefix.slice();
    a[15] |= n;
    return a;
  };
  return defaultInet6Config({ prefix, prefixLen, gateway: host(2), dns: host(3), ...overrides });
}
