// Packet views and Reprs over real bytes: parse → fields → emit gives the same bytes; check() returns
// the right error code for every malformed length; views re-point with wrap() and never leave their window.
import { expect } from 'chai';
import { ArpPacket, ArpRepr, ARPOP_REQUEST } from '../../kernel-model/wire/arp';
import { formatIpv4, formatMac, parseIpv4, parseMac } from '../../kernel-model/wire/address';
import {
  DHCPDISCOVER,
  DhcpOptionIterator,
  DhcpOptionWriter,
  DhcpPacket,
  DhcpRepr,
  DHO_END,
  DHO_MESSAGE_TYPE,
  DHO_PARAMETER_REQUEST_LIST,
} from '../../kernel-model/wire/dhcp';
import { WIRE_CHECKSUM, WIRE_MALFORMED, WIRE_OK, WIRE_TRUNCATED, WIRE_UNRECOGNIZED } from '../../kernel-model/wire/error';
import { EthernetFrame, EthernetRepr, ETH_P_ARP } from '../../kernel-model/wire/ethernet';
import { Icmpv4Packet, Icmpv4Repr, ICMP_ECHO } from '../../kernel-model/wire/icmp';
import { Ipv4OptionsScan, Ipv4Packet, Ipv4Repr } from '../../kernel-model/wire/ipv4';
import { UdpPacket, UdpRepr } from '../../kernel-model/wire/udp';
import { UDHCPC_DISCOVER, hex, slowChecksum, toHex } from './ipv4-link';

// an ARP request from the guest for the gateway, as tcpdump -xx shows it (42 bytes, unpadded by virtio)
const ARP_REQ = hex(
  'ffffffffffff 525400123456 0806' + '0001 0800 06 04 0001 525400123456 0a00020f 000000000000 0a000202',
);
// an ICMP echo request 10.0.2.15 → 10.0.2.2, id 0x0c1d seq 1, 8 data bytes
const ECHO = hex(
  '4500 0024 b14a 4000 4001 717e 0a00020f 0a000202' + '0800 5a4c 0c1d 0001 6162636465666768',
);

