// IPv6 fragment reassembly (kernel-model/ipv6/reassembly.ts) under good and hostile input, in virtual
// time: in-order and reversed reassembly, duplicates, RFC 5722 overlaps (the whole datagram dies),
// oversized datagrams (> 65535), contradicting last fragments, the 60 s timer with its Time Exceeded,
// a flood past the 4 MB memory threshold, and ip6_fragment on output (a host datagram larger than the
// MTU relayed to the guest). Fragments are built here byte by byte from a whole ICMPv6 echo request.
import { expect } from 'chai';
import { udpv6_sendto } from '../../kernel-model/ipv6/udp';
import { frag6dir } from '../../kernel-model/ipv6/reassembly';
import { parseIpv6 } from '../../kernel-model/wire/ipv6';
import { GUEST_GLOBAL, icmp6Type, ip6, ipv6Frame, l4csum6, learnedLink6, na6, u16, u32 } from '../unit/ipv6-link';

/** an ICMPv6 echo request message (checksum filled for GUEST_GLOBAL → fec0::2) of `n` data bytes */
function echoMsg(n: number, id = 0x77): number[] {
  const m = [128, 0, 0, 0, id >> 8, id & 255, 0, 1, ...Array.from({ length: n }, (_, i) => (i * 13 + 5) & 255)];
  const c = l4csum6(ip6(GUEST_GLOBAL), ip6('fec0::2'), 58, m);
  m[2] = c >> 8;
  m[3] = c & 255;
  return m;
}

/** one fragment: bytes [off, off+len) of `msg` behind a fragment header (next header ICMPv6) */
function frag(msg: number[], off: number, len: number, mf: boolean, ident: number, dst = 'fec0::2'): Uint8Array {
  const fo = off | (mf ? 1 : 0);
  const fh = [58, 0, fo >> 8, fo & 255, (ident >>> 24) & 255, (ident >>> 16) & 255, (ident >>> 8) & 255, ident & 255];
  return ipv6Frame({ src: GUEST_GLOBAL, dst, nh: 44, payload: [...fh, ...msg.slice(off, off + len)], csumAt: -1 });
}

/** echo replies, whole or as their first fragment (a reply above the MTU is fragmented) */
function echoReplies(out: Uint8Array[]): Uint8Array[] {
  return out.filter((f) => icmp6Type(f) === 129 || (f[20] === 44 && f[54] === 58 && (u16(f, 56) & 0xfff8) === 0 && f[62] === 129));
}

/** the ICMPv6 errors among what the model sent (not its RAs or neighbour solicitations) */
function noRa(out: Uint8Array[]): Uint8Array[] {
  return out.filter((f) => icmp6Type(f) >= 1 && icmp6Type(f) <= 4);
}

