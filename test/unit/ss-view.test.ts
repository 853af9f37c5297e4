// `skbnet ss`: tcp_get_info over a model connection in virtual time and the ss text around it. The
// layout strings below were printed by this machine's iproute2-6.1 `ss` (stdout a pipe) for sockets
// with the same fields; the tcp_info line follows tcp_stats_print's order and number formats.
import { expect } from 'chai';
import type { TcpSock } from '../../kernel-model/tcp/sock';
import { tcp_get_info } from '../../kernel-model/tcp/tcp_info';
import { TCP_ESTABLISHED, TCP_LISTEN, TCP_TIME_WAIT } from '../../kernel-model/tcp/tcp_states';
import { fmtG, formatSs, formatTcpInfo, inet_ntop6, parseSsArgs, sprint_bw, ssRows, udpEndpoints, type SsRow } from '../../emulator/views/ss';
import { attachInet6 } from '../../kernel-model/inet6';
import { defaultInet6Config } from '../../kernel-model/ipv6/config';
import { tcp_v6_init } from '../../kernel-model/tcp/tcp_ipv6';
import { Udp6Proxy } from '../../kernel-model/services/host-proxy/udp6-proxy';
import { parseIpv6 } from '../../kernel-model/wire/ipv6';
import { ADDR_A, ADDR_B, TcpPair, pattern } from './tcp-pair';
import { GUEST_GLOBAL, GUEST_LL, MODEL_LL, ipv6Frame, link6, ns6 } from './ipv6-link';
import { seeded } from './ipv4-link';

function established(): { pair: TcpPair; a: TcpSock; b: TcpSock } {
  const pair = new TcpPair();
  let b: TcpSock | null = null;
  pair.b.tcp.listen(80, (s) => {
    b = s;
  });
  const a = pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 80, { sport: 40000 })!;
  pair.runUntil(() => b !== null && a.stateName === 'ESTABLISHED', 5000, 1);
  return { pair, a, b: b as unknown as TcpSock };
}

describe('ss view: number formats as iproute2 prints them', () => {
  it('%g and sprint_bw', () => {
    expect(fmtG(0.023)).to.equal('0.023');
    expect(fmtG(204)).to.equal('204');
    expect(fmtG(0.0125)).to.equal('0.0125');
    expect(fmtG(1234567)).to.equal('1.23457e+06');
    expect(fmtG(0.00001)).to.equal('1e-05');
    // values from this machine's `ss -ti` / `ss -tin` for the same connection
    expect(sprint_bw(122880000000, false)).to.equal('123G');
    expect(sprint_bw(31402666664, false)).to.equal('31.4G');
    expect(sprint_bw(31402666664, true)).to.equal('31402666664');
    expect(sprint_bw(9920000, false)).to.equal('9.92M');
    expect(sprint_bw(8000, false)).to.equal('8k');
  });

  it('the table: compact column widths, right-aligned addresses (as `ss -tan` on this machine)', () => {
    const rows: SsRow[] = [
      { netid: 'tcp', state: TCP_LISTEN, recvQ: 0, sendQ: 128, laddr: 0, lport: 2024, raddr: 0, rport: 0, info: null },
      { netid: 'tcp', state: TCP_TIME_WAIT, recvQ: 0, sendQ: 0, laddr: 0x7f000001, lport: 38156, raddr: 0x7f000001, rport: 45679, info: null },
    ];
    expect(formatSs(rows, parseSsArgs(['-tan']))).to.equal(
      'State     Recv-Q Send-Q Local Address:Port  Peer Address:Port Process\n' +
        'LISTEN    0      128          0.0.0.0:2024       0.0.0.0:*           \n' +
        'TIME-WAIT 0      0          127.0.0.1:38156    127.0.0.1:45679       \n',
    );
    expect(formatSs([], parseSsArgs(['-uan']))).to.equal('State Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n');
  });

  it('-i puts the info after "\\n\\t" in the Process column, every line padded to its width (as `ss -tin`)', () => {
    const rows: SsRow[] = [
      { netid: 'tcp', state: TCP_ESTABLISHED, recvQ: 0, sendQ: 0, laddr: 0x7f000001, lport: 38156, raddr: 0x7f000001, rport: 45679, info: ' cubic cwnd:10' },
    ];
    const text = formatSs(rows, parseSsArgs(['-tin']));
    const w = '\n\t cubic cwnd:10'.length;
    expect(text).to.equal(
      `State Recv-Q Send-Q Local Address:Port  Peer Address:Port ${'Process'.padEnd(w)}\n` +
        'ESTAB 0      0          127.0.0.1:38156    127.0.0.1:45679\n\t cubic cwnd:10\n',
    );
    expect(() => parseSsArgs(['-x'])).to.throw(/invalid option/);
  });
});

