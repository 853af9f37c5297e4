// GRO (net/core/gro.c, af_inet.c inet_gro_receive, tcp_offload.c, ip6_offload.c, udp_offload.c, Linux
// 6.1) under virtual time: real frames through NAPI → GRO → netif_receive_skb, what the tap sees.
import { expect } from 'chai';
import { CHECKSUM_NONE, CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, SKB_GSO_DODGY, SKB_GSO_TCPV4, SKB_GSO_TCPV6, SKB_GSO_TCP_ECN } from '../../kernel-model/core/skb';
import { SKB_GSO_TCP_FIXEDID, napi_gro_stats, netif_set_gro } from '../../kernel-model/core/gro';
import { GUEST_MAC, arpRequest } from '../support/frames';
import { GroRig, type Seen } from '../support/gro-rig';
import {
  be16,
  be32,
  GUEST4,
  GW4,
  sum16,
  tcpSeg,
  tcpTrain,
  TH_ACK,
  TH_CWR,
  TH_ECE,
  TH_FIN,
  TH_PSH,
  TH_RST,
  TH_SYN,
  TH_URG,
  udpDatagram,
  type TcpSeg,
} from '../support/tcp-frames';
import { TestLink } from './ipv4-link';

const MSS = 1448;

/** segments from the guest to the gateway, the direction skbnet's GRO sees */
const seg = (o: TcpSeg): Uint8Array => tcpSeg({ toGateway: true, ...o });
const train = (n: number, o: Omit<TcpSeg, 'seq'> & { seq?: number }): Uint8Array[] => tcpTrain(n, { toGateway: true, ...o });
const udp4 = (sport: number, dport: number, payload: number, badCsum = false): Uint8Array => udpDatagram(sport, dport, payload, { toGateway: true, badCsum });
/** an ARP request (not GRO-able) */
const arp = (): Uint8Array => arpRequest(GUEST_MAC, '10.0.2.15', '10.0.2.2');

/** segments per delivered skb (1 for a plain skb) */
function segs(seen: Seen[]): number[] {
  return seen.map((s) => (s.gso_size ? s.gso_segs : 1));
}

/** TCP sequence number of a delivered IPv4 frame */
function seqOf(s: Seen): number {
  const ihl = (s.frame[14] & 15) * 4;
  return be32(s.frame, 14 + ihl + 4);
}

