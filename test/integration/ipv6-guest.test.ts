// A real QEMU 7.2 guest (Linux 6.1) over vhost-user gets IPv6 from skbnet as it would from `-netdev
// user`: a router advertisement for fec0::/64 gives it a SLAAC address (EUI-64 of its MAC) and a
// default route via the model's link-local address, and it pings the gateway fec0::2 without loss.
import { expect } from 'chai';
import { Guest } from '../support/guest';
import { GuestOnSkbnet } from '../support/guest-on-skbnet';

describe('a real guest gets IPv6 (SLAAC from fec0::/64) through skbnet', function () {
  this.timeout(180000);
  const setup = new GuestOnSkbnet('ipv6');
  let guest: Guest;

  before(async () => {
    guest = (await setup.start('ipv6')).guest;
  });
  after(() => setup.stop());

  it('autoconfigures fec0::5054:ff:fe12:3456/64 within a few seconds of link up, default route via the model', async () => {
    // wait until the global address has passed DAD (no "tentative"), at most 10 s
    const r = await guest.run(
      'ip link set eth0 up; t0=$(date +%s); ' +
        'for i in $(seq 1 100); do ip -6 addr show dev eth0 | grep "fec0::5054:ff:fe12:3456/64" | grep -qv tentative && break; sleep 0.1; done; ' +
        'echo "SLAAC-SECONDS $(( $(date +%s) - t0 ))"; ip -6 addr show dev eth0; ip -6 route show',
      30000,
    );
    // fec0::/10 is the (deprecated) site-local range: Linux labels it "scope site"; "dynamic" = from an RA
    expect(r.output, r.output).to.match(/inet6 fec0::5054:ff:fe12:3456\/64 scope site dynamic(?! tentative)/);
    expect(r.output, r.output).to.match(/valid_lft 8639\dsec preferred_lft 1439\dsec/);
    expect(r.output, r.output).to.match(/inet6 fe80::5054:ff:fe12:3456\/64 scope link/);
    expect(r.output, r.output).to.match(/default via fe80::5055:aff:fe00:202 dev eth0/);
    expect(r.output).to.match(/fec0::\/64 dev eth0/);
    const secs = Number(/SLAAC-SECONDS (\d+)/.exec(r.output)?.[1] ?? 99);
    expect(secs, r.output).to.be.at.most(8);
  });

  it('pings fec0::2 five times with 0% packet loss', async () => {
    const r = await guest.run('ping -c 5 -i 0.2 -W 2 fec0::2', 30000);
    expect(r.output).to.match(/5 packets transmitted, 5 packets received, 0% packet loss/);
  });
});
