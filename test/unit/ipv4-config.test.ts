// InetConfig: QEMU `-netdev user,net=` parsing and derivation, validation, the DHCP pool.
import { expect } from 'chai';
import { DEFAULT_INET_CONFIG, dhcpPool, parseInetCidr } from '../../kernel-model/ipv4/config';
import { formatIpv4 } from '../../kernel-model/wire/address';

const show = (c: { network: number; prefixLen: number; host: number; dns: number; dhcpStart: number }): string[] => [
  `${formatIpv4(c.network)}/${c.prefixLen}`,
  formatIpv4(c.host),
  formatIpv4(c.dns),
  formatIpv4(c.dhcpStart),
];

describe('InetConfig (QEMU user-mode compatible)', () => {
  it('defaults to 10.0.2.0/24 with host .2, DNS .3, 16 addresses from .15, 24 h leases, MTU 1500', () => {
    expect(show(DEFAULT_INET_CONFIG)).to.deep.equal(['10.0.2.0/24', '10.0.2.2', '10.0.2.3', '10.0.2.15']);
    expect([DEFAULT_INET_CONFIG.dhcpCount, DEFAULT_INET_CONFIG.leaseTime, DEFAULT_INET_CONFIG.mtu]).to.deep.equal([16, 86400, 1500]);
    expect(dhcpPool(DEFAULT_INET_CONFIG).map(formatIpv4)).to.deep.equal(Array.from({ length: 16 }, (_, i) => `10.0.2.${15 + i}`));
  });

  it('derives .2/.3/.15 from --net as QEMU does, including wider masks and dotted masks', () => {
    expect(show(parseInetCidr('192.168.76.0/24'))).to.deep.equal(['192.168.76.0/24', '192.168.76.2', '192.168.76.3', '192.168.76.15']);
    expect(show(parseInetCidr('10.0.0.0/16'))).to.deep.equal(['10.0.0.0/16', '10.0.2.2', '10.0.2.3', '10.0.2.15']);
    expect(show(parseInetCidr('10.0.2.77/255.255.255.0'))).to.deep.equal(['10.0.2.0/24', '10.0.2.2', '10.0.2.3', '10.0.2.15']);
    expect(show(parseInetCidr('172.20.0.0'))).to.deep.equal(['172.16.0.0/12', '172.16.2.2', '172.16.2.3', '172.16.2.15']);
    expect(parseInetCidr('10.0.2.0/24', { domain: 'lan', leaseTime: 600 }).domain).to.equal('lan');
  });

  it('rejects what QEMU rejects, with the reason', () => {
    expect(() => parseInetCidr('10.0.2.0/3')).to.throw(/range 4-32/);
    expect(() => parseInetCidr('10.0.2/24')).to.throw(/network address/);
    expect(() => parseInetCidr('10.0.2.0/255.0.255.0')).to.throw(/netmask/);
    expect(() => parseInetCidr('10.0.2.0/24', { host: 0x0a000302 })).to.throw(/doesn't belong/);
    expect(() => parseInetCidr('10.0.2.0/24', { dns: 0x0a000202 })).to.throw(/different from host/);
    expect(() => parseInetCidr('10.0.2.0/24', { dhcpStart: 0x0a000203 })).to.throw(/different from host and DNS/);
  });

  it('keeps the pool inside the network, away from the broadcast address', () => {
    const c = parseInetCidr('10.0.2.0/28', { dhcpStart: 0x0a000208 });
    expect(dhcpPool(c).map(formatIpv4)).to.deep.equal(['10.0.2.8', '10.0.2.9', '10.0.2.10', '10.0.2.11', '10.0.2.12', '10.0.2.13', '10.0.2.14']);
  });
});
