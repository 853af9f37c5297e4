// Hostile input (issue 3): a SYN flood. 10 000 SYNs from random spoofed addresses and ports at a model
// listener with backlog 128 and a connection cap: the SYN queue holds at most 128 embryonic sockets,
// the rest are answered with SYN cookies (counted, the kernel's warning once), a real client that
// arrives during the flood completes its handshake through a cookie and moves data both ways, and
// the embryonic sockets expire. For guest SYNs that the forwarder (the outbound host proxy) takes, the
// connection cap holds with its own counter and nothing grows per dropped SYN.
import { expect } from 'chai';
import * as net from 'net';
import { TcpProxy } from '../../kernel-model/services/host-proxy/tcp-proxy';
import type { TcpSock } from '../../kernel-model/tcp/sock';
import { seeded } from '../unit/ipv4-link';
import { ADDR_B, TcpPair, pattern, tcpFrame } from '../unit/tcp-pair';

const SYN = 0x02;
const FLOOD = 10_000;
const GW = 0x0a000202;

/** MSS 1460, SACK_PERM + TS, WS 7 (a Linux SYN's options) */
function synOpts(tsval: number): number[] {
  return [2, 4, 5, 0xb4, 4, 2, 8, 10, tsval >>> 24, (tsval >>> 16) & 255, (tsval >>> 8) & 255, tsval & 255, 0, 0, 0, 0, 1, 3, 3, 7];
}

function collect(s: TcpSock, into: Uint8Array[]): void {
  s.onData = (buf, off, len) => into.push(buf.slice(off, off + len));
}

/** write all of `data`, then end() */
function sendAll(s: TcpSock, data: Uint8Array): () => void {
  let off = 0;
  const go = () => {
    while (off < data.length) {
      const n = s.write(data, off, data.length - off);
      if (n <= 0) return;
      off += n;
    }
    s.end();
  };
  s.onDrain = go;
  return go;
}

describe('hostile tcp: SYN flood at a model listener (SYN cookies)', function () {
  this.timeout(120_000);
  it('10 000 spoofed SYNs: ≤ 128 embryonic sockets, cookies for the rest, a real client still gets through', () => {
    const pair = new TcpPair();
    const rnd = seeded(99);
    const got: Uint8Array[] = [];
    const accepted: TcpSock[] = [];
    const toA = pattern(400_000, 5);
    const l = pair.b.tcp.listen(
      80,
      (s) => {
        accepted.push(s);
        collect(s, got);
        sendAll(s, toA)();
      },
      { backlog: 128, maxConnections: 1024 },
    )!;
    const heap0 = process.memoryUsage().heapUsed;
    let maxSockets = 0;
    let maxQueue = 0;
    let client: TcpSock | null = null;
    const gotA: Uint8Array[] = [];
    const toB = pattern(300_000, 6);
    for (let sent = 0; sent < FLOOD; ) {
      for (let k = 0; k < 500 && sent < FLOOD; k++, sent++) {
        // random sources in 198.18.0.0/15 (benchmarking space: unreachable from here)
        const saddr = (0xc6120000 | Math.floor(rnd() * 0x20000)) >>> 0;
        const sport = 1024 + Math.floor(rnd() * 64000);
        pair.b.receive(tcpFrame(pair.a, pair.b, { saddr, sport, dport: 80, seq: Math.floor(rnd() * 0x1_0000_0000), ack: 0, flags: SYN, opts: synOpts(sent + 1) }));
      }
      pair.advance(1);
      maxSockets = Math.max(maxSockets, pair.b.tcp.sockets().length);
      maxQueue = Math.max(maxQueue, l.synQueue);
      if (sent === 2000) {
        // the legitimate client arrives in the middle of the flood
        const c = pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 80)!;
        collect(c, gotA);
        c.onConnect = sendAll(c, toB);
        client = c;
      }
    }
    const mib = pair.b.stack.mib.TcpExt;
    expect(maxQueue, 'SYN queue').to.equal(128);
    expect(maxSockets, 'sockets held: the queue plus the real client').to.be.at.most(129);
    // every SYN past the queue got a cookie, the client's too
    expect(mib.SyncookiesSent).to.equal(FLOOD - 128 + 1);
    expect(mib.TCPReqQFullDoCookies).to.equal(FLOOD - 128 + 1);
    expect(mib.TCPReqQFullDrop).to.equal(0);
    expect(pair.log.lines.filter((x) => x.includes('Possible SYN flooding')).length, 'warned once').to.equal(1);
    // the cookie SYN-ACKs to spoofed addresses had nowhere to go
    expect(pair.b.stack.mib.Ip.OutNoRoutes).to.be.greaterThan(FLOOD - 200);
    // no per-SYN memory: 10 000 SYNs cost well under a kilobyte each even with the queue's sockets
    const grown = process.memoryUsage().heapUsed - heap0;
    expect(grown, `heap grew ${grown} bytes`).to.be.below(64 * 1024 * 1024);
    const c = client!;
    pair.runUntil(() => Buffer.concat(got).length === toB.length && Buffer.concat(gotA).length === toA.length, 60_000, 10);
    expect(mib.SyncookiesRecv).to.equal(1);
    expect(mib.SyncookiesFailed).to.equal(0);
    expect(accepted.length).to.equal(1);
    expect(accepted[0].from_cookie).to.equal(true);
    expect(Buffer.concat(got).equals(Buffer.from(toB)), 'client → server').to.equal(true);
    expect(Buffer.concat(gotA).equals(Buffer.from(toA)), 'server → client').to.equal(true);
    expect(c.error).to.equal('');
    // the embryonic sockets give up after tcp_synack_retries (5): ~63 s
    pair.advance(70_000);
    expect(l.synQueue).to.equal(0);
    expect(pair.b.tcp.sockets().filter((s) => s.stateName === 'SYN_RECV').length).to.equal(0);
    expect(pair.b.stack.mib.Tcp.AttemptFails, 'expired requests are no failed attempts').to.equal(0);
  });
});

