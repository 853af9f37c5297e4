#!/usr/bin/env node
// skbnet's command line: `serve`, `qemu`, `help`.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Emulator } from './emulator';
import { parseServeOptions, UsageError, formatMac, nthMac } from './options';
import { findMemory, sharedMemoryArgs, usesKvm, vhostUserNicArgs } from './qemu-args';
import { controlRequest } from './control/client';
import { formatNstat, historyPath, parseNstatArgs, readHistory, writeHistory } from './views/nstat';

const USAGE = `usage:
  skbnet serve --vhost-user PATH [--vhost-user PATH…] [options]
      serve guests on vhost-user sockets until SIGINT/SIGTERM
  skbnet qemu [options] -- [qemu-system-x86_64] QEMU-ARGS…
      start skbnet and QEMU wired together; exits with QEMU's status
  skbnet nstat [-a] [-z] [-r] [-n] [PATTERN…]    the model's MIB counters, as iproute2's nstat
  skbnet ip [-s] link [show [dev DEV]]          the model's devices, as \`ip -s link\`
  skbnet softnet                                 per-CPU softnet counters, as /proc/net/softnet_stat
  skbnet tc [-s] qdisc|class …                   show or change qdiscs at run time, in tc's own syntax
  skbnet ss [-t] [-u] [-4|-6] [-i] [-n] [-a] [-l] [-o]
      the model's sockets (queues, tcp_info), as iproute2's ss
  skbnet services                                the proxies' and services' own counters (caps hit, …)
      views take --control PATH (or $SKBNET_CONTROL) and --guest N (default 0)
options:
  --vhost-user PATH   a vhost-user socket to listen on (created 0600); repeat for more guests
  --queues N          virtio-net queue pairs per guest (default 1)
  --mac MAC           MAC of the (first) guest NIC, for the QEMU line (default 52:54:00:12:34:56)
  --net CIDR          the guest network (default 10.0.2.0/24: gateway .2, DNS .3, DHCP from .15)
  --pcap FILE         write every frame in and out of each device to FILE (pcap)
  --control PATH      open a control socket (0600) for the views below
  --tc "qdisc …"      a tc command (iproute2 syntax, without "tc") applied at start; repeatable;
                      dev ifb0 is eth0's ingress (frames from the guest), e.g. "qdisc replace dev ifb0 root netem loss 5%"
  --dns-forward ADDR[:PORT]  where the DNS address (10.0.2.3, fec0::3) forwards queries
                      (default: the first nameserver in /etc/resolv.conf)
  --hostfwd [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT
                      forward a host port into the (first) guest, as -netdev user,hostfwd=;
                      repeatable; HOSTADDR defaults to 127.0.0.1, GUESTADDR to 10.0.2.15
  --restrict          the guest reaches only forwarded ports and DNS (-netdev user,restrict=on)
  --max-connections N TCP connections and UDP flows per guest at most (default 1024)
  --max-buffer BYTES  bytes a TCP connection buffers per direction at most (default 1048576)
  --sysctl NAME=VALUE the kernel profile, repeatable: net.core.netdev_budget (300),
                      net.core.netdev_budget_usecs (2 jiffies), net.core.dev_weight (64),
                      net.core.dev_weight_rx_bias / _tx_bias (1), net.core.netdev_max_backlog (1000),
                      kernel.hz (CONFIG_HZ: 100|250|300|1000, default 250),
                      kernel.osrelease (6.1|6.12, default 6.1: the counters nstat, --metrics and
                      softnet list, in that version's /proc order),
                      /sys/class/net/eth0/gro_flush_timeout (ns, 0), /sys/class/net/eth0/napi_defer_hard_irqs (0);
                      RPS/RFS (Documentation/networking/scaling.rst), off by default:
                      /sys/class/net/eth0/queues/rx-N/rps_cpus=MASK (CPUs whose backlogs take rx-N's
                        packets, by flow hash), /sys/class/net/eth0/queues/rx-N/rps_flow_cnt (RFS flow
                        table entries, rounded up to a power of 2), net.core.rps_sock_flow_entries (RFS
                        socket table, rounded up to a power of 2, at most 536870912),
                      net.core.flow_limit_cpu_bitmap=MASK (CPUs with flow limiting),
                      net.core.flow_limit_table_len (4096, a power of 2);
                      MASK is hex as the kernel reads it: 32-bit groups of up to 8 digits, comma-separated,
                      most significant first (2 = CPU 1, f = CPUs 0-3, 1,00000000 = CPU 32), only CPUs below --cpus
  --cpus N            virtual CPUs per guest (default 1, at most 64): each has its own softnet_data,
                      backlog and softirq turn; \`skbnet softnet\` prints one line per CPU
  --proxy-cpus LIST|all  the virtual CPUs the TCP host proxy's reader (the application consuming the
                      model's sockets) counts as running on, as a CPU list (1 | 0-3 | 1,3; all = every CPU): each new
                      proxied connection takes the next CPU in turn, so RFS steers its packets there;
                      default: whichever CPU is running at the call (CPU 0 outside softirqs)
  --metrics [ADDR:]PORT  serve every counter for Prometheus on http://ADDR:PORT/metrics (ADDR default
                      127.0.0.1; off by default)
  --quiet             log warnings and errors only
`;

