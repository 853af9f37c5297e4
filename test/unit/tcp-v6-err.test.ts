// ICMPv6 errors consumed as Linux 6.1 does (net/ipv6/icmp.c icmpv6_notify → inet6_protocol.err_handler;
// net/ipv6/tcp_ipv6.c tcp_v6_err; net/ipv6/udp.c __udp6_lib_err) in virtual time: two TCP/IP models
// over IPv6 (b the guest, a at fec0::2), ICMPv6 messages built test-side about frames a model sent.
import { expect } from 'chai';
import { parseIpv6 } from '../../kernel-model/wire/ipv6';
import type { Icmp6Err } from '../../kernel-model/ipv6/icmp_err';
import {
  ADDR_UNREACH,
  ADM_PROHIBITED,
  dropTcp6,
  established6,
  ICMP6_DEST_UNREACH,
  ICMP6_PARAMPROB,
  ICMP6_PKT_TOOBIG,
  ICMP6_TIME_EXCEED,
  icmp6About,
  isTcp6,
  NOROUTE,
  PORT_UNREACH,
  put32,
  tcp6Of,
  v6Pair,
} from './icmp6-err-frames';
import { GUEST_GLOBAL, ip6, ipv6Frame, learnedLink6 } from './ipv6-link';
import { pattern } from './tcp-pair';

const SYN = 0x02;

