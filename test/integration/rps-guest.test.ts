// RPS and RFS as a user turns them on: `skbnet serve --cpus N` and the Linux knobs through --sysctl,
// with a real guest behind them. RPS (rps_cpus=2): every frame from the guest — a TCP download's
// ACKs, pings — is processed by CPU 1's backlog, which `skbnet softnet` shows on its second line
// (received_rps, the 10th column, and processed, the 1st). Downloads are wget's, md5-checked. RFS (rps_sock_flow_entries + rps_flow_cnt,
// no rps_cpus): the TCP proxy's consumers are placed on CPUs 1 and 2 in turn (--proxy-cpus 1,2), and
// each connection's segments follow its consumer's CPU while pings (no socket) stay on CPU 0.
import { expect } from 'chai';
import { randomBytes } from 'crypto';
import { execFile } from 'child_process';
import type * as net from 'net';
import { GuestOnSkbnet } from '../support/guest-on-skbnet';
import { md5, serve } from '../support/host-servers';
import { CLI } from '../support/skbnet-process';

const SIZE = 2 << 20;

interface CpuStat {
  processed: number;
  received_rps: number;
}

/** `skbnet softnet`: one line per CPU, hex columns (processed 1st, received_rps 10th) */
function softnet(ctl: string): Promise<{ text: string; cpus: CpuStat[] }> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [CLI, 'softnet', '--control', ctl], (err, stdout, stderr) => {
      if (err) return reject(new Error(`${err.message}\n${stderr}`));
      const cpus = stdout.trim().split('\n').map((line) => {
        const cols = line.trim().split(/\s+/).map((h) => parseInt(h, 16));
        return { processed: cols[0], received_rps: cols[9] };
      });
      resolve({ text: stdout, cpus });
    }),
  );
}

const delta = (a: CpuStat[], b: CpuStat[]): CpuStat[] =>
  b.map((s, i) => ({ processed: s.processed - a[i].processed, received_rps: s.received_rps - a[i].received_rps }));

/**
 * The guest downloads `data` from a host server through 10.0.2.2 with busybox wget (HTTP/1.0), md5
 * checked. Not `nc < /dev/null`: that half-closes at once, and a socket out of ESTABLISHED records
 * no RFS flow (sock_rps_record_flow tests sk_state == TCP_ESTABLISHED, as Linux does).
 */
async function download(setup: GuestOnSkbnet, servers: net.Server[], data: Buffer): Promise<void> {
  const down = await serve((c) => {
    c.once('data', () => c.end(Buffer.concat([Buffer.from(`HTTP/1.0 200 OK\r\nContent-Length: ${data.length}\r\n\r\n`), data])));
  });
  servers.push(down.server);
  const r = await setup.guest.run(`wget -q -O /tmp/f http://10.0.2.2:${down.port}/ && md5sum /tmp/f && wc -c < /tmp/f`, 90000);
  expect(r.code, r.output).to.equal(0);
  expect(r.output).to.include(md5(data));
}

async function ping(setup: GuestOnSkbnet): Promise<void> {
  const r = await setup.guest.run('ping -c 5 -i 0.2 -W 2 10.0.2.2', 30000);
  expect(r.code, r.output).to.equal(0);
  expect(r.output).to.match(/5 packets transmitted, 5 packets received/);
}

