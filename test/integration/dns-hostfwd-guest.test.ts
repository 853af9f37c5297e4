// A real QEMU guest on skbnet: busybox nslookup against 10.0.2.3 is answered through the DNS forwarder
// by a small DNS server on 127.0.0.1 (--dns-forward), and a --hostfwd'd host connection reaches a
// listener in the guest (busybox nc -e cat) and echoes, with the host side bound to 127.0.0.1 only.
import { expect } from 'chai';
import * as net from 'net';
import * as os from 'os';
import { Guest } from '../support/guest';
import { GuestOnSkbnet } from '../support/guest-on-skbnet';
import { TestDnsServer } from '../support/dns-server';

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

/** connect, send `text`, half-close, collect everything until the peer closes */
function exchange(host: string, port: number, text: string, timeoutMs = 20000): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, host);
    const got: Buffer[] = [];
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; got '${Buffer.concat(got).toString()}'`));
    }, timeoutMs);
    c.on('connect', () => c.end(text));
    c.on('data', (d: Buffer) => got.push(d));
    c.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    c.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(got).toString());
    });
  });
}

describe('a real guest: DNS through the forwarder and host forwarding into the guest', function () {
  this.timeout(180000);
  const setup = new GuestOnSkbnet('dns');
  let dns: TestDnsServer;
  let guest: Guest;
  let hostPort = 0;

  before(async () => {
    dns = await TestDnsServer.start({ 'example.test': '192.0.2.7' });
    hostPort = await freePort();
    const args = ['--dns-forward', `127.0.0.1:${dns.port}`, '--hostfwd', `tcp::${hostPort}-:7777`];
    guest = (await setup.start('dns-hostfwd', args, { dhcp: true })).guest;
  });
  after(async () => {
    await setup.stop();
    dns?.close();
  });

  it('answers `nslookup example.test 10.0.2.3` through the forwarder from the DNS server on 127.0.0.1', async () => {
    const r = await guest.run('nslookup example.test 10.0.2.3', 30000);
    expect(r.output).to.match(/Address:\s+192\.0\.2\.7/);
    expect(dns.seen.some((q) => q.name === 'example.test'), 'the query reached the upstream').to.equal(true);
  });

  it('binds the forwarded port on 127.0.0.1 only and says so', async () => {
    expect(setup.skbnet.stdout).to.include(`hostfwd: tcp 127.0.0.1:${hostPort} -> 10.0.2.15:7777`);
    // a non-loopback address of this host must not reach it
    const other = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal);
    if (other) {
      let code = '';
      await exchange(other.address, hostPort, 'x', 3000).catch((e: NodeJS.ErrnoException) => (code = e.code ?? e.message));
      expect(code).to.equal('ECONNREFUSED');
    }
  });

  it('a host connection to the forwarded port reaches `nc -l -p 7777 -e cat` in the guest and echoes', async () => {
    const start = await guest.run('(nc -l -p 7777 -e cat >/dev/null 2>&1 &); sleep 0.5');
    expect(start.code, start.output).to.equal(0);
    const text = 'hello through hostfwd\n';
    expect(await exchange('127.0.0.1', hostPort, text)).to.equal(text);
  });
});
