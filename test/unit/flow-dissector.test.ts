// SipHash-2-4 against the reference vectors, and the software flow hash (skb_get_hash): Linux's
// flow_keys layout, symmetric in both directions (__flow_hash_consistentify), stable, fragments,
// IPv6 flow label, VLAN, and truncated headers read nothing outside the skb.
import { expect } from 'chai';
import { siphash, siphash_key } from '../../kernel-model/core/rps/siphash';
import * as sip from '../../kernel-model/core/rps/siphash';
import {
  FlowKeys,
  FLOW_DIS_FIRST_FRAG,
  FLOW_DIS_IS_FRAGMENT,
  FLOW_DISSECTOR_KEY_IPV4_ADDRS,
  FLOW_DISSECTOR_KEY_IPV6_ADDRS,
  FLOW_DISSECTOR_F_STOP_AT_FLOW_LABEL,
  __flow_hash_consistentify,
  flow_dissect,
  skb_get_hash,
} from '../../kernel-model/core/flow_dissector';
import { Skb } from '../../kernel-model/core/skb';

// vectors_sip64 from the SipHash reference implementation (github.com/veorq/SipHash vectors.h,
// the paper's Appendix A suite): key 00..0f, input of length i = bytes 00..i-1; each the 8 output
// bytes in little-endian order, as vectors.h lists them.
const VECTORS_SIP64 = [
  '310e0edd47db6f72', 'fd67dc93c539f874', '5a4fa9d909806c0d', '2d7efbd796666785', 'b7877127e09427cf', '8da699cd64557618',
  'cee3fe586e46c9cb', '37d1018bf50002ab', '6224939a79f5f593', 'b0e4a90bdf82009e', 'f3b9dd94c5bb5d7a', 'a7ad6b22462fb3f4',
  'fbe50e86bc8f1e75', '903d84c02756ea14', 'eef27a8e90ca23f7', 'e545be4961ca29a1', 'db9bc2577fcc2a3f', '9447be2cf5e99a69',
  '9cd38d96f0b3c14b', 'bd6179a71dc96dbb', '98eea21af25cd6be', 'c7673b2eb0cbf2d0', '883ea3e395675393', 'c8ce5ccd8c030ca8',
  '94af49f6c650adb8', 'eab8858ade92e1bc', 'f315bb5bb835d817', 'adcf6b0763612e2f', 'a5c91da7acaa4dde', '716595876650a2a6',
  '28ef495c53a387ad', '42c341d8fa92d832', 'ce7cf2722f512771', 'e37859f94623f3a7', '381205bb1ab0e012', 'ae97a10fd434e015',
  'b4a31508beff4d31', '81396229f0907902', '4d0cf49ee5d4dcca', '5c73336a76d8bf9a', 'd0a704536ba93e0e', '925958fcd6420cad',
  'a915c29bc8067318', '952b79f3bc0aa6d4', 'f21df2e41d4535f9', '87577519048f53a9', '10a56cf5dfcd9adb', 'eb75095ccd986cd0',
  '51a9cb9ecba312e6', '96afadfc2ce666c7', '72fe52975a4364ee', '5a1645b276d592a1', 'b274cb8ebf87870a', '6f9bb4203de7b381',
  'eaecb2a30b22a87f', '9924a43cc1315724', 'bd838d3aafbf8db7', '0b1a2a3265d51aea', '135079a3231ce660', '932b2846e4d70666',
  'e1915f5cb1eca46c', 'f325965ca16d629f', '575ff28e60381be5', '724506eb4c328a95',
];

const KEY = siphash_key(Uint8Array.from({ length: 16 }, (_, i) => i));

function leHex(lo: number, hi: number): string {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(lo >>> 0, 0);
  b.writeUInt32LE(hi >>> 0, 4);
  return b.toString('hex');
}

const ip4 = (a: string): number[] => a.split('.').map(Number);

/** IPv4 packet (from the IP header) with an 8-byte L4 header: ports at its start */
function ipv4(src: string, dst: string, proto: number, sport: number, dport: number, frag = 0, ihl = 5): Uint8Array {
  const b = new Uint8Array(ihl * 4 + 8 + 18);
  b.set([0x40 | ihl, 0, 0, b.length, 0, 1, frag >> 8, frag & 0xff, 64, proto, 0, 0, ...ip4(src), ...ip4(dst)]);
  b.set([sport >> 8, sport & 0xff, dport >> 8, dport & 0xff], ihl * 4);
  return b;
}

