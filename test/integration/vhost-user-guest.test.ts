// A real QEMU 7.2 guest (Linux 6.1 virtio_net) online through skbnet over vhost-user: the lease, pings,
// a guest reboot, a back-end restart under QEMU's reconnect=1, and the pcap capture. One guest is
// shared by the steps, in order, as a user would live through them.
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Guest } from '../support/guest';
import { SkbnetProcess } from '../support/skbnet-process';
import { vhostUserNicArgs } from '../../emulator/qemu-args';
import { execFile } from 'child_process';
import { CLI } from '../support/skbnet-process';

function cli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [CLI, ...args], (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
  );
}

const LEASE = /SKBNET-LEASE iface=eth0 ip=(\S+) mask=(\S+) router=(\S+) dns=(\S+) lease=(\S+)/;

async function dhcp(guest: Guest): Promise<RegExpMatchArray> {
  const r = await guest.run('ip link set eth0 up; udhcpc -i eth0 -n -q -t 5 -T 2 -s /etc/udhcpc.script', 40000);
  expect(r.code, r.output).to.equal(0);
  const m = LEASE.exec(r.output);
  expect(m, r.output).to.not.equal(null);
  return m!;
}

async function ping(guest: Guest, count: number): Promise<string> {
  const r = await guest.run(`ping -c ${count} -i 0.2 -W 2 10.0.2.2`, 60000);
  expect(r.output).to.match(new RegExp(`${count} packets transmitted, ${count} packets received, 0% packet loss`));
  return r.output;
}

