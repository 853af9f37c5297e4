// The receive pipeline: eth_type_trans stage, ptype dispatch, unknown protocol → rx_dropped, taps on
// both directions, short/malformed frames, throwing handlers. Real frames through a real NAPI.
import { expect } from 'chai';
import { VirtualTimeScheduler } from 'rxjs';
import { NetStack } from '../../kernel-model/core/stack';
import { NETDEV_TX_OK, type NetDevice, type NetDeviceOps } from '../../kernel-model/core/netdevice';
import { napi_complete_done, napi_schedule, type NapiStruct } from '../../kernel-model/core/napi';
import { ETH_HLEN, ETH_P_802_2, ETH_P_802_3, ETH_P_ARP, ETH_P_IP, ETH_P_IPV6 } from '../../kernel-model/core/eth';
import { PACKET_BROADCAST, PACKET_HOST, PACKET_MULTICAST, PACKET_OTHERHOST, type Skb } from '../../kernel-model/core/skb';
import type { Logger } from '../../kernel-model/core/log';

const GW = [0x52, 0x55, 0x0a, 0x00, 0x02, 0x02];
const GUEST = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
const BCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
const MCAST = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01];
const OTHER = [0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc];

/** an Ethernet frame placed at `offset` in a larger buffer, so absolute offsets are tested */
function frame(dst: number[], ethertype: number, payload: number[] = [], offset = 0, size = 60): { buf: Uint8Array; off: number; len: number } {
  const buf = new Uint8Array(offset + size + 8);
  buf.set(dst, offset);
  buf.set(GUEST, offset + 6);
  buf[offset + 12] = ethertype >> 8;
  buf[offset + 13] = ethertype & 0xff;
  buf.set(payload, offset + 14);
  return { buf, off: offset, len: size };
}

type Frame = { buf: Uint8Array; off: number; len: number };

class Nic implements NetDeviceOps {
  readonly dev: NetDevice;
  readonly napi: NapiStruct;
  queue: Frame[] = [];
  sent: Uint8Array[] = [];
  constructor(readonly stack: NetStack) {
    this.dev = stack.register_netdev(this);
    this.napi = this.dev.netif_napi_add((n, b) => this.poll(n, b));
  }
  ndo_start_xmit(skb: Skb): number {
    this.sent.push(skb.buf.slice(skb.data, skb.data + skb.len));
    return NETDEV_TX_OK;
  }
  receive(...frames: Frame[]): void {
    this.queue.push(...frames);
    napi_schedule(this.napi);
    (this.stack.scheduler as VirtualTimeScheduler).flush();
  }
  private poll(napi: NapiStruct, budget: number): number {
    let work = 0;
    while (work < budget && this.queue.length) {
      const f = this.queue.shift()!;
      napi.batch.next()!.reset(f.buf, f.off, f.len);
      work++;
    }
    napi.receive_batch();
    if (work < budget) napi_complete_done(napi, work);
    return work;
  }
}

function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { lines, log: { info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) } };
}

function setup() {
  const sched = new VirtualTimeScheduler();
  const cap = capture();
  const stack = new NetStack({ scheduler: sched, log: cap.log });
  const nic = new Nic(stack);
  return { sched, stack, nic, lines: cap.lines };
}

interface Seen {
  proto: number;
  pkt_type: number;
  mac: number;
  data: number;
  len: number;
  nh: number;
  iif: number;
  dev: string;
  first: number;
}

function snap(skb: Skb, dev: NetDevice): Seen {
  return {
    proto: skb.protocol,
    pkt_type: skb.pkt_type,
    mac: skb.mac_header,
    data: skb.data,
    len: skb.len,
    nh: skb.network_header,
    iif: skb.skb_iif,
    dev: dev.name,
    first: skb.buf[skb.data],
  };
}

