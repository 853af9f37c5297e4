// The TCP socket model end to end between two NetStacks in virtual time: the handshake on the wire
// (Linux 6.1's SYN / SYN-ACK bytes), counters, simultaneous open and close, refused and forwarded
// connections, RFC 5961 RST/SYN validation, PAWS, delayed ACK timing, Nagle, zero-window probes,
// bounded buffers, RTO backoff and give-up, keepalive, MSS from MTU.
import { expect } from 'chai';
import { netif_set_gro } from '../../kernel-model/core/gro';
import type { TcpSock } from '../../kernel-model/tcp/sock';
import type { TcpSysctl } from '../../kernel-model/tcp/sysctl';
import { ADDR_A, ADDR_B, TcpPair, pattern, tcpFrame, tcpOf, type LinkFaults } from './tcp-pair';
import { l4ChecksumOk, ipHeaderOk, toHex } from './ipv4-link';

function established(opts: { faults?: LinkFaults; sysctlA?: Partial<TcpSysctl>; sysctlB?: Partial<TcpSysctl>; mtu?: number } = {}) {
  const pair = new TcpPair(opts);
  let b: TcpSock | null = null;
  pair.b.tcp.listen(80, (s) => {
    b = s;
  });
  const a = pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 80)!;
  pair.runUntil(() => b !== null && a.stateName === 'ESTABLISHED', 5000, 1);
  expect(b, 'accepted').to.not.equal(null);
  return { pair, a, b: b as unknown as TcpSock };
}

function collect(s: TcpSock): Uint8Array[] {
  const out: Uint8Array[] = [];
  s.onData = (buf, off, len) => {
    out.push(buf.slice(off, off + len));
  };
  return out;
}

const total = (parts: Uint8Array[]) => parts.reduce((n, p) => n + p.length, 0);