function serve(args: string[]): void {
  const { options } = parseServeOptions(args);
  if (options.vhostUser.length === 0) throw new UsageError('serve needs at least one --vhost-user PATH');
  const emu = new Emulator(options);
  emu.start().then(
    () => process.stdout.write(emu.readyText() + '\n'),
    (e: Error) => {
      emu.log.error(e.message);
      emu.stop();
      process.exit(1);
    },
  );
  const stop = (sig: string): void => {
    emu.log.info(`${sig}: shutting down`);
    emu.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

function qemu(args: string[]): void {
  const { options, rest } = parseServeOptions(args);
  let qemuArgs = rest;
  let binary = 'qemu-system-x86_64';
  if (qemuArgs.length > 0 && !qemuArgs[0].startsWith('-')) {
    binary = qemuArgs[0];
    qemuArgs = qemuArgs.slice(1);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbnet-'));
  if (options.vhostUser.length === 0) options.vhostUser.push(path.join(dir, 'vhost-user.sock'));
  const emu = new Emulator(options);
  emu.start().catch((e: Error) => {
    emu.log.error(e.message);
    emu.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    process.exit(1);
  });
  const memory = findMemory(qemuArgs) ?? '512M';
  const kvm = usesKvm(qemuArgs);
  const extra = [
    ...(findMemory(qemuArgs) ? sharedMemoryArgs(memory).slice(2) : sharedMemoryArgs(memory)),
    ...emu.attachments.flatMap((a, i) =>
      vhostUserNicArgs({ socket: a.options.socket, memory, mac: formatMac(nthMac(options.mac, i)), queues: options.queues, index: i, msix: kvm }),
    ),
  ];
  if (!qemuArgs.includes('-accel') && !kvm) extra.unshift('-accel', 'tcg');
  const child = spawn(binary, [...extra, ...qemuArgs], { stdio: 'inherit' });
  const cleanup = (): void => {
    emu.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  child.on('error', (e) => {
    emu.log.error(`cannot start ${binary}: ${e.message}`);
    cleanup();
    process.exit(127);
  });
  child.on('exit', (code, signal) => {
    cleanup();
    process.exit(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1));
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
}

/** split --control PATH / --guest N off a view's arguments */
function viewOptions(args: string[]): { control: string; guest: number; rest: string[] } {
  let control = process.env.SKBNET_CONTROL ?? '';
  let guest = 0;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--control') control = args[++i] ?? '';
    else if (args[i] === '--guest') guest = Number(args[++i]);
    else rest.push(args[i]);
  }
  if (!control) throw new UsageError('views need --control PATH (the path given to `skbnet serve --control`) or $SKBNET_CONTROL');
  if (!Number.isInteger(guest) || guest < 0) throw new UsageError('--guest takes a guest number (0, 1, …)');
  return { control, guest, rest };
}

async function view(cmd: string, args: string[]): Promise<void> {
  const { control, guest, rest } = viewOptions(args);
  if (cmd === 'nstat') {
    const o = parseNstatArgs(rest);
    const r = await controlRequest(control, { cmd, args: [], guest });
    if (!r.ok || !r.data) throw new Error(r.text);
    const file = historyPath(control, guest);
    const history = o.reset ? null : readHistory(file);
    process.stdout.write(formatNstat(r.data, history, o));
    if (!o.noUpdate) writeHistory(file, r.data);
    return;
  }
  const r = await controlRequest(control, { cmd, args: rest, guest });
  if (!r.ok) throw new Error(r.text);
  process.stdout.write(r.text);
}

export function main(argv: string[]): void {
  const [cmd, ...args] = argv;
  try {
    switch (cmd) {
      case 'serve':
        return serve(args);
      case 'qemu':
        return qemu(args);
      case 'nstat':
      case 'ip':
      case 'softnet':
      case 'tc':
      case 'ss':
      case 'services':
        view(cmd, args).catch((e: Error) => {
          process.stderr.write(`skbnet ${cmd}: ${e.message}\n`);
          process.exit(1);
        });
        return;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return;
      default:
        throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`skbnet: ${e.message}\n${USAGE}`);
      process.exit(2);
    }
    throw e;
  }
}

if (require.main === module) main(process.argv.slice(2));
