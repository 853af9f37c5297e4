// A real QEMU guest on skbnet reaches the host over IPv6 as with `-netdev user`: after SLAAC it
// downloads 1 MiB with busybox nc from a host server on ::1 through fec0::2 (md5 identical) and uploads
// it back, connects to this machine's own non-loopback IPv6 address (an off-link destination the model
// terminates), runs an iperf3 UDP test against a host server on ::1 through fec0::2, and `skbnet ss -tni`
// lists an open guest IPv6 connection with its tcp_info.
import { expect } from 'chai';
import { createHash, randomBytes } from 'crypto';
import { execFile } from 'child_process';
import type * as net from 'net';
import { Guest } from '../support/guest';
import { GuestOnSkbnet } from '../support/guest-on-skbnet';
import { CLI } from '../support/skbnet-process';
import { hasLoopback6, iperf3UdpFromGuest, md5, ownIpv6, serve } from '../support/host-servers';

function cli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [CLI, ...args], (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
  );
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
    const r = await iperf3UdpFromGuest(guest, loop6, 'fec0::2', 6201 + Math.floor(Math.random() * 1000));
    expect(r.code, r.output).to.equal(0);
    expect(r.datagrams, `datagrams reached the host\n${r.output}`).to.be.greaterThan(100);
  });

  it('`skbnet ss -tni` lists the guest\'s open IPv6 nc connection as ss prints IPv6 sockets, with its tcp_info', async () => {
    let conn: net.Socket | null = null;
    const s = await serve((c) => {
      conn = c;
      c.on('data', () => undefined);
      c.write('hello\n');
    }, loop6);
    servers.push(s.server);
    // nc stays connected (its stdin open) for a few seconds; nothing of it holds the agent's output
    await guest.run(`(sleep 6) | nc fec0::2 ${s.port} > /dev/null 2>&1 &`, 10000);
    const row = new RegExp(`^ESTAB +0 +0 +\\[fec0::2\\]:${s.port} +\\[fec0::5054:ff:fe12:3456\\]:(\\d+) *\n\t(.*)$`, 'm');
    let out = '';
    for (let i = 0; i < 50 && !/bytes_acked:6 /.test(out); i++) {
      await new Promise((r) => setTimeout(r, 100));
      out = await cli(['ss', '-tni', '--control', setup.ctl]);
    }
    expect(out).to.match(/^State +Recv-Q +Send-Q +Local Address:Port +Peer Address:Port +Process/);
    const m = row.exec(out);
    expect(m, out).to.not.equal(null);
    console.log(`      ${m![0].replace('\n', '\n      ')}`);
    // the model's socket toward the guest: MSS from MTU − 60 (1440, 1428 with timestamps)
    expect(m![2]).to.match(/^ cubic wscale:\d+,7 rto:\d+ rtt:[\d.]+\/[\d.]+ (ato:\d+ )?mss:1428 pmtu:1500 rcvmss:\d+ advmss:1440 cwnd:10 bytes_sent:6 bytes_acked:6 /);
    // -4 leaves it out, -6 keeps it
    expect(await cli(['ss', '-tn4', '--control', setup.ctl])).to.not.match(/fec0::2/);
    expect(await cli(['ss', '-tn6', '--control', setup.ctl])).to.match(new RegExp(`\\[fec0::2\\]:${s.port} `));
    (conn as net.Socket | null)?.destroy();
  });
});
