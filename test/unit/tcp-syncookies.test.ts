// SYN cookies (net/ipv4/syncookies.c, tcp_input.c tcp_conn_request / tcp_syn_flood_action, Linux 6.1):
// the cookie arithmetic, the cookie SYN-ACK's bytes, a real client (the second TCP model) completing
// its handshake through a cookie with and without timestamps, failed cookies, the connection cap
// (ListenOverflows) and tcp_syncookies 0 / 2. Virtual time throughout.
import { expect } from 'chai';
import type { TcpSock } from '../../kernel-model/tcp/sock';
import type { TcpListener } from '../../kernel-model/tcp/sock';
import {
  cookie_init_timestamp,
  cookie_timestamp_decode,
  cookie_v4_check_mss,
  cookie_v4_init_sequence,
  CookieOptions,
  TS_OPT_SACK,
  TS_OPT_WSCALE_MASK,
} from '../../kernel-model/tcp/syncookies';
import type { TcpSysctl } from '../../kernel-model/tcp/sysctl';
import { ADDR_A, ADDR_B, TcpPair, pattern, tcpFrame, tcpOf } from './tcp-pair';

const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;
/** a spoofed, unreachable source (TEST-NET-1): its SYN-ACKs go nowhere */
const SPOOF = 0xc0000201;
/** SYN options of a Linux client: MSS 1460, SACK_PERM + TS, WS 7 */
function synOpts(tsval: number): number[] {
  return [2, 4, 5, 0xb4, 4, 2, 8, 10, tsval >>> 24, (tsval >>> 16) & 255, (tsval >>> 8) & 255, tsval & 255, 0, 0, 0, 0, 1, 3, 3, 7];
}

/** fill b's listener queue with `n` SYNs from the spoofed address */
function fillQueue(pair: TcpPair, port: number, n: number, firstSport = 40000): void {
  for (let i = 0; i < n; i++) {
    pair.b.receive(tcpFrame(pair.a, pair.b, { saddr: SPOOF, sport: firstSport + i, dport: port, seq: 1000 * i, ack: 0, flags: SYN, opts: synOpts(1) }));
  }
  pair.advance(1);
}

function listenB(pair: TcpPair, port: number, opts: { backlog?: number; maxConnections?: number } = {}): { l: TcpListener; accepted: TcpSock[] } {
  const accepted: TcpSock[] = [];
  const l = pair.b.tcp.listen(port, (s) => accepted.push(s), opts)!;
  return { l, accepted };
}

/** TCP segments b sent (IPv4 frames with protocol 6) */
function tcpSent(pair: TcpPair): ReturnType<typeof tcpOf>[] {
  return pair.b.sent.filter((f) => f[12] === 8 && f[13] === 0 && f[23] === 6).map(tcpOf);
}

function echoAll(s: TcpSock, into: Uint8Array[]): void {
  s.onData = (buf, off, len) => into.push(buf.slice(off, off + len));
}

function concat(parts: Uint8Array[]): Buffer {
  return Buffer.concat(parts);
}