describe('ss view: tcp_get_info over a model connection (virtual time)', () => {
  it('after a transfer: fields in tcp_stats_print order with the model\'s values', () => {
    const { pair, a, b } = established();
    const data = pattern(20000);
    let got = 0;
    b.onData = (_buf, _off, len) => {
      got += len;
    };
    a.write(data);
    pair.runUntil(() => got === data.length && a.packets_out === 0, 10000, 1);
    pair.advance(300);
    const i = tcp_get_info(a);
    expect(i.tcpi_bytes_sent).to.equal(20000);
    // tcp_snd_una_update counts sequence space: the SYN's byte too on the active side (Linux's
    // ss shows bytes_acked:1 for a client that sent nothing); the passive side starts past its SYN
    expect(i.tcpi_bytes_acked).to.equal(20001);
    expect(tcp_get_info(b).tcpi_bytes_acked).to.equal(0);
    expect(i.tcpi_snd_mss).to.equal(1448);
    expect(i.tcpi_rtt).to.be.greaterThan(0);
    const line = formatTcpInfo(i, { numeric: true, options: true });
    const rtt = `${fmtG(i.tcpi_rtt / 1000)}/${fmtG(i.tcpi_rttvar / 1000)}`;
    expect(line).to.match(new RegExp(`^ ts sack cubic wscale:7,7 rto:\\d+ rtt:${rtt.replace(/\./g, '\\.')} mss:1448 pmtu:1500 rcvmss:\\d+ advmss:1460 cwnd:\\d+ bytes_sent:20000 bytes_acked:20001 segs_out:\\d+ segs_in:\\d+ data_segs_out:\\d+ send \\d+bps lastsnd:\\d+ lastrcv:\\d+ lastack:\\d+ pacing_rate \\d+bps delivered:\\d+ rcv_space:\\d+ rcv_ssthresh:\\d+ minrtt:[\\d.]+ snd_wnd:\\d+$`));
    // 300 ms after the last send, at HZ=250: lastsnd is a whole number of jiffies in ms
    expect(i.tcpi_last_data_sent % 4).to.equal(0);
    expect(i.tcpi_last_data_sent).to.be.within(296, 400);
    // send = cwnd × mss × 8 / rtt, as ss computes it
    expect(line).to.contain(` send ${Math.round((i.tcpi_snd_cwnd * 1448 * 8e6) / i.tcpi_rtt)}bps`);
    const rb = formatTcpInfo(tcp_get_info(b), { numeric: false, options: false });
    expect(rb).to.match(/^ cubic wscale:7,7 rto:\d+ rtt:[\d.]+\/[\d.]+ ato:40 mss:\d+ pmtu:1500 rcvmss:\d+ advmss:1460 cwnd:10 /);
    expect(rb).to.contain(' bytes_received:20000 ');
  });

  it('ssRows: default shows ESTAB only; -a adds the listener; -l only the listener; Recv-Q/Send-Q from the queues', () => {
    const { pair, a, b } = established();
    b.pause();
    a.write(pattern(3000));
    pair.advance(200);
    const rowsB = ssRows(pair.b.tcp, [], parseSsArgs(['-t']));
    expect(rowsB.map((r) => r.state)).to.deep.equal([TCP_ESTABLISHED]);
    expect(rowsB[0].recvQ).to.equal(3000);
    expect(ssRows(pair.b.tcp, [], parseSsArgs(['-ta'])).map((r) => r.state)).to.deep.equal([TCP_LISTEN, TCP_ESTABLISHED]);
    const l = ssRows(pair.b.tcp, [], parseSsArgs(['-tli']));
    expect(l.map((r) => r.state)).to.deep.equal([TCP_LISTEN]);
    expect(l[0].info).to.equal(' cubic cwnd:10');
    // a closes and the peer's close completes: a ends in TIME-WAIT, shown with -a only, with an empty info line
    b.resume();
    a.end();
    b.end();
    pair.advance(1000);
    expect(a.stateName).to.equal('TIME_WAIT');
    const text = formatSs(ssRows(pair.a.tcp, [], parseSsArgs(['-tani'])), parseSsArgs(['-tani']));
    expect(text).to.match(/^TIME-WAIT 0 +0 +10\.0\.2\.2:40000 +10\.0\.2\.15:80 +\n\t *\n/m);
    expect(formatSs(ssRows(pair.a.tcp, [], parseSsArgs(['-tn'])), parseSsArgs(['-tn'])).split('\n').length).to.equal(2);
    void ADDR_A;
  });
});

