// ICMP through the NetStack: echo replies (content and counters), timestamp replies, the broadcast and
// checksum rules of icmp_rcv, port unreachable generation and Linux's per-peer and global rate limits.
import { expect } from 'chai';
import { defaultInetConfig } from '../../kernel-model/ipv4/config';
import { TestLink, arpFrame, dotted, echoRequest, ipHeaderOk, ipv4Frame, macAt, slowChecksum, toHex, u16, u32, udpFrame } from './ipv4-link';

/** a link whose model already knows the guest (the guest ARPed for its gateway first, as it would) */
function learned(link = new TestLink()): TestLink {
  link.inject(arpFrame({ op: 1, spa: '10.0.2.15', tpa: '10.0.2.2' }));
  link.take();
  return link;
}

const PING_DATA = Array.from({ length: 56 }, (_, i) => (i + 0x10) & 255);

describe('ICMP', () => {
  it('replies to an echo request with the same id, sequence and data, from the pinged address, without DF', () => {
    const link = learned();
    const req = echoRequest({ id: 0x0c1d, seq: 7, data: PING_DATA });
    req[15] = 0x10; // TOS of the request is reflected
    req[24] = req[25] = 0;
    const hc = slowChecksum([req.subarray(14, 34)]);
    req[24] = hc >> 8;
    req[25] = hc & 255;
    link.inject(req);
    const out = link.take();
    expect(out.length).to.equal(1);
    const f = out[0];
    expect([macAt(f, 0), macAt(f, 6), u16(f, 12)]).to.deep.equal(['52:54:00:12:34:56', '52:55:0a:00:02:02', 0x0800]);
    expect(f.length).to.equal(14 + 20 + 8 + 56);
    expect([f[14], f[15], u16(f, 16), u16(f, 20), f[22], f[23]]).to.deep.equal([0x45, 0x10, 84, 0, 64, 1]);
    expect([dotted(f, 26), dotted(f, 30)]).to.deep.equal(['10.0.2.2', '10.0.2.15']);
    expect(ipHeaderOk(f)).to.equal(true);
    expect([f[34], f[35], u16(f, 38), u16(f, 40)]).to.deep.equal([0, 0, 0x0c1d, 7]);
    expect(slowChecksum([f.subarray(34)])).to.equal(0);
    expect(toHex(f, 42)).to.equal(toHex(req, 42));
    const m = link.stack.mib;
    expect([m.Icmp.InMsgs, m.Icmp.InEchos, m.Icmp.OutMsgs, m.Icmp.OutEchoReps, m.IcmpMsg.InType[8], m.IcmpMsg.OutType[0]]).to.deep.equal([1, 1, 1, 1, 1, 1]);
    expect([m.Ip.InReceives, m.Ip.InDelivers, m.Ip.OutRequests, m.Ip.OutTransmits]).to.deep.equal([1, 1, 1, 1]);
  });

  it('answers pings to the DNS address from the DNS address and copies the request code', () => {
    const link = learned();
    const req = echoRequest({ dst: '10.0.2.3', id: 1, seq: 1, data: [1, 2, 3] });
    req[35] = 5; // non-zero code: Linux copies the header and only changes the type
    req[36] = req[37] = 0;
    const c = slowChecksum([req.subarray(34)]);
    req[36] = c >> 8;
    req[37] = c & 255;
    link.inject(req);
    const f = link.take()[0];
    expect([dotted(f, 26), f[34], f[35]]).to.deep.equal(['10.0.2.3', 0, 5]);
    expect(slowChecksum([f.subarray(34)])).to.equal(0);
  });

  it('ignores echo requests to broadcast addresses (icmp_echo_ignore_broadcasts) and counts InErrors', () => {
    const link = learned();
    link.inject(echoRequest({ dstMac: 'ff:ff:ff:ff:ff:ff', dst: '10.0.2.255', id: 1, seq: 1, data: [] }));
    link.inject(echoRequest({ dstMac: 'ff:ff:ff:ff:ff:ff', dst: '255.255.255.255', id: 1, seq: 2, data: [] }));
    link.inject(echoRequest({ dstMac: '01:00:5e:00:00:01', dst: '224.0.0.1', id: 1, seq: 3, data: [] }));
    expect(link.take().length).to.equal(0);
    expect(link.stack.mib.Icmp.InErrors).to.equal(3);
    expect(link.stack.mib.IcmpMsg.InType[8]).to.equal(3);
    expect(link.stack.mib.IpExt.InBcastPkts).to.equal(2);
    expect(link.stack.mib.IpExt.InMcastPkts).to.equal(1);
  });

  it('drops bad checksums (InCsumErrors + InErrors), short messages and unknown types (InErrors)', () => {
    const link = learned();
    const bad = echoRequest({ id: 1, seq: 1, data: [9, 9] });
    bad[36] ^= 0xff;
    link.inject(bad);
    link.inject(ipv4Frame({ src: '10.0.2.15', dst: '10.0.2.2', proto: 1, payload: [8, 0, 0xf7, 0xff] })); // 4 bytes, valid sum
    link.inject(ipv4Frame({ src: '10.0.2.15', dst: '10.0.2.2', proto: 1, payload: [200, 0, 0, 0, 0, 0, 0, 0] }));
    expect(link.take().length).to.equal(0);
    const m = link.stack.mib;
    expect([m.Icmp.InMsgs, m.Icmp.InCsumErrors, m.Icmp.InErrors, m.IcmpMsg.InType[200]]).to.deep.equal([3, 1, 3, 1]);
  });

  it('answers a timestamp request with originate copied and receive/transmit in ms since midnight', () => {
    const link = learned();
    link.advance(123_456);
    link.inject(ipv4Frame({ src: '10.0.2.15', dst: '10.0.2.2', proto: 1, payload: [13, 0, 0, 0, 0, 9, 0, 1, 0, 0, 0x30, 0x39, 0, 0, 0, 0, 0, 0, 0, 0] }));
    const f = link.take()[0];
    expect([f[34], f[35], u16(f, 38), u16(f, 40), u32(f, 42), u32(f, 46), u32(f, 50)]).to.deep.equal([14, 0, 9, 1, 12345, 123_456, 123_456]);
    expect(slowChecksum([f.subarray(34)])).to.equal(0);
  });

  it('sends port unreachable for UDP to a closed port: TOS 0xc0, source = the address used, the datagram quoted', () => {
    const link = learned();
    const probe = udpFrame({ src: '10.0.2.15', dst: '10.0.2.3', sport: 40000, dport: 9999, data: [1, 2, 3, 4, 5] });
    link.inject(probe);
    const out = link.take();
    expect(out.length).to.equal(1);
    const f = out[0];
    expect([f[15], f[22], u16(f, 20), dotted(f, 26), dotted(f, 30)]).to.deep.equal([0xc0, 64, 0, '10.0.2.3', '10.0.2.15']);
    expect([f[34], f[35], u32(f, 38)]).to.deep.equal([3, 3, 0]);
    expect(toHex(f, 42)).to.equal(toHex(probe, 14));
    expect(slowChecksum([f.subarray(34)])).to.equal(0);
    expect(ipHeaderOk(f)).to.equal(true);
    expect(link.stack.mib.Udp.NoPorts).to.equal(1);
    expect(link.stack.mib.Icmp.OutDestUnreachs).to.equal(1);
  });

  it('quotes at most 576 bytes of IP in an error', () => {
    const link = learned();
    link.inject(udpFrame({ src: '10.0.2.15', dst: '10.0.2.2', sport: 1, dport: 9, data: new Array(1000).fill(7) }));
    const f = link.take()[0];
    expect(u16(f, 16)).to.equal(576);
  });

  it('limits port unreachables per peer: a burst of 6, then one per second (icmp_ratelimit 1000 ms)', () => {
    const link = learned();
    const probe = (): void => link.inject(udpFrame({ src: '10.0.2.15', dst: '10.0.2.2', sport: 1, dport: 9, data: [0] }));
    // the model also probes the guest's ARP entry meanwhile (DELAY → PROBE): count only IPv4 frames
    const ipOut = (): Uint8Array[] => link.take().filter((f) => u16(f, 12) === 0x0800);
    for (let i = 0; i < 10; i++) probe();
    expect(ipOut().length).to.equal(6);
    expect(link.stack.mib.Icmp.OutRateLimitHost).to.equal(4);
    link.advance(999);
    probe();
    expect(ipOut().length).to.equal(0);
    link.advance(1);
    probe();
    probe();
    expect(ipOut().length).to.equal(1);
    // keep the guest's entry alive: it answers the model's probes
    link.advance(5000);
    link.inject(arpFrame({ op: 2, dstMac: '52:55:0a:00:02:02', spa: '10.0.2.15', tha: '52:55:0a:00:02:02', tpa: '10.0.2.2' }));
    link.advance(1000);
    for (let i = 0; i < 10; i++) probe();
    expect(ipOut().length).to.equal(6);
    // echo replies are not rate limited
    for (let i = 0; i < 20; i++) link.inject(echoRequest({ id: 2, seq: i, data: [] }));
    expect(ipOut().length).to.equal(20);
  });

  it('applies the global bucket (icmp_msgs_burst, refilled at icmp_msgs_per_sec after ≥ 20 ms)', () => {
    const link = new TestLink(defaultInetConfig(), { sysctl: { icmp_msgs_burst: 5 }, random: () => 0.5 });
    for (let i = 0; i < 20; i++) {
      const src = `10.0.2.${100 + i}`;
      link.inject(arpFrame({ op: 1, sha: `52:54:00:00:02:${(16 + i).toString(16)}`, spa: src, tpa: '10.0.2.2' }));
    }
    link.take();
    for (let i = 0; i < 20; i++) link.inject(udpFrame({ src: `10.0.2.${100 + i}`, dst: '10.0.2.2', sport: 1, dport: 9, data: [0] }));
    expect(link.take().length).to.equal(5);
    expect(link.stack.mib.Icmp.OutRateLimitGlobal).to.equal(15);
    link.advance(19);
    link.inject(udpFrame({ src: '10.0.2.100', dst: '10.0.2.2', sport: 1, dport: 9, data: [0] }));
    expect(link.take().length).to.equal(0);
    link.advance(1);
    for (let i = 0; i < 10; i++) link.inject(udpFrame({ src: `10.0.2.${110 + i}`, dst: '10.0.2.2', sport: 1, dport: 9, data: [0] }));
    expect(link.take().length).to.equal(5);
  });

  it('sends no error about broadcast datagrams (IgnoredMulti instead)', () => {
    const link = learned();
    link.inject(udpFrame({ dstMac: 'ff:ff:ff:ff:ff:ff', src: '10.0.2.15', dst: '255.255.255.255', sport: 1, dport: 9, data: [0] }));
    expect(link.take().length).to.equal(0);
    expect(link.stack.mib.Udp.IgnoredMulti).to.equal(1);
    expect(link.stack.mib.Udp.NoPorts).to.equal(0);
  });
});
