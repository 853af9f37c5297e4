// IPv6 receive through a real NetStack: echo replies, ipv6_rcv's header checks, extension headers
// walked with bounds (hop-by-hop, destination options, routing, fragment) and RFC 8200's unknown-option
// and unknown-header rules, UDPv6 (checksum, port unreachable, Linux's ICMPv6 rate limit), checksum
// offload (ip_summed) and the /proc/net/snmp6 counters. Hostile frames are counted and dropped.
import { expect } from 'chai';
import { CHECKSUM_UNNECESSARY } from '../../kernel-model/core/skb';
import { MIB_LAYOUT_6_12, mib6_list, snmp6_seq_show } from '../../kernel-model/core/mib';
import {
  GUEST_GLOBAL,
  GUEST_LL,
  MODEL_LL,
  csumOk6,
  echo6,
  full,
  icmp6Type,
  ip6,
  ip6At,
  ipv6Frame,
  learnedLink6,
  toHex,
  u16,
  u32,
} from './ipv6-link';

const DATA = Array.from({ length: 56 }, (_, i) => (i * 7) & 255);

function udp6(o: { dport: number; data?: number[]; zeroCsum?: boolean; dst?: string }): Uint8Array {
  const d = o.data ?? [1, 2, 3];
  const l = 8 + d.length;
  return ipv6Frame({ src: GUEST_GLOBAL, dst: o.dst ?? 'fec0::2', nh: 17, csumAt: o.zeroCsum ? -1 : 6, payload: [0xc0, 0x01, o.dport >> 8, o.dport & 255, l >> 8, l & 255, 0, 0, ...d] });
}

/** a frame with extension headers before an ICMPv6 echo request; `chain` = [[type, ...bytes], …] */
function withExt(first: number, ext: number[], opts: { dst?: string; dstMac?: string } = {}): Uint8Array {
  const echo = [128, 0, 0, 0, 0, 9, 0, 1, 0xaa, 0xbb];
  return ipv6Frame({ src: GUEST_GLOBAL, dst: opts.dst ?? 'fec0::2', dstMac: opts.dstMac, nh: first, payload: [...ext, ...echo], csumAt: 2, upperProto: 58, upperAt: ext.length });
}