describe('wire views and reprs', () => {
  it('Ethernet: parse, emit, truncation', () => {
    const f = new EthernetFrame(ARP_REQ);
    expect(f.check()).to.equal(WIRE_OK);
    const r = new EthernetRepr();
    expect(r.parse(f)).to.equal(WIRE_OK);
    expect(formatMac(r.dst)).to.equal('ff:ff:ff:ff:ff:ff');
    expect(formatMac(r.src)).to.equal('52:54:00:12:34:56');
    expect(r.ethertype).to.equal(ETH_P_ARP);
    const out = new Uint8Array(14);
    r.emit(new EthernetFrame(out));
    expect(toHex(out)).to.equal(toHex(ARP_REQ, 0, 14));
    expect(new EthernetFrame(ARP_REQ, 0, 13).check()).to.equal(WIRE_TRUNCATED);
  });

  it('ARP: Ethernet/IPv4 round trip; other hardware is unrecognized; short is truncated', () => {
    const p = new ArpPacket(ARP_REQ, 14, 28);
    const r = new ArpRepr();
    expect(r.parse(p)).to.equal(WIRE_OK);
    expect(r.operation).to.equal(ARPOP_REQUEST);
    expect(formatMac(r.sha)).to.equal('52:54:00:12:34:56');
    expect(formatIpv4(r.spa)).to.equal('10.0.2.15');
    expect(formatIpv4(r.tpa)).to.equal('10.0.2.2');
    const out = new Uint8Array(28);
    r.emit(new ArpPacket(out));
    expect(toHex(out)).to.equal(toHex(ARP_REQ, 14, 28));
    const other = ARP_REQ.slice(14);
    other[1] = 6 + 1; // hardware type 7 (ARCNET)
    expect(r.parse(new ArpPacket(other))).to.equal(WIRE_UNRECOGNIZED);
    expect(new ArpPacket(ARP_REQ, 14, 27).check()).to.equal(WIRE_TRUNCATED);
    expect(new ArpPacket(ARP_REQ, 14, 7).check()).to.equal(WIRE_TRUNCATED);
  });

  it('IPv4: fields of a real header, emit reproduces it byte for byte', () => {
    const p = new Ipv4Packet(ECHO);
    expect(p.check()).to.equal(WIRE_OK);
    expect(p.verifyChecksum()).to.equal(true);
    const r = new Ipv4Repr();
    expect(r.parse(p)).to.equal(WIRE_OK);
    expect([formatIpv4(r.src), formatIpv4(r.dst), r.protocol, r.ttl, r.ident, r.fragOff, r.payloadLen]).to.deep.equal([
      '10.0.2.15', '10.0.2.2', 1, 64, 0xb14a, 0x4000, 16,
    ]);
    const out = new Uint8Array(20);
    r.emit(new Ipv4Packet(out));
    expect(toHex(out)).to.equal(toHex(ECHO, 0, 20));
    expect(slowChecksum([out])).to.equal(0);
  });

  it('IPv4: check() codes for short buffer, version, IHL < 5, header past buffer, total length', () => {
    const b = ECHO.slice();
    expect(new Ipv4Packet(b, 0, 19).check()).to.equal(WIRE_TRUNCATED);
    b[0] = 0x65;
    expect(new Ipv4Packet(b).check()).to.equal(WIRE_UNRECOGNIZED);
    b[0] = 0x44;
    expect(new Ipv4Packet(b).check()).to.equal(WIRE_MALFORMED);
    b[0] = 0x4f; // 60-byte header in a 36-byte buffer
    expect(new Ipv4Packet(b).check()).to.equal(WIRE_TRUNCATED);
    b[0] = 0x45;
    b[2] = 0;
    b[3] = 19; // total length < header length
    expect(new Ipv4Packet(b).check()).to.equal(WIRE_MALFORMED);
    b[3] = 200; // total length > buffer
    expect(new Ipv4Packet(b).check()).to.equal(WIRE_TRUNCATED);
  });

  it('IPv4 options: NOOP/END/RR accepted, zero length and overrun flagged, source route noticed', () => {
    const s = new Ipv4OptionsScan();
    const hdr = (opts: number[]): Uint8Array => {
      const h = new Uint8Array(20 + opts.length);
      h[0] = 0x40 | ((20 + opts.length) >> 2);
      h.set(opts, 20);
      return h;
    };
    expect(s.scan(hdr([1, 1, 1, 0]), 0, 24)).to.equal(-1);
    expect(s.scan(hdr([7, 7, 4, 0, 0, 0, 0, 0]), 0, 28)).to.equal(-1); // record route, 7 bytes + END
    expect(s.scan(hdr([7, 0, 0, 0]), 0, 24)).to.equal(21); // length 0
    expect(s.scan(hdr([7, 9, 4, 0]), 0, 24)).to.equal(21); // runs past the header
    expect(s.scan(hdr([1, 1, 1, 7]), 0, 24)).to.equal(23); // no room for the length byte
    expect(s.scan(hdr([131, 7, 4, 1, 2, 3, 4, 0]), 0, 28)).to.equal(-1);
    expect(s.sourceRoute).to.equal(true);
  });

  it('ICMP: echo request parses, checksum verifies, emit rebuilds the same header', () => {
    const p = new Icmpv4Packet(ECHO, 20, 16);
    const r = new Icmpv4Repr();
    expect(r.parse(p)).to.equal(WIRE_OK);
    expect([r.type, r.code, r.rest >>> 16, r.rest & 0xffff, r.dataLen]).to.deep.equal([ICMP_ECHO, 0, 0x0c1d, 1, 8]);
    const copy = ECHO.slice(20);
    copy[2] = copy[3] = 0;
    r.emit(new Icmpv4Packet(copy));
    expect(toHex(copy)).to.equal(toHex(ECHO, 20));
    copy[9] ^= 0x40;
    expect(r.parse(new Icmpv4Packet(copy))).to.equal(WIRE_CHECKSUM);
    expect(new Icmpv4Packet(ECHO, 20, 7).check()).to.equal(WIRE_TRUNCATED);
  });

  it('UDP: the DHCP DISCOVER datagram parses with its checksum; emit reproduces it; length errors', () => {
    const f = UDHCPC_DISCOVER;
    const u = new UdpPacket(f, 34, f.length - 34);
    const r = new UdpRepr();
    expect(r.parse(u, 0, 0xffffffff)).to.equal(WIRE_OK);
    expect([r.srcPort, r.dstPort, r.payloadLen]).to.deep.equal([68, 67, 300]);
    const copy = f.slice(34);
    copy[6] = copy[7] = 0;
    r.emit(new UdpPacket(copy), 0, 0xffffffff);
    expect(toHex(copy)).to.equal(toHex(f, 34));
    // wrong pseudo-header → checksum error; zero checksum → accepted
    expect(r.parse(u, 1, 0xffffffff)).to.equal(WIRE_CHECKSUM);
    copy[6] = copy[7] = 0;
    expect(r.parse(new UdpPacket(copy), 1, 2)).to.equal(WIRE_OK);
    const short = copy.slice(0, 8);
    short[4] = 0;
    short[5] = 7;
    expect(new UdpPacket(short).check()).to.equal(WIRE_MALFORMED);
    short[5] = 9;
    expect(new UdpPacket(short).check()).to.equal(WIRE_TRUNCATED);
    expect(new UdpPacket(short, 0, 7).check()).to.equal(WIRE_TRUNCATED);
  });

  it('DHCP: a busybox udhcpc DISCOVER: header, options (53, 61, 57, 55, 60) and iterator order', () => {
    const p = new DhcpPacket(UDHCPC_DISCOVER, 42, 300);
    const r = new DhcpRepr();
    const it = new DhcpOptionIterator();
    expect(r.parse(p, it)).to.equal(WIRE_OK);
    expect(r.messageType).to.equal(DHCPDISCOVER);
    expect(r.xid).to.equal(0x3903f326);
    expect(formatMac(r.chaddr)).to.equal('52:54:00:12:34:56');
    expect(r.maxMessageSize).to.equal(576);
    expect(toHex(p.buf, r.clientIdOffset, r.clientIdLen)).to.equal('01525400123456');
    expect(Array.from(p.buf.subarray(r.paramsOffset, r.paramsOffset + r.paramsLen))).to.deep.equal([1, 3, 6, 12, 15, 28, 42]);
    expect(Buffer.from(p.buf.subarray(r.vendorClassOffset, r.vendorClassOffset + r.vendorClassLen)).toString()).to.equal('udhcp 1.36.1');
    const codes: number[] = [];
    it.reset(p.buf, p.optionsOffset, p.optionsEnd);
    while (it.next()) codes.push(it.code);
    expect(codes).to.deep.equal([53, 61, 57, 55, 60]);
    expect(it.sawEnd).to.equal(true);
    expect(it.error).to.equal(WIRE_OK);
  });

  it('DHCP: option past the end is malformed, missing END is truncated, bad fixed lengths are malformed', () => {
    const r = new DhcpRepr();
    const it = new DhcpOptionIterator();
    const msg = (opts: number[]): DhcpPacket => {
      const b = new Uint8Array(240 + opts.length);
      b.set([1, 1, 6], 0);
      b.set([0x63, 0x82, 0x53, 0x63], 236);
      b.set(opts, 240);
      return new DhcpPacket(b);
    };
    expect(r.parse(msg([53, 1, 1, 255]), it)).to.equal(WIRE_OK);
    expect(r.parse(msg([53, 1, 1, 55, 9, 1, 2]), it)).to.equal(WIRE_MALFORMED);
    expect(r.parse(msg([53, 1, 1, 55]), it)).to.equal(WIRE_MALFORMED);
    expect(r.parse(msg([53, 1, 1, 0, 0]), it)).to.equal(WIRE_TRUNCATED);
    expect(r.parse(msg([53, 0, 255]), it)).to.equal(WIRE_MALFORMED);
    expect(r.badOption).to.equal(53);
    expect(r.parse(msg([53, 1, 3, 50, 3, 10, 0, 2, 255]), it)).to.equal(WIRE_MALFORMED);
    expect(r.parse(msg([53, 1, 3, 57, 2, 1, 0, 255]), it)).to.equal(WIRE_OK);
    expect(r.maxMessageSize).to.equal(0); // 256 < 576: ignored (RFC 2132 §9.10)
    const noCookie = msg([53, 1, 1, 255]);
    noCookie.buf[236] = 0;
    expect(r.parse(noCookie, it)).to.equal(WIRE_UNRECOGNIZED);
    expect(r.parse(new DhcpPacket(new Uint8Array(239)), it)).to.equal(WIRE_TRUNCATED);
  });

  it('DHCP option writer: values, END always fits, overflow stops cleanly, padTo', () => {
    const b = new Uint8Array(20).fill(0xee);
    const w = new DhcpOptionWriter().reset(b, 2, 15);
    expect(w.u8(DHO_MESSAGE_TYPE, 2)).to.equal(true);
    expect(w.ipv4(54, 0x0a000202)).to.equal(true);
    expect(w.bytes(DHO_PARAMETER_REQUEST_LIST, Uint8Array.of(1, 3, 6), 0, 3)).to.equal(false); // would leave no room for END
    expect(w.overflow).to.equal(true);
    expect(w.u16(26, 1500)).to.equal(false); // 4 bytes + END do not fit in the 4 left
    expect(w.u8(1, 1)).to.equal(true); // 3 bytes + END do
    w.finish();
    expect(toHex(b, 2, 13)).to.equal('3501023604' + '0a000202' + '010101' + 'ff');
    expect(w.pos).to.equal(15);
    expect(b[15]).to.equal(0xee);
    const w2 = new DhcpOptionWriter().reset(b, 2, 20);
    w2.u8(DHO_MESSAGE_TYPE, 1);
    w2.finish();
    w2.padTo(2, 10);
    expect(w2.pos).to.equal(12);
    expect(toHex(b, 2, 10)).to.equal('350101ff' + '000000000000');
    expect(DHO_END).to.equal(255);
  });

  it('views re-point with wrap() and clamp windows to the buffer', () => {
    const v = new Ipv4Packet();
    expect(v.wrap(ECHO).src).to.equal(parseIpv4('10.0.2.15'));
    const other = ECHO.slice();
    other.set([192, 168, 1, 9], 12);
    expect(formatIpv4(v.wrap(other).src)).to.equal('192.168.1.9');
    v.wrap(ECHO, 30, 100);
    expect(v.len).to.equal(6);
    expect(v.check()).to.equal(WIRE_TRUNCATED);
    v.wrap(ECHO, 99, 10);
    expect(v.len).to.equal(0);
    expect(v.check()).to.equal(WIRE_TRUNCATED);
    expect(parseMac('52:55:0a:00:02:02')).to.equal(0x52550a000202);
    expect(parseIpv4('10.0.2.256')).to.equal(-1);
  });
});