/** an IPv6 address's 16 bytes */
const v6 = (t: string): Uint8Array => parseIpv6(t)!;

describe('ss view: IPv6 rows as iproute2 prints them', () => {
  // each expected text below is this machine's iproute2-6.1 `ss` output (stdout a pipe) for sockets
  // with the same addresses, ports and queues, trailing spaces included
  const est = (laddr: SsRow['laddr'], lport: number, raddr: SsRow['raddr'], rport: number, netid: 'tcp' | 'udp' = 'tcp'): SsRow => ({
    netid, state: TCP_ESTABLISHED, recvQ: 0, sendQ: 0, laddr, lport, raddr, rport, info: null,
  });

  it('bracketed addresses in the compact columns, IPv4 rows first (`ss -tn`)', () => {
    const rows = [est(0x7f000001, 5202, 0x7f000001, 55474), est(0x7f000001, 55474, 0x7f000001, 5202), est(v6('::1'), 55380, v6('::1'), 5201), est(v6('::1'), 5201, v6('::1'), 55380)];
    expect(formatSs(rows, parseSsArgs(['-tn']))).to.equal(
      'State Recv-Q Send-Q Local Address:Port  Peer Address:Port Process\n' +
        'ESTAB 0      0          127.0.0.1:5202     127.0.0.1:55474       \n' +
        'ESTAB 0      0          127.0.0.1:55474    127.0.0.1:5202        \n' +
        'ESTAB 0      0              [::1]:55380        [::1]:5201        \n' +
        'ESTAB 0      0              [::1]:5201         [::1]:55380       \n',
    );
  });

  it('an IPv6-only wildcard peer is "[::]" (`ss -tln`), UDP rows (`ss -uan`), and no State column for one state (`ss -un`)', () => {
    const listen = (laddr: SsRow['laddr'], lport: number, raddr: SsRow['raddr']): SsRow => ({ netid: 'tcp', state: TCP_LISTEN, recvQ: 0, sendQ: 511, laddr, lport, raddr, rport: 0, info: null });
    expect(formatSs([listen(0x7f000001, 5202, 0), listen(v6('::1'), 5201, v6('::'))], parseSsArgs(['-tln']))).to.equal(
      'State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n' +
        'LISTEN 0      511        127.0.0.1:5202      0.0.0.0:*          \n' +
        'LISTEN 0      511            [::1]:5201         [::]:*          \n',
    );
    const unconn: SsRow = { netid: 'udp', state: 7, recvQ: 0, sendQ: 0, laddr: v6('fd00::2'), lport: 5301, raddr: v6('::'), rport: 0, info: null };
    const flow = est(v6('fd00::2'), 59910, v6('fd00::2'), 5301, 'udp');
    expect(formatSs([unconn, flow], parseSsArgs(['-uan']))).to.equal(
      'State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess\n' +
        'UNCONN 0      0          [fd00::2]:5301          [::]:*          \n' +
        'ESTAB  0      0          [fd00::2]:59910    [fd00::2]:5301       \n',
    );
    expect(formatSs([flow], parseSsArgs(['-un']))).to.equal('Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess\n0      0          [fd00::2]:59910    [fd00::2]:5301       \n');
    // -4/-6 add SS_CONN to the UDP table's ESTAB: the State column is back
    expect(formatSs([flow], parseSsArgs(['-un6']))).to.match(/^State Recv-Q/);
  });

  it('inet_ntop6 as glibc: RFC 5952 zero runs, IPv4-mapped and -compatible forms', () => {
    expect(inet_ntop6(v6('fec0::5054:ff:fe12:3456'))).to.equal('fec0::5054:ff:fe12:3456');
    expect(inet_ntop6(v6('2001:db8:0:0:1:0:0:1'))).to.equal('2001:db8::1:0:0:1');
    expect(inet_ntop6(v6('2001:db8:0:1:1:1:1:1'))).to.equal('2001:db8:0:1:1:1:1:1');
    expect(inet_ntop6(v6('::ffff:10.0.2.15'))).to.equal('::ffff:10.0.2.15');
    expect(inet_ntop6(v6('::1'))).to.equal('::1');
    expect(inet_ntop6(v6('::'))).to.equal('::');
    expect(inet_ntop6(v6('::0.0.0.2'))).to.equal('::0.0.0.2');
  });

  it('-4 / -6 / -f: the family filter, the last one given wins (preferred_family)', () => {
    expect(parseSsArgs(['-t'])).to.include({ ipv4: true, ipv6: true });
    expect(parseSsArgs(['-t4'])).to.include({ ipv4: true, ipv6: false });
    expect(parseSsArgs(['-t', '--ipv6'])).to.include({ ipv4: false, ipv6: true });
    expect(parseSsArgs(['-4', '-6'])).to.include({ ipv4: false, ipv6: true, tcp: true, udp: true });
    expect(parseSsArgs(['-6', '-4'])).to.include({ ipv4: true, ipv6: false });
    expect(parseSsArgs(['-tf', 'inet6'])).to.include({ ipv4: false, ipv6: true });
    expect(parseSsArgs(['--family=inet'])).to.include({ ipv4: true, ipv6: false });
    expect(() => parseSsArgs(['-f', 'unix'])).to.throw(/invalid family/);
  });
});

