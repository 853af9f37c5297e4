// Issue 4's receive-path figures: packets/s of 64-byte frames of N interleaved TCP flows through
// NAPI → GRO → (RPS) → netif_receive_skb on one core (this process, the real-time softirq scheduler),
// GRO on and off, with and without IP/TCP delivery into established sockets; and each stage's cost per
// packet from a run whose pipeline carries a stage clock (rx-harness.ts). RPS is costed two ways: its
// own stage (hash + copy + enqueue_to_backlog) and the whole-path difference RPS on − off.
import { RxBench, type RxConfig, type StageTimes } from './rx-harness';

export interface RxBenchOptions {
  /** frames per measured row */
  packets: number;
  flows: number;
  /** virtual CPUs for the RPS rows */
  rpsCpus: number;
}

export const RX_TARGET_PPS = 2e6;

interface Row {
  label: string;
  pps: number;
  nsPerPkt: number;
  cpuPct: number;
  notes: string;
  stages: StageTimes | null;
  packets: number;
}

async function measure(label: string, cfg: RxConfig, packets: number, instrumented: boolean): Promise<Row> {
  const b = new RxBench(cfg);
  try {
    await b.prepare();
    // warm-up lap (JIT), then the measured laps
    await b.run(1, false);
    const tx0 = b.txFrames;
    const d0 = b.delivered;
    const ip0 = b.ipSeen;
    const g0 = { ...(b.groStats() ?? { merged: 0 }) };
    const laps = Math.max(1, Math.round(packets / cfg.lap));
    const r = await b.run(laps, instrumented);
    const n = laps * cfg.lap;
    const notes: string[] = [];
    const g = b.groStats();
    if (cfg.gro && g) notes.push(`GRO merged ${g.merged - g0.merged}`);
    if (cfg.deliver) {
      const got = (b.delivered - d0) / 10;
      notes.push(`delivered ${got === n ? 'all' : `${got} of ${n}`} segments, ${b.txFrames - tx0} ACKs out`);
      if (got < n * 0.99) notes.push('WARNING: segments lost');
    } else {
      const got = b.ipSeen - ip0;
      notes.push(`ETH_P_IP handler saw ${got === n ? 'all' : got}`);
    }
    if (cfg.rps) notes.push(`backlog: ${b.stack.softnet.map((s) => `cpu${s.cpu} received_rps ${s.received_rps} dropped ${s.dropped}`).join(', ')}`);
    return { label, pps: n / (r.ns / 1e9), nsPerPkt: r.ns / n, cpuPct: (100 * r.cpuNs) / r.ns, notes: notes.join('; '), stages: r.stages, packets: n };
  } finally {
    b.close();
  }
}

function fmtPps(v: number): string {
  return v >= 1e6 ? `${(v / 1e6).toFixed(2)} Mpps` : `${(v / 1e3).toFixed(0)} kpps`;
}

export async function benchRxStages(o: RxBenchOptions, out: (s: string) => void): Promise<boolean> {
  const lap = 64 * 256;
  const base = { flows: o.flows, cpus: 1, rps: false, lap };
  out(`\n== receive path (issue 4): 64-byte frames of ${o.flows} interleaved TCP flows, one core, ${o.packets} frames per row ==\n`);
  out('   frames through a test device\'s NAPI poll (weight 64) on the real-time softirq scheduler; no hash from the device (bucket 0)\n');
  const rows: Row[] = [];
  const add = async (label: string, cfg: Partial<RxConfig>, instrumented = false): Promise<Row> => {
    const r = await measure(label, { ...base, gro: true, deliver: false, ...cfg }, o.packets, instrumented);
    rows.push(r);
    out(`  ${label.padEnd(58)} ${fmtPps(r.pps).padStart(11)}  ${r.nsPerPkt.toFixed(0).padStart(5)} ns/pkt  CPU ${r.cpuPct.toFixed(0)}%  ${r.notes}\n`);
    return r;
  };
  const groOn = await add('NAPI → GRO on  → netif_receive_skb (ptype handler)', { gro: true });
  const groOff = await add('NAPI → GRO off → netif_receive_skb (ptype handler)', { gro: false });
  const fullOn = await add('NAPI → GRO on  → netif_receive_skb → IP → TCP sockets', { gro: true, deliver: true });
  await add('NAPI → GRO off → netif_receive_skb → IP → TCP sockets', { gro: false, deliver: true });
  const rpsOn = await add(`NAPI → GRO on → RPS (${o.rpsCpus} vCPUs) → backlog → IP → TCP`, { gro: true, deliver: true, rps: true, cpus: o.rpsCpus });
  const inst = await add('stage-clocked: GRO on, IP → TCP', { gro: true, deliver: true }, true);
  const instRps = await add(`stage-clocked: GRO on, RPS ${o.rpsCpus} vCPUs, IP → TCP`, { gro: true, deliver: true, rps: true, cpus: o.rpsCpus }, true);

  const s = inst.stages!;
  const sr = instRps.stages!;
  const per = (v: number, r: Row): string => `${(v / r.packets).toFixed(0).padStart(5)} ns/pkt`;
  out('\n  cost per packet by stage (stage-clocked runs; the clock adds its own reads, compare the totals above):\n');
  out(`    NAPI poll (net_rx_action, driver poll, eth_type_trans)   ${per(s.napi, inst)}\n`);
  out(`    GRO (dev_gro_receive, flushes, copies of held skbs)       ${per(s.gro, inst)}\n`);
  out(`    RPS stage (flow hash, pooled copy, enqueue_to_backlog)    ${per(sr.rps, instRps)}   (RPS off: ${per(s.rps, inst).trim()})\n`);
  out(`    netif_receive_skb + IP + TCP delivery (+ ACKs out)        ${per(s.deliver, inst)}\n`);
  out(`    RPS on − off, whole path (adds process_backlog, 2nd softirq) ${(rpsOn.nsPerPkt - fullOn.nsPerPkt).toFixed(0).padStart(5)} ns/pkt\n`);
  out(`    GRO on − off, ptype-handler path                          ${(groOn.nsPerPkt - groOff.nsPerPkt).toFixed(0).padStart(5)} ns/pkt\n`);
  const met = groOn.pps >= RX_TARGET_PPS;
  out(`\n  target ≥ ${fmtPps(RX_TARGET_PPS)} through NAPI → GRO → netif_receive_skb: ${fmtPps(groOn.pps)} — ${met ? 'met' : 'NOT met'}` +
    ` (with IP/TCP delivery: ${fmtPps(fullOn.pps)})\n`);
  return rows.every((r) => !/WARNING/.test(r.notes));
}
