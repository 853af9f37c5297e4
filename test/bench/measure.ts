// One measurement: a fresh back-end process, the bench playing the guest over vhost-user, one path
// (tx or echo) at one frame size, a warm-up, then --seconds of counting.
import { VirtioNetSession } from '../support/vhost-user-session';
import { BackendProcess } from './backend-process';
import { setDriverOk } from './device-status';
import { BenchGuest } from './bench-guest';
import { CsumMode, RxKind, echoRequest, udpFrame, withVirtioHeader } from './bench-frames';

/** tx: guest transmitq → back-end (netif_receive_skb → UDP NoPorts); echo: ICMP echo → reply in the receiveq */
export type PathKind = 'tx' | 'echo';

export interface MeasureOptions {
  seconds: number;
  warmup: number;
  ring: number;
  csum: CsumMode;
  /** transmitq interrupts: after 3/4 of the ring (Linux virtio-net with napi_tx) or after every completion */
  txIrq: 'delayed' | 'every';
  /** also look at both used rings on every event-loop turn, as a guest that is busy transmitting does
   *  (start_xmit frees completed buffers each time); costs the bench a core */
  poll: boolean;
}

export interface Result {
  path: PathKind;
  frameLen: number;
  /** frames per second through the path, null when the back-end moved none (n/a) */
  pps: number | null;
  /** back-end CPU seconds during the window (null when /proc could not tell) */
  backendCpu: number | null;
  /** this process's CPU seconds (the guest side) during the window */
  benchCpu: number;
  elapsed: number;
  /** tx completions per second (echo path: the requests) */
  txPps: number;
  notes: string[];
  error?: string;
  /** the back-end could not even be started and connected: later rows would fail the same way */
  startFailed?: boolean;
}

const ECHO_ID = 0x5b3e;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(t);
  }
}

export async function measure(template: string, path: PathKind, frameLen: number, opts: MeasureOptions): Promise<Result> {
  const res: Result = { path, frameLen, pps: null, backendCpu: null, benchCpu: 0, elapsed: 0, txPps: 0, notes: [] };
  const be = new BackendProcess(template);
  let session: VirtioNetSession | null = null;
  let guest: BenchGuest | null = null;
  try {
    res.startFailed = true;
    await be.waitForSocket();
    const ramSize = 0x1000000 * Math.max(1, Math.ceil(opts.ring / 1024));
    session = await withTimeout(VirtioNetSession.start(be.socket, { ringSize: opts.ring, ramSize }), 10000, 'vhost-user start');
    if (await withTimeout(setDriverOk(session), 5000, 'device status')) res.notes.push('SET_STATUS');
    res.startFailed = false;
    guest = new BenchGuest(session, frameLen, opts.txIrq);
    if (!(await guest.arpGateway(res.notes))) return res;
    const dst = guest.gateway;
    const udp = path === 'tx' ? withVirtioHeader(udpFrame(frameLen, dst, opts.csum), opts.csum) : null;
    guest.startLoad((i) => udp ?? withVirtioHeader(echoRequest(frameLen, dst, ECHO_ID, i), 'full'), opts.poll);
    await sleep(opts.warmup * 1000);

    const { tx, rx, seen } = guest;
    const counted = (): number => (path === 'tx' ? tx.completed : seen[RxKind.EchoReply]);
    const t0 = process.hrtime.bigint();
    const c0 = counted();
    const tx0 = tx.completed;
    const cpu0 = be.cpuSeconds();
    const me0 = process.cpuUsage();
    await sleep(opts.seconds * 1000);
    const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
    const n = counted() - c0;
    const cpu1 = be.cpuSeconds();
    const me = process.cpuUsage(me0);
    guest.stop();

    res.elapsed = elapsed;
    res.benchCpu = (me.user + me.system) / 1e6;
    res.backendCpu = cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null;
    res.txPps = (tx.completed - tx0) / elapsed;
    res.pps = n > 0 ? n / elapsed : null;
    if (!be.running) res.error = `back-end exited during the run (${be.exitCode ?? be.exitSignal})\n${be.outputTail}`;
    if (res.pps === null) res.notes.push(path === 'tx' ? 'no transmit completions' : 'no echo replies');
    if (path === 'tx' && seen[RxKind.PortUnreach] > 0) res.notes.push(`port-unreach ${seen[RxKind.PortUnreach]}`);
    if (path === 'echo') res.notes.push(`requests ${fmtRate(res.txPps)}/s`);
    if (guest.wrongSize > 0) res.notes.push(`${guest.wrongSize} replies of another size`);
    if (guest.arpAnswered > 0) res.notes.push(`answered ${guest.arpAnswered} ARP`);
    if (tx.bad + rx.bad > 0) res.notes.push(`${tx.bad + rx.bad} used elements naming no posted buffer`);
    if (seen[RxKind.Other] > 0) res.notes.push(`other rx ${seen[RxKind.Other]}`);
    res.notes.push(`tx kicks ${tx.kicks}, irqs tx ${tx.interrupts} rx ${rx.interrupts}`);
    return res;
  } catch (e) {
    res.error = (e as Error).message + (be.output ? `; back-end output:\n${be.outputTail}` : '');
    return res;
  } finally {
    guest?.stop();
    session?.close();
    await be.stop();
  }
}

export function fmtRate(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(3)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return v.toFixed(0);
}
