// `npm start`: build the bundled guest if needed, boot it on skbnet over vhost-user, and show it coming
// online as with `-netdev user`: its driver, its DHCP lease, ping round trips to the gateway, a 4 MiB
// HTTP download from a server on this host's 127.0.0.1 through 10.0.2.2 (the model's TCP, spliced to a
// host socket; md5 checked), and IPv6 (SLAAC address, ping fec0::2), with live counters from the model.
import { spawn } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { Emulator } from './emulator';
import { buildGuestImage } from './fixture';
import { consoleLogger } from './log';
import { parseServeOptions, formatMac } from './options';
import { sharedMemoryArgs, vhostUserNicArgs } from './qemu-args';

const PINGS = 20;
const DOWNLOAD = 4 << 20;

function counters(emu: Emulator): string {
  const a = emu.attachments[0];
  const s = a.device.dev.stats;
  const m = a.stack.mib;
  return `eth0 rx ${s.rx_packets} pkts ${s.rx_bytes} B | tx ${s.tx_packets} pkts ${s.tx_bytes} B | ` +
    `Icmp InEchos ${m.Icmp.InEchos} OutEchoReps ${m.Icmp.OutEchoReps} | Udp InDatagrams ${m.Udp.InDatagrams} | ` +
    `Tcp InSegs ${m.Tcp.InSegs} OutSegs ${m.Tcp.OutSegs} | Icmp6 InEchos ${m.Icmp6.InEchos} | ` +
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
  // the host side of the download: a plain HTTP server on loopback, as a user's local service would be
  const blob = randomBytes(DOWNLOAD);
  const blobMd5 = createHash('md5').update(blob).digest('hex');
  const web = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.length });
    res.end(blob);
  });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', () => r()));
  const webPort = (web.address() as AddressInfo).port;
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
    '-append',
    `console=ttyS0 quiet panic=-1 skbnet.scenario=online skbnet.pings=${PINGS} ` +
      `skbnet.fetch=http://10.0.2.2:${webPort}/blob skbnet.ping6=fec0::2`,
    '-display', 'none', '-nodefaults', '-no-reboot', '-serial', 'stdio',
  ];
  say('skbnet: booting the guest under QEMU (TCG) …');
  const started = Date.now();
  const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let online = false;
  let fetched = '';
  let v6 = '';
  let partial = '';
  qemu.stdout.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split(/\r?\n/);
    partial = lines.pop()!;
    for (const line of lines) {
      const t = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
      if (/^SKBNET-(NETDEV|LEASE|PING|FETCH|DONE)|bytes from|round-trip/.test(line)) say(`  guest ${t}s | ${line}`);
      if (/^SKBNET-PING .* loss=0%/.test(line)) online = true;
      const f = /^SKBNET-FETCH .* bytes=(\d+) md5=([0-9a-f]+) start=([\d.]+) end=([\d.]+)/.exec(line);
      if (f !== null) {
        const ok = Number(f[1]) === DOWNLOAD && f[2] === blobMd5;
        const mbit = (DOWNLOAD * 8) / 1e6 / Math.max(0.01, Number(f[4]) - Number(f[3]));
        fetched = ok ? `${DOWNLOAD >> 20} MiB over TCP from 127.0.0.1 through 10.0.2.2 (md5 ok, ${mbit.toFixed(0)} Mbit/s in the guest)` : '';
        if (!ok) say(`skbnet: the download arrived damaged (${f[1]} bytes, md5 ${f[2]}, expected ${blobMd5})`);
      }
      const p6 = /^SKBNET-PING6 addr=(\S+) target=(\S+) ok/.exec(line);
      if (p6 !== null) v6 = `IPv6 ${p6[1]} (SLAAC) pinging ${p6[2]}`;
    }
  });
  const ticker = setInterval(() => say(`  model      | ${counters(emu)}`), 1000);
  const code: number = await new Promise((resolve) => qemu.on('exit', (c) => resolve(c ?? 1)));
  clearInterval(ticker);
  say(`  model      | ${counters(emu)}`);
  emu.stop();
  web.close();
  fs.rmSync(dir, { recursive: true, force: true });
  if (code !== 0) say(`skbnet: QEMU exited with status ${code}`);
  const ok = online && fetched !== '' && v6 !== '';
  say(
    ok
      ? `skbnet: the guest came online over skbnet: DHCP lease, ${PINGS}/${PINGS} pings answered, ${fetched}, ${v6}.`
      : `skbnet: the guest did NOT come fully online (pings ${online ? 'ok' : 'failed'}, download ${fetched ? 'ok' : 'failed'}, IPv6 ${v6 ? 'ok' : 'failed'}).`,
  );
  return ok && code === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`skbnet: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
