// TSO in the TCP model (tcp_write_xmit with tcp_tso_segs / tcp_mss_split_point), in virtual time
// between two model stacks. Host A's device claims TSO; its driver here records each frame the way a
// TSO NIC receives it (gso_size, gso_segs, length) and then segments it in software onto the link,
// so B sees MSS segments. Checked: frame sizes and gso_segs, the cwnd limit on the first flight,
// OutSegs / TCPOrigDataSent counting segments, tcp_tso_autosize, retransmission of one lost segment
// out of a super-frame, and a device without TSO (validate_xmit_skb segments before the driver).
import { expect } from 'chai';
import { NETDEV_TX_OK, NETIF_F_GSO, NETIF_F_HW_CSUM, NETIF_F_SG, NETIF_F_SOFT_FEATURES, NETIF_F_TSO } from '../../kernel-model/core/netdevice';
import { skb_gso_segment } from '../../kernel-model/core/gso';
import type { Skb } from '../../kernel-model/core/skb';
import type { TcpSock } from '../../kernel-model/tcp/sock';
import { tcp_tso_segs } from '../../kernel-model/tcp/tcp_output';
import { ADDR_B, TcpPair, pattern, tcpOf, type Host } from './tcp-pair';
import { ipHeaderOk, l4ChecksumOk } from './ipv4-link';

interface Frame {
  seq: number;
  len: number;
  gso_size: number;
  gso_segs: number;
  t: number;
}

const MSS = 1448;

/** A's driver as a TSO NIC: records what it is handed, segments it onto the link; `lose(seq)` drops a segment */
function tsoNic(pair: TcpPair, host: Host, frames: Frame[], lose: (seq: number) => boolean = () => false): void {
  host.dev.features = NETIF_F_SOFT_FEATURES | NETIF_F_HW_CSUM | NETIF_F_SG | NETIF_F_TSO;
  const segs: Skb[] = [];
  host.ndo_start_xmit = (skb: Skb): number => {
    const f = skb.buf.subarray(skb.data, skb.data + skb.len);
    if (f[12] === 8 && f[13] === 0 && f[23] === 6) {
      const t = tcpOf(f);
      frames.push({ seq: t.seq, len: t.len, gso_size: skb.gso_size, gso_segs: skb.gso_segs, t: pair.now });
    }
    if (skb.gso_size === 0) {
      pair.carry(host, skb.buf.slice(skb.data, skb.data + skb.len));
      return NETDEV_TX_OK;
    }
    const n = skb_gso_segment(host.stack, skb, 0, segs);
    expect(n).to.be.greaterThan(0);
    for (const s of segs) {
      const b = s.buf.slice(s.data, s.data + s.len);
      expect(ipHeaderOk(b) && l4ChecksumOk(b)).to.equal(true);
      if (!lose(tcpOf(b).seq)) pair.carry(host, b);
      host.stack.pool.release(s);
    }
    return NETDEV_TX_OK;
  };
}

function connect(pair: TcpPair): { a: TcpSock; b: TcpSock; got: Uint8Array[] } {
  let b: TcpSock | null = null;
  const got: Uint8Array[] = [];
  pair.b.tcp.listen(80, (s) => {
    b = s;
    s.onData = (buf, off, len) => {
      got.push(buf.slice(off, off + len));
    };
  });
  const a = pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 80)!;
  pair.runUntil(() => b !== null && a.stateName === 'ESTABLISHED', 5000, 1);
  expect(b).to.not.equal(null);
  return { a, b: b as unknown as TcpSock, got };
}