describe('GRO: TCP over IPv4 (tcp_gro_receive, inet_gro_receive)', () => {
  it('45 segments of 1448 bytes become one 65212-byte skb: gso_size 1448, gso_segs 45, headers finished', () => {
    const rig = new GroRig();
    const frames = train(45, { len: MSS, seq: 1000 });
    const processed = rig.stack.softnet[0].processed;
    const seen = rig.inject(frames);
    expect(seen.length).to.equal(1);
    const s = seen[0];
    // p->len + len < gro_max_size (65536): 52 + 45 * 1448 = 65212
    expect(s.len).to.equal(52 + 45 * MSS);
    expect(s.frame.length).to.equal(14 + 65212);
    expect([s.gso_size, s.gso_segs, s.gso_type]).to.deep.equal([MSS, 45, SKB_GSO_TCPV4]);
    expect(rig.stack.softnet[0].processed - processed).to.equal(1);
    const f = s.frame;
    expect(be16(f, 16)).to.equal(65212); // tot_len
    expect(~sum16(f.subarray(14, 34)) & 0xffff).to.equal(0); // header checksum patched
    // tcp_gro_complete: CHECKSUM_PARTIAL at the TCP header, check = pseudo header sum
    expect(s.ip_summed).to.equal(CHECKSUM_PARTIAL);
    expect([s.csum_start, s.csum_offset]).to.deep.equal([20, 16]);
    const l4 = 65212 - 20;
    expect(be16(f, 34 + 16)).to.equal(sum16([...GUEST4, ...GW4, 0, 6, l4 >>> 8, l4 & 255]));
    // the payload is the 45 payloads in order
    expect(be32(f, 38)).to.equal(1000);
    for (let i = 0; i < 45 * MSS; i += 997) expect(f[14 + 52 + i]).to.equal((1000 + i) & 255);
    // the big slab went back to the pool once the skb was through the stack
    expect(rig.stack.bigPool.available).to.equal(rig.stack.bigPool.slabs);
  });

  it('46 segments: 45 merged, the 46th (E2BIG) held anew and flushed alone at the end of the poll', () => {
    const rig = new GroRig();
    const seen = rig.inject(train(46, { len: MSS }));
    expect(segs(seen)).to.deep.equal([45, 1]);
    expect(seen[1].gso_size).to.equal(0);
    expect(seen[1].len).to.equal(52 + MSS);
    expect(be16(seen[1].frame, 16)).to.equal(52 + MSS);
    expect(seqOf(seen[1])).to.equal(1 + 45 * MSS);
  });

  it('1460-byte segments without options: 44 fit (40 + 44 * 1460 = 64280)', () => {
    const rig = new GroRig();
    const seen = rig.inject(train(50, { len: 1460, ts: null }));
    expect(segs(seen)).to.deep.equal([44, 6]);
    expect(seen[0].len).to.equal(40 + 44 * 1460);
    expect(seen[1].gso_size).to.equal(1460);
  });

  it('more than a weight of segments: the poll that used its weight flushes (HZ 250), the next poll starts anew', () => {
    const rig = new GroRig();
    const seen = rig.inject(train(100, { len: MSS }));
    // poll 1: 64 segments = 45 + 19 (flushed by __napi_poll); poll 2: 36
    expect(segs(seen)).to.deep.equal([45, 19, 36]);
    expect(rig.polls).to.equal(2);
  });

  it('options must match byte for byte: a different TSval ends the merge', () => {
    const rig = new GroRig();
    const a = train(2, { len: MSS, ts: [100, 200] });
    const b = train(3, { len: MSS, ts: [101, 200], seq: 1 + 2 * MSS, id: 102 });
    const seen = rig.inject([...a, ...b]);
    expect(segs(seen)).to.deep.equal([2, 3]);
    // a different TSecr too
    const rig2 = new GroRig();
    const c = train(2, { len: MSS, ts: [100, 300], seq: 1 + 2 * MSS, id: 102 });
    expect(segs(rig2.inject([...a, ...c]))).to.deep.equal([2, 2]);
  });

  it('PSH is merged, set on the merged skb, and ends it', () => {
    const rig = new GroRig();
    const f = train(5, { len: MSS });
    f[2] = seg({ seq: 1 + 2 * MSS, len: MSS, id: 102, flags: TH_ACK | TH_PSH });
    const seen = rig.inject(f);
    expect(segs(seen)).to.deep.equal([3, 2]);
    expect(seen[0].frame[14 + 20 + 13]).to.equal(TH_ACK | TH_PSH);
    expect(seen[1].frame[14 + 20 + 13]).to.equal(TH_ACK);
  });

  for (const [name, flag] of [['URG', TH_URG], ['RST', TH_RST], ['SYN', TH_SYN], ['FIN', TH_FIN]] as const) {
    it(`${name} ends the flow`, () => {
      const rig = new GroRig();
      const f = train(4, { len: MSS });
      f[1] = seg({ seq: 1 + MSS, len: MSS, id: 101, flags: TH_ACK | flag });
      const seen = rig.inject(f);
      // FIN is one of the bits merged in (like PSH); URG/RST/SYN differ in the flag word: no merge
      expect(segs(seen)).to.deep.equal(flag === TH_FIN ? [2, 2] : [1, 1, 2]);
    });
  }

  it('CWR on a new segment completes the held skb; the CWR segment heads the next one (SKB_GSO_TCP_ECN)', () => {
    const rig = new GroRig();
    const f = train(5, { len: MSS });
    f[2] = seg({ seq: 1 + 2 * MSS, len: MSS, id: 102, flags: TH_ACK | TH_CWR });
    const seen = rig.inject(f);
    expect(segs(seen)).to.deep.equal([2, 3]);
    expect(seen[1].gso_type).to.equal(SKB_GSO_TCPV4 | SKB_GSO_TCP_ECN);
  });

  it('an ECE change, a window change and an ACK number change each end the merge', () => {
    for (const alt of [{ flags: TH_ACK | TH_ECE }, { window: 600 }, { ack: 2000 }]) {
      const rig = new GroRig();
      const f = train(4, { len: MSS });
      f[2] = seg({ seq: 1 + 2 * MSS, len: MSS, id: 102, ...alt });
      f[3] = seg({ seq: 1 + 3 * MSS, len: MSS, id: 103, ...alt });
      expect(segs(rig.inject(f)), JSON.stringify(alt)).to.deep.equal([2, 2]);
    }
  });

  it('a segment shorter than the mss is merged and ends the skb; a longer one is not merged', () => {
    const rig = new GroRig();
    const f = [
      seg({ seq: 1, len: MSS, id: 1 }),
      seg({ seq: 1 + MSS, len: MSS, id: 2 }),
      seg({ seq: 1 + 2 * MSS, len: 1000, id: 3 }),
      seg({ seq: 1 + 2 * MSS + 1000, len: MSS, id: 4 }),
    ];
    expect(segs(rig.inject(f))).to.deep.equal([3, 1]);
    const rig2 = new GroRig();
    const g = [seg({ seq: 1, len: 1000, id: 1 }), seg({ seq: 1001, len: MSS, id: 2 }), seg({ seq: 1001 + MSS, len: MSS, id: 3 })];
    const seen = rig2.inject(g);
    expect(segs(seen)).to.deep.equal([1, 2]);
    expect(seen[1].gso_size).to.equal(MSS);
  });

  it('a pure ACK is never held and completes the held skb of its flow', () => {
    const rig = new GroRig();
    const f = [...train(2, { len: MSS }), seg({ seq: 1 + 2 * MSS, len: 0, id: 102 }), seg({ seq: 1 + 2 * MSS, len: MSS, id: 103 })];
    const seen = rig.inject(f);
    // the ACK goes on rx_list right after the completed head; the last segment is held to the end
    expect(segs(seen)).to.deep.equal([2, 1, 1]);
    expect(seen[1].len).to.equal(52);
  });

  it('out of order: the held skb is completed, the late segment is not merged', () => {
    const rig = new GroRig();
    const [s1, s2, s3, s4] = train(4, { len: MSS });
    const seen = rig.inject([s1, s2, s4, s3]);
    expect(segs(seen)).to.deep.equal([2, 1, 1]);
    expect(seen.map(seqOf)).to.deep.equal([1, 1 + 3 * MSS, 1 + 2 * MSS]);
  });

  it('interleaved flows: 8 held per bucket (all in bucket 0 without a hash)', () => {
    const flows = (n: number): Uint8Array[] => {
      const out: Uint8Array[] = [];
      for (let k = 0; k < 3; k++) for (let i = 0; i < n; i++) out.push(seg({ sport: 30000 + i, seq: 1 + k * MSS, len: MSS, id: k }));
      return out;
    };
    const rig = new GroRig();
    const eight = rig.inject(flows(8));
    expect(segs(eight)).to.deep.equal(new Array(8).fill(3));
    // a 9th flow evicts the oldest each time: nothing merges
    const rig9 = new GroRig();
    const nine = rig9.inject(flows(9));
    expect(segs(nine)).to.deep.equal(new Array(27).fill(1));
    expect(napi_gro_stats(rig9.napi)!.merged).to.equal(0);
    // with a device hash, flows spread over the 8 buckets (16 flows, 2 per bucket): all merge
    const righ = new GroRig();
    righ.rxHook = (skb) => {
      skb.hash = be16(skb.buf, 34) - 30000;
    };
    const hashed = righ.inject(flows(16));
    expect(segs(hashed)).to.deep.equal(new Array(16).fill(3));
    // napi_gro_flush goes bucket by bucket, oldest first
    expect(hashed.map((s) => be16(s.frame, 34) - 30000)).to.deep.equal([0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15]);
  });

  it('IPv4 ID: incrementing merges; without DF a repeated ID does not', () => {
    const rig = new GroRig();
    expect(segs(rig.inject(train(4, { len: MSS, df: false })))).to.deep.equal([4]);
    const rig2 = new GroRig();
    const f = [1, 2, 3].map((k) => seg({ seq: 1 + (k - 1) * MSS, len: MSS, id: 7, df: false }));
    expect(segs(rig2.inject(f))).to.deep.equal([1, 1, 1]);
  });

  it('IPv4 ID with DF: a fixed ID merges as SKB_GSO_TCP_FIXEDID; fixed then incrementing breaks; a jump breaks', () => {
    const rig = new GroRig();
    const fixed = [0, 1, 2, 3].map((k) => seg({ seq: 1 + k * MSS, len: MSS, id: 0 }));
    const s = rig.inject(fixed);
    expect(segs(s)).to.deep.equal([4]);
    expect(s[0].gso_type).to.equal(SKB_GSO_TCPV4 | SKB_GSO_TCP_FIXEDID);
    const rig2 = new GroRig();
    const mixed = [5, 5, 6, 7].map((id, k) => seg({ seq: 1 + k * MSS, len: MSS, id }));
    expect(segs(rig2.inject(mixed))).to.deep.equal([2, 2]);
    const rig3 = new GroRig();
    const jump = [5, 6, 9, 10].map((id, k) => seg({ seq: 1 + k * MSS, len: MSS, id }));
    expect(segs(rig3.inject(jump))).to.deep.equal([2, 2]);
  });

  it('IPv4: a TTL, TOS or DF change ends the merge; fragments, IP options and padding are passed up unmerged', () => {
    for (const alt of [{ ttl: 63 }, { tos: 0x10 }, { df: false }]) {
      const rig = new GroRig();
      const f = train(4, { len: MSS });
      f[2] = seg({ seq: 1 + 2 * MSS, len: MSS, id: 102, ...alt });
      f[3] = seg({ seq: 1 + 3 * MSS, len: MSS, id: 103, ...alt });
      expect(segs(rig.inject(f)), JSON.stringify(alt)).to.deep.equal([2, 2]);
    }
    for (const odd of [{ frag: 0x2000 }, { ipopt: true }, { pad: 6 }]) {
      const rig = new GroRig();
      const f = train(3, { len: MSS });
      f[1] = seg({ seq: 1 + MSS, len: MSS, id: 101, ...odd });
      const seen = rig.inject(f);
      expect(segs(seen), JSON.stringify(odd)).to.deep.equal([1, 1, 1]);
      // a fragment or a header with options leaves inet_gro_receive before the flow loop: it goes up
      // at once and the head stays held (the third segment then completes it: seq gap). Padding is
      // seen inside the loop: its flush marks the head, which is completed first.
      expect(seen.map(seqOf), JSON.stringify(odd)).to.deep.equal(
        odd.pad ? [1, 1 + MSS, 1 + 2 * MSS] : [1 + MSS, 1, 1 + 2 * MSS],
      );
    }
  });

  it('a bad TCP checksum (CHECKSUM_NONE) is not merged and stays unvalidated; a good one becomes CHECKSUM_UNNECESSARY', () => {
    const rig = new GroRig();
    const f = train(3, { len: MSS });
    f[2] = seg({ seq: 1 + 2 * MSS, len: MSS, id: 102, badTcpCsum: true });
    const seen = rig.inject(f);
    expect(segs(seen)).to.deep.equal([1, 2]);
    expect(seen[0].ip_summed).to.equal(CHECKSUM_NONE);
    const rig2 = new GroRig();
    const one = rig2.inject([seg({ seq: 1, len: 100 })]);
    expect(one[0].ip_summed).to.equal(CHECKSUM_UNNECESSARY);
    // CHECKSUM_PARTIAL from the guest (virtio NEEDS_CSUM) is not checked: a garbage field still merges
    const rig3 = new GroRig();
    rig3.rxHook = (skb) => {
      skb.ip_summed = CHECKSUM_PARTIAL;
      skb.csum_start = skb.data + 14 + 20;
      skb.csum_offset = 16;
    };
    const g = train(3, { len: MSS, badTcpCsum: true });
    expect(segs(rig3.inject(g))).to.deep.equal([3]);
  });

  it('non-TCP frames pass through unchanged, ahead of held segments; UDP is not merged (no UDP_GRO socket)', () => {
    const rig = new GroRig();
    const a = arp();
    const u1 = udp4(1234, 53, 100);
    const u2 = udp4(1234, 53, 100);
    const bad = udp4(1234, 53, 100, true);
    const t = train(2, { len: MSS });
    const seen = rig.inject([t[0], a, u1, t[1], u2, bad]);
    expect(seen.length).to.equal(5);
    expect(Array.from(seen[0].frame)).to.deep.equal(Array.from(a));
    expect(Array.from(seen[1].frame)).to.deep.equal(Array.from(u1));
    expect(seen[1].ip_summed).to.equal(CHECKSUM_UNNECESSARY);
    expect(Array.from(seen[2].frame)).to.deep.equal(Array.from(u2));
    expect(seen[3].ip_summed).to.equal(CHECKSUM_NONE);
    expect(segs(seen)).to.deep.equal([1, 1, 1, 1, 2]);
  });

  it('held packets go up at the end of the poll (napi_complete_done), after the batch, as pool copies', () => {
    const rig = new GroRig();
    const f = seg({ seq: 1, len: 200 });
    const orig = f.slice();
    let inBatch = -1;
    rig.stack.dev_add_pack(0x0806, () => {
      inBatch = rig.seen.length;
    });
    const seen = rig.inject([f, arp()]);
    expect(inBatch).to.equal(1); // the ARP was delivered first, the TCP segment was still held
    expect(seen.length).to.equal(2);
    expect(seen[1].pool).to.equal(true); // detached from the device's memory at the end of the batch
    expect(Array.from(seen[1].frame)).to.deep.equal(Array.from(orig));
    expect(rig.napi.gro_bitmask).to.equal(0);
    expect(rig.stack.pool.available).to.equal(rig.stack.pool.slabs);
  });

  it('gro_flush_timeout: a packet held in this jiffy stays past napi_complete_done until the timer polls again', () => {
    const rig = new GroRig();
    rig.dev.gro_flush_timeout = 2_000_000; // 2 ms
    const f = seg({ seq: 1, len: 300 });
    const orig = f.slice();
    const seen = rig.inject([f]);
    expect(seen.length).to.equal(0);
    f.fill(0xee); // the device reuses its buffer: the held copy must not change
    rig.advance(1);
    expect(rig.seen.length).to.equal(0);
    rig.advance(1);
    expect(rig.seen.length).to.equal(1);
    expect(Array.from(rig.seen[0].frame)).to.deep.equal(Array.from(orig));
    expect(rig.polls).to.equal(2);
  });

  it('gro_flush_timeout: a segment in the next poll of the same jiffy merges into the held copy', () => {
    const rig = new GroRig();
    rig.dev.gro_flush_timeout = 2_000_000;
    const [a, b, c] = train(3, { len: MSS });
    rig.inject([a]);
    a.fill(0); // the device reuses the buffer
    rig.advance(1);
    rig.inject([b, c]);
    expect(rig.seen.length).to.equal(0);
    rig.advance(3);
    expect(segs(rig.seen)).to.deep.equal([3]);
    const f = rig.seen[0].frame;
    for (let i = 0; i < 3 * MSS; i += 101) expect(f[14 + 52 + i]).to.equal((1 + i) & 255);
    expect([rig.stack.bigPool.available, rig.stack.pool.available]).to.deep.equal([rig.stack.bigPool.slabs, rig.stack.pool.slabs]);
  });

  it('gro off (ethtool -K gro off): every segment goes up as it came', () => {
    const rig = new GroRig();
    netif_set_gro(rig.dev, false);
    const f = train(5, { len: MSS });
    const seen = rig.inject(f);
    expect(segs(seen)).to.deep.equal([1, 1, 1, 1, 1]);
    expect(seen.every((s) => s.gso_size === 0 && !s.pool)).to.equal(true);
    expect(rig.stack.softnet[0].processed).to.equal(5);
  });

  it('GSO input: a trusted TCP GSO skb merges by gso_size (count += gso_segs); a guest\'s (DODGY) one is passed up', () => {
    const rig = new GroRig();
    rig.rxHook = (skb) => {
      skb.gso_size = MSS;
      skb.gso_segs = 3;
      skb.gso_type = SKB_GSO_TCPV4;
    };
    // each GSO skb stands for 3 segments: without DF the IP ID must be the head's + count (with DF,
    // 6.1's atomic rule only accepts a delta of 0, or of 1 on the second single segment)
    const gso = [0, 1, 2].map((k) => seg({ seq: 1 + k * 3 * MSS, len: 3 * MSS, id: 100 + 3 * k, df: false }));
    const seen = rig.inject(gso);
    expect(seen.map((s) => [s.gso_size, s.gso_segs])).to.deep.equal([[MSS, 9]]);
    expect(seen[0].len).to.equal(52 + 9 * MSS);
    const rig2 = new GroRig();
    rig2.rxHook = (skb) => {
      skb.gso_size = MSS;
      skb.gso_segs = 0;
      skb.gso_type = SKB_GSO_TCPV4 | SKB_GSO_DODGY;
    };
    const dodgy = rig2.inject(train(3, { len: 3 * MSS }));
    expect(dodgy.length).to.equal(3);
    expect(dodgy.every((s) => s.gso_type === (SKB_GSO_TCPV4 | SKB_GSO_DODGY) && !s.pool)).to.equal(true);
  });

  it('pool exhaustion: merges that find no big slab pass segments up unmerged, nothing lost or leaked', () => {
    const rig = new GroRig({ weight: 64, pool: { bigSlabs: 1, slabs: 4 } });
    const f: Uint8Array[] = [];
    for (let k = 0; k < 6; k++) for (const sport of [1, 2, 3]) f.push(seg({ sport, seq: 1 + k * MSS, len: MSS, id: k }));
    const seen = rig.inject(f);
    expect(segs(seen).reduce((a, b) => a + b, 0)).to.equal(18);
    expect(napi_gro_stats(rig.napi)!.alloc_failures).to.be.greaterThan(0);
    expect(rig.stack.exceptions).to.equal(0);
    expect([rig.stack.bigPool.available, rig.stack.pool.available]).to.deep.equal([1, 4]);
  });

  it('malformed TCP/IP headers never throw and pass up unmerged', () => {
    const rig = new GroRig();
    const good = seg({ seq: 1, len: 100 });
    const cut = good.slice(0, 14 + 20 + 10); // TCP header cut short
    const doffBig = seg({ seq: 1, len: 10, ts: null });
    doffBig[14 + 20 + 12] = 0xf0; // a 60-byte header in a 30-byte segment
    const tiny = good.slice(0, 14 + 30); // tot_len says more than arrived
    const doffSmall = good.slice();
    doffSmall[14 + 20 + 12] = 0x30;
    const v6short = seg({ v6: true, seq: 1, len: 10 }).slice(0, 14 + 30);
    const frames = [cut, doffBig, tiny, doffSmall, v6short, new Uint8Array(14)];
    frames[5][12] = 0x08;
    const seen = rig.inject(frames);
    expect(seen.length).to.equal(6);
    expect(rig.stack.exceptions).to.equal(0);
  });
});

