// `npm run bench`: every figure of the bench, each section selectable with --only: the vhost-user
// back-end's packets/s with the bench process as the guest (no QEMU), the receive path's stages
// (issue 4), the qdiscs (issue 4), the TCP model's bulk throughput and idle memory (issue 3) and a real
// guest's iperf3 over skbnet vs -netdev user (issue 3). See USAGE; plain text out, exit 0 when every
// measurement ran.
import * as path from 'path';
import { measure, fmtRate, MeasureOptions, PathKind, Result } from './measure';
import { CsumMode, MIN_UDP_FRAME } from './bench-frames';
import { benchRxStages } from './bench-rx-stages';
import { benchQdisc } from './bench-qdisc';
import { benchTcpModel } from './bench-tcp-model';
import { benchIperf3 } from './bench-iperf3';

/** the sections, in the order they run */
const SECTIONS = ['vhost', 'rx', 'qdisc', 'tcp', 'idle', 'iperf3'] as const;
type Section = (typeof SECTIONS)[number];

const CLI = path.resolve(__dirname, '..', '..', 'emulator', 'cli.js');
const SKBNET = `${process.execPath} ${CLI} serve --vhost-user {sock} --quiet`;
/** target from the issue: 64-byte frames through the tx path on one core */
const TARGET_PPS = 1e6;

const USAGE = `usage: npm run bench -- [options]
  --only LIST                 sections to run, comma-separated (default all):
                              vhost  vhost-user tx/echo packets/s, the bench as the guest
                              rx     receive path: NAPI → GRO → RPS → netif_receive_skb, ns/pkt per stage, pps
                              qdisc  fq_codel and netem enqueue/dequeue Mpps
                              tcp    TCP model ↔ TCP model bulk Gbit/s (in process)
                              idle   memory per idle TCP connection (test/bench/tcp-idle-memory.ts)
                              iperf3 guest iperf3 over skbnet vs -netdev user, both directions
  --iperf-seconds N           iperf3 time per direction (default 10)
  --iperf-port N              host iperf3 server port on 127.0.0.1 (default 5299)
  --rx-packets N              frames per receive-path row (default 2000000)
  --rx-flows N                interleaved TCP flows (default 64)
  --rps-cpus N                virtual CPUs of the RPS rows (default 2)
  --qdisc-packets N           packets per qdisc row (default 2000000)
  --tcp-mib N                 MiB moved by the TCP model bulk row (default 256)
  --tcp-mtu N                 MTU of the TCP model link (default 1500)
  --idle-conns N              connections for the idle-memory row (default 1000)
 vhost section:
  --backend-cmd 'CMD {sock}'  back-end to measure ({sock}: a socket path in a temp dir); default skbnet:
                              ${SKBNET}
  --compare                   with --backend-cmd: measure skbnet too and print other/skbnet ratios
  --seconds N                 measuring time per row (default 3)
  --warmup N                  seconds of traffic before measuring (default 1)
  --ring N                    virtqueue size of both rings (default 256, QEMU's)
  --sizes A,B                 frame sizes in bytes, Ethernet header included (default 64,1500)
  --paths tx,echo             which paths (default both)
  --csum full|offload         tx path UDP checksum: complete in the frame (default) or NEEDS_CSUM
  --tx-irq every|delayed      transmitq interrupt on every completion batch (default: the guest refills at
                              once, the ring stays full) or after 3/4 of the ring completed (as Linux
                              virtio-net arms it with napi_tx when its ring is full)
  --poll                      the guest polls both used rings on every event-loop turn with interrupts off
                              (a guest whose NAPI never completes); costs the bench a core
`;

