// Delayed ACK with short segments, in virtual time: the test plays a peer that sends 200 segments of
// 10 bytes to a listening model socket (no TCP options, so the header is 20 bytes; GRO off, so TCP
// sees each segment) and counts the model's ACKs. The expected counts are derived from Linux's rules
// (tcp_input.c tcp_event_data_recv, tcp_measure_rcv_mss, tcp_incr_quickack, __tcp_ack_snd_check,
// tcp_cleanup_rbuf; tcp_output.c tcp_event_ack_sent / tcp_dec_quickack_mode), written out per case.
import { expect } from 'chai';
import { netif_set_gro } from '../../kernel-model/core/gro';
import type { TcpSock } from '../../kernel-model/tcp/sock';
import { TcpPair, tcpFrame, tcpOf } from './tcp-pair';

const SEG = 10;
const N = 200;
const PSH = 0x08;
const ACK = 0x10;

interface Peer {
  pair: TcpPair;
  sk: TcpSock;
  /** ACK numbers of the model's pure ACKs since the handshake, relative to the peer's first data byte */
  acks: number[];
  /** bytes the model's reader got, and in how many reads */
  read: { bytes: number; calls: number };
  /** data segment k (0-based) of SEG bytes */
  seg(k: number, flags: number): Uint8Array;
  /** a data segment of `len` bytes at stream offset `off` */
  segOf(off: number, len: number, flags: number): Uint8Array;
}

/** a model listener on B:80 and a hand-made client "on A" (A's own TCP never sees B's frames) */
function establish(): Peer {
  const pair = new TcpPair();
  netif_set_gro(pair.b.dev, false);
  const out: Uint8Array[] = [];
  // B's TCP frames are captured, not carried (A's stack would answer them with RSTs); ARP crosses
  pair.b.outFilter = (f) => {
    if (f[12] === 8 && f[13] === 0 && f[23] === 6) {
      out.push(f);
      return false;
    }
    return true;
  };
  let sk: TcpSock | null = null;
  const read = { bytes: 0, calls: 0 };
  pair.b.tcp.listen(80, (s) => {
    sk = s;
    s.onData = (_b, _o, len) => {
      read.bytes += len;
      read.calls++;
    };
  });
  const iss = 0x1000_0000;
  const port = 40000;
  // SYN with MSS 1460 and window scale 7, no SACK / timestamps
  pair.b.receive(tcpFrame(pair.a, pair.b, { sport: port, dport: 80, seq: iss, ack: 0, flags: 0x02, opts: [2, 4, 5, 0xb4, 1, 3, 3, 7] }));
  // (B resolves A's MAC over the link first)
  pair.advance(10);
  const synack = out.map(tcpOf).find((t) => (t.flags & 0x12) === 0x12);
  expect(synack, 'SYN-ACK').to.not.equal(undefined);
  const ackNo = (synack!.seq + 1) >>> 0;
  pair.b.receive(tcpFrame(pair.a, pair.b, { sport: port, dport: 80, seq: iss + 1, ack: ackNo, flags: ACK }));
  pair.advance(1);
  expect(sk, 'accepted').to.not.equal(null);
  out.length = 0;
  const acks: number[] = [];
  const base = iss + 1;
  pair.b.outFilter = (f) => {
    if (f[12] === 8 && f[13] === 0 && f[23] === 6) {
      const t = tcpOf(f);
      if (t.len === 0 && t.flags === ACK) acks.push((t.ack - base) | 0);
      return false;
    }
    return true;
  };
  const segOf = (off: number, len: number, flags: number): Uint8Array =>
    tcpFrame(pair.a, pair.b, { sport: port, dport: 80, seq: (base + off) >>> 0, ack: ackNo, flags, payload: new Uint8Array(len).fill(0x61) });
  return { pair, sk: sk!, acks, read, seg: (k, flags) => segOf(k * SEG, SEG, flags), segOf };
}

