// Bad input never costs the qdiscs: runt, non-IP and truncated frames pass through fq_codel's
// hashing, CoDel's ECN marking and netem's corruption without reads or writes outside the frame,
// and without exceptions; a tc command that fails leaves the device as it was.
import { expect } from 'chai';
import { SchedLink } from './sched-harness';
import { tcCommand } from '../../kernel-model/sched/tc';
import { INET_ECN_set_ce, skb_ecn } from '../../kernel-model/sched/ecn';
import { frame_flow_hash } from '../../kernel-model/sched/flow_hash';
import { Skb } from '../../kernel-model/core/skb';
import { PfifoQdisc } from '../../kernel-model/sched/pfifo';

const tc = (l: SchedLink, line: string): string => tcCommand(l.stack, line.split(/\s+/).filter(Boolean));

/** an skb over a buffer with guard bytes around the frame, to catch stray writes */
function guarded(frame: number[]): { skb: Skb; buf: Uint8Array } {
  const buf = new Uint8Array(frame.length + 32).fill(0xee);
  buf.set(frame, 16);
  const skb = new Skb().reset(buf, 16, frame.length);
  return { skb, buf };
}

describe('sched: hostile frames', () => {
  const cases: [string, number[]][] = [
    ['runt (5 bytes)', [1, 2, 3, 4, 5]],
    ['Ethernet header only, IPv4 type', [...new Array(12).fill(0), 0x08, 0x00]],
    ['IPv4 header cut at 10 bytes', [...new Array(12).fill(0), 0x08, 0x00, 0x45, 0x02, 0, 0, 0, 0, 0, 0, 64, 6]],
    ['IPv6 header cut at 20 bytes', [...new Array(12).fill(0), 0x86, 0xdd, 0x60, 0x20, ...new Array(18).fill(0)]],
    ['VLAN tag then nothing', [...new Array(12).fill(0), 0x81, 0x00, 0, 1]],
    ['ARP', [...new Array(12).fill(0xff), 0x08, 0x06, ...new Array(28).fill(0)]],
    ['IPv4 version 6 in an IPv4 ethertype', [...new Array(12).fill(0), 0x08, 0x00, 0x65, 0x02, ...new Array(18).fill(0)]],
  ];
  for (const [name, frame] of cases) {
    it(`ECN marking and flow hashing leave "${name}" alone`, () => {
      const { skb, buf } = guarded(frame);
      const before = buf.slice();
      expect(INET_ECN_set_ce(skb)).to.equal(false);
      expect(skb_ecn(skb)).to.be.oneOf([-1, 0, 2]);
      expect(Number.isInteger(frame_flow_hash(skb, 12345))).to.equal(true);
      expect(Array.from(buf)).to.deep.equal(Array.from(before));
    });
  }

  it('fq_codel, netem (corrupt, ecn) and tbf carry runts and non-IP frames without throwing', () => {
    for (const setup of ['fq_codel', 'netem corrupt 100% loss 50% ecn delay 1ms seed 1', 'tbf rate 1mbit burst 2k limit 10k']) {
      const l = new SchedLink({ qdiscBulk: 0 });
      tc(l, `qdisc replace dev eth0 root ${setup}`);
      for (const [, frame] of cases) {
        const skb = l.stack.alloc_skb(frame.length)!;
        skb.buf.set(frame, skb.put(frame.length));
        skb.dev = l.dev;
        l.stack.dev_queue_xmit(skb);
      }
      l.run(1000);
      expect(l.stack.exceptions, setup).to.equal(0);
      tc(l, 'qdisc del dev eth0 root');
      expect(l.stack.pool.available, setup).to.equal(4096);
    }
  });

  it('a rejected command changes nothing', () => {
    const l = new SchedLink();
    const before = l.dev.qdisc;
    expect(() => tc(l, 'qdisc replace dev eth0 root netem delay 10ms reorder 5% gap x')).to.throw('Illegal "gap"');
    expect(() => tc(l, 'qdisc replace dev eth0 root tbf rate 1mbit burst 0 latency 1ms')).to.throw();
    expect(() => tc(l, 'qdisc replace dev eth0 root fq_codel flows 0')).to.throw('fq_codel: flows must be 1..65536');
    expect(() => tc(l, 'qdisc replace dev eth0 root prio bands 1')).to.throw('prio: bands must be 2..16');
    expect(l.dev.qdisc).to.equal(before);
    expect(l.dev.qdisc).to.be.instanceOf(PfifoQdisc);
  });
});