function ip6(a: string): number[] {
  const [head, tail] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const g = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return g.flatMap((x) => [parseInt(x, 16) >> 8, parseInt(x, 16) & 0xff]);
}

function ipv6(src: string, dst: string, next: number, sport: number, dport: number, flowLabel = 0, ext: number[] = []): Uint8Array {
  const b = new Uint8Array(40 + ext.length + 8);
  b.set([0x60, (flowLabel >> 16) & 0x0f, (flowLabel >> 8) & 0xff, flowLabel & 0xff, 0, 8 + ext.length, next, 64, ...ip6(src), ...ip6(dst)]);
  b.set(ext, 40);
  b.set([sport >> 8, sport & 0xff, dport >> 8, dport & 0xff], 40 + ext.length);
  return b;
}

/** an skb at the network header of `pkt` placed after 14 bytes of "Ethernet" in a bigger buffer */
function skbOf(pkt: Uint8Array, protocol: number): Skb {
  const buf = new Uint8Array(14 + pkt.length + 16);
  buf.set(pkt, 14);
  const skb = new Skb().reset(buf, 14, pkt.length);
  skb.mac_header = 0;
  skb.protocol = protocol;
  return skb;
}

const HASHRND = siphash_key(Uint8Array.from([0x5a, 0x11, 0x42, 0x99, 0x01, 0xfe, 0x33, 0x7c, 0x80, 0x08, 0x6e, 0xd1, 0x2b, 0x4f, 0x90, 0x0c]));

describe('siphash (SipHash-2-4)', () => {
  it('matches all 64 reference vectors (lengths 0..63)', () => {
    const input = Uint8Array.from({ length: 64 }, (_, i) => i);
    for (let len = 0; len < 64; len++) {
      const lo = siphash(input, 0, len, KEY);
      expect(leHex(lo, sip.siphash_hi), `len ${len}`).to.equal(VECTORS_SIP64[len]);
    }
  });

  it('hashes at an offset without reading outside the range', () => {
    const buf = new Uint8Array(80).fill(0xee);
    buf.set(Uint8Array.from({ length: 15 }, (_, i) => i), 33);
    expect(leHex(siphash(buf, 33, 15, KEY), sip.siphash_hi)).to.equal(VECTORS_SIP64[15]);
  });
});

