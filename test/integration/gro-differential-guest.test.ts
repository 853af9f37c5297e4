// GRO differential against the real kernel. The same frame sequences go (a) to a real Linux 6.1 guest's
// virtio_net — transmitted by skbnet's virtio-net device into the guest's receive ring as one burst, so
// virtnet_poll takes them in one NAPI run through napi_gro_receive — and captured by tcpdump in the
// guest (AF_PACKET sees each skb after GRO, in __netif_receive_skb_core), and (b) into the model's
// NAPI → GRO → netif_receive_skb through a test device shaped like virtio_net, captured by the model's
// tap. Per case, the post-GRO sequences must be equal: count, each skb's length, and its first 96 bytes
// (headers as GRO leaves them: IPv4 tot_len and checksum rewritten, TCP check = pseudo-header sum,
// PSH/FIN ORed in). gso_segs is not visible to tcpdump; the model's is checked against the case's
// expectation (Linux's rules, net/core/gro.c, net/ipv4/af_inet.c inet_gro_receive,
// net/ipv4/tcp_offload.c tcp_gro_receive, net/ipv6/ip6_offload.c), and the guest's lengths pin it.
//
// Cases: contiguous trains up to the 64 KiB limit and past the NAPI weight, each flush rule of
// tcp_gro_receive/inet_gro_receive (options, flags, ACK, TOS, TTL, IP ID, short/long segments, order),
// bucket overflow, IPv6, UDP, and TSO super-frames (VIRTIO_NET_HDR_GSO_TCPV4, as skbnet sends them).
// The guest gets no address: GRO and the taps come before ip_rcv, which then drops the frames, so it
// sends no RSTs. skbnet negotiates GUEST_CSUM, so its frames carry DATA_VALID (CHECKSUM_UNNECESSARY in
// the guest, as in the rig); the guest has no hash report, so every flow shares GRO bucket 0 on both
// sides. Guest GRO is on (the default; no ethtool in the guest): the 45-segment case proves it.
import { expect } from 'chai';
import { Guest } from '../support/guest';
import { BackendUnderTest } from '../support/backend-under-test';
import { GuestCapture } from '../support/guest-capture';
import { capturedAs, GroRig, type CapturedSkb } from '../support/gro-rig';
import { injectToGuest } from '../support/inject-frames';
import type { PcapRecord } from '../support/pcap-read';
import { vhostUserNicArgs } from '../../emulator/qemu-args';
import {
  be16, be32, GUEST_MAC, TH_ACK, TH_CWR, TH_FIN, TH_PSH, TH_RST, TH_SYN, TH_URG, tcpSeg, tcpTrain, udpDatagram, type TcpSeg,
} from '../support/tcp-frames';

const MSS = 1448;
/** each case's flows use ports base..base+99 (the guest's records are split by destination port) */
const PORT0 = 41000;

interface Case {
  name: string;
  frames: (port: number) => Uint8Array[];
  /** segments per delivered skb, by Linux's rules (1 for an unmerged skb, 0 for a DODGY GSO skb: gso_segs not yet computed) */
  segs: number[];
  /** gso_size per frame for frames sent as TSO super-frames (VIRTIO_NET_HDR_GSO_TCPV4), 0 = plain */
  gso?: number[];
}

/** a 5-segment train (IDs 100…, seq from 1) whose segments from the k-th (0-based) on are built with `change` */
function fiveWith(k: number, change: Partial<TcpSeg>, port: number): Uint8Array[] {
  return Array.from({ length: 5 }, (_, i) => tcpSeg({ dport: port, seq: 1 + i * MSS, len: MSS, id: 100 + i, ...(i >= k ? change : {}) }));
}
/** the same, with only the k-th segment changed */
function fiveWithOne(k: number, change: Partial<TcpSeg>, port: number): Uint8Array[] {
  return Array.from({ length: 5 }, (_, i) => tcpSeg({ dport: port, seq: 1 + i * MSS, len: MSS, id: 100 + i, ...(i === k ? change : {}) }));
}

