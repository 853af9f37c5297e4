// Ingress shaping through ifb0 (ingress qdisc + mirred redirect to an ifb, as Linux): frames a device
// receives pass ifb0's root qdisc before protocol dispatch; pass-through while that root is noqueue.
// Real frames through a real NAPI, in virtual time.
import { expect } from 'chai';
import { VirtualTimeScheduler } from 'rxjs';
import { NetStack } from '../../kernel-model/core/stack';
import { NETDEV_TX_OK, type NetDevice, type NetDeviceOps } from '../../kernel-model/core/netdevice';
import { napi_complete_done, napi_schedule, type NapiStruct } from '../../kernel-model/core/napi';
import type { Skb } from '../../kernel-model/core/skb';
import { silentLogger } from '../../kernel-model/core/log';
import { IfbDevice } from '../../kernel-model/sched/ifb';
import { tcCommand } from '../../kernel-model/sched/tc';
import { formatIpLink } from '../../emulator/views/ip-link';

const ETH_P_TEST = 0x88b5; // IEEE local experimental ethertype

class Nic implements NetDeviceOps {
  readonly dev: NetDevice;
  readonly napi: NapiStruct;
  queue: Uint8Array[] = [];
  constructor(readonly stack: NetStack) {
    this.dev = stack.register_netdev(this);
    this.napi = this.dev.netif_napi_add((n, b) => this.poll(n, b));
  }
  ndo_start_xmit(_skb: Skb): number {
    return NETDEV_TX_OK;
  }
  /** frames 0..n-1 (payload byte 0 = index, `size` bytes each) arrive now */
  receive(n: number, size = 100, from = 0): void {
    for (let i = 0; i < n; i++) {
      const f = new Uint8Array(size);
      f.set(this.dev.dev_addr, 0);
      f.set([0x52, 0x54, 0, 0x12, 0x34, 0x56], 6);
      f[12] = ETH_P_TEST >> 8;
      f[13] = ETH_P_TEST & 0xff;
      f[14] = (from + i) & 0xff;
      this.queue.push(f);
    }
    napi_schedule(this.napi);
  }
  private poll(napi: NapiStruct, budget: number): number {
    let work = 0;
    while (work < budget && this.queue.length) {
      const f = this.queue.shift()!;
      napi.batch.next()!.reset(f, 0, f.length);
      work++;
    }
    napi.receive_batch();
    if (work < budget) napi_complete_done(napi, work);
    return work;
  }
}

function setup(): { sched: VirtualTimeScheduler; stack: NetStack; nic: Nic; ifb: IfbDevice; got: { t: number; i: number }[]; tapped: number[] } {
  const sched = new VirtualTimeScheduler(undefined, Infinity);
  const stack = new NetStack({ scheduler: sched, log: silentLogger });
  const nic = new Nic(stack);
  const ifb = new IfbDevice(stack, nic.dev);
  const got: { t: number; i: number }[] = [];
  const tapped: number[] = [];
  stack.dev_add_pack(ETH_P_TEST, (skb, dev) => {
    expect(dev).to.equal(nic.dev);
    got.push({ t: sched.now(), i: skb.buf[skb.data] });
  });
  stack.dev_add_tap((skb, _dev, dir) => {
    if (dir === 'rx') tapped.push(skb.buf[skb.data]);
  });
  return { sched, stack, nic, ifb, got, tapped };
}

const show = (stack: NetStack): string => tcCommand(stack, ['-s', 'qdisc', 'show', 'dev', 'ifb0']);

