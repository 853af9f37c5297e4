// tc syntax: units, handles, the qdisc/class command parsers with their error messages, applying
// commands to a device (root replace frees queued skbs), and `tc -s qdisc show` output exactly.
import { expect } from 'chai';
import { SchedLink } from './sched-harness';
import { tcCommand, TcError } from '../../kernel-model/sched/tc';
import { get_rate64, get_size64, get_time64, get_time_us, parse_percent, print_rate, print_size, print_time_us, print_time64, fmt_g } from '../../kernel-model/sched/tc/units';
import { get_qdisc_handle, get_tc_classid } from '../../kernel-model/sched/tc/handles';
import { parse_netem, parse_tbf } from '../../kernel-model/sched/tc/kinds';
import { FqCodelQdisc } from '../../kernel-model/sched/sch_fq_codel';
import { NetemQdisc } from '../../kernel-model/sched/sch_netem';
import { TbfQdisc } from '../../kernel-model/sched/sch_tbf';
import { HtbQdisc } from '../../kernel-model/sched/sch_htb';
import { PfifoQdisc } from '../../kernel-model/sched/pfifo';

const tc = (l: SchedLink, line: string): string => tcCommand(l.stack, line.split(/\s+/).filter(Boolean));

describe('sched: tc units and handles (iproute2 lib/utils*.c)', () => {
  it('parses rates, sizes, times and percentages as tc does', () => {
    expect(get_rate64('10mbit')).to.equal(1250000);
    expect(get_rate64('1Mbit')).to.equal(125000);
    expect(get_rate64('8kbit')).to.equal(1000);
    expect(get_rate64('1gbit')).to.equal(125000000);
    expect(get_rate64('100bps')).to.equal(100);
    expect(get_rate64('800')).to.equal(100); // bare = bit/s
    expect(get_rate64('1KiBps')).to.equal(1024);
    expect(get_rate64('10mbps')).to.equal(10000000);
    expect(get_rate64('10xyz')).to.equal(null);
    expect(get_rate64('')).to.equal(null);
    expect(get_size64('32kb')).to.equal(32768);
    expect(get_size64('32k')).to.equal(32768);
    expect(get_size64('32kbit')).to.equal(4096);
    expect(get_size64('1mb')).to.equal(1048576);
    expect(get_size64('1500')).to.equal(1500);
    expect(get_size64('1500b')).to.equal(1500);
    expect(get_size64('1.5')).to.equal(null);
    expect(get_size64('-1')).to.equal(null);
    expect(get_time64('100ms')).to.equal(100e6);
    expect(get_time64('10us')).to.equal(10e3);
    expect(get_time64('1.5s')).to.equal(1.5e9);
    expect(get_time64('7')).to.equal(7);
    expect(get_time_us('5ms')).to.equal(5000);
    expect(get_time_us('5')).to.equal(5);
    expect(get_time_us('5min')).to.equal(null);
    expect(parse_percent('1%')).to.equal(0.01);
    expect(parse_percent('25')).to.equal(0.25);
    expect(parse_percent('101%')).to.equal(null);
    expect(parse_percent('5x')).to.equal(null);
  });

  it('prints rates, sizes and times as tc does', () => {
    expect(print_rate(1250000)).to.equal('10Mbit');
    expect(print_rate(125000)).to.equal('1Mbit');
    expect(print_rate(1000)).to.equal('8Kbit');
    expect(print_rate(1234)).to.equal('9872bit');
    expect(print_size(33554432)).to.equal('32Mb');
    expect(print_size(4096)).to.equal('4Kb');
    expect(print_size(1514)).to.equal('1514b');
    expect(print_size(0)).to.equal('0b');
    expect(print_time_us(4999)).to.equal('5ms');
    expect(print_time_us(99999)).to.equal('100ms');
    expect(print_time_us(400000)).to.equal('400ms');
    expect(print_time_us(1500000)).to.equal('1.5s');
    expect(print_time_us(250)).to.equal('250us');
    expect(print_time64(100e6)).to.equal('100ms');
    expect(print_time64(12345678)).to.equal('12.3ms');
    expect(print_time64(500)).to.equal('500ns');
    expect(fmt_g(1.0000000002)).to.equal('1');
    expect(fmt_g(0.5)).to.equal('0.5');
    expect(fmt_g(1e-7)).to.equal('1e-07');
  });

  it('parses handles and class ids (hex)', () => {
    expect(get_qdisc_handle('1:')).to.equal(0x10000);
    expect(get_qdisc_handle('ffff:')).to.equal(0xffff0000);
    expect(get_qdisc_handle('10000:')).to.equal(null);
    expect(get_qdisc_handle('x:')).to.equal(null);
    expect(get_tc_classid('1:10')).to.equal(0x10010);
    expect(get_tc_classid('root')).to.equal(0xffffffff);
    expect(get_tc_classid(':a')).to.equal(0xa);
    expect(get_tc_classid('1:g')).to.equal(null);
  });
});

