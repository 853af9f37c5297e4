// IPv4 receive and transmit through the NetStack (ip_rcv rules and MIB counters, local delivery, the
// host-not-router rule, fragments, options, unknown protocols) and UDP (demux, checksums, send path).
import { expect } from 'chai';
import { defaultInetConfig } from '../../kernel-model/ipv4/config';
import type { UdpDatagram } from '../../kernel-model/udp/udp';
import { CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY } from '../../kernel-model/core/skb';
import {
  GUEST_MAC,
  TestLink,
  arpFrame,
  dotted,
  echoRequest,
  fixChecksums,
  ipHeaderOk,
  ipv4Frame,
  l4ChecksumOk,
  macAt,
  toHex,
  u16,
  udpFrame,
  udpPayload,
} from './ipv4-link';

function learned(link = new TestLink()): TestLink {
  link.inject(arpFrame({ op: 1, spa: '10.0.2.15', tpa: '10.0.2.2' }));
  link.take();
  return link;
}

interface Seen {
  saddr: number;
  daddr: number;
  sport: number;
  dport: number;
  srcMac: number;
  broadcast: boolean;
  data: string;
}

function record(into: Seen[]): (d: UdpDatagram) => void {
  return (d) =>
    into.push({
      saddr: d.saddr,
      daddr: d.daddr,
      sport: d.sport,
      dport: d.dport,
      srcMac: d.srcMac,
      broadcast: d.broadcast,
      data: toHex(d.buf, d.payloadOffset, d.payloadLen),
    });
}