describe('tcp: delayed ACK with short segments (Linux 6.1 __tcp_ack_snd_check / tcp_cleanup_rbuf)', () => {
  for (const [name, flags] of [
    ['without PSH', ACK],
    ['with PSH', ACK | PSH],
  ] as const) {
    it(`200 × 10 B back to back (${name}): 16 quick ACKs, two for > rcv_mss (536 B) unacked, one after the read`, () => {
      const p = establish();
      const sk = p.sk;
      // tcp_initialize_rcv_mss: max(min(advmss 1460, mss_cache 1460, rcv_wnd/2, 536), 88) = 536
      expect(sk.ack_rcv_mss).to.equal(536);
      // the first data: quick = min(rcv_wnd / (2 × rcv_mss), 16) = 16 (rcv_wnd ≈ 64 KB)
      expect(Math.min(Math.floor(sk.rcv_wnd / (2 * 536)), 16)).to.equal(16);
      // all 200 in one NAPI run: the reader (a process) runs after the softirq
      for (let k = 0; k < N; k++) p.pair.b.receive(p.seg(k, flags));
      p.pair.advance(0);
      // Rules, per segment (10 B + 20 B header < 88 + 20, so tcp_measure_rcv_mss never lowers
      // rcv_mss and marks each one "pushed", PSH or not):
      //  - segments 1..16: quickack mode → ACK each (each spends one quick credit; ato 40 ms after);
      //  - then rcv_nxt − rcv_wup > rcv_mss (536) first after 54 × 10 B, and only if the window
      //    would not shrink (__tcp_select_window ≥ rcv_wnd): rcv_wnd is ALIGN(rcv_ssthresh 64240,
      //    2^7) = 64256, so the free space (rcvbuf/2 = 65536 less the bytes held: the model counts
      //    data bytes where Linux counts skb truesize) must stay above 64128 — ≤ 1407 bytes unread.
      //    → ACK after segments 16 + 54 = 70 (540 B held) and 124 (1240 B); not 178 (1780 B);
      //    the others arm the 40 ms delayed-ACK timer;
      //  - the read after the softirq empties the queue with ACK_PUSHED2 set → tcp_cleanup_rbuf
      //    ACKs segment 200 at once (the delayed-ACK timer is cancelled).
      expect(sk.rcv_wnd).to.equal(64256);
      const expected = [...Array.from({ length: 16 }, (_, i) => (i + 1) * SEG), 70 * SEG, 124 * SEG, 200 * SEG];
      expect(p.acks).to.deep.equal(expected);
      expect(p.read).to.deep.equal({ bytes: N * SEG, calls: 1 });
      // nothing more: no delayed ACK left to fire
      p.pair.advance(500);
      expect(p.acks.length).to.equal(19);
      expect(p.pair.b.tcp.net.mib.TcpExt.DelayedACKs).to.equal(0);
    });
  }

  it('200 × 10 B, 5 ms apart, a reader that keeps up: each segment is ACKed (16 quick, then tcp_cleanup_rbuf on ACK_PUSHED)', () => {
    const p = establish();
    for (let k = 0; k < N; k++) {
      p.pair.b.receive(p.seg(k, ACK));
      p.pair.advance(5);
    }
    // after the quick ACKs each segment arms the delayed ACK (pushed: it is short) and the reader
    // empties the queue before the next one: not interactive (the model sends nothing back), so
    // ACK_PUSHED alone makes tcp_cleanup_rbuf ACK — as Linux does for a prompt reader of small writes
    expect(p.acks).to.deep.equal(Array.from({ length: N }, (_, i) => (i + 1) * SEG));
    expect(p.read.calls).to.equal(N);
  });

  it('tcp_measure_rcv_mss: two equal 300 B segments without PSH lower rcv_mss to 300; with PSH (a write boundary) it stays 536', () => {
    for (const [flags, mss] of [
      [ACK, 300],
      [ACK | PSH, 536],
    ] as const) {
      const p = establish();
      p.sk.pause();
      // 300 B + 20 B header ≥ 88 + 20 and no FIN/URG/SYN/PSH: a full-sized segment of a smaller MSS
      for (let k = 0; k < 2; k++) p.pair.b.receive(p.segOf(k * 300, 300, flags));
      p.pair.advance(0);
      expect(p.sk.ack_rcv_mss, `flags ${flags}`).to.equal(mss);
    }
  });

  it('a paused reader: only the receive-path rules ACK (16 quick, then > 536 B unacked while the window holds), the rest waits for the 40 ms timer', () => {
    const p = establish();
    p.sk.pause();
    for (let k = 0; k < N; k++) p.pair.b.receive(p.seg(k, ACK));
    p.pair.advance(0);
    const early = [...Array.from({ length: 16 }, (_, i) => (i + 1) * SEG), 70 * SEG, 124 * SEG];
    expect(p.acks).to.deep.equal(early);
    // tcp_send_delayed_ack: ato 40 ms (TCP_ATO_MIN; ato/2 + 20 ms for arrivals ≤ 20 ms apart)
    p.pair.advance(39);
    expect(p.acks.length).to.equal(early.length);
    p.pair.advance(1);
    expect(p.acks).to.deep.equal([...early, 200 * SEG]);
    expect(p.pair.b.tcp.net.mib.TcpExt.DelayedACKs).to.equal(1);
  });
});
