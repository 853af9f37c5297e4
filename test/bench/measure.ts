// One measurement: a fresh back-end process, the bench playing the guest over vhost-user, one path
// (tx or echo) at one frame size, a warm-up, then --seconds of counting.
import { arpRequest, GUEST_MAC, GATEWAY_MAC } from '../support/frames';
import { VirtioNetSession, until } from '../support/vhost-user-session';
import { BackendProcess } from './backend-process';
import { FixedRing } from './fixed-ring';
import {
  CsumMode, GATEWAY_IP, GUEST_IP, RxKind, arpSenderIp, arpSenderMac, classify, echoRequest, numBuffers, udpFrame,
  withVirtioHeader,
} from './bench-frames';

/** tx: guest transmitq → back-end (netif_receive_skb → UDP NoPorts); echo: ICMP echo → reply in the receiveq */
export type PathKind = 'tx' | 'echo';

export interface MeasureOptions {
  seconds: number;
  warmup: number;
  ring: number;
  csum: CsumMode;
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
}

/** receive buffer size, as Linux virtio-net uses for mergeable buffers at MTU 1500 */
const RX_BUF = 2048;
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
  let tx: FixedRing | null = null;
  let rx: FixedRing | null = null;
  try {
    await be.waitForSocket();
    const ramSize = 0x1000000 * Math.max(1, Math.ceil(opts.ring / 1024));
    session = await withTimeout(VirtioNetSession.start(be.socket, { ringSize: opts.ring, ramSize }), 10000, 'vhost-user start');
    rx = new FixedRing(session.rx, session.ram, RX_BUF, true);
    tx = new FixedRing(session.tx, session.ram, 12 + Math.max(frameLen, 64), false);

    // what lands in the receiveq, frame by frame (a mergeable frame's later buffers are skipped)
    const seen = [0, 0, 0, 0];
    let wrongSize = 0;
    let rest = 0;
    let gwMac: Uint8Array | null = null;
    const bytes = session.ram.bytes;
    rx.autoRepost = true;
    rx.listen((_id, len, o) => {
      if (rest > 0) {
        rest--;
        return;
      }
      rest = Math.max(1, numBuffers(bytes, o)) - 1;
      const kind = classify(bytes, o, len);
      seen[kind]++;
      if (kind === RxKind.EchoReply && (rest > 0 || len - 12 !== frameLen)) wrongSize++;
      if (kind === RxKind.ArpReply && gwMac === null && arpSenderIp(bytes, o + 12) === GATEWAY_IP) gwMac = arpSenderMac(bytes, o + 12);
    });
    rx.post();
    tx.listen(null);

    // ARP first, so the back-end knows the guest and we learn the gateway's MAC
    tx.fill(0, withVirtioHeader(arpRequest(GUEST_MAC, GUEST_IP, GATEWAY_IP), 'full'));
    tx.post(0, 1);
    try {
      await until(() => tx!.completed >= 1, 3000, 'the ARP request to complete');
    } catch {
      res.notes.push('transmitq never completed');
      return res;
    }
    try {
      await until(() => gwMac !== null, 1000, 'an ARP reply');
    } catch {
      res.notes.push(`no ARP reply; sending to ${mac(GATEWAY_MAC)}`);
    }
    const dst = gwMac ?? GATEWAY_MAC;

    for (let i = 0; i < tx.size; i++) {
      const frame = path === 'tx' ? udpFrame(frameLen, dst, opts.csum) : echoRequest(frameLen, dst, ECHO_ID, i);
      tx.fill(i, withVirtioHeader(frame, path === 'tx' ? opts.csum : 'full'));
    }
    tx.autoRepost = true;
    tx.post();
    await sleep(opts.warmup * 1000);

    const counted = (): number => (path === 'tx' ? tx!.completed : seen[RxKind.EchoReply]);
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
    tx.stop();
    rx.stop();

    res.elapsed = elapsed;
    res.benchCpu = (me.user + me.system) / 1e6;
    res.backendCpu = cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null;
    res.txPps = (tx.completed - tx0) / elapsed;
    res.pps = n > 0 ? n / elapsed : null;
    if (!be.running) res.error = `back-end exited during the run (${be.exitCode ?? be.exitSignal}):\n${be.output}`;
    if (res.pps === null) res.notes.push(path === 'tx' ? 'no transmit completions' : 'no echo replies');
    if (path === 'tx' && seen[RxKind.PortUnreach] > 0) res.notes.push(`port-unreach ${seen[RxKind.PortUnreach]}`);
    if (path === 'echo') res.notes.push(`requests ${fmtRate(res.txPps)}/s`);
    if (wrongSize > 0) res.notes.push(`${wrongSize} replies of another size`);
    if (seen[RxKind.Other] > 0) res.notes.push(`other rx ${seen[RxKind.Other]}`);
    res.notes.push(`kicks ${tx.kicks}, irqs ${tx.interrupts}+${rx.interrupts}`);
    return res;
  } catch (e) {
    res.error = (e as Error).message + (be.output ? `\nback-end output:\n${be.output}` : '');
    return res;
  } finally {
    tx?.stop();
    rx?.stop();
    session?.close();
    await be.stop();
  }
}

function mac(m: Uint8Array): string {
  return Array.from(m, (b) => b.toString(16).padStart(2, '0')).join(':');
}

export function fmtRate(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(3)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  return v.toFixed(0);
}
