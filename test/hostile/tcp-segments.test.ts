// Hostile TCP input against an ESTABLISHED model connection (issue 3): segments outside the window
// and RSTs with wrong sequence numbers are dropped or answered per RFC 5961 / RFC 9293, counted with
// Linux's names, rate limited per socket (tcp_invalid_ratelimit 500 ms), and the real stream goes on.
import { expect } from 'chai';
import type { TcpSock } from '../../kernel-model/tcp/sock';
import { ADDR_B, TcpPair, pattern, tcpFrame, tcpOf } from '../unit/tcp-pair';

const ACK = 0x10;
const RST = 0x04;
const PSH = 0x08;

function setup() {
  const pair = new TcpPair({ faults: { drop: 0, dup: 0, delay: 1, jitter: 0 } });
  let b: TcpSock | null = null;
  const rxB: Uint8Array[] = [];
  pair.b.tcp.listen(80, (s) => {
    b = s;
    s.onData = (buf, off, len) => {
      rxB.push(buf.slice(off, off + len));
    };
  });
  const a = pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 80)!;
  pair.runUntil(() => b !== null && a.stateName === 'ESTABLISHED', 5000, 1);
  pair.advance(100);
  const bb = b as unknown as TcpSock;
  /** a forged segment from a's address/port to b (as an off-path attacker would send it) */
  const forge = (seq: number, ack: number, flags: number, payload?: Uint8Array) =>
    pair.b.receive(tcpFrame(pair.a, pair.b, { sport: a.sport, dport: 80, seq, ack, flags, payload }));
  return { pair, a, b: bb, rxB, forge };
}

/** after the attack the real stream still arrives intact */
function streamStillWorks(pair: TcpPair, a: TcpSock, rxB: Uint8Array[]): void {
  const before = rxB.reduce((n, p) => n + p.length, 0);
  const data = pattern(20_000, 3);
  a.write(data);
  pair.runUntil(() => rxB.reduce((n, p) => n + p.length, 0) === before + 20_000, 5000, 1);
  const got = Buffer.concat(rxB.map((p) => Buffer.from(p))).subarray(before);
  expect(Buffer.from(data).equals(got)).to.equal(true);
}

describe('hostile tcp: segments outside the window', () => {
  it('data beyond the window is not queued; pure ACKs out of window get one dup-ACK per 500 ms (TCPACKSkippedSeq)', () => {
    const { pair, a, b, rxB, forge } = setup();
    pair.b.capture = true;
    const far = (b.rcv_nxt + 10_000_000) >>> 0;
    forge(far, b.snd_nxt, ACK | PSH, new Uint8Array(100).fill(0x41));
    for (let i = 0; i < 50; i++) forge((b.rcv_nxt - 5_000_000) >>> 0, b.snd_nxt, ACK);
    pair.advance(10);
    expect(b.bytes_received).to.equal(0);
    expect(b.rcvbuf.ofo.length).to.equal(0);
    const mib = pair.b.stack.mib.TcpExt;
    // the data segment is always answered (exempt); of the 50 pure ACKs one is answered, 49 skipped
    expect(mib.TCPACKSkippedSeq).to.equal(49);
    const acks = pair.b.sent.filter((f) => f[23] === 6 && tcpOf(f).flags === ACK);
    expect(acks.length).to.equal(2);
    for (const f of acks) expect(tcpOf(f).ack).to.equal(b.rcv_nxt);
    expect(b.stateName).to.equal('ESTABLISHED');
    streamStillWorks(pair, a, rxB);
  });

  it('an ACK for data never sent is dropped; one older than the window we ever had gets a challenge ACK', () => {
    const { pair, a, b, rxB, forge } = setup();
    forge(b.rcv_nxt, (b.snd_nxt + 100_000) >>> 0, ACK);
    forge(b.rcv_nxt, (b.snd_una - 3_000_000) >>> 0, ACK);
    pair.advance(10);
    expect(pair.b.stack.mib.TcpExt.TCPChallengeACK).to.equal(1);
    expect(b.snd_una).to.equal(b.snd_nxt);
    streamStillWorks(pair, a, rxB);
  });
});

describe('hostile tcp: RSTs with wrong sequence numbers (RFC 5961 §3)', () => {
  it('out of window: silently dropped; in window but not exact: one challenge ACK, the rest rate limited; exact: reset', () => {
    const { pair, a, b, rxB, forge } = setup();
    const mib = pair.b.stack.mib.TcpExt;
    forge((b.rcv_nxt + 50_000_000) >>> 0, 0, RST);
    pair.advance(5);
    expect(b.stateName).to.equal('ESTABLISHED');
    expect(mib.TCPChallengeACK).to.equal(0);
    for (let i = 1; i <= 100; i++) forge((b.rcv_nxt + i * 10) >>> 0, 0, RST);
    pair.advance(5);
    expect(b.stateName).to.equal('ESTABLISHED');
    expect(mib.TCPChallengeACK).to.equal(1);
    expect(mib.TCPACKSkippedChallenge).to.equal(99);
    expect(pair.b.stack.mib.Tcp.EstabResets).to.equal(0);
    streamStillWorks(pair, a, rxB);
    // the peer's own RST at rcv_nxt still works
    forge(b.rcv_nxt, 0, RST);
    pair.advance(5);
    expect(b.stateName).to.equal('CLOSED');
    expect(b.error).to.equal('ECONNRESET');
    expect(pair.b.stack.mib.Tcp.EstabResets).to.equal(1);
  });

  it('a SYN on the established 4-tuple is challenged (TCPSYNChallenge), not obeyed', () => {
    const { pair, a, b, rxB, forge } = setup();
    forge((b.rcv_nxt + 12345) >>> 0, 0, 0x02);
    pair.advance(5);
    expect(pair.b.stack.mib.TcpExt.TCPSYNChallenge).to.equal(1);
    expect(b.stateName).to.equal('ESTABLISHED');
    streamStillWorks(pair, a, rxB);
  });
});
