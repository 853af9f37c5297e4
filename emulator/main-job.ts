// `npm start`: build the bundled guest if needed, boot it on skbnet over vhost-user, and show it coming
// online (its driver, its DHCP lease, ping round trips) with live counters from the model.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Emulator } from './emulator';
import { buildGuestImage } from './fixture';
import { consoleLogger } from './log';
import { parseServeOptions, formatMac } from './options';
import { sharedMemoryArgs, vhostUserNicArgs } from './qemu-args';

const PINGS = 20;

function counters(emu: Emulator): string {
  const a = emu.attachments[0];
  const s = a.device.dev.stats;
  const m = a.stack.mib;
  return `eth0 rx ${s.rx_packets} pkts ${s.rx_bytes} B | tx ${s.tx_packets} pkts ${s.tx_bytes} B | ` +
    `Icmp InEchos ${m.Icmp.InEchos} OutEchoReps ${m.Icmp.OutEchoReps} | Udp InDatagrams ${m.Udp.InDatagrams} | ` +
    `softnet processed ${a.stack.softnet[0].processed}`;
}

async function main(): Promise<number> {
  const say = (l: string): boolean => process.stdout.write(`${l}\n`);
  say('skbnet: building the guest image (first run takes a minute) …');
  let steps = 0;
  const image = await buildGuestImage((line) => {
    steps++;
    say(`  [${steps}] ${line.replace(/^guest-build: /, '')}`);
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbnet-start-'));
  const sock = path.join(dir, 'vhost-user.sock');
  const { options } = parseServeOptions(['--vhost-user', sock, '--quiet']);
  const emu = new Emulator(options, consoleLogger('skbnet', 'warn'));
  await emu.start();
  say(emu.readyText());
  const args = [
    '-accel', 'tcg', ...sharedMemoryArgs('256M'),
    ...vhostUserNicArgs({ socket: sock, memory: '256M', mac: formatMac(options.mac), queues: 1 }),
    '-kernel', image.kernel, '-initrd', image.initrd,
    '-append', `console=ttyS0 quiet panic=-1 skbnet.scenario=online skbnet.pings=${PINGS}`,
    '-display', 'none', '-nodefaults', '-no-reboot', '-serial', 'stdio',
  ];
  say('skbnet: booting the guest under QEMU (TCG) …');
  const started = Date.now();
  const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let online = false;
  let partial = '';
  qemu.stdout.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split(/\r?\n/);
    partial = lines.pop()!;
    for (const line of lines) {
      const t = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
      if (/^SKBNET-(NETDEV|LEASE|PING|DONE)|bytes from|round-trip/.test(line)) say(`  guest ${t}s | ${line}`);
      if (/^SKBNET-PING .* loss=0%/.test(line)) online = true;
    }
  });
  const ticker = setInterval(() => say(`  model      | ${counters(emu)}`), 1000);
  const code: number = await new Promise((resolve) => qemu.on('exit', (c) => resolve(c ?? 1)));
  clearInterval(ticker);
  say(`  model      | ${counters(emu)}`);
  emu.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  if (code !== 0) say(`skbnet: QEMU exited with status ${code}`);
  say(online ? `skbnet: the guest came online over skbnet: DHCP lease and ${PINGS}/${PINGS} pings answered.` : 'skbnet: the guest did NOT come online.');
  return online && code === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`skbnet: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