describe('tcp_v6_err: ICMPv6 errors about our TCP segments', () => {
  it('Packet Too Big lowers the path MTU and MSS and resends the too-big segments at once', () => {
    const r = v6Pair();
    const { b, got } = established6(r);
    expect(b.mss_cache).to.equal(1500 - 60 - 12);
    r.pair.b.capture = true;
    // a 1280-byte link somewhere: packets over 1280 bytes vanish
    dropTcp6(r.pair.b, (f) => f.length - 14 > 1280);
    const data = pattern(6000, 3);
    b.write(data);
    r.pair.advance(1);
    const big = r.pair.b.sent.filter((f) => isTcp6(f) && f.length - 14 > 1280);
    expect(big.length).to.be.greaterThan(0);
    const before = r.pair.b.sent.length;
    const mib = r.pair.b.stack.mib;
    const inPtb = mib.Icmp6.InPktTooBigs;
    r.pair.b.receive(icmp6About(big[0], ICMP6_PKT_TOOBIG, 0, 1280));
    r.pair.advance(1);
    expect(mib.Icmp6.InPktTooBigs).to.equal(inPtb + 1);
    expect(mib.Icmp6.InErrors).to.equal(0);
    expect(b.pmtu_cookie).to.equal(1280);
    expect(b.mss_cache).to.equal(1280 - 60 - 12);
    // resent within the millisecond, well before any RTO (≥ 200 ms), each packet within 1280 bytes
    const resent = r.pair.b.sent.slice(before).filter((f) => isTcp6(f) && tcp6Of(f).len > 0);
    expect(resent.length).to.be.greaterThan(0);
    expect(tcp6Of(resent[0]).seq).to.equal(tcp6Of(big[0]).seq);
    for (const f of resent) expect(f.length - 14).to.be.at.most(1280);
    r.pair.runUntil(() => Buffer.concat(got).length === data.length, 150, 1);
    expect(Buffer.compare(Buffer.concat(got), Buffer.from(data))).to.equal(0);
    expect(r.pair.sched.frame).to.be.below(300);
    expect(b.stateName).to.equal('ESTABLISHED');
  });

  it('Packet Too Big below 1280 or not lowering the MSS is ignored (6.1)', () => {
    const r = v6Pair();
    const { b } = established6(r);
    r.pair.b.capture = true;
    dropTcp6(r.pair.b, () => true);
    b.write(pattern(3000, 1));
    r.pair.advance(1);
    const seg = r.pair.b.sent.filter((f) => isTcp6(f) && tcp6Of(f).len > 0)[0];
    const mss = b.mss_cache;
    for (const mtu of [1000, 1279, 1500, 9000]) {
      r.pair.b.receive(icmp6About(seg, ICMP6_PKT_TOOBIG, 0, mtu));
      r.pair.advance(1);
      expect(b.mss_cache, `mtu ${mtu}`).to.equal(mss);
    }
    expect(b.pmtu_cookie).to.equal(1500);
    expect(r.pair.b.stack.mib.Icmp6.InPktTooBigs).to.equal(4);
  });

  it('SYN_SENT: icmpv6_err_convert codes fail the connect (port unreachable ECONNREFUSED, AttemptFails)', () => {
    for (const [type, code, err] of [
      [ICMP6_DEST_UNREACH, PORT_UNREACH, 'ECONNREFUSED'],
      [ICMP6_DEST_UNREACH, NOROUTE, 'ENETUNREACH'],
      [ICMP6_DEST_UNREACH, ADM_PROHIBITED, 'EACCES'],
      [ICMP6_DEST_UNREACH, ADDR_UNREACH, 'EHOSTUNREACH'],
      [ICMP6_DEST_UNREACH, 6, 'EACCES'],
      [ICMP6_DEST_UNREACH, 9, 'EPROTO'],
      [ICMP6_TIME_EXCEED, 0, 'EHOSTUNREACH'],
      [ICMP6_PARAMPROB, 0, 'EPROTO'],
      [77, 0, 'EPROTO'], // an error of unknown type still reaches the protocol
    ] as const) {
      const r = v6Pair();
      r.pair.b.capture = true;
      dropTcp6(r.pair.b, () => true);
      const s = r.t6b.connect(r.b6.idev, parseIpv6('fec0::2')!, 0, 8080)!;
      let closed: string | null = null;
      s.onClose = (e) => (closed = e);
      r.pair.advance(5);
      const syn = r.pair.b.sent.filter(isTcp6)[0];
      expect(tcp6Of(syn).flags).to.equal(SYN);
      r.pair.b.receive(icmp6About(syn, type, code));
      r.pair.advance(1);
      expect(s.stateName, `${type}/${code}`).to.equal('CLOSED');
      expect(closed).to.equal(err);
      expect(r.pair.b.stack.mib.Tcp.AttemptFails).to.equal(1);
      expect(r.pair.b.stack.mib.Icmp6Msg.InType[type]).to.equal(1);
    }
  });

  it('ESTABLISHED: errors are soft (the connection goes on) and a later timeout reports them', () => {
    const r = v6Pair();
    const { b, got } = established6(r);
    r.pair.b.capture = true;
    b.write(pattern(1000, 1));
    r.pair.advance(20);
    const seg = r.pair.b.sent.filter((f) => isTcp6(f) && tcp6Of(f).len > 0)[0];
    r.pair.b.receive(icmp6About(seg, ICMP6_DEST_UNREACH, PORT_UNREACH, 0, { patch: (q) => put32(q, 44, b.snd_una) }));
    r.pair.advance(1);
    expect(b.stateName).to.equal('ESTABLISHED');
    expect(b.err_soft).to.equal('ECONNREFUSED');
    expect(b.error).to.equal('');
    expect(Buffer.concat(got).length).to.equal(1000);
    dropTcp6(r.pair.b, () => true);
    b.write(pattern(500, 2));
    r.pair.advance(1);
    r.pair.b.receive(icmp6About(seg, ICMP6_DEST_UNREACH, ADDR_UNREACH, 0, { patch: (q) => put32(q, 44, b.snd_una) }));
    let closed: string | null = null;
    b.onClose = (e) => (closed = e);
    r.pair.runUntil(() => closed !== null, 1_000_000, 1000);
    expect(closed).to.equal('EHOSTUNREACH');
  });

  it('RFC 6069: no-route about snd_una during RTO backoff undoes one backoff step', () => {
    const r = v6Pair();
    const { b } = established6(r);
    r.pair.b.capture = true;
    dropTcp6(r.pair.b, () => true);
    b.write(pattern(1000, 1));
    r.pair.runUntil(() => b.backoff >= 3, 60_000, 10);
    const seg = r.pair.b.sent.filter((f) => isTcp6(f) && tcp6Of(f).len > 0)[0];
    const backoff = b.backoff;
    r.pair.b.receive(icmp6About(seg, ICMP6_DEST_UNREACH, NOROUTE));
    r.pair.advance(1);
    expect(b.backoff).to.equal(backoff - 1);
    expect(b.err_soft).to.equal('ENETUNREACH');
    // address unreachable is no RFC 6069 signal over IPv6 (only ICMPV6_NOROUTE)
    r.pair.b.receive(icmp6About(seg, ICMP6_DEST_UNREACH, ADDR_UNREACH));
    r.pair.advance(1);
    expect(b.backoff).to.equal(backoff - 1);
  });

  it('out-of-window quotes count TcpExt OutOfWindowIcmps; quotes for no socket count Icmp6 InErrors', () => {
    const r = v6Pair();
    const { b } = established6(r);
    r.pair.b.capture = true;
    b.write(pattern(2000, 1));
    r.pair.advance(20);
    const seg = r.pair.b.sent.filter((f) => isTcp6(f) && tcp6Of(f).len > 0)[0];
    const mib = r.pair.b.stack.mib;
    const mss = b.mss_cache;
    for (const seq of [(b.snd_una - 1) >>> 0, (b.snd_nxt + 1) >>> 0, (b.snd_una + 0x40000000) >>> 0]) {
      r.pair.b.receive(icmp6About(seg, ICMP6_PKT_TOOBIG, 0, 1280, { patch: (q) => put32(q, 44, seq) }));
      r.pair.b.receive(icmp6About(seg, ICMP6_DEST_UNREACH, PORT_UNREACH, 0, { patch: (q) => put32(q, 44, seq) }));
    }
    r.pair.advance(1);
    expect(mib.TcpExt.OutOfWindowIcmps).to.equal(6);
    expect(b.mss_cache).to.equal(mss);
    expect(b.err_soft).to.equal('');
    expect(mib.Icmp6.InErrors).to.equal(0);
    // another source port: no such connection
    r.pair.b.receive(icmp6About(seg, ICMP6_DEST_UNREACH, PORT_UNREACH, 0, { patch: (q) => (q[40] ^= 0x55) }));
    r.pair.advance(1);
    expect(mib.Icmp6.InErrors).to.equal(1);
    expect(b.stateName).to.equal('ESTABLISHED');
  });

  it('a passive open in SYN_RECV is removed by a fatal error (tcp_req_err) and kept for a soft one', () => {
    for (const [type, code, gone] of [
      [ICMP6_TIME_EXCEED, 0, false],
      [ICMP6_DEST_UNREACH, NOROUTE, false],
      [ICMP6_DEST_UNREACH, PORT_UNREACH, true],
      [ICMP6_PARAMPROB, 0, true],
    ] as const) {
      const r = v6Pair();
      let a: ReturnType<typeof r.t6a.lookup> = null;
      r.t6a.setForwarder((req) => (a = req.accept()));
      r.pair.a.capture = true;
      // the guest's handshake ACK never arrives
      let n = 0;
      dropTcp6(r.pair.b, () => n++ > 0);
      r.t6b.connect(r.b6.idev, parseIpv6('fec0::2')!, 0, 8080);
      r.pair.advance(5);
      expect(a).to.not.equal(null);
      const sa = a!;
      expect(sa.stateName).to.equal('SYN_RECV');
      const synack = r.pair.a.sent.filter(isTcp6)[0];
      expect(tcp6Of(synack).flags).to.equal(0x12);
      const mib = r.pair.a.stack.mib;
      r.pair.a.receive(icmp6About(synack, type, code));
      r.pair.advance(1);
      expect(sa.stateName, `${type}/${code}`).to.equal(gone ? 'CLOSED' : 'SYN_RECV');
      expect(mib.TcpExt.ListenDrops).to.equal(gone ? 1 : 0);
      expect(mib.Tcp.AttemptFails).to.equal(0);
      // a quote whose sequence is not the SYN-ACK's is out of window
      if (!gone) {
        r.pair.a.receive(icmp6About(synack, ICMP6_DEST_UNREACH, PORT_UNREACH, 0, { patch: (q) => put32(q, 44, (tcp6Of(synack).seq + 1) >>> 0) }));
        r.pair.advance(1);
        expect(mib.TcpExt.OutOfWindowIcmps).to.equal(1);
        expect(sa.stateName).to.equal('SYN_RECV');
      }
    }
  });
});