interface Args extends MeasureOptions {
  only: Set<Section>;
  iperfSeconds: number;
  iperfPort: number;
  rxPackets: number;
  rxFlows: number;
  rpsCpus: number;
  qdiscPackets: number;
  tcpMiB: number;
  tcpMtu: number;
  idleConns: number;
  backendCmd: string | null;
  compare: boolean;
  sizes: number[];
  paths: PathKind[];
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    only: new Set(SECTIONS), iperfSeconds: 10, iperfPort: 5299, rxPackets: 2_000_000, rxFlows: 64, rpsCpus: 2,
    qdiscPackets: 2_000_000, tcpMiB: 256, tcpMtu: 1500, idleConns: 1000,
    backendCmd: null, compare: false, seconds: 3, warmup: 1, ring: 256, csum: 'full', txIrq: 'every', poll: false, sizes: [64, 1500], paths: ['tx', 'echo'] };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const val = (): string => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    const num = (lo: number, hi: number): number => {
      const v = Number(val());
      if (!(v >= lo && v <= hi)) throw new Error(`${k} must be in [${lo}, ${hi}]`);
      return v;
    };
    switch (k) {
      case '--only': {
        const list = val().split(',');
        for (const x of list) if (!(SECTIONS as readonly string[]).includes(x)) throw new Error(`--only: one of ${SECTIONS.join(', ')}`);
        a.only = new Set(list as Section[]);
        break;
      }
      case '--iperf-seconds': a.iperfSeconds = num(1, 3600); break;
      case '--iperf-port': a.iperfPort = num(1024, 65535); break;
      case '--rx-packets': a.rxPackets = num(1e4, 1e9); break;
      case '--rx-flows': a.rxFlows = num(1, 1024); break;
      case '--rps-cpus': a.rpsCpus = num(2, 64); break;
      case '--qdisc-packets': a.qdiscPackets = num(1e4, 1e9); break;
      case '--tcp-mib': a.tcpMiB = num(1, 65536); break;
      case '--tcp-mtu': a.tcpMtu = num(576, 65520); break;
      case '--idle-conns': a.idleConns = num(1, 100000); break;
      case '--backend-cmd': a.backendCmd = val(); break;
      case '--compare': a.compare = true; break;
      case '--poll': a.poll = true; break;
      case '--seconds': a.seconds = num(0.1, 3600); break;
      case '--warmup': a.warmup = num(0, 600); break;
      case '--ring': {
        a.ring = num(2, 32768);
        if (a.ring & (a.ring - 1)) throw new Error('--ring must be a power of 2');
        break;
      }
      case '--sizes':
        a.sizes = val().split(',').map(Number);
        if (a.sizes.some((s) => !Number.isInteger(s) || s < MIN_UDP_FRAME || s > 2048 - 12)) {
          throw new Error(`--sizes: each in [${MIN_UDP_FRAME}, ${2048 - 12}] (one receive buffer)`);
        }
        break;
      case '--paths':
        a.paths = val().split(',') as PathKind[];
        if (a.paths.some((p) => p !== 'tx' && p !== 'echo')) throw new Error('--paths: tx and/or echo');
        break;
      case '--csum': {
        const c = val();
        if (c !== 'full' && c !== 'offload') throw new Error('--csum: full or offload');
        a.csum = c as CsumMode;
        break;
      }
      case '--tx-irq': {
        const m = val();
        if (m !== 'delayed' && m !== 'every') throw new Error('--tx-irq: delayed or every');
        a.txIrq = m;
        break;
      }
      case '-h': case '--help': process.stdout.write(USAGE); process.exit(0);
      // eslint-disable-next-line no-fallthrough
      default: throw new Error(`unknown option ${k}`);
    }
  }
  if (a.compare && !a.backendCmd) throw new Error('--compare needs --backend-cmd');
  return a;
}

const PATH_TEXT: Record<PathKind, string> = {
  tx: 'tx:   guest transmitq → NAPI poll → netif_receive_skb (UDP to a closed port); counts completed tx buffers',
  echo: 'echo: ICMP echo requests on the transmitq → replies in guest rx buffers (tx+rx); counts echo replies',
};

/** frames moved per CPU-second of the back-end (its pps if it had exactly one core to itself) */
function perCpu(r: Result): number | null {
  return r.pps !== null && r.backendCpu !== null && r.backendCpu > 0 ? (r.pps * r.elapsed) / r.backendCpu : null;
}

function row(r: Result): string[] {
  const cells = [r.path, `${r.frameLen} B`];
  if (r.pps === null) cells.push('n/a', 'n/a');
  else cells.push(fmtRate(r.pps), (r.pps * r.frameLen * 8 / 1e9).toFixed(3));
  if (r.backendCpu === null || r.elapsed === 0) cells.push('n/a', 'n/a');
  else {
    cells.push(`${r.backendCpu.toFixed(2)} s (${Math.round(100 * r.backendCpu / r.elapsed)}%)`);
    const pc = perCpu(r);
    cells.push(pc === null ? 'n/a' : fmtRate(pc));
  }
  cells.push(r.elapsed > 0 ? `${r.benchCpu.toFixed(2)} s (${Math.round(100 * r.benchCpu / r.elapsed)}%)` : 'n/a');
  cells.push(r.error ? 'ERROR (below)' : r.notes.join('; '));
  return cells;
}

function table(rows: string[][]): string {
  const head = ['path', 'frame', 'pps', 'Gbit/s', 'back-end CPU', 'pps/CPU-s', 'bench CPU', 'notes'];
  const all = [head, ...rows];
  const w = head.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  return all.map((r) => r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(w[c]))).join('  ').trimEnd()).join('\n');
}

