// The ICMPv6 proxy against real ping sockets: a guest on the IPv6 test link pings this machine's own
// non-loopback IPv6 address through the model; the reply must come back from that address with the
// guest's identifier (the host kernel used its own), a valid checksum and the guest's traffic class.
// The model's own addresses, NDP and non-echo ICMPv6 keep their local paths. Opening ping sockets needs
// net.ipv4.ping_group_range to hold our group (it governs ICMPv6 ping sockets too): as root the tests set
// it for their duration; the forbidden path is tested the same way.
import { expect } from 'chai';
import { Icmp6Proxy } from '../../kernel-model/services/host-proxy/icmp6-proxy';
import { IcmpProxy, PING_SOCKETS_HINT } from '../../kernel-model/services/host-proxy/icmp-proxy';
import { parseIpv6 } from '../../kernel-model/wire/ipv6';
import { GUEST_GLOBAL, GUEST_LL, MODEL_LL, csumOk6, echo6, icmp6Type, ip6, ipv6Frame, link6, ns6, u16 } from './ipv6-link';
import { echoRequest } from './ipv4-link';
import { until } from '../support/dns-server';
import { cannotSetPingGroupRange, ownGroupRange, ownIpv4, setPingGroupRange } from '../support/ping-group-range';
import { ownIpv6 } from '../support/host-servers';

/** the link with the guest's addresses learned (so replies go out at once) */
function learned(): ReturnType<typeof link6> {
  const l = link6();
  l.link.inject(ns6({ target: 'fec0::2', src: GUEST_GLOBAL }));
  l.link.inject(ns6({ target: MODEL_LL, src: GUEST_LL }));
  l.link.take();
  return l;
}

interface Echo6 {
  src: number[];
  dst: number[];
  hops: number;
  tclass: number;
  type: number;
  id: number;
  seq: number;
  data: string;
  csumOk: boolean;
}

/** the ICMPv6 messages the model sent */
function sent6(frames: Uint8Array[]): Echo6[] {
  return frames
    .filter((f) => icmp6Type(f) >= 0)
    .map((f) => ({
      src: Array.from(f.subarray(22, 38)),
      dst: Array.from(f.subarray(38, 54)),
      hops: f[21],
      tclass: ((f[14] & 15) << 4) | (f[15] >> 4),
      type: f[54],
      id: u16(f, 58),
      seq: u16(f, 60),
      data: Buffer.from(f.subarray(62, 54 + u16(f, 18))).toString(),
      csumOk: csumOk6(f),
    }));
}

