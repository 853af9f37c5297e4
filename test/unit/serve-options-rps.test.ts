// `--cpus`, `--proxy-cpus` and the RPS/RFS/flow-limit names of `--sysctl` as `skbnet serve` parses and
// validates them (Linux's rules: bitmap_parse for masks, power-of-2 rounding and limits of
// net/core/sysctl_net_core.c and net-sysfs.c), and the settings reaching each guest's stack, device
// queue and TCP proxy.
import { expect } from 'chai';
import * as os from 'os';
import * as path from 'path';
import { parseServeOptions, parseCpuList, UsageError } from '../../emulator/options';
import { Emulator } from '../../emulator/emulator';
import { bitmap_parse } from '../../kernel-model/core/sysctl';
import { silentLogger } from '../../kernel-model/core/log';

const bad = (args: string[], re: RegExp): void => {
  expect(() => parseServeOptions(args), args.join(' ')).to.throw(UsageError, re);
};

describe('serve options: --cpus, --proxy-cpus and the RPS/RFS sysctls', () => {
  it('--cpus takes 1..64 (default: no setting, one CPU)', () => {
    expect(parseServeOptions([]).options.profile.cpus).to.equal(undefined);
    expect(parseServeOptions(['--cpus', '4']).options.profile.cpus).to.equal(4);
    expect(parseServeOptions(['--cpus=64']).options.profile.cpus).to.equal(64);
    bad(['--cpus', '0'], /--cpus takes 1\.\.64/);
    bad(['--cpus', '65'], /--cpus takes 1\.\.64/);
    bad(['--cpus', '1.5'], /--cpus takes/);
    bad(['--cpus'], /needs a value/);
  });

  it('bitmap_parse: hex groups of 8 digits, most significant first, EINVAL / EOVERFLOW as Linux', () => {
    expect(bitmap_parse('2', 2)).to.deep.equal([1]);
    expect(bitmap_parse('f', 4)).to.deep.equal([0, 1, 2, 3]);
    expect(bitmap_parse('F\n', 4)).to.deep.equal([0, 1, 2, 3]);
    expect(bitmap_parse('1,00000000', 33)).to.deep.equal([32]);
    expect(bitmap_parse('00000001,00000003', 64)).to.deep.equal([0, 1, 32]);
    expect(bitmap_parse('0', 2)).to.deep.equal([]);
    expect(bitmap_parse('', 2)).to.deep.equal([]);
    expect(() => bitmap_parse('0x3', 4)).to.throw(/EINVAL/);
    expect(() => bitmap_parse('g', 4)).to.throw(/EINVAL/);
    expect(() => bitmap_parse('000000003', 64)).to.throw(/EOVERFLOW: a group holds 8 hex digits/);
    expect(() => bitmap_parse('4', 2)).to.throw(/EOVERFLOW: CPU 2 does not exist/);
    // a second group overflows a mask of ≤ 32 CPUs even when it is zero (chunks = BITS_TO_U32(nbits))
    expect(() => bitmap_parse('00000000,00000003', 2)).to.throw(/EOVERFLOW: more than 1/);
  });

  it('rps_cpus and rps_flow_cnt per rx queue, net.core.rps_sock_flow_entries rounded up to a power of 2', () => {
    const { options } = parseServeOptions([
      '--sysctl', '/sys/class/net/eth0/queues/rx-0/rps_cpus=e', '--cpus', '4',
      '--sysctl', 'sys/class/net/eth0/queues/rx-0/rps_flow_cnt=1000',
      '--sysctl', 'net.core.rps_sock_flow_entries=30000',
      '--sysctl', 'net.core.flow_limit_table_len=8192', '--sysctl', 'net/core/flow_limit_cpu_bitmap=3',
    ]);
    expect(options.profile.dev).to.deep.equal({ eth0: { rx_queues: { 0: { rps_cpus: 'e', rps_flow_cnt: 1000 } } } });
    expect(options.profile.rps).to.deep.equal({ rps_sock_flow_entries: 32768, flow_limit_table_len: 8192, flow_limit_cpu_bitmap: '3' });
    expect(parseServeOptions(['--sysctl', 'net.core.rps_sock_flow_entries=0']).options.profile.rps).to.deep.equal({ rps_sock_flow_entries: 0 });
    expect(parseServeOptions(['--sysctl', 'net.core.rps_sock_flow_entries=536870912']).options.profile.rps.rps_sock_flow_entries).to.equal(1 << 29);
  });

  it('refuses what Linux refuses, whatever the order of --cpus and --sysctl', () => {
    const rx0 = '/sys/class/net/eth0/queues/rx-0/rps_cpus';
    bad(['--sysctl', `${rx0}=2`], /rps_cpus=.*EOVERFLOW: CPU 1 does not exist, nr_cpu_ids 1/); // default one CPU
    bad(['--sysctl', `${rx0}=4`, '--cpus', '2'], /EOVERFLOW: CPU 2 does not exist/);
    bad(['--cpus', '2', '--sysctl', `${rx0}=0x2`], /EINVAL/);
    bad(['--cpus', '2', '--sysctl', '/sys/class/net/eth0/queues/rx-1/rps_cpus=2'], /eth0 has 1 rx queue/);
    expect(parseServeOptions(['--cpus', '2', '--queues', '2', '--sysctl', '/sys/class/net/eth0/queues/rx-1/rps_cpus=2']).options.profile.dev.eth0.rx_queues)
      .to.deep.equal({ 1: { rps_cpus: '2' } });
    bad(['--sysctl', '/sys/class/net/eth0/queues/rx-0/rps_flow_cnt=-1'], /not a non-negative integer/);
    bad(['--sysctl', '/sys/class/net/eth0/queues/rx-0/rps_flow_cnt=2000000000'], /at most 1073741824/);
    bad(['--sysctl', '/sys/class/net/eth1/queues/rx-0/rps_flow_cnt=16'], /no device 'eth1'/);
    bad(['--sysctl', 'net.core.rps_sock_flow_entries=536870913'], /EINVAL/);
    bad(['--sysctl', 'net.core.flow_limit_table_len=1000'], /not a power of 2/);
    bad(['--sysctl', 'net.core.flow_limit_table_len=0'], /not a power of 2/);
    bad(['--cpus', '2', '--sysctl', 'net.core.flow_limit_cpu_bitmap=7'], /flow_limit_cpu_bitmap=.*EOVERFLOW: CPU 2/);
    bad(['--sysctl', '/sys/class/net/eth0/queues/rx-0/xps_cpus=1'], /not a modelled setting/);
  });

  it('--proxy-cpus: a CPU list in round-robin order, or all; CPUs must exist', () => {
    expect(parseCpuList('1')).to.deep.equal([1]);
    expect(parseCpuList('0-2,5,1')).to.deep.equal([0, 1, 2, 5]);
    expect(() => parseCpuList('2-1')).to.throw(UsageError, /goes down/);
    expect(() => parseCpuList('a')).to.throw(UsageError, /not a CPU list/);
    expect(parseServeOptions(['--cpus', '3', '--proxy-cpus', '2,1']).options.profile.consumer_cpus).to.deep.equal([2, 1]);
    expect(parseServeOptions(['--proxy-cpus', 'all', '--cpus', '3']).options.profile.consumer_cpus).to.deep.equal([0, 1, 2]);
    expect(parseServeOptions([]).options.profile.consumer_cpus).to.equal(undefined);
    bad(['--proxy-cpus', '1'], /--proxy-cpus: CPU 1 does not exist \(--cpus 1\)/);
    bad(['--cpus', '2', '--proxy-cpus', '0-2'], /CPU 2 does not exist/);
  });

  it('the settings reach the guest\'s stack: CPUs, rx-0\'s RPS map and RFS table, socket table, flow limit, proxy', () => {
    const { options } = parseServeOptions([
      '--vhost-user', path.join(os.tmpdir(), `skbnet-rps-${process.pid}.sock`), '--dns-forward', '127.0.0.1:53',
      '--cpus', '4', '--proxy-cpus', '3,2',
      '--sysctl', '/sys/class/net/eth0/queues/rx-0/rps_cpus=6', '--sysctl', '/sys/class/net/eth0/queues/rx-0/rps_flow_cnt=100',
      '--sysctl', 'net.core.rps_sock_flow_entries=1000', '--sysctl', 'net.core.flow_limit_table_len=256',
      '--sysctl', 'net.core.flow_limit_cpu_bitmap=8',
    ]);
    const emu = new Emulator(options, silentLogger);
    try {
      const a = emu.attachments[0];
      const st = a.stack.rps;
      expect(a.stack.softnet.length).to.equal(4);
      expect(st.nr_cpu_ids).to.equal(4);
      const rxq = st.rx_queue(a.device.dev, 0);
      expect(Array.from(rxq.rps_map ?? [])).to.deep.equal([1, 2]);
      expect(rxq.rps_flow_table?.mask).to.equal(127); // 100 → 128 entries
      expect(st.rps_sock_flow_entries).to.equal(1024);
      expect(st.rps_needed).to.equal(2); // one rx queue with a map + the socket flow table
      expect(a.stack.softnet.map((sd) => sd.flow_limit?.num_buckets ?? 0)).to.deep.equal([0, 0, 0, 256]);
      expect(a.tcpProxy.consumerCpus).to.deep.equal([3, 2]);
    } finally {
      emu.stop();
    }
  });

  it('by default a guest has one CPU and RPS off', () => {
    const { options } = parseServeOptions(['--vhost-user', path.join(os.tmpdir(), `skbnet-rps1-${process.pid}.sock`), '--dns-forward', '127.0.0.1:53']);
    const emu = new Emulator(options, silentLogger);
    try {
      const a = emu.attachments[0];
      expect(a.stack.softnet.length).to.equal(1);
      expect(a.stack.rps.rps_needed).to.equal(0);
      expect(a.stack.rps.rps_sock_flow_entries).to.equal(0);
      expect(a.tcpProxy.consumerCpus).to.deep.equal([]);
    } finally {
      emu.stop();
    }
  });
});