describe('hostile tcp: SYN flood through the forwarder (outbound proxy, connection cap)', function () {
  this.timeout(60_000);
  let server: net.Server;
  let port = 0;
  const conns: net.Socket[] = [];
  before(async () => {
    server = net.createServer((c) => {
      conns.push(c);
      c.on('error', () => undefined);
      c.pipe(c);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as net.AddressInfo).port;
  });
  after(async () => {
    for (const c of conns) c.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });

  /** 10 000 guest SYNs (distinct source ports, random ISNs) to 10.0.2.2:port, within one batch of virtual time */
  function flood(pair: TcpPair): void {
    const rnd = seeded(7);
    const base = 1024 + Math.floor(rnd() * 50000);
    for (let i = 0; i < FLOOD; i++) {
      const sport = 1024 + ((base + i * 7) % 64000);
      pair.a.receive(tcpFrame(pair.b, pair.a, { sport, dport: port, seq: Math.floor(rnd() * 0x1_0000_0000), ack: 0, flags: SYN, opts: synOpts(i + 1) }));
    }
    pair.advance(2);
  }

  async function settle(pair: TcpPair, done: () => boolean, ms = 20_000): Promise<boolean> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      pair.advance(20);
      if (done()) return true;
      await new Promise((r) => setTimeout(r, 2));
    }
    return done();
  }

  it('the cap holds (connLimit counts the rest), pending requests stay bounded, and a guest connection works afterwards', async () => {
    const pair = new TcpPair();
    const proxy = new TcpProxy(pair.a.inet, pair.a.tcp, { maxConnections: 16 }).start();
    try {
      flood(pair);
      expect(proxy.connections).to.equal(16);
      expect(proxy.stats.connLimit).to.equal(FLOOD - 16);
      expect(pair.a.tcp.forwardPending.size, 'requests awaiting a host connect').to.equal(16);
      expect(pair.a.tcp.sockets().length, 'no SYN answered before its host connect').to.equal(0);
      expect(pair.a.stack.mib.TcpExt.TCPReqQFullDrop).to.equal(0);
      // the 16 host connects complete; the guest has no socket for them and resets the SYN-ACKs
      expect(await settle(pair, () => proxy.connections === 0), `connections left: ${proxy.connections}`).to.equal(true);
      expect(pair.a.tcp.forwardPending.size).to.equal(0);
      // a real guest connection now goes through and echoes
      const s = pair.b.tcp.connect(pair.b.inet.ind, GW, port)!;
      const got: Uint8Array[] = [];
      collect(s, got);
      const data = pattern(50_000, 9);
      s.onConnect = sendAll(s, data);
      expect(await settle(pair, () => Buffer.concat(got).length === data.length)).to.equal(true);
      expect(Buffer.concat(got).equals(Buffer.from(data))).to.equal(true);
    } finally {
      proxy.close();
    }
  });

  it('a forwarder at capacity that answers overflow() counts ListenDrops per SYN and keeps nothing', () => {
    const pair = new TcpPair();
    let offered = 0;
    pair.a.tcp.setForwarder((req) => {
      offered++;
      req.overflow();
      req.overflow(); // decided once: counted once
    });
    flood(pair);
    expect(offered).to.equal(FLOOD);
    expect(pair.a.stack.mib.TcpExt.ListenDrops).to.equal(FLOOD);
    expect(pair.a.tcp.forwardPending.size).to.equal(0);
    expect(pair.a.tcp.sockets().length).to.equal(0);
  });

  it('beyond max_forward_inflight (pending host connects) SYNs are dropped as TCPReqQFullDrop', async () => {
    const pair = new TcpPair({ sysctlA: { max_forward_inflight: 8 } });
    const proxy = new TcpProxy(pair.a.inet, pair.a.tcp, { maxConnections: 16 }).start();
    try {
      flood(pair);
      expect(pair.a.tcp.forwardPending.size).to.equal(8);
      expect(proxy.connections).to.equal(8);
      expect(pair.a.stack.mib.TcpExt.TCPReqQFullDrop).to.equal(FLOOD - 8);
      expect(pair.a.tcp.drops.forwardBusy).to.equal(FLOOD - 8);
      expect(pair.a.stack.mib.TcpExt.ListenDrops).to.equal(FLOOD - 8);
      expect(proxy.stats.connLimit).to.equal(0);
      expect(await settle(pair, () => proxy.connections === 0)).to.equal(true);
    } finally {
      proxy.close();
    }
  });
});
