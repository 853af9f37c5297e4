// IPv4 fragment reassembly and output fragmentation through the real NetStack under virtual time:
// a fragmented 4000-byte ping (in order, reversed, shuffled) is answered with a fragmented reply whose
// bytes, offsets, flags and checksums are checked independently; overlaps, duplicates, timeouts, the
// memory threshold, ipfrag_max_dist, ECN, oversized and tiny fragments; DF on output.
import { expect } from 'chai';
import { defaultInetConfig } from '../../kernel-model/ipv4/config';
import { IPQ_TRUESIZE, frag_truesize } from '../../kernel-model/ipv4/ip_fragment';
import type { IcmpErr } from '../../kernel-model/icmp/icmp_err';
import { TestLink, dotted, seeded, slowChecksum, u16 } from './ipv4-link';
import { echoMessage, fragFrame, fragment, glue, learnedLink, parseFrag, pattern, shuffle, udpMessage, type ParsedFrag } from './ipv4-frag-frames';

const PING = { proto: 1, id: 0x4242 };

function ping4000(): { msg: Uint8Array; frames: Uint8Array[] } {
  const msg = echoMessage(0x77, 1, pattern(4000, 3));
  // what Linux sends for `ping -s 4000` at MTU 1500: 1480, 1480 and 1048 bytes of ICMP
  return { msg, frames: fragment(PING, msg, 1480) };
}

/** the model's reply frames → the ICMP message they carry (checked fragment by fragment) */
function replyOf(frames: Uint8Array[]): { parts: ParsedFrag[]; msg: Uint8Array } {
  const parts = frames.map(parseFrag);
  const msg = glue(parts);
  expect(msg, 'reply fragments glue into one datagram').to.not.equal(null);
  return { parts, msg: msg! };
}

/** ARP probes come and go with the neighbour timers; these tests look at IPv4 only */
function isIpv4(f: Uint8Array): boolean {
  return u16(f, 12) === 0x0800;
}

function frags(link: TestLink) {
  return link.inet.net.frags;
}