describe('GRO: TCP over IPv6 (ipv6_gro_receive, tcp6_gro_receive)', () => {
  it('merges a train; payload_len and the pseudo-header check are rewritten, SKB_GSO_TCPV6', () => {
    const rig = new GroRig();
    const seen = rig.inject(train(10, { v6: true, len: 1428 }));
    expect(segs(seen)).to.deep.equal([10]);
    const s = seen[0];
    expect([s.gso_size, s.gso_type, s.ip_summed, s.csum_start]).to.deep.equal([1428, SKB_GSO_TCPV6, CHECKSUM_PARTIAL, 40]);
    const l4 = 32 + 10 * 1428;
    expect(be16(s.frame, 18)).to.equal(l4);
    const f = s.frame;
    const pseudo = [...f.subarray(22, 54), 0, 0, l4 >>> 8, l4 & 255, 0, 0, 0, 6];
    expect(be16(f, 54 + 16)).to.equal(sum16(pseudo));
  });

  it('a hop limit or traffic class change flushes; a flow label change is another flow', () => {
    for (const alt of [{ hop: 63 }, { tclass: 4 }]) {
      const rig = new GroRig();
      const f = train(4, { v6: true, len: MSS });
      f[2] = seg({ v6: true, seq: 1 + 2 * MSS, len: MSS, ...alt });
      f[3] = seg({ v6: true, seq: 1 + 3 * MSS, len: MSS, ...alt });
      expect(segs(rig.inject(f)), JSON.stringify(alt)).to.deep.equal([2, 2]);
    }
    const rig = new GroRig();
    const f = train(4, { v6: true, len: MSS });
    f[2] = seg({ v6: true, seq: 1 + 2 * MSS, len: MSS, flowlabel: 5 });
    // the label-5 segment is held as a flow of its own; the 4th continues nothing (seq gap): 3 held
    expect(segs(rig.inject(f))).to.deep.equal([2, 1, 1]);
  });
});

describe('GRO: counting up the stack', () => {
  it('a 45-segment aggregate passes netif_receive_skb and ip_rcv once (processed, InReceives, InOctets)', () => {
    const link = new TestLink();
    const mib = link.stack.mib;
    const before = [link.stack.softnet[0].processed, mib.Ip.InReceives, mib.IpExt.InOctets];
    link.inject(...train(45, { len: MSS }));
    expect([link.stack.softnet[0].processed - before[0], mib.Ip.InReceives - before[1], mib.IpExt.InOctets - before[2]]).to.deep.equal([
      1, 1, 52 + 45 * MSS,
    ]);
    expect(link.stack.exceptions).to.equal(0);
  });
});
