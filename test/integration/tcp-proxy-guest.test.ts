// A real QEMU guest on skbnet opens TCP connections to 10.0.2.2 (the host's 127.0.0.1, as with
// `-netdev user`) and to this machine's own off-link address: busybox nc downloads 4 MiB of random
// bytes and uploads them back (md5 identical both ways, throughput printed), and 200 nc run at once
// all get their reply. The guest's TCP uses TSO (HOST_TSO4): its super-frames reach the model whole.
import { expect } from 'chai';
import { createHash, randomBytes } from 'crypto';
import * as net from 'net';
import * as os from 'os';
import { execFile } from 'child_process';
import { Guest } from '../support/guest';
import { GuestOnSkbnet } from '../support/guest-on-skbnet';
import { iperf3TcpFromGuest, iperf3UdpFromGuest, md5, serve } from '../support/host-servers';
import { CLI } from '../support/skbnet-process';

/** 4 MiB; SKBNET_TCP_MIB=N measures with N MiB instead (the guest keeps the file in RAM) */
const SIZE = (Number(process.env.SKBNET_TCP_MIB) || 4) << 20;

function cli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [CLI, ...args], (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
  );
}

/** seconds from the guest's /proc/uptime before and after a command (10 ms resolution) */
function timed(cmd: string): string {
  return `s=$(cut -d' ' -f1 /proc/uptime); ${cmd}; rc=$?; e=$(cut -d' ' -f1 /proc/uptime); echo "T $s $e"; exit $rc`;
}

function seconds(out: string): number {
  const m = /T (\d+\.\d+) (\d+\.\d+)/.exec(out);
  if (m === null) throw new Error(`no timing in: ${out}`);
  return Math.max(0.01, Number(m[2]) - Number(m[1]));
}

