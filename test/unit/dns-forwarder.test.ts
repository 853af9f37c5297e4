// The DNS forwarder (10.0.2.3:53, fec0::3:53) against a real DNS server on 127.0.0.1: ID rewriting and
// restoring, two guests with the same ID and port, the reply's addresses, malformed queries, timeouts
// in scheduler time, the in-flight cap, SERVFAIL without an upstream, foreign datagrams; and the parsers.
import { expect } from 'chai';
import * as dgram from 'dgram';
import { DnsForwarder } from '../../kernel-model/services/dns/forwarder';
import { dnsServfail } from '../../kernel-model/services/dns/message';
import { firstNameserver, parseDnsUpstream } from '../../kernel-model/services/dns/resolv';
import { TestDnsServer, dnsQuery, firstA, until } from '../support/dns-server';
import { TestLink, arpFrame, dotted, l4ChecksumOk, u16, udpFrame } from './ipv4-link';
import { GUEST_GLOBAL, csumOk6, full, ip6At, ipv6Frame, link6, ns6 } from './ipv6-link';

const GUEST2_MAC = '52:54:00:12:34:57';

function learned(): TestLink {
  const link = new TestLink();
  link.inject(arpFrame({ op: 1, spa: '10.0.2.15', tpa: '10.0.2.2' }));
  link.inject(arpFrame({ op: 1, spa: '10.0.2.16', tpa: '10.0.2.2', sha: GUEST2_MAC }));
  link.take();
  return link;
}

function query(o: { id: number; name: string; src?: string; sport?: number; srcMac?: string }): Uint8Array {
  return udpFrame({ src: o.src ?? '10.0.2.15', srcMac: o.srcMac, dst: '10.0.2.3', sport: o.sport ?? 40000, dport: 53, data: dnsQuery(o.id, o.name) });
}

interface Reply {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  id: number;
  payload: Uint8Array;
  csumOk: boolean;
}

function udpReplies(frames: Uint8Array[]): Reply[] {
  return frames
    .filter((f) => u16(f, 12) === 0x0800 && f[23] === 17)
    .map((f) => {
      const u = 14 + (f[14] & 15) * 4;
      const payload = f.subarray(u + 8, 14 + u16(f, 16));
      return { src: dotted(f, 26), dst: dotted(f, 30), sport: u16(f, u), dport: u16(f, u + 2), id: u16(payload, 0), payload, csumOk: l4ChecksumOk(f) };
    });
}

