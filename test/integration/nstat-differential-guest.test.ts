// nstat differential: for the same bulk transfer, the real Linux 6.1 guest's own counters (/proc/net/snmp
// and /proc/net/netstat, read in the guest before and after) against the model's (`skbnet nstat -az`).
// The guest's TCP connection to 10.0.2.2 terminates in the model's TCP (host proxy to 127.0.0.1), so
// every segment one side counts as sent the other counts as received, and pairs of counters with the
// same semantics must agree exactly, or by a stated rule where GRO or TSO changes what one skb is.
// Nothing else speaks IPv4 on the link meanwhile (no DHCP renewal within the 86400 s lease, ARP is not
// IP, IPv6 has its own counters), so the deltas hold only this connection.
import { expect } from 'chai';
import { createHash, randomBytes } from 'crypto';
import * as net from 'net';
import { execFile } from 'child_process';
import { Guest } from '../support/guest';
import { GuestOnSkbnet } from '../support/guest-on-skbnet';
import { CLI } from '../support/skbnet-process';
import { counterDelta, parseProcNetSnmp } from '../support/proc-net-snmp';

const SIZE = 4 << 20;
/** IPv4 + TCP header with the timestamps option (both stacks negotiate TS): what a GRO merge saves */
const HDRS = 20 + 32;

function cli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [CLI, ...args], (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout))),
  );
}

function parseNstat(out: string): Record<string, number> {
  const v: Record<string, number> = {};
  for (const m of out.matchAll(/^(\w+)\s+(\d+)/gm)) v[m[1]] = Number(m[2]);
  return v;
}

/** payload bytes received twice: none without retransmissions, else 1 to 1448 per retransmitted segment */
function resent(extra: number, retransSegs: number, what: string): void {
  if (retransSegs === 0) expect(extra, what).to.equal(0);
  else expect(extra, `${what} with ${retransSegs} retransmitted segments`).to.be.within(1, retransSegs * 1448);
}

const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');