describe('flow dissector and skb_get_hash', () => {
  it('lays out flow_keys as Linux does: hash = siphash over basic..addrs (48 bytes for IPv4)', () => {
    const skb = skbOf(ipv4('10.0.0.1', '10.0.0.2', 6, 1000, 80), 0x0800);
    const h = skb_get_hash(skb, HASHRND);
    // struct flow_keys from offsetof(basic) = 8 after consistentify: n_proto 0800, ip_proto 6, pad,
    // flow_label, vlan, cvlan, keyid, ports (sorted as LE u16: 80 < 1000 → dst 80 first... LE of
    // 1000 = 0xe803, of 80 = 0x5000 → swapped), icmp, v4 addrs (LE u32 0x0100000a < 0x0200000a: kept), pad
    const img = new Uint8Array(48);
    img.set([0x08, 0x00, 6, 0], 0);
    img.set([0x00, 0x50, 0x03, 0xe8], 28);
    img.set([10, 0, 0, 1, 10, 0, 0, 2], 36);
    expect(h).to.equal(siphash(img, 0, 48, HASHRND) || 1);
    expect(skb.sw_hash).to.equal(true);
    expect(skb.l4_hash).to.equal(true);
  });

  it('is symmetric: both directions of TCP/UDP over IPv4 and IPv6 hash alike', () => {
    const pairs: [Uint8Array, Uint8Array, number][] = [
      [ipv4('192.168.1.10', '10.0.2.15', 6, 43210, 443), ipv4('10.0.2.15', '192.168.1.10', 6, 443, 43210), 0x0800],
      [ipv4('1.0.0.3', '10.0.0.2', 17, 53, 5353), ipv4('10.0.0.2', '1.0.0.3', 17, 5353, 53), 0x0800],
      [ipv6('2001:db8::1', 'fd00::2', 17, 1234, 53), ipv6('fd00::2', '2001:db8::1', 17, 53, 1234), 0x86dd],
      [ipv6('fe80::1', 'fe80::2', 6, 22, 50000), ipv6('fe80::2', 'fe80::1', 6, 50000, 22), 0x86dd],
    ];
    for (const [a, b, proto] of pairs) {
      const ha = skb_get_hash(skbOf(a, proto), HASHRND);
      const hb = skb_get_hash(skbOf(b, proto), HASHRND);
      expect(ha).to.equal(hb);
      expect(ha).to.not.equal(0);
    }
  });

  it('orders IPv4 addresses as the little-endian u32 x86 compares (1.0.0.3 sorts after 10.0.0.2)', () => {
    const keys = new FlowKeys();
    const p = ipv4('1.0.0.3', '10.0.0.2', 17, 1, 2);
    flow_dissect(keys, p, 0, p.length, 0x0800, 0);
    expect(keys.addr_type).to.equal(FLOW_DISSECTOR_KEY_IPV4_ADDRS);
    __flow_hash_consistentify(keys);
    expect([...keys.src()]).to.deep.equal([10, 0, 0, 2]);
    expect([...keys.dst()]).to.deep.equal([1, 0, 0, 3]);
  });

  it('is stable, depends on hashrnd and on every tuple field', () => {
    const base = skb_get_hash(skbOf(ipv4('10.0.0.1', '10.0.0.2', 17, 1000, 2000), 0x0800), HASHRND);
    expect(skb_get_hash(skbOf(ipv4('10.0.0.1', '10.0.0.2', 17, 1000, 2000), 0x0800), HASHRND)).to.equal(base);
    const other = siphash_key(new Uint8Array(16).fill(7));
    expect(skb_get_hash(skbOf(ipv4('10.0.0.1', '10.0.0.2', 17, 1000, 2000), 0x0800), other)).to.not.equal(base);
    for (const p of [
      ipv4('10.0.0.1', '10.0.0.2', 17, 1001, 2000),
      ipv4('10.0.0.1', '10.0.0.2', 17, 1000, 2001),
      ipv4('10.0.0.1', '10.0.0.3', 17, 1000, 2000),
      ipv4('10.0.0.1', '10.0.0.2', 6, 1000, 2000),
    ]) {
      expect(skb_get_hash(skbOf(p, 0x0800), HASHRND)).to.not.equal(base);
    }
  });

  it('keeps an L4 or software hash already set; recomputes a driver L3 hash', () => {
    const skb = skbOf(ipv4('10.0.0.1', '10.0.0.2', 17, 1, 2), 0x0800);
    skb.hash = 1234;
    skb.l4_hash = true;
    expect(skb_get_hash(skb, HASHRND)).to.equal(1234);
    skb.l4_hash = false;
    expect(skb_get_hash(skb, HASHRND)).to.not.equal(1234);
    expect(skb.sw_hash).to.equal(true);
  });

  it('IPv4 fragments: no ports (every fragment of a datagram hashes alike), not an L4 hash', () => {
    const keys = new FlowKeys();
    const first = ipv4('10.0.0.1', '10.0.0.2', 17, 1000, 2000, 0x2000);
    expect(flow_dissect(keys, first, 0, first.length, 0x0800, 0)).to.equal(true);
    expect(keys.flags).to.equal(FLOW_DIS_IS_FRAGMENT | FLOW_DIS_FIRST_FRAG);
    expect(keys.ports).to.equal(0);
    const h1 = skb_get_hash(skbOf(first, 0x0800), HASHRND);
    const later = skbOf(ipv4('10.0.0.1', '10.0.0.2', 17, 0x1111, 0x2222, 0x00b9), 0x0800);
    expect(skb_get_hash(later, HASHRND)).to.equal(h1);
    expect(later.l4_hash).to.equal(false);
  });

  it('IPv6: a non-zero flow label stops the dissector (ports ignored, still an L4 hash); extension headers are walked', () => {
    const a = skbOf(ipv6('2001:db8::1', '2001:db8::2', 6, 1000, 80, 0x12345), 0x86dd);
    const b = skbOf(ipv6('2001:db8::1', '2001:db8::2', 6, 1001, 81, 0x12345), 0x86dd);
    expect(skb_get_hash(a, HASHRND)).to.equal(skb_get_hash(b, HASHRND));
    expect(a.l4_hash).to.equal(true);
    const keys = new FlowKeys();
    const p = ipv6('2001:db8::1', '2001:db8::2', 6, 1000, 80, 0x12345);
    flow_dissect(keys, p, 0, p.length, 0x86dd, FLOW_DISSECTOR_F_STOP_AT_FLOW_LABEL);
    expect(keys.flow_label).to.equal(0x12345);
    expect(keys.ports).to.equal(0);
    expect(keys.addr_type).to.equal(FLOW_DISSECTOR_KEY_IPV6_ADDRS);
    // hop-by-hop (8 bytes) then UDP: ports found behind the extension header
    const hbh = ipv6('2001:db8::1', '2001:db8::2', 0, 4000, 53, 0, [17, 0, 1, 4, 0, 0, 0, 0]);
    flow_dissect(keys, hbh, 0, hbh.length, 0x86dd, FLOW_DISSECTOR_F_STOP_AT_FLOW_LABEL);
    expect(keys.ip_proto).to.equal(17);
    expect([keys.sport, keys.dport]).to.deep.equal([4000, 53]);
    expect(keys.thoff).to.equal(48);
  });

  it('walks an 802.1Q tag and IP-in-IP (inner addresses and ports)', () => {
    const inner = ipv4('172.16.0.1', '172.16.0.2', 6, 5000, 6000);
    const outer = new Uint8Array(20 + inner.length);
    outer.set([0x45, 0, 0, outer.length, 0, 0, 0, 0, 64, 4, 0, 0, ...ip4('10.0.0.1'), ...ip4('10.0.0.2')]);
    outer.set(inner, 20);
    const tagged = new Uint8Array(4 + outer.length);
    tagged.set([0x20, 0x05, 0x08, 0x00]); // prio 1, vid 5, inner ethertype IPv4
    tagged.set(outer, 4);
    const keys = new FlowKeys();
    expect(flow_dissect(keys, tagged, 0, tagged.length, 0x8100, 0)).to.equal(true);
    expect(keys.vlan_id).to.equal(5);
    expect([...keys.src()]).to.deep.equal([172, 16, 0, 1]);
    expect([keys.sport, keys.dport, keys.ip_proto, keys.n_proto]).to.deep.equal([5000, 6000, 6, 0x0800]);
  });

  it('truncated or malformed headers: returns false, reads nothing past the end, still hashes (non-zero)', () => {
    const keys = new FlowKeys();
    const p = ipv4('10.0.0.1', '10.0.0.2', 6, 1000, 80);
    // the buffer continues with bytes that must not be read as ports
    const big = new Uint8Array(64).fill(0xab);
    big.set(p.subarray(0, 22));
    expect(flow_dissect(keys, big, 0, 22, 0x0800, 0)).to.equal(true);
    expect(keys.ports).to.equal(0); // 2 bytes of ports only: not read
    expect(flow_dissect(keys, big, 0, 19, 0x0800, 0)).to.equal(false);
    const badIhl = ipv4('10.0.0.1', '10.0.0.2', 6, 1000, 80);
    badIhl[0] = 0x44;
    expect(flow_dissect(keys, badIhl, 0, badIhl.length, 0x0800, 0)).to.equal(false);
    expect(flow_dissect(keys, big, 0, 30, 0x86dd, 0)).to.equal(false);
    expect(flow_dissect(keys, big, 0, 64, 0x1234, 0)).to.equal(false);
    const skb = skbOf(p, 0x0800);
    skb.len = 10;
    expect(skb_get_hash(skb, HASHRND)).to.be.greaterThan(0);
    expect(skb.l4_hash).to.equal(false);
    const bogus = skbOf(p, 0x0800);
    bogus.len = 1000; // outside its buffer
    expect(skb_get_hash(bogus, HASHRND)).to.be.greaterThan(0);
  });
});
