// `skbnet serve --metrics PORT`: every counter for Prometheus over loopback. A test-side virtio driver
// (the same rings QEMU would drive) sends the model real frames, and the scraped counters move.
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SkbnetProcess } from '../support/skbnet-process';
import { VirtioNetSession, until } from '../support/vhost-user-session';
import { GATEWAY_MAC, GUEST_MAC, arpRequest, icmpEcho } from '../support/frames';

/** the exposition text as { 'name{labels}': value }, plus the # TYPE of each family */
function parse(text: string): { values: Map<string, number>; types: Map<string, string> } {
  const values = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const t = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (t) types.set(t[1], t[2]);
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    expect(m, `a sample line: ${line}`).to.not.equal(null);
    // label order as printed; tests look samples up with labels sorted by name
    const labels = m![2] ? `{${m![2].slice(1, -1).split(',').sort().join(',')}}` : '';
    values.set(m![1] + labels, Number(m![3]));
  }
  return { values, types };
}

describe('--metrics: Prometheus exposition of the model\'s counters', function () {
  this.timeout(30000);
  let dir: string;
  let skbnet: SkbnetProcess;
  let url: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbnet-metrics-'));
    skbnet = await SkbnetProcess.serve(['--vhost-user', path.join(dir, 'vu.sock'), '--metrics', '0', '--quiet']);
    const m = /skbnet: metrics: (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(skbnet.stdout);
    expect(m, skbnet.stdout).to.not.equal(null);
    url = m![1];
  });
  after(async () => {
    await skbnet?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function scrape(): Promise<ReturnType<typeof parse>> {
    const r = await fetch(url);
    expect(r.status).to.equal(200);
    expect(r.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
    return parse(await r.text());
  }

  it('binds 127.0.0.1 when given only a port; every family is there with node_exporter-style names', async () => {
    const { values, types } = await scrape();
    const g = '{guest="0"}';
    for (const n of ['Ip_InReceives', 'Icmp_InEchos', 'Tcp_InSegs', 'Udp_InDatagrams', 'TcpExt_TCPSackRecovery', 'IpExt_InOctets', 'Ip6_InReceives', 'Icmp6_InMsgs', 'Udp6_InDatagrams']) {
      expect(values.get(`skbnet_netstat_${n}${g}`), n).to.be.a('number');
    }
    expect(types.get('skbnet_netstat_TcpExt_TCPSackRecovery')).to.equal('counter');
    expect(types.get('skbnet_netstat_Tcp_CurrEstab')).to.equal('gauge');
    expect(values.get('skbnet_softnet_processed_total{cpu="0",guest="0"}')).to.be.a('number');
    for (const dev of ['eth0', 'ifb0']) {
      expect(values.get(`skbnet_network_receive_packets_total{device="${dev}",guest="0"}`), dev).to.be.a('number');
    }
    expect([...values.keys()].some((k) => k.startsWith('skbnet_qdisc_packets_total{device="eth0"'))).to.equal(true);
    expect([...values.keys()].some((k) => k.startsWith('skbnet_qdisc_packets_total{device="ifb0",guest="0",handle="0:",kind="noqueue"'))).to.equal(true);
    // skbnet's own service counters (`skbnet services`), caps included
    expect(values.get('skbnet_service{counter="connLimit",guest="0",service="tcp-proxy"}')).to.equal(0);
    expect(types.get('skbnet_service')).to.equal('gauge');
    expect((await fetch(url.replace('/metrics', '/nothing'))).status).to.equal(404);
  });

  it('counters move after traffic from a virtio driver: ARP + 3 echo requests', async () => {
    const before = (await scrape()).values;
    const s = await VirtioNetSession.start(path.join(dir, 'vu.sock'));
    try {
      s.postRxBuffers(64);
      s.sendFrame(arpRequest(GUEST_MAC, '10.0.2.15', '10.0.2.2'));
      for (let i = 1; i <= 3; i++) s.sendFrame(icmpEcho(GUEST_MAC, GATEWAY_MAC, '10.0.2.15', '10.0.2.2', 7, i, new Uint8Array(56)));
      await until(() => s.rx.driver.usedIdx() >= 4, 5000, 'the ARP reply and 3 echo replies');
      const after = (await scrape()).values;
      const d = (k: string): number => (after.get(k) ?? 0) - (before.get(k) ?? 0);
      expect(d('skbnet_netstat_Ip_InReceives{guest="0"}')).to.equal(3);
      expect(d('skbnet_netstat_Icmp_InEchos{guest="0"}')).to.equal(3);
      expect(d('skbnet_netstat_Icmp_OutEchoReps{guest="0"}')).to.equal(3);
      expect(after.get('skbnet_netstat_IcmpMsg_InType8{guest="0"}')).to.equal(3);
      expect(d('skbnet_network_receive_packets_total{device="eth0",guest="0"}')).to.equal(4);
      expect(d('skbnet_network_transmit_packets_total{device="eth0",guest="0"}')).to.equal(4);
      expect(d('skbnet_softnet_processed_total{cpu="0",guest="0"}')).to.be.at.least(4);
      const q = [...after.keys()].find((k) => k.startsWith('skbnet_qdisc_packets_total{device="eth0"'))!;
      expect(d(q)).to.equal(4);
    } finally {
      s.close();
    }
  });
});