describe('nstat differential: the guest\'s own counters vs the model\'s for one bulk transfer', function () {
  this.timeout(180000);
  const setup = new GuestOnSkbnet('nstat-diff');
  const data = randomBytes(SIZE);
  let guest: Guest;
  const servers: net.Server[] = [];

  before(async () => {
    guest = (await setup.start('nstat-diff', [], { dhcp: true })).guest;
  });
  after(async () => {
    for (const s of servers) s.close();
    await setup.stop();
  });

  async function guestCounters(): Promise<Record<string, number>> {
    const r = await guest.run('cat /proc/net/snmp /proc/net/netstat', 20000);
    expect(r.code, r.output).to.equal(0);
    return parseProcNetSnmp(r.output);
  }
  const modelCounters = async (): Promise<Record<string, number>> => parseNstat(await cli(['nstat', '-az', '--control', setup.ctl]));

  /** run `cmd` in the guest between two snapshots of both sides' counters; returns the deltas */
  async function measure(cmd: string): Promise<{ g: Record<string, number>; m: Record<string, number>; output: string }> {
    const g0 = await guestCounters();
    const m0 = await modelCounters();
    // `sleep 1` after the transfer: the last FIN/ACK exchange is over before either side is read
    const r = await guest.run(`${cmd}; rc=$?; sleep 1; exit $rc`, 120000);
    expect(r.code, r.output).to.equal(0);
    const g1 = await guestCounters();
    const m1 = await modelCounters();
    return { g: counterDelta(g0, g1), m: counterDelta(m0, m1), output: r.output };
  }

  const show = (g: Record<string, number>, m: Record<string, number>, keys: string[]): string =>
    keys.map((k) => `${k} guest +${g[k] ?? 0} model +${m[k] ?? 0}`).join('; ');

  it('guest downloads 4 MiB: skbs, bytes and ACKs agree across the two stacks; InNoECTPkts counts as ip_rcv_core does', async () => {
    const s = net.createServer({ allowHalfOpen: true }, (c) => {
      c.on('data', () => undefined);
      c.end(data);
    });
    servers.push(s);
    await new Promise<void>((res) => s.listen(0, '127.0.0.1', () => res()));
    const port = (s.address() as net.AddressInfo).port;
    const { g, m, output } = await measure(`nc -w 30 10.0.2.2 ${port} < /dev/null > /tmp/down && md5sum /tmp/down`);
    expect(output).to.include(md5(data));
    const merged = m.IpOutRequests - g.IpInReceives;
    const modelGso = m.IpOutRequests < m.TcpOutSegs + m.TcpRetransSegs;
    console.log(
      `      download: ${show(g, m, ['TcpOutSegs', 'TcpRetransSegs', 'TcpInSegs', 'IpInReceives', 'IpOutRequests', 'IpExtInNoECTPkts', 'IpExtInOctets', 'IpExtOutOctets', 'TcpExtTCPOrigDataSent'])}; ` +
        `model sent ${modelGso ? 'GSO' : 'MSS-sized'} skbs, guest GRO merged ${merged}`,
    );
    // Model → guest, data. Each skb the model's ip_output counts (OutRequests, OutOctets += skb->len) is one
    // skb at the guest's ip_rcv_core (InReceives, InOctets += skb->len) unless the guest's GRO merged it into
    // the previous one, which leaves one IPv4+TCP header for both (inet_gro_complete): two equations, one
    // unknown, so the second is a real check.
    expect(merged, 'guest GRO merges').to.be.at.least(0);
    expect(g.IpExtInOctets, 'guest InOctets = model OutOctets − 52 × merged').to.equal(m.IpExtOutOctets - HDRS * merged);
    // Payload conservation: 4 MiB plus one 52-byte header per skb, plus 8 for the SYN-ACK's longer options
    // (MSS, SACK_PERM, TS, WS: 20 bytes against the 12 of NOP NOP TS), plus whatever payload was sent twice
    // (a spurious retransmission, e.g. a loss probe when the guest is slow to ACK: ≤ 1448 per RetransSegs)
    resent(g.IpExtInOctets - (SIZE + HDRS * g.IpInReceives + 8), m.TcpRetransSegs, 'guest InOctets − (4 MiB + 52 × InReceives + 8)');
    expect(g.TcpInSegs, 'only TCP came in').to.equal(g.IpInReceives);
    // IpExt InNoECTPkts: ip_rcv_core adds max(1, gso_segs) per skb (net/ipv4/ip_input.c; all Not-ECT:
    // tcp_ecn=2, the guest does not ask for ECN). A GSO skb from the model (GUEST_TSO4) reaches the guest's
    // stack SKB_GSO_DODGY with gso_segs 0 (virtio_net_hdr_to_skb): 1, and GRO never merges it; plain
    // skbs the guest's GRO merges get gso_segs = how many were merged. So the guest counts one per skb
    // the model sent, whether the model sends GSO skbs or MSS-sized segments:
    expect(g.IpExtInNoECTPkts, 'guest InNoECTPkts = model IpOutRequests').to.equal(m.IpOutRequests);
    if (!modelGso) {
      // MSS-sized segments only: that is the model's segment count too, and the guest's GRO merged
      expect(g.IpExtInNoECTPkts, 'guest InNoECTPkts = model OutSegs + RetransSegs').to.equal(m.TcpOutSegs + m.TcpRetransSegs);
      expect(merged, 'the guest\'s GRO merged').to.be.greaterThan(SIZE / 1448 / 4);
    }
    // the model's segments: at least 4 MiB of 1448-byte ones (OutSegs counts pcount, tcp_output.c)
    expect(m.TcpExtTCPOrigDataSent, 'model data segments').to.be.at.least(Math.ceil(SIZE / 1448));
    // Guest → model: pure ACKs (plus SYN, FIN), never merged (tcp_gro_receive flushes a segment with no
    // payload), one skb each: the guest's OutSegs + RetransSegs = the model's InSegs
    expect(m.TcpInSegs, 'model TcpInSegs = guest TcpOutSegs + TcpRetransSegs').to.equal(g.TcpOutSegs + g.TcpRetransSegs);
    expect(m.IpInReceives, 'model IpInReceives = guest IpOutRequests').to.equal(g.IpOutRequests);
    expect(m.IpExtInOctets, 'model InOctets = guest OutOctets').to.equal(g.IpExtOutOctets);
  });

  it('guest uploads 4 MiB: the model\'s ACKs = the guest\'s TcpInSegs; bytes agree once GRO merges are counted', async () => {
    let got = '';
    let len = 0;
    const s = net.createServer({ allowHalfOpen: true }, (c) => {
      const h = createHash('md5');
      c.on('data', (d: Buffer) => {
        h.update(d);
        len += d.length;
      });
      c.on('end', () => {
        got = h.digest('hex');
        c.end();
      });
    });
    servers.push(s);
    await new Promise<void>((res) => s.listen(0, '127.0.0.1', () => res()));
    const port = (s.address() as net.AddressInfo).port;
    const { g, m } = await measure(`head -c ${SIZE} /dev/urandom > /tmp/up; md5sum /tmp/up > /tmp/up.md5; nc -w 30 10.0.2.2 ${port} < /tmp/up > /dev/null`);
    expect(len).to.equal(SIZE);
    const sum = await guest.run('cat /tmp/up.md5');
    expect(sum.output).to.include(got);
    const merged = g.IpOutRequests - m.IpInReceives;
    console.log(
      `      upload: ${show(g, m, ['TcpOutSegs', 'TcpRetransSegs', 'TcpInSegs', 'IpInReceives', 'IpOutRequests', 'IpExtInOctets', 'IpExtOutOctets', 'TcpExtTCPOrigDataSent', 'TcpExtDelayedACKs'])}; ` +
        `model GRO merged ${merged} skbs`,
    );
    // Model → guest: ACKs (and the SYN-ACK and FIN), each its own skb; the guest's GRO passes pure ACKs
    // up unmerged, so one guest InSegs per model segment sent, first or again:
    expect(g.TcpInSegs, 'guest TcpInSegs = model TcpOutSegs + TcpRetransSegs').to.equal(m.TcpOutSegs + m.TcpRetransSegs);
    expect(g.IpInReceives, 'guest IpInReceives = model IpOutRequests').to.equal(m.IpOutRequests);
    // Guest → model: the guest sends TSO skbs (HOST_TSO4), counted once in its Ip OutRequests and by
    // pcount in its Tcp OutSegs (tcp_output.c); they reach the model whole, one skb each, unless the
    // model's GRO merges some (then InReceives is smaller by the merges and InOctets by a header each):
    expect(merged, 'skbs merged by the model\'s GRO').to.be.at.least(0);
    expect(m.IpExtInOctets, 'model InOctets = guest OutOctets − 52 × merged').to.equal(g.IpExtOutOctets - HDRS * merged);
    expect(m.TcpInSegs, 'only TCP came in').to.equal(m.IpInReceives);
    resent(m.IpExtInOctets - (SIZE + HDRS * m.IpInReceives + 8), g.TcpRetransSegs, 'model InOctets − (4 MiB + 52 × InReceives + 8 for the SYN\'s options)');
    // the guest's SKB_GSO_DODGY skbs have gso_segs 0 at the model, as in Linux's virtio_net_hdr_to_skb:
    // ip_rcv_core's max(1, gso_segs) counts one each, and a skb the model's GRO merged counts the
    // skbs it holds (gso_segs): one per skb the guest sent either way
    expect(m.IpExtInNoECTPkts, 'model InNoECTPkts = guest IpOutRequests').to.equal(g.IpOutRequests);
    // TSO at work: far fewer skbs than segments on the guest's side (OutSegs counts pcount)
    expect(g.IpOutRequests, 'guest skbs vs segments').to.be.below(g.TcpOutSegs / 2);
    expect(g.TcpOutSegs, 'at least 4 MiB of segments').to.be.at.least(Math.ceil(SIZE / 1448));
  });
});
