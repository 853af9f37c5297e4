// Router advertisements: the RA's contents (as `-netdev user` sends them: fec0::/64 L+A 86400/14400,
// MTU, source link-layer address, router lifetime 1800, RDNSS fec0::3), RS handling with RFC 4861's
// delays, the unsolicited schedule, the carrier rule and the configuration parser.
import { expect } from 'chai';
import { parseInet6Prefix, defaultInet6Config } from '../../kernel-model/inet6';
import { NUD_STALE } from '../../kernel-model/arp/neighbour';
import { GUEST_LL, MODEL_LL, csumOk6, full, icmp6Type, ip6At, link6, macAt, rs6, toHex, u16, u32 } from './ipv6-link';

describe('IPv6 router advertisements', () => {
  it('sends an RA at once on attach with the -netdev user contents', () => {
    const { link } = link6(undefined, {}, true);
    const out = link.take();
    expect(out.length).to.equal(1);
    const f = out[0];
    expect([macAt(f, 0), macAt(f, 6), toHex(f, 12, 2)]).to.deep.equal(['33:33:00:00:00:01', '52:55:0a:00:02:02', '86dd']);
    expect([toHex(f, 14, 4), u16(f, 18), f[20], f[21]]).to.deep.equal(['60000000', 16 + 8 + 8 + 32 + 24, 58, 255]);
    expect([ip6At(f, 22), ip6At(f, 38)]).to.deep.equal([full(MODEL_LL), full('ff02::1')]);
    expect(csumOk6(f)).to.equal(true);
    const o = 54;
    expect([f[o], f[o + 1], f[o + 4], f[o + 5], u16(f, o + 6), u32(f, o + 8), u32(f, o + 12)]).to.deep.equal([134, 0, 64, 0, 1800, 0, 0]);
    expect(toHex(f, o + 16, 8), 'source link-layer address').to.equal('010152550a000202');
    expect(toHex(f, o + 24, 8), 'MTU 1500').to.equal('05010000000005dc');
    expect(toHex(f, o + 32, 32), 'prefix fec0::/64 L A 86400 14400').to.equal('0304' + '40' + 'c0' + '00015180' + '00003840' + '00000000' + 'fec00000000000000000000000000000');
    expect(toHex(f, o + 64, 24), 'RDNSS fec0::3, 1800 s').to.equal('1903' + '0000' + '00000708' + 'fec00000000000000000000000000003');
    const m = link.stack.mib;
    expect([m.Icmp6.OutMsgs, m.Icmp6.OutRouterAdvertisements, m.Ip6.OutMcastPkts]).to.deep.equal([1, 1, 1]);
  });

  it('answers an RS 0–500 ms later, never within 3 s of the last RA, and learns the soliciting host', () => {
    const { link, inet6 } = link6();
    link.inject(rs6());
    expect(link.take().length, 'the initial RA was just sent').to.equal(0);
    link.advance(2999);
    expect(link.take().length).to.equal(0);
    link.advance(1);
    expect(link.take().map(icmp6Type)).to.deep.equal([134]);
    expect(link.stack.mib.Icmp6.InRouterSolicits).to.equal(1);
    const n = [...inet6.neigh.all()];
    expect(n.length).to.equal(1);
    expect([full(inet6.neighbourAddress(n[0].primary_key)), n[0].nud_state]).to.deep.equal([full(GUEST_LL), NUD_STALE]);
    // well after the last RA: within MAX_RA_DELAY_TIME
    link.advance(10_000);
    link.take();
    const t0 = link.now;
    link.inject(rs6({ src: '::' }));
    let seen = -1;
    for (let i = 0; i <= 500 && seen < 0; i += 10) {
      if (link.take().some((f) => icmp6Type(f) === 134)) seen = link.now - t0;
      else link.advance(10);
    }
    expect(seen).to.be.within(0, 500);
    // an RS storm: multicast RAs (solicited or not) stay MIN_DELAY_BETWEEN_RAS apart
    const times = [link.now];
    for (let i = 0; i < 200; i++) {
      link.inject(rs6());
      link.advance(100);
      if (link.take().some((f) => icmp6Type(f) === 134)) times.push(link.now);
    }
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    expect(gaps.length).to.be.within(5, 7);
    expect(gaps.every((g) => g >= 3000), gaps.join(',')).to.equal(true);
  });

  it('sends unsolicited RAs: the first three at most 16 s apart, then every 198–600 s', () => {
    const { link } = link6(undefined, {}, true);
    const times: number[] = [];
    for (let t = 0; t < 3_000_000; t += 1000) {
      if (link.take().some((f) => icmp6Type(f) === 134)) times.push(link.now);
      link.advance(1000);
    }
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    expect(gaps.slice(0, 2).every((g) => g <= 16_000)).to.equal(true);
    expect(gaps.slice(2).every((g) => g >= 198_000 && g <= 600_000), gaps.join(',')).to.equal(true);
    expect(gaps.length).to.be.at.least(5);
  });

  it('sends nothing while the carrier is off', () => {
    const { link } = link6();
    link.dev.netif_carrier_off();
    link.advance(60_000);
    link.inject(rs6());
    link.advance(5_000);
    expect(link.take().length).to.equal(0);
    expect(link.dev.stats.tx_dropped).to.equal(0);
  });

  it('drops an RS from :: carrying a link-layer option, and RS with hop limit != 255', () => {
    const { link, inet6 } = link6();
    link.advance(5000);
    link.take();
    link.inject(rs6({ src: '::', sllao: true }));
    link.inject(rs6({ hopLimit: 1 }));
    link.advance(5000);
    expect(link.take().filter((f) => icmp6Type(f) === 134).length).to.equal(0);
    expect([inet6.ndiscStats.InInvalid, inet6.ndiscStats.InBadHopLimit]).to.deep.equal([1, 1]);
  });

  it('parses a prefix with -netdev user style derived addresses and rejects bad configurations', () => {
    const c = parseInet6Prefix('fd00:1:2:3::/64');
    expect(toHex(c.gateway)).to.equal('fd000001000200030000000000000002');
    expect(toHex(c.dns)).to.equal('fd000001000200030000000000000003');
    expect(() => defaultInet6Config({ prefixLen: 200 })).to.throw(RangeError);
    expect(() => parseInet6Prefix('fe80::/64')).to.throw(RangeError);
    expect(() => parseInet6Prefix('nonsense')).to.throw(RangeError);
  });
});
