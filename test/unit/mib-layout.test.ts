// The profile's kernel version (`--sysctl kernel.osrelease=6.1|6.12`, default 6.1) picks which
// counters /proc/net/{snmp,netstat,snmp6,softnet_stat}, nstat and --metrics list, and in what order.
// The 6.1 layout itself is checked against the real guest in test/integration/mib-layout-guest.test.ts.
import { expect } from 'chai';
import { VirtualTimeScheduler } from 'rxjs';
import {
  MIB_LAYOUT_6_12,
  mib6_list,
  mib_group,
  mib_layout,
  mib_list,
  NetMib,
  netstat_seq_show,
  snmp6_seq_show,
  snmp_seq_show,
} from '../../kernel-model/core/mib';
import { MIB_LAYOUT_6_1 } from '../../kernel-model/core/mib-layout-6-1';
import { kernel_release_parse, type MibLayout } from '../../kernel-model/core/mib-layout';
import { softnet_seq_show } from '../../kernel-model/core/softnet';
import { NetStack } from '../../kernel-model/core/stack';
import { silentLogger } from '../../kernel-model/core/log';
import { parseServeOptions, UsageError } from '../../emulator/options';
import { nstatCounters } from '../../emulator/views/nstat';
import { MetricsServer } from '../../emulator/metrics';

const stack = (osrelease?: '6.1' | '6.12', cpus = 1): NetStack =>
  new NetStack({ scheduler: new VirtualTimeScheduler(), log: silentLogger, cpus, sysctl: osrelease ? { osrelease } : {} });

/** names of one group in a layout, [] when the layout does not list it */
function fields(layout: MibLayout, group: string): readonly string[] {
  return [...layout.snmp, ...layout.netstat].find(([g]) => g === group)?.[1] ?? [];
}

