// Hostile ICMPv6 errors (icmpv6_notify, net/ipv6/icmp.c): quotes that are truncated, whose extension
// header chains run on or end nowhere, whose lengths lie, or that name no socket are counted (Icmp6
// InErrors) and dropped, and the connection they claim to be about carries on untouched. A well-formed
// quote behind the same extension headers does reach the socket (the walk is not just refusing).
import { expect } from 'chai';
import { dropTcp6, established6, ICMP6_DEST_UNREACH, ICMP6_PKT_TOOBIG, icmp6About, isTcp6, PORT_UNREACH, tcp6Of, v6Pair } from '../unit/icmp6-err-frames';
import { pattern } from '../unit/tcp-pair';

/** orig's IPv6 header with `ext` inserted before its upper-layer header (next header fields chained) */
function withExt(orig: Uint8Array, ext: number[], first: number): Uint8Array {
  const ip = orig.slice(14, 14 + 40 + ((orig[18] << 8) | orig[19]));
  const q = new Uint8Array(ip.length + ext.length);
  q.set(ip.subarray(0, 40), 0);
  q[6] = first;
  q.set(ext, 40);
  q.set(ip.subarray(40), 40 + ext.length);
  const plen = q.length - 40;
  q[4] = plen >> 8;
  q[5] = plen & 255;
  return q.subarray(0, Math.min(q.length, 1232));
}

/** an 8-byte options header (hop-by-hop or destination options) naming `next`, padded with PadN */
function opts8(next: number): number[] {
  return [next, 0, 1, 4, 0, 0, 0, 0];
}

describe('hostile ICMPv6 errors: malformed quotes counted and dropped', () => {
  it('truncated quotes, broken or endless header chains and lying lengths: Icmp6 InErrors, nothing else', () => {
    const r = v6Pair();
    const { b, got } = established6(r);
    r.pair.b.capture = true;
    dropTcp6(r.pair.b, (f) => f.length - 14 > 1280);
    b.write(pattern(3000, 9));
    r.pair.advance(1);
    const seg = r.pair.b.sent.filter((f) => isTcp6(f) && f.length - 14 > 1280)[0];
    const ip = seg.slice(14);
    const mib = r.pair.b.stack.mib;
    const mss = b.mss_cache;
    const bad: [string, Uint8Array][] = [
      ['empty quote', new Uint8Array(0)],
      ['half an IPv6 header', ip.slice(0, 20)],
      ['IPv6 header only', ip.slice(0, 40)],
      ['4 bytes of TCP', ip.slice(0, 44)],
      // hop-by-hop claiming 2048 bytes
      ['hop-by-hop length past the end', withExt(seg, [6, 255, 1, 4, 0, 0, 0, 0], 0)],
      // a destination-options header whose length field runs past the quote, then "TCP"
      ['dstopts length lies by 8', withExt(seg, [6, 1, 1, 4, 0, 0, 0, 0], 60).slice(0, 40 + 8 + 4)],
      // 150 destination-options headers, each naming the next: the chain runs out of packet
      ['endless option chain', withExt(seg, new Array(150).fill(0).flatMap(() => opts8(60)), 60)],
      ['chain ending in no next header', withExt(seg, opts8(59), 60)],
      ['fragment header cut short', withExt(seg, [6, 0], 44).slice(0, 42)],
      ['routing header cut in its length byte', ip.slice(0, 41).map((x, i) => (i === 6 ? 43 : x))],
    ];
    let inErrors = mib.Icmp6.InErrors;
    for (const [what, quote] of bad) {
      r.pair.b.receive(icmp6About(seg, ICMP6_PKT_TOOBIG, 0, 1280, { quote }));
      r.pair.b.receive(icmp6About(seg, ICMP6_DEST_UNREACH, PORT_UNREACH, 0, { quote }));
      r.pair.advance(1);
      expect(mib.Icmp6.InErrors, what).to.equal(inErrors + 2);
      inErrors += 2;
      expect(b.mss_cache, what).to.equal(mss);
      expect(b.err_soft, what).to.equal('');
      expect(b.stateName, what).to.equal('ESTABLISHED');
    }
    // a non-first fragment quoted: no upper-layer header to name, no handler, not an error
    const frag = withExt(seg, [6, 0, 0x05, 0x00, 0, 0, 0, 1], 44);
    r.pair.b.receive(icmp6About(seg, ICMP6_DEST_UNREACH, PORT_UNREACH, 0, { quote: frag }));
    r.pair.advance(1);
    expect(mib.Icmp6.InErrors).to.equal(inErrors);
    expect(b.err_soft).to.equal('');
    expect(mib.Icmp6Msg.InType[1] + mib.Icmp6Msg.InType[2]).to.equal(2 * bad.length + 1);
    expect(r.pair.b.stack.mib.TcpExt.OutOfWindowIcmps).to.equal(0);
    // the real thing behind hop-by-hop + destination options + an atomic fragment header reaches TCP:
    // the MSS drops and the stream completes (the walk accepts what is well formed)
    const good = withExt(seg, [...opts8(60), ...opts8(44), 6, 0, 0, 0, 0, 0, 0, 7], 0);
    r.pair.b.receive(icmp6About(seg, ICMP6_PKT_TOOBIG, 0, 1280, { quote: good }));
    r.pair.advance(1);
    expect(mib.Icmp6.InErrors).to.equal(inErrors);
    expect(b.mss_cache).to.equal(1280 - 60 - 12);
    r.pair.runUntil(() => Buffer.concat(got).length === 3000, 150, 1);
    expect(Buffer.concat(got).length).to.equal(3000);
    expect(tcp6Of(seg).len).to.be.greaterThan(1280 - 60);
    // counted, not thrown: no handler blew up, and each bad quote was logged as such
    expect(r.pair.b.stack.log === r.pair.log).to.equal(true);
    expect(r.pair.log.lines.filter((l) => l.startsWith('error:'))).to.deep.equal([]);
  });
});