describe('IPv4 reassembly (ip_defrag)', () => {
  for (const order of ['in order', 'reversed', 'shuffled'] as const) {
    it(`reassembles a 4000-byte ping sent ${order} and answers it byte-exact, fragmented`, () => {
      const link = learnedLink(new TestLink());
      const { msg, frames } = ping4000();
      const send = order === 'in order' ? frames : order === 'reversed' ? [...frames].reverse() : shuffle(frames, seeded(11));
      for (const f of send) link.inject(f);
      const m = link.stack.mib;
      expect([m.Ip.ReasmReqds, m.Ip.ReasmOKs, m.Ip.ReasmFails, m.Ip.InDelivers]).to.deep.equal([3, 1, 0, 1]);
      expect(m.Icmp.InEchos).to.equal(1);
      const { parts, msg: reply } = replyOf(link.take());
      expect(reply.length).to.equal(msg.length);
      expect([reply[0], reply[1]]).to.deep.equal([0, 0]);
      expect(slowChecksum([reply])).to.equal(0);
      expect(Buffer.from(reply.subarray(4)).equals(Buffer.from(msg.subarray(4)))).to.equal(true);
      expect(parts.every((p) => p.headerOk && p.proto === 1 && !p.df)).to.equal(true);
      expect(frags(link).mem).to.equal(0);
      expect(frags(link).nqueues).to.equal(0);
    });
  }

  it('delivers a fragmented UDP datagram to its socket byte-exact (handler sees the whole payload)', () => {
    const link = learnedLink(new TestLink());
    const data = pattern(3000, 9);
    let got: Uint8Array | null = null;
    let srcMac = 0;
    link.inet.udpBind(5555, (d) => {
      got = d.buf.slice(d.payloadOffset, d.payloadOffset + d.payloadLen);
      srcMac = d.srcMac;
    });
    const dgram = udpMessage('10.0.2.15', '10.0.2.2', 4444, 5555, data);
    for (const f of shuffle(fragment({ proto: 17, id: 9 }, dgram, 1000), seeded(2))) link.inject(f);
    expect(got).to.not.equal(null);
    expect(Buffer.from(got!).equals(Buffer.from(data))).to.equal(true);
    expect(srcMac).to.equal(0x525400123456);
    expect(link.stack.mib.Udp.InDatagrams).to.equal(1);
  });

  it('keeps queues apart by (saddr, daddr, id, protocol)', () => {
    const link = learnedLink(new TestLink());
    const a = echoMessage(1, 1, pattern(2000, 1));
    const fa = fragment({ proto: 1, id: 5 }, a, 1480);
    const fb = fragment({ proto: 1, id: 5, dst: '10.0.2.3' }, echoMessage(2, 2, pattern(2000, 2)), 1480);
    const fc = fragment({ proto: 1, id: 6 }, echoMessage(3, 3, pattern(2000, 3)), 1480);
    const fd = fragment({ proto: 17, id: 5 }, udpMessage('10.0.2.15', '10.0.2.2', 1, 7, pattern(2000, 4)), 1480);
    link.inject(fa[0], fb[0], fc[0], fd[0]);
    expect(frags(link).nqueues).to.equal(4);
    link.inject(fa[1], fb[1], fc[1]);
    expect(link.stack.mib.Ip.ReasmOKs).to.equal(3);
    expect(frags(link).nqueues).to.equal(1);
    expect(link.take().length).to.equal(6); // three 2-fragment echo replies
  });

  it('drops the whole datagram on any overlap (RFC 5722 as in inet_frag_queue_insert): ReasmOverlaps + ReasmFails', () => {
    const link = learnedLink(new TestLink());
    const msg = echoMessage(1, 1, pattern(3000, 5));
    const o = { proto: 1, id: 7 };
    link.inject(fragFrame(o, 0, msg.subarray(0, 1480), true));
    link.inject(fragFrame(o, 1472, msg.subarray(1472, 2960), true)); // starts 8 bytes inside the first
    const m = link.stack.mib;
    expect([m.IpExt.ReasmOverlaps, m.Ip.ReasmFails]).to.deep.equal([1, 1]);
    expect(frags(link).nqueues).to.equal(0);
    expect(frags(link).mem).to.equal(0);
    // the rest of the datagram starts a new queue that never completes: nothing is delivered
    link.inject(fragFrame(o, 2960, msg.subarray(2960), false));
    expect(m.Ip.InDelivers).to.equal(0);
    expect(link.take().length).to.equal(0);
    // an overlap found by the search below the tail (a fragment straddling two queued runs)
    const o2 = { proto: 1, id: 8 };
    link.inject(fragFrame(o2, 0, msg.subarray(0, 8), true), fragFrame(o2, 16, msg.subarray(16, 24), true), fragFrame(o2, 40, msg.subarray(40, 48), false));
    link.inject(fragFrame(o2, 8, msg.subarray(8, 24), true));
    expect(m.IpExt.ReasmOverlaps).to.equal(2);
  });

  it('ignores exact duplicates (the queue survives and completes)', () => {
    const link = learnedLink(new TestLink());
    const { frames } = ping4000();
    link.inject(frames[0], frames[1], frames[1], frames[0]);
    expect(link.stack.mib.Ip.ReasmFails).to.equal(0);
    link.inject(frames[2]);
    const m = link.stack.mib.Ip;
    expect([m.ReasmReqds, m.ReasmOKs, m.ReasmFails, m.InDelivers]).to.deep.equal([5, 1, 0, 1]);
    // a duplicate after completion starts a new queue (the old one is gone), which later times out
    link.inject(frames[2]);
    expect(frags(link).nqueues).to.equal(1);
  });

  it('times out after ipfrag_time (30 s): ICMP time exceeded (fragment reassembly) once, memory freed', () => {
    const link = learnedLink(new TestLink());
    const { frames } = ping4000();
    link.inject(frames[0], frames[2]);
    expect(frags(link).mem).to.be.greaterThan(0);
    link.advance(29_999);
    expect(link.take().filter(isIpv4).length).to.equal(0);
    expect(frags(link).nqueues).to.equal(1);
    link.advance(1);
    const out = link.take().filter(isIpv4);
    expect(out.length).to.equal(1);
    const f = out[0];
    expect([f[23], f[34], f[35]]).to.deep.equal([1, 11, 1]);
    expect([dotted(f, 26), dotted(f, 30)]).to.deep.equal(['10.0.2.2', '10.0.2.15']);
    // the quoted datagram is the first fragment (header with MF), cut to 576 bytes of IP
    expect(u16(f, 16)).to.equal(576);
    expect(Buffer.from(f.subarray(42, 42 + 20)).equals(Buffer.from(frames[0].subarray(14, 34)))).to.equal(true);
    expect(slowChecksum([f.subarray(34)])).to.equal(0);
    const m = link.stack.mib;
    expect([m.Ip.ReasmTimeout, m.Ip.ReasmFails, m.IcmpMsg.OutType[11]]).to.deep.equal([1, 1, 1]);
    expect(frags(link).mem).to.equal(0);
    expect(frags(link).nqueues).to.equal(0);
    link.advance(60_000);
    expect(link.take().filter(isIpv4).length).to.equal(0);
  });

  it('does not send time exceeded when the first fragment never came; later fragments do not extend the timer', () => {
    const link = learnedLink(new TestLink());
    const { frames } = ping4000();
    link.inject(frames[1]);
    link.advance(20_000);
    link.inject(frames[2]);
    link.advance(10_000);
    expect(link.take().filter(isIpv4).length).to.equal(0);
    expect(link.stack.mib.Ip.ReasmTimeout).to.equal(1);
    expect(frags(link).mem).to.equal(0);
  });

  it('refuses all fragments while over ipfrag_high_thresh (no evictor since 4.17) and recovers after the timeout', () => {
    const link = learnedLink(new TestLink());
    const net = link.inet.net;
    const high = net.sysctl.ipfrag_high_thresh;
    expect(high).to.equal(4 * 1024 * 1024);
    const piece = pattern(1480, 1);
    let id = 0;
    let refusedBefore = 0;
    // distinct datagrams, one 1480-byte first fragment each, until the threshold refuses them
    while (net.mib.Ip.ReasmFails === 0 && id < 10_000) link.inject(fragFrame({ proto: 17, id: ++id }, 0, piece, true));
    refusedBefore = net.mib.Ip.ReasmFails;
    expect(refusedBefore).to.equal(1);
    const maxOne = IPQ_TRUESIZE + frag_truesize(14 + 20 + 1480);
    expect(frags(link).memPeak).to.be.at.most(high + maxOne);
    expect(frags(link).mem).to.be.greaterThan(high);
    const queues = frags(link).nqueues;
    expect(queues).to.equal(id - 1);
    // flood on: everything refused and counted, memory flat
    for (let i = 0; i < 500; i++) link.inject(fragFrame({ proto: 17, id: ++id }, 0, piece, true));
    expect(net.mib.Ip.ReasmFails).to.equal(refusedBefore + 500);
    expect(frags(link).nqueues).to.equal(queues);
    expect(frags(link).memPeak).to.be.at.most(high + maxOne);
    // even a complete small datagram is refused now (Linux: inet_frag_find returns NULL)
    const { frames } = ping4000();
    for (const f of frames) link.inject(f);
    expect(net.mib.Ip.ReasmOKs).to.equal(0);
    link.take();
    link.advance(30_000);
    expect([frags(link).nqueues, frags(link).mem]).to.deep.equal([0, 0]);
    expect(net.mib.Ip.ReasmTimeout).to.equal(queues);
    // time exceeded for each queue, but rate limited (type 11 is in icmp_ratemask)
    const sent = link.take().filter(isIpv4).length;
    expect(sent).to.be.at.most(6);
    expect(net.mib.Icmp.OutRateLimitHost + net.mib.Icmp.OutRateLimitGlobal).to.equal(queues - sent);
    for (const f of frames) link.inject(f);
    expect(net.mib.Ip.ReasmOKs).to.equal(1);
  });

  it('drops a reassembled datagram longer than 65535 bytes (ReasmFails, log) without touching memory bounds', () => {
    const link = learnedLink(new TestLink());
    const o = { proto: 17, id: 31 };
    const chunk = 8 * 1024;
    const total = 65536; // payload alone; + 20 bytes of header > 65535
    const data = pattern(chunk, 4);
    for (let off = 0; off < total; off += chunk) link.inject(fragFrame(o, off, data.subarray(0, Math.min(chunk, total - off)), off + chunk < total));
    const m = link.stack.mib.Ip;
    expect([m.ReasmOKs, m.ReasmFails, m.InDelivers]).to.deep.equal([0, 1, 0]);
    expect(link.log.lines.some((l) => /oversized IP packet/i.test(l))).to.equal(true);
    expect([frags(link).nqueues, frags(link).mem]).to.deep.equal([0, 0]);
  });

  it('discards the datagram for empty or sub-8-byte non-last fragments and inconsistent ends', () => {
    const link = learnedLink(new TestLink());
    const m = link.stack.mib.Ip;
    link.inject(fragFrame({ proto: 1, id: 1 }, 0, [1, 2, 3, 4], true)); // 4 bytes with MF → end rounds to 0
    expect(m.ReasmFails).to.equal(1);
    link.inject(fragFrame({ proto: 1, id: 2 }, 64, [], false)); // zero-length last fragment
    expect(m.ReasmFails).to.equal(2);
    link.inject(fragFrame({ proto: 1, id: 3 }, 0, pattern(16), true), fragFrame({ proto: 1, id: 3 }, 32, pattern(8), false));
    link.inject(fragFrame({ proto: 1, id: 3 }, 48, pattern(8), true)); // data beyond the last fragment
    expect(m.ReasmFails).to.equal(3);
    link.inject(fragFrame({ proto: 1, id: 4 }, 32, pattern(8), false), fragFrame({ proto: 1, id: 4 }, 40, pattern(8), false)); // two different ends
    expect(m.ReasmFails).to.equal(4);
    expect([frags(link).nqueues, frags(link).mem]).to.deep.equal([0, 0]);
    expect(m.InDelivers).to.equal(0);
  });

  it('trims a non-last fragment to a multiple of 8 bytes (the tail bytes are not used)', () => {
    const link = learnedLink(new TestLink());
    const data = pattern(24, 8);
    const dgram = udpMessage('10.0.2.15', '10.0.2.2', 1, 6000, data);
    let got: Uint8Array | null = null;
    link.inet.udpBind(6000, (d) => (got = d.buf.slice(d.payloadOffset, d.payloadOffset + d.payloadLen)));
    const junk = new Uint8Array(19);
    junk.set(dgram.subarray(0, 16));
    junk.fill(0xee, 16);
    link.inject(fragFrame({ proto: 17, id: 12 }, 0, junk, true), fragFrame({ proto: 17, id: 12 }, 16, dgram.subarray(16), false));
    expect(Buffer.from(got!).equals(Buffer.from(data))).to.equal(true);
  });

  it('restarts a queue when its next fragment is more than ipfrag_max_dist (64) fragments of that source later', () => {
    const link = learnedLink(new TestLink());
    const m = link.stack.mib.Ip;
    const { frames } = ping4000();
    link.inject(frames[0]);
    // ip_frag_too_far: peer rid now − rid at the queue's last fragment must not exceed 64
    for (let i = 0; i < 63; i++) link.inject(fragFrame({ proto: 17, id: 1000 + i }, 8, pattern(8), true));
    link.inject(frames[1]); // 63 in between: distance 64, still fine
    expect(m.ReasmFails).to.equal(0);
    for (let i = 0; i < 64; i++) link.inject(fragFrame({ proto: 17, id: 2000 + i }, 8, pattern(8), true));
    link.inject(frames[2]); // 64 in between: distance 65, the queue starts over with only this fragment
    expect(m.ReasmFails).to.equal(1);
    expect(m.ReasmOKs).to.equal(0);
    link.inject(frames[0], frames[1]);
    expect(m.ReasmOKs).to.equal(1);
  });

  it('applies ip_frag_ecn_table: CE with ECT fragments marks the datagram CE; Not-ECT mixed with ECT drops it', () => {
    const link = learnedLink(new TestLink());
    let tos = -1;
    link.inet.udpBind(7000, (d) => (tos = d.buf[d.skb.network_header + 1]));
    const dgram = udpMessage('10.0.2.15', '10.0.2.2', 1, 7000, pattern(100));
    link.inject(fragFrame({ proto: 17, id: 1, tos: 2 }, 0, dgram.subarray(0, 64), true), fragFrame({ proto: 17, id: 1, tos: 3 }, 64, dgram.subarray(64), false));
    expect(tos).to.equal(3);
    link.inject(fragFrame({ proto: 17, id: 2, tos: 0 }, 0, dgram.subarray(0, 64), true), fragFrame({ proto: 17, id: 2, tos: 2 }, 64, dgram.subarray(64), false));
    expect(link.stack.mib.Ip.ReasmFails).to.equal(1);
    expect(link.stack.mib.Udp.InDatagrams).to.equal(1);
  });
});

