// Small helpers shared by the net-vde tests.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';

/** path of the compiled library, for child processes */
export const LIB = path.join(__dirname, '..', 'lib', 'index.js');

export function fdCount(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

/** the file a descriptor refers to, e.g. 'anon_inode:[eventfd]' or '/memfd:x (deleted)' */
export function fdTarget(fd: number): string {
  return fs.readlinkSync(`/proc/self/fd/${fd}`);
}

export function isCloexec(fd: number): boolean {
  const info = fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
  const flags = parseInt(/flags:\s*([0-7]+)/.exec(info)![1], 8);
  return (flags & 0o2000000) !== 0; // O_CLOEXEC
}

export function isNonblocking(fd: number): boolean {
  const info = fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
  const flags = parseInt(/flags:\s*([0-7]+)/.exec(info)![1], 8);
  return (flags & 0o4000) !== 0; // O_NONBLOCK
}

export function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'net-vde-test-'));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function waitFor(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for condition');
    await sleep(5);
  }
}

/** run a script in a fresh node process (for crash, GC and teardown behaviour) */
export function runNode(script: string, args: string[] = []): { status: number | null; signal: string | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...args, '-e', script], { encoding: 'utf8', timeout: 60000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

const PING_GROUP_RANGE = '/proc/sys/net/ipv4/ping_group_range';

/** net.ipv4.ping_group_range as written back ('1\t0' → '1 0') */
export function pingGroupRange(): string {
  return fs.readFileSync(PING_GROUP_RANGE, 'utf8').trim().split(/\s+/).join(' ');
}

/** true when this process may change net.ipv4.ping_group_range (root with a writable /proc/sys) */
export function canSetPingGroupRange(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    fs.accessSync(PING_GROUP_RANGE, fs.constants.W_OK);
    fs.writeFileSync(PING_GROUP_RANGE, pingGroupRange());
    return true;
  } catch {
    return false;
  }
}

/** run `fn` with net.ipv4.ping_group_range set to `range`, restoring the previous value afterwards */
export async function withPingGroupRange<T>(range: string, fn: () => T | Promise<T>): Promise<T> {
  const old = pingGroupRange();
  fs.writeFileSync(PING_GROUP_RANGE, range);
  try {
    return await fn();
  } finally {
    fs.writeFileSync(PING_GROUP_RANGE, old);
  }
}

/** a range holding only this process's group */
export function ownGroupRange(): string {
  const g = process.getgid?.() ?? 0;
  return `${g} ${g}`;
}
