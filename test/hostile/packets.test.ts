// Hostile frames from the guest: truncated and inconsistent Ethernet/IPv4/UDP/ICMP/ARP/DHCP. Each is
// dropped with the counter Linux (or the model, where Linux has none) uses for it and a log line;
// nothing throws, nothing is sent, no skb leaks. Then a fuzz run over random and mutated frames.
import { expect } from 'chai';
import {
  TestLink,
  UDHCPC_DISCOVER,
  arpFrame,
  dhcpFrame,
  echoRequest,
  fixChecksums,
  ipv4Frame,
  seeded,
  udpFrame,
} from '../unit/ipv4-link';

interface Case {
  name: string;
  frames: () => Uint8Array[];
  check: (l: TestLink) => void;
  /** a log line is expected (a malformed input, not a policy drop) */
  logs?: RegExp;
}

/** an IPv4-typed frame whose IP bytes are given raw (no fixing) */
function rawIp(ipBytes: number[]): Uint8Array {
  const f = new Uint8Array(14 + ipBytes.length);
  f.set([0x52, 0x55, 0x0a, 0x00, 0x02, 0x02, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 0x08, 0x00]);
  f.set(ipBytes, 14);
  return f;
}

/** a DHCP frame whose BOOTP payload is given raw (UDP/IP checksums made valid so DHCP sees it) */
function rawDhcp(payload: number[]): Uint8Array {
  return udpFrame({ dstMac: 'ff:ff:ff:ff:ff:ff', src: '0.0.0.0', dst: '255.255.255.255', sport: 68, dport: 67, data: payload });
}

/** the udhcpc DISCOVER's BOOTP bytes with its options replaced */
function discoverWith(options: number[], total = 300): number[] {
  const b = Array.from(UDHCPC_DISCOVER.subarray(42, 42 + 240));
  b.push(...options);
  while (b.length < total) b.push(0);
  return b.slice(0, total);
}

