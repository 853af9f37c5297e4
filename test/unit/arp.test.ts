// ARP and the neighbour table through the NetStack: replies for the model's addresses, learning,
// resolution with a bounded unresolved queue, retries and failure, STALE → DELAY → PROBE, GARP,
// conflicts and the table bound. Time is virtual.
import { expect } from 'chai';
import { defaultInetConfig } from '../../kernel-model/ipv4/config';
import {
  NUD_DELAY,
  NUD_FAILED,
  NUD_INCOMPLETE,
  NUD_PROBE,
  NUD_REACHABLE,
  NUD_STALE,
} from '../../kernel-model/arp/neighbour';
import { TestLink, arpFrame, dotted, hex, macAt, toHex, u16 } from './ipv4-link';

const GUEST_IP = 0x0a00020f;

/** the model sends one UDP datagram to 10.0.2.15:9 (anything that needs the guest's address) */
function sendToGuest(link: TestLink, n = 1): void {
  for (let i = 0; i < n; i++) link.inet.udpSend(0x0a000202, 5000, GUEST_IP, 9, Uint8Array.of(i & 255, 1, 2, 3));
}

describe('ARP and neighbours', () => {
  it('answers a request for 10.0.2.2 with the model MAC, byte for byte, and learns the requester as STALE', () => {
    const link = new TestLink();
    link.inject(arpFrame({ op: 1, spa: '10.0.2.15', tpa: '10.0.2.2' }));
    const out = link.take();
    expect(out.length).to.equal(1);
    expect(toHex(out[0])).to.equal(
      toHex(hex('525400123456 52550a000202 0806 0001 0800 0604 0002 52550a000202 0a000202 525400123456 0a00020f')),
    );
    const n = link.inet.neigh.lookup(GUEST_IP)!;
    expect(n.nud_state).to.equal(NUD_STALE);
    expect(n.ha).to.equal(0x525400123456);
    expect(link.inet.ind.arpStats.InRequestsForUs).to.equal(1);
    expect(link.inet.ind.arpStats.OutReplies).to.equal(1);
  });

  it('answers for the DNS address 10.0.2.3 too, and for a request padded to 60 bytes', () => {
    const link = new TestLink();
    const padded = new Uint8Array(60);
    padded.set(arpFrame({ op: 1, spa: '10.0.2.15', tpa: '10.0.2.3' }));
    link.inject(padded);
    const out = link.take();
    expect(out.length).to.equal(1);
    expect(out[0].length).to.equal(42);
    expect(dotted(out[0], 28)).to.equal('10.0.2.3');
  });

  it('ignores requests for other addresses and creates no entry for them (arp_accept = 0)', () => {
    const link = new TestLink();
    link.inject(arpFrame({ op: 1, spa: '10.0.2.15', tpa: '10.0.2.99' }));
    link.inject(arpFrame({ op: 2, dstMac: '52:55:0a:00:02:02', spa: '10.0.2.15', tha: '52:55:0a:00:02:02', tpa: '10.0.2.2' }));
    expect(link.take().length).to.equal(0);
    expect(link.inet.neigh.size).to.equal(0);
  });

  it('defends its address against a duplicate address detection probe (sender 0.0.0.0)', () => {
    const link = new TestLink();
    link.inject(arpFrame({ op: 1, spa: '0.0.0.0', tpa: '10.0.2.2' }));
    const out = link.take();
    expect(out.length).to.equal(1);
    expect([macAt(out[0], 0), u16(out[0], 20), dotted(out[0], 28), dotted(out[0], 38)]).to.deep.equal([
      '52:54:00:12:34:56', 2, '10.0.2.2', '0.0.0.0',
    ]);
    link.inject(arpFrame({ op: 1, spa: '0.0.0.0', tpa: '10.0.2.15' }));
    expect(link.take().length).to.equal(0);
  });

  it('resolves an unknown guest: broadcast request from the packet source, queue, flush on the reply', () => {
    const link = new TestLink();
    sendToGuest(link, 3);
    const out = link.take();
    expect(out.length).to.equal(1);
    expect(toHex(out[0])).to.equal(
      toHex(hex('ffffffffffff 52550a000202 0806 0001 0800 0604 0001 52550a000202 0a000202 000000000000 0a00020f')),
    );
    expect(link.inet.neigh.lookup(GUEST_IP)!.nud_state).to.equal(NUD_INCOMPLETE);
    link.inject(arpFrame({ op: 2, dstMac: '52:55:0a:00:02:02', spa: '10.0.2.15', tha: '52:55:0a:00:02:02', tpa: '10.0.2.2' }));
    const sent = link.take();
    expect(sent.length).to.equal(3);
    expect(sent.map((f) => [macAt(f, 0), u16(f, 12), f[42]])).to.deep.equal([
      ['52:54:00:12:34:56', 0x0800, 0],
      ['52:54:00:12:34:56', 0x0800, 1],
      ['52:54:00:12:34:56', 0x0800, 2],
    ]);
    expect(link.inet.neigh.lookup(GUEST_IP)!.nud_state).to.equal(NUD_REACHABLE);
    sendToGuest(link);
    expect(link.take().length).to.equal(1); // no new request once resolved
  });

  it('retries every second, gives up after 3 broadcast requests and drops the queue (res_failed)', () => {
    const link = new TestLink();
    sendToGuest(link, 2);
    expect(link.take().length).to.equal(1);
    link.advance(1000);
    expect(link.take().length).to.equal(1);
    link.advance(1000);
    expect(link.take().length).to.equal(1);
    link.advance(1000);
    expect(link.take().length).to.equal(0);
    const n = link.inet.neigh.lookup(GUEST_IP)!;
    expect(n.nud_state).to.equal(NUD_FAILED);
    expect(n.arp_queue.length).to.equal(0);
    expect(link.inet.neigh.stats.res_failed).to.equal(1);
    expect(link.stack.pool.available).to.equal(link.stack.pool.slabs); // the queued skbs went back
    // a new packet starts resolution again
    sendToGuest(link);
    expect(link.take().length).to.equal(1);
    expect(n.nud_state).to.equal(NUD_INCOMPLETE);
  });

  it('bounds the unresolved queue to unres_qlen_bytes (101 frames), dropping the oldest', () => {
    const link = new TestLink();
    sendToGuest(link, 150);
    link.take();
    const n = link.inet.neigh.lookup(GUEST_IP)!;
    expect(n.arp_queue.length).to.equal(101);
    expect(link.inet.neigh.stats.unresolved_discards).to.equal(49);
    link.inject(arpFrame({ op: 2, dstMac: '52:55:0a:00:02:02', spa: '10.0.2.15', tha: '52:55:0a:00:02:02', tpa: '10.0.2.2' }));
    const sent = link.take();
    expect(sent.length).to.equal(101);
    expect(sent[0][42]).to.equal(49); // the 49 oldest were dropped
  });

  it('uses a STALE entry at once, then DELAY 5 s, then probes by unicast; a reply makes it REACHABLE', () => {
    const link = new TestLink();
    link.inject(arpFrame({ op: 1, spa: '10.0.2.15', tpa: '10.0.2.2' }));
    link.take();
    sendToGuest(link);
    let out = link.take();
    expect(out.length).to.equal(1);
    expect(u16(out[0], 12)).to.equal(0x0800);
    const n = link.inet.neigh.lookup(GUEST_IP)!;
    expect(n.nud_state).to.equal(NUD_DELAY);
    link.advance(5000);
    out = link.take();
    expect(n.nud_state).to.equal(NUD_PROBE);
    expect(out.length).to.equal(1);
    expect([macAt(out[0], 0), u16(out[0], 20), macAt(out[0], 32)]).to.deep.equal(['52:54:00:12:34:56', 1, '00:00:00:00:00:00']);
    link.inject(arpFrame({ op: 2, dstMac: '52:55:0a:00:02:02', spa: '10.0.2.15', tha: '52:55:0a:00:02:02', tpa: '10.0.2.2' }));
    expect(n.nud_state).to.equal(NUD_REACHABLE);
    // unused, a REACHABLE entry goes STALE within base_reachable_time·1.5
    link.advance(45_001);
    expect(n.nud_state).to.equal(NUD_STALE);
  });

  it('updates an entry from a gratuitous ARP with a new MAC; a plain unsolicited reply within locktime does not override', () => {
    const link = new TestLink();
    link.inject(arpFrame({ op: 1, spa: '10.0.2.15', tpa: '10.0.2.2' }));
    link.take();
    const n = link.inet.neigh.lookup(GUEST_IP)!;
    link.inject(arpFrame({ op: 2, dstMac: '52:55:0a:00:02:02', sha: '52:54:00:00:00:99', spa: '10.0.2.15', tha: '52:55:0a:00:02:02', tpa: '10.0.2.2' }));
    expect(n.ha).to.equal(0x525400123456); // within locktime (1 s), no override
    link.inject(arpFrame({ op: 1, sha: '52:54:00:00:00:77', spa: '10.0.2.15', tpa: '10.0.2.15' }));
    expect(n.ha).to.equal(0x525400000077);
    expect(link.inet.ind.arpStats.InGratuitous).to.equal(1);
  });

  it('reports a host claiming one of our addresses and learns nothing from it', () => {
    const link = new TestLink();
    link.inject(arpFrame({ op: 1, spa: '10.0.2.2', tpa: '10.0.2.2' }));
    expect(link.take().length).to.equal(0);
    expect(link.inet.ind.arpStats.InConflicts).to.equal(1);
    expect(link.inet.neigh.size).to.equal(0);
    expect(link.log.lines.some((l) => l.includes('claims our address 10.0.2.2'))).to.equal(true);
  });

  it('announces its addresses with gratuitous requests (sender = target) on demand', () => {
    const link = new TestLink();
    link.inet.announce();
    const out = link.take();
    expect(out.map((f) => toHex(f))).to.deep.equal([
      toHex(hex('ffffffffffff 52550a000202 0806 0001 0800 0604 0001 52550a000202 0a000202 000000000000 0a000202')),
      toHex(hex('ffffffffffff 52550a000202 0806 0001 0800 0604 0001 52550a000202 0a000203 000000000000 0a000203')),
    ]);
  });

  it('never holds more than gc_thresh3 entries, however many senders ask', () => {
    const link = new TestLink(defaultInetConfig(), { neigh: { gc_thresh1: 2, gc_thresh2: 4, gc_thresh3: 8 } });
    for (let i = 0; i < 40; i++) {
      link.inject(arpFrame({ op: 1, sha: `52:54:00:00:01:${(i + 16).toString(16)}`, spa: `10.0.2.${100 + i}`, tpa: '10.0.2.2' }));
      if (i % 10 === 9) link.advance(6000);
    }
    expect(link.inet.neigh.size).to.be.at.most(8);
    expect(link.inet.neigh.stats.forced_gc_runs).to.be.greaterThan(0);
    expect(link.take().length).to.equal(40); // every request was still answered
  });
});
