// Outbound UDP over IPv6 (udp6-proxy.ts): guest datagrams to fec0::2 reach a real host UDP socket on
// the host's loopback and the answers come back from fec0::2; an off-link destination (this machine's
// own IPv6 address) is terminated and carried as is; ECONNREFUSED becomes ICMPv6 port unreachable;
// restrict mode and the flow cap drop and count. Also DNS over TCP on [fec0::3]:53 through the TCP
// proxy to a TCP upstream on loopback. The model runs in virtual time pumped by the event loop.
import { expect } from 'chai';
import * as dgram from 'dgram';
import * as net from 'net';
import { Udp6Proxy } from '../../kernel-model/services/host-proxy/udp6-proxy';
import { TcpProxy } from '../../kernel-model/services/host-proxy/tcp-proxy';
import { GUEST_GLOBAL, icmp6Type, ip6, ipv6Frame, l4csum6, learnedLink6, u16, type Link6 } from './ipv6-link';
import { until } from '../support/dns-server';
import { ownIpv6 } from '../support/host-servers';

function udp6(dst: string, sport: number, dport: number, data: number[]): Uint8Array {
  const len = 8 + data.length;
  return ipv6Frame({ src: GUEST_GLOBAL, dst, nh: 17, payload: [sport >> 8, sport & 255, dport >> 8, dport & 255, len >> 8, len & 255, 0, 0, ...data] });
}

