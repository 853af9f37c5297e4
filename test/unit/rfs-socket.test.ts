// RFS steering toward the consuming socket's CPU, through the whole receive path in virtual time:
// the model's TCP sockets keep sk_rxhash (sock_rps_save_rxhash in tcp_v4_rcv) and record
// (hash, consumer CPU) in rps_sock_flow_table when their data is read or they are written to
// (sock_rps_record_flow: inet_recvmsg / inet_sendmsg); get_rps_cpu then sends the flow's next
// packets to that CPU's backlog, and switches a flow whose consumer moved only once the old CPU's
// backlog has dequeued everything the flow had queued there (last_qtail).
import { expect } from 'chai';
import { PathHarness, tcpSeqOf } from './path-harness';
import { tcpSeg, TH_ACK, TH_PSH, TH_SYN, be16 } from '../support/tcp-frames';
import { arpRequest, GUEST_MAC } from '../support/frames';
import { netif_rx } from '../../kernel-model/core/rps';
import type { TcpSock } from '../../kernel-model/tcp/sock';

const A = 40001;
const B = 40002;
const PORT = 5201;

function setup() {
  const h = new PathHarness({ cpus: 2, rps: { rps_sock_flow_entries: 4096 } });
  h.stack.rps.set_rps_flow_cnt(h.dev, 0, 256);
  const socks = new Map<number, TcpSock>();
  const got = new Map<number, number>();
  h.inet.tcp.listen(PORT, (sk) => {
    socks.set(sk.dport, sk);
    sk.consumer_cpu = sk.dport === A ? 1 : 0; // A's reader runs on CPU 1, B's on CPU 0
    sk.onData = (_b, _o, len) => {
      got.set(sk.dport, (got.get(sk.dport) ?? 0) + len);
    };
  });
  // which CPU ran __netif_receive_skb_core for each data segment: "sport:seq@cpu"
  const where: string[] = [];
  h.stack.dev_add_tap((skb, _dev, dir) => {
    if (dir !== 'rx' || skb.protocol !== 0x0800 || skb.buf[skb.data + 9] !== 6) return;
    const t = skb.data + (skb.buf[skb.data] & 15) * 4;
    const len = be16(skb.buf, skb.data + 2) - (t - skb.data) - (skb.buf[t + 12] >> 4) * 4;
    if (len > 0) where.push(`${be16(skb.buf, t)}:${(tcpSeqOf(skb.buf.subarray(skb.data - 14)) - 1001) >>> 0}@${h.stack.this_cpu().cpu}`);
  });
  h.send(arpRequest(GUEST_MAC, '10.0.2.15', '10.0.2.2'));
  h.send(...[A, B].map((sport) => tcpSeg({ toGateway: true, sport, dport: PORT, seq: 1000, flags: TH_SYN, ts: null, len: 0 })));
  h.run();
  const isn = new Map<number, number>();
  for (const f of h.take()) if (f.bytes.length >= 54 && f.bytes[23] === 6) isn.set(be16(f.bytes, 36), tcpSeqOf(f.bytes));
  expect([...isn.keys()].sort()).to.deep.equal([A, B]);
  h.send(...[A, B].map((sport) => tcpSeg({ toGateway: true, sport, dport: PORT, seq: 1001, ack: isn.get(sport)! + 1, ts: null, len: 0 })));
  h.run();
  expect([...socks.keys()].sort()).to.deep.equal([A, B]);
  const data = (sport: number, off: number, len = 100): Uint8Array =>
    tcpSeg({ toGateway: true, sport, dport: PORT, seq: 1001 + off, ack: isn.get(sport)! + 1, flags: TH_ACK | TH_PSH, ts: null, len });
  return { h, socks, got, where, data };
}

describe('RFS: steering toward the consuming socket CPU (rps_sock_flow_table, sock_rps_record_flow)', () => {
  it('sends each flow to the backlog of the CPU its reader runs on, once the reader has read', () => {
    const { h, socks, got, where, data } = setup();
    // first data: nothing recorded yet → no RFS target, no rps_cpus → processed inline on the NAPI CPU
    h.send(data(A, 0), data(B, 0));
    h.run();
    expect(where.splice(0)).to.deep.equal([`${A}:0@0`, `${B}:0@0`]);
    expect([got.get(A), got.get(B)]).to.deep.equal([100, 100]);
    const table = h.stack.rps.sock_flow_table!;
    const hashA = socks.get(A)!.sk_rxhash;
    expect(hashA).to.not.equal(0);
    expect(table[hashA & h.stack.rps.sock_flow_mask], 'entry = (hash & ~rps_cpu_mask) | cpu').to.equal(((hashA & ~1) | 1) >>> 0);
    // recorded: A → CPU 1, B → CPU 0
    h.send(data(A, 100), data(B, 100), data(A, 200));
    h.run();
    expect(where.splice(0)).to.deep.equal([`${B}:100@0`, `${A}:100@1`, `${A}:200@1`]);
    expect(h.stack.softnet[1].received_rps, 'one IPI for the batch').to.equal(1);
    expect(h.stack.softnet[1].processed).to.equal(2);
    expect([got.get(A), got.get(B)]).to.deep.equal([300, 200]);
  });

  it('keeps a flow on its old CPU while packets queued there are pending (last_qtail), then follows the reader', () => {
    const { h, socks, where, data } = setup();
    h.send(data(A, 0));
    h.run();
    h.send(data(A, 100), data(A, 200)); // → CPU 1's backlog; CPU 1 runs after CPU 0's softirq
    h.sched.schedule(() => {
      // between the two softirqs: A's application moves to CPU 0 and writes (inet_sendmsg records CPU 0)
      const sk = socks.get(A)!;
      sk.consumer_cpu = 0;
      sk.write(Uint8Array.of(1));
      expect(h.stack.softnet[1].input_pkt_queue.length, 'A 100 and 200 still queued on CPU 1').to.equal(2);
      const f = data(A, 300);
      const skb = h.stack.alloc_skb(f.length)!;
      skb.buf.set(f, skb.put(f.length));
      skb.dev = h.dev;
      netif_rx(h.stack, skb); // get_rps_cpu: desired CPU 0, but CPU 1 has not dequeued A's packets
      expect(h.stack.softnet[1].input_pkt_queue.length, 'A 300 queued behind them on CPU 1').to.equal(3);
    }, 0);
    h.run();
    expect(where.splice(0)).to.deep.equal([`${A}:0@0`, `${A}:100@1`, `${A}:200@1`, `${A}:300@1`]);
    // CPU 1's head has passed last_qtail: the flow switches to the reader's CPU
    h.send(data(A, 400));
    h.run();
    expect(where.splice(0)).to.deep.equal([`${A}:400@0`]);
  });
});
