// TCP header view, options and checksum: round trips, Linux 6.1's option layout byte for byte, and
// malformed input (checked constructor codes, option walks that stop safely).
import { expect } from 'chai';
import fc from 'fast-check';
import { WIRE_CHECKSUM, WIRE_MALFORMED, WIRE_OK, WIRE_TRUNCATED } from '../../kernel-model/wire/error';
import {
  TcpOptions,
  TcpOutOptions,
  TcpPacket,
  TcpRepr,
  TCPHDR_ACK,
  TCPHDR_SYN,
  tcp_options_size,
  tcp_options_write,
} from '../../kernel-model/wire/tcp';
import { hex, slowChecksum, toHex } from './ipv4-link';

const SRC = 0x0a00020f;
const DST = 0x0a000202;

function synOpts(mss: number, ts: boolean, sack: boolean, ws: number, tsval = 0x11223344, tsecr = 0): TcpOutOptions {
  const o = new TcpOutOptions();
  o.mss = mss;
  o.ts = ts;
  o.tsval = tsval;
  o.tsecr = tsecr;
  o.sackPerm = sack;
  o.ws = ws;
  return o;
}

function optBytes(o: TcpOutOptions): string {
  const b = new Uint8Array(40);
  const n = tcp_options_write(b, 0, o);
  expect(n).to.equal(tcp_options_size(o));
  return toHex(b, 0, n);
}

