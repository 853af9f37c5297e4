// The outbound UDP proxy against real host sockets on 127.0.0.1: a guest flow to the gateway reaches a
// host echo server through one connected socket per flow and the replies come back from the gateway;
// ECONNREFUSED turns into ICMP port unreachable; idle flows expire in scheduler time; caps and restrict
// mode drop and count. Datagrams reach handle() through udp_rcv's forwarder hook, as the emulator wires it.
import { expect } from 'chai';
import * as dgram from 'dgram';
import { UdpDatagram } from '../../kernel-model/udp/udp';
import { UdpProxy, UDP_PROXY_IDLE_MS, type UdpProxyOptions } from '../../kernel-model/services/host-proxy/udp-proxy';
import { until } from '../support/dns-server';
import { TestLink, arpFrame, dotted, ipHeaderOk, l4ChecksumOk, u16, udpFrame } from './ipv4-link';

interface Echo {
  sock: dgram.Socket;
  port: number;
  peers: number[];
}

async function echoServer(): Promise<Echo> {
  const sock = dgram.createSocket('udp4');
  const e: Echo = { sock, port: 0, peers: [] };
  sock.on('message', (msg, r) => {
    e.peers.push(r.port);
    const out = msg.toString() === 'big' ? Buffer.alloc(3000, 0x5a) : msg;
    sock.send(out, r.port, r.address);
  });
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
  e.port = sock.address().port;
  return e;
}

/** a UDP port on 127.0.0.1 nobody listens on */
async function closedPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
  const p = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return p;
}

function setup(port: number, opts: UdpProxyOptions = {}): { link: TestLink; proxy: UdpProxy } {
  const link = new TestLink();
  link.inject(arpFrame({ op: 1, spa: '10.0.2.15', tpa: '10.0.2.2' }));
  link.take();
  const proxy = new UdpProxy(link.inet, opts);
  // as the emulator wires it: udp_rcv hands datagrams no socket wants to the proxy (terminate rule)
  link.inet.net.udp.forwarder = (d) => proxy.handle(d);
  link.inet.net.setTerminate(17, true);
  return { link, proxy };
}

function send(link: TestLink, port: number, data: string | number[], sport = 5000): void {
  link.inject(udpFrame({ src: '10.0.2.15', dst: '10.0.2.2', sport, dport: port, data: typeof data === 'string' ? Buffer.from(data) : data }));
}