describe('a real guest on skbnet with RPS: --cpus 2, rx-0 rps_cpus=2', function () {
  this.timeout(180000);
  const setup = new GuestOnSkbnet('rps');
  const servers: net.Server[] = [];
  const data = randomBytes(SIZE);

  before(async () => {
    await setup.start('rps', ['--cpus', '2', '--sysctl', '/sys/class/net/eth0/queues/rx-0/rps_cpus=2'], { dhcp: true });
  });
  after(async () => {
    for (const s of servers) s.close();
    await setup.stop();
  });

  it('a TCP download (md5-correct) and pings are processed on CPU 1, which `skbnet softnet` shows', async () => {
    const before = await softnet(setup.ctl);
    expect(before.cpus.length, before.text).to.equal(2);
    await download(setup, servers, data);
    const mid = await softnet(setup.ctl);
    await ping(setup);
    const after = await softnet(setup.ctl);
    const tcp = delta(before.cpus, mid.cpus);
    const icmp = delta(mid.cpus, after.cpus);
    console.log(`      softnet after:\n${after.text.replace(/^/gm, '        ')}      download: cpu0 processed ${tcp[0].processed}, cpu1 processed ${tcp[1].processed} received_rps ${tcp[1].received_rps}; ping: cpu1 processed ${icmp[1].processed}`);
    expect(tcp[1].received_rps, after.text).to.be.greaterThan(0);
    expect(tcp[1].processed, after.text).to.be.greaterThan(10);
    expect(icmp[1].processed, after.text).to.be.at.least(5); // the 5 echo requests (and any ARP)
    expect(icmp[1].received_rps, after.text).to.be.greaterThan(0);
    // rps_cpus names CPU 1 only: nothing from eth0 is processed on CPU 0
    expect(tcp[0].processed + icmp[0].processed, after.text).to.equal(0);
    expect(after.cpus[0].received_rps, after.text).to.equal(0);
  });
});

describe('a real guest on skbnet with RFS: --cpus 3, --proxy-cpus 1,2, rps_sock_flow_entries + rps_flow_cnt', function () {
  this.timeout(180000);
  const setup = new GuestOnSkbnet('rfs');
  const servers: net.Server[] = [];
  const data = randomBytes(SIZE);

  before(async () => {
    await setup.start('rfs', [
      '--cpus', '3', '--proxy-cpus', '1,2',
      '--sysctl', 'net.core.rps_sock_flow_entries=32768', '--sysctl', '/sys/class/net/eth0/queues/rx-0/rps_flow_cnt=4096',
    ], { dhcp: true });
  });
  after(async () => {
    for (const s of servers) s.close();
    await setup.stop();
  });

  it('each proxied connection is steered to its consumer CPU (1, then 2); pings stay on CPU 0', async () => {
    const s0 = await softnet(setup.ctl);
    expect(s0.cpus.length, s0.text).to.equal(3);
    await download(setup, servers, data); // the proxy's first connection: consumer CPU 1
    const s1 = await softnet(setup.ctl);
    await download(setup, servers, data); // the second: consumer CPU 2
    const s2 = await softnet(setup.ctl);
    await ping(setup);
    const s3 = await softnet(setup.ctl);
    const first = delta(s0.cpus, s1.cpus);
    const second = delta(s1.cpus, s2.cpus);
    const icmp = delta(s2.cpus, s3.cpus);
    const fmt = (d: CpuStat[]): string => d.map((c, i) => `cpu${i} ${c.processed}/${c.received_rps}`).join(' ');
    console.log(`      processed/received_rps per CPU: 1st download ${fmt(first)}; 2nd ${fmt(second)}; ping ${fmt(icmp)}`);
    // the handshake is processed inline on CPU 0 (no socket has recorded the flow yet); the rest follows the consumer
    expect(first[1].received_rps, s3.text).to.be.greaterThan(0);
    expect(first[1].processed, s3.text).to.be.greaterThan(first[0].processed);
    expect(first[2].processed, s3.text).to.equal(0);
    expect(second[2].received_rps, s3.text).to.be.greaterThan(0);
    expect(second[2].processed, s3.text).to.be.greaterThan(second[0].processed);
    expect(second[1].processed, s3.text).to.equal(0);
    // pings have no socket in the RFS table and rx-0 no rps_cpus: processed where NAPI runs, CPU 0
    expect(icmp[0].processed, s3.text).to.be.at.least(5);
    expect(icmp[1].processed + icmp[2].processed, s3.text).to.equal(0);
  });
});