describe('tcp syncookies: the cookie (syncookies.c)', () => {
  it('encodes the MSS as msstab {536,1300,1440,1460} rounds down, and decodes only for the same 4-tuple and ISN', () => {
    const tn = new TcpPair().b.tcp;
    const cases: [number, number][] = [
      [1460, 1460],
      [9000, 1460],
      [1452, 1440],
      [1440, 1440],
      [1400, 1300],
      [1299, 536],
      [536, 536],
      [100, 536],
    ];
    for (const [mss, want] of cases) {
      const isn = cookie_v4_init_sequence(tn, ADDR_A, ADDR_B, 40000, 80, 0x12345678, mss);
      // the ACK: seq = ISN + 1, ack = cookie + 1
      expect(cookie_v4_check_mss(tn, ADDR_A, ADDR_B, 40000, 80, 0x12345679, (isn + 1) >>> 0), `mss ${mss}`).to.equal(want);
      expect(cookie_v4_check_mss(tn, ADDR_A, ADDR_B, 40001, 80, 0x12345679, (isn + 1) >>> 0)).to.equal(0);
      // another ISN or cookie: the decoded index lands outside 0..3 (an off-by-one would decode as a
      // neighbouring index, as in Linux: the check is that the data is < 4, nothing more)
      expect(cookie_v4_check_mss(tn, ADDR_A, ADDR_B, 40000, 80, 0x12345679 + 1000, (isn + 1) >>> 0)).to.equal(0);
      expect(cookie_v4_check_mss(tn, ADDR_A ^ 1, ADDR_B, 40000, 80, 0x12345679, (isn + 1) >>> 0)).to.equal(0);
      expect(cookie_v4_check_mss(tn, ADDR_A, ADDR_B, 40000, 80, 0x12345679, (isn + 1001) >>> 0)).to.equal(0);
    }
  });

  it('ages out: good within MAX_SYNCOOKIE_AGE (2) counter minutes, refused after', () => {
    const pair = new TcpPair();
    const tn = pair.b.tcp;
    pair.advance(30_000);
    const isn = cookie_v4_init_sequence(tn, ADDR_A, ADDR_B, 1, 2, 7, 1460);
    pair.advance(60_000); // counter + 1
    expect(cookie_v4_check_mss(tn, ADDR_A, ADDR_B, 1, 2, 8, (isn + 1) >>> 0)).to.equal(1460);
    pair.advance(60_000); // counter + 2
    expect(cookie_v4_check_mss(tn, ADDR_A, ADDR_B, 1, 2, 8, (isn + 1) >>> 0)).to.equal(0);
  });

  it('cookie_init_timestamp puts wscale/SACK/ECN in the low 6 bits, never ahead of the clock; decode reverses it', () => {
    for (const now of [0, 63, 64, 100, 12345, 0xfffffff0]) {
      const ts = cookie_init_timestamp(now, true, 7, true, false);
      expect(ts & 63).to.equal(7 | TS_OPT_SACK);
      expect(ts <= now || now < 64).to.equal(true);
      expect(now - ts < 128 || now < 64).to.equal(true);
    }
    expect(cookie_init_timestamp(1000, false, 0, false, false) & 63).to.equal(TS_OPT_WSCALE_MASK);
    const tn = new TcpPair().b.tcp;
    const o = new CookieOptions();
    expect(cookie_timestamp_decode(tn, true, (0x12340000 | 7 | TS_OPT_SACK) >>> 0, o)).to.equal(true);
    expect(o).to.deep.include({ tstamp_ok: true, sack_ok: true, wscale_ok: true, snd_wscale: 7 });
    expect(cookie_timestamp_decode(tn, true, 0x12340000 | TS_OPT_WSCALE_MASK, o)).to.equal(true);
    expect(o).to.deep.include({ sack_ok: false, wscale_ok: false });
    expect(cookie_timestamp_decode(tn, false, 0, o)).to.equal(true);
    expect(o).to.deep.include({ tstamp_ok: false, sack_ok: false, wscale_ok: false });
    // a cookie claiming SACK when SACK is off here is refused
    const off = new TcpPair({ sysctlB: { tcp_sack: false } }).b.tcp;
    expect(cookie_timestamp_decode(off, true, TS_OPT_SACK | 3, o)).to.equal(false);
  });
});