const CASES: Case[] = [
  {
    name: 'Ethernet frame shorter than its header',
    frames: () => [new Uint8Array(10)],
    check: (l) => expect(l.dev.stats.rx_length_errors).to.equal(1),
  },
  {
    name: 'IPv4 ethertype with 10 bytes of payload',
    frames: () => [rawIp([0x45, 0, 0, 10, 0, 0, 0, 0, 64, 1])],
    check: (l) => expect(l.stack.mib.Ip.InHdrErrors).to.equal(1),
    logs: /truncated header/,
  },
  {
    name: 'IHL < 5',
    frames: () => {
      const f = echoRequest({ id: 1, seq: 1, data: [] });
      f[14] = 0x44;
      return [f];
    },
    check: (l) => expect(l.stack.mib.Ip.InHdrErrors).to.equal(1),
    logs: /ihl 4 < 5/,
  },
  {
    name: 'version 6 under the IPv4 ethertype',
    frames: () => {
      const f = echoRequest({ id: 1, seq: 1, data: [] });
      f[14] = 0x65;
      return [f];
    },
    check: (l) => expect(l.stack.mib.Ip.InHdrErrors).to.equal(1),
    logs: /version 6/,
  },
  {
    name: 'IHL 15 (60-byte header) in a 28-byte packet',
    frames: () => {
      const f = echoRequest({ id: 1, seq: 1, data: [] });
      f[14] = 0x4f;
      return [f];
    },
    check: (l) => expect(l.stack.mib.Ip.InHdrErrors).to.equal(1),
    logs: /header length 60/,
  },
  {
    name: 'bad IPv4 header checksum',
    frames: () => {
      const f = echoRequest({ id: 1, seq: 1, data: [] });
      f[24] ^= 0x55;
      return [f];
    },
    check: (l) => {
      expect(l.stack.mib.IpExt.InCsumErrors).to.equal(1);
      expect(l.stack.mib.Ip.InHdrErrors).to.equal(1);
    },
    logs: /bad header checksum/,
  },
  {
    name: 'total length larger than the frame',
    frames: () => {
      const f = echoRequest({ id: 1, seq: 1, data: [1, 2, 3, 4] });
      f[16] = 0x05;
      f[17] = 0xdc;
      return [fixChecksums(f)];
    },
    check: (l) => expect(l.stack.mib.IpExt.InTruncatedPkts).to.equal(1),
    logs: /total length 1500 > 32/,
  },
  {
    name: 'total length smaller than the header',
    frames: () => {
      const f = echoRequest({ id: 1, seq: 1, data: [] });
      f[16] = 0;
      f[17] = 12;
      f[24] = f[25] = 0;
      const h = f.subarray(14, 34);
      let s = 0;
      for (let i = 0; i < 20; i += 2) s += (h[i] << 8) | h[i + 1];
      while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
      f[24] = (~s >> 8) & 255;
      f[25] = ~s & 255;
      return [f];
    },
    check: (l) => expect(l.stack.mib.Ip.InHdrErrors).to.equal(1),
    logs: /total length 12 < header length 20/,
  },
  {
    name: 'UDP datagram shorter than the UDP header',
    frames: () => [ipv4Frame({ src: '10.0.2.15', dst: '10.0.2.2', proto: 17, payload: [0, 68, 0, 67] })],
    check: (l) => expect(l.stack.mib.Udp.InErrors).to.equal(1),
    logs: /shorter than its header/,
  },
  {
    name: 'UDP length field beyond the IP payload, and below 8',
    frames: () => [
      ipv4Frame({ src: '10.0.2.15', dst: '10.0.2.2', proto: 17, payload: [0, 1, 0, 67, 0, 200, 0, 0, 9] }),
      ipv4Frame({ src: '10.0.2.15', dst: '10.0.2.2', proto: 17, payload: [0, 1, 0, 67, 0, 4, 0, 0, 9] }),
    ],
    check: (l) => expect(l.stack.mib.Udp.InErrors).to.equal(2),
    logs: /short packet/,
  },
  {
    name: 'bad UDP checksum on a DHCP DISCOVER',
    frames: () => {
      const f = UDHCPC_DISCOVER.slice();
      f[300] ^= 1;
      return [f];
    },
    check: (l) => {
      expect(l.stack.mib.Udp.InCsumErrors).to.equal(1);
      expect(l.inet.dhcp!.stats.InDiscovers).to.equal(0);
    },
    logs: /bad checksum/,
  },
  {
    name: 'DHCP message truncated to 100 bytes',
    frames: () => [rawDhcp(Array.from(UDHCPC_DISCOVER.subarray(42, 142)))],
    check: (l) => expect(l.inet.dhcp!.stats.InMalformed).to.equal(1),
    logs: /dhcp: malformed message .*truncated/,
  },
  {
    name: 'BOOTP without the DHCP magic cookie',
    frames: () => {
      const b = discoverWith([53, 1, 1, 255]);
      b[236] = 0;
      return [rawDhcp(b)];
    },
    check: (l) => expect(l.inet.dhcp!.stats.InMalformed).to.equal(1),
    logs: /unrecognized/,
  },
  {
    name: 'DHCP option whose length runs past the end',
    frames: () => [rawDhcp(discoverWith([53, 1, 1, 12, 200, 0x61, 0x62], 246))],
    check: (l) => expect(l.inet.dhcp!.stats.InMalformed).to.equal(1),
    logs: /malformed/,
  },
  {
    name: 'DHCP option 53 with length 0, and option 50 with length 5',
    frames: () => [rawDhcp(discoverWith([53, 0, 255])), rawDhcp(discoverWith([53, 1, 1, 50, 5, 10, 0, 2, 15, 0, 255]))],
    check: (l) => expect(l.inet.dhcp!.stats.InMalformed).to.equal(2),
    logs: /option 53/,
  },
  {
    name: 'DHCP options without END',
    frames: () => [rawDhcp(discoverWith([53, 1, 1, 61, 7, 1, 0x52, 0x54, 0, 0x12, 0x34, 0x56], 252))],
    check: (l) => expect(l.inet.dhcp!.stats.InMalformed).to.equal(1),
    logs: /truncated/,
  },
  {
    name: 'DHCP BOOTREPLY sent by the guest',
    frames: () => {
      const b = discoverWith([53, 1, 2, 255]);
      b[0] = 2;
      return [rawDhcp(b)];
    },
    check: (l) => expect(l.inet.dhcp!.stats.InIgnored).to.equal(1),
  },
  {
    name: 'DHCP REQUEST that fits no state (no server id, requested address or ciaddr)',
    frames: () => [dhcpFrame({ type: 3 })],
    check: (l) => expect(l.inet.dhcp!.stats.InMalformed).to.equal(1),
    logs: /REQUEST from .* with no server id/,
  },
  {
    name: 'ARP truncated, with 8-byte hardware addresses, and with operation 9',
    frames: () => {
      const t = arpFrame({ op: 1, spa: '10.0.2.15', tpa: '10.0.2.2' }).subarray(0, 34);
      const h = arpFrame({ op: 1, spa: '10.0.2.15', tpa: '10.0.2.2' });
      h[18] = 8;
      const o = arpFrame({ op: 9, spa: '10.0.2.15', tpa: '10.0.2.2' });
      return [t, h, o];
    },
    check: (l) => expect(l.inet.ind.arpStats.InDropped).to.equal(3),
    logs: /arp: eth0: truncated 20-byte packet/,
  },
  {
    name: 'ICMP destination unreachable quoting a garbage header',
    frames: () => [ipv4Frame({ src: '10.0.2.15', dst: '10.0.2.2', proto: 1, payload: [3, 3, 0, 0, 0, 0, 0, 0, 0x41, 0, 0, 0] })],
    check: (l) => expect(l.stack.mib.Icmp.InErrors).to.equal(1),
  },
];

