// The active open's PAWS check on the SYN-ACK (tcp_input.c tcp_rcv_synsent_state_process): the
// SYN-ACK's TSecr, less our TS offset, must lie between retrans_stamp — the first SYN's time, which
// tcp_connect sets before the SYN is transmitted — and now; else PAWSActiveRejected and a RST
// (reset_and_undo). In virtual time: a clock that moves while the SYN is being sent (a slow first
// send, as a cold JIT made in the real-time bench) must not fail the handshake.
import { expect } from 'chai';
import { VirtualTimeScheduler } from 'rxjs';
import type { TcpSock } from '../../kernel-model/tcp/sock';
import { ADDR_B, TcpPair, tcpFrame, tcpOf } from './tcp-pair';

/** a virtual clock that can jump ahead inside an action ("this send took `ms`") */
class SkewScheduler extends VirtualTimeScheduler {
  skew = 0;
  constructor() {
    super(undefined, Number.POSITIVE_INFINITY);
    this.now = () => this.frame + this.skew;
  }
}

const isTcp = (f: Uint8Array): boolean => f[12] === 8 && f[13] === 0 && f[23] === 6;
const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;

describe('tcp: the SYN-ACK PAWS check against the first SYN time (retrans_stamp)', () => {
  it('the clock moves 5 ms while the SYN is sent and the link delivers at once: the handshake completes, no PAWSActive', () => {
    const sched = new SkewScheduler();
    const pair = new TcpPair({ sched, faults: { drop: 0, dup: 0, delay: 0, jitter: 0 } });
    // A's driver takes 5 ms over the SYN, then hands it on (the peer runs in the same instant)
    const xmit = pair.a.ndo_start_xmit.bind(pair.a);
    let slowed = 0;
    pair.a.ndo_start_xmit = (skb) => {
      const f = skb.buf.subarray(skb.data, skb.data + skb.len);
      if (isTcp(f) && tcpOf(f).flags === SYN && tcpOf(f).dport === 80) {
        sched.skew += 5;
        slowed++;
      }
      return xmit(skb);
    };
    let server: TcpSock | null = null;
    pair.b.tcp.listen(80, (s) => {
      server = s;
    });
    // resolve ARP first (a refused connect), so the SYN below leaves inside tcp_connect's send
    pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 81);
    pair.advance(10);
    const t0 = sched.now();
    const a = pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 80)!;
    // the SYN went out synchronously, and the clock moved 5 ms during its send
    expect(slowed).to.equal(1);
    expect(sched.now() - t0).to.equal(5);
    pair.runUntil(() => a.stateName === 'ESTABLISHED' && server !== null, 100, 1);
    expect(slowed).to.equal(1);
    expect(a.stateName).to.equal('ESTABLISHED');
    expect(server).to.not.equal(null);
    expect(pair.a.tcp.net.mib.TcpExt.PAWSActive).to.equal(0);
    expect(pair.a.tcp.net.mib.Tcp.RetransSegs).to.equal(0);
    // the SYN's TSval was taken at t0 and the handshake RTT covers the slow send
    expect(a.rtt.srtt_us / 8).to.be.at.least(5000);
    // and data flows
    let got = 0;
    (server as unknown as TcpSock).onData = (_b, _o, len) => {
      got += len;
    };
    a.write(new Uint8Array(3000).fill(7));
    pair.runUntil(() => got === 3000, 100, 1);
    expect(got).to.equal(3000);
  });

  for (const [what, ecrOf] of [
    ['before the first SYN', (tsval: number) => (tsval - 10) >>> 0],
    ['in the future', (tsval: number) => (tsval + 1000) >>> 0],
  ] as const) {
    it(`a SYN-ACK whose TSecr is ${what}: PAWSActive, a RST at its ACK number, the socket stays in SYN_SENT`, () => {
      const pair = new TcpPair();
      const fromA: Uint8Array[] = [];
      // B's own TCP stays out of it (it would RST the SYN); ARP crosses
      pair.a.outFilter = (f) => {
        if (!isTcp(f)) return true;
        fromA.push(f);
        return false;
      };
      pair.advance(10);
      const a = pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 80)!;
      pair.advance(10);
      const syn = fromA.map(tcpOf).find((t) => t.flags === SYN)!;
      expect(syn.tsval).to.be.greaterThan(-1);
      fromA.length = 0;
      const isnB = 0x5000_0000;
      const ack = (syn.seq + 1) >>> 0;
      // MSS 1460, SACK_PERM, TS (tsval 777, tsecr as chosen), WS 7 — Linux's layout
      const e = ecrOf(syn.tsval);
      const ts = [0, 0, 3, 9, (e >>> 24) & 255, (e >>> 16) & 255, (e >>> 8) & 255, e & 255];
      const opts = [2, 4, 5, 0xb4, 4, 2, 8, 10, ...ts, 1, 3, 3, 7];
      pair.a.receive(tcpFrame(pair.b, pair.a, { sport: 80, dport: a.sport, seq: isnB, ack, flags: SYN | ACK, opts }));
      pair.advance(1);
      expect(pair.a.tcp.net.mib.TcpExt.PAWSActive).to.equal(1);
      expect(a.stateName).to.equal('SYN_SENT');
      const rst = fromA.map(tcpOf).find((t) => t.flags & RST);
      expect(rst, 'RST').to.not.equal(undefined);
      expect(rst!.seq).to.equal(ack);
      // a SYN-ACK echoing the SYN's TSval is then accepted
      const good = syn.tsval;
      const ts2 = [0, 0, 3, 10, (good >>> 24) & 255, (good >>> 16) & 255, (good >>> 8) & 255, good & 255];
      pair.a.receive(tcpFrame(pair.b, pair.a, { sport: 80, dport: a.sport, seq: isnB, ack, flags: SYN | ACK, opts: [2, 4, 5, 0xb4, 4, 2, 8, 10, ...ts2, 1, 3, 3, 7] }));
      pair.advance(1);
      expect(a.stateName).to.equal('ESTABLISHED');
      expect(pair.a.tcp.net.mib.TcpExt.PAWSActive).to.equal(1);
    });
  }
});