describe('tcp syncookies: a listener whose SYN queue overflows (tcp_conn_request)', () => {
  it('answers with a stateless cookie SYN-ACK laid out as tcp_make_synack, counts and warns once', () => {
    const pair = new TcpPair();
    const { l } = listenB(pair, 80, { backlog: 2 });
    fillQueue(pair, 80, 2);
    expect(l.synQueue).to.equal(2);
    const mib = pair.b.stack.mib.TcpExt;
    expect(mib.TCPReqQFullDoCookies).to.equal(0);
    pair.b.capture = true;
    pair.advance(500);
    const tsval = 1000;
    pair.b.receive(tcpFrame(pair.a, pair.b, { sport: 50000, dport: 80, seq: 0xabcdef00, ack: 0, flags: SYN, opts: synOpts(tsval) }));
    pair.b.receive(tcpFrame(pair.a, pair.b, { sport: 50001, dport: 80, seq: 0xabcdef00, ack: 0, flags: SYN, opts: synOpts(tsval) }));
    pair.a.blackhole = true; // the client here is only frames: keep a's RSTs for the SYN-ACKs away
    pair.advance(10);
    expect(mib.TCPReqQFullDoCookies).to.equal(2);
    expect(mib.SyncookiesSent).to.equal(2);
    expect(pair.b.tcp.sockets().length, 'no state kept').to.equal(2);
    const warn = pair.log.lines.filter((x) => x.includes('Possible SYN flooding'));
    expect(warn).to.deep.equal(['info: TCP: request_sock_TCP: Possible SYN flooding on port 80. Sending cookies.  Check SNMP counters.']);
    const synacks = tcpSent(pair).filter((t) => t.flags === (SYN | ACK) && t.dport === 50000);
    expect(synacks.length).to.equal(1);
    const t = synacks[0];
    expect(t.ack).to.equal(0xabcdef01);
    expect(t.win).to.equal(65160); // 45 × 1448, as a normal SYN-ACK
    // MSS 1460, SACK_PERM + TS, WS 7: the SYN's options, in Linux's order
    expect([...t.opts.subarray(0, 6)]).to.deep.equal([2, 4, 5, 0xb4, 4, 2]);
    expect([...t.opts.subarray(16, 20)]).to.deep.equal([1, 3, 3, 7]);
    expect(t.tsecr).to.equal(tsval);
    const raw = (t.tsval - pair.b.tcp.secure_tcp_ts_off(ADDR_B, ADDR_A)) >>> 0;
    expect(raw & 63, 'wscale 7 | SACK').to.equal(7 | TS_OPT_SACK);
    expect(raw <= Math.floor(pair.now) && Math.floor(pair.now) - raw < 64).to.equal(true);
    // the cookie decodes to MSS 1460 for the ACK the client would send
    expect(cookie_v4_check_mss(pair.b.tcp, ADDR_A, ADDR_B, 50000, 80, 0xabcdef01, (t.seq + 1) >>> 0)).to.equal(1460);
  });

  for (const ts of [true, false]) {
    it(`a real client completes its handshake through a cookie and moves data both ways (timestamps ${ts ? 'on' : 'off'})`, () => {
      const sysctl: Partial<TcpSysctl> = { tcp_timestamps: ts };
      const pair = new TcpPair({ sysctlA: sysctl });
      const { l, accepted } = listenB(pair, 80, { backlog: 4 });
      fillQueue(pair, 80, 4);
      pair.b.capture = true;
      const c = pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 80)!;
      const toB = pattern(300_000, 1);
      const toA = pattern(200_000, 2);
      const gotA: Uint8Array[] = [];
      const gotB: Uint8Array[] = [];
      echoAll(c, gotA);
      let off = 0;
      const pump = () => {
        while (off < toB.length) {
          const n = c.write(toB, off, toB.length - off);
          if (n <= 0) return;
          off += n;
        }
        c.end();
      };
      c.onConnect = pump;
      c.onDrain = pump;
      pair.runUntil(() => accepted.length === 1, 3000, 1);
      expect(accepted.length, 'accepted through the cookie').to.equal(1);
      const s = accepted[0];
      const mib = pair.b.stack.mib.TcpExt;
      expect(mib.SyncookiesSent).to.equal(1);
      expect(mib.SyncookiesRecv).to.equal(1);
      expect(mib.SyncookiesFailed).to.equal(0);
      const synack = tcpSent(pair).find((t) => t.flags === (SYN | ACK) && t.dport === c.sport)!;
      if (!ts) {
        // no timestamp to carry options: MSS only, window rounded to whole MSS (44 × 1460)
        expect([...synack.opts]).to.deep.equal([2, 4, 5, 0xb4]);
        expect(synack.win).to.equal(64240);
      }
      const i = s.info();
      expect(i.options).to.deep.equal({ ts, sack: ts, wscale: ts });
      expect(i.snd_wscale).to.equal(ts ? 7 : 0);
      expect(s.mss_clamp).to.equal(1460);
      expect(s.from_cookie).to.equal(true);
      expect(l.synQueue, 'the cookie child never sat in the SYN queue').to.equal(4);
      echoAll(s, gotB);
      let offB = 0;
      const pumpB = () => {
        while (offB < toA.length) {
          const n = s.write(toA, offB, toA.length - offB);
          if (n <= 0) return;
          offB += n;
        }
        s.end();
      };
      s.onDrain = pumpB;
      pumpB();
      pair.runUntil(() => concat(gotB).length === toB.length && concat(gotA).length === toA.length, 60_000, 10);
      expect(concat(gotB).equals(Buffer.from(toB))).to.equal(true);
      expect(concat(gotA).equals(Buffer.from(toA))).to.equal(true);
      expect(c.error).to.equal('');
      expect(s.error).to.equal('');
    });
  }

  it('a bad cookie counts SyncookiesFailed and gets a RST; an ACK with no recent overflow is just RST', () => {
    const pair = new TcpPair();
    listenB(pair, 80, { backlog: 1 });
    pair.b.capture = true;
    pair.b.receive(tcpFrame(pair.a, pair.b, { sport: 41000, dport: 80, seq: 5, ack: 12345, flags: ACK }));
    pair.advance(10);
    const mib = pair.b.stack.mib.TcpExt;
    expect(mib.SyncookiesFailed).to.equal(0);
    expect(tcpSent(pair).filter((t) => t.flags & RST).length).to.equal(1);
    fillQueue(pair, 80, 2); // the second SYN overflows: a cookie, and ACKs are now checked
    expect(mib.SyncookiesSent).to.equal(1);
    pair.b.receive(tcpFrame(pair.a, pair.b, { sport: 41001, dport: 80, seq: 5, ack: 12345, flags: ACK }));
    pair.advance(1);
    expect(mib.SyncookiesFailed).to.equal(1);
    expect(mib.SyncookiesRecv).to.equal(0);
    const rsts = tcpSent(pair).filter((t) => t.flags & RST);
    expect(rsts.length).to.equal(2);
    expect(rsts[1].seq).to.equal(12345);
    expect(pair.b.tcp.sockets().length).to.equal(1);
    // two minutes after the last overflow ACKs are no longer looked at as cookies
    pair.advance(121_000);
    pair.b.receive(tcpFrame(pair.a, pair.b, { sport: 41002, dport: 80, seq: 5, ack: 12345, flags: ACK }));
    pair.advance(1);
    expect(mib.SyncookiesFailed).to.equal(1);
  });

  it('the connection cap: SYNs past it get cookies; a cookie ACK past it counts ListenOverflows + ListenDrops; once a child closes the retransmitted data gets through', () => {
    const pair = new TcpPair();
    const got: Uint8Array[] = [];
    const accepted: TcpSock[] = [];
    const l = pair.b.tcp.listen(80, (s) => {
      accepted.push(s);
      echoAll(s, got);
    }, { backlog: 128, maxConnections: 1 })!;
    const c1 = pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 80)!;
    pair.runUntil(() => accepted.length === 1, 2000, 1);
    expect(l.children).to.equal(1);
    const c2 = pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 80)!;
    pair.runUntil(() => c2.stateName === 'ESTABLISHED', 2000, 1);
    pair.advance(5);
    const mib = pair.b.stack.mib.TcpExt;
    expect(mib.SyncookiesSent).to.equal(1);
    expect(mib.ListenOverflows).to.equal(1);
    expect(mib.ListenDrops).to.equal(1);
    expect(accepted.length).to.equal(1);
    expect(pair.b.tcp.sockets().length).to.equal(1);
    // the client believes it is connected; its one data segment is retransmitted until the server has
    // room (a second segment would fail the cookie check — its seq − 1 is not the ISN — and be reset,
    // as on Linux with tcp_abort_on_overflow 0)
    c2.write(pattern(1000, 3));
    pair.advance(300);
    expect(mib.ListenOverflows).to.be.greaterThan(1);
    accepted[0].destroy();
    c1.destroy();
    expect(l.children).to.equal(0);
    pair.runUntil(() => accepted.length === 2, 10_000, 10);
    expect(accepted.length).to.equal(2);
    pair.runUntil(() => concat(got).length === 1000, 10_000, 10);
    expect(concat(got).equals(Buffer.from(pattern(1000, 3)))).to.equal(true);
    expect(c2.error).to.equal('');
  });

  it('tcp_syncookies 0 drops (TCPReqQFullDrop, ListenDrops, "Dropping request"); 2 sends cookies always and never warns', () => {
    const p0 = new TcpPair({ sysctlB: { tcp_syncookies: 0 } });
    listenB(p0, 80, { backlog: 1 });
    fillQueue(p0, 80, 3);
    const m0 = p0.b.stack.mib.TcpExt;
    expect([m0.TCPReqQFullDrop, m0.ListenDrops, m0.SyncookiesSent]).to.deep.equal([2, 2, 0]);
    expect(p0.log.lines.filter((x) => x.includes('Possible SYN flooding'))).to.deep.equal([
      'info: TCP: request_sock_TCP: Possible SYN flooding on port 80. Dropping request.  Check SNMP counters.',
    ]);
    const p2 = new TcpPair({ sysctlB: { tcp_syncookies: 2 } });
    const { accepted } = listenB(p2, 80);
    const c = p2.a.tcp.connect(p2.a.inet.ind, ADDR_B, 80)!;
    p2.runUntil(() => accepted.length === 1 && c.stateName === 'ESTABLISHED', 2000, 1);
    const m2 = p2.b.stack.mib.TcpExt;
    expect([m2.SyncookiesSent, m2.SyncookiesRecv, m2.TCPReqQFullDoCookies]).to.deep.equal([1, 1, 1]);
    expect(p2.log.lines.filter((x) => x.includes('Possible SYN flooding'))).to.deep.equal([]);
  });
});