describe('IPv4 receive (ip_rcv) and output', () => {
  it('delivers to our addresses and counts InReceives/InDelivers; trims Ethernet padding to the total length', () => {
    const link = learned();
    const seen: Seen[] = [];
    link.inet.udpBind(7000, record(seen));
    const small = udpFrame({ src: '10.0.2.15', dst: '10.0.2.2', sport: 1234, dport: 7000, data: [0xaa, 0xbb] });
    const padded = new Uint8Array(60); // a NIC pads the 44-byte frame to the Ethernet minimum
    padded.set(small);
    padded.fill(0xee, small.length);
    link.inject(padded);
    expect(seen).to.deep.equal([{ saddr: 0x0a00020f, daddr: 0x0a000202, sport: 1234, dport: 7000, srcMac: 0x525400123456, broadcast: false, data: 'aabb' }]);
    const m = link.stack.mib;
    // InOctets counts skb->len as received, before the trim (ip_rcv_core), so padding included: 60 - 14
    expect([m.Ip.InReceives, m.Ip.InDelivers, m.Udp.InDatagrams, m.IpExt.InOctets]).to.deep.equal([1, 1, 1, 46]);
  });

  it('counts InAddrErrors for datagrams to other hosts (the model is not a router) and sends nothing', () => {
    const link = learned();
    link.inject(echoRequest({ dst: '10.0.2.50', id: 1, seq: 1, data: [] }));
    link.inject(echoRequest({ dst: '8.8.8.8', id: 1, seq: 2, data: [] }));
    expect(link.take().length).to.equal(0);
    expect(link.stack.mib.Ip.InAddrErrors).to.equal(2);
    expect(link.stack.mib.Ip.InDelivers).to.equal(0);
  });

  it('answers a TTL-0 ping: hosts do not discard on TTL (RFC 1122 §3.2.1.7)', () => {
    const link = learned();
    const f = echoRequest({ id: 3, seq: 3, data: [1] });
    f[22] = 0;
    fixChecksums(f);
    link.inject(f);
    expect(link.take().length).to.equal(1);
  });

  it('hands fragments to reassembly (ReasmReqds) and delivers the datagram once (details: ipv4-frag tests)', () => {
    const link = learned();
    link.inject(ipv4Frame({ src: '10.0.2.15', dst: '10.0.2.2', proto: 1, frag: 0x2000, payload: [8, 0, 0, 0, 0, 1, 0, 1] }));
    expect(link.stack.mib.Ip.InDelivers).to.equal(0);
    link.inject(ipv4Frame({ src: '10.0.2.15', dst: '10.0.2.2', proto: 1, frag: 0x0001, payload: [1, 2, 3, 4, 5, 6, 7, 8] }));
    const m = link.stack.mib.Ip;
    expect([m.ReasmReqds, m.ReasmOKs, m.ReasmFails, m.InDelivers]).to.deep.equal([2, 1, 0, 1]);
  });

  it('answers an unknown protocol with protocol unreachable and counts InUnknownProtos', () => {
    const link = learned();
    const req = ipv4Frame({ src: '10.0.2.15', dst: '10.0.2.2', proto: 200, payload: [1, 2, 3, 4] });
    link.inject(req);
    const f = link.take()[0];
    expect([f[34], f[35], f[15]]).to.deep.equal([3, 2, 0xc0]);
    expect(toHex(f, 42)).to.equal(toHex(req, 14));
    expect(link.stack.mib.Ip.InUnknownProtos).to.equal(1);
  });

  it('skips well-formed options, drops malformed ones (InHdrErrors) and source-routed datagrams', () => {
    const link = learned();
    const withOpts = (opts: number[]): Uint8Array => {
      const base = echoRequest({ id: 9, seq: 1, data: [5, 6] });
      const f = new Uint8Array(base.length + opts.length);
      f.set(base.subarray(0, 34));
      f.set(opts, 34);
      f.set(base.subarray(34), 34 + opts.length);
      f[14] = 0x40 | ((20 + opts.length) >> 2);
      const tot = u16(base, 16) + opts.length;
      f[16] = tot >> 8;
      f[17] = tot & 255;
      return fixChecksums(f);
    };
    link.inject(withOpts([1, 1, 1, 0])); // NOOPs + END
    link.inject(withOpts([7, 7, 4, 0, 0, 0, 0, 0])); // record route
    const replies = link.take();
    expect(replies.length).to.equal(2);
    expect(replies.every((f) => f[14] === 0x45 && u16(f, 40) === 1)).to.equal(true); // replies carry no options
    link.inject(withOpts([7, 0, 0, 0])); // bad length: parameter problem pointing at the option (byte 20)
    link.inject(withOpts([131, 7, 4, 10, 0, 2, 9, 0])); // loose source route
    const pp = link.take();
    expect(pp.length).to.equal(1);
    expect([pp[0][34], pp[0][35], pp[0][38]]).to.deep.equal([12, 0, 20]);
    expect(link.stack.mib.Ip.InHdrErrors).to.equal(1);
    expect(link.inet.net.drops.sourceRoute).to.equal(1);
  });

  it('drops martians: our own address as source, multicast groups not joined; ignores frames for other MACs', () => {
    const link = learned();
    link.inject(echoRequest({ src: '10.0.2.2', dst: '10.0.2.3', id: 1, seq: 1, data: [] }));
    link.inject(udpFrame({ dstMac: '01:00:5e:00:00:fb', src: '10.0.2.15', dst: '224.0.0.251', sport: 5353, dport: 5353, data: [0] }));
    link.inject(echoRequest({ dstMac: '52:54:00:99:99:99', id: 1, seq: 2, data: [] }));
    expect(link.take().length).to.equal(0);
    expect(link.inet.net.drops.martianSrc).to.equal(1);
    expect(link.inet.net.drops.mcastNotJoined).to.equal(1);
    expect(link.dev.stats.rx_otherhost_dropped).to.equal(1);
    expect(link.stack.mib.Ip.InReceives).to.equal(2); // the OTHERHOST frame is dropped before accounting
  });

  it('UDP: accepts checksum 0, rejects a bad checksum (InCsumErrors + InErrors) and a length beyond the datagram', () => {
    const link = learned();
    const seen: Seen[] = [];
    link.inet.udpBind(53, record(seen));
    const nosum = udpFrame({ src: '10.0.2.15', dst: '10.0.2.3', sport: 5, dport: 53, data: [1] });
    nosum[40] = nosum[41] = 0;
    link.inject(nosum);
    const bad = udpFrame({ src: '10.0.2.15', dst: '10.0.2.3', sport: 5, dport: 53, data: [1] });
    bad[42] ^= 1;
    link.inject(bad);
    const long = ipv4Frame({ src: '10.0.2.15', dst: '10.0.2.3', proto: 17, payload: [0, 5, 0, 53, 0, 20, 0, 0, 1, 2] });
    link.inject(long);
    expect(seen.length).to.equal(1);
    const m = link.stack.mib.Udp;
    expect([m.InDatagrams, m.InCsumErrors, m.InErrors]).to.deep.equal([1, 1, 2]);
  });

  it('UDP: trusts checksums the device validated or the guest left to offload (CHECKSUM_UNNECESSARY/PARTIAL)', () => {
    const link = learned();
    const seen: Seen[] = [];
    link.inet.udpBind(53, record(seen));
    // a virtio NEEDS_CSUM datagram: the field holds only the pseudo-header sum, not the full checksum
    const partial = udpFrame({ src: '10.0.2.15', dst: '10.0.2.3', sport: 5, dport: 53, data: [1, 2, 3] });
    partial[40] = 0x12;
    partial[41] = 0x34;
    link.inject(partial);
    expect(seen.length).to.equal(0);
    expect(link.stack.mib.Udp.InCsumErrors).to.equal(1);
    link.rxHook = (skb) => {
      skb.ip_summed = CHECKSUM_PARTIAL;
    };
    link.inject(partial);
    link.rxHook = (skb) => {
      skb.ip_summed = CHECKSUM_UNNECESSARY;
    };
    link.inject(partial);
    expect(seen.length).to.equal(2);
    expect(link.stack.mib.Udp.InCsumErrors).to.equal(1);
  });

  it('UDP: broadcast reaches a wildcard socket with broadcast=true; bind conflicts are refused', () => {
    const link = learned();
    const seen: Seen[] = [];
    const s = link.inet.udpBind(5000, record(seen));
    expect(s).to.not.equal(null);
    expect(link.inet.udpBind(5000, () => undefined)).to.equal(null);
    expect(link.inet.udpBind(5000, () => undefined, 0x0a000202)).to.equal(null);
    link.inject(udpFrame({ dstMac: 'ff:ff:ff:ff:ff:ff', src: '10.0.2.15', dst: '255.255.255.255', sport: 6, dport: 5000, data: [7] }));
    expect(seen.map((x) => [x.broadcast, x.data])).to.deep.equal([[true, '07']]);
    link.inet.udpUnbind(s!);
    expect(link.inet.udpBind(5000, () => undefined, 0x0a000202)).to.not.equal(null);
  });

  it('udpSend builds UDP/IPv4/Ethernet like an unconnected Linux socket: DF, ID 0, TTL 64, valid checksums', () => {
    const link = learned();
    expect(link.inet.udpSend(0x0a000203, 53, 0x0a00020f, 33333, Uint8Array.of(0xde, 0xad, 0xbe, 0xef, 0x01))).to.equal(0);
    const f = link.take()[0];
    expect([macAt(f, 0), macAt(f, 6)]).to.deep.equal([GUEST_MAC, '52:55:0a:00:02:02']);
    expect([f[14], u16(f, 16), u16(f, 18), u16(f, 20), f[22], f[23], dotted(f, 26), dotted(f, 30)]).to.deep.equal([
      0x45, 33, 0, 0x4000, 64, 17, '10.0.2.3', '10.0.2.15',
    ]);
    expect(toHex(f, 34, 6)).to.equal('0035823500' + '0d');
    expect(toHex(f, 42)).to.equal('deadbeef01');
    expect(ipHeaderOk(f) && l4ChecksumOk(f)).to.equal(true);
    expect(link.stack.mib.Udp.OutDatagrams).to.equal(1);
    expect(link.stack.pool.available).to.equal(link.stack.pool.slabs);
  });

  it('does not send beyond the link (OutNoRoutes) or above the MTU (FragFails: no fragmentation)', () => {
    const link = learned(new TestLink(defaultInetConfig(), {}, 576));
    expect(link.inet.udpSend(0x0a000202, 1, 0x08080808, 53, new Uint8Array(10))).to.be.lessThan(0);
    expect(link.inet.udpSend(0x0a000202, 1, 0x0a00020f, 53, new Uint8Array(600))).to.be.lessThan(0);
    expect(link.take().length).to.equal(0);
    expect(link.stack.mib.Ip.OutNoRoutes).to.equal(1);
    expect(link.stack.mib.Ip.FragFails).to.equal(1);
    expect(link.stack.pool.available).to.equal(link.stack.pool.slabs);
  });

  it('keeps a handler exception inside the model: logged, counted, the next datagram still served', () => {
    const link = learned();
    let calls = 0;
    link.inet.udpBind(6000, () => {
      calls++;
      throw new Error('service bug');
    });
    const f = udpFrame({ src: '10.0.2.15', dst: '10.0.2.2', sport: 1, dport: 6000, data: udpPayload(0, 0, []) });
    link.inject(f);
    link.inject(f);
    expect(calls).to.equal(2);
    expect(link.inet.net.drops.handlerErrors).to.equal(2);
    expect(link.stack.exceptions).to.equal(0);
  });
});