describe('hostile packets: every malformed frame is dropped, counted and logged; nothing throws', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const link = new TestLink();
      for (const f of c.frames()) link.inject(f);
      c.check(link);
      expect(link.take().length, 'nothing sent in answer').to.equal(0);
      expect(link.stack.exceptions).to.equal(0);
      expect(link.inet.net.drops.handlerErrors).to.equal(0);
      expect(link.stack.pool.available).to.equal(link.stack.pool.slabs);
      if (c.logs) expect(link.log.lines.some((x) => c.logs!.test(x)), `log ${c.logs} in ${JSON.stringify(link.log.lines)}`).to.equal(true);
    });
  }

  it('survives 20000 random and mutated frames (checksums fixed so deeper layers see them)', () => {
    const rnd = seeded(42);
    const r = (n: number): number => Math.floor(rnd() * n);
    const link = new TestLink();
    const seeds: Uint8Array[] = [
      UDHCPC_DISCOVER,
      echoRequest({ id: 1, seq: 1, data: [1, 2, 3, 4, 5, 6, 7, 8] }),
      arpFrame({ op: 1, spa: '10.0.2.15', tpa: '10.0.2.2' }),
      udpFrame({ src: '10.0.2.15', dst: '10.0.2.3', sport: 1000, dport: 53, data: [1, 2, 3] }),
      dhcpFrame({ type: 3, options: [[50, 10, 0, 2, 15], [54, 10, 0, 2, 2], [55, 1, 3, 6, 12, 15]] }),
    ];
    for (let i = 0; i < 20000; i++) {
      let f: Uint8Array;
      if (i % 4 === 0) {
        f = new Uint8Array(r(400));
        for (let j = 0; j < f.length; j++) f[j] = r(256);
        if (f.length > 14) {
          f[12] = 0x08;
          f[13] = r(2) ? 0x00 : 0x06;
          f.set([0x52, 0x55, 0x0a, 0x00, 0x02, 0x02]);
        }
      } else {
        const s = seeds[r(seeds.length)];
        f = s.slice(0, r(3) === 0 ? r(s.length + 1) : s.length);
        const flips = 1 + r(6);
        for (let k = 0; k < flips && f.length > 14; k++) f[14 + r(f.length - 14)] = r(256);
        if (f.length >= 34 && f[12] === 0x08 && f[13] === 0 && r(4) !== 0 && (f[14] & 15) >= 5 && 14 + (f[14] & 15) * 4 <= f.length) {
          fixChecksums(f);
        }
      }
      // sometimes the frame sits at an odd place inside a larger buffer (guest memory is not aligned)
      if (r(3) === 0) {
        const big = new Uint8Array(f.length + 7);
        const at = 1 + r(6);
        big.set(f, at);
        f = big.subarray(at, at + f.length);
      }
      link.inject(f);
      if (i % 500 === 0) link.advance(1000);
      link.take();
    }
    link.advance(120_000);
    link.take();
    expect(link.stack.exceptions).to.equal(0);
    expect(link.inet.net.drops.handlerErrors).to.equal(0);
    expect(link.stack.pool.available).to.equal(link.stack.pool.slabs);
    const m = link.stack.mib;
    // the fuzz reached every layer
    expect(m.Ip.InHdrErrors).to.be.greaterThan(0);
    expect(m.Udp.InDatagrams).to.be.greaterThan(0);
    expect(m.Icmp.InMsgs).to.be.greaterThan(0);
    expect(link.inet.dhcp!.stats.InMalformed + link.inet.dhcp!.stats.InDiscovers).to.be.greaterThan(0);
  });
});
