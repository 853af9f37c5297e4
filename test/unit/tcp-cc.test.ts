// RTT/RTO estimation (RFC 6298 with Linux's scaling and limits) and congestion control:
// CUBIC's window curve against RFC 9438's formula, its loss response, and Reno.
import { expect } from 'chai';
import { NetMib } from '../../kernel-model/core/mib';
import { RttEstimator, tcp_model_timeout } from '../../kernel-model/tcp/rtt';
import type { TcpSock } from '../../kernel-model/tcp/sock';
import { RenoOps } from '../../kernel-model/tcp/tcp_cong';
import { CubicOps, cubic_root } from '../../kernel-model/tcp/tcp_cubic';

describe('tcp rtt: RFC 6298 as Linux computes it', () => {
  it('first sample: SRTT = R, RTTVAR = max(2R, rto_min) → RTO = 3R (or R + 200 ms)', () => {
    const e = new RttEstimator(200_000, 250);
    e.sample(1_000_000, 1, 1);
    expect(e.srtt).to.equal(1_000_000);
    expect(e.rto_ms(120_000)).to.equal(3000);
    const f = new RttEstimator(200_000, 250);
    f.sample(10_000, 1, 1);
    // 10 ms + max(20 ms, 200 ms) = 210 ms, rounded up to whole jiffies at HZ 250 (usecs_to_jiffies)
    expect(f.rto_ms(120_000)).to.equal(212);
  });

  it('second sample matches the RFC 6298 arithmetic (100 ms then 500 ms → RTO 700 ms)', () => {
    const e = new RttEstimator(200_000, 250);
    e.sample(100_000, 1, 1);
    e.sample(500_000, 1, 1);
    // RFC: SRTT = 7/8·100 + 1/8·500 = 150; RTTVAR = 3/4·50 + 1/4·400 = 137.5; RTO = 150 + 4·137.5
    expect(e.srtt).to.equal(150_000);
    expect(e.rto_ms(120_000)).to.equal(700);
  });

  it('a falling RTT moves mdev with 1/32 gain; rttvar never drops below rto_min; RTO in whole jiffies, ≤ 120 s', () => {
    const e = new RttEstimator(200_000, 250);
    e.sample(100_000, 1, 1);
    e.sample(20_000, 1, 1); // err −80 ms: mdev_us += ((80000 − 50000) >> 3)
    expect(e.mdev_us).to.equal(200_000 + ((80_000 - 50_000) >> 3));
    for (let i = 0; i < 50; i++) e.sample(20_000, 2 + i, 3 + i);
    expect(e.rttvar_us).to.be.at.least(200_000);
    expect(e.rto_ms(120_000) % 4).to.equal(0);
    const big = new RttEstimator(200_000, 250);
    big.sample(90_000_000, 1, 1);
    expect(big.rto_ms(120_000)).to.equal(120_000);
  });

  it('give-up times: retries2 = 15 at 200 ms → 924.6 s; 6 SYN retries at 1 s → 127 s', () => {
    expect(tcp_model_timeout(15, 200)).to.be.closeTo(924_600, 0.001);
    expect(tcp_model_timeout(6, 1000)).to.equal(127_000);
  });
});

/** just enough of a socket for the congestion-control hooks, with a settable clock */
function fakeSock(cwnd: number): TcpSock & { t: number } {
  const s = {
    t: 0,
    snd_cwnd: cwnd,
    snd_ssthresh: 0x7fffffff,
    snd_cwnd_cnt: 0,
    snd_cwnd_clamp: 0xffffffff,
    snd_una: 0,
    snd_nxt: 0,
    lsndtime_j: 0,
    is_cwnd_limited: true,
    max_packets_out: 0,
    HZ: 250,
    net: { mib: new NetMib() },
    jiffies(): number {
      return Math.floor((this.t * 250) / 1000);
    },
    now_us(): number {
      return this.t * 1000;
    },
  };
  return s as unknown as TcpSock & { t: number };
}

describe('tcp congestion control', () => {
  it('cubic_root is the exact integer cube root', () => {
    for (const x of [0, 1, 7, 8, 26, 27, 1000, 999, 2 ** 40, 2 ** 53 - 1]) {
      const r = cubic_root(x);
      expect(r ** 3 <= x && (r + 1) ** 3 > x, `${x}`).to.equal(true);
    }
  });

  it('CUBIC loss response: ssthresh = cwnd·717/1024, W_max with fast convergence', () => {
    const tp = fakeSock(100);
    const c = new CubicOps();
    c.init(tp);
    expect(c.ssthresh(tp)).to.equal(70);
    expect(c.last_max_cwnd).to.equal(100);
    tp.snd_cwnd = 80; // a second loss below W_max: W_max = 80·(1024+717)/2048
    expect(c.ssthresh(tp)).to.equal(56);
    expect(c.last_max_cwnd).to.equal(Math.floor((80 * 1741) / 2048));
  });

  it('CUBIC congestion avoidance follows W(t) = C(t−K)³ + W_max (RFC 9438 §4.2) within a segment or 3%', () => {
    const tp = fakeSock(100);
    const c = new CubicOps();
    c.init(tp);
    tp.snd_ssthresh = c.ssthresh(tp); // 70, W_max 100
    tp.snd_cwnd = tp.snd_ssthresh;
    const C = 0.4;
    const beta = 717 / 1024;
    const Wmax = 100;
    const K = Math.cbrt((Wmax * (1 - beta)) / C);
    const rtt = 100; // ms, ACK-clocked: cwnd ACKs spread over each RTT
    const checks: [number, number, number][] = [];
    const start = 1000;
    tp.t = start;
    while (tp.t < start + 8000) {
      const n = tp.snd_cwnd;
      for (let i = 0; i < n; i++) {
        tp.t += rtt / n;
        c.cong_avoid(tp, 0, 1);
      }
      const t = (tp.t - start) / 1000;
      checks.push([t, tp.snd_cwnd, C * (t - K) ** 3 + Wmax]);
    }
    for (const [t, w, W] of checks) {
      expect(Math.abs(w - W), `t=${t.toFixed(2)} cwnd ${w} vs W(t) ${W.toFixed(1)}`).to.be.at.most(Math.max(1.5, 0.03 * W));
    }
    // the plateau at W_max around t = K, then convex growth beyond it
    const atK = checks.find(([t]) => t >= K)!;
    expect(atK[1]).to.be.within(98, 101);
    expect(checks[checks.length - 1][1]).to.be.greaterThan(110);
  });

  it('slow start doubles per RTT up to ssthresh; Reno adds one segment per RTT and halves on loss', () => {
    const tp = fakeSock(10);
    const r = new RenoOps();
    tp.snd_ssthresh = 40;
    for (let rtt = 0; rtt < 2; rtt++) {
      const n = tp.snd_cwnd;
      for (let i = 0; i < n; i++) r.cong_avoid(tp, 0, 1);
    }
    expect(tp.snd_cwnd).to.equal(40);
    for (let rtt = 0; rtt < 5; rtt++) {
      const n = tp.snd_cwnd;
      for (let i = 0; i < n; i++) r.cong_avoid(tp, 0, 1);
    }
    expect(tp.snd_cwnd).to.equal(45);
    expect(r.ssthresh(tp)).to.equal(22);
    // not cwnd-limited: no growth
    tp.is_cwnd_limited = false;
    tp.max_packets_out = 100;
    r.cong_avoid(tp, 0, 50);
    expect(tp.snd_cwnd).to.equal(45);
  });
});
