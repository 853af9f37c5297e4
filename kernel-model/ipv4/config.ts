// Configuration of the model's IPv4 presence on one link, compatible with QEMU's `-netdev user`
// (net/slirp.c net_slirp_init): network 10.0.2.0/24, host (the guest's gateway) .2, DNS .3, DHCP from .15.
import { Ipv4Addr, formatIpv4, ipv4Netmask, parseIpv4 } from '../wire/address';

export interface InetConfig {
  /** network address (host bits zero) */
  network: Ipv4Addr;
  /** netmask as prefix length, 4..32 as QEMU accepts */
  prefixLen: number;
  /** the model's own address: gateway/router for the guest, DHCP server identifier (QEMU "host") */
  host: Ipv4Addr;
  /** the model's DNS address (QEMU "dns"); a second local address that answers ARP and ping */
  dns: Ipv4Addr;
  /** first address of the DHCP pool (QEMU "dhcpstart") */
  dhcpStart: Ipv4Addr;
  /** pool size; libslirp's NB_BOOTP_CLIENTS is 16 */
  dhcpCount: number;
  /** lease time in seconds (libslirp LEASE_TIME 24 h) */
  leaseTime: number;
  /** MTU advertised by DHCP option 26 */
  mtu: number;
  /** DHCP option 15; empty for none */
  domain: string;
  /** run the DHCP server on this link */
  dhcp: boolean;
  /**
   * `-netdev user,restrict=on` (`--restrict`): the guest may reach only host forwarding and the model's
   * own services (DHCP, DNS); routing and the host proxies drop everything bound beyond the link.
   */
  restrict: boolean;
}

export const DEFAULT_INET_CONFIG: Readonly<InetConfig> = Object.freeze({
  network: 0x0a000200,
  prefixLen: 24,
  host: 0x0a000202,
  dns: 0x0a000203,
  dhcpStart: 0x0a00020f,
  dhcpCount: 16,
  leaseTime: 86400,
  mtu: 1500,
  domain: '',
  dhcp: true,
  restrict: false,
});

export function defaultInetConfig(overrides: Partial<InetConfig> = {}): InetConfig {
  return validateInetConfig({ ...DEFAULT_INET_CONFIG, ...overrides });
}

export function netmaskOf(c: InetConfig): Ipv4Addr {
  return ipv4Netmask(c.prefixLen);
}

/** the subnet-directed broadcast address */
export function broadcastOf(c: InetConfig): Ipv4Addr {
  return (c.network | ~netmaskOf(c)) >>> 0;
}

export function inSubnet(c: InetConfig, a: Ipv4Addr): boolean {
  const m = netmaskOf(c);
  return ((a & m) >>> 0) === c.network;
}

/**
 * Parse QEMU's `net=` forms: "10.0.2.0/24", "10.0.2.0/255.255.255.0", or a bare address with a classful
 * mask. Host bits are cleared and host/dns/dhcpStart are derived as QEMU does: network | (0x0202, 0x0203,
 * 0x020f masked to the host part), so 10.0.0.0/16 gives host 10.0.2.2. Throws RangeError with the reason
 * (configuration is a cold path: the CLI reports it).
 */
export function parseInetCidr(spec: string, overrides: Partial<InetConfig> = {}): InetConfig {
  const s = spec.trim();
  const slash = s.indexOf('/');
  const netStr = slash < 0 ? s : s.slice(0, slash);
  const net = parseIpv4(netStr);
  if (net < 0) throw new RangeError(`--net ${spec}: failed to parse network address '${netStr}'`);
  let mask: number;
  if (slash < 0) {
    mask = classfulMask(net);
  } else {
    const m = s.slice(slash + 1);
    if (/^\d+$/.test(m)) {
      const shift = Number(m);
      if (shift < 4 || shift > 32) throw new RangeError(`--net ${spec}: invalid netmask (must be in range 4-32)`);
      mask = ipv4Netmask(shift);
    } else {
      mask = parseIpv4(m);
      if (mask < 0 || !isContiguousMask(mask)) throw new RangeError(`--net ${spec}: failed to parse netmask '${m}'`);
    }
  }
  const prefixLen = maskToPrefix(mask);
  const network = (net & mask) >>> 0;
  const hostPart = ~mask >>> 0;
  const derived: InetConfig = {
    ...DEFAULT_INET_CONFIG,
    network,
    prefixLen,
    host: (network | (0x0202 & hostPart)) >>> 0,
    dns: (network | (0x0203 & hostPart)) >>> 0,
    dhcpStart: (network | (0x020f & hostPart)) >>> 0,
    ...overrides,
  };
  return validateInetConfig(derived);
}