function joined(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** write all of `data`, refilling as the send buffer drains */
function pump(pair: TcpPair, a: TcpSock, data: Uint8Array, got: Uint8Array[], limit = 20000): void {
  let off = 0;
  const done = (): boolean => joined(got).length >= data.length;
  pair.runUntil(() => {
    if (off < data.length) off += a.write(data, off);
    return done();
  }, limit, 1);
  expect(joined(got)).to.deep.equal(data);
}

describe('tcp: TSO super-frames (tcp_write_xmit, tcp_tso_segs)', () => {
  it('the first flight: frames of cwnd/2 segments (tcp_cwnd_test), within the initial cwnd of 10', () => {
    const pair = new TcpPair();
    const frames: Frame[] = [];
    tsoNic(pair, pair.a, frames);
    const { a } = connect(pair);
    frames.length = 0;
    const outSegs = pair.a.tcp.net.mib.Tcp.OutSegs;
    a.write(pattern(100000));
    const data = frames.filter((f) => f.len > 0);
    expect(data.map((f) => f.gso_segs)).to.deep.equal([5, 5]);
    expect(data.map((f) => f.len)).to.deep.equal([5 * MSS, 5 * MSS]);
    expect(data.every((f) => f.gso_size === MSS)).to.equal(true);
    expect(a.packets_out).to.equal(10);
    expect(pair.a.tcp.net.mib.Tcp.OutSegs - outSegs).to.equal(10);
  });

  it('a bulk transfer: frames grow to tcp_xmit_size_goal, every gso_segs counted in OutSegs and TCPOrigDataSent, data intact', () => {
    const pair = new TcpPair();
    const frames: Frame[] = [];
    tsoNic(pair, pair.a, frames);
    const { a, got } = connect(pair);
    frames.length = 0;
    const mib = pair.a.tcp.net.mib;
    const out0 = mib.Tcp.OutSegs;
    const orig0 = mib.TcpExt.TCPOrigDataSent;
    const data = pattern(2 << 20, 3);
    pump(pair, a, data, got);
    const dataFrames = frames.filter((f) => f.len > 0);
    const segs = dataFrames.reduce((n, f) => n + Math.max(1, f.gso_segs), 0);
    // frames cut while the writer was ahead by less than an MSS end in a short segment
    expect(segs).to.be.at.least(Math.ceil(data.length / MSS));
    expect(dataFrames.reduce((n, f) => n + f.len, 0)).to.equal(data.length);
    expect(mib.TcpExt.TCPOrigDataSent - orig0).to.equal(segs);
    // OutSegs also counts A's pure ACKs (none after the handshake in a one-way transfer) and the FIN-less end
    expect(mib.Tcp.OutSegs - out0).to.equal(segs);
    expect(mib.Tcp.RetransSegs).to.equal(0);
    const largest = Math.max(...dataFrames.map((f) => f.gso_segs));
    // sk_gso_max_size 65536 − 321 over MSS 1448 = 45 segments, unless half the peer's window is less
    const bound = Math.min(45, Math.floor(Math.floor(a.max_window / 2) / MSS));
    expect(largest).to.equal(bound);
    for (const f of dataFrames) {
      expect(f.gso_segs).to.be.at.most(bound);
      if (f.gso_segs > 1) expect(f.len).to.be.above((f.gso_segs - 1) * MSS).and.at.most(f.gso_segs * MSS);
    }
    console.log(`      ${dataFrames.length} frames for ${segs} segments, largest ${largest} segments (peer max_window ${a.max_window})`);
  });

  it('tcp_tso_autosize: 45 segments below 512 µs of min_rtt; at 10 ms and cwnd 10, tcp_min_tso_segs (2)', () => {
    const pair = new TcpPair();
    const frames: Frame[] = [];
    tsoNic(pair, pair.a, frames);
    const { a } = connect(pair);
    a.rtt.min_rtt_us = 100;
    expect(tcp_tso_segs(a, MSS)).to.equal(45);
    // pacing rate = 1448 × 200 % × 10 / 10 ms = 2.9 MB/s → 2828 bytes per ms → 1 segment → at least 2
    a.rtt.min_rtt_us = 10000;
    a.rtt.srtt_us = 8 * 10000;
    a.snd_cwnd = 10;
    expect(tcp_tso_segs(a, MSS)).to.equal(2);
    // cwnd 400 in congestion avoidance: 1448 × 120 % × 400 / 10 ms = 69.5 MB/s → 67 KB per ms → capped at 45
    a.snd_cwnd = 400;
    a.snd_ssthresh = 300;
    expect(tcp_tso_segs(a, MSS)).to.equal(45);
  });

  it('one segment lost out of a super-frame: only that segment is retransmitted (SACK), data intact', () => {
    const pair = new TcpPair();
    const frames: Frame[] = [];
    let lostSeq = -1;
    let lost = false;
    const { a, got } = (() => {
      tsoNic(pair, pair.a, frames, (seq) => {
        if (lostSeq >= 0 && seq === lostSeq && !lost) {
          lost = true;
          return true;
        }
        return false;
      });
      return connect(pair);
    })();
    // lose the third segment of the first data frame
    lostSeq = (a.snd_nxt + 2 * MSS) >>> 0;
    frames.length = 0;
    const data = pattern(300000, 5);
    pump(pair, a, data, got);
    expect(lost).to.equal(true);
    const d = (x: number, y: number): number => (x - y) | 0;
    const carrying = frames.filter((f) => f.len > 0 && d(lostSeq, f.seq) >= 0 && d(lostSeq, f.seq) < f.len);
    // first inside the first super-frame, as its third segment; then once more, alone, one MSS. New
    // data sent at the same virtual instant but before the retransmission (for an earlier ACK) is
    // SACKed first: RACK must not take that as "sent after" and mark the retransmission lost again
    expect(carrying.length).to.equal(2);
    expect(carrying[0].gso_segs).to.equal(5);
    expect(d(lostSeq, carrying[0].seq)).to.equal(2 * MSS);
    const r = carrying[1];
    expect(r.seq).to.equal(lostSeq);
    expect(r.gso_size).to.equal(0);
    expect(r.len).to.equal(MSS);
    expect(pair.a.tcp.net.mib.Tcp.RetransSegs).to.equal(1);
    expect(pair.a.tcp.net.mib.TcpExt.TCPLostRetransmit).to.equal(0);
  });

  it('a device without TSO: validate_xmit_skb hands the driver MSS frames with IPv4 IDs counting up from inet_id', () => {
    const pair = new TcpPair();
    pair.a.capture = true;
    const { a, got } = connect(pair);
    expect(pair.a.dev.features & NETIF_F_GSO).to.not.equal(0);
    pair.a.sent.length = 0;
    const data = pattern(200000, 9);
    pump(pair, a, data, got);
    const tcp = pair.a.sent.filter((f) => f[23] === 6 && tcpOf(f).len > 0);
    expect(tcp.every((f) => f.length <= 1514 && ipHeaderOk(f) && l4ChecksumOk(f))).to.equal(true);
    // the first frame of 5 segments left as IDs inet_id .. inet_id + 4 (tcp_gso_segment adds the index)
    const id0 = (tcp[0][18] << 8) | tcp[0][19];
    expect(tcp.slice(0, 5).map((f) => (((f[18] << 8) | f[19]) - id0) & 0xffff)).to.deep.equal([0, 1, 2, 3, 4]);
  });

  it('ethtool -K gso off (no NETIF_F_GSO): TCP builds one MSS per skb, each with the next inet_id', () => {
    const pair = new TcpPair();
    pair.a.dev.features &= ~NETIF_F_GSO;
    pair.a.capture = true;
    const { a, got } = connect(pair);
    pair.a.sent.length = 0;
    pump(pair, a, pattern(50000, 2), got);
    const tcp = pair.a.sent.filter((f) => f[23] === 6 && tcpOf(f).len > 0);
    const id0 = (tcp[0][18] << 8) | tcp[0][19];
    expect(tcp.every((f, i) => ((((f[18] << 8) | f[19]) - id0) & 0xffff) === i)).to.equal(true);
  });
});
