// Buffer autotuning (tcp_rcv_space_adjust with tcp_moderate_rcvbuf, tcp_sndbuf_expand; Linux 6.1):
// two TCP models 20 ms apart (RTT) in virtual time, a bulk transfer. The receiver's window starts at
// 64 KiB (tcp_rmem[1] = 131072, half of it) and grows with what the reader takes per RTT, bounded by
// the model's per-connection cap (sysctl max_buffered_bytes) below tcp_rmem[2]; without moderation it
// stays put. The sender's buffer grows with cwnd.
import { expect } from 'chai';
import type { TcpSock } from '../../kernel-model/tcp/sock';
import type { TcpSysctl } from '../../kernel-model/tcp/sysctl';
import { ADDR_B, TcpPair, pattern } from './tcp-pair';

interface Run {
  maxWindow: number;
  maxRcvbuf: number;
  sndbuf: number;
  ms: number;
  pair: TcpPair;
  a: TcpSock;
  b: TcpSock;
  ok: boolean;
}

/** `bytes` from a to b over a 10 ms one-way link; the largest window b advertised (bytes) */
function bulk(bytes: number, sysctlB: Partial<TcpSysctl> = {}, sysctlA: Partial<TcpSysctl> = {}): Run {
  const pair = new TcpPair({ faults: { drop: 0, dup: 0, delay: 10, jitter: 0 }, sysctlA, sysctlB });
  let b: TcpSock | null = null;
  let received = 0;
  let maxWindow = 0;
  let maxRcvbuf = 0;
  const data = pattern(1 << 20, 3);
  let ok = true;
  let pos = 0;
  pair.b.tcp.listen(80, (s) => {
    b = s;
    s.onData = (buf, off, len) => {
      for (let i = 0; i < len; i += 4099) if (buf[off + i] !== data[(pos + i) % data.length]) ok = false;
      pos += len;
      received += len;
    };
  });
  const a = pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 80)!;
  let sent = 0;
  const go = () => {
    while (sent < bytes) {
      const off = sent % data.length;
      const n = a.write(data, off, Math.min(data.length - off, bytes - sent));
      if (n <= 0) return;
      sent += n;
    }
  };
  a.onConnect = go;
  a.onDrain = go;
  const t0 = pair.now;
  pair.runUntil(() => {
    if (b !== null) {
      const bb = b as TcpSock;
      maxWindow = Math.max(maxWindow, bb.rcv_wnd);
      maxRcvbuf = Math.max(maxRcvbuf, bb.sk_rcvbuf);
    }
    return received >= bytes;
  }, 600_000, 5);
  expect(received).to.equal(bytes);
  return { maxWindow, maxRcvbuf, sndbuf: a.sndbuf.capacity, ms: pair.now - t0, pair, a, b: b as unknown as TcpSock, ok };
}

describe('tcp autotuning: receive window and send buffer grow under a high-BDP bulk transfer', function () {
  this.timeout(120_000);
  it('with the default cap (1 MiB) the window grows from 64 KiB to the cap', () => {
    const r = bulk(32 << 20);
    expect(r.ok).to.equal(true);
    expect(r.maxWindow, `max window ${r.maxWindow}`).to.be.greaterThan(512 * 1024);
    expect(r.b.rcvbuf.capacity).to.be.at.most(1 << 20);
    expect(r.maxWindow).to.be.at.most((1 << 20) + 128);
    expect(r.sndbuf).to.be.greaterThan(262144);
    expect(r.sndbuf).to.be.at.most(1 << 20);
  });

  it('with the cap at 4 MiB the window grows far beyond (sk_rcvbuf up to tcp_rmem[2] = 6 MB, as Linux 6.1)', () => {
    const big = { max_buffered_bytes: 4 << 20 };
    const r = bulk(64 << 20, big, big);
    expect(r.ok, 'bytes arrive intact').to.equal(true);
    expect(r.b.rcv_wscale).to.equal(7);
    expect(r.maxWindow, `max window ${r.maxWindow}`).to.be.greaterThan(1 << 20);
    expect(r.maxRcvbuf).to.be.at.most(6291456);
    expect(r.b.window_clamp).to.equal(r.b.sk_rcvbuf >>> 1);
    expect(r.maxRcvbuf).to.equal(6291456);
    // 64 KiB per 20 ms would be 3.2 MB/s: 64 MiB in well under 20 s of virtual time
    expect(r.ms, `took ${r.ms} ms`).to.be.below(8000);
    // the sender's buffer followed its cwnd (tcp_sndbuf_expand) beyond the model's 256 KiB start
    expect(r.sndbuf).to.be.greaterThan(262144);
    expect(r.sndbuf).to.be.at.most(4194304);
  });

  it('the per-connection cap (max_buffered_bytes) bounds the window and the buffers, and says so', () => {
    const cap = 512 * 1024;
    const r = bulk(16 << 20, { max_buffered_bytes: cap }, { max_buffered_bytes: cap });
    expect(r.ok).to.equal(true);
    expect(r.maxRcvbuf).to.be.at.most(2 * cap);
    expect(r.maxWindow).to.be.greaterThan(65536);
    expect(r.maxWindow).to.be.at.most(cap + (1 << r.b.rcv_wscale));
    expect(r.b.rcvbuf.capacity).to.be.at.most(cap);
    expect(r.pair.b.tcp.drops.rcvbufCapped).to.be.greaterThan(0);
    expect(r.sndbuf).to.be.at.most(cap);
  });

  it('without tcp_moderate_rcvbuf the window stays at tcp_rmem[1] / 2', () => {
    const r = bulk(4 << 20, { tcp_moderate_rcvbuf: false });
    expect(r.ok).to.equal(true);
    expect(r.maxRcvbuf).to.equal(131072);
    expect(r.maxWindow).to.be.at.most(65536);
    // bounded by 64 KiB per RTT: at least 4 MiB / (64 KiB / 20 ms) ≈ 1.3 s
    expect(r.ms).to.be.greaterThan(1200);
  });
});
