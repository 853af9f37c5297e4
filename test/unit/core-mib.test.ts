// MIB counters in /proc order, the skb pools, skb_copy, SkbQueue and the intrusive list.
import { expect } from 'chai';
import { VirtualTimeScheduler } from 'rxjs';
import {
  IcmpMib,
  IcmpMsgMib,
  ICMP_FIELDS,
  IP_FIELDS,
  IPEXT_FIELDS,
  IpExtMib,
  IpMib,
  MIB_LAYOUT_6_12,
  mib_list,
  MPTcpExtMib,
  NetMib,
  netstat_seq_show,
  snmp_seq_show,
  TCP_FIELDS,
  TCPEXT_FIELDS,
  TcpExtMib,
  TcpMib,
  UDP_FIELDS,
  UdpMib,
} from '../../kernel-model/core/mib';
import { MIB_LAYOUT_6_1 } from '../../kernel-model/core/mib-layout-6-1';
import { kfree_skb, Skb, SkbPool, SkbQueue, skb_copy_to } from '../../kernel-model/core/skb';
import { NetStack } from '../../kernel-model/core/stack';
import { silentLogger, RateLimitState } from '../../kernel-model/core/log';
import { ListHead, list_add_tail, list_del_init, list_empty, list_entries, list_splice_init, list_splice_tail_init } from '../../kernel-model/core/list';

function numericKeys(o: object): string[] {
  return Object.keys(o).filter((k) => typeof (o as Record<string, unknown>)[k] === 'number');
}

