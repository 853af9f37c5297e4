// The model's default counter listing against the real Linux 6.1 guest: the guest fixture's
// /proc/net/{snmp,netstat,snmp6,softnet_stat} and the model's (default profile, kernel.osrelease=6.1)
// must have the same groups, the same names in the same order, and the same softnet_stat column
// count; `skbnet nstat -a` (nstatCounters) must name the same counters. Fails if either side drifts
// (a new fixture kernel, or a change to kernel-model/core/mib-layout-6-1.ts or mib.ts).
import { expect } from 'chai';
import { Guest, shutdownAllGuests } from '../support/guest';
import { parseMibLayout, readGuestProcNet, type ProcNetTexts } from '../support/mib-layout-capture';
import { NetStack } from '../../kernel-model/core/stack';
import { MIB_LAYOUT_6_12, netstat_seq_show, snmp6_seq_show, snmp_seq_show } from '../../kernel-model/core/mib';
import { MIB_LAYOUT_6_1 } from '../../kernel-model/core/mib-layout-6-1';
import type { MibLayout } from '../../kernel-model/core/mib-layout';
import { softnet_seq_show } from '../../kernel-model/core/softnet';
import { silentLogger } from '../../kernel-model/core/log';
import { nstatCounters } from '../../emulator/views/nstat';

/** the model's four /proc texts under the stack's profile */
function modelProcNet(stack: NetStack): ProcNetTexts {
  return {
    snmp: snmp_seq_show(stack.mib),
    netstat: netstat_seq_show(stack.mib),
    snmp6: snmp6_seq_show(stack.mib),
    softnet_stat: softnet_seq_show(stack),
  };
}

/** nstat's names for a layout: Group+Name for snmp/netstat, the /proc name for snmp6 */
function nstatNames(l: MibLayout): string[] {
  return [...[...l.snmp, ...l.netstat].flatMap(([g, ns]) => ns.map((n) => g + n)), ...l.snmp6];
}

describe('MIB layout: the model\'s default listing is the real Linux 6.1 guest\'s', function () {
  this.timeout(120_000);
  let guest: { release: string; layout: MibLayout };

  before(async () => {
    // no NIC: no traffic, so neither side prints IcmpMsg or Icmp6 type lines
    const g = await Guest.boot({ name: 'mib-layout', netArgs: ['-nic', 'none'] });
    try {
      const t = await readGuestProcNet(g);
      guest = { release: t.release, layout: parseMibLayout(t, t.release) };
    } finally {
      await shutdownAllGuests();
    }
  });

  it('the guest runs Linux 6.1 and the committed 6.1 layout is what it prints', () => {
    expect(guest.release).to.match(/^6\.1\./);
    expect({ ...guest.layout, release: '' }).to.deep.equal({ ...MIB_LAYOUT_6_1, release: '' });
  });

  it('the model prints the same groups, names, order and softnet_stat columns by default', () => {
    const stack = new NetStack({ log: silentLogger });
    expect(stack.sysctl.osrelease).to.equal('6.1');
    const model = parseMibLayout(modelProcNet(stack), guest.release);
    expect(model.snmp.map(([g]) => g)).to.deep.equal(guest.layout.snmp.map(([g]) => g));
    expect(model.netstat.map(([g]) => g)).to.deep.equal(guest.layout.netstat.map(([g]) => g));
    expect(model).to.deep.equal(guest.layout);
    expect(Object.keys(nstatCounters(stack.mib))).to.deep.equal(nstatNames(guest.layout));
  });

  it('the 6.12 profile differs from the guest (the comparison sees a layout change)', () => {
    const stack = new NetStack({ log: silentLogger, sysctl: { osrelease: '6.12' } });
    const model = parseMibLayout(modelProcNet(stack), guest.release);
    expect(model.softnet_stat_columns).to.equal(15);
    expect(model.softnet_stat_columns).to.not.equal(guest.layout.softnet_stat_columns);
    expect(model.snmp).to.not.deep.equal(guest.layout.snmp);
    expect(model).to.deep.equal({ ...MIB_LAYOUT_6_12, release: guest.release });
  });
});
