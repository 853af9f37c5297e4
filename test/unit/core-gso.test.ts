// Software GSO (tcp_gso_segment via skb_gso_segment / validate_xmit_skb) byte for byte: super-frames
// built here by hand (independent of wire/ and the TCP model) are cut into MSS segments whose lengths,
// IPv4 IDs, sequence numbers, flags and checksums are checked with a slow RFC 1071 sum; devices with
// and without TSO / checksum offload; a driver that refuses a segment half-way (the rest is requeued
// and sent in order); malformed GSO skbs dropped and counted; tbf_segment.
import { expect } from 'chai';
import { VirtualTimeScheduler } from 'rxjs';
import { NetStack } from '../../kernel-model/core/stack';
import {
  NETDEV_TX_BUSY,
  NETDEV_TX_OK,
  NETIF_F_HW_CSUM,
  NETIF_F_SG,
  NETIF_F_SOFT_FEATURES,
  NETIF_F_TSO,
  NETIF_F_TSO6,
  type NetDevice,
  type NetDeviceOps,
} from '../../kernel-model/core/netdevice';
import { silentLogger } from '../../kernel-model/core/log';
import { CHECKSUM_NONE, CHECKSUM_PARTIAL, SKB_GSO_TCPV4, SKB_GSO_TCPV6, type Skb } from '../../kernel-model/core/skb';
import { SKB_GSO_TCP_FIXEDID, net_gso_ok, skb_checksum_help, skb_gso_segment } from '../../kernel-model/core/gso';
import { TbfQdisc } from '../../kernel-model/sched/sch_tbf';
import { slowChecksum } from './ipv4-link';

const MSS = 1448;

interface Sent {
  bytes: Uint8Array;
  gso_size: number;
  gso_segs: number;
  ip_summed: number;
  csum_start: number;
  csum_offset: number;
}

class Nic implements NetDeviceOps {
  readonly sched = new VirtualTimeScheduler();
  readonly stack = new NetStack({ scheduler: this.sched, log: silentLogger });
  readonly dev: NetDevice;
  readonly sent: Sent[] = [];
  /** answer NETDEV_TX_BUSY to the frame with this index (counting accepted ones), once */
  busyAt = -1;
  constructor(features = NETIF_F_SOFT_FEATURES) {
    this.dev = this.stack.register_netdev(this);
    this.dev.features = features;
  }
  ndo_start_xmit(skb: Skb): number {
    if (this.sent.length === this.busyAt) {
      this.busyAt = -1;
      this.dev.netif_stop_queue();
      return NETDEV_TX_BUSY;
    }
    this.sent.push({
      bytes: skb.buf.slice(skb.data, skb.data + skb.len),
      gso_size: skb.gso_size,
      gso_segs: skb.gso_segs,
      ip_summed: skb.ip_summed,
      csum_start: skb.csum_start - skb.data,
      csum_offset: skb.csum_offset,
    });
    return NETDEV_TX_OK;
  }
}

const SEQ = 0xfffff000; // wraps inside the super-frame
const OPTS = [1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9]; // NOP NOP TS

function payloadByte(i: number): number {
  return (i * 7 + 3) & 0xff;
}

/** pseudo header + TCP bytes, as RFC 793 sums them (IPv4 or IPv6) */
function tcpChecksumOk(f: Uint8Array, v6: boolean): boolean {
  if (v6) {
    const plen = (f[18] << 8) | f[19];
    const l4 = f.subarray(54, 54 + plen);
    const pseudo = [...f.subarray(22, 54), 0, 0, plen >> 8, plen & 255, 0, 0, 0, 6];
    return slowChecksum([pseudo, l4]) === 0;
  }
  const tot = (f[16] << 8) | f[17];
  const l4 = f.subarray(34, 14 + tot);
  return slowChecksum([[...f.subarray(26, 34), 0, 6, l4.length >> 8, l4.length & 255], l4]) === 0;
}

/**
 * A TCP super-frame in a pooled skb, as the TCP stack hands it down: Ethernet, IPv4 (ID 0x1234, DF)
 * or IPv6, TCP with timestamps and `flags`, `payload` bytes, CHECKSUM_PARTIAL with the pseudo-header
 * sum in the field.
 */
