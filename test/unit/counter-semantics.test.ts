// Counter semantics of linux-path.md §9 / §2, one rule per test, each through the whole path in
// virtual time: the guest's frames enter by NAPI → GRO → RPS → netif_receive_skb → ip_rcv →
// tcp_v4_rcv, the model's answers leave by tcp output → ip_output → dev_queue_xmit → qdisc → the
// device; each test asserts the exact frames the device transmitted and the exact counter deltas.
import { expect } from 'chai';
import { PathHarness, tcpLine, tcpSeqOf } from './path-harness';
import { tcpSeg, TH_ACK, TH_PSH, TH_SYN } from '../support/tcp-frames';
import { arpRequest, GUEST_MAC } from '../support/frames';
import { MIB_LAYOUT_6_12, mib_list, snmp_seq_show } from '../../kernel-model/core/mib';
import { softnet_seq_show } from '../../kernel-model/core/softnet';
import type { TcpSock } from '../../kernel-model/tcp/sock';
import { formatIpLink } from '../../emulator/views/ip-link';

const PORT = 5201;
const GUEST_PORT = 40000;

/** the counters the rules talk about, flattened */
function snap(h: PathHarness): Record<string, number> {
  const m = h.stack.mib;
  const sd = h.stack.softnet;
  return {
    IpInReceives: m.Ip.InReceives, IpInDelivers: m.Ip.InDelivers, IpOutRequests: m.Ip.OutRequests,
    IpExtInNoECTPkts: m.IpExt.InNoECTPkts, IpExtInECT0Pkts: m.IpExt.InECT0Pkts, IpExtInCEPkts: m.IpExt.InCEPkts,
    TcpInSegs: m.Tcp.InSegs, TcpOutSegs: m.Tcp.OutSegs, TcpRetransSegs: m.Tcp.RetransSegs, TcpOutRsts: m.Tcp.OutRsts,
    TcpInErrs: m.Tcp.InErrs, TcpInCsumErrors: m.Tcp.InCsumErrors, TCPTimeouts: m.TcpExt.TCPTimeouts,
    TCPSynRetrans: m.TcpExt.TCPSynRetrans,
    processed: sd.reduce((n, s) => n + s.processed, 0),
    qdiscPackets: h.dev.qdisc.bstats.packets, txPackets: h.dev.stats.tx_packets,
    rxPackets: h.dev.stats.rx_packets, rxDropped: h.dev.stats.rx_dropped,
  };
}

/** the non-zero differences b − a */
function delta(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const d: Record<string, number> = {};
  for (const k of Object.keys(b)) if (b[k] !== a[k]) d[k] = b[k] - a[k];
  return d;
}

/** ARP, then a handshake from the guest's 40000 to the model's 5201 (MSS 536: no options) */
function established(): { h: PathHarness; isn: number; sk: TcpSock } {
  const h = new PathHarness();
  let sk: TcpSock | null = null;
  h.inet.tcp.listen(PORT, (s) => {
    sk = s;
    s.onData = () => undefined;
  });
  h.send(arpRequest(GUEST_MAC, '10.0.2.15', '10.0.2.2'));
  h.send(tcpSeg({ toGateway: true, seq: 1000, flags: TH_SYN, ts: null, len: 0, window: 65535 }));
  h.run();
  const out = h.take();
  expect(out).to.have.length(2);
  const isn = tcpSeqOf(out[1].bytes);
  expect(tcpLine(out[1].bytes, isn, 1000)).to.equal(`${PORT} > ${GUEST_PORT} [S.] seq 0 ack 1 len 0`);
  h.send(tcpSeg({ toGateway: true, seq: 1001, ack: isn + 1, ts: null, len: 0, window: 65535 }));
  h.run();
  expect(sk, 'established').to.not.equal(null);
  return { h, isn, sk: sk! };
}

const lines = (h: PathHarness, isn: number): string[] => h.take().map((f) => tcpLine(f.bytes, isn, 1000) + (f.more ? ' (more)' : ''));

