// `--sysctl NAME=VALUE` (the kernel profile) and `--metrics [ADDR:]PORT` as `skbnet serve` parses them,
// and the profile reaching each guest's stack and device.
import { expect } from 'chai';
import * as os from 'os';
import * as path from 'path';
import { parseServeOptions, UsageError } from '../../emulator/options';
import { Emulator } from '../../emulator/emulator';
import { silentLogger } from '../../kernel-model/core/log';

describe('serve options: --sysctl and --metrics', () => {
  it('net.core names as in /proc/sys, kernel.hz, and the sysfs NAPI attributes of eth0', () => {
    const { options } = parseServeOptions([
      '--sysctl', 'net.core.netdev_budget=600', '--sysctl', 'net/core/dev_weight=16', '--sysctl=kernel.hz=1000',
      '--sysctl', '/sys/class/net/eth0/gro_flush_timeout=20000', '--sysctl', 'sys.class.net.eth0.napi_defer_hard_irqs=2',
    ]);
    expect(options.profile.core).to.deep.equal({ netdev_budget: 600, dev_weight: 16, HZ: 1000 });
    expect(options.profile.dev).to.deep.equal({ eth0: { gro_flush_timeout: 20000, napi_defer_hard_irqs: 2 } });
    expect(options.metrics).to.equal(null);
  });

  it('refuses unknown names, bad values and devices other than eth0 with a usage error', () => {
    const bad = (v: string, re: RegExp): void => {
      expect(() => parseServeOptions(['--sysctl', v])).to.throw(UsageError, re);
    };
    bad('net.core.somaxconn=5', /not a modelled setting/);
    bad('net.core.netdev_budget=0', /outside 1\.\./);
    bad('net.core.netdev_budget=-1', /not a non-negative integer/);
    bad('kernel.hz=200', /CONFIG_HZ is one of 100, 250, 300, 1000/);
    bad('/sys/class/net/eth1/gro_flush_timeout=5', /no device 'eth1'/);
    bad('net.core.dev_weight', /NAME=VALUE/);
  });

  it('--metrics: PORT binds 127.0.0.1; ADDR:PORT and [v6]:PORT as given', () => {
    expect(parseServeOptions(['--metrics', '9100']).options.metrics).to.deep.equal({ host: '127.0.0.1', port: 9100 });
    expect(parseServeOptions(['--metrics', '0.0.0.0:9100']).options.metrics).to.deep.equal({ host: '0.0.0.0', port: 9100 });
    expect(parseServeOptions(['--metrics', '[::1]:0']).options.metrics).to.deep.equal({ host: '::1', port: 0 });
    expect(() => parseServeOptions(['--metrics', 'host:'])).to.throw(UsageError);
    expect(() => parseServeOptions(['--metrics', '70000'])).to.throw(UsageError);
  });

  it('the profile reaches the guest\'s stack (HZ, budgets, usecs default from HZ) and eth0\'s NAPI settings', () => {
    const { options } = parseServeOptions([
      '--vhost-user', path.join(os.tmpdir(), `skbnet-profile-${process.pid}.sock`), '--dns-forward', '127.0.0.1:53',
      '--sysctl', 'kernel.hz=1000', '--sysctl', 'net.core.netdev_budget=50', '--sysctl', '/sys/class/net/eth0/gro_flush_timeout=50000',
      '--sysctl', 'kernel.osrelease=6.12',
    ]);
    const emu = new Emulator(options, silentLogger);
    try {
      const a = emu.attachments[0];
      expect(a.stack.sysctl.HZ).to.equal(1000);
      expect(a.stack.sysctl.osrelease).to.equal('6.12');
      expect(a.stack.mib.layout.softnet_stat_columns).to.equal(15); // 6.12's layout (default: 6.1's 13)
      expect(a.stack.sysctl.netdev_budget).to.equal(50);
      expect(a.stack.sysctl.netdev_budget_usecs).to.equal(2000); // 2 jiffies at HZ=1000
      expect(a.tcp.HZ).to.equal(1000);
      expect(a.device.dev.gro_flush_timeout).to.equal(50000);
      expect(a.device.dev.napi_defer_hard_irqs).to.equal(0);
      expect(a.stack.dev_get_by_name('ifb0')).to.not.equal(null);
    } finally {
      emu.stop();
    }
  });
});