describe('udp6-proxy: guest UDP over IPv6 carried to host sockets', function () {
  this.timeout(20000);
  let l: Link6;
  let proxy: Udp6Proxy | null = null;
  let pump: NodeJS.Timeout | null = null;
  const socks: dgram.Socket[] = [];
  beforeEach(() => {
    l = learnedLink6();
    pump = setInterval(() => l.link.advance(5), 1);
  });
  afterEach(() => {
    if (pump !== null) clearInterval(pump);
    proxy?.close();
    proxy = null;
    for (const s of socks.splice(0)) s.close();
  });

  async function echoServer(host: string): Promise<number> {
    const s = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    socks.push(s);
    s.on('message', (m, r) => s.send(Buffer.concat([Buffer.from('re:'), m]), r.port, r.address));
    await new Promise<void>((res) => s.bind(0, host, () => res()));
    return s.address().port;
  }

  it('fec0::2 maps to the host loopback; the answer returns from fec0::2 with a valid checksum', async () => {
    proxy = new Udp6Proxy(l.inet6).start();
    const port = await echoServer(proxy.loopback6);
    l.link.inject(udp6('fec0::2', 40001, port, [...Buffer.from('ping6')]));
    expect(await until(() => l.link.sent.some((f) => f[20] === 17), 5000)).to.equal(true);
    const f = l.link.take().find((x) => x[20] === 17)!;
    expect(Array.from(f.subarray(22, 38))).to.deep.equal(ip6('fec0::2'));
    expect([u16(f, 54), u16(f, 56)]).to.deep.equal([port, 40001]);
    expect(Buffer.from(f.subarray(62)).toString()).to.equal('re:ping6');
    expect(l4csum6(f.subarray(22, 38), f.subarray(38, 54), 17, f.subarray(54))).to.equal(0);
    expect(proxy.stats).to.include({ flows: 1, datagramsOut: 1, datagramsIn: 1 });
    expect(l.link.stack.mib.Udp6.InDatagrams).to.equal(1);
  });

  it('an off-link destination (this machine’s own IPv6 address) is terminated and answered as itself', async function () {
    const own = ownIpv6();
    if (own === null) this.skip();
    proxy = new Udp6Proxy(l.inet6).start();
    const port = await echoServer(own!);
    l.link.inject(udp6(own!, 40002, port, [1, 2, 3]));
    expect(await until(() => l.link.sent.some((f) => f[20] === 17), 5000)).to.equal(true);
    const f = l.link.take().find((x) => x[20] === 17)!;
    expect(Array.from(f.subarray(22, 38))).to.deep.equal(ip6(own!));
  });

  it('ECONNREFUSED from the host becomes ICMPv6 port unreachable quoting the datagram', async () => {
    proxy = new Udp6Proxy(l.inet6).start();
    // a port nobody listens on: bind and close
    const s = dgram.createSocket(net.isIPv6(proxy.loopback6) ? 'udp6' : 'udp4');
    await new Promise<void>((res) => s.bind(0, proxy!.loopback6, () => res()));
    const port = s.address().port;
    s.close();
    l.link.inject(udp6('fec0::2', 40003, port, [9, 9]));
    // the first send succeeds; the refusal arrives on the next one
    await until(() => proxy!.stats.datagramsOut > 0, 1000);
    await new Promise((r) => setTimeout(r, 50));
    l.link.inject(udp6('fec0::2', 40003, port, [9, 9]));
    expect(await until(() => proxy!.stats.refused > 0, 5000)).to.equal(true);
    const icmp = l.link.take().filter((f) => icmp6Type(f) === 1);
    expect(icmp.length).to.be.greaterThan(0);
    expect(icmp[0][55]).to.equal(4);
    // the quote: IPv6 header of the datagram, UDP ports
    expect([u16(icmp[0], 62 + 40), u16(icmp[0], 62 + 42)]).to.deep.equal([40003, port]);
  });

  it('restrict drops and counts; on-link destinations other than the gateway are not carried', async () => {
    proxy = new Udp6Proxy(l.inet6, { restrict: true }).start();
    l.link.inject(udp6('fec0::2', 40004, 9, [1]));
    expect(proxy.stats.restricted).to.equal(1);
    proxy.restrict = false;
    // fec0::77 is on the link: no flow, ordinary no-port path (the model does not own it: not delivered)
    l.link.inject(udp6('fec0::77', 40004, 9, [1]));
    expect(proxy.stats.flows).to.equal(0);
  });

  it('the flow cap drops and counts', async () => {
    proxy = new Udp6Proxy(l.inet6, { maxFlows: 2 }).start();
    const port = await echoServer(proxy.loopback6);
    for (let i = 0; i < 4; i++) l.link.inject(udp6('fec0::2', 41000 + i, port, [i]));
    expect(proxy.flowCount).to.equal(2);
    expect(proxy.stats.flowLimit).to.equal(2);
  });

  it('DNS over TCP to [fec0::3]:53 goes to the upstream over TCP (length-prefixed messages)', async () => {
    // a TCP "resolver" on loopback answering each length-prefixed query with the same bytes + 0xaa
    const seen: Buffer[] = [];
    const srv = net.createServer((c) => {
      c.on('data', (d: Buffer) => {
        seen.push(d);
        const q = d.subarray(2);
        const a = Buffer.concat([q, Buffer.from([0xaa])]);
        const len = Buffer.from([a.length >> 8, a.length & 255]);
        c.write(Buffer.concat([len, a]));
      });
    });
    await new Promise<void>((res) => srv.listen(0, '127.0.0.1', () => res()));
    const port = (srv.address() as net.AddressInfo).port;
    const tcp = new TcpProxy(l.link.inet, l.link.inet.tcp, { inet6: l.inet6, dnsUpstream: { address: '127.0.0.1', port } }).start();
    try {
      const t = tcp.hostTarget6(Uint8Array.from(ip6('fec0::3')), 0, 53);
      expect(t).to.deep.equal({ host: '127.0.0.1', port });
      expect(tcp.hostTarget6(Uint8Array.from(ip6('fec0::3')), 0, 54)).to.equal(null);
      // a SYN to [fec0::3]:53: the handshake completes once the upstream connect does
      l.link.inject(ipv6Frame({ src: GUEST_GLOBAL, dst: 'fec0::3', nh: 6, payload: [0x9c, 0x50, 0, 53, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0], csumAt: 16 }));
      expect(await until(() => l.link.sent.some((f) => f[20] === 6 && f[54 + 13] === 0x12), 5000)).to.equal(true);
      const sa = l.link.take().find((f) => f[20] === 6 && f[54 + 13] === 0x12)!;
      const isn = ((sa[58] << 24) | (sa[59] << 16) | (sa[60] << 8) | sa[61]) >>> 0;
      const query = [0, 5, 0x12, 0x34, 1, 0, 0];
      const ack = (isn + 1) >>> 0;
      const seg = [0x9c, 0x50, 0, 53, 0, 0, 0, 2, ack >>> 24, (ack >>> 16) & 255, (ack >>> 8) & 255, ack & 255, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0, ...query];
      l.link.inject(ipv6Frame({ src: GUEST_GLOBAL, dst: 'fec0::3', nh: 6, payload: seg, csumAt: 16 }));
      expect(await until(() => seen.length > 0, 5000)).to.equal(true);
      expect(Array.from(Buffer.concat(seen))).to.deep.equal(query);
      expect(await until(() => l.link.sent.some((f) => f[20] === 6 && (u16(f, 18) > 20 + 12 || u16(f, 18) > 20) && f.length > 54 + 20 && f[54 + 13] & 0x08), 5000)).to.equal(true);
      const data = l.link.take().find((f) => f[20] === 6 && f[54 + 13] & 0x08)!;
      const doff = (data[54 + 12] >> 4) * 4;
      expect(Array.from(data.subarray(54 + doff))).to.deep.equal([0, 6, 0x12, 0x34, 1, 0, 0, 0xaa]);
    } finally {
      tcp.close();
      await new Promise<void>((res) => srv.close(() => res()));
    }
  });
});