describe('dns forwarder', function () {
  this.timeout(10000);
  let server: TestDnsServer;
  let fwd: DnsForwarder | null = null;
  beforeEach(async () => {
    server = await TestDnsServer.start({ 'example.test': '192.0.2.7', 'other.test': '192.0.2.8' });
  });
  afterEach(() => {
    fwd?.close();
    fwd = null;
    server.close();
  });

  it('forwards a query upstream with a fresh ID and answers the guest from 10.0.2.3:53 with its own ID', async () => {
    const link = learned();
    fwd = new DnsForwarder(link.inet, { upstream: { address: '127.0.0.1', port: server.port } }).start();
    link.inject(query({ id: 0xbeef, name: 'example.test' }));
    expect(await until(() => link.sent.length > 0)).to.equal(true);
    const [r] = udpReplies(link.take());
    expect([r.src, r.sport, r.dst, r.dport]).to.deep.equal(['10.0.2.3', 53, '10.0.2.15', 40000]);
    expect(r.id).to.equal(0xbeef);
    expect(r.csumOk).to.equal(true);
    expect(firstA(r.payload)).to.equal('192.0.2.7');
    expect(server.seen).to.have.length(1);
    expect(server.seen[0].name).to.equal('example.test');
    // the question went up unchanged but for the ID
    expect(Buffer.from(server.seen[0].bytes.subarray(2)).equals(dnsQuery(0xbeef, 'example.test').subarray(2))).to.equal(true);
    expect(fwd.stats).to.include({ queries: 1, forwarded: 1, replies: 1, malformed: 0 });
    expect(fwd.inflightCount).to.equal(0);
  });

  it('two guests with the same ID and source port each get their own answer', async () => {
    const link = learned();
    fwd = new DnsForwarder(link.inet, { upstream: { address: '127.0.0.1', port: server.port } }).start();
    link.inject(query({ id: 7, name: 'example.test' }), query({ id: 7, name: 'other.test', src: '10.0.2.16', srcMac: GUEST2_MAC }));
    expect(await until(() => link.sent.length >= 2)).to.equal(true);
    const rs = udpReplies(link.take());
    const by = new Map(rs.map((r) => [r.dst, r]));
    expect(firstA(by.get('10.0.2.15')!.payload)).to.equal('192.0.2.7');
    expect(firstA(by.get('10.0.2.16')!.payload)).to.equal('192.0.2.8');
    expect(rs.every((r) => r.id === 7 && r.dport === 40000)).to.equal(true);
    expect(server.seen[0].id, 'distinct upstream IDs').to.not.equal(server.seen[1].id);
  });

  it('counts and drops malformed queries (short, QR set) without sending anything upstream', async () => {
    const link = learned();
    fwd = new DnsForwarder(link.inet, { upstream: { address: '127.0.0.1', port: server.port } }).start();
    link.inject(udpFrame({ src: '10.0.2.15', dst: '10.0.2.3', sport: 40000, dport: 53, data: [1, 2, 3, 4, 5] }));
    const resp = dnsQuery(9, 'example.test');
    resp[2] |= 0x80;
    link.inject(udpFrame({ src: '10.0.2.15', dst: '10.0.2.3', sport: 40000, dport: 53, data: resp }));
    await new Promise((r) => setTimeout(r, 50));
    expect(fwd.stats.malformed).to.equal(2);
    expect(fwd.stats.queries).to.equal(0);
    expect(server.seen).to.have.length(0);
    expect(link.take()).to.have.length(0);
    expect(link.log.lines.some((l) => /dns: from 10\.0\.2\.15:40000: 5 bytes/.test(l))).to.equal(true);
  });

  it('a query with no reply expires after the timeout (scheduler time); a late reply is unmatched', async () => {
    const link = learned();
    server.silent = true;
    fwd = new DnsForwarder(link.inet, { upstream: { address: '127.0.0.1', port: server.port }, timeoutMs: 5000 }).start();
    link.inject(query({ id: 1, name: 'example.test' }));
    expect(await until(() => server.seen.length === 1)).to.equal(true);
    link.advance(4999);
    expect(fwd.inflightCount).to.equal(1);
    link.advance(1);
    expect(fwd.inflightCount).to.equal(0);
    expect(fwd.stats.timeouts).to.equal(1);
    // the answer comes now: nobody waits for it
    server.silent = false;
    const q = server.seen[0];
    const late = Buffer.from(q.bytes);
    late[2] |= 0x80;
    server.sock.send(late, q.port, '127.0.0.1');
    expect(await until(() => fwd!.stats.unmatched === 1)).to.equal(true);
    expect(link.take()).to.have.length(0);
  });

  it('bounds the in-flight table: queries beyond it are dropped and counted', async () => {
    const link = learned();
    server.silent = true;
    fwd = new DnsForwarder(link.inet, { upstream: { address: '127.0.0.1', port: server.port }, maxInflight: 2 }).start();
    for (let i = 0; i < 3; i++) link.inject(query({ id: 100 + i, name: 'example.test', sport: 40000 + i }));
    expect(await until(() => server.seen.length === 2)).to.equal(true);
    await new Promise((r) => setTimeout(r, 30));
    expect(server.seen).to.have.length(2);
    expect(fwd.stats).to.include({ queries: 3, forwarded: 2, inflightFull: 1 });
  });

  it('without an upstream answers SERVFAIL at once, echoing the question, and says so once in the log', () => {
    const link = learned();
    fwd = new DnsForwarder(link.inet, { upstream: null }).start();
    link.inject(query({ id: 0x4242, name: 'example.test' }), query({ id: 0x4243, name: 'example.test' }));
    const rs = udpReplies(link.take());
    expect(rs).to.have.length(2);
    const p = rs[0].payload;
    expect(rs[0].id).to.equal(0x4242);
    expect(p[2] & 0x80, 'QR').to.equal(0x80);
    expect(p[3] & 15, 'RCODE').to.equal(2);
    expect(u16(p, 4), 'QDCOUNT').to.equal(1);
    expect(Buffer.from(p.subarray(12)).equals(dnsQuery(0, 'example.test').subarray(12))).to.equal(true);
    expect(fwd.stats.servfail).to.equal(2);
    expect(link.log.lines.filter((l) => /no upstream resolver/.test(l))).to.have.length(1);
  });

  it('drops datagrams on its upstream socket that do not come from the upstream', async () => {
    const link = learned();
    fwd = new DnsForwarder(link.inet, { upstream: { address: '127.0.0.1', port: server.port } }).start();
    link.inject(query({ id: 3, name: 'example.test' }));
    expect(await until(() => link.sent.length > 0)).to.equal(true);
    link.take();
    const intruder = dgram.createSocket('udp4');
    const forged = dnsQuery(0, 'example.test');
    forged[2] |= 0x80;
    for (let id = 0; id < 4; id++) {
      forged.writeUInt16BE(id, 0);
      intruder.send(forged, fwd.localPort, '127.0.0.1');
    }
    expect(await until(() => fwd!.stats.foreign === 4)).to.equal(true);
    intruder.close();
    expect(link.take()).to.have.length(0);
  });

  it('serves fec0::3 too, answering from [fec0::3]:53 with a valid checksum', async () => {
    const { link, inet6 } = link6();
    link.inject(ns6({ target: 'fec0::3', src: GUEST_GLOBAL }));
    link.take();
    fwd = new DnsForwarder(link.inet, { upstream: { address: '127.0.0.1', port: server.port }, inet6 }).start();
    const q = Array.from(dnsQuery(0x5151, 'example.test'));
    const udp = [40001 >> 8, 40001 & 255, 0, 53, 0, 8 + q.length, 0, 0, ...q];
    link.inject(ipv6Frame({ src: GUEST_GLOBAL, dst: 'fec0::3', nh: 17, payload: udp }));
    expect(await until(() => link.sent.length > 0)).to.equal(true);
    const f = link.take().find((x) => u16(x, 12) === 0x86dd && x[20] === 17)!;
    expect(f).to.not.equal(undefined);
    expect(ip6At(f, 22)).to.equal(full('fec0::3'));
    expect(ip6At(f, 38)).to.equal(full(GUEST_GLOBAL));
    expect([u16(f, 54), u16(f, 56)]).to.deep.equal([53, 40001]);
    expect(csumOk6(f)).to.equal(true);
    expect(u16(f, 62)).to.equal(0x5151);
    expect(firstA(f.subarray(62))).to.equal('192.0.2.7');
  });
});

