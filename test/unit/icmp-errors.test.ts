// ICMP errors through the NetStack. Consumed: the guest's unreachable / frag-needed / time exceeded /
// parameter problem / redirect reach the quoted protocol's err_handler with Linux's info and errno;
// truncated quotes count InErrors. Generated: parameter problem for bad options (pointer), protocol and
// port unreachable, and the rules of __icmp_send — never about an ICMP error, a non-first fragment, a
// broadcast/multicast (IP or link) or a source that is not a unicast host — with the rate limit.
import { expect } from 'chai';
import type { IcmpErr } from '../../kernel-model/icmp/icmp_err';
import { TestLink, dotted, ipv4Frame, slowChecksum, u16, udpFrame } from './ipv4-link';
import { fragFrame, learnedLink, pattern, udpMessage } from './ipv4-frag-frames';

interface Seen {
  type: number;
  code: number;
  info: number;
  errno: number;
  fatal: boolean;
  from: string;
  daddr: string;
  sport: number;
  dport: number;
  l4Len: number;
}

function ipStr(a: number): string {
  return [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.');
}

function hookInto(link: TestLink, protocol: number): Seen[] {
  const seen: Seen[] = [];
  link.inet.net.inet_add_err_handler(protocol, (e: IcmpErr) => {
    seen.push({ type: e.type, code: e.code, info: e.info, errno: e.errno, fatal: e.fatal, from: ipStr(e.from), daddr: ipStr(e.daddr), sport: e.sport, dport: e.dport, l4Len: e.l4Len });
  });
  return seen;
}

/** the IP header + 8 bytes of a UDP datagram the model sent to the guest (10.0.2.2:53 → 10.0.2.15:33000) */
function quotedUdp(): number[] {
  const u = udpMessage('10.0.2.2', '10.0.2.15', 53, 33000, pattern(40));
  const h = [0x45, 0, 0, 68, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 2, 2, 10, 0, 2, 15];
  const c = slowChecksum([h]);
  h[10] = c >> 8;
  h[11] = c & 255;
  return [...h, ...Array.from(u.subarray(0, 8))];
}

/** an ICMP error from the guest about `quote`; rest = the second 32-bit word */
function icmpError(type: number, code: number, rest: number, quote: number[]): Uint8Array {
  return ipv4Frame({ src: '10.0.2.15', dst: '10.0.2.2', proto: 1, payload: [type, code, 0, 0, rest >>> 24, (rest >>> 16) & 255, (rest >>> 8) & 255, rest & 255, ...quote] });
}

describe('ICMP errors consumed (icmp_unreach → err_handler)', () => {
  it('hands port unreachable to the UDP hook with the quoted addresses, ports and ECONNREFUSED (fatal)', () => {
    const link = learnedLink(new TestLink());
    const seen = hookInto(link, 17);
    link.inject(icmpError(3, 3, 0, quotedUdp()));
    expect(seen).to.deep.equal([{ type: 3, code: 3, info: 0, errno: 111, fatal: true, from: '10.0.2.15', daddr: '10.0.2.15', sport: 53, dport: 33000, l4Len: 8 }]);
    expect(link.stack.mib.Icmp.InErrors).to.equal(0);
    expect(link.stack.mib.IcmpMsg.InType[3]).to.equal(1);
  });

  it('host unreachable is transient (EHOSTUNREACH, not fatal); frag needed carries the next-hop MTU per ip_no_pmtu_disc', () => {
    const link = learnedLink(new TestLink());
    const seen = hookInto(link, 17);
    link.inject(icmpError(3, 1, 0, quotedUdp()));
    link.inject(icmpError(3, 4, 1400, quotedUdp()));
    expect(seen.map((s) => [s.code, s.errno, s.fatal, s.info])).to.deep.equal([
      [1, 113, false, 0],
      [4, 90, true, 1400],
    ]);
    link.inet.net.sysctl.ip_no_pmtu_disc = 1;
    link.inject(icmpError(3, 4, 1400, quotedUdp()));
    expect(seen[2].info).to.equal(0);
    link.inet.net.sysctl.ip_no_pmtu_disc = 2;
    link.inject(icmpError(3, 4, 1400, quotedUdp()));
    expect(seen.length).to.equal(3);
  });

  it('time exceeded in transit reaches the hook; fragment reassembly time exceeded does not', () => {
    const link = learnedLink(new TestLink());
    const seen = hookInto(link, 17);
    link.inject(icmpError(11, 0, 0, quotedUdp()));
    link.inject(icmpError(11, 1, 0, quotedUdp()));
    expect(seen.map((s) => [s.type, s.code, s.errno])).to.deep.equal([[11, 0, 113]]);
    expect(link.stack.mib.Icmp.InTimeExcds).to.equal(2);
  });

  it('parameter problem passes the pointer (EPROTO); redirect passes the gateway; unknown unreach codes stop', () => {
    const link = learnedLink(new TestLink());
    const seen = hookInto(link, 17);
    link.inject(icmpError(12, 0, 21 << 24, quotedUdp()));
    link.inject(icmpError(5, 1, 0x0a000203, quotedUdp()));
    link.inject(icmpError(3, 16, 0, quotedUdp()));
    expect(seen.map((s) => [s.type, s.info, s.errno, s.fatal])).to.deep.equal([
      [12, 21, 71, true],
      [5, 0x0a000203, 0, false],
    ]);
  });

  it('counts InErrors for quotes shorter than the IP header + 8 bytes or with IHL < 5, and for IPPROTO_RAW', () => {
    const link = learnedLink(new TestLink());
    const seen = hookInto(link, 17);
    const q = quotedUdp();
    link.inject(icmpError(3, 3, 0, q.slice(0, 24))); // 4 bytes of UDP
    link.inject(icmpError(3, 3, 0, q.slice(0, 12))); // not even an IP header
    const bad = [...q];
    bad[0] = 0x44;
    link.inject(icmpError(3, 3, 0, bad));
    const raw = [...q];
    raw[9] = 255;
    link.inject(icmpError(3, 3, 0, raw));
    expect(seen.length).to.equal(0);
    expect(link.stack.mib.Icmp.InErrors).to.equal(4);
    expect(link.take().length).to.equal(0);
  });

  it('a throwing hook is caught and counted; no hook means nothing happens', () => {
    const link = learnedLink(new TestLink());
    link.inject(icmpError(3, 3, 0, quotedUdp()));
    link.inet.net.inet_add_err_handler(17, () => {
      throw new Error('boom');
    });
    expect(link.inet.net.inet_add_err_handler(17, () => undefined)).to.equal(false);
    link.inject(icmpError(3, 3, 0, quotedUdp()));
    expect(link.inet.net.drops.handlerErrors).to.equal(1);
    expect(link.stack.exceptions).to.equal(0);
  });
});

describe('ICMP errors generated (__icmp_send rules)', () => {
  /** an echo request with IP options `opts` (checksums fixed by hand) */
  function withOptions(opts: number[], o: { dst?: string; dstMac?: string; proto?: number; l4?: number[]; frag?: number } = {}): Uint8Array {
    const l4 = o.l4 ?? [8, 0, 0xf7, 0xfe, 0, 1, 0, 0];
    const hlen = 20 + opts.length;
    const f = new Uint8Array(14 + hlen + l4.length);
    const dm = (o.dstMac ?? '52:55:0a:00:02:02').split(':').map((x) => parseInt(x, 16));
    f.set([...dm, 0x52, 0x54, 0, 0x12, 0x34, 0x56, 8, 0]);
    const tot = hlen + l4.length;
    const fo = o.frag ?? 0;
    const dst = (o.dst ?? '10.0.2.2').split('.').map(Number);
    f.set([0x40 | (hlen >> 2), 0, tot >> 8, tot & 255, 0, 9, fo >> 8, fo & 255, 64, o.proto ?? 1, 0, 0, 10, 0, 2, 15, ...dst, ...opts, ...l4], 14);
    const c = slowChecksum([f.subarray(14, 14 + hlen)]);
    f[24] = c >> 8;
    f[25] = c & 255;
    return f;
  }

  it('answers malformed options with parameter problem pointing at the offending byte (ip_options_compile)', () => {
    const link = learnedLink(new TestLink());
    const cases: [number[], number][] = [
      [[7, 2, 4, 0], 21], // record route shorter than 3 → pointer at the length
      [[7, 7, 2, 0, 0, 0, 0, 0], 22], // RR pointer < 4
      [[68, 8, 4, 0, 0, 0, 0, 0], 22], // timestamp pointer < 5
      [[1, 68, 99, 0], 21], // length beyond the header
      [[7, 7, 4, 0, 0, 0, 0, 7, 3, 4, 0], 27], // a second RR
    ];
    for (const [opts, ptr] of cases) {
      while (opts.length % 4) opts.push(0);
      link.inject(withOptions(opts));
      const out = link.take();
      expect(out.length, `options ${opts}`).to.equal(1);
      const f = out[0];
      expect([f[34], f[35], f[38]], `options ${opts}`).to.deep.equal([12, 0, ptr]);
      expect(dotted(f, 30)).to.equal('10.0.2.15');
    }
    expect(link.stack.mib.Ip.InHdrErrors).to.equal(cases.length);
    expect(link.stack.mib.IcmpMsg.OutType[12]).to.equal(cases.length);
  });

  it('never sends an error about an ICMP error, a non-first fragment, a broadcast or multicast, or a non-unicast source', () => {
    const link = learnedLink(new TestLink());
    const bad = [7, 2, 4, 0];
    // about an ICMP error (dest unreach inside): silent; about an echo request: sent
    link.inject(withOptions(bad, { l4: [3, 3, 0xfc, 0xfc, 0, 0, 0, 0] }));
    expect(link.take().length).to.equal(0);
    link.inject(withOptions(bad));
    expect(link.take().length).to.equal(1);
    // a non-first fragment (offset 8) with bad options: silent; the first fragment: sent
    link.inject(withOptions(bad, { frag: 0x2001 }));
    expect(link.take().length).to.equal(0);
    link.inject(withOptions(bad, { frag: 0x2000 }));
    expect(link.take().length).to.equal(1);
    // to the subnet broadcast, to a joined multicast group, or in a link-layer broadcast frame
    link.inject(withOptions(bad, { dst: '10.0.2.255', dstMac: 'ff:ff:ff:ff:ff:ff' }));
    link.inject(withOptions(bad, { dst: '224.0.0.1', dstMac: '01:00:5e:00:00:01' }));
    link.inject(withOptions(bad, { dstMac: 'ff:ff:ff:ff:ff:ff' }));
    expect(link.take().length).to.equal(0);
    // an unknown protocol from an off-link source: no route back to a unicast host, so no error
    link.inject(ipv4Frame({ src: '192.0.2.7', dst: '10.0.2.2', proto: 200, payload: [1, 2, 3, 4] }));
    link.inject(udpFrame({ src: '192.0.2.7', dst: '10.0.2.2', sport: 1, dport: 9, data: [1] }));
    expect(link.take().length).to.equal(0);
    expect(link.stack.mib.Ip.InUnknownProtos).to.equal(1);
    expect(link.stack.mib.Udp.NoPorts).to.equal(1);
  });

  it('rate limits port unreachable per peer (burst 6) and counts OutRateLimitHost; frag-needed is exempt', () => {
    const link = learnedLink(new TestLink());
    for (let i = 0; i < 10; i++) link.inject(udpFrame({ src: '10.0.2.15', dst: '10.0.2.2', sport: 1000 + i, dport: 9, data: [i] }));
    const out = link.take().filter((f) => u16(f, 12) === 0x0800);
    expect(out.length).to.equal(6);
    expect(out.every((f) => f[34] === 3 && f[35] === 3)).to.equal(true);
    expect(link.stack.mib.Icmp.OutRateLimitHost).to.equal(4);
    const net = link.inet.net;
    expect(net.icmp.maskAllow(3, 4)).to.equal(true);
    expect(net.icmp.maskAllow(11, 1)).to.equal(false);
    expect(net.icmp.maskAllow(12, 0)).to.equal(false);
  });

  it('a reassembled datagram to a closed UDP port gets port unreachable quoting the reassembled header', () => {
    const link = learnedLink(new TestLink());
    const dgram = udpMessage('10.0.2.15', '10.0.2.2', 4000, 9, pattern(2000));
    link.inject(fragFrame({ proto: 17, id: 77 }, 0, dgram.subarray(0, 1480), true), fragFrame({ proto: 17, id: 77 }, 1480, dgram.subarray(1480), false));
    const out = link.take();
    expect(out.length).to.equal(1);
    const f = out[0];
    expect([f[34], f[35]]).to.deep.equal([3, 3]);
    // quoted header: total length of the whole datagram, no MF, offset 0
    expect([u16(f, 42 + 2), u16(f, 42 + 6) & 0x3fff]).to.deep.equal([20 + 2008, 0]);
    expect(u16(f, 16)).to.equal(576);
  });
});
