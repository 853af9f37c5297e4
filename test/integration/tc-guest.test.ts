// Qdiscs on a real guest's path, configured in tc's own syntax: `--tc` at start and `skbnet tc` at run
// time through the control socket; the guest's ping RTT and the qdisc's counters move accordingly.
import { expect } from 'chai';
import { execFile } from 'child_process';
import { Guest } from '../support/guest';
import { GuestOnSkbnet } from '../support/guest-on-skbnet';
import { CLI } from '../support/skbnet-process';

function cli(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) =>
    execFile(process.execPath, [CLI, ...args], (err, stdout, stderr) => resolve({ code: err ? (err.code as number) ?? 1 : 0, out: stdout + stderr })),
  );
}

const avgRtt = (out: string): number => Number(/round-trip min\/avg\/max = [\d.]+\/([\d.]+)\//.exec(out)?.[1]);

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
});
