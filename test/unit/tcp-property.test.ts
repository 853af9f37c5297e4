// Property (issue 3): two TCP models over a link that drops, duplicates, reorders and delays frames
// (seeded, virtual time). For every schedule and pair of byte streams each side receives exactly the
// other's stream, neither side sees an error, both end in CLOSED or TIME_WAIT, at least one of them
// went through TIME_WAIT (RFC 9293: the side whose FIN went first, or both on a simultaneous close —
// a peer's RST may end TIME_WAIT early, as Linux allows with tcp_rfc1337 = 0), and TIME_WAIT ends
// after 60 s.
import { expect } from 'chai';
import fc from 'fast-check';
import type { TcpSock } from '../../kernel-model/tcp/sock';
import { pattern } from './tcp-pair';
import { lateRstOnly, runTransfer, type Run } from './tcp-transfer';

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
        // Linux too answers a retransmission that arrives after TIME_WAIT's 60 s with a RST: when the
        // final ACK is lost and the peer's RTO has backed off past 60 s (Karn's rule keeps it there
        // without timestamps), the closing side hears ECONNRESET after all data was delivered. That is
        // the only error allowed (see tcp-regression.test.ts).
        for (const s of [a, bb]) {
          if (s.error === '') continue;
          expect(s.error).to.equal('ECONNRESET');
          expect(lateRstOnly(pair), JSON.stringify(pair.rsts)).to.equal(true);
        }
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
