// `--hostfwd` rules in QEMU's `-netdev user,hostfwd=` syntax (net/slirp.c slirp_hostfwd):
//   [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT
// An empty protocol means tcp; ports are strtol(…, 0) numbers (decimal, 0x hex, 0 octal) in 1..65535.
// Deliberate difference: an empty HOSTADDR binds 127.0.0.1, not QEMU's INADDR_ANY — nothing is exposed
// beyond this host unless the user names an address. An empty GUESTADDR is the first DHCP address
// (QEMU: slirp's vdhcp_startaddr, 10.0.2.15). Cold path.
import * as net from 'net';
import { formatIpv4, parseIpv4, type Ipv4Addr } from '../../wire/address';

export const HOSTFWD_DEFAULT_HOST_ADDR = '127.0.0.1';

export interface HostFwdRule {
  proto: 'tcp' | 'udp';
  /** numeric IPv4 address the host socket binds */
  hostAddr: string;
  hostPort: number;
  /** the guest address; null = the first DHCP address of the link */
  guestAddr: Ipv4Addr | null;
  guestPort: number;
  /** the rule as given */
  text: string;
}

export class HostFwdSyntaxError extends RangeError {}

/** strtol(s, &end, 0) with *end == '\0' required: null when not a whole number */
function strtol0(s: string): number | null {
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) return parseInt(s.slice(2), 16);
  if (/^0[0-7]*$/.test(s)) return parseInt(s, 8);
  if (/^[1-9][0-9]*$/.test(s)) return Number(s);
  return null;
}

/** parse one rule; throws HostFwdSyntaxError("invalid host forwarding rule '…'" and the reason) */
export function parseHostFwd(text: string): HostFwdRule {
  const fail = (why: string): never => {
    throw new HostFwdSyntaxError(`invalid host forwarding rule '${text}': ${why}`);
  };
  let p = text;
  const take = (sep: string, what: string): string => {
    const i = p.indexOf(sep);
    if (i < 0) fail(`missing '${sep}' after ${what}`);
    const v = p.slice(0, i);
    p = p.slice(i + 1);
    return v;
  };
  const protoText = take(':', 'the protocol');
  let proto: 'tcp' | 'udp';
  if (protoText === '' || protoText === 'tcp') proto = 'tcp';
  else if (protoText === 'udp') proto = 'udp';
  else return fail(`protocol '${protoText}' is neither tcp nor udp`);
  const hostAddrText = take(':', 'the host address');
  let hostAddr = HOSTFWD_DEFAULT_HOST_ADDR;
  if (hostAddrText !== '') {
    if (net.isIPv4(hostAddrText)) hostAddr = hostAddrText;
    else fail(`host address '${hostAddrText}' is not a numeric IPv4 address`);
  }
  const hostPortText = take('-', 'the host port');
  const hostPort = strtol0(hostPortText);
  if (hostPort === null || hostPort < 1 || hostPort > 65535) fail(`host port '${hostPortText}' is not in 1..65535`);
  const guestAddrText = take(':', 'the guest address');
  let guestAddr: Ipv4Addr | null = null;
  if (guestAddrText !== '') {
    const a = parseIpv4(guestAddrText);
    if (a < 0) fail(`guest address '${guestAddrText}' is not a numeric IPv4 address`);
    guestAddr = a;
  }
  const guestPort = strtol0(p);
  if (guestPort === null || guestPort < 1 || guestPort > 65535) fail(`guest port '${p}' is not in 1..65535`);
  return { proto, hostAddr, hostPort: hostPort!, guestAddr, guestPort: guestPort!, text };
}

export function formatHostFwd(r: HostFwdRule, defaultGuest: Ipv4Addr): string {
  return `${r.proto}:${r.hostAddr}:${r.hostPort}-${formatIpv4(r.guestAddr ?? defaultGuest)}:${r.guestPort}`;
}