describe('a real guest: outbound TCP through the host proxy', function () {
  this.timeout(180000);
  const setup = new GuestOnSkbnet('tcp');
  const ctl = setup.ctl;
  const data = randomBytes(SIZE);
  const servers: net.Server[] = [];
  let guest: Guest;

  before(async () => {
    guest = (await setup.start('tcp-proxy', [], { dhcp: true })).guest;
  });
  after(async () => {
    for (const s of servers) s.close();
    await setup.stop();
  });

  it('downloads 4 MiB from 127.0.0.1 through 10.0.2.2 and uploads it back, md5 identical both ways', async () => {
    const down = await serve((c) => {
      c.on('data', () => undefined);
      c.end(data);
    });
    servers.push(down.server);
    const r1 = await guest.run(timed(`nc -w 30 10.0.2.2 ${down.port} < /dev/null > /tmp/f`) + '', 60000);
    expect(r1.code, r1.output).to.equal(0);
    const sum = await guest.run('md5sum /tmp/f; wc -c < /tmp/f');
    expect(sum.output).to.include(md5(data));
    const downS = seconds(r1.output);

    let upMd5 = '';
    let upLen = 0;
    const up = await serve((c) => {
      const h = createHash('md5');
      c.on('data', (d: Buffer) => {
        h.update(d);
        upLen += d.length;
      });
      c.on('end', () => {
        upMd5 = h.digest('hex');
        c.end();
      });
    });
    servers.push(up.server);
    const before = await rxFrames();
    const r2 = await guest.run(timed(`nc -w 30 10.0.2.2 ${up.port} < /tmp/f > /dev/null`), 60000);
    expect(r2.code, r2.output).to.equal(0);
    expect(upLen).to.equal(SIZE);
    expect(upMd5).to.equal(md5(data));
    const upS = seconds(r2.output);
    // the guest's TSO super-frames (HOST_TSO4) arrive as such: far fewer frames than MSS-sized segments
    const frames = (await rxFrames()) - before;
    expect(frames, 'frames from the guest during the upload').to.be.below(SIZE / 1448 / 2);
    const mbit = (s: number): string => ((SIZE * 8) / s / 1e6).toFixed(1);
    console.log(`      guest download ${mbit(downS)} Mbit/s (${downS.toFixed(2)} s), upload ${mbit(upS)} Mbit/s (${upS.toFixed(2)} s) for ${SIZE >> 20} MiB; ${frames} frames from the guest during the upload`);
  });

  /** frames the device received from the guest (skbnet ip -s link, RX packets) */
  async function rxFrames(): Promise<number> {
    const link = await cli(['ip', '-s', 'link', '--control', ctl]);
    const rx = /RX: .*\n\s+(\d+)\s+(\d+)/.exec(link);
    return Number(rx?.[2]);
  }

  it('reaches this machine by its own off-link address (answered as that address)', async function () {
    const ext = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal);
    if (!ext) this.skip();
    const s = await serve((c) => c.end(`hello from ${c.localAddress}\n`), ext!.address);
    servers.push(s.server);
    const r = await guest.run(`nc -w 10 ${ext!.address} ${s.port} < /dev/null`, 30000);
    expect(r.output).to.include(`hello from ${ext!.address}`);
  });

  it('a closed host port refuses the guest at once (RST): Connection refused', async () => {
    const s = await serve(() => undefined);
    const port = (s.server.address() as net.AddressInfo).port;
    await new Promise<void>((r) => s.server.close(() => r()));
    const r = await guest.run(timed(`nc -w 10 10.0.2.2 ${port} < /dev/null`), 30000);
    expect(r.code).to.not.equal(0);
    expect(r.output).to.match(/Connection refused/);
    expect(seconds(r.output), 'no SYN retries').to.be.below(1);
  });

  it('carries guest UDP to a host socket through 10.0.2.2 (UDP proxy): an iperf3 UDP test completes', async () => {
    const r = await iperf3UdpFromGuest(guest, '127.0.0.1', '10.0.2.2', 5201 + Math.floor(Math.random() * 1000));
    expect(r.code, r.output).to.equal(0);
    expect(r.datagrams, `datagrams reached the host\n${r.output}`).to.be.greaterThan(100);
  });

  it('`skbnet ss -ti` shows the guest\'s open nc connection ESTABLISHED with its tcp_info', async () => {
    let conn: net.Socket | null = null;
    const s = await serve((c) => {
      conn = c;
      c.on('data', () => undefined);
      c.write('hello\n');
    });
    servers.push(s.server);
    // nc stays connected (its stdin open) for a few seconds; nothing of it holds the agent's output
    await guest.run(`(sleep 6) | nc 10.0.2.2 ${s.port} > /dev/null 2>&1 &`, 10000);
    const row = new RegExp(`^ESTAB +0 +0 +10\\.0\\.2\\.2:${s.port} +10\\.0\\.2\\.15:(\\d+) *\n\t(.*)$`, 'm');
    let out = '';
    for (let i = 0; i < 50 && !/bytes_acked:6 /.test(out); i++) {
      await new Promise((r) => setTimeout(r, 100));
      out = await cli(['ss', '-tin', '--control', ctl]);
    }
    expect(out).to.match(/^State +Recv-Q +Send-Q +Local Address:Port +Peer Address:Port +Process/);
    const m = row.exec(out);
    expect(m, out).to.not.equal(null);
    console.log(`      ${m![0].replace('\n', '\n      ')}`);
    // the model's socket toward the guest: it sent "hello\n" and got it acked; Linux 6.1 options
    expect(m![2]).to.match(/^ cubic wscale:\d+,7 rto:\d+ rtt:[\d.]+\/[\d.]+ (ato:\d+ )?mss:1448 pmtu:1500 rcvmss:\d+ advmss:1460 cwnd:10 bytes_sent:6 bytes_acked:6 segs_out:\d+ segs_in:\d+ data_segs_out:1 send \d+bps lastsnd:\d+ (lastrcv:\d+ )?lastack:\d+ pacing_rate \d+bps delivered:\d+ rcv_space:\d+ rcv_ssthresh:\d+ minrtt:[\d.]+ snd_wnd:\d+/);
    expect(await cli(['ss', '-t', '-o', '-i', '--control', ctl])).to.match(/\t ts sack cubic wscale/);
    (conn as net.Socket | null)?.destroy();
  });

  it('iperf3 over TCP completes both ways (guest → host, then -R host → guest) through 10.0.2.2', async () => {
    const port = 6201 + Math.floor(Math.random() * 1000);
    const up = await iperf3TcpFromGuest(guest, '127.0.0.1', '10.0.2.2', port);
    expect(up.code, up.output).to.equal(0);
    expect(up.mbit, up.output).to.be.greaterThan(0);
    const down = await iperf3TcpFromGuest(guest, '127.0.0.1', '10.0.2.2', port + 1, { reverse: true });
    expect(down.code, down.output).to.equal(0);
    expect(down.mbit, down.output).to.be.greaterThan(0);
    console.log(`      iperf3 TCP 3 s: guest → host ${up.mbit} Mbit/s, host → guest ${down.mbit} Mbit/s (one run each; npm run bench compares with -netdev user)`);
  });

  it('completes 200 concurrent guest connections', async () => {
    let n = 0;
    const s = await serve((c) => {
      c.on('data', () => undefined);
      c.on('end', () => undefined);
      // answer after a short delay so the connections overlap
      setTimeout(() => c.end(`reply ${++n}\n`), 200);
    });
    servers.push(s.server);
    const r = await guest.run(
      `rm -f /tmp/c.*; for i in $(seq 1 200); do nc -w 30 10.0.2.2 ${s.port} < /dev/null > /tmp/c.$i 2>&1 & done; wait; cat /tmp/c.* | grep -c '^reply '`,
      90000,
    );
    expect(r.code, r.output).to.equal(0);
    expect(r.output.trim().split('\n').pop()).to.equal('200');
    expect(n).to.equal(200);
  });

  it('`skbnet services` counts the proxy\'s connections; none hit the cap (1024 by default)', async () => {
    const out = await cli(['services', '--control', ctl]);
    const line = out.split('\n').find((l) => l.startsWith('tcp-proxy:'));
    expect(line, out).to.be.a('string');
    const v = (k: string): number => Number(new RegExp(`\\b${k} (\\d+)`).exec(line!)![1]);
    // every test before this one opened host connections through the proxy: the 200 at least
    expect(v('opened'), line).to.be.at.least(200);
    expect(v('connected'), line).to.be.at.least(200);
    expect(v('connLimit'), line).to.equal(0);
    expect(out).to.match(/^udp-proxy: .*\bflows [1-9]\d* .*\bflowLimit 0\b/m);
    expect(out).to.match(/^tcp: .*\bsndbufCapped \d+/m);
  });
});