describe('core MIB counters', () => {
  it('lists every counter field exactly once, in /proc order', () => {
    const cases: [object, readonly string[]][] = [
      [new IpMib(), IP_FIELDS],
      [new IpExtMib(), IPEXT_FIELDS],
      [new TcpMib(), TCP_FIELDS],
      [new UdpMib(), UDP_FIELDS],
      [new TcpExtMib(), TCPEXT_FIELDS],
    ];
    for (const [obj, fields] of cases) {
      expect(new Set(fields).size).to.equal(fields.length);
      expect([...numericKeys(obj)].sort()).to.deep.equal([...fields].sort());
      expect(numericKeys(obj)).to.deep.equal([...fields]); // declaration order is /proc order
    }
    expect(TCPEXT_FIELDS).to.have.length(131); // snmp4_net_list in 6.12
    expect(ICMP_FIELDS).to.have.length(29);
    // MPTcpExt: declaration order is 6.1's mptcp_snmp_list (the only layout listing it)
    const mp = MIB_LAYOUT_6_1.netstat.find(([g]) => g === 'MPTcpExt')![1];
    expect(numericKeys(new MPTcpExtMib())).to.deep.equal([...mp]);
  });

  it('prints /proc/net/snmp header lines as Linux 6.1 does by default', () => {
    const mib = new NetMib();
    const text = snmp_seq_show(mib).split('\n');
    expect(text[0]).to.equal(
      'Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos InDiscards InDelivers OutRequests OutDiscards OutNoRoutes ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs FragFails FragCreates',
    );
    expect(text[1]).to.equal('Ip: 2 64 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0');
    expect(text[4]).to.equal('Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors');
    const ns = netstat_seq_show(mib).split('\n');
    expect(ns[0].startsWith('TcpExt: SyncookiesSent SyncookiesRecv SyncookiesFailed EmbryonicRsts')).to.equal(true);
    expect(ns[0].endsWith('TCPMigrateReqSuccess TCPMigrateReqFailure')).to.equal(true); // no TCPPLBRehash, no TCP-AO
    expect(ns[0].split(' ')).to.have.length(1 + 125);
    expect(ns[2].startsWith('IpExt: InNoRoutes InTruncatedPkts')).to.equal(true);
    expect(ns[4].startsWith('MPTcpExt: MPCapableSYNRX MPCapableSYNTX')).to.equal(true);
    expect(ns[5]).to.equal(`MPTcpExt: ${Array(56).fill(0).join(' ')}`);
    expect(ns).to.have.length(7);
  });

  it('prints /proc/net/snmp header lines as Linux 6.12 does with the 6.12 layout', () => {
    const mib = new NetMib();
    mib.layout = MIB_LAYOUT_6_12;
    const text = snmp_seq_show(mib).split('\n');
    expect(text[0]).to.equal(
      'Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos InDiscards InDelivers OutRequests OutDiscards OutNoRoutes ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs FragFails FragCreates OutTransmits',
    );
    expect(text[1]).to.equal('Ip: 2 64 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0');
    expect(text[2]).to.equal(
      'Icmp: InMsgs InErrors InCsumErrors InDestUnreachs InTimeExcds InParmProbs InSrcQuenchs InRedirects InEchos InEchoReps InTimestamps InTimestampReps InAddrMasks InAddrMaskReps OutMsgs OutErrors OutRateLimitGlobal OutRateLimitHost OutDestUnreachs OutTimeExcds OutParmProbs OutSrcQuenchs OutRedirects OutEchos OutEchoReps OutTimestamps OutTimestampReps OutAddrMasks OutAddrMaskReps',
    );
    expect(text[4]).to.equal('Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors');
    expect(text[5]).to.equal('Tcp: 1 200 120000 -1 0 0 0 0 0 0 0 0 0 0 0');
    expect(text[6]).to.equal('Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors');
    expect(text[8]).to.match(/^UdpLite: InDatagrams/);
    const ns = netstat_seq_show(mib).split('\n');
    expect(ns[0].startsWith('TcpExt: SyncookiesSent SyncookiesRecv SyncookiesFailed EmbryonicRsts')).to.equal(true);
    expect(ns[0].endsWith('TCPAOGood TCPAODroppedIcmps')).to.equal(true);
    expect(ns[2].startsWith('IpExt: InNoRoutes InTruncatedPkts')).to.equal(true);
    expect(ns).to.have.length(5); // MPTcpExt is not listed by the 6.12 layout
  });

  it('keeps Icmp In<Type>/Out<Type> and IcmpMsg one counter, and prints only non-zero IcmpMsg types', () => {
    const mib = new NetMib();
    mib.Icmp.InEchos++;
    mib.IcmpMsg.InType[8]++;
    mib.Icmp.OutEchoReps += 2;
    mib.IcmpMsg.OutType[3]++;
    mib.Ip.InReceives += 5;
    expect(mib.Icmp.InEchos).to.equal(2);
    expect(mib.IcmpMsg.OutType[0]).to.equal(2);
    expect(mib.Icmp.OutDestUnreachs).to.equal(1);
    const text = snmp_seq_show(mib).split('\n');
    const i = text.findIndex((l) => l.startsWith('IcmpMsg:'));
    expect(text[i]).to.equal('IcmpMsg: InType8 OutType0 OutType3');
    expect(text[i + 1]).to.equal('IcmpMsg: 2 2 1');
    const list = mib_list(mib);
    expect(list.find((e) => e.nstat === 'IpInReceives')!.value).to.equal(5);
    expect(list.find((e) => e.nstat === 'IcmpInEchos')!.value).to.equal(2);
    expect(list.find((e) => e.nstat === 'IcmpMsgInType8')!.value).to.equal(2);
    expect(list[0].nstat).to.equal('IpForwarding');
    expect(list[list.length - 1].nstat).to.equal('MPTcpExtRcvWndConflict'); // 6.1: MPTcpExt after IpExt
    const list612 = mib_list(mib, MIB_LAYOUT_6_12);
    expect(list612[list612.length - 1].nstat).to.equal('IpExtReasmOverlaps');
    expect(list612.find((e) => e.nstat === 'IcmpMsgInType8')!.value).to.equal(2);
    expect(new IcmpMib(new IcmpMsgMib()).InMsgs).to.equal(0);
  });

  it('is reachable from the stack by Linux names', () => {
    const stack = new NetStack({ scheduler: new VirtualTimeScheduler(), log: silentLogger });
    stack.mib.Udp.NoPorts++;
    stack.mib.TcpExt.TCPTimeouts++;
    expect(mib_list(stack.mib).filter((e) => e.value !== 0 && !['Forwarding', 'DefaultTTL', 'RtoAlgorithm', 'RtoMin', 'RtoMax', 'MaxConn'].includes(e.name)).map((e) => e.nstat)).to.deep.equal([
      'UdpNoPorts',
      'TcpExtTCPTimeouts',
    ]);
  });
});