describe('udp proxy', function () {
  this.timeout(10000);
  let echo: Echo;
  let proxy: UdpProxy | null = null;
  beforeEach(async () => {
    echo = await echoServer();
  });
  afterEach(() => {
    proxy?.close();
    proxy = null;
    echo.sock.close();
  });

  it('carries a flow to 10.0.2.2 to 127.0.0.1 and the replies back from 10.0.2.2, one host socket per flow', async () => {
    const s = setup(echo.port);
    proxy = s.proxy;
    send(s.link, echo.port, 'hello');
    send(s.link, echo.port, 'again');
    expect(await until(() => s.link.sent.length >= 2)).to.equal(true);
    const fs = s.link.take();
    const u = 34;
    expect(fs.map((f) => [dotted(f, 26), u16(f, u), dotted(f, 30), u16(f, u + 2)])).to.deep.equal([
      ['10.0.2.2', echo.port, '10.0.2.15', 5000],
      ['10.0.2.2', echo.port, '10.0.2.15', 5000],
    ]);
    expect(fs.map((f) => Buffer.from(f.subarray(42)).toString())).to.deep.equal(['hello', 'again']);
    expect(fs.every((f) => ipHeaderOk(f) && l4ChecksumOk(f))).to.equal(true);
    expect(echo.peers[0], 'same host socket').to.equal(echo.peers[1]);
    // another guest port is another flow
    send(s.link, echo.port, 'x', 5001);
    expect(await until(() => echo.peers.length === 3)).to.equal(true);
    expect(echo.peers[2]).to.not.equal(echo.peers[0]);
    expect(proxy.flowCount).to.equal(2);
    expect(proxy.stats).to.include({ flows: 2, datagramsOut: 3, bytesOut: 11 });
    expect(await until(() => proxy!.stats.datagramsIn === 3)).to.equal(true);
  });

  it('fragments a host reply larger than the MTU (DF clear), as a Linux UDP socket would', async () => {
    const s = setup(echo.port);
    proxy = s.proxy;
    send(s.link, echo.port, 'big');
    expect(await until(() => s.link.sent.length >= 3)).to.equal(true);
    const fs = s.link.take();
    expect(fs).to.have.length(3);
    const offs = fs.map((f) => u16(f, 20));
    expect(offs[0] & 0x2000, 'MF on the first').to.equal(0x2000);
    expect(offs[2] & 0x2000, 'no MF on the last').to.equal(0);
    expect(offs.every((o) => (o & 0x4000) === 0), 'no DF').to.equal(true);
    const total = fs.reduce((n, f) => n + u16(f, 16) - 20, 0);
    expect(total).to.equal(3008);
  });

  it('ECONNREFUSED from the host → ICMP port unreachable to the guest from the destination, quoting its datagram', async () => {
    const port = await closedPort();
    const s = setup(port);
    proxy = s.proxy;
    send(s.link, port, 'anyone?', 5002);
    expect(await until(() => s.link.sent.length > 0)).to.equal(true);
    const [f] = s.link.take();
    expect(f[23], 'ICMP').to.equal(1);
    expect([f[34], f[35]], 'dest unreachable / port').to.deep.equal([3, 3]);
    expect([dotted(f, 26), dotted(f, 30)]).to.deep.equal(['10.0.2.2', '10.0.2.15']);
    const quoted = 42;
    expect([dotted(f, quoted + 12), dotted(f, quoted + 16)]).to.deep.equal(['10.0.2.15', '10.0.2.2']);
    expect([u16(f, quoted + 20), u16(f, quoted + 22)]).to.deep.equal([5002, port]);
    expect(proxy.stats.refused).to.equal(1);
    expect(s.link.stack.mib.Icmp.OutDestUnreachs).to.equal(1);
  });

  it('closes a flow idle for 240 s (libslirp SO_EXPIRE) of scheduler time; traffic keeps it open', async () => {
    const s = setup(echo.port);
    proxy = s.proxy;
    send(s.link, echo.port, 'a');
    expect(await until(() => echo.peers.length === 1)).to.equal(true);
    s.link.advance(UDP_PROXY_IDLE_MS - 1000);
    send(s.link, echo.port, 'b');
    expect(await until(() => echo.peers.length === 2)).to.equal(true);
    s.link.advance(UDP_PROXY_IDLE_MS - 1000);
    expect(proxy.flowCount, 'refreshed by b').to.equal(1);
    s.link.advance(1000);
    expect(proxy.flowCount).to.equal(0);
    expect(proxy.stats.expired).to.equal(1);
    send(s.link, echo.port, 'c');
    expect(await until(() => echo.peers.length === 3)).to.equal(true);
    expect(echo.peers[2], 'a new host socket').to.not.equal(echo.peers[0]);
  });

  it('caps flows and queued bytes, counting what it drops', async () => {
    const s = setup(echo.port, { maxFlows: 2, maxQueuedBytes: 100 });
    proxy = s.proxy;
    for (let i = 0; i < 3; i++) send(s.link, echo.port, 'x', 6000 + i);
    expect(proxy.stats).to.include({ flows: 2, flowLimit: 1 });
    send(s.link, echo.port, Array(101).fill(1), 6000);
    expect(proxy.stats.queueFull).to.equal(1);
    expect(await until(() => echo.peers.length === 2)).to.equal(true);
    await new Promise((r) => setTimeout(r, 30));
    expect(echo.peers).to.have.length(2);
  });

  it('restrict mode takes the datagram and drops it (nothing reaches the host)', async () => {
    const s = setup(echo.port, { restrict: true });
    proxy = s.proxy;
    send(s.link, echo.port, 'secret');
    await new Promise((r) => setTimeout(r, 30));
    expect(echo.peers).to.have.length(0);
    expect(proxy.stats.restricted).to.equal(1);
    expect(proxy.flowCount).to.equal(0);
  });

  it('leaves broadcast, multicast, loopback and the model\'s other addresses to the caller', () => {
    const link = new TestLink();
    proxy = new UdpProxy(link.inet);
    const d = new UdpDatagram();
    d.saddr = 0x0a00020f;
    d.sport = 1;
    d.dport = 9;
    for (const [daddr, bc] of [[0xffffffff, true], [0x0a0002ff, true], [0xe0000001, false], [0x7f000001, false], [0x0a000203, false], [0, false]] as const) {
      d.daddr = daddr;
      d.broadcast = bc;
      expect(proxy.handle(d), daddr.toString(16)).to.equal(false);
    }
    expect(proxy.flowCount).to.equal(0);
  });
});