describe('tcp socket: handshake bytes and counters', () => {
  it('the SYN equals a Linux 6.1 SYN; the SYN-ACK has window 65160 and echoes the TSval', () => {
    const pair = new TcpPair();
    pair.a.capture = true;
    pair.b.capture = true;
    pair.b.tcp.listen(80, () => undefined);
    const a = pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 80, { sport: 43210 })!;
    pair.runUntil(() => a.stateName === 'ESTABLISHED', 1000, 1);
    const syn = pair.a.sent.find((f) => f[12] === 8 && f[13] === 0 && f[23] === 6)!;
    expect(ipHeaderOk(syn) && l4ChecksumOk(syn)).to.equal(true);
    // IPv4: 60 bytes, DF, TTL 64, TCP (the IP ID is per-socket random on Linux; the model sends 0)
    expect(toHex(syn, 14, 4)).to.equal('4500003c');
    expect(toHex(syn, 20, 4)).to.equal('40004006');
    const t = tcpOf(syn);
    expect(t.sport).to.equal(43210);
    expect(t.ack).to.equal(0);
    expect(toHex(syn, 34 + 12, 4)).to.equal('a002faf0'); // doff 10, SYN, window 64240
    expect(toHex(syn, 34 + 18, 2)).to.equal('0000'); // urgent pointer
    const tsval = t.tsval.toString(16).padStart(8, '0');
    expect(toHex(t.opts)).to.equal(`020405b4` + `0402080a${tsval}00000000` + `01030307`);
    const synack = pair.b.sent.find((f) => f[23] === 6 && tcpOf(f).flags === 0x12)!;
    const s = tcpOf(synack);
    expect(toHex(synack, 18, 4)).to.equal('00004000'); // IP ID 0 + DF (ip_build_and_send_pkt)
    expect(s.win).to.equal(65160); // 45 × 1448
    expect(s.ack).to.equal((t.seq + 1) >>> 0);
    expect(s.tsecr).to.equal(t.tsval);
    expect(toHex(s.opts)).to.equal(`020405b4` + `0402080a${s.tsval.toString(16).padStart(8, '0')}${tsval}` + `01030307`);
    pair.advance(10);
    const ma = pair.a.stack.mib.Tcp;
    const mb = pair.b.stack.mib.Tcp;
    expect([ma.ActiveOpens, ma.PassiveOpens, ma.CurrEstab, ma.OutSegs, ma.InSegs]).to.deep.equal([1, 0, 1, 2, 1]);
    expect([mb.ActiveOpens, mb.PassiveOpens, mb.CurrEstab, mb.OutSegs, mb.InSegs]).to.deep.equal([0, 1, 1, 1, 2]);
    // the final ACK carries TS only: doff 8
    const ack = pair.a.sent.filter((f) => f[23] === 6)[1];
    expect(tcpOf(ack).doff).to.equal(32);
    expect(a.info().snd_mss).to.equal(1448);
  });

  it('SYN without SACK / TS / WS, as the peer allows: options follow what the SYN offered', () => {
    const pair = new TcpPair({ sysctlA: { tcp_sack: false, tcp_timestamps: false } });
    pair.a.capture = true;
    pair.b.capture = true;
    pair.b.tcp.listen(80, () => undefined);
    const a = pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 80)!;
    pair.runUntil(() => a.stateName === 'ESTABLISHED', 1000, 1);
    const syn = tcpOf(pair.a.sent.find((f) => f[23] === 6)!);
    expect(toHex(syn.opts)).to.equal('020405b4' + '01030307');
    expect(syn.win).to.equal(64240);
    const synack = tcpOf(pair.b.sent.find((f) => f[23] === 6 && tcpOf(f).flags === 0x12)!);
    expect(toHex(synack.opts)).to.equal('020405b4' + '01030307');
    expect(synack.win).to.equal(64240); // 44 × 1460 without timestamps
    expect(a.info().options).to.deep.equal({ ts: false, sack: false, wscale: true });
    expect(a.info().snd_mss).to.equal(1460);
  });

  it('MSS follows the MTU (SYN MSS = MTU − 40)', () => {
    const pair = new TcpPair({ mtu: 1400 });
    pair.a.capture = true;
    pair.b.tcp.listen(80, () => undefined);
    const a = pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 80)!;
    pair.runUntil(() => a.stateName === 'ESTABLISHED', 1000, 1);
    expect(toHex(tcpOf(pair.a.sent.find((f) => f[23] === 6)!).opts, 0, 4)).to.equal('02040550');
    expect(a.info().snd_mss).to.equal(1348);
  });

  /** a writes 300 kB and closes, b closes in turn; b must receive every byte */
  function transfer300k(pair: ReturnType<typeof established>['pair'], a: TcpSock, b: TcpSock): void {
    const rx = collect(b);
    const data = pattern(300_000);
    let off = 0;
    const pump = (): void => {
      while (off < data.length) {
        const n = a.write(data, off);
        if (n <= 0) return;
        off += n;
      }
      a.end();
    };
    a.onDrain = pump;
    pump();
    b.onEnd = () => b.end();
    pair.runUntil(() => a.stateName === 'TIME_WAIT' && b.stateName === 'CLOSED', 60_000);
    expect(Buffer.concat(rx).equals(Buffer.from(data))).to.equal(true);
  }

  it('with GRO on, the receiver counts merged segments once: InSegs < the sender\'s OutSegs, data intact', () => {
    const { pair, a, b } = established();
    transfer300k(pair, a, b);
    expect(pair.b.stack.mib.Tcp.InSegs).to.be.greaterThan(0);
    expect(pair.b.stack.mib.Tcp.InSegs).to.be.lessThan(pair.a.stack.mib.Tcp.OutSegs);
    pair.advance(60_000);
  });

  it('a clean transfer: every byte, no retransmission, OutSegs of one side = InSegs of the other (GRO off)', () => {
    const { pair, a, b } = established();
    // Tcp InSegs counts a GRO aggregate once (linux-path.md §9), so segment-for-segment equality only
    // holds with GRO off on both links; the next test checks the GRO-on counts.
    netif_set_gro(pair.a.dev, false);
    netif_set_gro(pair.b.dev, false);
    transfer300k(pair, a, b);
    const ma = pair.a.stack.mib;
    const mb = pair.b.stack.mib;
    expect(ma.Tcp.RetransSegs).to.equal(0);
    expect(ma.Tcp.OutSegs).to.equal(mb.Tcp.InSegs);
    expect(mb.Tcp.OutSegs).to.equal(ma.Tcp.InSegs);
    expect(ma.Tcp.CurrEstab + mb.Tcp.CurrEstab).to.equal(0);
    expect(ma.Tcp.EstabResets + mb.Tcp.EstabResets).to.equal(0);
    expect(ma.TcpExt.TCPOrigDataSent).to.be.at.least(Math.ceil(300_000 / 1448));
    expect(a.info().snd_cwnd).to.be.greaterThan(10);
    pair.advance(60_000);
    expect(a.stateName).to.equal('CLOSED');
    expect(ma.TcpExt.TW).to.equal(1);
  });
});