describe('hostile: IPv6 fragment reassembly (RFC 8200 §4.5, RFC 5722)', () => {
  it('reassembles in order and in reverse; the reply carries the whole datagram', () => {
    const l = learnedLink6();
    const m = l.link.stack.mib.Ip6;
    const msg = echoMsg(3000);
    l.link.inject(frag(msg, 0, 1232, true, 1), frag(msg, 1232, 1232, true, 1), frag(msg, 2464, msg.length - 2464, false, 1));
    let out = l.link.take();
    // the 3008-byte reply is itself fragmented by ip6_fragment (3 fragments at MTU 1500)
    expect(out.length).to.equal(3);
    expect(out.every((f) => f[20] === 44 && f.length <= 14 + 1500)).to.equal(true);
    expect([m.ReasmReqds, m.ReasmOKs, m.ReasmFails, m.FragOKs, m.FragCreates]).to.deep.equal([3, 1, 0, 1, 3]);
    const rev = echoMsg(2000, 0x78);
    l.link.inject(frag(rev, 1600, rev.length - 1600, false, 2), frag(rev, 800, 800, true, 2), frag(rev, 0, 800, true, 2));
    out = l.link.take();
    expect(out.length).to.equal(2);
    // the first fragment of the reply holds the ICMPv6 header: echo reply, id 0x78
    const first = out.find((f) => (u16(f, 56) & 0xfff8) === 0)!;
    expect([first[62], u16(first, 66)]).to.deep.equal([129, 0x78]);
    expect(m.ReasmOKs).to.equal(2);
    expect(frag6dir(l.inet6.idev).mem).to.equal(0);
  });

  it('drops an exact duplicate alone but kills the datagram on any overlap', () => {
    const l = learnedLink6();
    const m = l.link.stack.mib.Ip6;
    const dir = frag6dir(l.inet6.idev);
    const msg = echoMsg(1600);
    // duplicate of the first fragment: dropped alone, the datagram still completes
    l.link.inject(frag(msg, 0, 800, true, 3), frag(msg, 0, 800, true, 3), frag(msg, 800, msg.length - 800, false, 3));
    expect(echoReplies(l.link.take()).length).to.equal(1);
    expect(dir.stats.duplicates).to.equal(1);
    // overlap: [0,808) then [800, …): the whole datagram is discarded, later fragments start a new queue
    l.link.inject(frag(msg, 0, 808, true, 4), frag(msg, 800, msg.length - 800, false, 4));
    expect(l.link.take().length).to.equal(0);
    expect(dir.stats.overlaps).to.equal(1);
    expect(m.ReasmFails).to.equal(1);
    expect(dir.count).to.equal(0);
    // a fragment covering two held ones partly is an overlap too
    l.link.inject(frag(msg, 0, 400, true, 5), frag(msg, 800, 400, true, 5), frag(msg, 200, 800, true, 5));
    expect(dir.stats.overlaps).to.equal(2);
    expect(dir.count).to.equal(0);
  });

  it('rejects fragments past 65535 (Parameter Problem at the offset field) and contradicting last fragments', () => {
    const l = learnedLink6();
    const m = l.link.stack.mib.Ip6;
    const msg = echoMsg(1000);
    // offset 65000 + 1008 bytes > 65535
    l.link.inject(frag([...new Array(65000).fill(0), ...msg], 65000, 1008, false, 6));
    const out = l.link.take();
    expect(out.map((f) => [icmp6Type(f), f[55], u32(f, 58)])).to.deep.equal([[4, 0, 42]]);
    expect(m.InHdrErrors).to.equal(1);
    // two last fragments with different ends: the queue dies
    l.link.inject(frag(msg, 0, 504, true, 7), frag(msg, 752, 256, false, 7), frag(msg, 504, 496, false, 7));
    expect(m.ReasmFails).to.equal(1);
    // data beyond a known end
    l.link.inject(frag(msg, 504, 504, false, 8), frag([...msg, ...new Array(504).fill(1)], 1008, 504, true, 8));
    expect(m.ReasmFails).to.equal(2);
    expect(frag6dir(l.inet6.idev).count).to.equal(0);
  });

  it('drops a reassembled datagram with an unfragmentable part that pushes it past 65535', () => {
    const l = learnedLink6();
    const m = l.link.stack.mib.Ip6;
    const dir = frag6dir(l.inet6.idev);
    // destination options (8 bytes) before the fragment header, fragments covering 65528 bytes
    const body = new Array(65528).fill(0);
    const mk = (off: number, len: number, mf: boolean) => {
      const fo = off | (mf ? 1 : 0);
      return ipv6Frame({
        src: GUEST_GLOBAL,
        dst: 'fec0::2',
        nh: 60,
        payload: [44, 0, 1, 4, 0, 0, 0, 0, 58, 0, fo >> 8, fo & 255, 0, 0, 0, 9, ...body.slice(off, off + len)],
        csumAt: -1,
      });
    };
    const frames: Uint8Array[] = [];
    for (let off = 0; off < 65528; off += 1400) frames.push(mk(off, Math.min(1400, 65528 - off), off + 1400 < 65528));
    for (const f of frames) l.link.inject(f);
    expect(dir.stats.oversize).to.equal(1);
    expect([m.ReasmOKs, m.ReasmFails]).to.deep.equal([0, 1]);
    expect(echoReplies(l.link.take()).length).to.equal(0);
  });

  it('expires an incomplete datagram after 60 s: ReasmTimeout, Time Exceeded code 1 quoting the first fragment', () => {
    const l = learnedLink6();
    const m = l.link.stack.mib.Ip6;
    const msg = echoMsg(1600);
    l.link.inject(frag(msg, 0, 800, true, 9));
    l.link.advance(59_999);
    expect(noRa(l.link.take()).length).to.equal(0);
    l.link.advance(2);
    // the guest's neighbour entry was collected meanwhile (gc_stale): the error waits for its NA
    l.link.inject(na6({ target: GUEST_GLOBAL, dst: 'fec0::2', flags: 0x60 }));
    const out = noRa(l.link.take());
    expect(out.map((f) => [icmp6Type(f), f[55]])).to.deep.equal([[3, 1]]);
    // the quote starts with the fragment's IPv6 header (next header 44)
    expect(out[0][54 + 8 + 6]).to.equal(44);
    expect([m.ReasmTimeout, m.ReasmFails]).to.deep.equal([1, 1]);
    // a queue without its first fragment expires silently
    l.link.inject(frag(msg, 800, msg.length - 800, false, 10));
    l.link.advance(60_001);
    expect(noRa(l.link.take()).length).to.equal(0);
    expect(m.ReasmTimeout).to.equal(2);
  });

  it('a flood of incomplete datagrams stops at the 4 MB threshold; other traffic and later datagrams still work', () => {
    const l = learnedLink6();
    const m = l.link.stack.mib.Ip6;
    const dir = frag6dir(l.inet6.idev);
    const msg = echoMsg(1232);
    let refused = 0;
    for (let id = 100; id < 100 + 4000; id++) {
      l.link.inject(frag(msg, 0, 1232, true, id));
      if (dir.stats.memLimit > refused) refused = dir.stats.memLimit;
    }
    expect(dir.mem).to.be.at.most(4 * 1024 * 1024 + 1232 + 256);
    expect(dir.stats.memLimit).to.be.greaterThan(0);
    expect(m.ReasmFails).to.equal(dir.stats.memLimit);
    // an unfragmented echo still works
    const before = l.link.take().length;
    l.link.inject(ipv6Frame({ src: GUEST_GLOBAL, dst: 'fec0::2', nh: 58, payload: echoMsg(8, 5) }));
    const replies = echoReplies(l.link.take());
    expect(replies.length, `sent before: ${before}`).to.equal(1);
    // after the queues expire, memory is back to 0 and reassembly works again
    l.link.advance(60_001);
    l.link.inject(na6({ target: GUEST_GLOBAL, dst: 'fec0::2', flags: 0x60 }));
    l.link.take();
    expect([dir.mem, dir.count]).to.deep.equal([0, 0]);
    const ok = echoMsg(1600, 0x99);
    l.link.inject(frag(ok, 0, 800, true, 1), frag(ok, 800, ok.length - 800, false, 1));
    const sent = l.link.take();
    expect(echoReplies(sent).length, sent.map((f) => `${f[20]}/${icmp6Type(f)}`).join(' ')).to.equal(1);
  });

  it('ip6_fragment splits a relayed host datagram larger than the MTU (8-byte multiples, one id, M on all but the last)', () => {
    const l = learnedLink6();
    const m = l.link.stack.mib.Ip6;
    const payload = new Uint8Array(4000).map((_, i) => i & 255);
    const rc = udpv6_sendto(l.inet6.idev, parseIpv6('fec0::2')!, 0, 53, parseIpv6(GUEST_GLOBAL)!, 0, 40000, payload);
    expect(rc).to.equal(0);
    const out = l.link.take();
    expect(out.length).to.equal(3);
    const ids = new Set(out.map((f) => u32(f, 58)));
    expect(ids.size).to.equal(1);
    const offs = out.map((f) => u16(f, 56));
    expect(offs.map((o) => o & 1)).to.deep.equal([1, 1, 0]);
    for (let i = 0; i < 2; i++) expect((u16(out[i], 18) - 8) % 8).to.equal(0);
    // reassemble test-side and check the UDP checksum over the whole datagram
    const whole: number[] = [];
    for (const f of out) {
      const off = u16(f, 56) & 0xfff8;
      const data = Array.from(f.subarray(62, 54 + u16(f, 18)));
      for (let i = 0; i < data.length; i++) whole[off + i] = data[i];
    }
    expect(whole.length).to.equal(4008);
    expect(l4csum6(ip6('fec0::2'), ip6(GUEST_GLOBAL), 17, whole)).to.equal(0);
    expect([m.FragOKs, m.FragCreates]).to.deep.equal([1, 3]);
  });
});
