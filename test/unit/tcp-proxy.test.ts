// Outbound TCP host proxy: a second TCP/IP model plays the guest (TcpPair's b, 10.0.2.15) and reaches
// real host sockets on this machine through the skbnet side (a, 10.0.2.2) whose forwarder is the
// TcpProxy. The models run in virtual time, pumped while the host's event loop runs. Also the routing
// rule that makes it possible: TCP to any off-link address is delivered locally and answered as that
// address; other protocols to such addresses still count InAddrErrors.
import { expect } from 'chai';
import { createHash } from 'crypto';
import { spawn } from 'child_process';
import * as net from 'net';
import * as os from 'os';
import { TcpProxy, type TcpProxyOptions } from '../../kernel-model/services/host-proxy/tcp-proxy';
import type { TcpSock } from '../../kernel-model/tcp';
import { TcpPair, pattern, tcpFrame, tcpOf } from './tcp-pair';
import { slowChecksum } from './ipv4-link';
import { until } from '../support/dns-server';

const GW = 0x0a000202;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_ACK = 0x10;

function md5(b: Uint8Array): string {
  return createHash('md5').update(b).digest('hex');
}

async function listen(server: net.Server, host = '127.0.0.1'): Promise<number> {
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  return (server.address() as net.AddressInfo).port;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  const p = await listen(s);
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

/** the guest side of one connection: collects what arrives, writes with backpressure */
class GuestConn {
  readonly got: Buffer[] = [];
  received = 0;
  ended = false;
  closed: string | null = null;
  connected = false;
  private queue: Uint8Array | null = null;
  private endAfter = false;
  constructor(readonly sock: TcpSock) {
    sock.onConnect = () => (this.connected = true);
    sock.onData = (buf, off, len) => {
      this.got.push(Buffer.from(buf.subarray(off, off + len)));
      this.received += len;
    };
    sock.onEnd = () => (this.ended = true);
    sock.onClose = (e) => (this.closed = e);
    sock.onDrain = () => this.flush();
  }
  static open(pair: TcpPair, port: number, daddr = GW): GuestConn {
    const s = pair.b.tcp.connect(pair.b.inet.ind, daddr, port);
    if (s === null) throw new Error('no port');
    return new GuestConn(s);
  }
  /** write all of `data` as the send buffer allows; end() after it when asked */
  send(data: Uint8Array, end = false): void {
    this.queue = data;
    this.endAfter = end;
    this.flush();
  }
  get unsent(): number {
    return this.queue === null ? 0 : this.queue.length;
  }
  private flush(): void {
    const q = this.queue;
    if (q === null) return;
    const n = this.sock.write(q);
    if (n < 0) return;
    if (n < q.length) {
      this.queue = q.subarray(n);
      return;
    }
    this.queue = null;
    if (this.endAfter) this.sock.end();
  }
  get data(): Buffer {
    return Buffer.concat(this.got);
  }
}

describe('tcp-proxy: guest TCP connections carried to host sockets', function () {
  this.timeout(30000);
  let pair: TcpPair;
  let proxy: TcpProxy | null = null;
  let pump: NodeJS.Timeout;
  const servers: net.Server[] = [];
  const conns: net.Socket[] = [];
  beforeEach(() => {
    pair = new TcpPair();
    // the models run in virtual time: 5 ms pass every real millisecond
    pump = setInterval(() => pair.advance(5), 1);
  });
  afterEach(async () => {
    clearInterval(pump);
    proxy?.close();
    proxy = null;
    for (const c of conns.splice(0)) c.destroy();
    for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
  });

  function start(opts: TcpProxyOptions = {}): TcpProxy {
    proxy = new TcpProxy(pair.a.inet, pair.a.tcp, opts).start();
    return proxy;
  }

  function server(onConn: (c: net.Socket) => void, allowHalfOpen = false): net.Server {
    const s = net.createServer({ allowHalfOpen }, (c) => {
      conns.push(c);
      onConn(c);
    });
    servers.push(s);
    return s;
  }

  it('connects 10.0.2.2:PORT to 127.0.0.1:PORT only when the host accepts, and echoes 1 MiB intact', async () => {
    const peers: string[] = [];
    const port = await listen(
      server((c) => {
        peers.push(`${c.remoteAddress}`);
        c.pipe(c);
      }),
    );
    const p = start();
    const g = GuestConn.open(pair, port);
    const data = pattern(1 << 20, 5);
    g.send(data, true);
    expect(await until(() => g.closed !== null, 20000), `received ${g.received}`).to.equal(true);
    expect(g.closed).to.equal('');
    expect(g.ended).to.equal(true);
    expect(g.received).to.equal(data.length);
    expect(md5(g.data)).to.equal(md5(data));
    expect(peers).to.deep.equal(['127.0.0.1']);
    expect(await until(() => p.connections === 0)).to.equal(true);
    expect(p.stats).to.include({ opened: 1, connected: 1, refused: 0, closed: 1, bytesToHost: data.length, bytesToGuest: data.length, resetsToGuest: 0, resetsToHost: 0 });
  });

  it('a refused host port refuses the guest: RST|ACK to its SYN, the guest sees ECONNREFUSED', async () => {
    const port = await freePort();
    const p = start();
    pair.a.capture = true;
    const g = GuestConn.open(pair, port);
    expect(await until(() => g.closed !== null, 5000)).to.equal(true);
    expect(g.closed).to.equal('ECONNREFUSED');
    expect(g.connected).to.equal(false);
    const sent = pair.a.sent.filter((f) => f[23] === 6).map(tcpOf);
    expect(sent.map((t) => t.flags), 'no SYN-ACK, only the RST').to.deep.equal([TCP_RST | TCP_ACK]);
    expect(p.stats).to.include({ opened: 1, connected: 0, refused: 1 });
    expect(await until(() => p.connections === 0)).to.equal(true);
  });

  it('refuses ports of the DNS address without an upstream, and other addresses of the guest link', async () => {
    const p = start();
    const g1 = GuestConn.open(pair, 53, 0x0a000203);
    expect(await until(() => g1.closed !== null, 5000)).to.equal(true);
    expect(g1.closed).to.equal('ECONNREFUSED');
    expect(p.hostTarget(0x0a000203, 53)).to.equal(null);
    expect(p.hostTarget(0x0a000232, 80)).to.equal(null);
    expect(p.hostTarget(GW, 80)).to.deep.equal({ host: '127.0.0.1', port: 80 });
    expect(p.hostTarget(0x08080808, 443)).to.deep.equal({ host: '8.8.8.8', port: 443 });
    const withDns = new TcpProxy(pair.a.inet, pair.a.tcp, { dnsUpstream: { address: '127.0.0.53', port: 5353 } });
    expect(withDns.hostTarget(0x0a000203, 53)).to.deep.equal({ host: '127.0.0.53', port: 5353 });
    expect(p.stats).to.include({ opened: 0, refused: 1 });
  });

  it('half-closes both ways: the guest FIN ends the host write side, the host EOF becomes the model FIN', async () => {
    const hostGot: Buffer[] = [];
    let hostSawEnd = false;
    const port = await listen(
      server((c) => {
        // the host ends first, then keeps reading until the guest ends
        c.end('greeting then EOF\n');
        c.on('data', (d: Buffer) => hostGot.push(d));
        c.on('end', () => (hostSawEnd = true));
      }, true),
    );
    const p = start();
    const g = GuestConn.open(pair, port);
    expect(await until(() => g.ended, 5000)).to.equal(true);
    expect(g.data.toString()).to.equal('greeting then EOF\n');
    expect(g.closed, 'still open for writing').to.equal(null);
    g.send(Buffer.from('late words'), true);
    expect(await until(() => hostSawEnd && g.closed !== null, 5000)).to.equal(true);
    expect(Buffer.concat(hostGot).toString()).to.equal('late words');
    expect(g.closed).to.equal('');

    // the other order: the guest ends first, the host answers after it saw EOF
    const port2 = await listen(
      server((c) => {
        const parts: Buffer[] = [];
        c.on('data', (d: Buffer) => parts.push(d));
        c.on('end', () => c.end(`got ${Buffer.concat(parts).toString()}`));
      }, true),
    );
    const g2 = GuestConn.open(pair, port2);
    // (an end() in SYN_SENT would abort the connect, as close() does on Linux)
    expect(await until(() => g2.connected)).to.equal(true);
    g2.send(Buffer.from('question'), true);
    expect(await until(() => g2.closed !== null, 5000)).to.equal(true);
    expect(g2.data.toString()).to.equal('got question');
    expect(g2.closed).to.equal('');
    expect(await until(() => p.connections === 0)).to.equal(true);
    expect(p.stats.resetsToGuest + p.stats.resetsToHost).to.equal(0);
  });

  it('a host reset resets the guest, and a guest reset resets the host', async () => {
    let hostErr = '';
    const port = await listen(
      server((c) => {
        c.on('data', (d: Buffer) => {
          if (d.toString().startsWith('reset me')) c.resetAndDestroy();
        });
        c.on('error', (e: NodeJS.ErrnoException) => (hostErr = e.code ?? e.message));
      }),
    );
    const p = start();
    const g = GuestConn.open(pair, port);
    expect(await until(() => g.connected)).to.equal(true);
    g.send(Buffer.from('reset me'));
    expect(await until(() => g.closed !== null, 5000)).to.equal(true);
    expect(g.closed).to.equal('ECONNRESET');
    expect(p.stats.resetsToGuest).to.equal(1);

    const g2 = GuestConn.open(pair, port);
    expect(await until(() => g2.connected)).to.equal(true);
    expect(await until(() => p.connections === 1)).to.equal(true);
    g2.sock.destroy();
    expect(await until(() => hostErr !== '', 5000)).to.equal(true);
    expect(hostErr).to.equal('ECONNRESET');
    expect(p.stats.resetsToHost).to.equal(1);
    expect(await until(() => p.connections === 0)).to.equal(true);
  });

  it('backpressure guest → host: a stalled host reader closes the guest window; user-space bytes stay under the cap', async () => {
    const cap = 32 * 1024;
    let hostSock: net.Socket | null = null;
    const hostGot: Buffer[] = [];
    const port = await listen(
      server((c) => {
        hostSock = c;
        c.pause();
        c.on('data', (d: Buffer) => hostGot.push(d));
      }),
    );
    const p = start({ maxBufferedBytes: cap });
    // receive-window autotuning is bounded by the model's per-connection cap (max_buffered_bytes):
    // keep both models' buffers small so 8 MiB cannot all hide in them
    const tcpCap = 256 * 1024;
    pair.a.tcp.sysctl.max_buffered_bytes = tcpCap;
    pair.b.tcp.sysctl.max_buffered_bytes = tcpCap;
    const g = GuestConn.open(pair, port);
    const data = pattern(8 << 20, 9);
    g.send(data, true);
    // the host kernel's buffers fill, then the proxy's socket queue reaches the cap, then the guest stalls
    expect(await until(() => p.stats.bufferLimit > 0, 10000)).to.equal(true);
    // then the model's receive buffer fills and the guest stalls for good
    let unsent = -1;
    expect(
      await until(() => {
        const same = g.unsent === unsent;
        unsent = g.unsent;
        return same;
      }, 10000, 300),
      'the guest cannot send more while the host does not read',
    ).to.equal(true);
    expect(g.unsent).to.be.greaterThan(0);
    const aSock = pair.a.tcp.sockets()[0];
    expect(aSock.info().rcv_wnd, 'the window advertised to the guest is closed').to.be.lessThan(aSock.advmss);
    // the cap plus at most one delivery (the receive window, grown by autotuning up to tcpCap) plus slack
    const window = Math.max(pair.a.tcp.sysctl.rcvbuf / 2, tcpCap);
    expect(aSock.rcvbuf.capacity).to.be.at.most(window);
    expect(p.stats.maxBuffered).to.be.at.most(cap + window + 16384);
    hostSock!.resume();
    expect(await until(() => Buffer.concat(hostGot).length === data.length, 20000)).to.equal(true);
    expect(md5(Buffer.concat(hostGot))).to.equal(md5(data));
    expect(p.stats.maxBuffered).to.be.at.most(cap + window + 16384);
  });

  it('backpressure host → guest: a guest that stops reading pauses the host socket (no unbounded buffering)', async () => {
    const data = pattern(8 << 20, 11);
    let written = false;
    let hostSock: net.Socket | null = null;
    const port = await listen(
      server((c) => {
        hostSock = c;
        c.end(Buffer.from(data), () => (written = true));
      }),
    );
    const p = start();
    // tcp_sndbuf_expand may grow the model's send buffer only up to the per-connection cap: keep it
    // small so the test sees the host socket hold the rest
    pair.a.tcp.sysctl.max_buffered_bytes = 256 * 1024;
    const g = GuestConn.open(pair, port);
    expect(await until(() => g.connected)).to.equal(true);
    g.sock.pause();
    expect(await until(() => p.stats.guestWindowFull > 0, 10000)).to.equal(true);
    await new Promise((r) => setTimeout(r, 300));
    // the host server still holds most of the data: the proxy did not read it all into memory
    expect(written).to.equal(false);
    expect(hostSock!.writableLength).to.be.greaterThan(1 << 20);
    expect(p.stats.maxBuffered).to.be.at.most(64 * 1024);
    g.sock.resume();
    expect(await until(() => g.ended, 20000), `received ${g.received}`).to.equal(true);
    expect(g.received).to.equal(data.length);
    expect(md5(g.data)).to.equal(md5(data));
    g.sock.end();
    expect(await until(() => g.closed !== null && p.connections === 0)).to.equal(true);
    expect(g.closed).to.equal('');
  });

  it('a host connect that never completes: after connectTimeoutMs the guest gets ICMP host unreachable from the gateway', async function () {
    // a listener whose process is stopped with its accept queue full: the host kernel drops new SYNs
    const child = spawn(process.execPath, ['-e', "const s=require('net').createServer();s.listen({port:0,host:'127.0.0.1',backlog:1},()=>console.log(s.address().port))"], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<number>((r) => child.stdout!.once('data', (d: Buffer) => r(Number(d.toString().trim()))));
      child.kill('SIGSTOP');
      const fillers: net.Socket[] = [];
      for (let i = 0; i < 4; i++) fillers.push(net.connect(port, '127.0.0.1').on('error', () => undefined));
      await new Promise((r) => setTimeout(r, 200));
      const p = start({ connectTimeoutMs: 2000 });
      pair.a.capture = true;
      const g = GuestConn.open(pair, port);
      expect(await until(() => p.stats.timedOut === 1, 5000)).to.equal(true);
      expect(g.connected).to.equal(false);
      const icmp = pair.a.sent.filter((f) => f[23] === 1);
      expect(icmp.length).to.equal(1);
      const f = icmp[0];
      expect([f[34], f[35]], 'destination unreachable, host').to.deep.equal([3, 1]);
      expect(Array.from(f.subarray(26, 30)), 'from the gateway').to.deep.equal([10, 0, 2, 2]);
      // the quote: the guest's SYN (its addresses, ports and sequence)
      const q = f.subarray(42);
      expect(Array.from(q.subarray(12, 20))).to.deep.equal([10, 0, 2, 15, 10, 0, 2, 2]);
      expect((q[22] << 8) | q[23]).to.equal(port);
      expect(((q[20] << 8) | q[21]) >>> 0).to.equal(g.sock.sport);
      expect(((q[24] << 24) | (q[25] << 16) | (q[26] << 8) | q[27]) >>> 0).to.equal(g.sock.iss);
      expect(pair.a.sent.filter((x) => x[23] === 6).length, 'no SYN-ACK').to.equal(0);
      expect(await until(() => p.connections === 0)).to.equal(true);
      for (const c of fillers) c.destroy();
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('caps connections: a SYN beyond maxConnections is dropped and counted; the guest retry gets through later', async () => {
    const held: net.Socket[] = [];
    const port = await listen(server((c) => held.push(c)));
    const p = start({ maxConnections: 2 });
    const g1 = GuestConn.open(pair, port);
    const g2 = GuestConn.open(pair, port);
    expect(await until(() => g1.connected && g2.connected)).to.equal(true);
    const g3 = GuestConn.open(pair, port);
    expect(await until(() => p.stats.connLimit >= 1)).to.equal(true);
    expect(g3.connected).to.equal(false);
    expect(g3.sock.stateName).to.equal('SYN_SENT');
    expect(p.connections).to.equal(2);
    g1.sock.end();
    held[0].end();
    // the guest retransmits its SYN (1 s RTO, virtual) and now gets a slot
    expect(await until(() => g3.connected, 5000)).to.equal(true);
    expect(p.stats.connected).to.equal(3);
    for (const h of held) h.destroy();
  });

  it('answers a SYN to a real off-link address as that address and connects there', async function () {
    const ext = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal);
    if (!ext) this.skip();
    const addr = ext!.address;
    const got: Buffer[] = [];
    const peers: string[] = [];
    const port = await listen(
      server((c) => {
        peers.push(c.localAddress ?? '');
        c.on('data', (d: Buffer) => got.push(d));
      }),
      '0.0.0.0',
    );
    const p = start();
    const daddr = addr.split('.').reduce((a, x) => a * 256 + Number(x), 0);
    // the guest stand-in sends raw frames; its own TCP would answer the SYN-ACK with RST
    pair.b.blackhole = true;
    pair.a.capture = true;
    pair.a.receive(toAddr(tcpFrame(pair.b, pair.a, { sport: 40000, dport: port, seq: 1000, ack: 0, flags: TCP_SYN }), daddr));
    expect(await until(() => pair.a.sent.some((f) => f[23] === 6))).to.equal(true);
    const synack = pair.a.sent.find((f) => f[23] === 6)!;
    const t = tcpOf(synack);
    expect(t.flags).to.equal(TCP_SYN | TCP_ACK);
    expect(t.ack).to.equal(1001);
    expect(Array.from(synack.subarray(26, 30)).join('.'), 'the SYN-ACK comes from the destination').to.equal(addr);
    pair.a.receive(toAddr(tcpFrame(pair.b, pair.a, { sport: 40000, dport: port, seq: 1001, ack: t.seq + 1, flags: TCP_ACK | 0x08, payload: Buffer.from('hi there') }), daddr));
    expect(await until(() => Buffer.concat(got).toString() === 'hi there')).to.equal(true);
    expect(peers).to.deep.equal([addr]);
    expect(p.stats.connected).to.equal(1);
  });
});

describe('tcp-proxy: routing TCP to any destination (NetnsIpv4.terminate)', () => {
  it('delivers TCP to an off-link address locally: without a forwarder the RST comes from that address', () => {
    const pair = new TcpPair();
    pair.b.blackhole = true;
    pair.a.capture = true;
    pair.a.receive(toAddr(tcpFrame(pair.b, pair.a, { sport: 40001, dport: 80, seq: 5, ack: 0, flags: TCP_SYN }), 0x08080808));
    pair.advance(10);
    const f = pair.a.sent.filter((x) => x[23] === 6);
    expect(f.length).to.equal(1);
    expect(Array.from(f[0].subarray(26, 30))).to.deep.equal([8, 8, 8, 8]);
    expect(tcpOf(f[0])).to.include({ flags: TCP_RST | TCP_ACK, ack: 6, sport: 80, dport: 40001 });
    expect(pair.a.stack.mib.Ip.InAddrErrors).to.equal(0);
  });

  it('still counts InAddrErrors for other protocols, other on-link hosts, and for TCP once termination is off', () => {
    const pair = new TcpPair();
    pair.b.blackhole = true;
    pair.a.capture = true;
    const udp = toAddr(tcpFrame(pair.b, pair.a, { sport: 1, dport: 2, seq: 0, ack: 0, flags: TCP_SYN }), 0x08080808);
    udp[23] = 17;
    fixIp(udp);
    pair.a.receive(udp);
    pair.a.receive(toAddr(tcpFrame(pair.b, pair.a, { sport: 40002, dport: 80, seq: 5, ack: 0, flags: TCP_SYN }), 0x0a000232));
    pair.a.inet.net.setTerminate(6, false);
    pair.a.receive(toAddr(tcpFrame(pair.b, pair.a, { sport: 40003, dport: 80, seq: 5, ack: 0, flags: TCP_SYN }), 0x08080808));
    pair.advance(10);
    expect(pair.a.sent.length).to.equal(0);
    expect(pair.a.stack.mib.Ip.InAddrErrors).to.equal(3);
  });
});

/** re-address a frame built by tcpFrame to `daddr`, fixing the IPv4 and TCP checksums */
function toAddr(f: Uint8Array, daddr: number): Uint8Array {
  f[30] = daddr >>> 24;
  f[31] = (daddr >>> 16) & 255;
  f[32] = (daddr >>> 8) & 255;
  f[33] = daddr & 255;
  fixIp(f);
  const t = f.subarray(34);
  t[16] = 0;
  t[17] = 0;
  const pseudo = [...f.subarray(26, 34), 0, f[23], t.length >> 8, t.length & 255];
  const c = slowChecksum([pseudo, t]);
  t[16] = c >> 8;
  t[17] = c & 255;
  return f;
}

function fixIp(f: Uint8Array): void {
  f[24] = 0;
  f[25] = 0;
  const c = slowChecksum([f.subarray(14, 34)]);
  f[24] = c >> 8;
  f[25] = c & 255;
}

