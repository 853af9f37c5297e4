// TCP over IPv6 (tcp_ipv6.ts, tcp_af_ops.ts) and its host proxy: two TCP/IP models joined by a link
// (TcpPair) both get IPv6; b plays the guest (its own address fec0::5054:ff:fe12:3456) and connects over
// IPv6 to a (fec0::2), whose TcpProxy carries the connection to real host sockets on this machine
// (::1, and this machine's own non-loopback IPv6 address for an off-link destination). The models run
// in virtual time pumped by the host's event loop. Frames are checked byte by byte with test-side code.
import { expect } from 'chai';
import * as net from 'net';
import { attachInet6, type Inet6 } from '../../kernel-model/inet6';
import { defaultInet6Config } from '../../kernel-model/ipv6/config';
import { TcpProxy } from '../../kernel-model/services/host-proxy/tcp-proxy';
import type { TcpSock } from '../../kernel-model/tcp';
import { tcp_v6_init, type Tcp6Net } from '../../kernel-model/tcp/tcp_ipv6';
import { parseIpv6 } from '../../kernel-model/wire/ipv6';
import { TcpPair, pattern, type Host } from './tcp-pair';
import { ip6, ipv6Frame, l4csum6, GUEST_GLOBAL } from './ipv6-link';
import { seeded } from './ipv4-link';
import { until } from '../support/dns-server';
import { md5, ownIpv6 } from '../support/host-servers';

interface V6Rig {
  pair: TcpPair;
  a6: Inet6;
  b6: Inet6;
  t6a: Tcp6Net;
  t6b: Tcp6Net;
}

function rig(): V6Rig {
  const pair = new TcpPair();
  const a6 = attachInet6(pair.a.stack, pair.a.dev, defaultInet6Config(), { random: seeded(5) });
  // the guest model: its own address plays "gateway" of its config (the address it answers for)
  const b6 = attachInet6(pair.b.stack, pair.b.dev, defaultInet6Config({ gateway: parseIpv6(GUEST_GLOBAL)!, dns: parseIpv6('fec0::99')! }), { random: seeded(6) });
  const t6a = tcp_v6_init(pair.a.tcp, a6.net);
  const t6b = tcp_v6_init(pair.b.tcp, b6.net);
  pair.advance(10);
  return { pair, a6, b6, t6a, t6b };
}

class Conn {
  readonly got: Buffer[] = [];
  ended = false;
  closed: string | null = null;
  connected = false;
  private q: Uint8Array | null = null;
  private endAfter = false;
  constructor(readonly sock: TcpSock) {
    sock.onConnect = () => (this.connected = true);
    sock.onData = (buf, off, len) => this.got.push(Buffer.from(buf.subarray(off, off + len)));
    sock.onEnd = () => (this.ended = true);
    sock.onClose = (e) => (this.closed = e);
    sock.onDrain = () => this.flush();
  }
  send(d: Uint8Array, end = false): void {
    this.q = d;
    this.endAfter = end;
    this.flush();
  }
  private flush(): void {
    const q = this.q;
    if (q === null) return;
    const n = this.sock.write(q);
    if (n < 0) return;
    if (n < q.length) {
      this.q = q.subarray(n);
      return;
    }
    this.q = null;
    if (this.endAfter) this.sock.end();
  }
  get data(): Buffer {
    return Buffer.concat(this.got);
  }
}

/** IPv6 TCP frames a host sent (Ethernet type 86dd, next header 6) */
function tcp6Frames(h: Host): Uint8Array[] {
  return h.sent.filter((f) => f[12] === 0x86 && f[13] === 0xdd && f[20] === 6);
}

