// The ICMP proxy against real ping sockets: a model guest (TcpPair's b, 10.0.2.15) pings this machine's
// own non-loopback address through the model (a, 10.0.2.2); the reply must come back from that address
// with the guest's identifier although the host kernel used its own. Needs root to open ping sockets for
// the test's duration (net.ipv4.ping_group_range); the forbidden path is tested the same way.
import { expect } from 'chai';
import { IcmpProxy, PING_SOCKETS_HINT } from '../../kernel-model/services/host-proxy/icmp-proxy';
import { icmp_set_echo_forwarder } from '../../kernel-model/icmp/icmp';
import { parseIpv4 } from '../../kernel-model/wire/address';
import { TcpPair } from './tcp-pair';
import { slowChecksum } from './ipv4-link';
import { until } from '../support/dns-server';
import { cannotSetPingGroupRange, ownGroupRange, ownIpv4, setPingGroupRange } from '../support/ping-group-range';

/** an ICMP message from b to `daddr` through a (Ethernet at 0) */
function icmpFrame(pair: TcpPair, daddr: number, o: { type?: number; id: number; seq: number; ttl?: number; tos?: number; data: string }): Uint8Array {
  const data = new TextEncoder().encode(o.data);
  const tot = 20 + 8 + data.length;
  const b = new Uint8Array(14 + tot);
  b.set(pair.a.dev.dev_addr, 0);
  b.set(pair.b.dev.dev_addr, 6);
  b[12] = 0x08;
  const ip = 14;
  b[ip] = 0x45;
  b[ip + 1] = o.tos ?? 0;
  b[ip + 2] = tot >> 8;
  b[ip + 3] = tot & 255;
  b[ip + 6] = 0x40;
  b[ip + 8] = o.ttl ?? 64;
  b[ip + 9] = 1;
  const w32 = (p: number, v: number) => {
    b[p] = v >>> 24;
    b[p + 1] = (v >>> 16) & 255;
    b[p + 2] = (v >>> 8) & 255;
    b[p + 3] = v & 255;
  };
  w32(ip + 12, pair.b.inet.ind.primary);
  w32(ip + 16, daddr);
  const hc = slowChecksum([b.subarray(ip, ip + 20)]);
  b[ip + 10] = hc >> 8;
  b[ip + 11] = hc & 255;
  const t = ip + 20;
  b[t] = o.type ?? 8;
  b[t + 4] = o.id >> 8;
  b[t + 5] = o.id & 255;
  b[t + 6] = o.seq >> 8;
  b[t + 7] = o.seq & 255;
  b.set(data, t + 8);
  const c = slowChecksum([b.subarray(t)]);
  b[t + 2] = c >> 8;
  b[t + 3] = c & 255;
  return b;
}

interface Icmp {
  src: number;
  dst: number;
  ttl: number;
  tos: number;
  type: number;
  code: number;
  id: number;
  seq: number;
  data: string;
  csumOk: boolean;
}

/** ICMP messages a sent */
function icmpSent(pair: TcpPair): Icmp[] {
  const out: Icmp[] = [];
  for (const f of pair.a.sent) {
    if (f[12] !== 8 || f[13] !== 0 || f[23] !== 1) continue;
    const ip = 14;
    const t = ip + (f[ip] & 15) * 4;
    const tot = (f[ip + 2] << 8) | f[ip + 3];
    const m = f.subarray(t, ip + tot);
    const u32 = (p: number) => ((f[p] << 24) | (f[p + 1] << 16) | (f[p + 2] << 8) | f[p + 3]) >>> 0;
    out.push({
      src: u32(ip + 12),
      dst: u32(ip + 16),
      ttl: f[ip + 8],
      tos: f[ip + 1],
      type: m[0],
      code: m[1],
      id: (m[4] << 8) | m[5],
      seq: (m[6] << 8) | m[7],
      data: new TextDecoder().decode(m.subarray(8)),
      csumOk: slowChecksum([m]) === 0,
    });
  }
  return out;
}

