import { expect } from 'chai';
import { TestLink, arpFrame, echoRequest, toHex } from './ipv4-link';
describe('smoke', () => {
  it('arp + ping', () => {
    const l = new TestLink();
    l.inject(arpFrame({ op: 1, spa: '10.0.2.15', tpa: '10.0.2.2' }));
    const out = l.take();
    console.log(out.map((f) => toHex(f)));
    l.inject(echoRequest({ id: 1, seq: 1, data: [1, 2, 3, 4] }));
    console.log(l.take().map((f) => toHex(f)), l.log.lines);
    console.log(l.stack.mib.Ip, l.stack.mib.Icmp.OutEchoReps);
    expect(out.length).to.equal(1);
  });
});
