// Issue 3's guest figures: iperf3 in the fixture guest (QEMU TCG, one vCPU) over skbnet (vhost-user)
// and over QEMU's own `-netdev user` (libslirp) in the same run, guest→host and host→guest (-R),
// against `iperf3 -s -B 127.0.0.1` on the host, reached as 10.0.2.2 by both. Printed as Mbit/s (the
// receiver's figure), the ratio skbnet/slirp, and the back-end's CPU seconds per GB moved: skbnet's
// process from /proc/PID/stat utime+stime; for libslirp, QEMU's threads other than its vCPU threads
// (the main loop runs slirp and the virtio-net emulation), as /work/shared/reference/baselines.md
// measured the peers.
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import { Guest } from '../support/guest';
import { GUEST_DHCP, GuestOnSkbnet } from '../support/guest-on-skbnet';

export interface Iperf3BenchOptions {
  /** seconds per direction */
  seconds: number;
  port: number;
}

type Dir = 'g2h' | 'h2g';

interface DirResult {
  mbps: number | null;
  bytes: number;
  cpu: number | null;
  error?: string;
}

const CLK_TCK = 100;

/** utime + stime of a process (seconds), or of the listed threads */
function procCpu(pid: number, tids?: number[]): number | null {
  try {
    const read = (p: string): number => {
      const s = fs.readFileSync(p, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      return (Number(f[11]) + Number(f[12])) / CLK_TCK; // fields 14 and 15
    };
    if (!tids) return read(`/proc/${pid}/stat`);
    let sum = 0;
    for (const t of tids) {
      try {
        sum += read(`/proc/${pid}/task/${t}/stat`);
      } catch {
        /* thread gone */
      }
    }
    return sum;
  } catch {
    return null;
  }
}

/** QEMU's threads that are not vCPUs (comm "CPU n/TCG" or "CPU n/KVM") */
function qemuNonVcpuThreads(pid: number): number[] {
  const out: number[] = [];
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    const comm = fs.readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim();
    if (!/^CPU \d+\//.test(comm)) out.push(Number(t));
  }
  return out;
}

function iperfServer(port: number): Promise<ChildProcess> {
  const p = spawn('iperf3', ['-s', '-B', '127.0.0.1', '-p', String(port), '--forceflush'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (b: Buffer): void => {
      out += b.toString();
      if (/Server listening/.test(out)) {
        clearTimeout(timer);
        resolve(p);
      }
    };
    p.stdout!.on('data', onData);
    p.stderr!.on('data', onData);
    p.once('error', (e) => reject(new Error(`iperf3 -s: ${e.message} (apt install iperf3)`)));
    p.once('exit', (c) => reject(new Error(`iperf3 -s exited (${c}): ${out}`)));
    const timer = setTimeout(() => {
      p.kill();
      reject(new Error(`iperf3 -s did not start: ${out}`));
    }, 5000);
  });
}

async function runDir(guest: Guest, o: Iperf3BenchOptions, dir: Dir, cpu: () => number | null): Promise<DirResult> {
  const cmd = `iperf3 -c 10.0.2.2 -p ${o.port} -t ${o.seconds} -i 0 -J${dir === 'h2g' ? ' -R' : ''}`;
  const c0 = cpu();
  const r = await guest.run(cmd, (o.seconds + 40) * 1000);
  const c1 = cpu();
  const res: DirResult = { mbps: null, bytes: 0, cpu: c0 !== null && c1 !== null ? c1 - c0 : null };
  try {
    const j = JSON.parse(r.output.slice(r.output.indexOf('{'))) as { end?: { sum_received?: { bits_per_second: number; bytes: number } }; error?: string };
    if (j.error) res.error = j.error;
    const s = j.end?.sum_received;
    if (s) {
      res.mbps = s.bits_per_second / 1e6;
      res.bytes = s.bytes;
    }
  } catch {
    res.error = `exit ${r.code}: ${r.output.slice(-300)}`;
  }
  return res;
}

const fmt = (r: DirResult): string => (r.mbps === null ? 'n/a' : `${r.mbps.toFixed(0)} Mbit/s`);
const perGb = (r: DirResult): string => (r.cpu === null || r.bytes === 0 ? 'n/a' : `${(r.cpu / (r.bytes / 1e9)).toFixed(2)} s/GB`);

export async function benchIperf3(o: Iperf3BenchOptions, out: (s: string) => void): Promise<boolean> {
  out(`\n== guest iperf3 (issue 3): skbnet vs -netdev user, same guest image (QEMU TCG, 1 vCPU, 256 MiB), ${o.seconds} s per direction ==\n`);
  out(`   host: iperf3 -s -B 127.0.0.1 -p ${o.port}; guest: iperf3 -c 10.0.2.2 -p ${o.port} -t ${o.seconds} [-R]; Mbit/s = receiver's\n`);
  let server: ChildProcess;
  try {
    server = await iperfServer(o.port);
  } catch (e) {
    out(`  ERROR: ${(e as Error).message}\n`);
    return false;
  }
  const results: Record<string, Record<Dir, DirResult>> = {};
  let ok = true;
  try {
    for (const backend of ['skbnet', 'slirp'] as const) {
      let setup: GuestOnSkbnet | null = null;
      let guest: Guest | null = null;
      try {
        let cpu: () => number | null;
        if (backend === 'skbnet') {
          setup = await new GuestOnSkbnet('bench-iperf3').start('bench-skbnet', [], { dhcp: true });
          guest = setup.guest;
          const pid = setup.skbnet.proc.pid!;
          cpu = () => procCpu(pid);
        } else {
          guest = await Guest.boot({ name: 'bench-slirp', netArgs: ['-netdev', 'user,id=n0', '-device', 'virtio-net-pci,netdev=n0,vectors=0,romfile='] });
          const d = await guest.run(GUEST_DHCP, 40000);
          if (d.code !== 0) throw new Error(`DHCP on -netdev user failed: ${d.output}`);
          const pid = guest.pid!;
          cpu = () => procCpu(pid, qemuNonVcpuThreads(pid));
        }
        const r = { g2h: await runDir(guest, o, 'g2h', cpu), h2g: await runDir(guest, o, 'h2g', cpu) };
        results[backend] = r;
        out(`  ${backend.padEnd(7)} guest→host ${fmt(r.g2h).padStart(13)} (${perGb(r.g2h)} back-end CPU)   host→guest ${fmt(r.h2g).padStart(13)} (${perGb(r.h2g)} back-end CPU)\n`);
        for (const d of ['g2h', 'h2g'] as const) {
          if (r[d].error) {
            out(`    ERROR ${backend} ${d}: ${r[d].error}\n`);
            ok = false;
          }
        }
      } catch (e) {
        out(`  ERROR ${backend}: ${(e as Error).message.slice(0, 2000)}\n`);
        ok = false;
      } finally {
        if (setup) await setup.stop();
        else await guest?.shutdown();
      }
    }
  } finally {
    server.kill();
  }
  const s = results.skbnet;
  const l = results.slirp;
  if (s && l) {
    const ratio = (d: Dir): string => (s[d].mbps !== null && l[d].mbps ? `${(s[d].mbps! / l[d].mbps!).toFixed(2)}×` : 'n/a');
    out(`  ratio skbnet/slirp: guest→host ${ratio('g2h')}, host→guest ${ratio('h2g')} (target ≥ 1.5× both ways)\n`);
    out('  back-end CPU: skbnet = its process; slirp = QEMU minus its vCPU threads (main loop: slirp + virtio-net emulation)\n');
  }
  return ok;
}
