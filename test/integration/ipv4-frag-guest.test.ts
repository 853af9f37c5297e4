// A real QEMU guest (Linux 6.1) pings the gateway with 4000-byte payloads: its requests leave as three
// fragments each, skbnet reassembles them, and the echo replies come back fragmented; the guest's own
// counters show it fragmented and reassembled. One guest, a few seconds of pings.
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Guest } from '../support/guest';
import { SkbnetProcess } from '../support/skbnet-process';
import { vhostUserNicArgs } from '../../emulator/qemu-args';

/** the Ip line pair of /proc/net/snmp as name → value */
function ipSnmp(text: string): Map<string, number> {
  const lines = text.split('\n').filter((l) => l.startsWith('Ip:'));
  const names = lines[0].split(/\s+/).slice(1);
  const values = lines[1].split(/\s+/).slice(1).map(Number);
  return new Map(names.map((n, i) => [n, values[i]]));
}

describe('a real guest pings through skbnet with fragmented datagrams', function () {
  this.timeout(180000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbnet-frag-'));
  const sock = path.join(dir, 'vu.sock');
  let skbnet: SkbnetProcess;
  let guest: Guest;

  before(async () => {
    skbnet = await SkbnetProcess.serve(['--vhost-user', sock]);
    guest = await Guest.boot({
      name: 'ipv4-frag',
      netArgs: vhostUserNicArgs({ socket: sock, memory: '256M', mac: '52:54:00:12:34:56', queues: 1 }),
    });
    const r = await guest.run('ip link set eth0 up; udhcpc -i eth0 -n -q -t 5 -T 2 -s /etc/udhcpc.script', 40000);
    expect(r.code, r.output).to.equal(0);
  });
  after(async () => {
    await guest?.shutdown();
    await skbnet?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('ping -c 3 -s 4000 10.0.2.2: 0% loss, 4008-byte replies, fragments both ways', async () => {
    const before = ipSnmp((await guest.run('cat /proc/net/snmp')).output);
    const r = await guest.run('ping -c 3 -i 0.3 -W 3 -s 4000 10.0.2.2', 60000);
    expect(r.output, r.output).to.match(/3 packets transmitted, 3 packets received, 0% packet loss/);
    expect(r.output).to.match(/4008 bytes from 10\.0\.2\.2/);
    const after = ipSnmp((await guest.run('cat /proc/net/snmp')).output);
    const d = (k: string): number => (after.get(k) ?? 0) - (before.get(k) ?? 0);
    expect(d('FragCreates'), 'guest cut its requests').to.be.at.least(9);
    expect(d('ReasmOKs'), 'guest glued our replies').to.be.at.least(3);
    expect(d('ReasmFails')).to.equal(0);
  });
});
