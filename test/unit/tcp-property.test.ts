// Property (issue 3): two TCP models over a link that drops, duplicates, reorders and delays frames
// (seeded, virtual time). For every schedule and pair of byte streams each side receives exactly the
// other's stream, neither side sees an error, both end in CLOSED or TIME_WAIT, at least one of them
// went through TIME_WAIT (RFC 9293: the side whose FIN went first, or both on a simultaneous close —
// a peer's RST may end TIME_WAIT early, as Linux allows with tcp_rfc1337 = 0), and TIME_WAIT ends
// after 60 s.
import { expect } from 'chai';
import fc from 'fast-check';
import type { TcpSock } from '../../kernel-model/tcp/sock';
import { ADDR_B, TcpPair, pattern, type LinkFaults } from './tcp-pair';

interface Run {
  faults: LinkFaults;
  seed: number;
  sizeAB: number;
  sizeBA: number;
  sackA: boolean;
  sackB: boolean;
  tsA: boolean;
  tsB: boolean;
  wsB: boolean;
  cc: string;
  chunk: number;
}

function sink(s: TcpSock, into: Uint8Array[]): void {
  s.onData = (buf, off, len) => {
    into.push(buf.slice(off, off + len));
  };
}

function pump(s: TcpSock, data: Uint8Array, chunk: number): () => void {
  let off = 0;
  return () => {
    while (off < data.length) {
      const n = s.write(data, off, Math.min(chunk, data.length - off));
      if (n <= 0) return;
      off += n;
    }
    if (off === data.length) s.end();
  };
}

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

export function runTransfer(r: Run): { pair: TcpPair; a: TcpSock; b: TcpSock | null; gotA: Uint8Array; gotB: Uint8Array; done: boolean; closedIn: string[] } {
  const pair = new TcpPair({
    faults: r.faults,
    seed: r.seed,
    sysctlA: { tcp_sack: r.sackA, tcp_timestamps: r.tsA, tcp_congestion_control: r.cc },
    sysctlB: { tcp_sack: r.sackB, tcp_timestamps: r.tsB, tcp_window_scaling: r.wsB, tcp_congestion_control: r.cc },
  });
  const ab = pattern(r.sizeAB, r.seed);
  const ba = pattern(r.sizeBA, r.seed + 1);
  const rxA: Uint8Array[] = [];
  const rxB: Uint8Array[] = [];
  let b: TcpSock | null = null;
  const closedIn: string[] = [];
  pair.b.tcp.listen(5001, (s) => {
    b = s;
    s.onClose = () => closedIn.push(`b:${s.stateName}`);
    sink(s, rxB);
    const go = pump(s, ba, r.chunk);
    s.onDrain = go;
    go();
  });
  const a = pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 5001)!;
  a.onClose = () => closedIn.push(`a:${a.stateName}`);
  sink(a, rxA);
  const go = pump(a, ab, r.chunk);
  a.onConnect = go;
  a.onDrain = go;
  const final = (s: TcpSock | null) => s !== null && (s.stateName === 'CLOSED' || s.stateName === 'TIME_WAIT');
  const done = pair.runUntil(() => final(a) && final(b), 1_800_000, 200);
  return { pair, a, b, gotA: concat(rxA), gotB: concat(rxB), done, closedIn };
}

const faultsArb = fc.record({
  drop: fc.double({ min: 0, max: 0.15, noNaN: true }),
  dup: fc.double({ min: 0, max: 0.1, noNaN: true }),
  delay: fc.integer({ min: 1, max: 30 }),
  jitter: fc.integer({ min: 0, max: 40 }),
});

const runArb: fc.Arbitrary<Run> = fc.record({
  faults: faultsArb,
  seed: fc.integer({ min: 1, max: 1_000_000 }),
  sizeAB: fc.integer({ min: 0, max: 200_000 }),
  sizeBA: fc.integer({ min: 0, max: 30_000 }),
  sackA: fc.boolean(),
  sackB: fc.boolean(),
  tsA: fc.boolean(),
  tsB: fc.boolean(),
  wsB: fc.boolean(),
  cc: fc.constantFrom('cubic', 'reno'),
  chunk: fc.constantFrom(1000, 16384, 65536),
});

describe('tcp property: lossy link delivers the streams exactly and closes as RFC 9293 says', function () {
  this.timeout(60_000);
  it('random schedules', () => {
    fc.assert(
      fc.property(runArb, (r) => {
        const { pair, a, b, gotA, gotB, done, closedIn } = runTransfer(r);
        expect(done, `final states a=${a.stateName} b=${b?.stateName}`).to.equal(true);
        expect(b).to.not.equal(null);
        const bb = b as unknown as TcpSock;
        expect(a.error).to.equal('');
        expect(bb.error).to.equal('');
        expect(Buffer.from(gotB).equals(Buffer.from(pattern(r.sizeAB, r.seed))), `b got ${gotB.length}/${r.sizeAB}`).to.equal(true);
        expect(Buffer.from(gotA).equals(Buffer.from(pattern(r.sizeBA, r.seed + 1))), `a got ${gotA.length}/${r.sizeBA}`).to.equal(true);
        expect(closedIn.length, closedIn.join()).to.equal(2);
        expect(closedIn.some((c) => c.endsWith('TIME_WAIT')), closedIn.join()).to.equal(true);
        for (const c of closedIn) expect(['CLOSED', 'TIME_WAIT']).to.include(c.slice(2));
        // TIME_WAIT lasts 60 s, then the 4-tuple is free
        pair.advance(61_000);
        expect(a.stateName).to.equal('CLOSED');
        expect(bb.stateName).to.equal('CLOSED');
        expect(pair.a.tcp.sockets().length + pair.b.tcp.sockets().length).to.equal(0);
        expect(pair.a.stack.mib.Tcp.CurrEstab).to.equal(0);
        expect(pair.b.stack.mib.Tcp.CurrEstab).to.equal(0);
      }),
      { numRuns: Number(process.env.TCP_RUNS ?? 150), seed: Number(process.env.TCP_SEED ?? 20240601) },
    );
  });
});