describe('ingress through ifb0 (virtual time)', () => {
  it('ifb0 exists with a noqueue root: frames pass straight through, no hook installed', () => {
    const { sched, stack, nic, got, tapped } = setup();
    expect(formatIpLink(stack.devices, false)).to.match(/^3: ifb0: <BROADCAST,NOARP,UP,LOWER_UP> mtu 1500 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 32$/m);
    expect(show(stack)).to.match(/^qdisc noqueue 0: root refcnt 2 \n Sent 0 bytes 0 pkt/);
    expect(nic.dev.tc_ingress ?? null).to.equal(null);
    nic.receive(5);
    sched.flush();
    expect(got.map((g) => g.t)).to.deep.equal([0, 0, 0, 0, 0]);
    expect(stack.softnet[0].processed).to.equal(5);
    expect(tapped.length).to.equal(5);
  });

  it('`tc qdisc replace dev ifb0 root netem delay 100ms`: delivered 100 ms later, in order; counters on ifb0', () => {
    const { sched, stack, nic, got, tapped } = setup();
    tcCommand(stack, ['qdisc', 'replace', 'dev', 'ifb0', 'root', 'netem', 'delay', '100ms']);
    nic.receive(10, 100);
    sched.flush();
    expect(got.map((g) => g.i)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(got.every((g) => Math.abs(g.t - 100) < 0.001), JSON.stringify(got)).to.equal(true);
    // the taps saw each frame once (on arrival); __netif_receive_skb_core ran twice per frame
    expect(tapped.length).to.equal(10);
    expect(stack.softnet[0].processed).to.equal(20);
    const s = show(stack);
    expect(s, s).to.match(/^qdisc netem [0-9a-f]+: root refcnt 2 limit 1000 delay 100ms( seed \d+)?\n Sent 1000 bytes 10 pkt \(dropped 0, overlimits 0 requeues 0\) \n backlog 0b 0p requeues 0\n$/);
    const ifb0 = stack.dev_get_by_name('ifb0')!;
    expect(ifb0.stats.rx_packets).to.equal(10);
    expect(ifb0.stats.tx_packets).to.equal(10);
    expect(ifb0.stats.tx_bytes).to.equal(1000);
    // deleting the root restores noqueue and pass-through
    tcCommand(stack, ['qdisc', 'del', 'dev', 'ifb0', 'root']);
    expect(show(stack)).to.match(/^qdisc noqueue 0: root refcnt 2 /);
    const t0 = sched.now();
    nic.receive(2, 100, 10);
    sched.flush();
    expect(got.slice(10).map((g) => g.t - t0)).to.deep.equal([0, 0]);
  });

  it('netem loss on ifb0 drops frames from the device, counted in ifb0\'s qdisc', () => {
    const { sched, stack, nic, got } = setup();
    tcCommand(stack, ['qdisc', 'replace', 'dev', 'ifb0', 'root', 'netem', 'loss', '30%', 'seed', '7']);
    nic.receive(200);
    sched.flush();
    const dropped = Number(/dropped (\d+)/.exec(show(stack))![1]);
    expect(got.length + dropped).to.equal(200);
    expect(dropped).to.be.within(35, 85); // 60 expected; binomial σ ≈ 6.5
    expect(nic.dev.stats.rx_dropped).to.equal(0);
  });

  it('tbf on ifb0 paces what the device received to its rate', () => {
    const { sched, stack, nic, got } = setup();
    // 1 Mbit/s, one frame of burst: 20 frames of 1000 bytes are spread 8 ms apart
    tcCommand(stack, ['qdisc', 'replace', 'dev', 'ifb0', 'root', 'tbf', 'rate', '1mbit', 'burst', '1000', 'limit', '100000']);
    nic.receive(20, 1000);
    sched.flush();
    expect(got.length).to.equal(20);
    const span = got[19].t - got[0].t;
    expect(span).to.be.within(19 * 8 - 2, 19 * 8 + 4);
    expect(show(stack)).to.match(/^qdisc tbf [0-9a-f]+: root refcnt 2 rate 1Mbit burst 1000b lat/);
    expect(show(stack)).to.match(/Sent 20000 bytes 20 pkt \(dropped 0, overlimits [1-9]\d* requeues 0\)/);
  });

  it('`--tc` style parse errors name ifb0 for ingress qdiscs', () => {
    const { stack } = setup();
    expect(() => tcCommand(stack, ['qdisc', 'add', 'dev', 'eth0', 'ingress'])).to.throw(/ifb0/);
  });
});
