// A real QEMU guest on skbnet reaches the host over IPv6 as with `-netdev user`: after SLAAC it
// downloads 1 MiB with busybox nc from a host server on ::1 through fec0::2 (md5 identical) and uploads
// it back, connects to this machine's own non-loopback IPv6 address (an off-link destination the model
// terminates), and runs an iperf3 UDP test against a host server on ::1 through fec0::2.
import { expect } from 'chai';
import { createHash, randomBytes } from 'crypto';
import { spawn } from 'child_process';
import * as net from 'net';
import * as os from 'os';
import { Guest } from '../support/guest';
import { GuestOnSkbnet } from '../support/guest-on-skbnet';

function md5(b: Uint8Array): string {
  return createHash('md5').update(b).digest('hex');
}

function ownIpv6(): string | null {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv6' && !a.internal && !a.address.startsWith('fe80')) return a.address;
  }
  return null;
}

function hasLoopback6(): boolean {
  return (os.networkInterfaces().lo ?? []).some((a) => a.address === '::1');
}

async function serve(onConn: (c: net.Socket) => void, host: string): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer({ allowHalfOpen: true }, onConn);
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  return { server, port: (server.address() as net.AddressInfo).port };
}

describe('a real guest reaches host sockets over IPv6 (fec0::2 → ::1)', function () {
  this.timeout(180000);
  const setup = new GuestOnSkbnet('ipv6-host');
  const data = randomBytes(1 << 20);
  const servers: net.Server[] = [];
  const loop6 = hasLoopback6() ? '::1' : '127.0.0.1';
  let guest: Guest;

  before(async () => {
    guest = (await setup.start('ipv6-host')).guest;
    const r = await guest.run(
      'ip link set eth0 up; for i in $(seq 1 100); do ip -6 addr show dev eth0 | grep "fec0::5054:ff:fe12:3456/64" | grep -qv tentative && break; sleep 0.1; done; ip -6 addr show dev eth0',
      30000,
    );
    expect(r.output, r.output).to.match(/inet6 fec0::5054:ff:fe12:3456\/64 scope site dynamic(?! tentative)/);
  });
  after(async () => {
    for (const s of servers) s.close();
    await setup.stop();
  });

  it('downloads 1 MiB from a host server on ::1 through fec0::2 and uploads it back, md5 identical', async () => {
    let peer = '';
    const down = await serve((c) => {
      peer = c.remoteAddress ?? '';
      c.on('data', () => undefined);
      c.end(data);
    }, loop6);
    servers.push(down.server);
    const r1 = await guest.run(`nc -w 30 fec0::2 ${down.port} < /dev/null > /tmp/f; md5sum /tmp/f; wc -c < /tmp/f`, 60000);
    expect(r1.output, r1.output).to.include(md5(data));
    expect(peer).to.equal(loop6 === '::1' ? '::1' : '127.0.0.1');

    let upMd5 = '';
    const up = await serve((c) => {
      const h = createHash('md5');
      c.on('data', (d: Buffer) => h.update(d));
      c.on('end', () => {
        upMd5 = h.digest('hex');
        c.end();
      });
    }, loop6);
    servers.push(up.server);
    const r2 = await guest.run(`nc -w 30 fec0::2 ${up.port} < /tmp/f`, 60000);
    expect(r2.code, r2.output).to.equal(0);
    const t0 = Date.now();
    while (upMd5 === '' && Date.now() - t0 < 10000) await new Promise((r) => setTimeout(r, 20));
    expect(upMd5).to.equal(md5(data));
  });

  it('connects to this machine’s own IPv6 address (an off-link destination) through the model', async function () {
    const own = ownIpv6();
    if (own === null) this.skip();
    const s = await serve((c) => c.end('hello-v6-offlink\n'), own!);
    servers.push(s.server);
    const r = await guest.run(`nc -w 10 ${own} ${s.port} < /dev/null`, 30000);
    expect(r.output, r.output).to.include('hello-v6-offlink');
  });

  it('carries guest UDP over IPv6 to a host socket on ::1 through fec0::2: an iperf3 UDP test completes', async () => {
    // busybox nc has no -u: iperf3 (TCP control connection + UDP data) exercises both proxies over IPv6
    const port = 6201 + Math.floor(Math.random() * 1000);
    const server = spawn('iperf3', ['-s', '-1', '-B', loop6, '-p', String(port)], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const r = await guest.run(`iperf3 -u -c fec0::2 -p ${port} -t 1 -b 2M -l 1000`, 30000);
      expect(r.code, r.output).to.equal(0);
      const m = /(\d+)\/(\d+) \([\d.e+-]+%\)\s+receiver/.exec(r.output);
      expect(m, r.output).to.not.equal(null);
      expect(Number(m![2]), 'datagrams reached the host').to.be.greaterThan(100);
    } finally {
      server.kill();
    }
  });
});