describe('tcp wire: options as Linux 6.1 lays them out (tcp_options_write)', () => {
  it('SYN with MSS, SACK_PERM fused with TS, NOP+WS (linux-path.md §7.6)', () => {
    expect(optBytes(synOpts(1460, true, true, 7))).to.equal('020405b4' + '0402080a' + '11223344' + '00000000' + '01030307');
  });
  it('variants: no TS, no SACK, no WS', () => {
    expect(optBytes(synOpts(1460, false, true, 7))).to.equal('020405b4' + '01010402' + '01030307');
    expect(optBytes(synOpts(1460, true, false, 7))).to.equal('020405b4' + '0101080a' + '11223344' + '00000000' + '01030307');
    expect(optBytes(synOpts(1460, true, true, -1))).to.equal('020405b4' + '0402080a' + '11223344' + '00000000');
  });
  it('established: NOP NOP TS, then NOP NOP SACK with blocks', () => {
    const o = new TcpOutOptions();
    o.ts = true;
    o.tsval = 1;
    o.tsecr = 2;
    o.numSackBlocks = 2;
    o.sack.set([10, 20, 30, 40]);
    expect(optBytes(o)).to.equal('0101080a' + '00000001' + '00000002' + '01010512' + '0000000a00000014' + '0000001e00000028');
  });
  it('parse ∘ write is the identity for every option combination (property)', () => {
    fc.assert(
      fc.property(
        fc.record({
          mss: fc.integer({ min: 0, max: 65535 }),
          ts: fc.boolean(),
          tsval: fc.integer({ min: 0, max: 0xffffffff }),
          tsecr: fc.integer({ min: 0, max: 0xffffffff }),
          sack: fc.boolean(),
          ws: fc.integer({ min: -1, max: 14 }),
          blocks: fc.array(fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })), { maxLength: 4 }),
        }),
        (r) => {
          const o = synOpts(r.mss, r.ts, r.sack, r.ws, r.tsval, r.tsecr);
          // SACK blocks only fit what is left of 40 bytes
          const room = Math.floor((40 - tcp_options_size(o) - 4) / 8);
          const n = Math.max(0, Math.min(r.blocks.length, room));
          o.numSackBlocks = n;
          for (let i = 0; i < n; i++) {
            o.sack[2 * i] = r.blocks[i][0];
            o.sack[2 * i + 1] = r.blocks[i][1];
          }
          const buf = new Uint8Array(40);
          const len = tcp_options_write(buf, 0, o);
          expect(len % 4).to.equal(0);
          expect(len).to.be.at.most(40);
          const p = new TcpOptions();
          p.parse(buf, 0, len);
          expect(p.malformed).to.equal(false);
          expect(p.mss).to.equal(r.mss ? r.mss : -1);
          expect(p.ts).to.equal(r.ts);
          if (r.ts) {
            expect(p.tsval).to.equal(r.tsval);
            expect(p.tsecr).to.equal(r.tsecr);
          }
          expect(p.sackPerm).to.equal(r.sack);
          expect(p.wscale).to.equal(r.ws);
          expect(p.numSacks).to.equal(n);
          for (let i = 0; i < n; i++) {
            expect(p.sack[2 * i]).to.equal(r.blocks[i][0]);
            expect(p.sack[2 * i + 1]).to.equal(r.blocks[i][1]);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
  it('malformed option lists stop the walk without reading past the header', () => {
    const p = new TcpOptions();
    // a length byte of 0, of 1, and one that runs past the end
    for (const bad of ['020004b4', '0201', '02050000', '08', '0101080a0000']) {
      const b = hex(bad);
      p.parse(b, 0, b.length);
      expect(p.malformed, bad).to.equal(true);
    }
    // EOL ends the list; what follows is ignored
    const eol = hex('00 020405b4');
    p.parse(eol, 0, eol.length);
    expect(p.malformed).to.equal(false);
    expect(p.mss).to.equal(-1);
    // wrong lengths for known kinds are skipped, the walk goes on
    const odd = hex('020505b400 0302 01');
    p.parse(odd, 0, odd.length);
    expect(p.mss).to.equal(-1);
    expect(p.wscale).to.equal(-1);
    expect(p.malformed).to.equal(false);
    // SACK with a length that is not 2 + 8n is ignored; > 4 blocks are cut to 4
    const sack5 = new Uint8Array(2 + 40);
    sack5[0] = 5;
    sack5[1] = 42;
    p.parse(sack5, 0, sack5.length);
    expect(p.numSacks).to.equal(4);
  });
});

describe('tcp wire: header view, checksum, repr', () => {
  // a SYN 10.0.2.15:43210 → 10.0.2.2:80 built by hand (independently of wire/tcp)
  const syn = hex('a8ca 0050 01020304 00000000 a002 faf0 0000 0000' + '020405b4 0402080a 11223344 00000000 01030307');
  const pseudo = [10, 0, 2, 15, 10, 0, 2, 2, 0, 6, 0, syn.length];
  const c = slowChecksum([pseudo, syn]);
  syn[16] = c >> 8;
  syn[17] = c & 255;

  it('parses a SYN and verifies its checksum', () => {
    const p = new TcpPacket(syn);
    expect(p.check()).to.equal(WIRE_OK);
    const r = new TcpRepr();
    expect(r.parse(p, SRC, DST)).to.equal(WIRE_OK);
    expect(r.srcPort).to.equal(43210);
    expect(r.dstPort).to.equal(80);
    expect(r.seq).to.equal(0x01020304);
    expect(r.flags).to.equal(TCPHDR_SYN);
    expect(r.window).to.equal(64240);
    expect(r.headerLen).to.equal(40);
    expect(r.payloadLen).to.equal(0);
    expect(r.options.mss).to.equal(1460);
    expect(r.options.sackPerm).to.equal(true);
    expect(r.options.tsval).to.equal(0x11223344);
    expect(r.options.wscale).to.equal(7);
  });

  it('emit reproduces the bytes (header, options, checksum)', () => {
    const r = new TcpRepr();
    r.parse(new TcpPacket(syn), SRC, DST);
    const out = new Uint8Array(40);
    r.emit(new TcpPacket(out), synOpts(1460, true, true, 7), SRC, DST);
    expect(toHex(out)).to.equal(toHex(syn));
  });

  it('bad checksum, short buffer, data offset < 5 or beyond the buffer', () => {
    const bad = syn.slice();
    bad[20] ^= 1;
    expect(new TcpRepr().parse(new TcpPacket(bad), SRC, DST)).to.equal(WIRE_CHECKSUM);
    expect(new TcpPacket(syn, 0, 19).check()).to.equal(WIRE_TRUNCATED);
    const d4 = syn.slice();
    d4[12] = 0x40;
    expect(new TcpPacket(d4).check()).to.equal(WIRE_MALFORMED);
    expect(new TcpPacket(syn, 0, 30).check()).to.equal(WIRE_TRUNCATED);
    // a payload-carrying ACK: payload offsets come from doff
    const ack = hex('a8ca 0050 01020305 a0b0c0d0 5010 0200 0000 0000 68656c6c6f');
    const p = new TcpPacket(ack);
    expect(p.check()).to.equal(WIRE_OK);
    expect(p.flags).to.equal(TCPHDR_ACK);
    expect(p.payloadLen).to.equal(5);
    expect(p.payloadOffset).to.equal(20);
  });
});