function superFrame(stack: NetStack, dev: NetDevice, payload: number, flags: number, o: { v6?: boolean; fixedid?: boolean; mss?: number } = {}): Skb {
  const v6 = o.v6 ?? false;
  const nhl = v6 ? 40 : 20;
  const thl = 20 + OPTS.length;
  const len = 14 + nhl + thl + payload;
  const skb = stack.alloc_skb(len)!;
  const at = skb.put(len);
  const b = skb.buf;
  b.fill(0, at, at + len);
  b.set([0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x52, 0x55, 0x0a, 0, 2, 2], at);
  const nh = at + 14;
  if (v6) {
    b[at + 12] = 0x86;
    b[at + 13] = 0xdd;
    b[nh] = 0x60;
    const pl = thl + payload;
    b[nh + 4] = pl >> 8;
    b[nh + 5] = pl & 255;
    b[nh + 6] = 6;
    b[nh + 7] = 64;
    b.set([0xfe, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], nh + 8);
    b.set([0xfe, 0xc0, 0, 0, 0, 0, 0, 0, 0x50, 0x54, 0, 0xff, 0xfe, 0x12, 0x34, 0x56], nh + 24);
  } else {
    b[at + 12] = 0x08;
    b[nh] = 0x45;
    const tot = len - 14;
    b[nh + 2] = tot >> 8;
    b[nh + 3] = tot & 255;
    b[nh + 4] = 0x12;
    b[nh + 5] = 0x34;
    b[nh + 6] = 0x40;
    b[nh + 8] = 64;
    b[nh + 9] = 6;
    b.set([10, 0, 2, 2, 10, 0, 2, 15], nh + 12);
    const c = slowChecksum([b.subarray(nh, nh + 20)]);
    b[nh + 10] = c >> 8;
    b[nh + 11] = c & 255;
  }
  const th = nh + nhl;
  b.set([0x1f, 0x90, 0xa0, 0x00], th);
  b[th + 4] = SEQ >>> 24;
  b[th + 5] = (SEQ >>> 16) & 255;
  b[th + 6] = (SEQ >>> 8) & 255;
  b[th + 7] = SEQ & 255;
  b.set([0, 0, 0x30, 0x39], th + 8);
  b[th + 12] = (thl / 4) << 4;
  b[th + 13] = flags;
  b[th + 14] = 0x01;
  b[th + 15] = 0xf5;
  b.set(OPTS, th + 20);
  for (let i = 0; i < payload; i++) b[th + thl + i] = payloadByte(i);
  // the pseudo-header sum, uncomplemented (~tcp_v4_check(len, s, d, 0))
  const l4len = thl + payload;
  const pseudo = v6 ? [...b.subarray(nh + 8, nh + 40), 0, 0, l4len >> 8, l4len & 255, 0, 0, 0, 6] : [...b.subarray(nh + 12, nh + 20), 0, 6, l4len >> 8, l4len & 255];
  const seed = ~slowChecksum([pseudo]) & 0xffff;
  b[th + 16] = seed >> 8;
  b[th + 17] = seed & 255;
  skb.mac_header = at;
  skb.network_header = nh;
  skb.transport_header = th;
  skb.protocol = v6 ? 0x86dd : 0x0800;
  skb.ip_summed = CHECKSUM_PARTIAL;
  skb.csum_start = th;
  skb.csum_offset = 16;
  skb.gso_size = o.mss ?? MSS;
  skb.gso_segs = Math.ceil(payload / (o.mss ?? MSS));
  skb.gso_type = (v6 ? SKB_GSO_TCPV6 : SKB_GSO_TCPV4) | (o.fixedid ? SKB_GSO_TCP_FIXEDID : 0);
  skb.dev = dev;
  return skb;
}

const u16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];
const u32 = (b: Uint8Array, o: number): number => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