describe('sched: tc qdisc commands', () => {
  it('replace root netem, show it, replace again in place (stats kept), delete back to the default', () => {
    const l = new SchedLink();
    expect(tc(l, 'qdisc replace dev eth0 root netem delay 100ms 10ms loss 1% seed 7')).to.equal('');
    const q = l.dev.qdisc as NetemQdisc;
    expect(q).to.be.instanceOf(NetemQdisc);
    expect(q.handle).to.equal(0x80010000);
    expect(tc(l, 'qdisc show dev eth0')).to.equal('qdisc netem 8001: root refcnt 2 limit 1000 delay 100ms  10ms loss 1% seed 7\n');
    expect(tc(l, 'qdisc show')).to.equal('qdisc netem 8001: dev eth0 root refcnt 2 limit 1000 delay 100ms  10ms loss 1% seed 7\n');
    l.send(1, 1);
    tc(l, 'qdisc replace dev eth0 root netem delay 20ms seed 7');
    expect(l.dev.qdisc).to.equal(q); // changed in place
    expect(q.qlen).to.equal(1);
    tc(l, 'qdisc del dev eth0 root');
    expect(l.dev.qdisc).to.be.instanceOf(PfifoQdisc);
    expect(l.stack.pool.available).to.equal(4096); // the queued skb was freed
    l.run(1000);
    expect(l.sent).to.have.length(0);
  });

  it('replacing the root with another kind frees queued skbs and cancels the old watchdog', () => {
    const l = new SchedLink();
    tc(l, 'qdisc add dev eth0 root tbf rate 1mbit burst 1600 latency 1s');
    for (let i = 0; i < 10; i++) l.send(1, i, 1000);
    const old = l.dev.qdisc as TbfQdisc;
    expect(old.qlen).to.be.greaterThan(0);
    expect(old.watchdog.pending).to.equal(true);
    tc(l, 'qdisc replace dev eth0 root fq_codel');
    expect(old.watchdog.pending).to.equal(false);
    expect(l.dev.qdisc).to.be.instanceOf(FqCodelQdisc);
    expect(l.stack.pool.available).to.equal(4096);
    l.send(2, 1);
    l.run(100);
    expect(l.sent.map((r) => r.flow)).to.deep.equal([1, 2]);
  });

  it('builds htb with a class and netem under it (the issue example)', () => {
    const l = new SchedLink();
    tc(l, 'qdisc add dev eth0 root handle 1: htb default 10');
    tc(l, 'class add dev eth0 parent 1: classid 1:10 htb rate 10mbit');
    tc(l, 'qdisc add dev eth0 parent 1:10 handle 10: netem delay 50ms seed 1');
    expect(l.dev.qdisc).to.be.instanceOf(HtbQdisc);
    expect(tc(l, 'qdisc show dev eth0')).to.equal(
      'qdisc htb 1: root refcnt 2 r2q 10 default 0x10 direct_packets_stat 0 direct_qlen 1000\n' +
        'qdisc netem 10: parent 1:10 limit 1000 delay 50ms seed 1\n',
    );
    expect(tc(l, 'class show dev eth0')).to.equal('class htb 1:10 root leaf 10: prio 0 rate 10Mbit ceil 10Mbit burst 1600b cburst 1600b\n');
    tc(l, 'qdisc del dev eth0 parent 1:10');
    expect(tc(l, 'qdisc show dev eth0')).to.equal('qdisc htb 1: root refcnt 2 r2q 10 default 0x10 direct_packets_stat 0 direct_qlen 1000\n');
  });

  it('reports errors with tc-like messages', () => {
    const l = new SchedLink();
    const err = (line: string): string => {
      try {
        tc(l, line);
      } catch (e) {
        expect(e).to.be.instanceOf(TcError);
        return (e as Error).message;
      }
      throw new Error(`no error for: ${line}`);
    };
    expect(err('qdisc add dev eth9 root netem')).to.equal('Cannot find device "eth9"');
    expect(err('qdisc add dev eth0 root bogus')).to.equal('Error: Specified qdisc kind is unknown.');
    expect(err('qdisc add dev eth0 root netem delay')).to.equal('Command line is not complete. Try option "help"');
    expect(err('qdisc add dev eth0 root netem loss 5 %')).to.equal('What is "%"?');
    expect(err('qdisc add dev eth0 root netem reorder 10%')).to.equal('reordering not possible without specifying some delay');
    expect(err('qdisc add dev eth0 root netem gap 5 delay 10ms')).to.equal('gap specified without reorder probability');
    expect(err('qdisc add dev eth0 root netem delay 10ms distribution weird 1ms')).to.match(/^No distribution data for weird/);
    expect(err('qdisc add dev eth0 root tbf rate 1mbit')).to.equal(
      'tbf: the "burst" parameter is mandatory.\ntbf: either "limit" or "latency" is required.',
    );
    expect(err('qdisc add dev eth0 root tbf rate 1mbit burst 10k limit 1k latency 5ms')).to.equal(
      'tbf: specifying both "limit" and "/latency" is not allowed',
    );
    expect(err('qdisc add dev eth0 root tbf rate 1mbot burst 10k latency 5ms')).to.equal('tbf: illegal value for "rate": "1mbot"');
    expect(err('qdisc add dev eth0 root handle 1x: htb')).to.equal('Error: argument "1x:" is wrong: invalid qdisc ID');
    expect(err('qdisc add dev eth0 root root netem')).to.equal('Error: "root" is duplicate parent ID');
    expect(err('qdisc add dev eth0 netem')).to.equal('Error: Parent not specified (use "root" or "parent X:Y").');
    expect(err('qdisc del dev eth0 root')).to.equal('Error: Cannot delete qdisc with handle of zero.');
    expect(err('qdisc change dev eth0 root netem delay 1ms')).to.equal('Error: Specified qdisc not found.');
    tc(l, 'qdisc add dev eth0 root handle 1: htb');
    expect(err('qdisc add dev eth0 root netem')).to.equal('Error: Exclusivity flag on, cannot modify.');
    expect(err('qdisc add dev eth0 parent 2:1 netem')).to.equal('Error: Failed to find qdisc with specified classid.');
    expect(err('qdisc add dev eth0 parent 1:5 netem')).to.equal('htb: no class 1:5');
    expect(err('class add dev eth0 parent 1: classid 1:5 htb ceil 1mbit')).to.equal('"rate" is required.');
    expect(err('bogus')).to.equal('Object "bogus" is unknown, try "tc help".');
    // nothing half-applied
    expect(tc(l, 'qdisc show dev eth0')).to.equal('qdisc htb 1: root refcnt 2 r2q 10 default 0 direct_packets_stat 0 direct_qlen 1000\n');
  });

  it('round-trips option sets through the printer', () => {
    const cases: [string, string][] = [
      ['netem delay 100ms 10ms 25% distribution normal seed 3', 'limit 1000 delay 100ms  10ms 25% seed 3'],
      ['netem loss state 1% seed 3', 'limit 1000 loss state p13 1% p31 99% p32 0% p23 100% p14 0% seed 3'],
      ['netem loss gemodel 1% 10% 70% 0.1% seed 3', 'limit 1000 loss gemodel p 1% r 10% 1-h 70% 1-k 0.1% seed 3'],
      ['netem limit 50 delay 5ms duplicate 1% corrupt 0.5% reorder 25% 50% gap 5 seed 3', 'limit 50 delay 5ms duplicate 1% reorder 25% 50% corrupt 0.5% seed 3 gap 5'],
      ['netem rate 1mbit 20 100 -4 seed 3', 'limit 1000 rate 1Mbit packetoverhead 20 cellsize 100 celloverhead -4 seed 3'],
      ['netem delay 1ms slot 10ms 20ms packets 5 seed 3', 'limit 1000 delay 1ms slot 10ms 20ms packets 5 seed 3'],
      ['netem loss 5% ecn seed 3', 'limit 1000 loss 5% seed 3 ecn '],
      ['tbf rate 1mbit burst 32kbit latency 400ms', 'rate 1Mbit burst 4Kb lat 400ms '],
      ['tbf rate 10mbit burst 10kb limit 30000', 'rate 10Mbit burst 10Kb lat 15.8ms '],
      ['tbf rate 1mbit burst 10kb latency 50ms peakrate 2mbit mtu 1600', 'rate 1Mbit burst 10Kb peakrate 2Mbit minburst 1600b lat 50ms '],
      ['fq_codel', 'limit 10240p flows 1024 quantum 1514 target 5ms interval 100ms memory_limit 32Mb ecn drop_batch 64 '],
      ['fq_codel limit 100 flows 16 quantum 300 target 2ms interval 20ms noecn memory_limit 4mb', 'limit 100p flows 16 quantum 300 target 2ms interval 20ms memory_limit 4Mb drop_batch 64 '],
      ['prio', 'bands 3 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1'],
      ['prio bands 4 priomap 3 3 2 2 1 1 0 0 0 0 0 0 0 0 0 0', 'bands 4 priomap 3 3 2 2 1 1 0 0 0 0 0 0 0 0 0 0'],
      ['pfifo limit 50', 'limit 50p'],
      ['bfifo limit 30000', 'limit 30000b'],
      ['pfifo_fast', 'bands 3 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1'],
    ];
    for (const [cmd, opts] of cases) {
      const l = new SchedLink();
      tc(l, `qdisc replace dev eth0 root handle 5: ${cmd}`);
      const kind = cmd.split(' ')[0];
      expect(tc(l, 'qdisc show dev eth0'), cmd).to.equal(`qdisc ${kind} 5: root refcnt 2 ${opts}\n`);
    }
  });

  it('computes tbf limit from latency as tc does (rate·latency + burst)', () => {
    expect(parse_tbf(['rate', '1mbit', 'burst', '32kbit', 'latency', '400ms']).limit).to.equal(54096);
    const n = parse_netem(['delay', '10ms', 'reorder', '25%']);
    expect(n.gap).to.equal(1);
  });

  it('prints tc -s qdisc show for fq_codel exactly, counters included', () => {
    const l = new SchedLink();
    tc(l, 'qdisc replace dev eth0 root fq_codel');
    const q = l.dev.qdisc as FqCodelQdisc;
    q.handle = 0; // as the default qdisc prints it
    expect(tc(l, '-s qdisc show dev eth0')).to.equal(
      'qdisc fq_codel 0: root refcnt 2 limit 10240p flows 1024 quantum 1514 target 5ms interval 100ms memory_limit 32Mb ecn drop_batch 64 \n' +
        ' Sent 0 bytes 0 pkt (dropped 0, overlimits 0 requeues 0) \n' +
        ' backlog 0b 0p requeues 0\n' +
        '  maxpacket 0 drop_overlimit 0 new_flow_count 0 ecn_mark 0\n' +
        '  new_flows_len 0 old_flows_len 0\n',
    );
    for (let i = 0; i < 4; i++) l.send(1, i, 100);
    l.run(10);
    expect(tc(l, '-s qdisc show dev eth0')).to.equal(
      'qdisc fq_codel 0: root refcnt 2 limit 10240p flows 1024 quantum 1514 target 5ms interval 100ms memory_limit 32Mb ecn drop_batch 64 \n' +
        ' Sent 400 bytes 4 pkt (dropped 0, overlimits 0 requeues 0) \n' +
        ' backlog 0b 0p requeues 0\n' +
        '  maxpacket 0 drop_overlimit 0 new_flow_count 0 ecn_mark 0\n' +
        '  new_flows_len 0 old_flows_len 0\n',
    );
  });
});