describe('tcp over IPv6: ipv6_specific and tcp_v6_rcv', function () {
  this.timeout(30000);
  let r: V6Rig;
  let proxy: TcpProxy | null = null;
  let pump: NodeJS.Timeout | null = null;
  const servers: net.Server[] = [];
  beforeEach(() => {
    r = rig();
  });
  afterEach(async () => {
    if (pump !== null) clearInterval(pump);
    pump = null;
    proxy?.close();
    proxy = null;
    for (const s of servers.splice(0)) await new Promise<void>((res) => s.close(() => res()));
  });
  function run(): void {
    pump = setInterval(() => r.pair.advance(5), 1);
  }
  async function listen(host: string, onConn: (c: net.Socket) => void): Promise<number> {
    const s = net.createServer({ allowHalfOpen: true }, onConn);
    servers.push(s);
    await new Promise<void>((res) => s.listen(0, host, () => res()));
    return (s.address() as net.AddressInfo).port;
  }

  it('SYN and SYN-ACK carry MSS = MTU − 60 with valid IPv6 pseudo-header checksums', function () {
    const { pair, t6a, t6b, b6 } = r;
    let accepted: TcpSock | null = null;
    t6a.setForwarder((req) => (accepted = req.accept()));
    pair.a.capture = pair.b.capture = true;
    const s = t6b.connect(b6.idev, parseIpv6('fec0::2')!, 0, 8080);
    expect(s).to.not.equal(null);
    const c = new Conn(s!);
    pair.runUntil(() => c.connected, 2000);
    expect(c.connected).to.equal(true);
    expect(accepted).to.not.equal(null);
    expect(accepted!.stateName).to.equal('ESTABLISHED');
    const syn = tcp6Frames(pair.b)[0];
    const synack = tcp6Frames(pair.a)[0];
    for (const [f, flags] of [[syn, 0x02], [synack, 0x12]] as const) {
      const t = 54;
      expect(f[t + 13]).to.equal(flags);
      // MSS option first: 02 04 then 1500 − 60 = 1440 (05 a0)
      expect(Array.from(f.subarray(t + 20, t + 24))).to.deep.equal([2, 4, 0x05, 0xa0]);
      const plen = (f[18] << 8) | f[19];
      expect(l4csum6(f.subarray(22, 38), f.subarray(38, 54), 6, f.subarray(54, 54 + plen))).to.equal(0);
    }
    expect(Array.from(syn.subarray(22, 38))).to.deep.equal(ip6(GUEST_GLOBAL));
    expect(Array.from(synack.subarray(22, 38))).to.deep.equal(ip6('fec0::2'));
    // the send MSS: 1440 − 12 bytes of timestamps
    expect(accepted!.mss_cache).to.equal(1428);
    expect(String(accepted)).to.match(/^\[fec0::2\]:8080→\[fec0::5054:ff:fe12:3456\]:\d+$/);
  });

  it('a SYN to a closed port with no forwarder is answered RST|ACK over IPv6', function () {
    const { pair, b6, t6b, t6a } = r;
    expect(t6a.forwarder).to.equal(null);
    const s = t6b.connect(b6.idev, parseIpv6('fec0::2')!, 0, 9);
    const c = new Conn(s!);
    pair.runUntil(() => c.closed !== null, 2000);
    expect(c.closed).to.equal('ECONNREFUSED');
    expect(t6a.drops.noSocketRst).to.equal(1);
  });

  it('bad checksum and short data offset are counted and dropped', function () {
    const { pair } = r;
    const mib = pair.a.stack.mib.Tcp;
    const seg = [0x30, 0x39, 0x1f, 0x90, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0];
    const good = ipv6Frame({ src: GUEST_GLOBAL, dst: 'fec0::2', nh: 6, payload: seg, csumAt: 16 });
    const bad = good.slice();
    bad[54 + 16] ^= 0xff;
    const shortOff = ipv6Frame({ src: GUEST_GLOBAL, dst: 'fec0::2', nh: 6, payload: [...seg.slice(0, 12), 0x40, ...seg.slice(13)], csumAt: 16 });
    pair.a.receive(bad);
    pair.a.receive(shortOff);
    pair.advance(5);
    expect(mib.InCsumErrors).to.equal(1);
    expect(mib.InErrs).to.equal(2);
    // the good one (no forwarder) gets a RST
    pair.a.capture = true;
    pair.a.receive(good);
    pair.advance(5);
    const rst = tcp6Frames(pair.a);
    expect(rst.length).to.equal(1);
    expect(rst[0][54 + 13]).to.equal(0x14);
  });

  it('the proxy carries guest TCP to fec0::2 to the host loopback: 1 MiB down and up, md5 identical', async function () {
    const { pair, b6, t6b } = r;
    proxy = new TcpProxy(pair.a.inet, pair.a.tcp, { inet6: r.a6 }).start();
    const down = pattern(1 << 20, 3);
    const up = pattern(1 << 20, 4);
    const received: Buffer[] = [];
    let peer = '';
    const port = await listen(proxy.loopback6, (c) => {
      peer = c.remoteAddress ?? '';
      c.on('data', (d: Buffer) => received.push(d));
      c.on('end', () => c.end());
      c.write(down);
    });
    run();
    const s = t6b.connect(b6.idev, parseIpv6('fec0::2')!, 0, port);
    const c = new Conn(s!);
    c.send(up, true);
    expect(await until(() => c.ended && c.data.length === down.length, 20000)).to.equal(true);
    expect(md5(c.data)).to.equal(md5(down));
    expect(await until(() => Buffer.concat(received).length === up.length, 20000)).to.equal(true);
    expect(md5(Buffer.concat(received))).to.equal(md5(up));
    expect(peer).to.match(proxy.loopback6 === '::1' ? /^::1$/ : /127\.0\.0\.1/);
    expect(proxy.stats.connected).to.equal(1);
    expect(await until(() => c.closed !== null, 5000)).to.equal(true);
    expect(c.closed).to.equal('');
  });

  it('an off-link IPv6 destination (this machine’s own address) is terminated and connected as is', async function () {
    const own = ownIpv6();
    if (own === null) this.skip();
    const { pair, b6, t6b } = r;
    proxy = new TcpProxy(pair.a.inet, pair.a.tcp, { inet6: r.a6 }).start();
    const port = await listen(own!, (c) => c.end('hello over v6'));
    run();
    // b reaches the off-link address through a: its frames go to a's MAC (b has no routes: a raw frame)
    const sport = 40000;
    const da = ip6(own!);
    const syn = ipv6Frame({
      src: GUEST_GLOBAL,
      dst: own!,
      nh: 6,
      payload: [sport >> 8, sport & 255, port >> 8, port & 255, 0, 0, 0, 100, 0, 0, 0, 0, 0x60, 0x02, 0xff, 0xff, 0, 0, 0, 0, 2, 4, 5, 0xa0],
      csumAt: 16,
    });
    pair.a.capture = true;
    pair.a.receive(syn);
    expect(await until(() => tcp6Frames(pair.a).length > 0, 5000)).to.equal(true);
    const f = tcp6Frames(pair.a)[0];
    expect(f[54 + 13]).to.equal(0x12);
    // answered as the destination itself
    expect(Array.from(f.subarray(22, 38))).to.deep.equal(da);
    expect(proxy.stats.connected).to.equal(1);
    void t6b;
    void b6;
  });

  it('a host connect that fails becomes ICMPv6 destination unreachable from fec0::2; refused → RST', async function () {
    const { pair } = r;
    proxy = new TcpProxy(pair.a.inet, pair.a.tcp, { inet6: r.a6 }).start();
    run();
    pair.a.capture = true;
    // 2001:db8::/32 is documentation space: no route on this machine
    const syn = ipv6Frame({ src: GUEST_GLOBAL, dst: '2001:db8::1', nh: 6, payload: [0x9c, 0x40, 0, 80, 0, 0, 0, 100, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0], csumAt: 16 });
    pair.a.receive(syn);
    const icmp = () => pair.a.sent.filter((f) => f[12] === 0x86 && f[20] === 58 && f[54] === 1);
    expect(await until(() => icmp().length > 0 || proxy!.stats.timedOut > 0, 8000)).to.equal(true);
    if (icmp().length > 0) {
      const f = icmp()[0];
      expect(Array.from(f.subarray(22, 38))).to.deep.equal(ip6('fec0::2'));
      // the quote is the SYN's IPv6 header: destination 2001:db8::1
      expect(Array.from(f.subarray(54 + 8 + 24, 54 + 8 + 40))).to.deep.equal(ip6('2001:db8::1'));
    }
    // a closed port on ::1 → RST|ACK
    const closed = await (async () => {
      const s = net.createServer();
      await new Promise<void>((res) => s.listen(0, proxy!.loopback6, () => res()));
      const p = (s.address() as net.AddressInfo).port;
      await new Promise<void>((res) => s.close(() => res()));
      return p;
    })();
    pair.a.sent.length = 0;
    pair.a.receive(ipv6Frame({ src: GUEST_GLOBAL, dst: 'fec0::2', nh: 6, payload: [0x9c, 0x41, closed >> 8, closed & 255, 0, 0, 0, 100, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0], csumAt: 16 }));
    expect(await until(() => tcp6Frames(pair.a).length > 0, 5000)).to.equal(true);
    const rst = tcp6Frames(pair.a)[0];
    expect(rst[54 + 13]).to.equal(0x14);
    // ack = seq + 1
    expect(((rst[54 + 8] << 24) | (rst[54 + 9] << 16) | (rst[54 + 10] << 8) | rst[54 + 11]) >>> 0).to.equal(101);
  });
});
