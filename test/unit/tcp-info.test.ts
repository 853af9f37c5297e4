// tcp_get_info fields whose Linux rule is about the handshake (virtual time): tcpi_bytes_acked counts
// sequence space acknowledged (tcp_snd_una_update: the active side's SYN and either side's FIN
// included), and tcpi_last_data_recv runs from the socket's creation (icsk_ack.lrcvtime is stamped
// by tcp_create_openreq_child and tcp_finish_connect) until data arrives.
import { expect } from 'chai';
import type { TcpSock } from '../../kernel-model/tcp/sock';
import { tcp_get_info } from '../../kernel-model/tcp/tcp_info';
import { ADDR_B, TcpPair, pattern } from './tcp-pair';

function established(): { pair: TcpPair; a: TcpSock; b: TcpSock } {
  const pair = new TcpPair();
  let b: TcpSock | null = null;
  pair.b.tcp.listen(80, (s) => {
    b = s;
  });
  const a = pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 80)!;
  pair.runUntil(() => b !== null && a.stateName === 'ESTABLISHED', 5000, 1);
  expect(b).to.not.equal(null);
  return { pair, a, b: b as unknown as TcpSock };
}

describe('tcp_info: bytes_acked and lastrcv as Linux counts them', () => {
  it('bytes_acked: 1 for the client after the handshake (its SYN), 0 for the server; + data; + 1 for each FIN', () => {
    const { pair, a, b } = established();
    expect(tcp_get_info(a).tcpi_bytes_acked).to.equal(1);
    expect(tcp_get_info(b).tcpi_bytes_acked).to.equal(0);
    let got = 0;
    b.onData = (_buf, _off, len) => {
      got += len;
    };
    a.write(pattern(5000));
    b.write(pattern(700));
    pair.runUntil(() => got === 5000 && a.packets_out === 0 && b.packets_out === 0, 5000, 1);
    expect(tcp_get_info(a).tcpi_bytes_acked).to.equal(1 + 5000);
    expect(tcp_get_info(b).tcpi_bytes_acked).to.equal(700);
    // a simultaneous close: both FINs are acknowledged, both end in TIME_WAIT
    a.end();
    b.end();
    pair.runUntil(() => a.stateName === 'TIME_WAIT' && b.stateName === 'TIME_WAIT', 5000, 1);
    expect([a.stateName, b.stateName]).to.deep.equal(['TIME_WAIT', 'TIME_WAIT']);
    expect(a.bytes_acked).to.equal(1 + 5000 + 1);
    expect(b.bytes_acked).to.equal(700 + 1);
  });

  it('lastrcv counts from the socket\'s creation before any data, then from the last data segment', () => {
    const pair = new TcpPair();
    let b: TcpSock | null = null;
    pair.b.tcp.listen(80, (s) => {
      b = s;
    });
    pair.advance(1000);
    const a = pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 80)!;
    pair.runUntil(() => b !== null && a.stateName === 'ESTABLISHED', 5000, 1);
    const created = pair.now;
    pair.advance(2000);
    // HZ 250: whole jiffies (4 ms); the child was created by the SYN ≤ 4 ms before `created`
    const lb = tcp_get_info(b!).tcpi_last_data_recv;
    expect(lb).to.be.within(2000, 2008);
    expect(tcp_get_info(a).tcpi_last_data_recv).to.be.within(2000, 2008);
    let got = 0;
    b!.onData = (_buf, _off, len) => {
      got += len;
    };
    a.write(pattern(100));
    pair.runUntil(() => got === 100, 100, 1);
    pair.advance(500);
    expect(tcp_get_info(b!).tcpi_last_data_recv).to.be.within(496, 504);
    expect(created).to.be.greaterThan(1000);
  });
});