describe('MIB layout per kernel version (kernel.osrelease)', () => {
  for (const layout of [MIB_LAYOUT_6_1, MIB_LAYOUT_6_12]) {
    it(`${layout.release}: every listed name is a numeric counter of the model, once per group`, () => {
      const mib = new NetMib();
      for (const [group, names] of [...layout.snmp, ...layout.netstat]) {
        const obj = mib_group(mib, group) as Record<string, unknown> | null;
        expect(obj, group).to.not.equal(null);
        expect(new Set(names).size, group).to.equal(names.length);
        for (const n of names) expect(typeof obj![n], `${group} ${n}`).to.equal('number');
      }
      expect(new Set(layout.snmp6).size).to.equal(layout.snmp6.length);
      for (const full of layout.snmp6) {
        const group = ['UdpLite6', 'Icmp6', 'Udp6', 'Ip6'].find((g) => full.startsWith(g))!;
        const obj = mib_group(mib, group) as Record<string, unknown>;
        expect(typeof obj[full.slice(group.length)], full).to.equal('number');
      }
      // the listing carries exactly the layout's names: a counter moved in memory shows under its name
      mib.layout = layout;
      const list = mib_list(mib).map((e) => e.nstat);
      expect(list).to.deep.equal([...layout.snmp, ...layout.netstat].flatMap(([g, ns]) => ns.map((n) => g + n)));
      expect(mib6_list(mib).map((e) => e.nstat)).to.deep.equal([...layout.snmp6]);
    });
  }

  it('6.1 lists what 6.1 has: no Ip/Ip6 OutTransmits, TcpExt up to TCPMigrateReqFailure, MPTcpExt; 6.12 the reverse', () => {
    const diff = (a: readonly string[], b: readonly string[]): string[] => a.filter((n) => !b.includes(n));
    expect(diff(fields(MIB_LAYOUT_6_12, 'Ip'), fields(MIB_LAYOUT_6_1, 'Ip'))).to.deep.equal(['OutTransmits']);
    expect(diff(fields(MIB_LAYOUT_6_12, 'TcpExt'), fields(MIB_LAYOUT_6_1, 'TcpExt'))).to.deep.equal([
      'TCPPLBRehash', 'TCPAORequired', 'TCPAOBad', 'TCPAOKeyNotFound', 'TCPAOGood', 'TCPAODroppedIcmps',
    ]);
    expect(diff(MIB_LAYOUT_6_12.snmp6, MIB_LAYOUT_6_1.snmp6)).to.deep.equal(['Ip6OutTransmits']);
    for (const g of ['Ip', 'Icmp', 'Tcp', 'Udp', 'UdpLite', 'TcpExt', 'IpExt']) {
      expect(diff(fields(MIB_LAYOUT_6_1, g), fields(MIB_LAYOUT_6_12, g)), g).to.deep.equal([]);
    }
    expect(diff(MIB_LAYOUT_6_1.snmp6, MIB_LAYOUT_6_12.snmp6)).to.deep.equal([]);
    expect(MIB_LAYOUT_6_1.netstat.map(([g]) => g)).to.deep.equal(['TcpExt', 'IpExt', 'MPTcpExt']);
    expect(MIB_LAYOUT_6_12.netstat.map(([g]) => g)).to.deep.equal(['TcpExt', 'IpExt']);
    expect([MIB_LAYOUT_6_1.softnet_stat_columns, MIB_LAYOUT_6_12.softnet_stat_columns]).to.deep.equal([13, 15]);
    expect(mib_layout()).to.equal(MIB_LAYOUT_6_1);
    expect(mib_layout('6.12')).to.equal(MIB_LAYOUT_6_12);
  });

  it('counters absent from 6.1 are still counted, listed only under 6.12', () => {
    for (const [rel, listed] of [['6.1', false], ['6.12', true]] as const) {
      const s = stack(rel);
      s.mib.Ip.OutTransmits += 3;
      s.mib.Ip6.OutTransmits += 2;
      s.mib.TcpExt.TCPPLBRehash++;
      s.mib.Ip.OutRequests += 3;
      const n = nstatCounters(s.mib);
      expect(n.IpOutRequests, rel).to.equal(3);
      expect('IpOutTransmits' in n, rel).to.equal(listed);
      expect('Ip6OutTransmits' in n, rel).to.equal(listed);
      expect('TcpExtTCPPLBRehash' in n, rel).to.equal(listed);
      expect('MPTcpExtMPCapableSYNRX' in n, rel).to.equal(!listed);
      const ip = snmp_seq_show(s.mib).split('\n')[1].split(' ');
      expect([ip.length, ip[ip.length - 1]], rel).to.deep.equal(listed ? [21, '3'] : [20, '0']);
      expect(/^Ip6OutTransmits\s+2$/m.test(snmp6_seq_show(s.mib)), rel).to.equal(listed);
      expect(netstat_seq_show(s.mib).includes('MPTcpExt:'), rel).to.equal(!listed);
      expect(s.mib.Ip.OutTransmits).to.equal(3);
    }
  });

  it('keeps the numbered Icmp6 types right after the named ones in either layout', () => {
    for (const rel of ['6.1', '6.12'] as const) {
      const s = stack(rel);
      s.mib.Icmp6.InEchos++;
      s.mib.Icmp6Msg.OutType[200] = 4;
      const names = mib6_list(s.mib).map((e) => e.nstat);
      const at = names.indexOf('Icmp6InType128');
      expect(names.slice(at - 1, at + 3), rel).to.deep.equal(['Icmp6OutMLDv2Reports', 'Icmp6InType128', 'Icmp6OutType200', 'Udp6InDatagrams']);
    }
  });

  it('softnet_stat: 13 columns under 6.1, 15 under 6.12, the same leading values', () => {
    const lines = (rel: '6.1' | '6.12'): string[][] => {
      const s = stack(rel, 2);
      s.softnet[1].processed = 0x1234;
      s.softnet[1].dropped = 7;
      s.softnet[1].received_rps = 2;
      return softnet_seq_show(s).trim().split('\n').map((l) => l.split(' '));
    };
    const a = lines('6.1');
    const b = lines('6.12');
    expect(a.map((l) => l.length)).to.deep.equal([13, 13]);
    expect(b.map((l) => l.length)).to.deep.equal([15, 15]);
    expect(b.map((l) => l.slice(0, 13))).to.deep.equal(a);
    expect([a[1][0], a[1][1], a[1][9], a[1][12]]).to.deep.equal(['00001234', '00000007', '00000002', '00000001']);
  });

  it('--sysctl kernel.osrelease takes 6.1 or 6.12 (or a uname -r of them) and reaches the stack', () => {
    expect(parseServeOptions([]).options.profile.core.osrelease).to.equal(undefined);
    expect(parseServeOptions(['--sysctl', 'kernel.osrelease=6.12']).options.profile.core).to.deep.equal({ osrelease: '6.12' });
    expect(parseServeOptions(['--sysctl=kernel/osrelease=6.1.0-28-amd64']).options.profile.core).to.deep.equal({ osrelease: '6.1' });
    for (const bad of ['6.10', '5.10', 'latest', '']) {
      expect(() => parseServeOptions(['--sysctl', `kernel.osrelease=${bad}`])).to.throw(UsageError, /not a modelled version \(6\.1, 6\.12\)/);
    }
    expect(kernel_release_parse('6.12.9+deb13-amd64')).to.equal('6.12');
    expect(kernel_release_parse('06.1')).to.equal('6.1');
    expect(kernel_release_parse('6.1x')).to.equal(null);
    expect(stack().sysctl.osrelease).to.equal('6.1');
    expect(stack().mib.layout).to.equal(MIB_LAYOUT_6_1);
    expect(stack('6.12').mib.layout).to.equal(MIB_LAYOUT_6_12);
  });

  it('--metrics exports per guest what that guest\'s kernel version lists', async () => {
    const s61 = stack('6.1');
    const s612 = stack('6.12');
    s61.mib.Ip.OutTransmits = 5;
    s612.mib.Ip.OutTransmits = 6;
    const text = await new MetricsServer(() => [s61, s612], silentLogger).scrape();
    const has = (re: RegExp): boolean => re.test(text);
    expect(has(/^skbnet_netstat_Ip_OutTransmits\{guest="0"\}/m)).to.equal(false);
    expect(has(/^skbnet_netstat_Ip_OutTransmits\{guest="1"\} 6$/m)).to.equal(true);
    expect(has(/^skbnet_netstat_MPTcpExt_MPCapableSYNRX\{guest="0"\} 0$/m)).to.equal(true);
    expect(has(/^skbnet_netstat_MPTcpExt_MPCapableSYNRX\{guest="1"\}/m)).to.equal(false);
    expect(has(/^skbnet_netstat_Ip6_OutTransmits\{guest="1"\} 0$/m)).to.equal(true);
    expect(has(/^skbnet_netstat_Ip_FragCreates\{guest="0"\} 0$/m)).to.equal(true);
  });
});