describe('tcp socket: opens and closes', () => {
  it('simultaneous open (no listener on either side) and simultaneous close (both TIME_WAIT)', () => {
    const pair = new TcpPair({ faults: { drop: 0, dup: 0, delay: 5, jitter: 0 } });
    const a = pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 6000, { sport: 5000 })!;
    const b = pair.b.tcp.connect(pair.b.inet.ind, ADDR_A, 5000, { sport: 6000 })!;
    pair.runUntil(() => a.stateName === 'ESTABLISHED' && b.stateName === 'ESTABLISHED', 5000, 1);
    expect([a.stateName, b.stateName]).to.deep.equal(['ESTABLISHED', 'ESTABLISHED']);
    const rx = collect(b);
    a.write(new TextEncoder().encode('hello'));
    pair.advance(50);
    expect(Buffer.concat(rx).toString()).to.equal('hello');
    a.end();
    b.end();
    pair.runUntil(() => a.stateName === 'TIME_WAIT' && b.stateName === 'TIME_WAIT', 5000, 1);
    expect([a.stateName, b.stateName]).to.deep.equal(['TIME_WAIT', 'TIME_WAIT']);
    expect(pair.a.stack.mib.Tcp.ActiveOpens).to.equal(1);
  });

  it('connect to a closed port: RST|ACK → ECONNREFUSED, AttemptFails; OutRsts on the other side', () => {
    const pair = new TcpPair();
    const a = pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 81)!;
    let err = '';
    a.onClose = (e) => {
      err = e;
    };
    pair.advance(100);
    expect(a.stateName).to.equal('CLOSED');
    expect(err).to.equal('ECONNREFUSED');
    expect(pair.a.stack.mib.Tcp.AttemptFails).to.equal(1);
    expect(pair.b.stack.mib.Tcp.OutRsts).to.equal(1);
    expect(pair.b.stack.mib.Tcp.OutSegs).to.equal(1);
  });

  it('SYN retransmissions at 1, 3, 7, 15, 31, 63 s and ETIMEDOUT at 127 s (Linux 6.1)', () => {
    const pair = new TcpPair();
    pair.a.capture = true;
    pair.a.blackhole = true;
    const a = pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 80)!;
    const t0 = pair.now;
    const times: number[] = [];
    let last = 0;
    while (pair.now - t0 < 130_000 && a.stateName !== 'CLOSED') {
      pair.advance(1);
      const syns = pair.a.sent.filter((f) => f[23] === 6).length;
      if (syns > last) {
        times.push(Math.round(pair.now - t0));
        last = syns;
      }
    }
    // the first SYN waits for ARP; the retransmission timer runs from connect()
    expect(times[0]).to.be.at.most(5);
    expect(times.slice(1)).to.deep.equal([1000, 3000, 7000, 15000, 31000, 63000]);
    expect(a.error).to.equal('ETIMEDOUT');
    expect(Math.round(pair.now - t0)).to.equal(127_000);
    expect(pair.a.stack.mib.TcpExt.TCPSynRetrans).to.equal(6);
    expect(pair.a.stack.mib.Tcp.RetransSegs).to.equal(6);
  });
});

describe('tcp socket: the forwarder hook', () => {
  it('per SYN: accept (handshake completes), reset (ECONNREFUSED) or drop (SYN retransmitted)', () => {
    const pair = new TcpPair();
    const decided: number[] = [];
    let accepted: TcpSock | null = null;
    pair.b.tcp.setForwarder((req) => {
      decided.push(req.localPort);
      if (req.localPort === 443) accepted = req.accept();
      else if (req.localPort === 444) req.reset();
      else req.drop();
    });
    const a1 = pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 443)!;
    const a2 = pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 444)!;
    const a3 = pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 445)!;
    pair.advance(1500);
    expect(a1.stateName).to.equal('ESTABLISHED');
    expect(accepted).to.not.equal(null);
    expect((accepted as unknown as TcpSock).stateName).to.equal('ESTABLISHED');
    expect(a2.error).to.equal('ECONNREFUSED');
    expect(a3.stateName).to.equal('SYN_SENT');
    // the dropped request was offered again when its SYN came back
    expect(decided).to.deep.equal([443, 444, 445, 445]);
  });

  it('a pending decision swallows retransmitted SYNs; accepting later completes the handshake', () => {
    const pair = new TcpPair();
    let pending: import('../../kernel-model/tcp/tcp_ipv4').TcpForwardRequest | null = null;
    let offers = 0;
    pair.b.tcp.setForwarder((req) => {
      offers++;
      pending = req;
    });
    const a = pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 8080)!;
    pair.advance(3500);
    expect(offers).to.equal(1);
    const child = (pending as unknown as { accept(): TcpSock | null }).accept()!;
    const rx = collect(child);
    pair.runUntil(() => a.stateName === 'ESTABLISHED', 10_000, 5);
    a.write(new TextEncoder().encode('late'));
    pair.advance(500);
    expect(Buffer.concat(rx).toString()).to.equal('late');
  });
});