describe('icmp6-proxy: guest ICMPv6 echo to outside addresses through host ping sockets', function () {
  this.timeout(20000);
  const target = ownIpv6();
  let l: ReturnType<typeof learned>;
  let proxy: Icmp6Proxy | null = null;
  let proxy4: IcmpProxy | null = null;
  let pump: NodeJS.Timeout;
  let restore: (() => void) | null = null;

  beforeEach(function () {
    if (cannotSetPingGroupRange() !== null) this.skip();
    if (target === null) this.skip(); // no global IPv6 address on this machine to ping
    l = learned();
    pump = setInterval(() => l.link.advance(5), 1);
  });
  afterEach(() => {
    clearInterval(pump);
    proxy?.close();
    proxy = null;
    proxy4?.close();
    proxy4 = null;
    restore?.();
    restore = null;
  });

  it('sends through one ping socket per (guest, id) and maps the host identifier back: id, sequence, data, source, checksum, traffic class', async () => {
    restore = setPingGroupRange(ownGroupRange());
    proxy = new Icmp6Proxy(l.inet6).start();
    l.link.inject(echo6({ dst: target!, id: 0xbeef, seq: 1, data: [...Buffer.from('first')], tclass: 0x28, hopLimit: 9 }));
    expect(await until(() => proxy!.stats.repliesIn === 1, 5000)).to.equal(true);
    const hostId = proxy.hostId(parseIpv6(GUEST_GLOBAL)!, 0xbeef);
    expect(hostId, 'the kernel chose its own identifier').to.be.greaterThan(0).and.not.equal(0xbeef);
    l.link.inject(echo6({ dst: target!, id: 0xbeef, seq: 2, data: [...Buffer.from('second')] }));
    expect(await until(() => proxy!.stats.repliesIn === 2, 5000)).to.equal(true);
    const replies = sent6(l.link.take()).filter((m) => m.type === 129);
    expect(replies.map((r) => [r.seq, r.data])).to.deep.equal([[1, 'first'], [2, 'second']]);
    for (const r of replies) {
      expect(r).to.deep.include({ src: ip6(target!), dst: ip6(GUEST_GLOBAL), id: 0xbeef, csumOk: true });
      // the hop limit the reply had arriving at the host (its own stack's default), not the model's
      expect(r.hops).to.equal(64);
    }
    expect(replies[0].tclass, "the guest's traffic class is reflected").to.equal(0x28);
    expect(proxy.stats).to.include({ flows: 1, requestsOut: 2, repliesIn: 2, noPingSockets: 0, hostErrors: 0, badReplies: 0 });
    // another identifier is another flow
    l.link.inject(echo6({ dst: target!, id: 7, seq: 1, data: [1] }));
    expect(await until(() => proxy!.stats.repliesIn === 3, 5000)).to.equal(true);
    expect(proxy.stats.flows).to.equal(2);
    expect(proxy.flowCount).to.equal(2);
    const mib = l.link.stack.mib;
    expect(mib.Icmp6Msg.OutType[129]).to.equal(3);
    expect(mib.Ip6.InAddrErrors).to.equal(0);
  });

  it('the model answers its own addresses and NDP itself; hop limit 1 gets Time Exceeded; other ICMPv6 to outside addresses is not routed', async () => {
    restore = setPingGroupRange(ownGroupRange());
    proxy = new Icmp6Proxy(l.inet6).start();
    l.link.inject(echo6({ dst: 'fec0::2', id: 5, seq: 1, data: [...Buffer.from('gw')] }));
    l.link.inject(ns6({ target: 'fec0::2', src: GUEST_GLOBAL, dst: 'fec0::2' }));
    l.link.advance(10);
    const own = sent6(l.link.take());
    expect(own.filter((m) => m.type === 129).map((m) => [m.src, m.seq])).to.deep.equal([[ip6('fec0::2'), 1]]);
    expect(own.filter((m) => m.type === 136), 'the NS is answered with an NA').to.have.length(1);
    expect(proxy.stats.flows, 'the gateway is answered by the model, not the host').to.equal(0);
    // hop limit 1: the model is a router that will not forward it (RFC 8200 §3), as before
    l.link.inject(echo6({ dst: target!, id: 5, seq: 2, data: [1], hopLimit: 1 }));
    l.link.advance(10);
    expect(sent6(l.link.take()).map((m) => m.type)).to.deep.equal([3]);
    // an echo reply and a destination unreachable to an outside address: counted, dropped, not sent out
    const mib = l.link.stack.mib;
    const before = mib.Ip6.InAddrErrors;
    l.link.inject(ipv6Frame({ src: GUEST_GLOBAL, dst: target!, nh: 58, payload: [129, 0, 0, 0, 0, 5, 0, 3, 1] }));
    l.link.inject(ipv6Frame({ src: GUEST_GLOBAL, dst: target!, nh: 58, payload: [1, 4, 0, 0, 0, 0, 0, 0, ...new Array<number>(48).fill(0)] }));
    l.link.advance(10);
    expect(mib.Ip6.InAddrErrors - before).to.equal(2);
    expect(proxy.stats).to.include({ flows: 0, requestsOut: 0 });
    expect(l.link.take()).to.have.length(0);
    // once the proxy is gone an echo to an outside address is not answered in another host's name
    proxy.close();
    l.link.inject(echo6({ dst: target!, id: 6, seq: 1, data: [1] }));
    l.link.advance(10);
    expect(mib.Ip6.InAddrErrors - before).to.equal(3);
    expect(l.link.take()).to.have.length(0);
  });

  it('--restrict: nothing leaves, no socket is opened, the drop is counted', async () => {
    restore = setPingGroupRange(ownGroupRange());
    proxy = new Icmp6Proxy(l.inet6, { restrict: true }).start();
    l.link.inject(echo6({ dst: target!, id: 3, seq: 1, data: [1] }));
    await new Promise((r) => setTimeout(r, 100));
    expect(proxy.stats).to.include({ restricted: 1, flows: 0, requestsOut: 0, repliesIn: 0 });
    expect(sent6(l.link.take()).filter((m) => m.type === 129)).to.have.length(0);
  });

  it('ping sockets forbidden (EACCES): one log line for both families, each request dropped and counted', async () => {
    restore = setPingGroupRange('1 0');
    proxy = new Icmp6Proxy(l.inet6).start();
    proxy4 = new IcmpProxy(l.link.inet).start();
    for (let seq = 1; seq <= 3; seq++) l.link.inject(echo6({ dst: target!, id: 4, seq, data: [1] }));
    const v4 = ownIpv4();
    if (v4 !== null) l.link.inject(echoRequest({ dst: v4, id: 4, seq: 1, data: [1] }));
    await new Promise((r) => setTimeout(r, 100));
    expect(proxy.stats).to.include({ noPingSockets: 3, flows: 0, requestsOut: 0 });
    if (v4 !== null) expect(proxy4.stats.noPingSockets).to.equal(1);
    expect(l.link.log.lines.filter((x) => x.includes(PING_SOCKETS_HINT))).to.deep.equal([`warn: ${PING_SOCKETS_HINT}`]);
    expect(sent6(l.link.take()).filter((m) => m.type === 129)).to.have.length(0);
  });

  it('closes a flow idle for idleMs (its host socket too); the flow cap drops and counts', async () => {
    restore = setPingGroupRange(ownGroupRange());
    proxy = new Icmp6Proxy(l.inet6, { idleMs: 1000, maxFlows: 1 }).start();
    l.link.inject(echo6({ dst: target!, id: 1, seq: 1, data: [1] }));
    expect(await until(() => proxy!.stats.repliesIn === 1, 5000)).to.equal(true);
    l.link.inject(echo6({ dst: target!, id: 2, seq: 1, data: [1] }));
    expect(proxy.stats.flowLimit).to.equal(1);
    expect(proxy.flowCount).to.equal(1);
    expect(await until(() => proxy!.flowCount === 0, 5000)).to.equal(true);
    expect(proxy.stats.expired).to.equal(1);
    expect(proxy.hostId(parseIpv6(GUEST_GLOBAL)!, 1)).to.equal(-1);
  });
});
