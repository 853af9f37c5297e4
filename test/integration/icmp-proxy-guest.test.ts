// A real guest pings this machine's own non-loopback IPv4 address (the traffic stays on this host) through
// skbnet: the echo request leaves through a host ping socket (icmp-proxy.ts) and the reply comes back from
// that address with the guest's identifier. Ping sockets need net.ipv4.ping_group_range to hold our group
// ("1 0" on CI: nobody): as root the test sets it for its own duration and restores it after. First, with
// ping sockets forbidden, the guest's pings go unanswered and skbnet says once how to allow them.
// Over IPv6 the same (icmp6-proxy.ts): after SLAAC the guest pings this machine's own global IPv6
// address, and fec0::2 is still answered by the model itself.
import { expect } from 'chai';
import { Guest } from '../support/guest';
import { GuestOnSkbnet } from '../support/guest-on-skbnet';
import { cannotSetPingGroupRange, ownGroupRange, ownIpv4, setPingGroupRange } from '../support/ping-group-range';
import { PING_SOCKETS_HINT } from '../../kernel-model/services/host-proxy/icmp-proxy';
import { ownIpv6 } from '../support/host-servers';

describe('a real guest pings an outside address through host ping sockets', function () {
  this.timeout(180000);
  const setup = new GuestOnSkbnet('icmp');
  const target = ownIpv4();
  let guest: Guest;
  let restore: (() => void) | null = null;

  before(async function () {
    const why = cannotSetPingGroupRange();
    if (why !== null) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    if (target === null) {
      console.log('      skipped: this machine has no non-loopback IPv4 address to ping');
      this.skip();
    }
    guest = (await setup.start('icmp-proxy', [], { dhcp: true })).guest;
    // SLAAC from the model's router advertisements (the address leaves DAD before the IPv6 cases)
    const r = await guest.run(
      'for i in $(seq 1 100); do ip -6 addr show dev eth0 | grep "fec0::5054:ff:fe12:3456/64" | grep -qv tentative && break; sleep 0.1; done; ip -6 addr show dev eth0',
      30000,
    );
    expect(r.output, r.output).to.match(/inet6 fec0::5054:ff:fe12:3456\/64 scope site dynamic(?! tentative)/);
  });
  after(async () => {
    restore?.();
    await setup.stop();
  });

  it('ping sockets forbidden (ping_group_range "1 0"): no reply, and one log line saying how to allow them', async () => {
    restore = setPingGroupRange('1 0');
    try {
      const r = await guest.run(`ping -c 2 -W 2 ${target}`, 30000);
      expect(r.code, r.output).to.not.equal(0);
      expect(r.output).to.match(/2 packets transmitted, 0 packets received/);
      // ICMPv6 echo is refused the same way, and the line is not repeated for the second family
      const v6 = ownIpv6();
      if (v6 !== null) {
        const r6 = await guest.run(`ping -c 1 -W 2 ${v6}`, 15000);
        expect(r6.output).to.match(/1 packets transmitted, 0 packets received/);
      }
    } finally {
      restore();
      restore = null;
    }
    const log = setup.skbnet.stdout + setup.skbnet.stderr;
    expect(log.split(PING_SOCKETS_HINT).length - 1, log).to.equal(1);
  });

  it(`ping sockets allowed for our group: the guest's pings to this machine's address are answered`, async () => {
    restore = setPingGroupRange(ownGroupRange());
    const r = await guest.run(`ping -c 3 -W 3 ${target}`, 30000);
    expect(r.code, r.output).to.equal(0);
    expect(r.output).to.match(/3 packets transmitted, 3 packets received, 0% packet loss/);
    // busybox prints each reply with its source, sequence and TTL (the host stack's 64, as received)
    for (let seq = 0; seq < 3; seq++) expect(r.output).to.match(new RegExp(`bytes from ${target!.replace(/\./g, '\\.')}: seq=${seq} ttl=64 `));
    // the model's own address is still answered by the model
    const gw = await guest.run('ping -c 1 -W 2 10.0.2.2', 15000);
    expect(gw.output).to.match(/1 packets received/);
    const log = setup.skbnet.stdout + setup.skbnet.stderr;
    expect(log.split(PING_SOCKETS_HINT).length - 1, 'still the one line').to.equal(1);
  });

  it('ICMPv6: the guest pings this machine’s own IPv6 address through an ICMPv6 ping socket; fec0::2 is answered by the model', async function () {
    const v6 = ownIpv6();
    if (v6 === null) {
      console.log('      skipped: this machine has no global IPv6 address to ping');
      this.skip();
    }
    // (set by the IPv4 case when it ran: the first value taken is the one after() puts back)
    if (restore === null) restore = setPingGroupRange(ownGroupRange());
    const r = await guest.run(`ping -c 3 -W 3 ${v6}`, 30000);
    expect(r.code, r.output).to.equal(0);
    expect(r.output).to.match(/3 packets transmitted, 3 packets received, 0% packet loss/);
    // busybox prints the hop limit as ttl: the host stack's 64, as the reply arrived there
    for (let seq = 0; seq < 3; seq++) expect(r.output).to.match(new RegExp(`bytes from ${v6!.replace(/\./g, '\\.')}: seq=${seq} ttl=64 `));
    const gw = await guest.run('ping -c 2 -W 2 fec0::2', 15000);
    expect(gw.code, gw.output).to.equal(0);
    expect(gw.output).to.match(/2 packets received/);
    // router advertisements and neighbour discovery still work: the default route and fec0::2's entry
    const nd = await guest.run('ip -6 route show default; ip -6 neigh show dev eth0', 10000);
    expect(nd.output, nd.output).to.match(/default via fe80::[0-9a-f:]+ dev eth0/);
    expect(nd.output, nd.output).to.match(/^fec0::2 lladdr [0-9a-f:]+ .*(REACHABLE|STALE|DELAY|PROBE)$/m);
  });
});
