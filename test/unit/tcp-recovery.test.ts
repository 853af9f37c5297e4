// RACK-TLP's tail loss probe, F-RTO and undo of spurious reductions, in virtual time between two models.
import { expect } from 'chai';
import type { TcpSock } from '../../kernel-model/tcp/sock';
import type { TcpSysctl } from '../../kernel-model/tcp/sysctl';
import { ADDR_B, TcpPair, type Host } from './tcp-pair';

function established(opts: { sysctlA?: Partial<TcpSysctl>; sysctlB?: Partial<TcpSysctl> } = {}) {
  const pair = new TcpPair({ faults: { drop: 0, dup: 0, delay: 5, jitter: 0 }, ...opts });
  let b: TcpSock | null = null;
  pair.b.tcp.listen(80, (s) => {
    b = s;
  });
  const a = pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 80)!;
  pair.runUntil(() => b !== null && a.stateName === 'ESTABLISHED', 5000, 1);
  const got: number[] = [0];
  (b as unknown as TcpSock).onData = (_buf, _off, len) => {
    got[0] += len;
  };
  return { pair, a, b: b as unknown as TcpSock, got };
}

/** make `from`'s TCP frames pass through `fn` first (return false to drop, or a delay in ms) */
function intercept(pair: TcpPair, from: Host, fn: (f: Uint8Array) => boolean | number): void {
  const orig = pair.carry.bind(pair);
  pair.carry = (h: Host, f: Uint8Array) => {
    if (h === from && f[23] === 6) {
      const v = fn(f);
      if (v === false) return;
      if (typeof v === 'number') {
        pair.sched.schedule(() => h.peer.receive(f), v);
        return;
      }
    }
    orig(h, f);
  };
}

const payloadLen = (f: Uint8Array) => ((f[16] << 8) | f[17]) - (f[14] & 15) * 4 - (f[14 + (f[14] & 15) * 4 + 12] >> 4) * 4;

describe('tcp recovery: RACK-TLP tail loss probe', () => {
  it('a lost tail segment is repaired by the probe at ≈ 2·srtt, not by an RTO; TCPLossProbes / TCPLossProbeRecovery', () => {
    const { pair, a, got } = established();
    // a first exchange gives an RTT sample (srtt ≈ 10 ms)
    a.write(new Uint8Array(1000));
    pair.advance(500);
    let dataFrames = 0;
    intercept(pair, pair.a, (f) => {
      if (payloadLen(f) > 0) dataFrames++;
      return dataFrames !== 5; // the 5th (last) data segment of the burst is lost once
    });
    const t0 = pair.now;
    a.write(new Uint8Array(5 * 1448));
    pair.runUntil(() => got[0] === 1000 + 5 * 1448, 5000, 1);
    const mib = pair.a.stack.mib.TcpExt;
    expect(mib.TCPLossProbes).to.equal(1);
    expect(mib.TCPTimeouts).to.equal(0);
    // once the first four are ACKed one packet is out: PTO = 2·srtt + rto_min (room for a delayed
    // ACK), bounded by the RTO — so the probe goes at ≈ the RTO's time, but as a probe: cwnd is kept
    expect(pair.now - t0).to.be.within(200, 300);
    expect(a.ca_state).to.equal(0);
    expect(a.snd_cwnd).to.be.at.least(10);
    // the next flight's ACK passes tlp_high_seq: the probe repaired a real loss
    a.write(new Uint8Array(1000));
    pair.advance(500);
    expect(mib.TCPLossProbeRecovery).to.equal(1);
    expect(a.tlp_high_seq).to.equal(0);
  });

  it('no probe without SACK (tcp_schedule_loss_probe needs it): the RTO repairs the tail', () => {
    const { pair, a, got } = established({ sysctlA: { tcp_sack: false } });
    a.write(new Uint8Array(1000));
    pair.advance(500);
    let dataFrames = 0;
    intercept(pair, pair.a, (f) => {
      if (payloadLen(f) > 0) dataFrames++;
      return dataFrames !== 5;
    });
    a.write(new Uint8Array(5 * 1448));
    pair.runUntil(() => got[0] === 1000 + 5 * 1448, 5000, 1);
    expect(pair.a.stack.mib.TcpExt.TCPLossProbes).to.equal(0);
    expect(pair.a.stack.mib.TcpExt.TCPTimeouts).to.equal(1);
  });
});

describe('tcp recovery: spurious RTO detection and undo', () => {
  function spuriousRto(ts: boolean) {
    const { pair, a, got } = established({ sysctlA: { tcp_timestamps: ts }, sysctlB: { tcp_timestamps: ts } });
    a.write(new Uint8Array(1000));
    pair.advance(500);
    const cwnd0 = a.snd_cwnd;
    const ssthresh0 = a.snd_ssthresh;
    // the ACKs of the next flight are held for 1.5 s (a route flap): the RTO fires although nothing was lost
    let hold = true;
    intercept(pair, pair.b, () => (hold ? 1500 : true));
    const total = 1000 + 40_000;
    a.write(new Uint8Array(40_000));
    pair.advance(1400);
    hold = false;
    pair.runUntil(() => got[0] === total, 20_000, 1);
    pair.advance(2000);
    return { pair, a, cwnd0, ssthresh0 };
  }

  it('with timestamps (Eifel): the delayed ACK echoes a TSval before the retransmission → TCPLossUndo, cwnd back', () => {
    const { pair, a, ssthresh0 } = spuriousRto(true);
    const mib = pair.a.stack.mib.TcpExt;
    expect(mib.TCPTimeouts).to.be.at.least(1);
    expect(mib.TCPLossUndo).to.be.at.least(1);
    expect(a.snd_ssthresh).to.equal(ssthresh0);
    expect(a.ca_state).to.equal(0);
  });

  it('without timestamps, F-RTO (RFC 5682): new data after the RTO is ACKed without a retransmission → TCPSpuriousRTOs', () => {
    const { pair, a, ssthresh0 } = spuriousRto(false);
    const mib = pair.a.stack.mib.TcpExt;
    expect(mib.TCPTimeouts).to.be.at.least(1);
    expect(mib.TCPSpuriousRTOs).to.be.at.least(1);
    expect(mib.TCPLossUndo).to.be.at.least(1);
    expect(a.snd_ssthresh).to.equal(ssthresh0);
  });

  it('tcp_frto = 0: the same spurious RTO is not undone without timestamps', () => {
    const pair0 = spuriousRtoNoFrto();
    expect(pair0.a.stack.mib.TcpExt.TCPSpuriousRTOs).to.equal(0);
    expect(pair0.a.stack.mib.TcpExt.TCPLossUndo).to.equal(0);
  });

  function spuriousRtoNoFrto(): TcpPair {
    const { pair, a, got } = established({ sysctlA: { tcp_timestamps: false, tcp_frto: 0 }, sysctlB: { tcp_timestamps: false } });
    a.write(new Uint8Array(1000));
    pair.advance(500);
    let hold = true;
    intercept(pair, pair.b, () => (hold ? 1500 : true));
    a.write(new Uint8Array(40_000));
    pair.advance(1400);
    hold = false;
    pair.runUntil(() => got[0] === 41_000, 20_000, 1);
    return pair;
  }
});
