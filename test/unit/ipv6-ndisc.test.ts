// Neighbour Discovery through a real NetStack: NS → NA bytes and flags (multicast, unicast, DAD),
// resolving the guest (multicast NS, NA, queued packet sent), NUD probing, and hostile ND messages
// (hop limit, code, options, DAD rules) dropped and counted.
import { expect } from 'chai';
import { NUD_DELAY, NUD_PROBE, NUD_REACHABLE } from '../../kernel-model/arp/neighbour';
import {
  GUEST_GLOBAL,
  GUEST_LL,
  MODEL_LL,
  echo6,
  full,
  hex,
  icmp6Type,
  ip6,
  ip6At,
  l4csum6,
  link6,
  macAt,
  na6,
  ns6,
  csumOk6,
  toHex,
  u16,
} from './ipv6-link';

function neighState(l: ReturnType<typeof link6>, addr: string): number {
  for (const n of l.inet6.neigh.all()) if (full(l.inet6.neighbourAddress(n.primary_key)) === full(addr)) return n.nud_state;
  return -1;
}

describe('IPv6 neighbour discovery', () => {
  it('answers a multicast NS for fec0::2 with a solicited, override, router NA carrying our MAC (exact bytes)', () => {
    const l = link6();
    const outBefore = l.link.stack.mib.Icmp6.OutMsgs; // the initial RA
    l.link.inject(ns6({ target: 'fec0::2' }));
    const out = l.link.take();
    expect(out.length).to.equal(1);
    const f = out[0];
    const icmp = [0x88, 0, 0, 0, 0xe0, 0, 0, 0, ...ip6('fec0::2'), 2, 1, 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02];
    const c = l4csum6(ip6('fec0::2'), ip6(GUEST_LL), 58, icmp);
    icmp[2] = c >> 8;
    icmp[3] = c & 255;
    const expected =
      '525400123456' + '52550a000202' + '86dd' +
      '60000000' + '0020' + '3a' + 'ff' + toHex(Uint8Array.from(ip6('fec0::2'))) + toHex(Uint8Array.from(ip6(GUEST_LL))) +
      toHex(Uint8Array.from(icmp));
    expect(toHex(f)).to.equal(expected);
    const m = l.link.stack.mib;
    expect([m.Icmp6.InMsgs, m.Icmp6.InNeighborSolicits, m.Icmp6.OutMsgs - outBefore, m.Icmp6.OutNeighborAdvertisements]).to.deep.equal([1, 1, 1, 1]);
    expect([m.Ip6.InReceives, m.Ip6.InMcastPkts, m.Ip6.InDelivers, m.Ip6.OutRequests, m.Ip6.OutTransmits]).to.deep.equal([1, 1, 1, 2, 2]);
    // the solicitor is learned STALE (ndisc_update), and sending the NA to it moved it to DELAY
    expect(neighState(l, GUEST_LL)).to.equal(NUD_DELAY);
  });

  it('answers a unicast NS (NUD probe) with S=1, O=0 and no target link-layer option', () => {
    const l = link6();
    l.link.inject(ns6({ target: 'fec0::3', src: GUEST_GLOBAL, dst: 'fec0::3' }));
    const f = l.link.take()[0];
    expect(icmp6Type(f)).to.equal(136);
    expect(u16(f, 18)).to.equal(24);
    expect(f[58]).to.equal(0xc0);
    expect([ip6At(f, 22), ip6At(f, 38), ip6At(f, 62)]).to.deep.equal([full('fec0::3'), full(GUEST_GLOBAL), full('fec0::3')]);
    expect(csumOk6(f)).to.equal(true);
  });

  it('answers an NS for its link-local address from that address', () => {
    const l = link6();
    l.link.inject(ns6({ target: MODEL_LL }));
    const f = l.link.take()[0];
    expect([ip6At(f, 22), ip6At(f, 62), f[58]]).to.deep.equal([full(MODEL_LL), full(MODEL_LL), 0xe0]);
  });

  it('defends its addresses against DAD probes (NA to all-nodes, S=0, O=1) and ignores DAD for other addresses', () => {
    const l = link6();
    l.link.inject(ns6({ target: 'fec0::2', src: '::' }));
    const out = l.link.take();
    expect(out.length).to.equal(1);
    const f = out[0];
    expect([macAt(f, 0), ip6At(f, 22), ip6At(f, 38), f[58], u16(f, 18)]).to.deep.equal(['33:33:00:00:00:01', full('fec0::2'), full('ff02::1'), 0xa0, 32]);
    expect(csumOk6(f)).to.equal(true);
    l.link.inject(ns6({ target: GUEST_GLOBAL, src: '::' }));
    expect(l.link.take().length).to.equal(0);
    expect(l.inet6.ndiscStats.InDadForUs).to.equal(1);
    expect(l.inet6.neigh.size, 'DAD probes create no entries').to.equal(0);
  });

  it('resolves the guest before replying: multicast NS with SLLA, queued reply sent on NA, entry REACHABLE', () => {
    const l = link6();
    l.link.inject(echo6({ id: 7, seq: 1, data: [1, 2, 3, 4] }));
    const out = l.link.take();
    expect(out.length).to.equal(1);
    const ns = out[0];
    expect(icmp6Type(ns)).to.equal(135);
    expect([macAt(ns, 0), ip6At(ns, 22), ip6At(ns, 38), ip6At(ns, 62), ns[21]]).to.deep.equal([
      '33:33:ff:12:34:56',
      full('fec0::2'),
      full('ff02::1:ff12:3456'),
      full(GUEST_GLOBAL),
      255,
    ]);
    expect(toHex(ns, 78, 8)).to.equal('010152550a000202');
    expect(csumOk6(ns)).to.equal(true);
    l.link.inject(na6({ target: GUEST_GLOBAL, dst: 'fec0::2', flags: 0x60 }));
    const rep = l.link.take();
    expect(rep.length).to.equal(1);
    expect([icmp6Type(rep[0]), macAt(rep[0], 0)]).to.deep.equal([129, '52:54:00:12:34:56']);
    expect(neighState(l, GUEST_GLOBAL)).to.equal(NUD_REACHABLE);
  });

  it('goes STALE → DELAY → PROBE and probes with a unicast NS after delay_first_probe_time', () => {
    const l = link6();
    l.link.inject(ns6({ target: 'fec0::2', src: GUEST_GLOBAL }));
    expect(l.link.take().map(icmp6Type)).to.deep.equal([136]);
    // learned STALE; the NA itself used the entry: DELAY
    expect(neighState(l, GUEST_GLOBAL)).to.equal(NUD_DELAY);
    l.link.inject(echo6({ id: 1, seq: 1, data: [] }));
    expect(l.link.take().map(icmp6Type)).to.deep.equal([129]);
    l.link.advance(5001);
    const probe = l.link.take().filter((f) => icmp6Type(f) === 135);
    expect(probe.length).to.equal(1);
    expect([macAt(probe[0], 0), ip6At(probe[0], 38), ip6At(probe[0], 62)]).to.deep.equal(['52:54:00:12:34:56', full(GUEST_GLOBAL), full(GUEST_GLOBAL)]);
    expect(neighState(l, GUEST_GLOBAL)).to.equal(NUD_PROBE);
    l.link.inject(na6({ target: GUEST_GLOBAL, dst: 'fec0::2', flags: 0x40, tllao: false }));
    expect(neighState(l, GUEST_GLOBAL)).to.equal(NUD_REACHABLE);
  });

  it('drops ND with hop limit != 255, non-zero code, zero-length or overrunning options, and bad DAD, counting each', () => {
    const l = link6();
    const st = l.inet6.ndiscStats;
    l.link.inject(ns6({ target: 'fec0::2', hopLimit: 64 }));
    l.link.inject(ns6({ target: 'fec0::2', code: 1 }));
    l.link.inject(ns6({ target: 'fec0::2', extra: [1, 0, 0, 0, 0, 0, 0, 0] })); // option length 0
    l.link.inject(ns6({ target: 'fec0::2', extra: [1, 2, 0, 0] })); // option claims 16 bytes, 4 left
    l.link.inject(ns6({ target: 'fec0::2', src: '::', sllao: true })); // DAD with SLLA
    l.link.inject(ns6({ target: 'fec0::2', src: '::', dst: 'ff02::1' })); // DAD not to the solicited-node group
    l.link.inject(ns6({ target: 'ff02::1', dst: 'fec0::2' })); // multicast target
    l.link.inject(na6({ target: GUEST_LL, dst: 'ff02::1', flags: 0x40 })); // solicited NA to multicast
    expect(l.link.take().length).to.equal(0);
    expect([st.InBadHopLimit, st.InBadCode, st.InBadOptions, st.InInvalid]).to.deep.equal([1, 1, 2, 4]);
    expect(l.link.stack.mib.Icmp6.InNeighborSolicits, 'icmpv6_rcv counts the type first').to.equal(7);
    // a truncated NS (20 bytes of ICMPv6)
    const t = ns6({ target: 'fec0::2', sllao: false });
    const cut = t.slice(0, t.length - 4);
    cut[19] = 20;
    const p = Array.from(cut.subarray(54));
    p[2] = p[3] = 0;
    const c = l4csum6(cut.subarray(22, 38), cut.subarray(38, 54), 58, p);
    cut[56] = c >> 8;
    cut[57] = c & 255;
    l.link.inject(cut);
    expect(st.InTruncated).to.equal(1);
    expect(l.link.take().length).to.equal(0);
    expect(l.link.stack.exceptions).to.equal(0);
  });

  it('logs and ignores an NA that claims one of our addresses', () => {
    const l = link6();
    l.link.inject(na6({ target: 'fec0::2', src: GUEST_LL, dst: 'ff02::1', flags: 0x20 }));
    expect(l.inet6.ndiscStats.InConflicts).to.equal(1);
    expect(l.link.log.lines.some((s) => /advertised our address fec0::2/.test(s))).to.equal(true);
    expect(hex('00').length).to.equal(1);
  });
});