async function runBackend(label: string, cmd: string, a: Args): Promise<Result[]> {
  process.stdout.write(`\n${label}: ${cmd}\n`);
  const results: Result[] = [];
  let broken: Result | null = null;
  for (const p of a.paths) {
    for (const size of a.sizes) {
      if (broken) {
        results.push({ ...broken, path: p, frameLen: size, error: 'skipped: the back-end did not start (see above)' });
        continue;
      }
      const r = await measure(cmd, p, size, a);
      results.push(r);
      if (r.error && r.startFailed) broken = r;
      process.stdout.write(`  measured ${p} ${size} B: ${r.error ? 'failed' : r.pps === null ? 'n/a' : fmtRate(r.pps) + ' pps'}\n`);
    }
  }
  process.stdout.write(table(results.map(row)) + '\n');
  for (const r of results) if (r.error) process.stdout.write(`ERROR ${r.path} ${r.frameLen} B: ${r.error}\n`);
  return results;
}

function ratio(o: number | null, s: number | null): string {
  return o !== null && s !== null && s > 0 ? `${(o / s).toFixed(2)}×` : 'n/a';
}

async function main(): Promise<number> {
  let a: Args;
  try {
    a = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const out = (t: string): void => {
    process.stdout.write(t);
  };
  out(`skbnet bench (${[...a.only].join(', ')}), ${process.platform} node ${process.version}; npm run bench -- --help for the options\n`);
  let ok = true;
  if (a.only.has('vhost')) ok = (await benchVhost(a)) && ok;
  if (a.only.has('rx')) ok = (await benchRxStages({ packets: a.rxPackets, flows: a.rxFlows, rpsCpus: a.rpsCpus }, out)) && ok;
  if (a.only.has('qdisc')) ok = benchQdisc({ packets: a.qdiscPackets }, out) && ok;
  if (a.only.has('tcp') || a.only.has('idle')) {
    ok = (await benchTcpModel({ bytes: a.tcpMiB * 2 ** 20, mtu: a.tcpMtu, idleConns: a.idleConns }, out, { bulk: a.only.has('tcp'), idle: a.only.has('idle') })) && ok;
  }
  if (a.only.has('iperf3')) ok = (await benchIperf3({ seconds: a.iperfSeconds, port: a.iperfPort }, out)) && ok;
  return ok ? 0 : 1;
}

/** the vhost-user section (the bench plays the guest over vhost-user, no QEMU) */
async function benchVhost(a: Args): Promise<boolean> {
  process.stdout.write(`\n== vhost-user back-end, the bench as the guest ==\n`);
  process.stdout.write(`skbnet vhost-user bench: ring ${a.ring}, ${a.warmup} s warm-up + ${a.seconds} s per row, ` +
    `tx UDP checksum ${a.csum === 'full' ? 'in the frame' : 'offloaded (NEEDS_CSUM)'}, ` +
    `${a.poll ? 'guest polling (no interrupts)' : `tx interrupts ${a.txIrq === 'delayed' ? 'at 3/4 of the ring' : 'per completion'}`}, ${process.platform} node ${process.version}\n`);
  for (const p of a.paths) process.stdout.write(`  ${PATH_TEXT[p]}\n`);
  process.stdout.write('  Gbit/s counts Ethernet frame bytes (no virtio header, no FCS); CPU: /proc/PID/stat utime+stime of the back-end, process.cpuUsage() of the bench (the guest side)\n');

  const runs: { label: string; cmd: string }[] = [];
  if (!a.backendCmd || a.compare) runs.push({ label: 'skbnet', cmd: SKBNET });
  if (a.backendCmd) runs.push({ label: 'back-end', cmd: a.backendCmd });
  const all: Result[][] = [];
  for (const r of runs) all.push(await runBackend(r.label, r.cmd, a));

  const sk = runs[0].cmd === SKBNET ? all[0] : null;
  if (sk) {
    const tx64 = sk.find((r) => r.path === 'tx' && r.frameLen === 64);
    if (tx64) {
      const ok = tx64.pps !== null && tx64.pps >= TARGET_PPS;
      process.stdout.write(`\ntarget ≥ ${fmtRate(TARGET_PPS)} pps of 64-byte frames on the tx path: ${tx64.pps === null ? 'n/a' : fmtRate(tx64.pps)} — ${ok ? 'met' : 'NOT met'}` +
        `${perCpu(tx64) !== null ? ` (${fmtRate(perCpu(tx64)!)} per back-end CPU-second)` : ''}\n`);
    }
  }
  if (a.compare && all.length === 2) {
    process.stdout.write('\nratio other/skbnet (pps, pps per back-end CPU-second):\n');
    for (let i = 0; i < all[0].length; i++) {
      const s = all[0][i];
      const o = all[1][i];
      process.stdout.write(`  ${s.path.padEnd(4)} ${String(s.frameLen).padStart(5)} B  pps ${ratio(o.pps, s.pps).padStart(7)}  pps/CPU-s ${ratio(perCpu(o), perCpu(s)).padStart(7)}\n`);
    }
  }
  return !all.some((rs) => rs.some((r) => r.error));
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`bench: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