describe('a real guest online through skbnet over vhost-user', function () {
  this.timeout(180000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbnet-it-'));
  const sock = path.join(dir, 'vu.sock');
  const pcap = path.join(dir, 'cap.pcap');
  const pcap2 = path.join(dir, 'cap2.pcap');
  const ctl = path.join(dir, 'ctl.sock');
  let skbnet: SkbnetProcess;
  let guest: Guest;

  before(async () => {
    skbnet = await SkbnetProcess.serve(['--vhost-user', sock, '--pcap', pcap, '--control', ctl]);
    guest = await Guest.boot({
      name: 'vhost-user',
      reboot: true,
      netArgs: vhostUserNicArgs({ socket: sock, memory: '256M', mac: '52:54:00:12:34:56', queues: 1 }),
    });
  });
  after(async () => {
    await guest?.shutdown();
    await skbnet?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('prints a ready line and the QEMU options, and creates its socket 0600', () => {
    expect(skbnet.stdout).to.match(/ready: eth0 on vhost-user .*vu\.sock/);
    expect(skbnet.stdout).to.match(/-netdev vhost-user,id=skbnet-n0,chardev=skbnet-c0/);
    expect(fs.statSync(sock).mode & 0o777).to.equal(0o600);
  });

  it('binds the guest virtio_net driver to the vhost-user device', () => {
    expect(guest.console).to.match(/SKBNET-NETDEV name=eth0 mac=52:54:00:12:34:56 driver=virtio_net/);
  });

  it('gives the guest exactly 10.0.2.15/24, router 10.0.2.2, DNS 10.0.2.3', async () => {
    const m = await dhcp(guest);
    expect(m.slice(1, 6)).to.deep.equal(['10.0.2.15', '24', '10.0.2.2', '10.0.2.3', '86400']);
    const addr = await guest.run('ip -4 addr show dev eth0; ip route');
    expect(addr.output).to.match(/inet 10\.0\.2\.15\/24/);
    expect(addr.output).to.match(/default via 10\.0\.2\.2/);
  });

  it('answers 20 pings to the gateway with 0% loss', async () => {
    await ping(guest, 20);
  });

  it('shows the model\'s counters through the control socket (nstat, ip -s link, softnet)', async () => {
    expect(fs.statSync(ctl).mode & 0o777).to.equal(0o600);
    const nstat = await cli(['nstat', '-az', '--control', ctl]);
    const counter = (name: string): number => Number(new RegExp(`^${name}\\s+(\\d+)\\s+0\\.0$`, 'm').exec(nstat)?.[1]);
    expect(nstat.split('\n')[0]).to.equal('#kernel');
    expect(counter('IcmpInEchos'), nstat).to.equal(20);
    expect(counter('IcmpOutEchoReps')).to.equal(20);
    expect(counter('UdpInDatagrams'), 'DHCP discover + request').to.equal(2);
    expect(counter('IpInHdrErrors')).to.equal(0);
    // increments since the previous run: a second ping round shows only its own 3 echoes
    await cli(['nstat', '--control', ctl]);
    await ping(guest, 3);
    const delta = await cli(['nstat', '--control', ctl, 'Icmp*']);
    expect(delta).to.match(/^IcmpInEchos\s+3\s+0\.0$/m);
    const link = await cli(['ip', '-s', 'link', '--control', ctl]);
    expect(link).to.match(/^2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc \S+ state UP/m);
    const rx = /RX: .*\n\s+(\d+)\s+(\d+)/.exec(link);
    expect(Number(rx?.[2]), link).to.be.at.least(27);
    const softnet = await cli(['softnet', '--control', ctl]);
    expect(softnet).to.match(/^[0-9a-f]{8}( [0-9a-f]{8}){12}\n$/); // Linux 6.1's 13 columns (the default profile)
    expect(parseInt(softnet.slice(0, 8), 16), 'processed').to.be.at.least(27);
  });

  it('comes online again after the guest reboots', async () => {
    await guest.reset();
    expect(guest.console).to.match(/SKBNET-NETDEV name=eth0 .*driver=virtio_net[\s\S]*SKBNET-NETDEV name=eth0 .*driver=virtio_net/);
    const m = await dhcp(guest);
    expect(m[1]).to.equal('10.0.2.15');
    await ping(guest, 5);
  });

  it('comes online again after the back-end restarts while QEMU runs (reconnect=1)', async () => {
    expect(await skbnet.stop()).to.equal(0);
    expect(fs.existsSync(sock), 'socket removed on shutdown').to.equal(false);
    // the guest sees carrier loss while the back-end is away
    const down = await guest.run('for i in 1 2 3 4 5 6 7 8 9 10; do [ "$(cat /sys/class/net/eth0/carrier)" = 0 ] && exit 0; sleep 0.5; done; exit 1');
    expect(down.code, 'carrier went down').to.equal(0);
    skbnet = await SkbnetProcess.serve(['--vhost-user', sock, '--pcap', pcap2]);
    const up = await guest.run('for i in $(seq 1 40); do [ "$(cat /sys/class/net/eth0/carrier)" = 1 ] && exit 0; sleep 0.25; done; exit 1', 20000);
    expect(up.code, 'carrier came back').to.equal(0);
    const m = await dhcp(guest);
    expect(m[1]).to.equal('10.0.2.15');
    await ping(guest, 5);
  });

  it('wrote the frames it saw to the pcap file', () => {
    const b = fs.readFileSync(pcap);
    expect(b.readUInt32LE(0)).to.equal(0xa1b2c3d4);
    expect(b.readUInt32LE(20), 'LINKTYPE_ETHERNET').to.equal(1);
    let off = 24;
    let dhcpFrames = 0;
    let icmp = 0;
    let frames = 0;
    while (off + 16 <= b.length) {
      const cap = b.readUInt32LE(off + 8);
      const f = b.subarray(off + 16, off + 16 + cap);
      frames++;
      if (f.readUInt16BE(12) === 0x0800) {
        const proto = f[23];
        if (proto === 1) icmp++;
        if (proto === 17 && [67, 68].includes(f.readUInt16BE(14 + (f[14] & 15) * 4))) dhcpFrames++;
      }
      off += 16 + cap;
    }
    expect(off, 'records tile the file').to.equal(b.length);
    expect(dhcpFrames, 'DHCP both ways, two rounds').to.be.at.least(8);
    expect(icmp, '25 pings and replies').to.be.at.least(50);
    expect(frames).to.be.greaterThan(icmp);
  });
});
