// Memory per idle ESTABLISHED connection (issue 3 target: ≤ 4 KiB): two TCP model instances in virtual
// time open `n` connections, move a few bytes each way on every one (so the buffers were used), let
// them go idle, and the V8 heap growth over the same setup without the connections is divided by n.
// Buffers are lazy (kernel-model/tcp/buffers.ts): an idle socket holds no byte storage.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { TcpSock } from '../../kernel-model/tcp/sock';
import { tcp_ring_pool_clear } from '../../kernel-model/tcp/buffers';
import { ADDR_B, TcpPair } from '../unit/tcp-pair';

/** a callable gc(), from --expose-gc or turned on at run time */
function getGc(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return g;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function heapUsed(gc: () => void): number {
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** open n connections a → b:5001, echo 16 bytes on each, run until idle; returns both ends */
function openIdle(pair: TcpPair, n: number): { client: TcpSock[]; server: TcpSock[] } {
  const client: TcpSock[] = [];
  const server: TcpSock[] = [];
  const hello = new Uint8Array(16).fill(0x61);
  let echoed = 0;
  for (const l of pair.b.tcp.listening()) l.close();
  pair.b.tcp.listen(5001, (s) => {
    server.push(s);
    s.onData = (buf, off, len) => {
      s.write(buf, off, len);
    };
  }, { backlog: 4096 });
  for (let i = 0; i < n; i++) {
    const s = pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 5001);
    if (s === null) throw new Error(`connect ${i} failed`);
    s.onConnect = () => {
      s.write(hello);
    };
    s.onData = () => {
      echoed++;
    };
    client.push(s);
    // let the handshakes drain in batches so the link's queue stays small
    if (i % 256 === 255) pair.advance(20);
  }
  pair.runUntil(() => echoed >= n && server.length === n, 600_000, 50);
  // past every delayed ACK and RTO: nothing pending but idle sockets
  pair.advance(5_000);
  if (echoed < n) throw new Error(`only ${echoed}/${n} connections echoed`);
  return { client, server };
}

/**
 * measureIdleConnectionMemory(n): V8 heap bytes per idle ESTABLISHED connection (both ends of one
 * connection count as two connections, as a guest-side and a host-side model would each hold one).
 */
export async function measureIdleConnectionMemory(n: number): Promise<{ bytesPerConn: number; connections: number; heapDelta: number; allocatedBuffers: number }> {
  const gc = getGc();
  const pair = new TcpPair();
  // warm up: the pair, its stacks and the code paths exist before the baseline
  openIdle(pair, 4);
  tcp_ring_pool_clear();
  const base = heapUsed(gc);
  const { client, server } = openIdle(pair, n);
  tcp_ring_pool_clear();
  const after = heapUsed(gc);
  const all = client.concat(server);
  let established = 0;
  let allocatedBuffers = 0;
  for (const s of all) {
    if (s.stateName === 'ESTABLISHED') established++;
    if (s.sndbuf.allocated) allocatedBuffers++;
    if (s.rcvbuf.allocated) allocatedBuffers++;
  }
  if (established !== 2 * n) throw new Error(`${established}/${2 * n} sockets ESTABLISHED`);
  const heapDelta = after - base;
  // keep the sockets reachable until after the measurement
  await Promise.resolve(all.length);
  return { bytesPerConn: heapDelta / all.length, connections: all.length, heapDelta, allocatedBuffers };
}

if (require.main === module) {
  const n = Number(process.argv[2] ?? 10_000);
  void measureIdleConnectionMemory(n).then((r) => {
    console.log(`tcp idle memory: ${r.connections} ESTABLISHED sockets, heap +${(r.heapDelta / 1048576).toFixed(1)} MiB, ${r.bytesPerConn.toFixed(0)} bytes/connection, ${r.allocatedBuffers} buffers allocated`);
  });
}
