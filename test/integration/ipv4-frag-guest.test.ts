// A real QEMU guest (Linux 6.1) pings the gateway with 4000-byte payloads: its requests leave as three
// fragments each, skbnet reassembles them, and the echo replies come back fragmented; the guest's own
// counters show it fragmented and reassembled. One guest, a few seconds of pings.
import { expect } from 'chai';
import { Guest } from '../support/guest';
import { GuestOnSkbnet } from '../support/guest-on-skbnet';

/** the Ip line pair of /proc/net/snmp as name → value */
function ipSnmp(text: string): Map<string, number> {
  const lines = text.split('\n').filter((l) => l.startsWith('Ip:'));
  const names = lines[0].split(/\s+/).slice(1);
  const values = lines[1].split(/\s+/).slice(1).map(Number);
  return new Map(names.map((n, i) => [n, values[i]]));
}

describe('a real guest pings through skbnet with fragmented datagrams', function () {
  this.timeout(180000);
  const setup = new GuestOnSkbnet('frag');
  let guest: Guest;

  before(async () => {
    guest = (await setup.start('ipv4-frag', [], { dhcp: true })).guest;
  });
  after(() => setup.stop());

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