const CASES: Case[] = [
  // p->len + len < gro_max_size (65536): 52 + 45 × 1448 = 65212, a 46th would make 66660
  { name: '45 contiguous segments of 1448 (TS option) merge into one skb', frames: (p) => tcpTrain(45, { dport: p, len: MSS }), segs: [45] },
  { name: '46 segments: the 46th does not fit 64 KiB and starts a new skb', frames: (p) => tcpTrain(46, { dport: p, len: MSS }), segs: [45, 1] },
  { name: '1460-byte segments without options: 44 fit (40 + 44 × 1460)', frames: (p) => tcpTrain(50, { dport: p, len: 1460, ts: null }), segs: [44, 6] },
  // more than a weight (64) of frames: virtnet_poll returns 64, __napi_poll flushes all held at HZ < 1000
  { name: '70 segments: the poll that used its weight (64) flushes GRO', frames: (p) => tcpTrain(70, { dport: p, len: MSS }), segs: [45, 19, 6] },
  { name: 'TSval changes at the 3rd segment: option bytes must match', frames: (p) => fiveWith(2, { ts: [101, 200] }, p), segs: [2, 3] },
  { name: 'PSH on the 3rd segment: merged, then the skb is completed', frames: (p) => fiveWithOne(2, { flags: TH_ACK | TH_PSH }, p), segs: [3, 2] },
  { name: 'FIN on the 3rd segment: merged, then completed', frames: (p) => fiveWithOne(2, { flags: TH_ACK | TH_FIN }, p), segs: [3, 2] },
  { name: 'URG on the 3rd segment: flags differ, passed up alone', frames: (p) => fiveWithOne(2, { flags: TH_ACK | TH_URG }, p), segs: [2, 1, 2] },
  { name: 'RST on the 3rd segment: passed up alone', frames: (p) => fiveWithOne(2, { flags: TH_ACK | TH_RST }, p), segs: [2, 1, 2] },
  { name: 'SYN on the 3rd segment: passed up alone', frames: (p) => fiveWithOne(2, { flags: TH_ACK | TH_SYN }, p), segs: [2, 1, 2] },
  { name: 'CWR on the 3rd segment: it starts a new skb, which the rest join', frames: (p) => fiveWithOne(2, { flags: TH_ACK | TH_CWR }, p), segs: [2, 3] },
  {
    name: 'out of order (1 2 4 3 5): each gap completes the held skb',
    frames: (p) => {
      const t = tcpTrain(5, { dport: p, len: MSS });
      return [t[0], t[1], t[3], t[2], t[4]];
    },
    segs: [2, 1, 1, 1],
  },
  {
    name: 'a short segment (1000 B) is merged and ends the skb',
    frames: (p) => [
      ...tcpTrain(2, { dport: p, len: MSS }),
      tcpSeg({ dport: p, seq: 1 + 2 * MSS, len: 1000, id: 102 }),
      ...tcpTrain(2, { dport: p, len: MSS, seq: 1 + 2 * MSS + 1000, id: 103 }),
    ],
    segs: [3, 2],
  },
  {
    name: 'a segment longer than the first one is not merged',
    frames: (p) => [tcpSeg({ dport: p, seq: 1, len: 1000, id: 100 }), ...tcpTrain(3, { dport: p, len: MSS, seq: 1001, id: 101 })],
    segs: [1, 3],
  },
  { name: 'the ACK number changes at the 3rd segment', frames: (p) => fiveWith(2, { ack: 2000 }, p), segs: [2, 3] },
  { name: 'the TOS changes at the 3rd segment', frames: (p) => fiveWith(2, { tos: 0x10 }, p), segs: [2, 3] },
  { name: 'the TTL changes at the 3rd segment', frames: (p) => fiveWith(2, { ttl: 63 }, p), segs: [2, 3] },
  {
    name: 'an IP ID jump (DF set) at the 4th segment',
    frames: (p) => [...tcpTrain(3, { dport: p, len: MSS, id: 100 }), ...tcpTrain(2, { dport: p, len: MSS, seq: 1 + 3 * MSS, id: 200 })],
    segs: [3, 2],
  },
  {
    name: 'incrementing IP IDs without DF merge',
    frames: (p) => tcpTrain(5, { dport: p, len: MSS, df: false }),
    segs: [5],
  },
  {
    name: 'a fixed IP ID (0) with DF',
    frames: (p) => Array.from({ length: 5 }, (_, i) => tcpSeg({ dport: p, seq: 1 + i * MSS, len: MSS, id: 0 })),
    segs: [5],
  },
  { name: 'IPv4 options (ihl 6) are never merged', frames: (p) => tcpTrain(3, { dport: p, len: MSS, ipopt: true }), segs: [1, 1, 1] },
  {
    name: 'pure ACKs (no payload) are passed up one by one',
    frames: (p) => Array.from({ length: 3 }, (_, i) => tcpSeg({ dport: p, seq: 1, ack: 1000 + i * 100, len: 0, id: 100 + i })),
    segs: [1, 1, 1],
  },
  {
    name: 'two interleaved flows merge separately',
    frames: (p) => {
      const a = tcpTrain(10, { dport: p, len: MSS });
      const b = tcpTrain(10, { dport: p + 1, len: MSS, seq: 5000000, id: 7000 });
      return a.flatMap((f, i) => [f, b[i]]);
    },
    segs: [10, 10],
  },
  {
    name: 'nine interleaved flows in one bucket: the 9th evicts the oldest (MAX_GRO_SKBS 8)',
    frames: (p) => {
      const flows = Array.from({ length: 9 }, (_, k) => tcpTrain(3, { dport: p + k, len: MSS, seq: 1 + k * 100000, id: 1000 * (k + 1) }));
      return [0, 1, 2].flatMap((i) => flows.map((f) => f[i]));
    },
    segs: new Array<number>(27).fill(1),
  },
  { name: 'IPv6: 20 segments of 1440 merge', frames: (p) => tcpTrain(20, { v6: true, dport: p, len: 1440 }), segs: [20] },
  {
    name: 'IPv6: the traffic class changes at the 3rd segment',
    frames: (p) => Array.from({ length: 5 }, (_, i) => tcpSeg({ v6: true, dport: p, seq: 1 + i * 1440, len: 1440, tclass: i >= 2 ? 0x10 : 0 })),
    segs: [2, 3],
  },
  // TSO super-frames toward the guest (it negotiated GUEST_TSO4): virtio_net_hdr_to_skb makes them
  // SKB_GSO_DODGY skbs with gso_segs 0, and dev_gro_receive marks a DODGY skb flush ("gro: take care of
  // DODGY packets", 6.1.y stable, in Debian's 6.1.0): never held, never merged into a held skb
  {
    name: 'two contiguous TSO frames (10 × 1448, DODGY, gso_segs 0) go up unmerged',
    frames: (p) => [0, 1].map((i) => tcpSeg({ dport: p, seq: 1 + i * 10 * MSS, len: 10 * MSS, id: 100 + i * 10, partialCsum: true })),
    gso: [MSS, MSS],
    segs: [0, 0],
  },
  {
    // (without that fix it would join the held skb, adding its count of 0: 13 segments' payload, gso_segs 3)
    name: 'a contiguous TSO frame after 3 held segments completes them and goes up alone',
    frames: (p) => [...tcpTrain(3, { dport: p, len: MSS }), tcpSeg({ dport: p, seq: 1 + 3 * MSS, len: 10 * MSS, id: 103, partialCsum: true })],
    gso: [0, 0, 0, MSS],
    segs: [3, 0],
  },
  {
    name: 'UDP without a UDP_GRO socket is not merged',
    frames: (p) => Array.from({ length: 5 }, (_, i) => udpDatagram(5000, p, 1000, { id: 300 + i })),
    segs: [1, 1, 1, 1, 1],
  },
];

