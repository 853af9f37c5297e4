// Host forwarding: the rule parser (QEMU's hostfwd= syntax, our 127.0.0.1 default) and the forwarders
// with real host sockets on 127.0.0.1 and a second TCP/IP model as the guest (TcpPair, pumped in
// virtual time while the host's event loop runs): a spliced TCP echo of 1 MiB with half-close and
// backpressure, a refused guest port, the connection cap, and UDP both ways.
import { expect } from 'chai';
import { createHash } from 'crypto';
import * as dgram from 'dgram';
import * as net from 'net';
import { HostFwd, parseHostFwd, type HostFwdRule } from '../../kernel-model/services/hostfwd';
import type { TcpSock } from '../../kernel-model/tcp';
import { until } from '../support/dns-server';
import { TcpPair, pattern } from './tcp-pair';

describe('hostfwd: rule syntax', () => {
  it('parses QEMU hostfwd= rules with 127.0.0.1 and the first DHCP address as defaults', () => {
    const r = (t: string): Omit<HostFwdRule, 'text'> => {
      const { text, ...rest } = parseHostFwd(t);
      expect(text).to.equal(t);
      return rest;
    };
    expect(r('tcp::8080-:80')).to.deep.equal({ proto: 'tcp', hostAddr: '127.0.0.1', hostPort: 8080, guestAddr: null, guestPort: 80 });
    expect(r('::2222-:22'), 'empty protocol = tcp').to.deep.equal({ proto: 'tcp', hostAddr: '127.0.0.1', hostPort: 2222, guestAddr: null, guestPort: 22 });
    expect(r('udp:0.0.0.0:0x50-10.0.2.20:010'), 'strtol base 0').to.deep.equal({ proto: 'udp', hostAddr: '0.0.0.0', hostPort: 80, guestAddr: 0x0a000214, guestPort: 8 });
    for (const bad of ['icmp::1-:2', 'tcp::0-:80', 'tcp::8080-:0', 'tcp::65536-:1', 'tcp::80', 'tcp::80-', 'tcp:localhost:1-:2', 'tcp::08-:1', 'tcp::1-10.0.2:2', 'tcp:1-:2', ':2222-:22', '']) {
      expect(() => parseHostFwd(bad), bad).to.throw(RangeError, /invalid host forwarding rule/);
    }
  });
});

/** a port on 127.0.0.1 that was free a moment ago */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

/** a backpressured echo on the model "guest": what it cannot write now waits for onDrain */
function echo(sock: TcpSock): void {
  let pending: Uint8Array | null = null;
  let ended = false;
  const flush = (): void => {
    if (pending === null) return;
    const n = sock.write(pending);
    if (n < pending.length) {
      pending = pending.subarray(n);
      return;
    }
    pending = null;
    sock.resume();
    if (ended) sock.end();
  };
  sock.onData = (buf, off, len) => {
    const n = sock.write(buf, off, len);
    if (n < len) {
      pending = buf.slice(off + n, off + len);
      sock.pause();
    }
  };
  sock.onDrain = flush;
  sock.onEnd = () => {
    ended = true;
    if (pending === null) sock.end();
  };
}