describe('tcp socket: validation (RFC 5961, RFC 7323)', () => {
  it('RST: in-window but not exact → challenge ACK; exact → ECONNRESET, EstabResets', () => {
    const { pair, a, b } = established();
    pair.b.capture = true;
    const before = pair.b.stack.mib.TcpExt.TCPChallengeACK;
    pair.b.receive(tcpFrame(pair.a, pair.b, { sport: a.sport, dport: 80, seq: b.rcv_nxt + 100, ack: 0, flags: 0x04 }));
    pair.advance(1);
    expect(b.stateName).to.equal('ESTABLISHED');
    expect(pair.b.stack.mib.TcpExt.TCPChallengeACK).to.equal(before + 1);
    const ch = tcpOf(pair.b.sent[pair.b.sent.length - 1]);
    expect(ch.flags).to.equal(0x10);
    expect(ch.ack).to.equal(b.rcv_nxt);
    // a second one within 500 ms is rate limited (tcp_invalid_ratelimit)
    pair.b.receive(tcpFrame(pair.a, pair.b, { sport: a.sport, dport: 80, seq: b.rcv_nxt + 200, ack: 0, flags: 0x04 }));
    pair.advance(1);
    expect(pair.b.stack.mib.TcpExt.TCPACKSkippedChallenge).to.equal(1);
    // out of window: ignored
    pair.b.receive(tcpFrame(pair.a, pair.b, { sport: a.sport, dport: 80, seq: b.rcv_nxt + 10_000_000, ack: 0, flags: 0x04 }));
    pair.advance(1);
    expect(b.stateName).to.equal('ESTABLISHED');
    let err = '';
    b.onClose = (e) => {
      err = e;
    };
    pair.b.receive(tcpFrame(pair.a, pair.b, { sport: a.sport, dport: 80, seq: b.rcv_nxt, ack: 0, flags: 0x04 }));
    pair.advance(1);
    expect(b.stateName).to.equal('CLOSED');
    expect(err).to.equal('ECONNRESET');
    expect(pair.b.stack.mib.Tcp.EstabResets).to.equal(1);
    expect(pair.b.stack.mib.Tcp.CurrEstab).to.equal(0);
  });

  it('a SYN on an established connection gets a challenge ACK (TCPSYNChallenge)', () => {
    const { pair, a, b } = established();
    pair.advance(600);
    pair.b.receive(tcpFrame(pair.a, pair.b, { sport: a.sport, dport: 80, seq: 12345, ack: 0, flags: 0x02 }));
    pair.advance(1);
    expect(b.stateName).to.equal('ESTABLISHED');
    expect(pair.b.stack.mib.TcpExt.TCPSYNChallenge).to.equal(1);
    expect(pair.b.stack.mib.TcpExt.TCPChallengeACK).to.equal(1);
  });

  it('PAWS: data with an old TSval is dropped (PAWSEstab) and answered with a duplicate ACK', () => {
    const { pair, a, b } = established();
    const rx = collect(b);
    pair.advance(100);
    const old = (b.ts_recent - 5000) >>> 0;
    const ts = [1, 1, 8, 10, old >>> 24, (old >>> 16) & 255, (old >>> 8) & 255, old & 255, 0, 0, 0, 0];
    pair.b.capture = true;
    pair.b.receive(tcpFrame(pair.a, pair.b, { sport: a.sport, dport: 80, seq: b.rcv_nxt, ack: b.snd_nxt, flags: 0x18, opts: ts, payload: new Uint8Array([1, 2, 3]) }));
    pair.advance(1);
    expect(pair.b.stack.mib.TcpExt.PAWSEstab).to.equal(1);
    expect(total(rx)).to.equal(0);
    expect(tcpOf(pair.b.sent[pair.b.sent.length - 1]).flags).to.equal(0x10);
    // the same segment with a current TSval is taken
    const cur = (b.ts_recent + 1) >>> 0;
    ts.splice(4, 4, cur >>> 24, (cur >>> 16) & 255, (cur >>> 8) & 255, cur & 255);
    pair.b.receive(tcpFrame(pair.a, pair.b, { sport: a.sport, dport: 80, seq: b.rcv_nxt, ack: b.snd_nxt, flags: 0x18, opts: ts, payload: new Uint8Array([1, 2, 3]) }));
    pair.advance(1);
    expect(total(rx)).to.equal(3);
  });

  it('a segment with a bad checksum counts InCsumErrors and InErrs and changes nothing', () => {
    const { pair, a, b } = established();
    const f = tcpFrame(pair.a, pair.b, { sport: a.sport, dport: 80, seq: b.rcv_nxt, ack: 0, flags: 0x04 });
    f[f.length - 3] ^= 0x55;
    pair.b.receive(f);
    pair.advance(1);
    expect(b.stateName).to.equal('ESTABLISHED');
    expect(pair.b.stack.mib.Tcp.InCsumErrors).to.equal(1);
    expect(pair.b.stack.mib.Tcp.InErrs).to.equal(1);
  });
});

