// Toeplitz (RSS) hash against the published verification vectors.
// Source: Microsoft, "Verifying the RSS Hash Calculation" (Windows Driver Kit docs, NDIS RSS), the
// same suite as the Intel 82599 datasheet §7.1.2.8.1 and DPDK app/test/test_thash.c; restated in
// /work/shared/reference/linux-path.md §4. Key: the default 40-byte key published with it.
import { expect } from 'chai';
import { RSS_DEFAULT_KEY, rss_input, toeplitz_hash } from '../../kernel-model/core/toeplitz';

function v4(a: string): number[] {
  return a.split('.').map(Number);
}

/** RFC 4291 text form (with ::) → 16 bytes */
function v6(a: string): number[] {
  const [head, tail] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]);
}

const port = (p: number): number[] => [p >> 8, p & 0xff];

interface Vector {
  src: number[];
  dst: number[];
  sport: number;
  dport: number;
  ip: number;
  l4: number;
}

const IPV4: Vector[] = [
  { src: v4('66.9.149.187'), dst: v4('161.142.100.80'), sport: 2794, dport: 1766, ip: 0x323e8fc2, l4: 0x51ccc178 },
  { src: v4('199.92.111.2'), dst: v4('65.69.140.83'), sport: 14230, dport: 4739, ip: 0xd718262a, l4: 0xc626b0ea },
  { src: v4('24.19.198.95'), dst: v4('12.22.207.184'), sport: 12898, dport: 38024, ip: 0xd2d0a5de, l4: 0x5c2b394a },
  { src: v4('38.27.205.30'), dst: v4('209.142.163.6'), sport: 48228, dport: 2217, ip: 0x82989176, l4: 0xafc7327f },
  { src: v4('153.39.163.191'), dst: v4('202.188.127.2'), sport: 44251, dport: 1303, ip: 0x5d1809c5, l4: 0x10e828a2 },
];

const IPV6: Vector[] = [
  { src: v6('3ffe:2501:200:1fff::7'), dst: v6('3ffe:2501:200:3::1'), sport: 2794, dport: 1766, ip: 0x2cc18cd5, l4: 0x40207d3d },
  { src: v6('3ffe:501:8::260:97ff:fe40:efab'), dst: v6('ff02::1'), sport: 14230, dport: 4739, ip: 0x0f0c461c, l4: 0xdde51bbf },
  {
    src: v6('3ffe:1900:4545:3:200:f8ff:fe21:67cf'),
    dst: v6('fe80::200:f8ff:fe21:67cf'),
    sport: 44251,
    dport: 38024,
    ip: 0x4b61e985,
    l4: 0x02d1feef,
  },
];

describe('toeplitz (RSS hash)', () => {
  it('has the published default key', () => {
    expect(Buffer.from(RSS_DEFAULT_KEY).toString('hex')).to.equal('6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa');
  });

  for (const [name, vectors] of [['IPv4', IPV4], ['IPv6', IPV6]] as const) {
    vectors.forEach((v, i) => {
      it(`${name} vector ${i + 1} (ports ${v.sport} → ${v.dport}): addresses only and with ports`, () => {
        const ipOnly = Uint8Array.from([...v.src, ...v.dst]);
        const withPorts = Uint8Array.from([...v.src, ...v.dst, ...port(v.sport), ...port(v.dport)]);
        expect(toeplitz_hash(RSS_DEFAULT_KEY, ipOnly, 0, ipOnly.length)).to.equal(v.ip);
        expect(toeplitz_hash(RSS_DEFAULT_KEY, withPorts, 0, withPorts.length)).to.equal(v.l4);
      });
    });
  }

  it('rss_input builds the tuple from real IPv4/TCP and IPv6/UDP headers (fragments without ports)', () => {
    const out = new Uint8Array(36);
    const v = IPV4[0];
    const ip4 = new Uint8Array(40);
    ip4.set([0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, ...v.src, ...v.dst, ...port(v.sport), ...port(v.dport)]);
    let n = rss_input(ip4, 0, ip4.length, true, out);
    expect(n).to.equal(12);
    expect(toeplitz_hash(RSS_DEFAULT_KEY, out, 0, n)).to.equal(v.l4);
    n = rss_input(ip4, 0, ip4.length, false, out);
    expect(toeplitz_hash(RSS_DEFAULT_KEY, out, 0, n)).to.equal(v.ip);
    ip4[6] = 0x20; // MF: a first fragment hashes on addresses only
    n = rss_input(ip4, 0, ip4.length, true, out);
    expect(n).to.equal(8);

    const w = IPV6[2];
    const ip6 = new Uint8Array(48);
    ip6.set([0x60, 0, 0, 0, 0, 8, 17, 64, ...w.src, ...w.dst, ...port(w.sport), ...port(w.dport)]);
    n = rss_input(ip6, 0, ip6.length, true, out);
    expect(n).to.equal(36);
    expect(toeplitz_hash(RSS_DEFAULT_KEY, out, 0, n)).to.equal(w.l4);
    expect(rss_input(ip6, 0, 30, true, out)).to.equal(0); // truncated header: nothing read past end
  });
});