describe('udpv6_err: ICMPv6 errors about our UDP datagrams', () => {
  /** an ICMPv6 error from the guest to fec0::2 quoting a datagram fec0::2:sport → guest:dport */
  function udpErr(type: number, code: number, sport: number, dport: number, info = 0): Uint8Array {
    const udp = [sport >> 8, sport & 255, dport >> 8, dport & 255, 0, 12, 0x12, 0x34, 1, 2, 3, 4];
    const quoted = [0x60, 0, 0, 0, 0, udp.length, 17, 64, ...ip6('fec0::2'), ...ip6(GUEST_GLOBAL), ...udp];
    return ipv6Frame({ src: GUEST_GLOBAL, dst: 'fec0::2', nh: 58, payload: [type, code, 0, 0, info >>> 24, (info >>> 16) & 255, (info >>> 8) & 255, info & 255, ...quoted] });
  }

  it('a port bound with an error handler (IPV6_RECVERR) hears port unreachable as ECONNREFUSED', () => {
    const { link, inet6 } = learnedLink6();
    const heard: [number, number, boolean, number][] = [];
    expect(inet6.udpBind(5353, () => undefined, (e: Icmp6Err) => heard.push([e.type, e.errno, e.fatal, e.dport]))).to.equal(true);
    link.inject(udpErr(ICMP6_DEST_UNREACH, PORT_UNREACH, 5353, 40000));
    link.inject(udpErr(ICMP6_PKT_TOOBIG, 0, 5353, 40001, 1280));
    link.runDue();
    expect(heard).to.deep.equal([
      [ICMP6_DEST_UNREACH, 111, true, 40000],
      [ICMP6_PKT_TOOBIG, 90, false, 40001],
    ]);
    expect(link.stack.mib.Icmp6.InErrors).to.equal(0);
    expect(link.stack.mib.Icmp6.InDestUnreachs).to.equal(1);
  });

  it('no socket on the quoted source port counts Icmp6 InErrors; a socket without an error handler hears nothing', () => {
    const { link, inet6 } = learnedLink6();
    let got = 0;
    expect(inet6.udpBind(5354, () => got++)).to.equal(true);
    link.inject(udpErr(ICMP6_DEST_UNREACH, PORT_UNREACH, 5354, 40000));
    link.runDue();
    expect(link.stack.mib.Icmp6.InErrors).to.equal(0);
    link.inject(udpErr(ICMP6_DEST_UNREACH, PORT_UNREACH, 5999, 40000));
    link.runDue();
    expect(link.stack.mib.Icmp6.InErrors).to.equal(1);
    expect(link.stack.mib.Icmp6.InDestUnreachs).to.equal(2);
    expect(got).to.equal(0);
  });
});
