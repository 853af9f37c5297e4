// Shared by the TCP property test and its fixed regression replays (tcp-property.test.ts,
// tcp-regression.test.ts): one transfer between two TCP models over a faulty link, both directions,
// each side ending its stream with end() once written. Kept out of the test files so importing it
// does not run the property a second time.
import type { TcpSock } from '../../kernel-model/tcp/sock';
import { ADDR_B, TcpPair, pattern, type LinkFaults } from './tcp-pair';

export interface Run {
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

/** every RST on the wire came from a host that had no socket left (its TIME_WAIT had ended) */
export function lateRstOnly(pair: TcpPair): boolean {
  return pair.rsts.length > 0 && pair.rsts.every((r) => !r.hadSocket);
}