describe('IPv6 input and ICMPv6', () => {
  it('replies to an echo request: same id/seq/data/code, from the pinged address, traffic class reflected, hop limit 64', () => {
    const l = learnedLink6();
    const m = l.link.stack.mib;
    const before = { out: m.Ip6.OutRequests, rx: m.Ip6.InReceives };
    l.link.inject(echo6({ id: 0x1234, seq: 9, data: DATA, tclass: 0xb8 }));
    const out = l.link.take();
    expect(out.length).to.equal(1);
    const f = out[0];
    expect(icmp6Type(f)).to.equal(129);
    expect([f[14] >> 4, ((f[14] & 15) << 4) | (f[15] >> 4), u16(f, 18), f[21]]).to.deep.equal([6, 0xb8, 8 + 56, 64]);
    expect(u32(f, 14) & 0xfffff, 'auto flow label').to.not.equal(0);
    expect([ip6At(f, 22), ip6At(f, 38)]).to.deep.equal([full('fec0::2'), full(GUEST_GLOBAL)]);
    expect([f[55], u16(f, 58), u16(f, 60)]).to.deep.equal([0, 0x1234, 9]);
    expect(toHex(f, 62)).to.equal(toHex(Uint8Array.from(DATA)));
    expect(csumOk6(f)).to.equal(true);
    expect([m.Ip6.InReceives - before.rx, m.Icmp6.InEchos, m.Icmp6.OutEchoReplies, m.Ip6.OutRequests - before.out]).to.deep.equal([1, 1, 1, 1]);
    // the DNS address answers from itself; a link-local ping from the link-local address
    l.link.inject(echo6({ dst: 'fec0::3', id: 1, seq: 1, data: [] }));
    l.link.inject(echo6({ src: GUEST_LL, dst: MODEL_LL, id: 1, seq: 2, data: [] }));
    const two = l.link.take();
    expect(two.map((x) => ip6At(x, 22))).to.deep.equal([full('fec0::3'), full(MODEL_LL)]);
  });

  it('answers a ping to all-nodes from its own address, not from the group', () => {
    const l = learnedLink6();
    l.link.inject(echo6({ src: GUEST_LL, dst: 'ff02::1', dstMac: '33:33:00:00:00:01', id: 1, seq: 1, data: [] }));
    const f = l.link.take()[0];
    expect([icmp6Type(f), ip6At(f, 22), ip6At(f, 38)]).to.deep.equal([129, full(MODEL_LL), full(GUEST_LL)]);
  });

  it('counts bad ICMPv6 checksums (Icmp6InCsumErrors + InErrors) unless the device validated them (CHECKSUM_UNNECESSARY)', () => {
    const l = learnedLink6();
    const bad = echo6({ id: 1, seq: 1, data: [5, 5] });
    bad[56] ^= 0x55;
    l.link.inject(bad);
    expect(l.link.take().length).to.equal(0);
    expect([l.link.stack.mib.Icmp6.InCsumErrors, l.link.stack.mib.Icmp6.InErrors]).to.deep.equal([1, 1]);
    l.link.rxHook = (skb) => {
      skb.ip_summed = CHECKSUM_UNNECESSARY;
    };
    l.link.inject(bad);
    expect(l.link.take().map(icmp6Type)).to.deep.equal([129]);
  });

  it('drops truncated headers, wrong versions, lying payload lengths, multicast sources (InHdrErrors / InTruncatedPkts) and trims padding', () => {
    const l = learnedLink6();
    const m = l.link.stack.mib;
    const e = echo6({ id: 1, seq: 1, data: [1, 2, 3, 4] });
    l.link.inject(e.slice(0, 14 + 30)); // 30 bytes of IPv6 header
    const v4 = e.slice();
    v4[14] = 0x40;
    l.link.inject(v4);
    const lie = e.slice();
    lie[19] += 20; // payload length 20 bytes beyond the frame
    l.link.inject(lie);
    l.link.inject(ipv6Frame({ src: 'ff02::1', dst: 'fec0::2', nh: 58, payload: [128, 0, 0, 0, 0, 0, 0, 0] }));
    l.link.inject(ipv6Frame({ src: GUEST_GLOBAL, dst: 'ff01::1', dstMac: '33:33:00:00:00:01', nh: 58, payload: [128, 0, 0, 0, 0, 0, 0, 0] }));
    l.link.inject(ipv6Frame({ src: '::1', dst: 'fec0::2', nh: 58, payload: [128, 0, 0, 0, 0, 0, 0, 0] }));
    expect(l.link.take().length).to.equal(0);
    expect([m.Ip6.InHdrErrors, m.Ip6.InTruncatedPkts]).to.deep.equal([5, 1]);
    // Ethernet padding after a short packet is not part of it
    const padded = new Uint8Array(e.length + 12);
    padded.set(e);
    padded.fill(0xee, e.length);
    l.link.inject(padded);
    expect(l.link.take().map(icmp6Type)).to.deep.equal([129]);
    expect(l.link.stack.exceptions).to.equal(0);
  });

  it('walks hop-by-hop (router alert + PadN), destination options and atomic fragments to the upper layer', () => {
    const l = learnedLink6();
    const m = l.link.stack.mib;
    // HBH: next=DEST, len 0: router alert (5, 2, 0, 0) + PadN(1, 0)
    const hbh = [60, 0, 5, 2, 0, 0, 1, 0];
    // DEST: next=FRAGMENT, len 0: PadN(1, 4, 0,0,0,0)
    const dst = [44, 0, 1, 4, 0, 0, 0, 0];
    // atomic fragment: next=ICMPv6, offset 0, M=0
    const frag = [58, 0, 0, 0, 0x12, 0x34, 0x56, 0x78];
    l.link.inject(withExt(0, [...hbh, ...dst, ...frag]));
    expect(l.link.take().map(icmp6Type)).to.deep.equal([129]);
    expect([m.Ip6.ReasmReqds, m.Ip6.ReasmOKs, m.Ip6.InHdrErrors, m.Ip6.InDelivers]).to.deep.equal([1, 1, 0, 3]);
  });

  it('drops a header chain that runs past the end (InHdrErrors), with no reply', () => {
    const l = learnedLink6();
    const m = l.link.stack.mib;
    // destination options claiming 8 × 9 = 72 bytes, with 18 bytes left
    l.link.inject(withExt(60, [58, 8, 1, 4, 0, 0, 0, 0]));
    // hop-by-hop of 8 bytes with only 6 in the packet
    l.link.inject(ipv6Frame({ src: GUEST_GLOBAL, dst: 'fec0::2', nh: 0, payload: [58, 0, 1, 2, 0, 0], csumAt: -1 }));
    // an option whose length runs past its header
    l.link.inject(withExt(60, [58, 0, 0x3e, 9, 0, 0, 0, 0]));
    // PadN with non-zero padding (RFC 4942)
    l.link.inject(withExt(60, [58, 0, 1, 4, 0, 1, 0, 0]));
    expect(l.link.take().length).to.equal(0);
    expect(m.Ip6.InHdrErrors).to.equal(4);
    expect(m.Icmp6.InMsgs).to.equal(2 /* the NSs of learnedLink6() */);
  });

  it('acts on unknown options by their high bits: skip (00), drop (01), Parameter Problem code 2 (10, 11)', () => {
    const l = learnedLink6();
    const m = l.link.stack.mib;
    l.link.inject(withExt(60, [58, 0, 0x1e, 2, 0, 0, 1, 0])); // 00: skipped, delivered
    expect(l.link.take().map(icmp6Type)).to.deep.equal([129]);
    l.link.inject(withExt(60, [58, 0, 0x5e, 2, 0, 0, 1, 0])); // 01: silently dropped
    expect(l.link.take().length).to.equal(0);
    l.link.inject(withExt(60, [58, 0, 0x9e, 2, 0, 0, 1, 0])); // 10: parameter problem
    const pp = l.link.take();
    expect(pp.length).to.equal(1);
    const f = pp[0];
    expect([icmp6Type(f), f[55], u32(f, 58)]).to.deep.equal([4, 2, 42]);
    expect(ip6At(f, 22 + 40 + 8 - 14 + 14)).to.equal(full(GUEST_GLOBAL)); // quoted packet's source
    expect(csumOk6(f)).to.equal(true);
    // 11 to a multicast destination: dropped without ICMP; 10 to multicast: ICMP from our address
    l.link.inject(withExt(60, [58, 0, 0xde, 2, 0, 0, 1, 0], { dst: 'ff02::1', dstMac: '33:33:00:00:00:01' }));
    expect(l.link.take().length).to.equal(0);
    l.link.inject(withExt(60, [58, 0, 0x9e, 2, 0, 0, 1, 0], { dst: 'ff02::1', dstMac: '33:33:00:00:00:01' }));
    const mc = l.link.take();
    expect(mc.map(icmp6Type)).to.deep.equal([4]);
    expect(ip6At(mc[0], 22)).to.equal(full('fec0::2'));
    expect(m.Icmp6.OutParmProblems).to.equal(2);
  });

  it('answers unknown next headers and a late hop-by-hop header with Parameter Problem code 1 (InUnknownProtos)', () => {
    const l = learnedLink6();
    const m = l.link.stack.mib;
    l.link.inject(ipv6Frame({ src: GUEST_GLOBAL, dst: 'fec0::2', nh: 253, payload: [0, 0, 0, 0], csumAt: -1 }));
    l.link.inject(withExt(60, [0, 0, 1, 4, 0, 0, 0, 0, 58, 0, 1, 4, 0, 0, 0, 0]));
    const out = l.link.take();
    expect(out.map((f) => [icmp6Type(f), f[55], u32(f, 58)])).to.deep.equal([
      [4, 1, 6],
      [4, 1, 40],
    ]);
    expect(m.Ip6.InUnknownProtos).to.equal(2);
  });

  it('rejects routing headers with segments left (Parameter Problem code 0 at the type) and passes segments left 0', () => {
    const l = learnedLink6();
    const m = l.link.stack.mib;
    l.link.inject(withExt(43, [58, 2, 0, 1, 0, 0, 0, 0, ...ip6('fec0::9')]));
    const f = l.link.take()[0];
    expect([icmp6Type(f), f[55], u32(f, 58)]).to.deep.equal([4, 0, 42]);
    expect(m.Ip6.InHdrErrors).to.equal(1);
    l.link.inject(withExt(43, [58, 2, 0, 0, 0, 0, 0, 0, ...ip6('fec0::9')]));
    expect(l.link.take().map(icmp6Type)).to.deep.equal([129]);
  });

  it('queues real fragments (a non-last one not a multiple of 8 gets Parameter Problem); an incomplete first fragment gets code 3', () => {
    const l = learnedLink6();
    const m = l.link.stack.mib;
    l.link.inject(withExt(44, [58, 0, 0, 1, 0, 0, 0, 1])); // offset 0, M=1, 10 bytes: not a multiple of 8
    expect(l.link.take().map((f) => [icmp6Type(f), f[55], u32(f, 58)])).to.deep.equal([[4, 0, 4]]);
    l.link.inject(withExt(44, [58, 0, 0, 8, 0, 0, 0, 1])); // offset 8, M=0: queued, waiting for the rest
    expect(l.link.take().length).to.equal(0);
    expect([m.Ip6.ReasmReqds, m.Ip6.ReasmFails, m.Ip6.ReasmOKs]).to.deep.equal([2, 0, 0]);
    // first fragment whose destination options header is cut off
    l.link.inject(ipv6Frame({ src: GUEST_GLOBAL, dst: 'fec0::2', nh: 44, payload: [60, 0, 0, 1, 0, 0, 0, 2, 58, 4, 1, 0], csumAt: -1 }));
    const f = l.link.take()[0];
    expect([icmp6Type(f), f[55], u32(f, 58)]).to.deep.equal([4, 3, 0]);
  });

  it('sends Time Exceeded for hop limit 1 to another address and counts the rest as InAddrErrors', () => {
    const l = learnedLink6();
    const m = l.link.stack.mib;
    l.link.inject(echo6({ dst: '2001:db8::1', hopLimit: 1, id: 1, seq: 1, data: [] }));
    l.link.inject(echo6({ dst: '2001:db8::1', hopLimit: 64, id: 1, seq: 2, data: [] }));
    const out = l.link.take();
    expect(out.map((f) => [icmp6Type(f), f[55]])).to.deep.equal([[3, 0]]);
    expect(ip6At(out[0], 22)).to.equal(full('fec0::2'));
    expect([m.Ip6.InHdrErrors, m.Ip6.InAddrErrors, m.Icmp6.OutTimeExcds]).to.deep.equal([1, 1, 1]);
  });

  it('UDPv6: port unreachable for closed ports, zero and bad checksums counted, short datagrams counted', () => {
    const l = learnedLink6();
    const m = l.link.stack.mib;
    l.link.inject(udp6({ dport: 9999 }));
    const f = l.link.take()[0];
    expect([icmp6Type(f), f[55], u16(f, 18)]).to.deep.equal([1, 4, 8 + 40 + 11]);
    expect(m.Udp6.NoPorts).to.equal(1);
    l.link.inject(udp6({ dport: 9999, zeroCsum: true }));
    const bad = udp6({ dport: 9999 });
    bad[60] ^= 1;
    l.link.inject(bad);
    const short = udp6({ dport: 9999 });
    short[58] = 0;
    short[59] = 40; // UDP length beyond the packet
    l.link.inject(short);
    expect(l.link.take().length).to.equal(0);
    expect([m.Udp6.InCsumErrors, m.Udp6.InErrors, m.Udp6.NoPorts]).to.deep.equal([2, 3, 1]);
    // a bound port receives the payload
    let got = '';
    expect(l.inet6.udpBind(5353, (skb) => (got = toHex(skb.buf, skb.data, skb.len)))).to.equal(true);
    l.link.inject(udp6({ dport: 5353, data: [9, 8, 7] }));
    expect([got, m.Udp6.InDatagrams]).to.deep.equal(['090807', 1]);
  });

  it('rate-limits errors per peer as Linux (6-message burst, one per 250 ms on a /64 route): Icmp6OutRateLimitHost', () => {
    const l = learnedLink6();
    const m = l.link.stack.mib;
    for (let i = 0; i < 10; i++) l.link.inject(udp6({ dport: 9000 + i }));
    expect(l.link.take().length).to.equal(6);
    expect([m.Udp6.NoPorts, m.Icmp6.OutRateLimitHost, m.Icmp6.OutDestUnreachs]).to.deep.equal([10, 4, 6]);
    l.link.advance(250);
    l.link.inject(udp6({ dport: 1 }));
    l.link.inject(udp6({ dport: 2 }));
    expect(l.link.take().length).to.equal(1);
    // echo replies are informational: never limited
    for (let i = 0; i < 20; i++) l.link.inject(echo6({ id: 1, seq: i, data: [] }));
    expect(l.link.take().length).to.equal(20);
  });

  it('prints /proc/net/snmp6 with Linux names', () => {
    const l = learnedLink6();
    l.link.inject(echo6({ id: 1, seq: 1, data: [] }));
    const text = snmp6_seq_show(l.link.stack.mib);
    expect(text.split('\n')[0]).to.match(/^Ip6InReceives {19}\t3$/);
    // Ip6OutTransmits: counted always, listed by the 6.12 layout only (the default is 6.1's)
    expect(text).to.not.contain('Ip6OutTransmits');
    expect(snmp6_seq_show(l.link.stack.mib, MIB_LAYOUT_6_12)).to.match(/^Ip6OutTransmits {17}\t\d+$/m);
    for (const name of ['Ip6InHdrErrors', 'Ip6InDelivers', 'Icmp6InMsgs', 'Icmp6OutRateLimitHost', 'Icmp6InEchos', 'Icmp6OutEchoReplies', 'Icmp6InNeighborSolicits', 'Icmp6OutRouterAdvertisements', 'Icmp6InType128', 'Icmp6OutType134', 'Udp6InDatagrams', 'UdpLite6MemErrors'])
      expect(text).to.contain(name);
    const list = mib6_list(l.link.stack.mib);
    expect(list.find((e) => e.nstat === 'Icmp6InEchos')!.value).to.equal(1);
    expect(list.find((e) => e.nstat === 'Icmp6InType128')!.value).to.equal(1);
  });
});