describe('tcp socket: ACK timing, Nagle, windows', () => {
  it('quickack for the first segments, then delayed ACKs after the ATO (40 ms) with DelayedACKs', () => {
    const { pair, a, b } = established({ faults: { drop: 0, dup: 0, delay: 1, jitter: 0 } });
    // a reader that does not drain at once (tcp_cleanup_rbuf would ACK a drained small segment)
    b.pause();
    pair.b.capture = true;
    // first data: quickack → the ACK leaves at once
    a.write(new Uint8Array([1]));
    pair.advance(3);
    expect(pair.b.sent.length).to.equal(1);
    // spend the quickack credit with spaced single bytes
    for (let i = 0; i < 20; i++) {
      a.write(new Uint8Array([i]));
      pair.advance(100);
    }
    pair.b.sent.length = 0;
    const d0 = pair.b.stack.mib.TcpExt.DelayedACKs;
    a.write(new Uint8Array([9]));
    const sentAt = pair.now;
    let ackAt = -1;
    for (let i = 0; i < 300 && ackAt < 0; i++) {
      pair.advance(1);
      if (pair.b.sent.length > 0) ackAt = pair.now;
    }
    // 1 ms on the link, then the delayed-ACK timer
    expect(ackAt - sentAt).to.be.within(40, 42);
    expect(pair.b.stack.mib.TcpExt.DelayedACKs).to.equal(d0 + 1);
  });

  it('Nagle holds a second small segment until the first is ACKed; TCP_NODELAY sends at once', () => {
    const { pair, a } = established({ faults: { drop: 0, dup: 0, delay: 10, jitter: 0 } });
    pair.a.capture = true;
    const small = new Uint8Array(100);
    a.write(small);
    a.write(small);
    a.write(small);
    pair.advance(1);
    expect(pair.a.sent.filter((f) => tcpOf(f).len > 0).length).to.equal(1);
    pair.advance(100);
    // after the ACK the held bytes go as one segment
    const data = pair.a.sent.filter((f) => tcpOf(f).len > 0);
    expect(data.map((f) => tcpOf(f).len)).to.deep.equal([100, 200]);
    pair.a.sent.length = 0;
    a.setNoDelay(true);
    a.write(small);
    a.write(small);
    pair.advance(1);
    expect(pair.a.sent.filter((f) => tcpOf(f).len > 0).length).to.equal(2);
  });

  it('a paused reader closes the window; the writer probes (TCPWinProbe) and resumes on the update', () => {
    const { pair, a, b } = established({ faults: { drop: 0, dup: 0, delay: 5, jitter: 0 } });
    const rx = collect(b);
    b.pause();
    const data = pattern(200_000);
    let off = 0;
    const pump = () => {
      while (off < data.length) {
        const n = a.write(data, off);
        if (n <= 0) return;
        off += n;
      }
    };
    a.onDrain = pump;
    pump();
    pair.advance(5_000);
    expect(a.snd_wnd).to.equal(0);
    // the window covers half of the 128 KiB rcvbuf; Linux's never-shrink rule rounds the right edge up
    // to the 128-byte scale unit at each ACK, so a little more than 64 KiB may arrive
    expect(b.readableLength).to.be.within(60_000, 65_536 + 8192);
    expect(pair.a.stack.mib.TcpExt.TCPWinProbe).to.be.greaterThan(0);
    expect(pair.b.stack.mib.TcpExt.TCPToZeroWindowAdv).to.be.greaterThan(0);
    expect(a.bufferedAmount).to.be.greaterThan(0);
    b.resume();
    pair.runUntil(() => total(rx) === data.length, 60_000, 10);
    expect(Buffer.concat(rx).equals(Buffer.from(data))).to.equal(true);
    expect(pair.b.stack.mib.TcpExt.TCPFromZeroWindowAdv).to.be.greaterThan(0);
    expect(a.error).to.equal('');
  });

  it('bounded send buffer: write takes what fits and onDrain says when to go on', () => {
    // the per-connection cap keeps tcp_sndbuf_expand from growing it (counted)
    const { pair, a } = established({ sysctlA: { sndbuf: 10_000, max_buffered_bytes: 10_000 } });
    expect(pair.a.tcp.drops.sndbufCapped).to.be.greaterThan(0);
    const n = a.write(new Uint8Array(25_000));
    expect(n).to.equal(10_000);
    expect(a.write(new Uint8Array(10))).to.equal(0);
    let drained = false;
    a.onDrain = () => {
      drained = true;
    };
    pair.advance(100);
    expect(drained).to.equal(true);
    expect(a.writable).to.equal(10_000);
    a.end();
    expect(a.write(new Uint8Array(1))).to.equal(-1);
  });
});

