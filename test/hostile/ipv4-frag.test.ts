// Hostile fragments from the guest: lying lengths and checksums, offsets past 64 KiB, conflicting ends,
// tiny-fragment and many-queue floods beyond the 4 MB threshold, and a seeded fuzz of random fragments.
// Each is counted and dropped; nothing throws, memory stays under ipfrag_high_thresh + one fragment,
// and after ipfrag_time everything is freed and a normal fragmented ping works again.
import { expect } from 'chai';
import { IPQ_TRUESIZE, frag_truesize } from '../../kernel-model/ipv4/ip_fragment';
import { TestLink, answerArp, seeded, slowChecksum, u16 } from '../unit/ipv4-link';
import { echoMessage, fragFrame, fragment, learnedLink, pattern } from '../unit/ipv4-frag-frames';

function healthy(link: TestLink): void {
  const f = link.inet.net.frags;
  link.take();
  link.advance(30_000);
  expect([f.nqueues, f.mem], 'all queues expired and memory returned').to.deep.equal([0, 0]);
  link.take();
  const before = link.stack.mib.Ip.ReasmOKs;
  for (const fr of fragment({ proto: 1, id: 0xbeef }, echoMessage(1, 1, pattern(3000)), 1480)) link.inject(fr);
  expect(link.stack.mib.Ip.ReasmOKs).to.equal(before + 1);
  // the neighbour may have gone stale during the fuzz: answer its ARP probe, then count the reply
  const ip = answerArp(link, link.take(), '10.0.2.15').concat(link.take()).filter((x) => u16(x, 12) === 0x0800);
  expect(ip.length).to.equal(3);
  expect(link.stack.exceptions).to.equal(0);
  expect(link.inet.net.drops.handlerErrors).to.equal(0);
}

function bound(link: TestLink, largestFrame = 1514): void {
  const f = link.inet.net.frags;
  expect(f.memPeak).to.be.at.most(link.inet.net.sysctl.ipfrag_high_thresh + IPQ_TRUESIZE + frag_truesize(largestFrame));
}

describe('hostile IPv4 fragments', () => {
  it('a fragment whose header checksum or total length lies never reaches reassembly', () => {
    const link = learnedLink(new TestLink());
    const good = fragFrame({ proto: 1, id: 1 }, 0, pattern(64), true);
    const badSum = good.slice();
    badSum[25] ^= 0xff;
    const longer = good.slice();
    longer[17] += 40; // claims 40 more bytes than the frame has
    longer[24] = longer[25] = 0;
    const c = slowChecksum([longer.subarray(14, 34)]);
    longer[24] = c >> 8;
    longer[25] = c & 255;
    link.inject(badSum, longer);
    const m = link.stack.mib;
    expect([m.Ip.InHdrErrors, m.IpExt.InCsumErrors, m.IpExt.InTruncatedPkts, m.Ip.ReasmReqds]).to.deep.equal([1, 1, 1, 0]);
    healthy(link);
  });

  it('offsets near 64 KiB: a last fragment ending past 65535 is held; data beyond it discards the queue', () => {
    const link = learnedLink(new TestLink());
    // offset 65528 (the largest), 1480 bytes: ends at 67008
    link.inject(fragFrame({ proto: 17, id: 2 }, 65528, pattern(1480), false));
    expect(link.inet.net.frags.nqueues).to.equal(1);
    link.inject(fragFrame({ proto: 17, id: 2 }, 65528, pattern(1480), true)); // the same bytes with MF: a duplicate
    expect(link.stack.mib.Ip.ReasmFails).to.equal(0);
    link.inject(fragFrame({ proto: 17, id: 2 }, 65528, pattern(1488), true)); // more data beyond the last fragment → discard
    expect(link.stack.mib.Ip.ReasmFails).to.equal(1);
    expect(link.inet.net.frags.nqueues).to.equal(0);
    healthy(link);
  });

  it('conflicting and nonsensical fragments discard their datagram and nothing else', () => {
    const link = learnedLink(new TestLink());
    const o = { proto: 1, id: 3 };
    const other = fragment({ proto: 1, id: 4 }, echoMessage(2, 2, pattern(2000)), 1480);
    link.inject(other[0]);
    link.inject(fragFrame(o, 800, pattern(800), false), fragFrame(o, 800, pattern(808), false)); // two different ends
    link.inject(fragFrame(o, 0, pattern(16), true), fragFrame(o, 0, pattern(24), true)); // overlapping starts
    link.inject(fragFrame(o, 8, [], true)); // empty
    const m = link.stack.mib;
    expect(m.Ip.ReasmFails).to.equal(3);
    expect(m.IpExt.ReasmOverlaps).to.equal(1);
    link.inject(other[1]); // the unrelated datagram still completes
    expect(m.Ip.ReasmOKs).to.equal(1);
    healthy(link);
  });

  it('a flood of tiny fragments (8 bytes, one queue each) stops at the memory threshold', () => {
    const link = learnedLink(new TestLink());
    const net = link.inet.net;
    const tiny = pattern(8);
    let sent = 0;
    for (let id = 0; id < 12_000; id++) {
      link.inject(fragFrame({ proto: 17, id, src: `10.0.2.${16 + (id % 200)}` }, 8 * (id % 8000), tiny, true));
      sent++;
    }
    const f = net.frags;
    expect(net.mib.Ip.ReasmReqds).to.equal(sent);
    expect(f.nqueues + net.mib.Ip.ReasmFails).to.equal(sent);
    expect(net.mib.Ip.ReasmFails).to.be.greaterThan(0);
    bound(link);
    healthy(link);
  });

  it('many fragments into one queue (every other 8-byte slot) are bounded too', () => {
    const link = learnedLink(new TestLink());
    const o = { proto: 17, id: 5 };
    for (let off = 0; off < 65528; off += 16) link.inject(fragFrame(o, off, pattern(8, off), true));
    expect(link.inet.net.frags.nqueues).to.equal(1);
    bound(link);
    // one fragment straddling the gaps discards the lot
    link.inject(fragFrame(o, 8, pattern(64), true));
    expect(link.inet.net.frags.mem).to.equal(0);
    healthy(link);
  });

  it('survives a seeded fuzz of random fragments (ids, offsets, lengths, flags, sources)', () => {
    const link = learnedLink(new TestLink());
    const r = seeded(1234);
    const pick = (n: number): number => Math.floor(r() * n);
    for (let i = 0; i < 6000; i++) {
      const len = pick(4) === 0 ? pick(9) : pick(1481);
      const off = pick(3) === 0 ? pick(8192) * 8 : pick(16) * 8;
      const o = { proto: [1, 17, 6, 200][pick(4)], id: pick(64), src: `10.0.2.${15 + pick(3)}`, tos: pick(4), df: pick(2) === 0 };
      link.inject(fragFrame(o, off, pattern(len, i), pick(2) === 0));
      if (i % 500 === 0) link.advance(pick(3000));
    }
    expect(link.stack.exceptions).to.equal(0);
    bound(link);
    healthy(link);
  });
});