/** check segment k of an IPv4 super-frame with `payload` bytes and `flags` */
function checkV4Segment(f: Uint8Array, k: number, n: number, payload: number, flags: number, o: { fixedid?: boolean; full?: boolean } = {}): void {
  const thl = 20 + OPTS.length;
  const plen = Math.min(MSS, payload - k * MSS);
  expect(f.length, `segment ${k} length`).to.equal(14 + 20 + thl + plen);
  expect(u16(f, 16), 'tot_len').to.equal(20 + thl + plen);
  expect(u16(f, 18), 'IP ID').to.equal(o.fixedid ? 0x1234 : 0x1234 + k);
  expect(slowChecksum([f.subarray(14, 34)]), 'IPv4 header checksum').to.equal(0);
  expect(u32(f, 38), 'seq').to.equal((SEQ + k * MSS) >>> 0);
  let want = flags;
  if (k > 0) want &= ~0x80;
  if (k < n - 1) want &= ~0x09;
  expect(f[47], `flags of segment ${k}`).to.equal(want);
  if (o.full !== false) expect(tcpChecksumOk(f, false), `TCP checksum of segment ${k}`).to.equal(true);
  expect(Array.from(f.subarray(34, 34 + thl - 0).subarray(20)), 'options').to.deep.equal(OPTS);
  for (let i = 0; i < plen; i++) {
    if (f[14 + 20 + thl + i] !== payloadByte(k * MSS + i)) throw new Error(`segment ${k} payload byte ${i} differs`);
  }
}

const PAYLOAD = 3 * MSS + 100;
const FLAGS = 0x80 | 0x10 | 0x08 | 0x01; // CWR ACK PSH FIN

