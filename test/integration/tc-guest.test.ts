// Qdiscs on a real guest's path, configured in tc's own syntax: `--tc` at start and `skbnet tc` at run
// time through the control socket; the guest's ping RTT, an iperf3 download under tbf, a 4 MiB download
// under netem loss, and the counters of `skbnet tc -s qdisc` and `skbnet nstat` move accordingly.
import { expect } from 'chai';
import { createHash, randomBytes } from 'crypto';
import * as net from 'net';
import { execFile, spawn } from 'child_process';
import { Guest } from '../support/guest';
import { GuestOnSkbnet } from '../support/guest-on-skbnet';
import { CLI } from '../support/skbnet-process';

function cli(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, [CLI, ...args], (err, stdout, stderr) => resolve({ code: err ? (err.code as number) ?? 1 : 0, out: stdout + stderr })),
  );
}

const avgRtt = (out: string): number => Number(/round-trip min\/avg\/max = [\d.]+\/([\d.]+)\//.exec(out)?.[1]);

/** the root qdisc's `Sent B bytes P pkt (dropped D, overlimits O requeues R)` from `tc -s qdisc show` */
function qdiscStats(out: string): { bytes: number; pkts: number; dropped: number; overlimits: number } {
  const m = /Sent (\d+) bytes (\d+) pkt \(dropped (\d+), overlimits (\d+) requeues \d+\)/.exec(out);
  if (m === null) throw new Error(`no Sent line in:\n${out}`);
  return { bytes: Number(m[1]), pkts: Number(m[2]), dropped: Number(m[3]), overlimits: Number(m[4]) };
}

/** `skbnet nstat -az` as name → value (absolute; the test takes its own deltas, no history file) */
function nstatValues(out: string): Record<string, number> {
  const v: Record<string, number> = {};
  for (const m of out.matchAll(/^(\w+)\s+(\d+)/gm)) v[m[1]] = Number(m[2]);
  return v;
}

describe('qdiscs on a real guest path (tc syntax)', function () {
  this.timeout(120000);
  const setup = new GuestOnSkbnet('tc');
  const ctl = setup.ctl;
  let guest: Guest;

  before(async () => {
    guest = (await setup.start('tc', ['--tc', 'qdisc replace dev eth0 root netem delay 100ms'], { dhcp: true })).guest;
  });
  after(() => setup.stop());

  it('--tc "qdisc replace dev eth0 root netem delay 100ms" puts the guest\'s ping RTT at 100–130 ms', async () => {
    const r = await guest.run('ping -c 5 -i 0.2 -W 3 10.0.2.2', 30000);
    expect(r.output).to.match(/5 packets received, 0% packet loss/);
    const avg = avgRtt(r.output);
    expect(avg, r.output).to.be.within(100, 130);
    const show = await cli(['tc', '-s', 'qdisc', 'show', 'dev', 'eth0', '--control', ctl]);
    expect(show.out).to.match(/^qdisc netem [0-9a-f]+: root refcnt \d+ limit 1000 delay 100ms/m);
    const sent = /Sent (\d+) bytes (\d+) pkt/.exec(show.out);
    expect(Number(sent?.[2]), show.out).to.be.at.least(5);
  });

  it('`skbnet tc` changes the qdisc at run time: back to fast pings, and errors in tc\'s words', async () => {
    expect((await cli(['tc', 'qdisc', 'replace', 'dev', 'eth0', 'root', 'fq_codel', '--control', ctl])).code).to.equal(0);
    const r = await guest.run('ping -c 5 -i 0.2 -W 3 10.0.2.2', 30000);
    expect(avgRtt(r.output), r.output).to.be.below(50);
    const show = await cli(['tc', '-s', 'qdisc', 'show', '--control', ctl]);
    expect(show.out).to.match(/^qdisc fq_codel [0-9a-f]+: dev eth0 root refcnt \d+ limit 10240p flows 1024 quantum 1514 target 5ms interval 100ms memory_limit 32Mb ecn drop_batch 64/m);
    const bad = await cli(['tc', 'qdisc', 'replace', 'dev', 'eth0', 'root', 'netem', 'delay', 'soon', '--control', ctl]);
    expect(bad.code).to.equal(1);
    expect(bad.out).to.match(/skbnet tc: Illegal "latency"/); // iproute2 q_netem.c's own words
  });

  it('ingress: netem delay 100ms on ifb0 delays what the guest sends — ping RTT 100–130 ms; ifb0 in ip -s link and tc -s', async () => {
    expect((await cli(['tc', 'qdisc', 'replace', 'dev', 'ifb0', 'root', 'netem', 'delay', '100ms', '--control', ctl])).code).to.equal(0);
    const r = await guest.run('ping -c 5 -i 0.2 -W 3 10.0.2.2', 30000);
    expect(r.output).to.match(/5 packets received, 0% packet loss/);
    expect(avgRtt(r.output), r.output).to.be.within(100, 130);
    const show = await cli(['tc', '-s', 'qdisc', 'show', 'dev', 'ifb0', '--control', ctl]);
    expect(show.out).to.match(/^qdisc netem [0-9a-f]+: root refcnt 2 limit 1000 delay 100ms/m);
    expect(Number(/Sent (\d+) bytes (\d+) pkt/.exec(show.out)?.[2]), show.out).to.be.at.least(5);
    const link = await cli(['ip', '-s', 'link', 'show', 'dev', 'ifb0', '--control', ctl]);
    expect(link.out).to.match(/^\d+: ifb0: <BROADCAST,NOARP,UP,LOWER_UP> mtu 1500 qdisc netem state UNKNOWN/m);
    expect(Number(/RX: .*\n\s+(\d+)\s+(\d+)/.exec(link.out)?.[2]), link.out).to.be.at.least(5);
    // deleting ifb0's root restores pass-through (noqueue)
    expect((await cli(['tc', 'qdisc', 'del', 'dev', 'ifb0', 'root', '--control', ctl])).code).to.equal(0);
    const fast = await guest.run('ping -c 3 -i 0.2 -W 3 10.0.2.2', 30000);
    expect(avgRtt(fast.output), fast.output).to.be.below(50);
    expect((await cli(['tc', 'qdisc', 'show', 'dev', 'ifb0', '--control', ctl])).out).to.match(/^qdisc noqueue 0: root refcnt 2/);
  });

  describe('shaping and loss toward the guest (skbnet tc at run time, reset afterwards)', () => {
    // back to the device's default qdisc (tc qdisc del … root) so later cases see an unshaped link
    afterEach(async () => {
      const r = await cli(['tc', 'qdisc', 'del', 'dev', 'eth0', 'root', '--control', ctl]);
      expect(r.code, r.out).to.equal(0);
    });

    it('tbf rate 10mbit burst 64kb latency 400ms holds a guest iperf3 download (-R, 5 s) to 10 Mbit/s ± 10 %', async () => {
      // burst 64kb = 65536 B (tc shows 64Kb): ≈ 52 ms of tokens at 10 Mbit/s, so a late timer wakeup (Node's
      // timers, a busy 2-core machine) loses no rate, where 32kbit (4096 B, 3.3 ms) lost up to 10 % here;
      // a GSO skb of up to 64 KiB fits whole. limit = rate × latency + burst ≈ 566 kB of queue.
      const add = await cli(['tc', 'qdisc', 'replace', 'dev', 'eth0', 'root', 'tbf', 'rate', '10mbit', 'burst', '64kb', 'latency', '400ms', '--control', ctl]);
      expect(add.code, add.out).to.equal(0);
      const before = qdiscStats((await cli(['tc', '-s', 'qdisc', 'show', 'dev', 'eth0', '--control', ctl])).out);
      expect(before.pkts, 'a fresh qdisc').to.equal(0);
      const port = 5201 + Math.floor(Math.random() * 1000);
      const server = spawn('iperf3', ['-s', '-1', '-B', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
      let r;
      try {
        await new Promise((res) => setTimeout(res, 300));
        r = await guest.run(`iperf3 -c 10.0.2.2 -p ${port} -R -t 5 -f m`, 60000);
      } finally {
        server.kill();
      }
      expect(r.code, r.output).to.equal(0);
      // the client's summary line for the receiving side (the guest, with -R): "… X MBytes  Y Mbits/sec  receiver"
      const m = /([\d.]+) Mbits\/sec\s+receiver/.exec(r.output);
      expect(m, r.output).to.not.equal(null);
      const mbit = Number(m![1]);
      const show = await cli(['tc', '-s', 'qdisc', 'show', 'dev', 'eth0', '--control', ctl]);
      expect(show.out).to.match(/^qdisc tbf [0-9a-f]+: root refcnt \d+ rate 10Mbit burst 64Kb lat 400ms/m);
      const after = qdiscStats(show.out);
      console.log(`      iperf3 -R through tbf 10mbit: ${mbit} Mbit/s at the guest; qdisc Sent ${after.bytes} bytes ${after.pkts} pkt, dropped ${after.dropped}, overlimits ${after.overlimits}`);
      // iperf3 counts TCP payload: the line rate (Ethernet frames, as tbf counts qdisc_pkt_len) carries
      // 1448/1514 of it as payload, 9.56 Mbit/s; ±10 % of 10 Mbit/s is 9–11
      expect(mbit, r.output).to.be.within(9, 11);
      // tbf's counters: ≥ 5 s at 10 Mbit/s went through (≥ 6.25 MB minus the burst) and it throttled (overlimits)
      expect(after.bytes, show.out).to.be.within(5.5e6, 8e6);
      expect(after.overlimits, show.out).to.be.greaterThan(100);
    });

    it('netem loss 5% (seed 1311) still completes a 4 MiB md5-checked download; RetransSegs and the qdisc\'s dropped move', async () => {
      const data = randomBytes(4 << 20);
      const server = net.createServer({ allowHalfOpen: true }, (c) => {
        c.on('data', () => undefined);
        c.end(data);
      });
      await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
      const port = (server.address() as net.AddressInfo).port;
      try {
        // `seed` (iproute2 ≥ 6.5 syntax; the model's netem draws from prandom's LFSR113 as Linux does): the
        // loss pattern depends only on the number of skbs offered. Seed 1311's stream drops its 2nd draw and
        // keeps the loss between 3.5 % and 6.5 % for every prefix of 60 to 3000 draws (checked offline
        // against kernel-model/sched/prandom.ts), so the bounds below are exact, not statistical.
        const add = await cli(['tc', 'qdisc', 'replace', 'dev', 'eth0', 'root', 'netem', 'loss', '5%', 'seed', '1311', '--control', ctl]);
        expect(add.code, add.out).to.equal(0);
        const n0 = nstatValues((await cli(['nstat', '-az', '--control', ctl])).out);
        const r = await guest.run(`nc -w 30 10.0.2.2 ${port} < /dev/null > /tmp/loss; md5sum /tmp/loss; wc -c < /tmp/loss`, 120000);
        expect(r.code, r.output).to.equal(0);
        expect(r.output).to.include(createHash('md5').update(data).digest('hex'));
        const n1 = nstatValues((await cli(['nstat', '-az', '--control', ctl])).out);
        const d = (k: string): number => (n1[k] ?? 0) - (n0[k] ?? 0);
        const show = await cli(['tc', '-s', 'qdisc', 'show', 'dev', 'eth0', '--control', ctl]);
        expect(show.out).to.match(/^qdisc netem [0-9a-f]+: root refcnt \d+ limit 1000 loss 5% seed 1311/m);
        const q = qdiscStats(show.out);
        // netem draws loss per skb (netem_enqueue: a GSO skb is dropped whole, qstats.drops += 1), while Sent
        // counts segments (bstats: gso_segs). The skbs offered are the model's Ip OutRequests (ip_output
        // counts every IPv4 skb toward the guest, all of which go through this qdisc).
        const offered = d('IpOutRequests');
        const lossRatio = q.dropped / offered;
        console.log(
          `      netem loss 5%: ${offered} skbs offered (Ip OutRequests), dropped ${q.dropped} (${(lossRatio * 100).toFixed(1)} %), Sent ${q.pkts} pkt; ` +
            `nstat TcpOutSegs +${d('TcpOutSegs')} TcpRetransSegs +${d('TcpRetransSegs')} TcpExtTCPLostRetransmit +${d('TcpExtTCPLostRetransmit')} ` +
            `TcpExtTCPSackRecovery +${d('TcpExtTCPSackRecovery')} TcpExtTCPFastRetrans +${d('TcpExtTCPFastRetrans')} TcpExtTCPTimeouts +${d('TcpExtTCPTimeouts')} TcpExtTCPLossProbes +${d('TcpExtTCPLossProbes')}`,
        );
        expect(q.pkts, show.out).to.be.at.least(Math.ceil((4 << 20) / 1448));
        // (ARP replies to the guest also take a draw: ± 2)
        expect(offered, 'skbs offered').to.be.at.least(60);
        expect(q.dropped, show.out).to.be.within(Math.max(1, Math.floor(offered * 0.035) - 2), Math.ceil(offered * 0.065) + 2);
        // a dropped data skb (or FIN) must be sent again for the download to complete, and each resend counts
        // RetransSegs by its segments (tcp_retransmit_skb); only a lost pure ACK or ARP reply is not resent.
        // Loss repair ran through SACK recovery or RTOs, with fast or slow-start retransmits.
        expect(d('TcpRetransSegs')).to.be.at.least(q.dropped - 3);
        expect(d('TcpExtTCPSackRecovery') + d('TcpExtTCPTimeouts')).to.be.greaterThan(0);
        expect(d('TcpExtTCPFastRetrans') + d('TcpExtTCPSlowStartRetrans')).to.be.greaterThan(0);
        // OutSegs excludes retransmissions: the new data alone is ≥ 4 MiB of segments
        expect(d('TcpOutSegs')).to.be.at.least(Math.floor((4 << 20) / 1448));
      } finally {
        server.close();
      }
    });
  });
});