describe('dns forwarder: parsing', () => {
  it('--dns-forward ADDR[:PORT] for IPv4 and IPv6', () => {
    expect(parseDnsUpstream('192.0.2.1')).to.deep.equal({ address: '192.0.2.1', port: 53 });
    expect(parseDnsUpstream('127.0.0.1:5353')).to.deep.equal({ address: '127.0.0.1', port: 5353 });
    expect(parseDnsUpstream('::1')).to.deep.equal({ address: '::1', port: 53 });
    expect(parseDnsUpstream('[2001:db8::1]:5300')).to.deep.equal({ address: '2001:db8::1', port: 5300 });
    for (const bad of ['example.com', '1.2.3.4:', '1.2.3.4:0', '1.2.3.4:70000', '[::1]:x', '300.1.1.1', '']) {
      expect(() => parseDnsUpstream(bad), bad).to.throw(RangeError);
    }
  });

  it('the first nameserver of resolv.conf, skipping comments and junk', () => {
    expect(firstNameserver('# x\nsearch a.b\nnameserver bogus\nnameserver 10.255.255.53\nnameserver 1.1.1.1\n')).to.deep.equal({ address: '10.255.255.53', port: 53 });
    expect(firstNameserver('nameserver fe80::1%eth0')).to.deep.equal({ address: 'fe80::1%eth0', port: 53 });
    expect(firstNameserver('; nameserver 1.2.3.4\ndomain x\n')).to.equal(null);
  });

  it('SERVFAIL keeps the question and stops at a question that does not fit', () => {
    const q = dnsQuery(0x0102, 'a.bc');
    const out = new Uint8Array(64);
    const n = dnsServfail(q, 0, q.length, out);
    expect(n).to.equal(q.length);
    expect([out[2] & 0x81, out[3]]).to.deep.equal([0x81, 0x82]);
    const cut = q.subarray(0, q.length - 2);
    expect(dnsServfail(cut, 0, cut.length, out)).to.equal(12);
    expect(u16(out, 4)).to.equal(0);
  });
});
