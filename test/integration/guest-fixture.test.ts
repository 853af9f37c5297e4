// Validates the guest fixture and the QEMU harness against QEMU's own user-mode network (slirp),
// before any skbnet back-end is involved: slirp's DHCP/gateway answers are the reference values.
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { Guest, GuestCommandError, shutdownAllGuests, ensureGuestFixture } from '../support/guest';

const SLIRP_VIRTIO = ['-netdev', 'user,id=n0', '-device', 'virtio-net-pci,netdev=n0,romfile='];

describe('guest fixture (QEMU slirp reference)', function () {
  this.timeout(120_000);

  before(async function () {
    await ensureGuestFixture();
    // build.sh itself (ensureGuestFixture runs it once per process): progress lines even when up to date
    const r = spawnSync('bash', [path.resolve(__dirname, '../../../fixtures/guest/build.sh')], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout, 'build.sh prints progress lines').to.match(/^guest-build: step 1\/8/m);
  });

  afterEach(async () => {
    await shutdownAllGuests();
  });

  it('agent scenario: virtio_net binds eth0, DHCP via the script, ping the gateway, reset', async () => {
    const guest = await Guest.boot({ name: 'slirp-agent', netArgs: SLIRP_VIRTIO, reboot: true });
    console.log(`      boot to SKBNET-READY: ${guest.bootMs} ms`);
    expect(guest.console).to.match(/SKBNET-NETDEV name=eth0 mac=52:54:00:12:34:56 driver=virtio_net/);
    expect(guest.console).not.to.match(/SKBNET-ERROR/);

    const driver = await guest.run('basename $(readlink /sys/class/net/eth0/device/driver)');
    expect(driver).to.deep.equal({ output: 'virtio_net\n', code: 0 });

    // Exit codes, stderr, quoting and output without a trailing newline survive the framing.
    const odd = await guest.run(`printf 'a "b" $c\\n' ; echo err >&2; printf 'no-newline'; exit 3`);
    expect(odd).to.deep.equal({ output: 'a "b" $c\nerr\nno-newline', code: 3 });
    expect(await guest.run('true')).to.deep.equal({ output: '', code: 0 });

    const dhcp = await guest.run('ip link set eth0 up && udhcpc -i eth0 -n -q -t 5 -T 2 -s /etc/udhcpc.script', 30_000);
    expect(dhcp.code, dhcp.output).to.equal(0);
    const lease = dhcp.output.match(/SKBNET-LEASE iface=eth0 ip=(\S+) mask=(\S+) router=(\S+) dns=(\S+) lease=(\S+)/);
    expect(lease, dhcp.output).to.not.equal(null);
    expect(lease!.slice(1)).to.deep.equal(['10.0.2.15', '24', '10.0.2.2', '10.0.2.3', '86400']);

    const addr = await guest.run('ip -4 -o addr show dev eth0; ip route; cat /etc/resolv.conf');
    expect(addr.output).to.match(/inet 10\.0\.2\.15\/24/);
    expect(addr.output).to.match(/default via 10\.0\.2\.2 dev eth0/);
    expect(addr.output).to.match(/nameserver 10\.0\.2\.3/);

    const ping = await guest.run('ping -c 3 -i 0.2 -W 2 10.0.2.2', 20_000);
    expect(ping.code, ping.output).to.equal(0);
    expect(ping.output).to.match(/3 packets transmitted, 3 packets received, 0% packet loss/);

    // A command outliving its timeout is killed in the guest; the agent keeps serving.
    const t0 = Date.now();
    const err = await guest.run('echo started; sleep 30', 1000).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(GuestCommandError);
    expect((err as GuestCommandError).output).to.equal('started\n');
    expect(Date.now() - t0).to.be.below(4000);
    expect(await guest.run('echo still-here')).to.deep.equal({ output: 'still-here\n', code: 0 });

    // Orphans dying (SIGCHLD to PID 1, the agent) while requests arrive must not eat request bytes,
    // and a command opening the agent's own tty must not hang it up.
    await guest.run('for i in 1 2 3 4 5 6 7 8; do (sleep 0.$i) & done; setsid sleep 0.5 &');
    for (let i = 0; i < 15; i++) expect(await guest.run(`echo ${i}`)).to.deep.equal({ output: `${i}\n`, code: 0 });
    expect((await guest.run('stty -F /dev/ttyS1 >/dev/null; echo ok')).output).to.equal('ok\n');
    expect(await guest.run('echo after-stty')).to.deep.equal({ output: 'after-stty\n', code: 0 });

    // iperf3 and its shared libraries made it into the image.
    const iperf = await guest.run('iperf3 --version');
    expect(iperf.code, iperf.output).to.equal(0);
    expect(iperf.output).to.match(/^iperf 3\./);

    // QMP works and system_reset reboots into a fresh agent on the same sockets.
    const status = await guest.qmp.execute<{ status: string }>('query-status');
    expect(status.status).to.equal('running');
    await guest.run('touch /tmp/before-reset');
    await guest.reset();
    console.log(`      reset to SKBNET-READY: ${guest.bootMs} ms`);
    expect((await guest.run('ls /tmp/before-reset')).code).to.not.equal(0);
    expect(guest.qmp.events.some((e) => e.event === 'RESET')).to.equal(true);

    const exit = await guest.shutdown();
    expect(exit).to.deep.equal({ code: 0, signal: null });
    expect(fs.existsSync(guest.dir), 'temp dir removed').to.equal(false);
    expect(isRunning(guest.pid!), 'QEMU gone').to.equal(false);
  });

  it('reports a QEMU start failure with its message and leaves nothing behind', async () => {
    const before = guestDirs();
    const err = await Guest.boot({ name: 'bad-args', netArgs: ['-device', 'no-such-nic'] }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.match(/no-such-nic/);
    expect(guestDirs()).to.deep.equal(before);
  });

  it('online scenario: DHCP + pings to SKBNET-DONE, then QEMU exits by itself', async () => {
    const guest = await Guest.boot({ name: 'slirp-online', scenario: 'online', options: { pings: 5 }, netArgs: SLIRP_VIRTIO });
    const t0 = Date.now();
    await guest.waitForConsole(/SKBNET-DONE status=\w+/, 60_000);
    const exit = await guest.exited;
    console.log(`      online scenario to power-off: ${Date.now() - t0 + guest.bootMs} ms`);
    expect(guest.console).to.match(/SKBNET-LEASE iface=eth0 ip=10\.0\.2\.15 mask=24 router=10\.0\.2\.2 dns=10\.0\.2\.3 lease=86400/);
    expect(guest.console).to.match(/SKBNET-PING target=10\.0\.2\.2 sent=5 received=5 loss=0%/);
    expect(guest.console).to.match(/SKBNET-DONE status=ok/);
    expect(exit).to.deep.equal({ code: 0, signal: null });
  });

  it('e1000: the module binds an e1000 NIC', async () => {
    const guest = await Guest.boot({ name: 'slirp-e1000', netArgs: ['-netdev', 'user,id=n0', '-device', 'e1000,netdev=n0,romfile='] });
    expect(guest.console).to.match(/SKBNET-NETDEV name=eth0 mac=\S+ driver=e1000/);
    const r = await guest.run('ip link set eth0 up && udhcpc -i eth0 -n -q -t 5 -T 2 -s /etc/udhcpc.script && ping -c 2 -i 0.2 10.0.2.2', 30_000);
    expect(r.code, r.output).to.equal(0);
    expect(r.output).to.match(/2 packets transmitted, 2 packets received/);
  });
});

function guestDirs(): string[] {
  return fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('skbnet-guest-')).sort();
}

/** True while `pid` exists and is not a zombie (PID 1 here may reap late). */
function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