describe('core: software GSO (tcp_gso_segment, validate_xmit_skb)', () => {

  it('net_gso_ok: every gso_type bit needs its NETIF_F_ bit', () => {
    expect(net_gso_ok(NETIF_F_TSO, SKB_GSO_TCPV4)).to.equal(true);
    expect(net_gso_ok(NETIF_F_TSO, SKB_GSO_TCPV6)).to.equal(false);
    expect(net_gso_ok(NETIF_F_TSO | NETIF_F_TSO6, SKB_GSO_TCPV6)).to.equal(true);
    expect(net_gso_ok(NETIF_F_TSO, SKB_GSO_TCPV4 | SKB_GSO_TCP_FIXEDID)).to.equal(false);
    expect(net_gso_ok(NETIF_F_SOFT_FEATURES, SKB_GSO_TCPV4)).to.equal(false);
  });

  it('a device without TSO gets MSS segments: lengths, IDs +1, seq, CWR first / PSH+FIN last, checksums', () => {
    const nic = new Nic();
    const rc = nic.stack.dev_queue_xmit(superFrame(nic.stack, nic.dev, PAYLOAD, FLAGS));
    expect(rc).to.equal(0);
    expect(nic.sent.length).to.equal(4);
    nic.sent.forEach((s, k) => {
      expect(s.gso_size).to.equal(0);
      expect(s.ip_summed).to.equal(CHECKSUM_NONE);
      checkV4Segment(s.bytes, k, 4, PAYLOAD, FLAGS);
    });
    // the qdisc counted the super-frame as 4 packets and the headers of 3 extra segments
    const q = nic.dev.qdisc;
    expect(q.bstats.packets).to.equal(4);
    expect(q.bstats.bytes).to.equal(nic.sent.reduce((n, s) => n + s.bytes.length, 0));
    expect(nic.dev.stats.tx_dropped).to.equal(0);
  });

  it('SKB_GSO_TCP_FIXEDID keeps the IPv4 ID of every segment', () => {
    const nic = new Nic();
    nic.stack.dev_queue_xmit(superFrame(nic.stack, nic.dev, PAYLOAD, FLAGS, { fixedid: true }));
    expect(nic.sent.length).to.equal(4);
    nic.sent.forEach((s, k) => checkV4Segment(s.bytes, k, 4, PAYLOAD, FLAGS, { fixedid: true }));
  });

  it('checksum offload without TSO: segments stay CHECKSUM_PARTIAL with the per-segment pseudo header', () => {
    const nic = new Nic(NETIF_F_SOFT_FEATURES | NETIF_F_HW_CSUM | NETIF_F_SG);
    nic.stack.dev_queue_xmit(superFrame(nic.stack, nic.dev, PAYLOAD, FLAGS));
    expect(nic.sent.length).to.equal(4);
    nic.sent.forEach((s, k) => {
      expect(s.ip_summed).to.equal(CHECKSUM_PARTIAL);
      expect(s.csum_start).to.equal(34);
      expect(s.csum_offset).to.equal(16);
      expect(tcpChecksumOk(s.bytes, false)).to.equal(false);
      // finish it as a device would: the result verifies
      const stack = nic.stack;
      const skb = stack.alloc_skb(s.bytes.length)!;
      const at = skb.put(s.bytes.length);
      skb.buf.set(s.bytes, at);
      skb.ip_summed = CHECKSUM_PARTIAL;
      skb.csum_start = at + s.csum_start;
      skb.csum_offset = s.csum_offset;
      expect(skb_checksum_help(skb)).to.equal(true);
      const done = skb.buf.slice(at, at + skb.len);
      checkV4Segment(done, k, 4, PAYLOAD, FLAGS);
    });
  });

  it('a TSO device gets the super-frame whole (gso_size, gso_segs kept)', () => {
    const nic = new Nic(NETIF_F_SOFT_FEATURES | NETIF_F_HW_CSUM | NETIF_F_SG | NETIF_F_TSO);
    nic.stack.dev_queue_xmit(superFrame(nic.stack, nic.dev, PAYLOAD, FLAGS));
    expect(nic.sent.length).to.equal(1);
    expect(nic.sent[0].gso_size).to.equal(MSS);
    expect(nic.sent[0].gso_segs).to.equal(4);
    expect(nic.sent[0].bytes.length).to.equal(14 + 20 + 32 + PAYLOAD);
    // TSO for IPv4 only: an IPv6 super-frame is segmented
    nic.stack.dev_queue_xmit(superFrame(nic.stack, nic.dev, PAYLOAD, FLAGS, { v6: true }));
    expect(nic.sent.length).to.equal(5);
  });

  it('IPv6: payload length, seq, flags and the TCP checksum of each segment', () => {
    const nic = new Nic();
    nic.stack.dev_queue_xmit(superFrame(nic.stack, nic.dev, PAYLOAD, FLAGS, { v6: true }));
    expect(nic.sent.length).to.equal(4);
    nic.sent.forEach((s, k) => {
      const f = s.bytes;
      const plen = Math.min(MSS, PAYLOAD - k * MSS);
      expect(u16(f, 18)).to.equal(32 + plen);
      expect(f.length).to.equal(14 + 40 + 32 + plen);
      expect(u32(f, 54 + 4)).to.equal((SEQ + k * MSS) >>> 0);
      expect(f[54 + 13]).to.equal(k === 0 ? 0x90 : k === 3 ? 0x19 : 0x10);
      expect(tcpChecksumOk(f, true), `segment ${k}`).to.equal(true);
    });
  });

  it('a driver that refuses the third segment: the rest is requeued and sent in order after wake', () => {
    const nic = new Nic();
    nic.busyAt = 2;
    nic.stack.dev_queue_xmit(superFrame(nic.stack, nic.dev, PAYLOAD, FLAGS));
    expect(nic.sent.length).to.equal(2);
    const q = nic.dev.qdisc;
    expect(q.qlen).to.equal(1);
    expect(q.qstats.requeues).to.equal(1);
    // the requeued skb holds only segments 2 and 3: its backlog is their size
    expect(q.qstats.backlog).to.equal(2 * (14 + 20 + 32) + MSS + 100);
    nic.dev.netif_wake_queue();
    nic.sched.flush();
    expect(nic.sent.length).to.equal(4);
    nic.sent.forEach((s, k) => checkV4Segment(s.bytes, k, 4, PAYLOAD, FLAGS));
    expect(q.qlen).to.equal(0);
    expect(q.qstats.backlog).to.equal(0);
  });

  it('malformed GSO skbs are dropped and counted (tx_dropped), nothing is sent', () => {
    const nic = new Nic();
    // TCP header length past the end
    const a = superFrame(nic.stack, nic.dev, PAYLOAD, FLAGS);
    a.buf[a.transport_header + 12] = 0xf0;
    a.len = 14 + 20 + 40;
    nic.stack.dev_queue_xmit(a);
    // gso_type says IPv6, frame is IPv4
    const b = superFrame(nic.stack, nic.dev, PAYLOAD, FLAGS);
    b.gso_type = SKB_GSO_TCPV6;
    nic.stack.dev_queue_xmit(b);
    // not TCP
    const c = superFrame(nic.stack, nic.dev, PAYLOAD, FLAGS);
    c.buf[c.network_header + 9] = 17;
    nic.stack.dev_queue_xmit(c);
    expect(nic.sent.length).to.equal(0);
    expect(nic.dev.stats.tx_dropped).to.equal(3);
    // the pools got every buffer back
    expect(nic.stack.pool.available).to.equal(nic.stack.pool.slabs);
    expect(nic.stack.bigPool.available).to.equal(nic.stack.bigPool.slabs);
  });

  it('skb_gso_segment returns separate skbs and frees them all when memory runs out', () => {
    const stack = new NetStack({ scheduler: new VirtualTimeScheduler(), log: silentLogger, pool: { slabs: 3 } });
    const dev = stack.register_netdev({ ndo_start_xmit: () => NETDEV_TX_OK });
    const skb = superFrame(stack, dev, PAYLOAD, FLAGS);
    const out: Skb[] = [];
    expect(skb_gso_segment(stack, skb, 0, out)).to.be.lessThan(0);
    expect(out.length).to.equal(0);
    expect(stack.pool.available).to.equal(3);
  });
});