describe('core skb memory', () => {
  it('allocates from fixed slabs with headroom, returns null when empty, guards double frees', () => {
    const pool = new SkbPool(2, 256, 32);
    const a = pool.alloc(100)!;
    expect(a.data).to.equal(32);
    expect(a.len).to.equal(0);
    expect(a.headroom).to.equal(32);
    expect(a.tailroom).to.equal(224);
    const b = pool.alloc(224)!;
    expect(pool.alloc(1)).to.equal(null);
    expect(pool.alloc(225)).to.equal(null);
    expect(pool.alloc(-1)).to.equal(null);
    expect(pool.allocFailures).to.equal(3);
    kfree_skb(a);
    kfree_skb(a);
    expect(pool.doubleFrees).to.equal(1);
    expect(pool.available).to.equal(1);
    const c = pool.alloc(10)!;
    expect(c).to.equal(a);
    expect(pool.alloc(10)).to.equal(null); // a double free did not hand the slab out twice
    kfree_skb(b);
    kfree_skb(new Skb()); // not pooled: nothing to do
    expect(pool.available).to.equal(1);
    // slabs do not overlap
    b.buf.fill(0xee);
    expect(c.buf.every((x) => x !== 0xee)).to.equal(true);
  });

  it('serves big frames from the 64 KiB pool', () => {
    const stack = new NetStack({ scheduler: new VirtualTimeScheduler(), log: silentLogger });
    expect(stack.pool.slabs).to.equal(1024);
    expect(stack.pool.slabSize).to.equal(2048);
    const small = stack.alloc_skb(1514)!;
    expect(small.pool).to.equal(stack.pool);
    const big = stack.alloc_skb(65535 + 14 + 4)!; // max IP packet + Ethernet + VLAN tag
    expect(big.pool).to.equal(stack.bigPool);
    expect(big.tailroom).to.be.at.least(65553);
    expect(stack.bigPool.slabs).to.equal(64);
    expect(stack.alloc_skb(1 << 20)).to.equal(null);
  });

  it('skb_copy_to copies bytes and metadata and moves header offsets', () => {
    const src = new Skb().reset(Uint8Array.from({ length: 100 }, (_, i) => i), 20, 60);
    src.mac_header = 20;
    src.network_header = 34;
    src.transport_header = 54;
    src.protocol = 0x0800;
    src.gso_size = 1400;
    const dst = new SkbPool(1, 256, 64).alloc(60)!;
    expect(skb_copy_to(src, dst)).to.equal(true);
    expect([dst.data, dst.len, dst.mac_header, dst.network_header, dst.transport_header]).to.deep.equal([64, 60, 64, 78, 98]);
    expect(dst.buf[dst.data]).to.equal(20);
    expect(dst.protocol).to.equal(0x0800);
    expect(dst.gso_size).to.equal(1400);
    const tiny = new SkbPool(1, 64, 32).alloc(0)!;
    expect(skb_copy_to(src, tiny)).to.equal(false);
  });

  it('SkbQueue is a FIFO that takes head inserts and grows without losing order', () => {
    const q = new SkbQueue(2);
    const s = Array.from({ length: 40 }, () => new Skb());
    for (let i = 1; i < 40; i++) q.push(s[i]);
    q.unshift(s[0]);
    expect(q.length).to.equal(40);
    expect(q.peek()).to.equal(s[0]);
    const out: Skb[] = [];
    let x: Skb | null;
    while ((x = q.shift())) out.push(x);
    expect(out).to.deep.equal(s);
    expect(q.shift()).to.equal(null);
    for (let i = 0; i < 5; i++) q.push(s[i]);
    let freed = 0;
    q.purge(() => freed++);
    expect(freed).to.equal(5);
    expect(q.length).to.equal(0);
  });

  it('list_head splices keep order', () => {
    const mk = (n: string) => new ListHead<string>(n);
    const a = new ListHead<string>();
    const b = new ListHead<string>();
    const nodes = ['1', '2', '3', '4'].map(mk);
    list_add_tail(nodes[0], a);
    list_add_tail(nodes[1], a);
    list_add_tail(nodes[2], b);
    list_add_tail(nodes[3], b);
    list_splice_tail_init(b, a);
    expect(list_entries(a)).to.deep.equal(['1', '2', '3', '4']);
    expect(list_empty(b)).to.equal(true);
    list_del_init(nodes[1]);
    expect(list_empty(nodes[1])).to.equal(true);
    list_add_tail(nodes[1], b);
    list_splice_init(a, b);
    expect(list_entries(b)).to.deep.equal(['1', '3', '4', '2']);
  });

  it('net_ratelimit allows 10 per 5 s and reports what it suppressed', () => {
    const rl = new RateLimitState(5000, 10);
    let allowed = 0;
    for (let i = 0; i < 25; i++) if (rl.allow(100)) allowed++;
    expect(allowed).to.equal(10);
    let missed = 0;
    expect(rl.allow(5100, (m) => (missed = m))).to.equal(true);
    expect(missed).to.equal(15);
  });
});