// virtio-net hands the stack frames viewed in guest memory or gathered into its scratch area: Node
// Buffers, valid only during the NAPI batch (the guest reuses its TX buffers once they are returned).
// Queued fragments must be copies; Buffer#slice is a view, so a "copy" made with it changed under the
// queue and the reassembled ping failed its ICMP checksum (IcmpInCsumErrors, one echo unanswered).
describe('IPv4 reassembly from a receive area reused after each batch', () => {
  function areaLink(): TestLink {
    const link = learnedLink(new TestLink());
    link.rxArea = Buffer.alloc(16384);
    return link;
  }

  it('answers two fragmented pings in a row, each fragment in its own batch, byte-exact', () => {
    const link = areaLink();
    const msgs = [1, 2].map((seq) => echoMessage(0x77, seq, pattern(4000, seq)));
    for (let i = 0; i < msgs.length; i++) {
      // one datagram id per ping, as the guest's IP stack numbers them
      for (const f of fragment({ ...PING, id: 0x4242 + i }, msgs[i], 1480)) link.inject(f);
    }
    const m = link.stack.mib;
    expect([m.Ip.ReasmReqds, m.Ip.ReasmOKs, m.Ip.ReasmFails]).to.deep.equal([6, 2, 0]);
    expect([m.Icmp.InCsumErrors, m.Icmp.InEchos, m.Icmp.OutEchoReps]).to.deep.equal([0, 2, 2]);
    const out = link.take().filter(isIpv4);
    const byId = new Map<number, Uint8Array[]>();
    for (const f of out) byId.set(u16(f, 18), [...(byId.get(u16(f, 18)) ?? []), f]);
    expect(byId.size).to.equal(2);
    const replies = [...byId.values()].map((fs) => replyOf(fs).msg).sort((a, b) => u16(a, 6) - u16(b, 6));
    for (let i = 0; i < 2; i++) {
      expect(slowChecksum([replies[i]])).to.equal(0);
      expect(Buffer.from(replies[i].subarray(4)).equals(Buffer.from(msgs[i].subarray(4)))).to.equal(true);
    }
  });

  it('reassembles fragments spread over batches in any order, two of them sharing a batch', () => {
    const link = areaLink();
    const { msg, frames } = ping4000();
    link.inject(frames[2]);
    link.inject(frames[0], frames[1]);
    const m = link.stack.mib;
    expect([m.Ip.ReasmOKs, m.Icmp.InCsumErrors, m.Icmp.InEchos]).to.deep.equal([1, 0, 1]);
    const reply = replyOf(link.take().filter(isIpv4)).msg;
    expect(Buffer.from(reply.subarray(4)).equals(Buffer.from(msg.subarray(4)))).to.equal(true);
  });

  it('quotes the first fragment as received in the reassembly time exceeded, after its area was reused', () => {
    const link = areaLink();
    const { frames } = ping4000();
    link.inject(frames[0]);
    link.inject(frames[2]);
    link.advance(30_000);
    const out = link.take().filter(isIpv4);
    expect(out.length).to.equal(1);
    const f = out[0];
    expect([f[34], f[35]]).to.deep.equal([11, 1]);
    // 576 bytes of IP: 28 of headers, then the first fragment's first 548 bytes as the guest sent them
    expect(f.length).to.equal(14 + 576);
    expect(Buffer.from(f.subarray(42)).equals(Buffer.from(frames[0].subarray(14, 14 + 548)))).to.equal(true);
  });
});