describe('ss view: an IPv6 model connection (virtual time)', () => {
  it('lists it after the IPv4 one with its tcp_info (mss from MTU − 60); -4 and -6 pick one', () => {
    const pair = new TcpPair();
    const a6 = attachInet6(pair.a.stack, pair.a.dev, defaultInet6Config(), { random: seeded(5) });
    // b plays the guest: its own address is the "gateway" of its config (the address it answers for)
    const b6 = attachInet6(pair.b.stack, pair.b.dev, defaultInet6Config({ gateway: parseIpv6(GUEST_GLOBAL)!, dns: parseIpv6('fec0::99')! }), { random: seeded(6) });
    const t6a = tcp_v6_init(pair.a.tcp, a6.net);
    const t6b = tcp_v6_init(pair.b.tcp, b6.net);
    pair.advance(10);
    let model6: TcpSock | null = null;
    t6a.setForwarder((req) => (model6 = req.accept()));
    const guest6 = t6b.connect(b6.idev, parseIpv6('fec0::2')!, 0, 5201, { sport: 40000 })!;
    // an IPv4 connection in the same TcpNet
    let model4: TcpSock | null = null;
    pair.a.tcp.listen(80, (s) => (model4 = s));
    pair.b.tcp.connect(pair.b.inet.ind, ADDR_A, 80, { sport: 40001 });
    pair.runUntil(() => model6 !== null && model4 !== null && guest6.stateName === 'ESTABLISHED', 5000, 1);
    let got = 0;
    model6!.onData = (_b, _o, len) => (got += len);
    guest6.write(pattern(5000));
    pair.runUntil(() => got === 5000 && guest6.packets_out === 0, 10000, 1);
    pair.advance(100);
    const o = parseSsArgs(['-tni']);
    const rows = ssRows(pair.a.tcp, [], o);
    expect(rows.map((r) => [r.lport, r.rport])).to.deep.equal([[80, 40001], [5201, 40000]]);
    const text = formatSs(rows, o);
    const m = /^ESTAB 0 +0 +\[fec0::2\]:5201 +\[fec0::5054:ff:fe12:3456\]:40000 *\n\t(.*)$/m.exec(text);
    expect(m, text).to.not.equal(null);
    // the model's socket toward the guest: 1500 − 40 − 20 = 1440 advertised, 1428 with timestamps
    expect(m![1]).to.match(/^ cubic wscale:7,7 rto:\d+ rtt:[\d.]+\/[\d.]+ ato:40 mss:1428 pmtu:1500 rcvmss:\d+ advmss:1440 cwnd:10 bytes_received:5000 segs_out:\d+ segs_in:\d+ data_segs_in:\d+ send \d+bps /);
    expect(text).to.match(/^ESTAB 0 +0 +10\.0\.2\.2:80 +10\.0\.2\.15:40001 *\n\t /m);
    expect(ssRows(pair.a.tcp, [], parseSsArgs(['-t4'])).map((r) => r.lport)).to.deep.equal([80]);
    expect(ssRows(pair.a.tcp, [], parseSsArgs(['-t6'])).map((r) => r.lport)).to.deep.equal([5201]);
    // the row holds a copy: the socket's later changes do not reach text already made
    expect(inet_ntop6(rows[1].laddr as Uint8Array)).to.equal('fec0::2');
  });
});

