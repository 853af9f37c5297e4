// net.ipv4.ping_group_range for tests of ping sockets: read it, and (as root) set it for the length of a
// test and put the previous value back. On the CI machine it is "1 0": nobody may open ping sockets.
import * as fs from 'fs';
import * as os from 'os';

const PATH = '/proc/sys/net/ipv4/ping_group_range';

/** the current range as sysctl -w takes it ('1 0') */
export function pingGroupRange(): string {
  return fs.readFileSync(PATH, 'utf8').trim().split(/\s+/).join(' ');
}

/** why this process cannot change the range, or null when it can (root with a writable /proc/sys) */
export function cannotSetPingGroupRange(): string | null {
  if (process.getuid?.() !== 0) return 'not root: cannot set net.ipv4.ping_group_range';
  try {
    fs.writeFileSync(PATH, pingGroupRange());
    return null;
  } catch (e) {
    return `cannot write ${PATH}: ${(e as Error).message}`;
  }
}

/** a range holding only this process's group */
export function ownGroupRange(): string {
  const g = process.getgid?.() ?? 0;
  return `${g} ${g}`;
}

/** set the range; returns a function that restores the previous value */
export function setPingGroupRange(range: string): () => void {
  const old = pingGroupRange();
  fs.writeFileSync(PATH, range);
  return () => fs.writeFileSync(PATH, old);
}

/** this machine's first non-loopback IPv4 address (traffic to it stays on this host), or null */
export function ownIpv4(): string | null {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return null;
}