/** QEMU's checks (host, DHCP start inside the network; distinct addresses) plus ours; throws RangeError */
export function validateInetConfig(c: InetConfig): InetConfig {
  const where = `${formatIpv4(c.network)}/${c.prefixLen}`;
  if (!Number.isInteger(c.prefixLen) || c.prefixLen < 4 || c.prefixLen > 32)
    throw new RangeError(`${where}: prefix length must be 4..32`);
  const mask = ipv4Netmask(c.prefixLen);
  if ((c.network & ~mask) !== 0) throw new RangeError(`${where}: network has host bits set`);
  if (!inSubnet(c, c.host)) throw new RangeError(`${where}: host ${formatIpv4(c.host)} doesn't belong to network`);
  if (c.dns === c.host) throw new RangeError(`${where}: DNS must be different from host`);
  if (!inSubnet(c, c.dhcpStart)) throw new RangeError(`${where}: DHCP start ${formatIpv4(c.dhcpStart)} doesn't belong to network`);
  if (c.dhcpStart === c.host || c.dhcpStart === c.dns) throw new RangeError(`${where}: DHCP must be different from host and DNS`);
  // the lease table is scanned per message: keep it small (libslirp has 16)
  if (!Number.isInteger(c.dhcpCount) || c.dhcpCount < 1 || c.dhcpCount > 1024)
    throw new RangeError(`${where}: DHCP pool size must be 1..1024`);
  if (!Number.isInteger(c.leaseTime) || c.leaseTime < 60 || c.leaseTime > 0xfffffffe)
    throw new RangeError(`${where}: lease time must be 60..4294967294 s`);
  if (!Number.isInteger(c.mtu) || c.mtu < 576 || c.mtu > 65535) throw new RangeError(`${where}: MTU must be 576..65535`);
  if (c.domain.length > 255) throw new RangeError(`${where}: domain name cannot exceed 255 bytes`);
  return c;
}

/**
 * The DHCP pool: up to dhcpCount addresses from dhcpStart that are inside the network and are neither
 * the network, broadcast, host nor DNS address.
 */
export function dhcpPool(c: InetConfig): Ipv4Addr[] {
  const pool: Ipv4Addr[] = [];
  const bcast = broadcastOf(c);
  for (let i = 0, a = c.dhcpStart; i < c.dhcpCount && inSubnet(c, a); i++, a = (a + 1) >>> 0) {
    if (a === c.network || a === bcast || a === c.host || a === c.dns) continue;
    pool.push(a);
  }
  return pool;
}

function classfulMask(addr: number): number {
  // net/slirp.c: class A/B/C and the private ranges when no mask is given
  if (!(addr & 0x80000000)) return 0xff000000;
  if (((addr & 0xfff00000) >>> 0) === 0xac100000) return 0xfff00000;
  if (((addr & 0xc0000000) >>> 0) === 0x80000000) return 0xffff0000;
  if (((addr & 0xffff0000) >>> 0) === 0xc0a80000) return 0xffff0000;
  if (((addr & 0xffff0000) >>> 0) === 0xc6120000) return 0xfffe0000;
  if (((addr & 0xe0000000) >>> 0) === 0xe0000000) return 0xffffff00;
  return 0xfffffff0;
}

function isContiguousMask(m: number): boolean {
  const inv = ~m >>> 0;
  return ((inv + 1) & inv) === 0;
}

function maskToPrefix(m: number): number {
  let n = 0;
  for (let b = 31; b >= 0 && (m >>> b) & 1; b--) n++;
  return n;
}