describe('core receive pipeline', () => {
  it('parses Ethernet once (eth_type_trans) and dispatches by ethertype with Linux pkt_type', () => {
    const { stack, nic } = setup();
    const ip: Seen[] = [];
    const arp: Seen[] = [];
    stack.dev_add_pack(ETH_P_IP, (skb, dev) => ip.push(snap(skb, dev)));
    stack.dev_add_pack(ETH_P_ARP, (skb, dev) => arp.push(snap(skb, dev)));
    nic.receive(
      frame(GW, ETH_P_IP, [0x45], 10),
      frame(BCAST, ETH_P_ARP, [0x00, 0x01], 0),
      frame(MCAST, ETH_P_IP, [0x45], 3),
      frame(OTHER, ETH_P_IP, [0x45], 0),
    );
    expect(nic.dev.ifindex).to.equal(2);
    expect(ip).to.deep.equal([
      { proto: ETH_P_IP, pkt_type: PACKET_HOST, mac: 10, data: 24, len: 46, nh: 24, iif: 2, dev: 'eth0', first: 0x45 },
      { proto: ETH_P_IP, pkt_type: PACKET_MULTICAST, mac: 3, data: 17, len: 46, nh: 17, iif: 2, dev: 'eth0', first: 0x45 },
      { proto: ETH_P_IP, pkt_type: PACKET_OTHERHOST, mac: 0, data: 14, len: 46, nh: 14, iif: 2, dev: 'eth0', first: 0x45 },
    ]);
    expect(arp).to.deep.equal([{ proto: ETH_P_ARP, pkt_type: PACKET_BROADCAST, mac: 0, data: 14, len: 46, nh: 14, iif: 2, dev: 'eth0', first: 0 }]);
    expect(stack.softnet[0].processed).to.equal(4);
    expect(nic.dev.stats.rx_dropped).to.equal(0);
  });

  it('drops frames nobody handles into rx_dropped (unknown ethertype, IPv6 without a handler, 802.2/802.3)', () => {
    const { stack, nic } = setup();
    const seen: number[] = [];
    stack.dev_add_pack(ETH_P_IP, (skb) => seen.push(skb.protocol));
    nic.receive(
      frame(GW, 0x1234),
      frame(GW, ETH_P_IPV6),
      frame(GW, ETH_P_IP),
      frame(GW, 46, [0xaa, 0xaa, 0x03]), // 802.3 length field + LLC
      frame(GW, 46, [0xff, 0xff]), // raw 802.3 (IPX)
    );
    expect(seen).to.deep.equal([ETH_P_IP]);
    expect(nic.dev.stats.rx_dropped).to.equal(4);
    expect(stack.softnet[0].processed).to.equal(5);
  });

  it('classifies 802.3 length frames as ETH_P_802_2 (LLC) or ETH_P_802_3 (0xFFFF)', () => {
    const { stack, nic } = setup();
    const seen: number[] = [];
    stack.dev_add_pack(ETH_P_802_2, (skb) => seen.push(skb.protocol));
    stack.dev_add_pack(ETH_P_802_3, (skb) => seen.push(skb.protocol));
    nic.receive(frame(GW, 46, [0xaa, 0xaa, 0x03]), frame(GW, 46, [0xff, 0xff]), frame(GW, 0x05ff, [0x00]));
    expect(seen).to.deep.equal([ETH_P_802_2, ETH_P_802_3, ETH_P_802_2]);
    expect(nic.dev.stats.rx_dropped).to.equal(0);
  });

  it('counts a tap as a handler (no rx_dropped with a tap, as with tcpdump running) and shows it rx and tx', () => {
    const { stack, nic } = setup();
    const tapped: string[] = [];
    const tap = (skb: Skb, dev: NetDevice, dir: 'rx' | 'tx'): void => {
      tapped.push(`${dir} ${dev.name} mac=${skb.mac_header} len=${skb.tail - skb.mac_header}`);
    };
    stack.dev_add_tap(tap);
    nic.receive(frame(GW, 0x1234, [], 0, 60));
    expect(nic.dev.stats.rx_dropped).to.equal(0);

    const skb = stack.alloc_skb(60)!;
    const at = skb.put(60);
    skb.buf.fill(0x77, at, at + 60);
    skb.dev = nic.dev;
    expect(stack.dev_queue_xmit(skb)).to.equal(0);
    expect(tapped).to.deep.equal(['rx eth0 mac=0 len=60', `tx eth0 mac=${at} len=60`]);
    expect(nic.sent).to.have.length(1);

    stack.dev_remove_tap(tap);
    nic.receive(frame(GW, 0x1234));
    expect(nic.dev.stats.rx_dropped).to.equal(1);
    expect(tapped).to.have.length(2);
  });

  it('gives every handler the skb as it arrived even when an earlier one pulled headers', () => {
    const { stack, nic } = setup();
    const seen: number[][] = [];
    const puller = (skb: Skb): void => {
      seen.push([skb.data, skb.len]);
      skb.pull(20);
      skb.network_header = -1;
    };
    stack.dev_add_tap(puller);
    stack.dev_add_pack(ETH_P_IP, puller);
    stack.dev_add_pack(ETH_P_IP, (skb) => seen.push([skb.data, skb.len, skb.network_header]));
    nic.receive(frame(GW, ETH_P_IP));
    // tap, then the newest handler first (dev_add_pack adds at the head), then the first handler
    expect(seen).to.deep.equal([[14, 46], [14, 46, 14], [14, 46]]);
    stack.dev_remove_pack(ETH_P_IP, puller);
    nic.receive(frame(GW, ETH_P_IP));
    expect(seen).to.have.length(5);
  });

  it('drops short and out-of-buffer frames as rx_length_errors, logs once per burst, keeps the rest of the batch', () => {
    const { stack, nic, lines } = setup();
    const seen: number[] = [];
    stack.dev_add_pack(ETH_P_IP, (skb) => seen.push(skb.buf[skb.data + 4]));
    const ok = (tag: number): Frame => frame(GW, ETH_P_IP, [0x45, 0, 0, 0, tag]);
    const runt = { buf: new Uint8Array(20), off: 0, len: 13 };
    const outside = { buf: new Uint8Array(40), off: 30, len: 60 };
    const negative = { buf: new Uint8Array(80), off: -4, len: 60 };
    nic.receive(ok(1), runt, ok(2), outside, negative, ok(3));
    expect(seen).to.deep.equal([1, 2, 3]);
    expect(nic.dev.stats.rx_length_errors).to.equal(3);
    expect(nic.dev.stats.rx_errors).to.equal(3);
    expect(nic.dev.stats.rx_dropped).to.equal(0);
    expect(stack.softnet[0].processed).to.equal(3);
    expect(lines.filter((l) => l.startsWith('warn') && l.includes('short or malformed'))).to.have.length(3);
    // a flood is rate-limited: 10 lines per 5 s
    const flood = Array.from({ length: 50 }, () => ({ buf: new Uint8Array(8), off: 0, len: 8 }));
    nic.receive(...flood);
    expect(nic.dev.stats.rx_length_errors).to.equal(53);
    expect(lines.filter((l) => l.includes('short or malformed'))).to.have.length(10);
  });

  it('survives a throwing handler: counts the bug, delivers the rest, and the pipeline stays alive', () => {
    const { stack, nic, lines } = setup();
    const seen: number[] = [];
    stack.dev_add_pack(ETH_P_IP, (skb) => {
      const tag = skb.buf[skb.data];
      if (tag === 2) throw new Error('protocol bug');
      seen.push(tag);
    });
    nic.receive(frame(GW, ETH_P_IP, [1]), frame(GW, ETH_P_IP, [2]), frame(GW, ETH_P_IP, [3]));
    nic.receive(frame(GW, ETH_P_IP, [4]));
    expect(seen).to.deep.equal([1, 3, 4]);
    expect(stack.exceptions).to.equal(1);
    expect(nic.dev.stats.rx_dropped).to.equal(0); // it was delivered (Linux: the handler owned it)
    expect(lines.some((l) => l.startsWith('error') && l.includes('protocol bug'))).to.equal(true);
  });

  it('sets the receive timestamp from the scheduler when the driver did not', () => {
    const { sched, stack, nic } = setup();
    const ts: number[] = [];
    stack.dev_add_pack(ETH_P_IP, (skb) => ts.push(skb.tstamp));
    sched.schedule(() => nic.receive(frame(GW, ETH_P_IP)), 42);
    sched.flush();
    expect(ts).to.deep.equal([42]);
    expect(ETH_HLEN).to.equal(14);
  });
});