describe('icmp-proxy: guest echo requests to other addresses through host ping sockets', function () {
  this.timeout(20000);
  const target = ownIpv4();
  let pair: TcpPair;
  let proxy: IcmpProxy | null = null;
  let pump: NodeJS.Timeout;
  let restore: (() => void) | null = null;

  beforeEach(function () {
    const why = cannotSetPingGroupRange();
    if (why !== null) this.skip();
    if (target === null) this.skip(); // no non-loopback IPv4 address to ping
    pair = new TcpPair();
    pair.a.capture = true;
    pump = setInterval(() => pair.advance(5), 1);
  });
  afterEach(() => {
    clearInterval(pump);
    proxy?.close();
    proxy = null;
    restore?.();
    restore = null;
  });

  it('sends through one ping socket per (guest, id) and maps the host identifier back: id, sequence, data, source, checksum', async () => {
    restore = setPingGroupRange(ownGroupRange());
    proxy = new IcmpProxy(pair.a.inet).start();
    const daddr = parseIpv4(target!);
    pair.a.receive(icmpFrame(pair, daddr, { id: 0xbeef, seq: 1, ttl: 9, tos: 0x10, data: 'first' }));
    expect(await until(() => proxy!.stats.repliesIn === 1)).to.equal(true);
    const hostId = proxy.hostId(pair.b.inet.ind.primary, 0xbeef);
    expect(hostId, 'the kernel chose its own identifier').to.be.greaterThan(0).and.not.equal(0xbeef);
    pair.a.receive(icmpFrame(pair, daddr, { id: 0xbeef, seq: 2, data: 'second' }));
    expect(await until(() => proxy!.stats.repliesIn === 2)).to.equal(true);
    const replies = icmpSent(pair).filter((m) => m.type === 0);
    expect(replies.map((r) => [r.seq, r.data])).to.deep.equal([[1, 'first'], [2, 'second']]);
    for (const r of replies) {
      expect(r).to.include({ src: daddr, dst: pair.b.inet.ind.primary, code: 0, id: 0xbeef, csumOk: true });
      // the TTL the reply had arriving at the host (its own stack's default), not the model's
      expect(r.ttl).to.equal(64);
    }
    expect(replies[0].tos, "the guest's TOS is reflected").to.equal(0x10);
    expect(proxy.stats).to.include({ flows: 1, requestsOut: 2, repliesIn: 2, noPingSockets: 0, hostErrors: 0, badReplies: 0 });
    expect(proxy.flowCount).to.equal(1);
    // another identifier is another flow
    pair.a.receive(icmpFrame(pair, daddr, { id: 7, seq: 1, data: 'x' }));
    expect(await until(() => proxy!.stats.repliesIn === 3)).to.equal(true);
    expect(proxy.stats.flows).to.equal(2);
    expect(pair.a.stack.mib.Ip.InAddrErrors).to.equal(0);
    expect(pair.a.stack.mib.IcmpMsg.OutType[0]).to.equal(3);
  });

  it('closes a flow idle for idleMs (its host socket too)', async () => {
    restore = setPingGroupRange(ownGroupRange());
    proxy = new IcmpProxy(pair.a.inet, { idleMs: 1000 }).start();
    pair.a.receive(icmpFrame(pair, parseIpv4(target!), { id: 1, seq: 1, data: 'idle' }));
    expect(await until(() => proxy!.stats.repliesIn === 1)).to.equal(true);
    expect(proxy.flowCount).to.equal(1);
    expect(await until(() => proxy!.flowCount === 0)).to.equal(true);
    expect(proxy.stats.expired).to.equal(1);
  });

  it('--restrict: nothing leaves, no socket is opened, the drop is counted', async () => {
    restore = setPingGroupRange(ownGroupRange());
    proxy = new IcmpProxy(pair.a.inet, { restrict: true }).start();
    pair.a.receive(icmpFrame(pair, parseIpv4(target!), { id: 3, seq: 1, data: 'no' }));
    pair.advance(10);
    await new Promise((r) => setTimeout(r, 100));
    expect(proxy.stats).to.include({ restricted: 1, flows: 0, requestsOut: 0, repliesIn: 0 });
    expect(icmpSent(pair).filter((m) => m.type === 0)).to.have.length(0);
  });

  it('a host that forbids ping sockets (EACCES): one log line saying how to allow them, each request dropped and counted', async () => {
    restore = setPingGroupRange('1 0');
    proxy = new IcmpProxy(pair.a.inet).start();
    for (let seq = 1; seq <= 3; seq++) pair.a.receive(icmpFrame(pair, parseIpv4(target!), { id: 4, seq, data: 'forbidden' }));
    pair.advance(10);
    await new Promise((r) => setTimeout(r, 100));
    expect(proxy.stats).to.include({ noPingSockets: 3, flows: 0, requestsOut: 0 });
    expect(pair.log.lines.filter((l) => l.includes(PING_SOCKETS_HINT))).to.deep.equal([`warn: ${PING_SOCKETS_HINT}`]);
    expect(icmpSent(pair).filter((m) => m.type === 0)).to.have.length(0);
  });

  it('the model still answers its own addresses; other ICMP to outside addresses, and echo once the proxy is gone, are not routed', async () => {
    restore = setPingGroupRange(ownGroupRange());
    proxy = new IcmpProxy(pair.a.inet).start();
    pair.a.receive(icmpFrame(pair, pair.a.inet.ind.primary, { id: 5, seq: 1, data: 'gw' }));
    pair.a.receive(icmpFrame(pair, parseIpv4(target!), { type: 13, id: 5, seq: 2, data: '123456789012' }));
    pair.advance(10);
    expect(pair.a.stack.mib.Ip.InAddrErrors, 'timestamp request to an outside address').to.equal(1);
    const own = icmpSent(pair).filter((m) => m.type === 0);
    expect(own).to.have.length(1);
    expect(own[0]).to.include({ src: pair.a.inet.ind.primary, id: 5, seq: 1 });
    expect(proxy.stats.flows, 'the gateway is answered by the model, not the host').to.equal(0);
    proxy.close();
    icmp_set_echo_forwarder(pair.a.inet.net, null);
    pair.a.receive(icmpFrame(pair, parseIpv4(target!), { id: 6, seq: 1, data: 'after' }));
    pair.advance(10);
    expect(pair.a.stack.mib.Ip.InAddrErrors, 'never answered in another host\'s name').to.equal(2);
    expect(icmpSent(pair).filter((m) => m.type === 0)).to.have.length(1);
  });
});