describe('sched: tbf_segment', () => {
  it('a GSO skb larger than max_size is segmented and its segments enqueued (not dropped)', () => {
    const nic = new Nic();
    const tbf = new TbfQdisc(nic.stack, nic.dev, { rate: 125000, burst: 3000, limit: 100000 });
    nic.dev._tx[0].qdisc = nic.dev._tx[0].qdisc_sleeping = tbf;
    tbf.dev_queue = nic.dev._tx[0];
    const skb = superFrame(nic.stack, nic.dev, PAYLOAD, FLAGS);
    expect(nic.stack.dev_queue_xmit(skb)).to.equal(0);
    const segLens = [0, 1, 2, 3].map((k) => 14 + 20 + 32 + Math.min(MSS, PAYLOAD - k * MSS));
    // one 1514-byte segment fits the 3000-byte bucket at once; the rest wait for tokens (1 Mbit/s)
    expect(tbf.qstats.drops).to.equal(0);
    expect(nic.sent.length).to.equal(1);
    expect(tbf.qlen).to.equal(3);
    expect(tbf.qstats.backlog).to.equal(segLens[1] + segLens[2] + segLens[3]);
    nic.sched.flush();
    expect(nic.sent.length).to.equal(4);
    nic.sent.forEach((s, k) => checkV4Segment(s.bytes, k, 4, PAYLOAD, FLAGS));
    expect(tbf.bstats.packets).to.equal(4);
    expect(tbf.bstats.bytes).to.equal(segLens.reduce((a, b) => a + b, 0));
    expect(tbf.qlen).to.equal(0);
    expect(tbf.qstats.backlog).to.equal(0);
  });

  it('a GSO skb whose segments exceed max_size is dropped', () => {
    const nic = new Nic();
    const tbf = new TbfQdisc(nic.stack, nic.dev, { rate: 125000, burst: 1000, limit: 100000 });
    nic.dev._tx[0].qdisc = nic.dev._tx[0].qdisc_sleeping = tbf;
    tbf.dev_queue = nic.dev._tx[0];
    nic.stack.dev_queue_xmit(superFrame(nic.stack, nic.dev, PAYLOAD, FLAGS));
    expect(tbf.qstats.drops).to.equal(1);
    expect(nic.sent.length).to.equal(0);
  });
});
