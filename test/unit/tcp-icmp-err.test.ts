// tcp_v4_err (net/ipv4/tcp_ipv4.c, Linux 6.1) through the ICMP error-hook registry: ICMP messages
// quoting our TCP segments reach the socket. Frag needed lowers the path MTU and retransmits at once
// (tcp_v4_mtu_reduced → tcp_sync_mss, tcp_simple_retransmit); unreachables abort SYN_SENT and are soft
// errors once established (RFC 1122 4.2.3.9) with the RFC 6069 backoff revert; requests in SYN_RECV
// go silently (tcp_req_err); out-of-window quotes and quotes for no socket are counted.
import { expect } from 'chai';
import type { TcpSock } from '../../kernel-model/tcp/sock';
import { slowChecksum } from './ipv4-link';
import { ADDR_B, TcpPair, pattern, tcpFrame, tcpOf, type Host } from './tcp-pair';

const SYN = 0x02;
const ACK = 0x10;
const DEST_UNREACH = 3;
const TIME_EXCEEDED = 11;
const NET_UNREACH = 0;
const HOST_UNREACH = 1;
const PORT_UNREACH = 3;
const FRAG_NEEDED = 4;

/** an ICMP error from `from` to `to` quoting `orig` (an Ethernet frame `to` sent): IP header + 20 bytes */
function icmpAbout(from: Host, to: Host, orig: Uint8Array, type: number, code: number, mtu = 0, patch?: (q: Uint8Array) => void): Uint8Array {
  const ihl = (orig[14] & 15) * 4;
  const quote = orig.slice(14, 14 + ihl + 20);
  if (patch) patch(quote);
  const icmp = new Uint8Array(8 + quote.length);
  icmp[0] = type;
  icmp[1] = code;
  icmp[6] = mtu >> 8;
  icmp[7] = mtu & 255;
  icmp.set(quote, 8);
  const c = slowChecksum([icmp]);
  icmp[2] = c >> 8;
  icmp[3] = c & 255;
  const tot = 20 + icmp.length;
  const f = new Uint8Array(14 + tot);
  f.set(to.dev.dev_addr, 0);
  f.set(from.dev.dev_addr, 6);
  f[12] = 8;
  const ip = 14;
  f[ip] = 0x45;
  f[ip + 2] = tot >> 8;
  f[ip + 3] = tot & 255;
  f[ip + 8] = 64;
  f[ip + 9] = 1;
  const sa = from.inet.ind.primary;
  const da = to.inet.ind.primary;
  for (let i = 0; i < 4; i++) {
    f[ip + 12 + i] = (sa >>> (24 - 8 * i)) & 255;
    f[ip + 16 + i] = (da >>> (24 - 8 * i)) & 255;
  }
  const hc = slowChecksum([f.subarray(ip, ip + 20)]);
  f[ip + 10] = hc >> 8;
  f[ip + 11] = hc & 255;
  f.set(icmp, ip + 20);
  return f;
}

function isTcp(f: Uint8Array): boolean {
  return f[12] === 8 && f[13] === 0 && f[23] === 6;
}

function established(pair: TcpPair): { a: TcpSock; b: TcpSock; got: Uint8Array[] } {
  let b: TcpSock | null = null;
  const got: Uint8Array[] = [];
  pair.b.tcp.listen(80, (s) => {
    b = s;
    s.onData = (buf, off, len) => got.push(buf.slice(off, off + len));
  });
  const a = pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 80)!;
  pair.runUntil(() => b !== null && a.stateName === 'ESTABLISHED', 2000, 1);
  pair.advance(50);
  return { a, b: b as unknown as TcpSock, got };
}

function setU32(q: Uint8Array, o: number, v: number): void {
  q[o] = v >>> 24;
  q[o + 1] = (v >>> 16) & 255;
  q[o + 2] = (v >>> 8) & 255;
  q[o + 3] = v & 255;
}

