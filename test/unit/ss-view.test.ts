// `skbnet ss`: tcp_get_info over a model connection in virtual time and the ss text around it. The
// layout strings below were printed by this machine's iproute2-6.1 `ss` (stdout a pipe) for sockets
// with the same fields; the tcp_info line follows tcp_stats_print's order and number formats.
import { expect } from 'chai';
import type { TcpSock } from '../../kernel-model/tcp/sock';
import { tcp_get_info } from '../../kernel-model/tcp/tcp_info';
import { TCP_ESTABLISHED, TCP_LISTEN, TCP_TIME_WAIT } from '../../kernel-model/tcp/tcp_states';
import { fmtG, formatSs, formatTcpInfo, parseSsArgs, sprint_bw, ssRows, type SsRow } from '../../emulator/views/ss';
import { ADDR_A, ADDR_B, TcpPair, pattern } from './tcp-pair';

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
    expect(i.tcpi_bytes_acked).to.equal(20000);
    expect(i.tcpi_snd_mss).to.equal(1448);
    expect(i.tcpi_rtt).to.be.greaterThan(0);
    const line = formatTcpInfo(i, { numeric: true, options: true });
    const rtt = `${fmtG(i.tcpi_rtt / 1000)}/${fmtG(i.tcpi_rttvar / 1000)}`;
    expect(line).to.match(new RegExp(`^ ts sack cubic wscale:7,7 rto:\\d+ rtt:${rtt.replace(/\./g, '\\.')} mss:1448 pmtu:1500 rcvmss:\\d+ advmss:1460 cwnd:\\d+ bytes_sent:20000 bytes_acked:20000 segs_out:\\d+ segs_in:\\d+ data_segs_out:\\d+ send \\d+bps lastsnd:\\d+ lastrcv:\\d+ lastack:\\d+ pacing_rate \\d+bps delivered:\\d+ rcv_space:\\d+ rcv_ssthresh:\\d+ minrtt:[\\d.]+ snd_wnd:\\d+$`));
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
