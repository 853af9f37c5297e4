// TOS → skb->priority where the model emits IPv4 (rt_tos2priority, include/net/route.h ip_tos2prio),
// so pfifo_fast's priomap puts lowdelay in band 0 and throughput in band 2, as on Linux.
import { expect } from 'chai';
import { VirtualTimeScheduler } from 'rxjs';
import { NetStack } from '../../kernel-model/core/stack';
import { NETDEV_TX_OK, type NetDevice, type NetDeviceOps } from '../../kernel-model/core/netdevice';
import type { Skb } from '../../kernel-model/core/skb';
import { silentLogger } from '../../kernel-model/core/log';
import { attachInet } from '../../kernel-model/inet';
import { defaultInetConfig } from '../../kernel-model/ipv4/config';
import { MAX_IPV4_HEADER } from '../../kernel-model/ipv4/ip_output';
import { tcCommand } from '../../kernel-model/sched/tc';
import { PRIO2BAND } from '../../kernel-model/sched/sch_pfifo_fast';

class Wire implements NetDeviceOps {
  readonly dev: NetDevice;
  /** [priority, TOS byte on the wire] of each frame in transmit order */
  readonly sent: [number, number][] = [];
  constructor(stack: NetStack) {
    this.dev = stack.register_netdev(this);
  }
  ndo_start_xmit(skb: Skb): number {
    this.sent.push([skb.priority, skb.buf[skb.data + 14 + 1]]);
    return NETDEV_TX_OK;
  }
}

describe('IPv4 output: TOS selects skb.priority (rt_tos2priority) and the pfifo_fast band', () => {
  it('lowdelay (0x10) → priority 6, band 0; throughput (0x08) → priority 2, band 2; 0 → band 1; dequeued band 0 first', () => {
    const sched = new VirtualTimeScheduler();
    const stack = new NetStack({ scheduler: sched, log: silentLogger });
    const wire = new Wire(stack);
    const inet = attachInet(stack, wire.dev, defaultInetConfig({ dhcp: false }));
    tcCommand(stack, ['qdisc', 'replace', 'dev', 'eth0', 'root', 'pfifo_fast']);
    wire.dev.netif_stop_queue();
    const send = (tos: number): void => {
      const skb = stack.alloc_skb(MAX_IPV4_HEADER + 8)!;
      skb.reserve(MAX_IPV4_HEADER);
      skb.put(8);
      expect(inet.ipSend(skb, 0x0a000202, 0x0a00020f, 17, tos, true, 0x525400123456)).to.equal(0);
    };
    // the first frame meets an empty qdisc and the stopped queue: it is requeued and goes first
    // (dev_requeue_skb), the rest wait in their bands
    send(0x00);
    send(0x08); // IPTOS_THROUGHPUT
    send(0x00);
    send(0x10); // IPTOS_LOWDELAY
    send(0x18); // lowdelay + throughput → interactive-bulk (4), band 1
    expect(wire.sent).to.deep.equal([]);
    wire.dev.netif_wake_queue();
    sched.flush();
    expect(wire.sent).to.deep.equal([
      [0, 0x00],
      [6, 0x10],
      [0, 0x00],
      [4, 0x18],
      [2, 0x08],
    ]);
    expect(wire.sent.map(([p]) => PRIO2BAND[p])).to.deep.equal([1, 0, 1, 1, 2]);
    expect(tcCommand(stack, ['-s', 'qdisc', 'show', 'dev', 'eth0'])).to.match(/Sent \d+ bytes 5 pkt/);
  });
});