describe('hostfwd: forwarding into a guest (real host sockets, model guest)', function () {
  this.timeout(30000);
  let pair: TcpPair;
  let fwd: HostFwd | null = null;
  let pump: NodeJS.Timeout;
  beforeEach(() => {
    pair = new TcpPair();
    // the model runs in virtual time: let 5 ms pass every real millisecond
    pump = setInterval(() => pair.advance(5), 1);
  });
  afterEach(() => {
    clearInterval(pump);
    fwd?.close();
    fwd = null;
  });

  async function start(rules: string[], maxConnections?: number): Promise<HostFwd> {
    fwd = new HostFwd(pair.a.inet, pair.a.tcp, rules.map(parseHostFwd), { maxConnections });
    await fwd.start();
    return fwd;
  }

  it('splices a host connection to the guest listener: 1 MiB echoed intact, half-close both ways, bound to 127.0.0.1', async () => {
    const seen: string[] = [];
    pair.b.tcp.listen(7777, (s) => {
      seen.push(`${s.daddr.toString(16)}:${s.state}`);
      echo(s);
    });
    const port = await freePort();
    const f = await start([`tcp::${port}-10.0.2.15:7777`]);
    expect(f.bindings[0]).to.include({ address: '127.0.0.1', port });
    const data = Buffer.from(pattern(1 << 20, 3));
    const got: Buffer[] = [];
    const c = net.connect(port, '127.0.0.1');
    c.on('data', (d: Buffer) => got.push(d));
    const closed = new Promise<void>((r) => c.on('close', () => r()));
    c.end(data);
    await closed;
    const back = Buffer.concat(got);
    expect(back.length).to.equal(data.length);
    expect(createHash('md5').update(back).digest('hex')).to.equal(createHash('md5').update(data).digest('hex'));
    expect(seen, 'the guest saw 10.0.2.2').to.deep.equal(['a000202:1']);
    expect(f.stats).to.include({ accepted: 1, connected: 1, refused: 0 });
    expect(await until(() => f.connections === 0)).to.equal(true);
  });

  it('a guest port nobody listens on: the model gets RST, the host connection is reset', async () => {
    const port = await freePort();
    const f = await start([`tcp::${port}-10.0.2.15:7778`]);
    const c = net.connect(port, '127.0.0.1');
    let err = '';
    c.on('error', (e: NodeJS.ErrnoException) => (err = e.code ?? e.message));
    const closed = new Promise<void>((r) => c.on('close', () => r()));
    c.write('hello?');
    await closed;
    expect(err).to.equal('ECONNRESET');
    expect(f.stats).to.include({ accepted: 1, connected: 0, refused: 1 });
    expect(pair.b.stack.mib.Tcp.OutRsts).to.be.at.least(1);
  });

  it('caps connections: one over the limit is closed at once and counted', async () => {
    pair.b.tcp.listen(7777, echo);
    const port = await freePort();
    const f = await start([`tcp::${port}-10.0.2.15:7777`], 1);
    const c1 = net.connect(port, '127.0.0.1');
    await new Promise<void>((r) => c1.on('connect', () => r()));
    expect(await until(() => f.stats.connected === 1)).to.equal(true);
    const c2 = net.connect(port, '127.0.0.1');
    c2.on('error', () => undefined);
    await new Promise<void>((r) => c2.on('close', () => r()));
    expect(f.stats.connLimit).to.equal(1);
    c1.destroy();
  });

  it('a host port already in use fails start() with QEMU\'s message', async () => {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const port = (s.address() as net.AddressInfo).port;
    try {
      fwd = new HostFwd(pair.a.inet, pair.a.tcp, [parseHostFwd(`tcp::${port}-10.0.2.15:1`)]);
      let msg = '';
      await fwd.start().catch((e: Error) => (msg = e.message));
      expect(msg).to.match(/could not set up host forwarding rule .*EADDRINUSE/);
    } finally {
      s.close();
    }
  });

  it('udp: host datagrams reach the guest port from 10.0.2.2:HOSTPORT; answers go back to the last host peer', async () => {
    const port = await freePort();
    const seen: string[] = [];
    pair.b.inet.udpBind(7000, (d) => {
      seen.push(`${d.saddr.toString(16)}:${d.sport}`);
      const text = Buffer.from(d.buf.subarray(d.payloadOffset, d.payloadOffset + d.payloadLen)).toString().toUpperCase();
      pair.b.inet.udpSend(d.daddr, d.dport, d.saddr, d.sport, Buffer.from(text));
    });
    const f = await start([`udp::${port}-10.0.2.15:7000`]);
    expect(f.bindings[0]).to.include({ address: '127.0.0.1', port });
    const c = dgram.createSocket('udp4');
    const replies: string[] = [];
    c.on('message', (m) => replies.push(m.toString()));
    c.send('ping one', port, '127.0.0.1');
    expect(await until(() => replies.length === 1)).to.equal(true);
    expect(replies).to.deep.equal(['PING ONE']);
    expect(seen).to.deep.equal([`a000202:${port}`]);
    expect(f.stats).to.include({ udpToGuest: 1, udpToHost: 1 });
    c.close();
  });
});