describe('ss view: UDP endpoints of both families through the tables\' read-only accessors', function () {
  this.timeout(10000);
  it('bound ports (UNCONN) and proxied flows (ESTAB, from the destination to the guest), IPv4 before IPv6', async () => {
    const l = link6();
    l.link.inject(ns6({ target: 'fec0::2', src: GUEST_GLOBAL }));
    l.link.inject(ns6({ target: MODEL_LL, src: GUEST_LL }));
    const proxy = new Udp6Proxy(l.inet6).start();
    const pump = setInterval(() => l.link.advance(5), 1);
    try {
      const sock4 = l.link.inet.net.udp.bind(5353, () => undefined, 0x0a000202);
      expect(sock4).to.not.equal(null);
      const bound4 = [...l.link.inet.net.udp.sockets()].length;
      expect(l.inet6.udpBind(547, () => undefined)).to.equal(true);
      // a guest datagram to [fec0::2]:9 opens a flow (the host may answer or refuse: the flow exists)
      l.link.inject(ipv6Frame({ src: GUEST_GLOBAL, dst: 'fec0::2', nh: 17, payload: [0x9c, 0x41, 0, 9, 0, 9, 0, 0, 7] }));
      expect(proxy.flowCount).to.equal(1);
      const eps = udpEndpoints({ udp: l.link.inet.net.udp, udpFlows: [], udp6: l.inet6.net.udp, udp6Flows: proxy.openFlows() });
      const o = parseSsArgs(['-uan']);
      const text = formatSs(ssRows(null, eps, o), o);
      // the IPv4 sockets (the model's own and ours), then the IPv6 port, then the IPv6 flow
      const lines = text.split('\n').slice(1, -1);
      expect(lines).to.have.length(bound4 + 2);
      expect(lines.slice(0, bound4).every((x) => /^UNCONN 0 +0 +[\d.]+:\d+ +0\.0\.0\.0:\* *$/.test(x)), text).to.equal(true);
      expect(lines.some((x) => /^UNCONN 0 +0 +10\.0\.2\.2:5353 +0\.0\.0\.0:\* *$/.test(x)), text).to.equal(true);
      expect(lines[bound4]).to.match(/^UNCONN 0 +0 +\[::\]:547 +\[::\]:\* *$/);
      expect(lines[bound4 + 1]).to.match(/^ESTAB +\d+ +0 +\[fec0::2\]:9 +\[fec0::5054:ff:fe12:3456\]:40001 *$/);
      // -u alone: the established flow only; -ua4: none of the IPv6 ones
      expect(ssRows(null, eps, parseSsArgs(['-u'])).map((r) => r.lport)).to.deep.equal([9]);
      expect(ssRows(null, eps, parseSsArgs(['-ua4'])).map((r) => r.lport)).to.include(5353).and.not.include(547).and.not.include(9);
    } finally {
      clearInterval(pump);
      proxy.close();
    }
  });
});