describe('tcp socket: timers', () => {
  it('RTO: exponential backoff to 120 s, TCPTimeouts, ETIMEDOUT after tcp_retries2 (≈ 924.6 s)', () => {
    const { pair, a } = established({ faults: { drop: 0, dup: 0, delay: 1, jitter: 0 } });
    pair.advance(1000);
    pair.a.capture = true;
    pair.a.blackhole = true;
    a.write(new Uint8Array(1000));
    const t0 = pair.now;
    const sends: number[] = [];
    let last = 0;
    pair.runUntil(
      () => {
        const n = pair.a.sent.filter((f) => f[23] === 6).length;
        if (n > last) {
          sends.push(Math.round(pair.now - t0));
          last = n;
        }
        return a.stateName === 'CLOSED';
      },
      2_000_000,
      1,
    );
    expect(a.error).to.equal('ETIMEDOUT');
    const gaps = sends.slice(1).map((t, i) => t - sends[i]);
    // each gap doubles until the 120 s cap
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]).to.be.oneOf([Math.min(gaps[i - 1] * 2, 120_000), gaps[i - 1]]);
    expect(Math.max(...gaps)).to.equal(120_000);
    // the first retransmission is RACK-TLP's loss probe (2·srtt + rto_min with one packet out), the rest are RTOs
    expect(pair.a.stack.mib.TcpExt.TCPLossProbes).to.equal(1);
    expect(pair.a.stack.mib.TcpExt.TCPTimeouts + pair.a.stack.mib.TcpExt.TCPLossProbes).to.equal(sends.length);
    expect(pair.a.stack.mib.TcpExt.TCPAbortOnTimeout).to.equal(1);
    expect(pair.now - t0 - sends[1]).to.be.within(924_600 - 1000, 924_600 + 121_000);
  });

  it('keepalive (off by default): probes after idle, dead peer → ETIMEDOUT; live peer keeps it', () => {
    const { pair, a, b } = established();
    pair.advance(20_000);
    expect(pair.a.stack.mib.TcpExt.TCPKeepAlive).to.equal(0);
    a.setKeepAlive(true, 10_000, 1_000, 3);
    pair.advance(15_000);
    expect(pair.a.stack.mib.TcpExt.TCPKeepAlive).to.be.greaterThan(0);
    expect(a.stateName).to.equal('ESTABLISHED');
    pair.b.blackhole = true;
    pair.advance(20_000);
    expect(a.stateName).to.equal('CLOSED');
    expect(a.error).to.equal('ETIMEDOUT');
    // the giving-up side sends a RST (tcp_keepalive_timer), which reaches the silent peer
    expect(b.error).to.equal('ECONNRESET');
  });
});