/** destination port of an IPv4/IPv6 TCP/UDP frame (-1 for anything else) */
function dport(d: Uint8Array): number {
  const type = be16(d, 12);
  if (type === 0x0800) return be16(d, 14 + (d[14] & 15) * 4 + 2);
  if (type === 0x86dd) return be16(d, 14 + 40 + 2);
  return -1;
}

/** one line per skb for failure messages: length, IP id/tos/ttl, ports, seq, flags */
function describe1(r: PcapRecord): string {
  const d = r.data;
  const v4 = be16(d, 12) === 0x0800;
  const l4 = v4 ? 14 + (d[14] & 15) * 4 : 54;
  const ip = v4 ? `id ${be16(d, 18)} tos ${d[15]} ttl ${d[22]}` : `tc ${(be32(d, 14) >>> 20) & 255}`;
  const tcp = (v4 ? d[23] : d[20]) === 6;
  const t = tcp ? ` seq ${be32(d, l4 + 4)} ack ${be32(d, l4 + 8)} flags 0x${d[l4 + 13].toString(16)}` : ' udp';
  return `len ${r.origLen} ${ip} ${be16(d, l4)}>${be16(d, l4 + 2)}${t}`;
}
const describeAll = (rs: PcapRecord[]): string => rs.map(describe1).join('\n    ');
const hex = (d: Uint8Array): string => Buffer.from(d).toString('hex');

