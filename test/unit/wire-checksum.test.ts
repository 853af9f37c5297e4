// RFC 1071 checksum: reference values, agreement with the obvious slow sum over every length/alignment
// (both the byte loop and the aligned 32-bit path), incremental updates and the UDP pseudo-header.
import { expect } from 'chai';
import {
  csum_add,
  csum_block_add,
  csum_fold,
  csum_partial,
  csum_replace2,
  csum_replace4,
  csum_sub,
  csum_tcpudp_nofold,
  ip_fast_csum,
} from '../../kernel-model/wire/checksum';
import { hex, seeded, slowChecksum } from './ipv4-link';

/** the folded, uncomplemented sum the slow way */
function slowSum(b: Uint8Array, off: number, len: number): number {
  return ~slowChecksum([b.subarray(off, off + len)]) & 0xffff;
}

describe('wire/checksum (RFC 1071)', () => {
  it('matches the RFC 1071 §3 worked example (sum ddf2, checksum 220d)', () => {
    const b = hex('0001 f203 f4f5 f6f7');
    expect(csum_partial(b, 0, 8).toString(16)).to.equal('ddf2');
    expect(csum_fold(csum_partial(b, 0, 8)).toString(16)).to.equal('220d');
  });

  it('verifies a real IPv4 header (checksum b861) and rejects it with one bit flipped', () => {
    const h = hex('4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7');
    expect(ip_fast_csum(h, 0, 5)).to.equal(0);
    h[8] ^= 1;
    expect(ip_fast_csum(h, 0, 5)).to.not.equal(0);
  });

  it('agrees with the slow sum for every length 0..600 at every alignment (byte and 32-bit paths)', () => {
    const rnd = seeded(3);
    const backing = new Uint8Array(4096);
    for (let i = 0; i < backing.length; i++) backing[i] = Math.floor(rnd() * 256);
    for (let base = 0; base < 8; base++) {
      const view = backing.subarray(base); // byteOffset varies: exercises the alignment handling
      for (let off = 0; off < 4; off++) {
        for (let len = 0; len <= 600; len += len < 140 ? 1 : 37) {
          expect(csum_partial(view, off, len), `base ${base} off ${off} len ${len}`).to.equal(slowSum(view, off, len));
        }
      }
    }
  });

  it('handles 64 KiB blocks and all-0xff data without losing carries', () => {
    const b = new Uint8Array(65536 + 6).fill(0xff);
    expect(csum_partial(b, 2, 65536)).to.equal(0xffff);
    const rnd = seeded(9);
    for (let i = 0; i < b.length; i++) b[i] = Math.floor(rnd() * 256);
    expect(csum_partial(b, 2, 65535)).to.equal(slowSum(b, 2, 65535));
    expect(csum_partial(b, 1, 65536)).to.equal(slowSum(b, 1, 65536));
  });

  it('chains: csum_partial(b, 0, n) equals block sums added at even and odd offsets', () => {
    const rnd = seeded(5);
    const b = new Uint8Array(301);
    for (let i = 0; i < b.length; i++) b[i] = Math.floor(rnd() * 256);
    const whole = csum_partial(b, 0, 301);
    expect(csum_partial(b, 100, 201, csum_partial(b, 0, 100))).to.equal(whole);
    // a block starting at an odd offset is byte-swapped relative to the word grid
    const first = csum_partial(b, 0, 101);
    const second = csum_partial(b, 101, 200);
    expect(csum_block_add(first, second, 101)).to.equal(whole);
    expect(csum_add(0xffff, 1)).to.equal(1);
    expect(csum_sub(csum_add(0x1234, 0xabcd), 0xabcd)).to.equal(0x1234);
  });

  it('updates incrementally (RFC 1624) exactly like a recomputation: TTL and address rewrites', () => {
    const h = hex('4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7');
    // decrement TTL: the word at offset 8 is (ttl << 8 | protocol)
    const oldWord = (h[8] << 8) | h[9];
    h[8]--;
    const newWord = (h[8] << 8) | h[9];
    const inc = csum_replace2(0xb861, oldWord, newWord);
    h[10] = h[11] = 0;
    expect(inc).to.equal(slowChecksum([h]));
    // rewrite the source address 192.168.0.1 → 10.0.2.15
    h[10] = inc >> 8;
    h[11] = inc & 255;
    const inc2 = csum_replace4(inc, 0xc0a80001, 0x0a00020f);
    h.set([10, 0, 2, 15], 12);
    h[10] = h[11] = 0;
    expect(inc2).to.equal(slowChecksum([h]));
  });

  it('adds the UDP pseudo-header (addresses, protocol 17, length) the way RFC 768 defines it', () => {
    const udp = hex('0044 0043 0010 0000 0102 0304 0506 0708');
    const src = 0x0a00020f;
    const dst = 0x0a000202;
    const pseudo = [10, 0, 2, 15, 10, 0, 2, 2, 0, 17, 0, 16];
    const mine = csum_fold(csum_partial(udp, 0, 16, csum_tcpudp_nofold(src, dst, 16, 17)));
    expect(mine).to.equal(slowChecksum([pseudo, udp]));
  });
});