describe('tcp_v4_err: ICMP errors about our TCP segments', () => {
  it('SYN_SENT: port unreachable fails the connect with ECONNREFUSED, host unreachable with EHOSTUNREACH (AttemptFails)', () => {
    for (const [code, err] of [
      [PORT_UNREACH, 'ECONNREFUSED'],
      [HOST_UNREACH, 'EHOSTUNREACH'],
      [NET_UNREACH, 'ENETUNREACH'],
    ] as const) {
      const pair = new TcpPair();
      pair.b.blackhole = true;
      pair.a.capture = true;
      const a = pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 80)!;
      let closed: string | null = null;
      a.onClose = (e) => (closed = e);
      pair.advance(10);
      const syn = pair.a.sent.filter(isTcp)[0];
      expect(tcpOf(syn).flags).to.equal(SYN);
      pair.a.receive(icmpAbout(pair.b, pair.a, syn, DEST_UNREACH, code));
      pair.advance(1);
      expect(a.stateName).to.equal('CLOSED');
      expect(closed).to.equal(err);
      expect(pair.a.stack.mib.Tcp.AttemptFails).to.equal(1);
    }
  });

  it('ESTABLISHED: unreachables are soft errors (the connection goes on); a later timeout reports the soft error', () => {
    const pair = new TcpPair();
    const { a, got } = established(pair);
    pair.a.capture = true;
    a.write(pattern(1000, 1));
    pair.advance(50);
    const seg = pair.a.sent.filter(isTcp).find((f) => tcpOf(f).len > 0)!;
    // the quoted sequence must lie in [snd_una, snd_nxt] (the data was ACKed meanwhile)
    pair.a.receive(icmpAbout(pair.b, pair.a, seg, DEST_UNREACH, PORT_UNREACH, 0, (q) => setU32(q, 24, a.snd_una)));
    pair.advance(1);
    expect(a.stateName).to.equal('ESTABLISHED');
    expect(a.err_soft).to.equal('ECONNREFUSED');
    expect(a.error).to.equal('');
    expect(Buffer.concat(got).length).to.equal(1000);
    // the path dies: the retransmissions time out and the error is the ICMP's, not ETIMEDOUT
    pair.a.blackhole = true;
    a.write(pattern(1000, 2));
    pair.a.receive(icmpAbout(pair.b, pair.a, seg, DEST_UNREACH, HOST_UNREACH, 0, (q) => setU32(q, 24, a.snd_una)));
    pair.advance(1);
    expect(a.err_soft).to.equal('EHOSTUNREACH');
    let closed: string | null = null;
    a.onClose = (e) => (closed = e);
    pair.runUntil(() => closed !== null, 1_000_000, 1000);
    expect(closed).to.equal('EHOSTUNREACH');
  });

  it('RFC 6069: a host unreachable about snd_una during RTO backoff undoes one backoff step', () => {
    const pair = new TcpPair();
    const { a } = established(pair);
    pair.a.capture = true;
    pair.a.blackhole = true;
    a.write(pattern(1000, 1));
    pair.runUntil(() => a.backoff >= 3, 60_000, 10);
    const seg = pair.a.sent.filter(isTcp).find((f) => tcpOf(f).len > 0)!;
    const backoff = a.backoff;
    const rto = a.rto;
    pair.a.receive(icmpAbout(pair.b, pair.a, seg, DEST_UNREACH, HOST_UNREACH));
    pair.advance(1);
    expect(a.backoff).to.equal(backoff - 1);
    expect(a.rto).to.be.below(rto);
    // not about snd_una: nothing
    pair.a.receive(icmpAbout(pair.b, pair.a, seg, DEST_UNREACH, HOST_UNREACH, 0, (q) => setU32(q, 24, (a.snd_una + 1) >>> 0)));
    pair.advance(1);
    expect(a.backoff).to.equal(backoff - 1);
  });

  it('out-of-window quotes count OutOfWindowIcmps; quotes for no socket count Icmp InErrors; TIME_EXCEEDED is EHOSTUNREACH', () => {
    const pair = new TcpPair();
    const { a } = established(pair);
    pair.a.capture = true;
    a.write(pattern(100, 1));
    pair.advance(50);
    const seg = pair.a.sent.filter(isTcp).find((f) => tcpOf(f).len > 0)!;
    pair.a.receive(icmpAbout(pair.b, pair.a, seg, DEST_UNREACH, PORT_UNREACH, 0, (q) => setU32(q, 24, (a.snd_una - 100000) >>> 0)));
    pair.advance(1);
    expect(pair.a.stack.mib.TcpExt.OutOfWindowIcmps).to.equal(1);
    expect(a.err_soft).to.equal('');
    const before = pair.a.stack.mib.Icmp.InErrors;
    pair.a.receive(icmpAbout(pair.b, pair.a, seg, DEST_UNREACH, PORT_UNREACH, 0, (q) => (q[20] ^= 0x55)));
    pair.advance(1);
    expect(pair.a.stack.mib.Icmp.InErrors).to.equal(before + 1);
    pair.a.receive(icmpAbout(pair.b, pair.a, seg, TIME_EXCEEDED, 0, 0, (q) => setU32(q, 24, a.snd_una)));
    pair.advance(1);
    expect(a.err_soft).to.equal('EHOSTUNREACH');
    expect(a.stateName).to.equal('ESTABLISHED');
  });

  it('SYN_RECV (a request): net/host unreachable removes it silently (ListenDrops); port unreachable is ignored; a wrong seq counts', () => {
    const pair = new TcpPair();
    pair.a.blackhole = true; // the "client" is frames only
    const l = pair.b.tcp.listen(80, () => undefined)!;
    pair.b.capture = true;
    pair.b.receive(tcpFrame(pair.a, pair.b, { sport: 40000, dport: 80, seq: 100, ack: 0, flags: SYN }));
    pair.advance(10);
    const synack = pair.b.sent.filter(isTcp)[0];
    expect(tcpOf(synack).flags).to.equal(SYN | ACK);
    expect(l.synQueue).to.equal(1);
    pair.b.receive(icmpAbout(pair.a, pair.b, synack, DEST_UNREACH, PORT_UNREACH));
    pair.advance(1);
    expect(l.synQueue).to.equal(1);
    pair.b.receive(icmpAbout(pair.a, pair.b, synack, DEST_UNREACH, HOST_UNREACH, 0, (q) => setU32(q, 24, 5)));
    pair.advance(1);
    expect(pair.b.stack.mib.TcpExt.OutOfWindowIcmps).to.equal(1);
    expect(l.synQueue).to.equal(1);
    pair.b.receive(icmpAbout(pair.a, pair.b, synack, DEST_UNREACH, HOST_UNREACH));
    pair.advance(1);
    expect(l.synQueue).to.equal(0);
    expect(pair.b.tcp.sockets().length).to.equal(0);
    expect(pair.b.stack.mib.TcpExt.ListenDrops).to.equal(1);
    expect(pair.b.stack.mib.Tcp.AttemptFails).to.equal(0);
  });

  it('frag needed: the PMTU drops, the MSS follows and the too-big segments go again at once (no RTO)', () => {
    const pair = new TcpPair();
    const { a, got } = established(pair);
    expect(a.mss_cache).to.equal(1448);
    // a router on the path with MTU 1000: bigger frames die there and it says so
    let icmps = 0;
    pair.a.outFilter = (f) => {
      if (!isTcp(f) || f.length - 14 <= 1000) return true;
      icmps++;
      pair.sched.schedule(() => pair.a.receive(icmpAbout(pair.b, pair.a, f, DEST_UNREACH, FRAG_NEEDED, 1000)), 1);
      return false;
    };
    const data = pattern(100_000, 4);
    let off = 0;
    const go = () => {
      while (off < data.length) {
        const n = a.write(data, off, data.length - off);
        if (n <= 0) return;
        off += n;
      }
    };
    a.onDrain = go;
    go();
    pair.runUntil(() => Buffer.concat(got).length === data.length, 2000, 5);
    expect(Buffer.concat(got).equals(Buffer.from(data))).to.equal(true);
    expect(icmps).to.be.greaterThan(0);
    expect(a.pmtu_cookie).to.equal(1000);
    expect(a.mss_cache).to.equal(1000 - 40 - 12);
    expect(pair.a.stack.mib.TcpExt.TCPTimeouts, 'retransmitted by tcp_simple_retransmit, not the RTO').to.equal(0);
    expect(a.err_soft).to.equal('');
    // an MTU below min_pmtu is floored at 552 and leaves the soft error EMSGSIZE
    pair.a.capture = true;
    a.write(pattern(10, 5));
    pair.advance(20);
    const seg = pair.a.sent.filter(isTcp).find((f) => tcpOf(f).len > 0)!;
    pair.a.receive(icmpAbout(pair.b, pair.a, seg, DEST_UNREACH, FRAG_NEEDED, 300, (q) => setU32(q, 24, a.snd_una)));
    pair.advance(1);
    expect(a.pmtu_cookie).to.equal(552);
    expect(a.mss_cache).to.equal(552 - 40 - 12);
    expect(a.err_soft).to.equal('EMSGSIZE');
    // a larger MTU never raises it
    pair.a.receive(icmpAbout(pair.b, pair.a, seg, DEST_UNREACH, FRAG_NEEDED, 1400, (q) => setU32(q, 24, a.snd_una)));
    pair.advance(1);
    expect(a.pmtu_cookie).to.equal(552);
  });
});