describe('IPv4 output fragmentation (ip_fragment / ip_do_fragment)', () => {
  it('sends the echo reply to a 4000-byte ping as three fragments: offsets, MF, lengths, IDs, checksums', () => {
    const link = learnedLink(new TestLink());
    for (const f of ping4000().frames) link.inject(f);
    const out = link.take();
    expect(out.length).to.equal(3);
    const p = out.map(parseFrag);
    expect(p.map((x) => [x.offset, x.mf, x.tot])).to.deep.equal([
      [0, true, 1500],
      [1480, true, 1500],
      [2960, false, 1068],
    ]);
    expect(new Set(p.map((x) => x.id)).size).to.equal(1);
    expect(p.every((x) => x.headerOk && !x.df && x.hlen === 20)).to.equal(true);
    expect(out.every((f) => f.length <= 1514)).to.equal(true);
    const m = link.stack.mib.Ip;
    expect([m.OutRequests, m.FragOKs, m.FragCreates, m.FragFails, m.OutTransmits]).to.deep.equal([1, 1, 3, 0, 3]);
  });

  it('cuts at (mtu - 20) & ~7 on a smaller MTU', () => {
    const link = learnedLink(new TestLink(defaultInetConfig(), {}, 576));
    const msg = echoMessage(5, 5, pattern(1200, 6));
    for (const f of fragment(PING, msg, 552)) link.inject(f);
    const { parts, msg: reply } = replyOf(link.take());
    expect(parts.map((x) => x.tot)).to.deep.equal([572, 572, 124]);
    expect(Buffer.from(reply.subarray(8)).equals(Buffer.from(msg.subarray(8)))).to.equal(true);
  });

  it('with DF: FragFails, nothing sent, -EMSGSIZE to the caller and the protocol err_handler told (frag needed, mtu)', () => {
    const link = learnedLink(new TestLink());
    const net = link.inet.net;
    const seen: { type: number; code: number; info: number; errno: number; local: boolean; daddr: string; sport: number }[] = [];
    const hook = (e: IcmpErr): void => {
      seen.push({ type: e.type, code: e.code, info: e.info, errno: e.errno, local: e.local, daddr: [e.daddr >>> 24, (e.daddr >>> 16) & 255, (e.daddr >>> 8) & 255, e.daddr & 255].join('.'), sport: e.sport });
    };
    expect(net.inet_add_err_handler(17, hook)).to.equal(true);
    const skb = link.inet.udpAlloc(3000)!;
    const rc = link.inet.udpSendSkb(skb, 0x0a000202, 53, 0x0a00020f, 9999);
    expect(rc).to.be.lessThan(0);
    expect(link.take().length).to.equal(0);
    expect(net.mib.Ip.FragFails).to.equal(1);
    expect(seen).to.deep.equal([{ type: 3, code: 4, info: 1500, errno: 90, local: true, daddr: '10.0.2.15', sport: 53 }]);
    // ipSend reports the errno itself
    const raw = link.stack.alloc_skb(3000 + 64)!;
    raw.reserve(64 - raw.headroom > 0 ? 64 - raw.headroom : 0);
    raw.put(3000);
    expect(link.inet.ipSend(raw, 0x0a000202, 0x0a00020f, 17, 0, true)).to.equal(-90);
    net.inet_del_err_handler(17, hook);
    expect(net.err_handler(17)).to.equal(null);
  });
});
