// Host-side ends for tests that carry guest traffic to this machine's sockets (the TCP/UDP host
// proxies): TCP servers on an ephemeral port, this machine's addresses, an iperf3 UDP run from a guest.
import { createHash } from 'crypto';
import { spawn } from 'child_process';
import * as net from 'net';
import * as os from 'os';
import type { Guest } from './guest';

export function md5(b: Uint8Array): string {
  return createHash('md5').update(b).digest('hex');
}

/** this machine's own global IPv6 address (not loopback, not link-local), if any */
export function ownIpv6(): string | null {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv6' && !a.internal && !a.address.startsWith('fe80')) return a.address;
  }
  return null;
}

/** the loopback interface has ::1 (not so in every container) */
export function hasLoopback6(): boolean {
  return (os.networkInterfaces().lo ?? []).some((a) => a.address === '::1');
}

/** a TCP server (half-open allowed) on an ephemeral port of `host` */
export async function serve(onConn: (c: net.Socket) => void, host = '127.0.0.1'): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer({ allowHalfOpen: true }, onConn);
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  return { server, port: (server.address() as net.AddressInfo).port };
}

/**
 * `iperf3 -u` (1 s at 2 Mbit/s, 1000-byte datagrams) from the guest to `target`:`port`, against a
 * one-shot iperf3 server on this machine bound to `bind`. The guest's exit status and output, and the
 * datagrams the receiver counted (-1 when its summary line is missing).
 */
export async function iperf3UdpFromGuest(guest: Guest, bind: string, target: string, port: number): Promise<{ code: number; output: string; datagrams: number }> {
  const server = spawn('iperf3', ['-s', '-1', '-B', bind, '-p', String(port)], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 300));
    const r = await guest.run(`iperf3 -u -c ${target} -p ${port} -t 1 -b 2M -l 1000`, 30000);
    // the receiver's line: "… sec  X KBytes  Y Kbits/sec  J ms  lost/total (P%)  receiver"
    const m = /(\d+)\/(\d+) \([\d.e+-]+%\)\s+receiver/.exec(r.output);
    return { code: r.code, output: r.output, datagrams: m === null ? -1 : Number(m[2]) };
  } finally {
    server.kill();
  }
}

/**
 * TCP `iperf3 -c target -p port -t seconds [-R]` from the guest against a one-shot iperf3 server on this
 * machine bound to `bind`: the guest's exit status and output, and the receiver's Mbit/s (-1 when its
 * summary line is missing). With -R the host sends and the guest receives.
 */
export async function iperf3TcpFromGuest(
  guest: Guest,
  bind: string,
  target: string,
  port: number,
  opts: { reverse?: boolean; seconds?: number } = {},
): Promise<{ code: number; output: string; mbit: number }> {
  const server = spawn('iperf3', ['-s', '-1', '-B', bind, '-p', String(port)], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 300));
    const r = await guest.run(`iperf3 -c ${target} -p ${port} -t ${opts.seconds ?? 3} -f m${opts.reverse ? ' -R' : ''}`, 60000);
    // "[  5]   0.00-3.00   sec   X MBytes   Y Mbits/sec                  receiver"
    const m = /([\d.]+) Mbits\/sec\s+receiver/.exec(r.output);
    return { code: r.code, output: r.output, mbit: m === null ? -1 : Number(m[1]) };
  } finally {
    server.kill();
  }
}