describe('GRO differential: a real Linux 6.1 guest (virtio_net, tcpdump) vs the model (NAPI → GRO → tap)', function () {
  this.timeout(180000);
  let backend: BackendUnderTest;
  let guest: Guest;
  const byCase = new Map<number, PcapRecord[]>();
  const modelByCase = new Map<number, CapturedSkb[]>();
  let droppedByKernel = -1;
  let notWritten = -1;
  let linktype = -1;

  before(async () => {
    backend = new BackendUnderTest();
    guest = await Guest.boot({
      name: 'gro-diff',
      netArgs: vhostUserNicArgs({ socket: backend.socket, memory: '256M', mac: '52:54:00:12:34:56', queues: 1 }),
    });
    const up = await guest.run('ip link set eth0 up && cat /sys/class/net/eth0/address', 20000);
    expect(up.output).to.include('52:54:00:12:34:56');
    // the receive ring is started and filled once the guest opened eth0
    for (let i = 0; i < 200 && !(backend.device.dev.netif_carrier_ok() && !backend.device.dev.netif_tx_queue_stopped(0)); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(backend.device.dev.netif_carrier_ok(), 'receive ring started').to.equal(true);
    await new Promise((r) => setTimeout(r, 500)); // let virtnet_open's refill land

    const cap = new GuestCapture(guest, 'eth0', 'gro');
    await cap.start(`(tcp or udp) and dst portrange ${PORT0}-${PORT0 + 100 * CASES.length}`);
    const rxPackets = async (): Promise<number> => Number((await guest.run('cat /sys/class/net/eth0/statistics/rx_packets')).output.trim());
    let expected = await rxPackets();
    for (let i = 0; i < CASES.length; i++) {
      const frames = CASES[i].frames(PORT0 + 100 * i);
      injectToGuest(backend.device, frames, CASES[i].gso);
      expected += frames.length;
      // the guest's NAPI has taken them all (virtnet_receive counts frames before GRO) before the next burst
      const w = await guest.run(`n=0; while [ $(cat /sys/class/net/eth0/statistics/rx_packets) -lt ${expected} ] && [ $n -lt 200 ]; do usleep 20000; n=$((n+1)); done; cat /sys/class/net/eth0/statistics/rx_packets`, 15000);
      expect(Number(w.output.trim()), `guest rx_packets after case ${i}`).to.be.at.least(expected);
      const rig = new GroRig({ mac: GUEST_MAC, dataValid: true });
      modelByCase.set(i, rig.inject(frames, CASES[i].gso).map((s) => capturedAs(s, 96)));
    }
    const got = await cap.stop();
    droppedByKernel = got.droppedByKernel;
    notWritten = got.notWritten;
    linktype = got.linktype;
    for (const r of got.records) {
      const i = Math.floor((dport(r.data) - PORT0) / 100);
      if (!byCase.has(i)) byCase.set(i, []);
      byCase.get(i)!.push(r);
    }
  });
  after(async () => {
    await guest?.shutdown();
    backend?.close();
  });

  it('tcpdump in the guest captured Ethernet frames and lost none', () => {
    expect(linktype, 'DLT_EN10MB').to.equal(1);
    expect(droppedByKernel, 'dropped by kernel').to.equal(0);
    expect(notWritten, 'received by filter but not captured').to.equal(0);
  });

  CASES.forEach((c, i) => {
    it(c.name, () => {
      const model = modelByCase.get(i) ?? [];
      const real = byCase.get(i) ?? [];
      const msg = `\n  guest (${real.length}):\n    ${describeAll(real)}\n  model (${model.length}):\n    ${describeAll(model)}`;
      expect(model.map((r) => (r.gso_size ? r.gso_segs : 1)), `model gso_segs${msg}`).to.deep.equal(c.segs);
      expect(real.map((r) => r.origLen), `lengths${msg}`).to.deep.equal(model.map((r) => r.origLen));
      for (let k = 0; k < real.length; k++) {
        expect(hex(real[k].data), `skb ${k}: first ${real[k].data.length} bytes${msg}`).to.equal(hex(model[k].data));
      }
    });
  });
});
