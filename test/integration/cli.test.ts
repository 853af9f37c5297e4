// The CLI as users run it: `skbnet qemu` starting QEMU wired to skbnet, multiqueue, and one `serve`
// process carrying several guests at once, each in its own network.
import { expect } from 'chai';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ensureGuestFixture, Guest } from '../support/guest';
import { CLI, SkbnetProcess } from '../support/skbnet-process';
import { sharedMemoryArgs, vhostUserNicArgs } from '../../emulator/qemu-args';

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`${cmd} timed out:\n${out}`));
    }, timeoutMs);
    p.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

const onlineArgs = (kernel: string, initrd: string, pings: number): string[] => [
  '-kernel', kernel, '-initrd', initrd,
  '-append', `console=ttyS0 quiet panic=-1 skbnet.scenario=online skbnet.pings=${pings}`,
  '-display', 'none', '-nodefaults', '-no-reboot', '-serial', 'stdio',
];

describe('the skbnet CLI with real guests', function () {
  this.timeout(120000);
  let fixture: { vmlinux: string; initrd: string };
  before(async () => {
    fixture = await ensureGuestFixture();
  });

  it('`skbnet qemu` boots a guest wired to skbnet and exits with its status', async () => {
    const r = await run(process.execPath, [CLI, 'qemu', '--quiet', '--', '-m', '256M', ...onlineArgs(fixture.vmlinux, fixture.initrd, 5)], 90000);
    expect(r.out).to.match(/SKBNET-LEASE iface=eth0 ip=10\.0\.2\.15 mask=24 router=10\.0\.2\.2 dns=10\.0\.2\.3/);
    expect(r.out).to.match(/SKBNET-PING target=10\.0\.2\.2 sent=5 received=5 loss=0%/);
    expect(r.code).to.equal(0);
  });

  it('`skbnet qemu` passes a failing QEMU status through', async () => {
    const r = await run(process.execPath, [CLI, 'qemu', '--quiet', '--', '-no-such-option'], 30000);
    expect(r.code).to.equal(1);
    expect(r.out).to.match(/invalid option/);
  });

  // Linux enables min(max_queue_pairs, online CPUs) pairs (virtnet_probe), hence two vCPUs.
  it('serves a multiqueue guest (queues=2): both pairs come up and traffic flows', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbnet-mq-'));
    const sock = path.join(dir, 'vu.sock');
    const skbnet = await SkbnetProcess.serve(['--vhost-user', sock, '--queues', '2']);
    let guest: Guest | undefined;
    try {
      guest = await Guest.boot({ name: 'mq', cpus: 2, netArgs: vhostUserNicArgs({ socket: sock, memory: '256M', mac: '52:54:00:12:34:56', queues: 2 }) });
      const q = await guest.run('ls /sys/class/net/eth0/queues');
      expect(q.output.split(/\s+/).filter(Boolean).sort()).to.deep.equal(['rx-0', 'rx-1', 'tx-0', 'tx-1']);
      const r = await guest.run('ip link set eth0 up; udhcpc -i eth0 -n -q -t 5 -T 2 -s /etc/udhcpc.script && ping -c 10 -i 0.1 -W 2 10.0.2.2', 60000);
      expect(r.output).to.match(/ip=10\.0\.2\.15/);
      expect(r.output).to.match(/10 packets transmitted, 10 packets received, 0% packet loss/);
    } finally {
      await guest?.shutdown();
      await skbnet.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('one `skbnet serve` carries two guests at once, each online in its own network', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbnet-two-'));
    const socks = [path.join(dir, 'a.sock'), path.join(dir, 'b.sock')];
    const skbnet = await SkbnetProcess.serve(['--vhost-user', socks[0], '--vhost-user', socks[1], '--quiet']);
    try {
      expect(skbnet.stdout).to.match(/ready: eth0 on vhost-user .*a\.sock \(guest mac 52:54:00:12:34:56/);
      expect(skbnet.stdout).to.match(/ready: eth0 on vhost-user .*b\.sock \(guest mac 52:54:00:12:34:57/);
      const runs = socks.map((socket, i) => {
        const mac = i === 0 ? '52:54:00:12:34:56' : '52:54:00:12:34:57';
        return run('qemu-system-x86_64', [
          '-accel', 'tcg', ...sharedMemoryArgs('256M'), ...vhostUserNicArgs({ socket, memory: '256M', mac, queues: 1 }),
          ...onlineArgs(fixture.vmlinux, fixture.initrd, 5),
        ], 90000);
      });
      for (const r of await Promise.all(runs)) {
        expect(r.out).to.match(/SKBNET-LEASE iface=eth0 ip=10\.0\.2\.15 /);
        expect(r.out).to.match(/SKBNET-PING target=10\.0\.2\.2 sent=5 received=5 loss=0%/);
        expect(r.code).to.equal(0);
      }
    } finally {
      await skbnet.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