describe('counter semantics through the whole path (linux-path.md §9, §2)', () => {
  it('a GRO aggregate is one skb for softnet processed, Ip InReceives/InDelivers and Tcp InSegs; IpExt ECN counts its segments', () => {
    const { h, isn } = established();
    const before = snap(h);
    // three contiguous ECT(0) segments in one NAPI poll: GRO merges them (IP IDs incrementing, same TOS)
    h.send(...[0, 1, 2].map((i) => tcpSeg({ toGateway: true, seq: 1001 + i * 500, ack: isn + 1, ts: null, len: 500, window: 65535, tos: 2, id: 10 + i })));
    h.run();
    // more than one full segment unacked: one immediate ACK (tcp_ack_snd_check), one skb out
    expect(lines(h, isn)).to.deep.equal([`${PORT} > ${GUEST_PORT} [.] seq 1 ack 1501 len 0`]);
    expect(delta(before, snap(h))).to.deep.equal({
      rxPackets: 3, processed: 1, IpInReceives: 1, IpInDelivers: 1, TcpInSegs: 1, IpExtInECT0Pkts: 3,
      IpOutRequests: 1, TcpOutSegs: 1, qdiscPackets: 1, txPackets: 1,
    });
  });

  it('Ip OutRequests counts a GSO skb once; Tcp OutSegs, the qdisc and the device count its segments', () => {
    const { h, isn, sk } = established();
    const before = snap(h);
    sk.write(new Uint8Array(1000)); // 2 × MSS 536 → one GSO skb, segmented in software (no TSO here)
    h.run();
    expect(lines(h, isn)).to.deep.equal([
      `${PORT} > ${GUEST_PORT} [.] seq 1 ack 1 len 536 (more)`,
      `${PORT} > ${GUEST_PORT} [P.] seq 537 ack 1 len 464`,
    ]);
    expect(delta(before, snap(h))).to.deep.equal({ IpOutRequests: 1, TcpOutSegs: 2, qdiscPackets: 2, txPackets: 2 });
  });

  it('Tcp OutSegs excludes retransmissions; RetransSegs counts each retransmitted segment', () => {
    const { h, isn, sk } = established();
    sk.write(new Uint8Array(1000));
    h.run();
    h.take();
    const before = snap(h);
    h.run(300); // no ACK: the RTO (200 ms floor + the handshake's ~0 RTT) fires once, cwnd 1 → one MSS
    expect(lines(h, isn)).to.deep.equal([`${PORT} > ${GUEST_PORT} [.] seq 1 ack 1 len 536`]);
    expect(delta(before, snap(h))).to.deep.equal({ TCPTimeouts: 1, TcpRetransSegs: 1, IpOutRequests: 1, qdiscPackets: 1, txPackets: 1 });
  });

  it('a control-socket RST counts Tcp OutSegs and OutRsts once; the segment that caused it counts InSegs', () => {
    const { h } = established();
    const before = snap(h);
    h.send(tcpSeg({ toGateway: true, sport: 40009, dport: 9, seq: 5, ack: 77, ts: null, len: 0 }));
    h.run();
    expect(lines(h, 0)).to.deep.equal(['9 > 40009 [R] seq 77 len 0']);
    expect(delta(before, snap(h))).to.deep.equal({
      rxPackets: 1, processed: 1, IpInReceives: 1, IpInDelivers: 1, IpExtInNoECTPkts: 1, TcpInSegs: 1,
      TcpOutSegs: 1, TcpOutRsts: 1, IpOutRequests: 1, qdiscPackets: 1, txPackets: 1,
    });
  });

  it('RetransSegs (and TCPSynRetrans) include SYN-ACK retransmissions; each SYN-ACK counts OutSegs (tcp_make_synack)', () => {
    const h = new PathHarness();
    h.inet.tcp.listen(PORT, () => undefined);
    h.send(arpRequest(GUEST_MAC, '10.0.2.15', '10.0.2.2'));
    h.run();
    h.take();
    const before = snap(h);
    h.send(tcpSeg({ toGateway: true, seq: 1000, flags: TH_SYN, ts: null, len: 0 }));
    h.run(1100); // SYN-ACK at 0 and again after the 1 s initial RTO
    const out = h.take();
    const isn = tcpSeqOf(out[0].bytes);
    expect(out.map((f) => `${Math.round(f.t - out[0].t)} ${tcpLine(f.bytes, isn, 1000)}`)).to.deep.equal([
      `0 ${PORT} > ${GUEST_PORT} [S.] seq 0 ack 1 len 0`,
      `1000 ${PORT} > ${GUEST_PORT} [S.] seq 0 ack 1 len 0`,
    ]);
    expect(delta(before, snap(h))).to.deep.equal({
      rxPackets: 1, processed: 1, IpInReceives: 1, IpInDelivers: 1, IpExtInNoECTPkts: 1, TcpInSegs: 1,
      TcpOutSegs: 2, TcpRetransSegs: 1, TCPSynRetrans: 1, IpOutRequests: 2, qdiscPackets: 2, txPackets: 2,
    });
  });

  it('Tcp InSegs counts a segment with a bad checksum too (InErrs, InCsumErrors); Ip InDelivers counts the hand-over', () => {
    const { h, isn } = established();
    const before = snap(h);
    h.send(tcpSeg({ toGateway: true, seq: 1001, ack: isn + 1, flags: TH_ACK | TH_PSH, ts: null, len: 100, badTcpCsum: true }));
    h.run();
    expect(lines(h, isn)).to.deep.equal([]);
    expect(delta(before, snap(h))).to.deep.equal({
      // ip_protocol_deliver_rcu counts InDelivers once tcp_v4_rcv returns, whatever TCP did with it
      rxPackets: 1, processed: 1, IpInReceives: 1, IpInDelivers: 1, IpExtInNoECTPkts: 1, TcpInSegs: 1, TcpInErrs: 1, TcpInCsumErrors: 1,
    });
  });

  it('ip -s link RX dropped includes backlog drops and unknown-protocol drops; softnet columns 1, 2, 10', () => {
    const h = new PathHarness({ cpus: 2, sysctl: { netdev_max_backlog: 2 } });
    h.send(arpRequest(GUEST_MAC, '10.0.2.15', '10.0.2.2')); // the model learns the guest's MAC
    h.run();
    h.take();
    const before = snap(h);
    h.stack.rps.set_rps_cpus(h.dev, 0, '2'); // every flow to CPU 1's backlog
    const unknown = arpRequest(GUEST_MAC, '10.0.2.15', '10.0.2.2');
    unknown[12] = 0x88;
    unknown[13] = 0xb5; // IEEE local experimental ethertype: no handler
    // 2 unknown-protocol frames + 5 SYNs of 5 flows (SYNs are never merged) to the closed port 9
    const syns = [0, 1, 2, 3, 4].map((i) => tcpSeg({ toGateway: true, sport: 41000 + i, dport: 9, seq: 1, flags: TH_SYN, ts: null, len: 0 }));
    h.send(unknown, unknown, ...syns);
    h.run();
    // the backlog takes qlen 0, 1 and 2 (≤ netdev_max_backlog, checked before the insert): 3 of 7
    const out = h.take().map((f) => tcpLine(f.bytes));
    expect(out).to.deep.equal(['9 > 41000 [R.] seq 0 ack 2 len 0']);
    expect(h.stack.softnet[1].dropped).to.equal(4);
    expect(delta(before, snap(h))).to.deep.equal({
      rxPackets: 7, rxDropped: 6, processed: 3, IpInReceives: 1, IpInDelivers: 1, IpExtInNoECTPkts: 1, TcpInSegs: 1,
      TcpOutSegs: 1, TcpOutRsts: 1, IpOutRequests: 1, qdiscPackets: 1, txPackets: 1,
    });
    expect(h.dev.stats.rx_dropped, '4 backlog + 2 unknown protocol').to.equal(6);
    const rx = formatIpLink([h.dev], true).split('\n');
    const at = rx.findIndex((l) => l.trim().startsWith('RX:'));
    expect(rx[at].trim().split(/\s+/)).to.deep.equal(['RX:', 'bytes', 'packets', 'errors', 'dropped', 'missed', 'mcast']);
    expect(rx[at + 1].trim().split(/\s+/).slice(1, 4)).to.deep.equal(['8', '0', '6']); // + the ARP request
    const cpu1 = softnet_seq_show(h.stack).split('\n')[1].split(' ');
    // processed 3, dropped 4, time_squeeze 0, …, received_rps 1, flow_limit_count 0, …, cpu 1
    expect([cpu1[0], cpu1[1], cpu1[2], cpu1[9], cpu1[10], cpu1[12]]).to.deep.equal(['00000003', '00000004', '00000000', '00000001', '00000000', '00000001']);
    expect(h.stack.softnet[0].processed, 'only the ARP request on the NAPI CPU').to.equal(1);
  });

  it('Ip OutTransmits (a 6.3+ column: listed by the 6.12 layout, not 6.1\'s) counts skbs, a GSO skb once, like OutRequests', () => {
    const { h, sk } = established();
    const m = h.stack.mib.Ip;
    const [req, tx] = [m.OutRequests, m.OutTransmits];
    sk.write(new Uint8Array(1000));
    h.run();
    expect([m.OutRequests - req, m.OutTransmits - tx, h.take().length]).to.deep.equal([1, 1, 2]);
    const head = snmp_seq_show(h.stack.mib, MIB_LAYOUT_6_12).split('\n')[0].split(' ');
    expect(head[head.length - 1]).to.equal('OutTransmits');
    expect(mib_list(h.stack.mib, MIB_LAYOUT_6_12).map((e) => e.nstat)).to.include('IpOutTransmits');
    // the default profile is Linux 6.1: counted all the same, not listed
    expect(snmp_seq_show(h.stack.mib).split('\n')[0].split(' ').pop()).to.equal('FragCreates');
    expect(mib_list(h.stack.mib).map((e) => e.nstat)).to.not.include('IpOutTransmits');
  });
});
