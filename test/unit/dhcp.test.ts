// The DHCP server through the real NetStack: a busybox-udhcpc DISCOVER/REQUEST exchange, renewal,
// release and reallocation, NAKs, the broadcast flag, INFORM, DECLINE, expiry in virtual time.
import { expect } from 'chai';
import { defaultInetConfig, parseInetCidr } from '../../kernel-model/ipv4/config';
import {
  TestLink,
  UDHCPC_DISCOVER,
  answerArp,
  dhcpFrame,
  ip4,
  ipHeaderOk,
  l4ChecksumOk,
  parseDhcpReply,
  u16,
  type DhcpReply,
} from './ipv4-link';

const OTHER_MAC = '52:54:00:ab:cd:ef';
const CID = [61, 1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
const PRL = [55, 1, 3, 6, 12, 15, 28, 42];

function one(link: TestLink): DhcpReply {
  const out = link.take();
  expect(out.length, 'one reply').to.equal(1);
  return parseDhcpReply(out[0]);
}

function ipOpt(r: DhcpReply, code: number): string {
  const v = r.opt.get(code);
  return v ? v.join('.') : '';
}

function u32Opt(r: DhcpReply, code: number): number {
  const v = r.opt.get(code)!;
  return ((v[0] << 24) | (v[1] << 16) | (v[2] << 8) | v[3]) >>> 0;
}

/** DISCOVER → OFFER → REQUEST → ACK for a client; returns the ACK */
function lease(link: TestLink, mac: string, xid: number): DhcpReply {
  link.inject(dhcpFrame({ type: 1, mac, xid, options: [PRL] }));
  const offer = one(link);
  link.inject(dhcpFrame({ type: 3, mac, xid, options: [[50, ...ip4(offer.yiaddr)], [54, 10, 0, 2, 2], PRL] }));
  const ack = one(link);
  expect(ack.opt.get(53)).to.deep.equal([5]);
  return ack;
}

describe('DHCP server (RFC 2131) through the NetStack', () => {
  it('answers a busybox udhcpc DISCOVER with an OFFER of 10.0.2.15, unicast to chaddr, options in option-55 order', () => {
    const link = new TestLink();
    link.inject(UDHCPC_DISCOVER);
    const out = link.take();
    expect(out.length).to.equal(1);
    const f = out[0];
    const r = parseDhcpReply(f);
    // addressing (RFC 2131 §4.1: ciaddr 0, broadcast bit clear → unicast to chaddr/yiaddr)
    expect(r.ethDst).to.equal('52:54:00:12:34:56');
    expect(Array.from(f.subarray(6, 12))).to.deep.equal([0x52, 0x55, 0x0a, 0x00, 0x02, 0x02]);
    expect([r.ipSrc, r.ipDst, r.sport, r.dport]).to.deep.equal(['10.0.2.2', '10.0.2.15', 67, 68]);
    // a Linux unconnected UDP socket: TTL 64, DF, ID 0
    expect([r.ttl, r.df, r.ident]).to.deep.equal([64, true, 0]);
    expect(ipHeaderOk(f) && l4ChecksumOk(f)).to.equal(true);
    // BOOTP header
    expect([r.op, r.xid, r.flags, r.ciaddr, r.yiaddr, r.chaddr]).to.deep.equal([2, 0x3903f326, 0, '0.0.0.0', '10.0.2.15', '52:54:00:12:34:56']);
    expect(r.bootpLen).to.equal(300);
    // options: type, server id, lease, T1, T2, then the PRL order 1, 3, 6, (12: no name), (15: no domain), 28, (42: none)
    expect(r.codes).to.deep.equal([53, 54, 51, 58, 59, 1, 3, 6, 28]);
    expect(r.opt.get(53)).to.deep.equal([2]);
    expect(ipOpt(r, 54)).to.equal('10.0.2.2');
    expect([u32Opt(r, 51), u32Opt(r, 58), u32Opt(r, 59)]).to.deep.equal([86400, 43200, 75600]);
    expect([ipOpt(r, 1), ipOpt(r, 3), ipOpt(r, 6), ipOpt(r, 28)]).to.deep.equal(['255.255.255.0', '10.0.2.2', '10.0.2.3', '10.0.2.255']);
    const dhcp = link.inet.dhcp!;
    expect(dhcp.stats.InDiscovers).to.equal(1);
    expect(dhcp.stats.OutOffers).to.equal(1);
    expect(link.stack.mib.Udp.InDatagrams).to.equal(1);
    expect(link.stack.mib.Udp.OutDatagrams).to.equal(1);
    expect(link.stack.mib.IpExt.InBcastPkts).to.equal(1);
  });

  it('SELECTING REQUEST → ACK with the same address and lease; the lease is bound', () => {
    const link = new TestLink();
    link.inject(UDHCPC_DISCOVER);
    link.take();
    link.inject(
      dhcpFrame({ type: 3, xid: 0x3903f326, options: [CID, [50, 10, 0, 2, 15], [54, 10, 0, 2, 2], [57, 2, 64], PRL] }),
    );
    const r = one(link);
    expect(r.opt.get(53)).to.deep.equal([5]);
    expect([r.yiaddr, r.ciaddr, r.ipDst, r.ethDst, r.xid]).to.deep.equal(['10.0.2.15', '0.0.0.0', '10.0.2.15', '52:54:00:12:34:56', 0x3903f326]);
    expect(u32Opt(r, 51)).to.equal(86400);
    expect(r.checksumsOk).to.equal(true);
    const l = link.inet.dhcp!.leases.get(0x0a00020f)!;
    expect(l.state).to.equal(2); // LEASE_BOUND
    expect(l.expires).to.equal(link.now + 86400_000);
  });

  it('renews a unicast REQUEST with ciaddr: ARPs for the client, then ACKs to ciaddr and extends the lease', () => {
    const link = new TestLink();
    lease(link, '52:54:00:12:34:56', 7);
    link.advance(43_200_000); // T1
    link.inject(dhcpFrame({ type: 3, xid: 8, ciaddr: '10.0.2.15', src: '10.0.2.15', dst: '10.0.2.2', dstMac: '52:55:0a:00:02:02' }));
    // no neighbour entry for 10.0.2.15 yet: the ACK waits for ARP
    const first = link.take();
    expect(first.length).to.equal(1);
    expect(u16(first[0], 12)).to.equal(0x0806);
    const rest = answerArp(link, first, '10.0.2.15');
    expect(rest.length).to.equal(0);
    const r = one(link);
    expect(r.opt.get(53)).to.deep.equal([5]);
    expect([r.ethDst, r.ipDst, r.ciaddr, r.yiaddr]).to.deep.equal(['52:54:00:12:34:56', '10.0.2.15', '10.0.2.15', '10.0.2.15']);
    expect(link.inet.dhcp!.leases.get(0x0a00020f)!.expires).to.equal(link.now + 86400_000);
  });

  it('gives the address back to the same client after RELEASE, and never-used addresses to others first', () => {
    const link = new TestLink();
    expect(lease(link, '52:54:00:12:34:56', 1).yiaddr).to.equal('10.0.2.15');
    link.inject(dhcpFrame({ type: 7, xid: 2, ciaddr: '10.0.2.15', src: '10.0.2.15', dst: '10.0.2.2', dstMac: '52:55:0a:00:02:02', options: [[54, 10, 0, 2, 2]] }));
    expect(link.take().length).to.equal(0); // RELEASE has no answer
    expect(link.inet.dhcp!.stats.InReleases).to.equal(1);
    expect(link.inet.dhcp!.leases.get(0x0a00020f)!.state).to.equal(0); // LEASE_FREE
    expect(lease(link, OTHER_MAC, 3).yiaddr).to.equal('10.0.2.16');
    expect(lease(link, '52:54:00:12:34:56', 4).yiaddr).to.equal('10.0.2.15');
  });

  it('reuses the least recently released address only when the pool has no fresh one', () => {
    const link = new TestLink(defaultInetConfig({ dhcpCount: 2 }));
    lease(link, '52:54:00:00:00:01', 1);
    lease(link, '52:54:00:00:00:02', 2);
    link.inject(dhcpFrame({ type: 1, mac: '52:54:00:00:00:03', xid: 3 }));
    expect(link.take().length).to.equal(0);
    expect(link.inet.dhcp!.stats.PoolExhausted).to.equal(1);
    link.inject(dhcpFrame({ type: 7, mac: '52:54:00:00:00:01', xid: 4, ciaddr: '10.0.2.15', src: '10.0.2.15', dst: '10.0.2.2', dstMac: '52:55:0a:00:02:02' }));
    expect(lease(link, '52:54:00:00:00:03', 5).yiaddr).to.equal('10.0.2.15');
  });

  it('NAKs (broadcast) an INIT-REBOOT request for an address outside the pool or the network', () => {
    const link = new TestLink();
    link.inject(dhcpFrame({ type: 3, xid: 9, options: [[50, 10, 0, 2, 99]] }));
    let r = one(link);
    expect(r.opt.get(53)).to.deep.equal([6]);
    expect([r.ethDst, r.ipDst, r.yiaddr, r.ciaddr]).to.deep.equal(['ff:ff:ff:ff:ff:ff', '255.255.255.255', '0.0.0.0', '0.0.0.0']);
    expect(r.codes).to.deep.equal([53, 54, 56]);
    expect(Buffer.from(r.opt.get(56)!).toString()).to.equal('requested address not available');
    expect(r.checksumsOk).to.equal(true);
    link.inject(dhcpFrame({ type: 3, xid: 10, options: [[50, 192, 168, 1, 5]] }));
    r = one(link);
    expect(r.opt.get(53)).to.deep.equal([6]);
    expect(Buffer.from(r.opt.get(56)!).toString()).to.equal('wrong network');
    expect(link.inet.dhcp!.stats.OutNaks).to.equal(2);
  });

  it('NAKs a SELECTING request for an address it did not offer; ACKs INIT-REBOOT of a known-free pool address', () => {
    const link = new TestLink();
    link.inject(UDHCPC_DISCOVER);
    link.take();
    link.inject(dhcpFrame({ type: 3, xid: 0x3903f326, options: [CID, [50, 10, 0, 2, 20], [54, 10, 0, 2, 2]] }));
    expect(one(link).opt.get(53)).to.deep.equal([6]);
    // after a restart of the model the client asks for its old address: authoritative, so ACK it
    link.inject(dhcpFrame({ type: 3, mac: OTHER_MAC, xid: 11, options: [[50, 10, 0, 2, 21]] }));
    const r = one(link);
    expect(r.opt.get(53)).to.deep.equal([5]);
    expect(r.yiaddr).to.equal('10.0.2.21');
    expect(r.ethDst).to.equal(OTHER_MAC);
  });

  it('ignores a REQUEST that selects another server and frees the offer it had made', () => {
    const link = new TestLink(defaultInetConfig({ dhcpCount: 1 }));
    link.inject(UDHCPC_DISCOVER);
    link.take();
    link.inject(dhcpFrame({ type: 3, xid: 0x3903f326, options: [CID, [50, 10, 0, 2, 15], [54, 10, 0, 2, 1]] }));
    expect(link.take().length).to.equal(0);
    expect(link.inet.dhcp!.stats.InIgnored).to.equal(1);
    expect(lease(link, OTHER_MAC, 12).yiaddr).to.equal('10.0.2.15');
  });

  it('broadcasts the OFFER when the client sets the broadcast flag', () => {
    const link = new TestLink();
    link.inject(dhcpFrame({ type: 1, xid: 13, flags: 0x8000 }));
    const r = one(link);
    expect([r.ethDst, r.ipDst, r.flags, r.yiaddr]).to.deep.equal(['ff:ff:ff:ff:ff:ff', '255.255.255.255', 0x8000, '10.0.2.15']);
    expect(link.stack.mib.IpExt.OutBcastPkts).to.equal(1);
  });

  it('answers INFORM with configuration only (no lease, yiaddr 0) to ciaddr', () => {
    const link = new TestLink(defaultInetConfig({ domain: 'example.test' }));
    link.inject(dhcpFrame({ type: 8, xid: 14, ciaddr: '10.0.2.40', src: '10.0.2.40', dst: '255.255.255.255', options: [[55, 15, 6, 3, 1]] }));
    const out = answerArp(link, link.take(), '10.0.2.40');
    expect(out.length).to.equal(0);
    const r = one(link);
    expect(r.opt.get(53)).to.deep.equal([5]);
    expect([r.ipDst, r.yiaddr, r.ciaddr]).to.deep.equal(['10.0.2.40', '0.0.0.0', '10.0.2.40']);
    expect(r.codes).to.deep.equal([53, 54, 15, 6, 3, 1]);
    expect(Buffer.from(r.opt.get(15)!).toString()).to.equal('example.test');
    expect(link.inet.dhcp!.leases.get(0x0a000228)).to.equal(undefined);
  });

  it('keeps a DECLINEd address out of the pool for 10 minutes', () => {
    const link = new TestLink();
    lease(link, '52:54:00:12:34:56', 15);
    link.inject(dhcpFrame({ type: 4, xid: 16, options: [[50, 10, 0, 2, 15], [54, 10, 0, 2, 2]] }));
    expect(link.take().length).to.equal(0);
    expect(lease(link, '52:54:00:12:34:56', 17).yiaddr).to.equal('10.0.2.16');
    link.advance(600_001);
    expect(lease(link, OTHER_MAC, 18).yiaddr).to.equal('10.0.2.15');
  });

  it('expires leases in scheduler time: a full pool frees up after the lease time', () => {
    const link = new TestLink(defaultInetConfig({ dhcpCount: 1, leaseTime: 3600 }));
    lease(link, '52:54:00:12:34:56', 19);
    link.inject(dhcpFrame({ type: 1, mac: OTHER_MAC, xid: 20 }));
    expect(link.take().length).to.equal(0);
    link.advance(3_599_000);
    link.inject(dhcpFrame({ type: 1, mac: OTHER_MAC, xid: 21 }));
    expect(link.take().length).to.equal(0);
    link.advance(2_000);
    expect(lease(link, OTHER_MAC, 22).yiaddr).to.equal('10.0.2.15');
  });

  it('gives an expired lease back to the same MAC when nobody else took it', () => {
    const link = new TestLink(defaultInetConfig({ leaseTime: 600 }));
    lease(link, OTHER_MAC, 30);
    expect(lease(link, '52:54:00:12:34:56', 31).yiaddr).to.equal('10.0.2.16');
    link.advance(700_000);
    expect(lease(link, '52:54:00:00:00:09', 32).yiaddr).to.equal('10.0.2.17');
    expect(lease(link, '52:54:00:12:34:56', 33).yiaddr).to.equal('10.0.2.16');
  });

  it('echoes the host name (12) when asked and sends MTU (26) when it is not 1500', () => {
    const link = new TestLink(defaultInetConfig({ mtu: 1400 }));
    link.inject(dhcpFrame({ type: 1, xid: 23, options: [[12, ...Buffer.from('guest')], [55, 12, 26, 1], [57, 0x05, 0xdc]] }));
    const r = one(link);
    expect(r.codes).to.deep.equal([53, 54, 51, 58, 59, 12, 26, 1, 3, 6]);
    expect(Buffer.from(r.opt.get(12)!).toString()).to.equal('guest');
    expect(r.opt.get(26)).to.deep.equal([0x05, 0x78]);
  });

  it('keeps a reply within 576 bytes of IP (no option 57): optional options that do not fit are left out', () => {
    const link = new TestLink(defaultInetConfig({ domain: 'd'.repeat(255) }));
    link.inject(dhcpFrame({ type: 1, xid: 25, options: [[12, ...Buffer.from('h'.repeat(255))], [55, 12, 15, 1, 3, 6]] }));
    const out = link.take();
    expect(out.length).to.equal(1);
    expect(u16(out[0], 16)).to.be.at.most(576);
    const r = parseDhcpReply(out[0]);
    // 15 does not fit after 12 and is left out; the short essentials still go in
    expect(r.codes).to.deep.equal([53, 54, 51, 58, 59, 12, 1, 3, 6]);
    expect(r.checksumsOk).to.equal(true);
    // with option 57 = 1500 both names fit
    link.inject(dhcpFrame({ type: 1, xid: 26, options: [[12, ...Buffer.from('h'.repeat(255))], [55, 12, 15, 1, 3, 6], [57, 0x05, 0xdc]] }));
    const big = parseDhcpReply(link.take()[0]);
    expect(big.codes).to.deep.equal([53, 54, 51, 58, 59, 12, 15, 1, 3, 6]);
  });

  it('serves a custom --net 192.168.76.0/24 as QEMU derives it (.2 router, .3 DNS, pool from .15)', () => {
    const link = new TestLink(parseInetCidr('192.168.76.0/24'));
    link.inject(dhcpFrame({ type: 1, xid: 24, options: [[55, 1, 3, 6]] }));
    const r = one(link);
    expect([r.yiaddr, ipOpt(r, 54), ipOpt(r, 3), ipOpt(r, 6), ipOpt(r, 1), r.ipSrc]).to.deep.equal([
      '192.168.76.15', '192.168.76.2', '192.168.76.2', '192.168.76.3', '255.255.255.0', '192.168.76.2',
    ]);
  });
});
