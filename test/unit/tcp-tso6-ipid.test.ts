// Two TCP output rules: TSO super-frames for IPv6 sockets (sk_can_gso with SKB_GSO_TCPV6, the pseudo
// header of __tcp_v6_send_check in the checksum field) and the IPv4 ID of a connected socket
// (ip_select_ident_segs: inet_id, advanced by gso_segs). Two model stacks in virtual time (TcpPair).
import { expect } from 'chai';
import { NETDEV_TX_OK, NETIF_F_GSO, NETIF_F_HW_CSUM, NETIF_F_SG, NETIF_F_SOFT_FEATURES, NETIF_F_TSO, NETIF_F_TSO6 } from '../../kernel-model/core/netdevice';
import { skb_gso_segment } from '../../kernel-model/core/gso';
import { SKB_GSO_TCPV6, type Skb } from '../../kernel-model/core/skb';
import { attachInet6 } from '../../kernel-model/inet6';
import { defaultInet6Config } from '../../kernel-model/ipv6/config';
import type { TcpSock } from '../../kernel-model/tcp/sock';
import { sk_can_gso } from '../../kernel-model/tcp/tcp_output';
import { tcp_v6_init } from '../../kernel-model/tcp/tcp_ipv6';
import { parseIpv6 } from '../../kernel-model/wire/ipv6';
import { ADDR_B, TcpPair, pattern, tcpOf, type Host } from './tcp-pair';
import { GUEST_GLOBAL, l4csum6 } from './ipv6-link';
import { ipHeaderOk, l4ChecksumOk, seeded } from './ipv4-link';

interface Frame {
  v6: boolean;
  len: number;
  gso_size: number;
  gso_segs: number;
  gso_type: number;
  id: number;
}

/** a TSO NIC for both families: records what it is handed, then segments it in software onto the link */
function tsoNic(pair: TcpPair, host: Host, frames: Frame[], features: number): void {
  host.dev.features = features;
  const segs: Skb[] = [];
  host.ndo_start_xmit = (skb: Skb): number => {
    const f = skb.buf.subarray(skb.data, skb.data + skb.len);
    const v6 = f[12] === 0x86 && f[13] === 0xdd && f[20] === 6;
    const v4 = f[12] === 8 && f[13] === 0 && f[23] === 6;
    if (v4 || v6) {
      const hl = v6 ? 14 + 40 : 14 + (f[14] & 15) * 4;
      frames.push({ v6, len: f.length - hl - (f[hl + 12] >> 4) * 4, gso_size: skb.gso_size, gso_segs: skb.gso_segs, gso_type: skb.gso_type, id: v4 ? (f[18] << 8) | f[19] : -1 });
    }
    if (skb.gso_size === 0) {
      pair.carry(host, skb.buf.slice(skb.data, skb.data + skb.len));
      return NETDEV_TX_OK;
    }
    expect(skb_gso_segment(host.stack, skb, 0, segs)).to.be.greaterThan(0);
    for (const s of segs) {
      const b = s.buf.slice(s.data, s.data + s.len);
      if (v6) {
        const plen = (b[18] << 8) | b[19];
        expect(plen).to.be.at.most(1500 - 40);
        expect(l4csum6(b.subarray(22, 38), b.subarray(38, 54), 6, b.subarray(54, 54 + plen)), 'TCP checksum of each segment').to.equal(0);
      } else {
        expect(ipHeaderOk(b) && l4ChecksumOk(b)).to.equal(true);
      }
      pair.carry(host, b);
      host.stack.pool.release(s);
    }
    return NETDEV_TX_OK;
  };
}

function joined(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** a (fec0::2, the model) accepts b's IPv6 connection; a then sends */
function connect6(pair: TcpPair): { a: TcpSock; got: Uint8Array[] } {
  const a6 = attachInet6(pair.a.stack, pair.a.dev, defaultInet6Config(), { random: seeded(5) });
  const b6 = attachInet6(pair.b.stack, pair.b.dev, defaultInet6Config({ gateway: parseIpv6(GUEST_GLOBAL)!, dns: parseIpv6('fec0::99')! }), { random: seeded(6) });
  const t6a = tcp_v6_init(pair.a.tcp, a6.net);
  const t6b = tcp_v6_init(pair.b.tcp, b6.net);
  pair.advance(10);
  let a: TcpSock | null = null;
  t6a.setForwarder((req) => (a = req.accept()));
  const b = t6b.connect(b6.idev, parseIpv6('fec0::2')!, 0, 8080)!;
  const got: Uint8Array[] = [];
  b.onData = (buf, off, len) => {
    got.push(buf.slice(off, off + len));
  };
  pair.runUntil(() => a !== null && (a as TcpSock).stateName === 'ESTABLISHED' && b.stateName === 'ESTABLISHED', 5000, 1);
  expect(a).to.not.equal(null);
  return { a: a as unknown as TcpSock, got };
}

function send(pair: TcpPair, a: TcpSock, data: Uint8Array, got: Uint8Array[]): void {
  let off = 0;
  pair.runUntil(() => {
    if (off < data.length) off += a.write(data, off);
    return joined(got).length >= data.length;
  }, 20000, 1);
  expect(joined(got)).to.deep.equal(data);
}

describe('tcp: TSO over IPv6 (SKB_GSO_TCPV6)', () => {
  it('an IPv6 socket builds super-frames of MSS-sized segments when the device has TSO6; each segment checks out, data intact', () => {
    const pair = new TcpPair();
    const frames: Frame[] = [];
    tsoNic(pair, pair.a, frames, NETIF_F_SOFT_FEATURES | NETIF_F_HW_CSUM | NETIF_F_SG | NETIF_F_TSO | NETIF_F_TSO6);
    const { a, got } = connect6(pair);
    expect(sk_can_gso(a)).to.equal(true);
    frames.length = 0;
    const data = pattern(1 << 20, 4);
    send(pair, a, data, got);
    const data6 = frames.filter((f) => f.v6 && f.len > 0);
    const tso = data6.filter((f) => f.gso_segs > 1);
    expect(tso.length, 'super-frames reached the driver whole').to.be.greaterThan(0);
    // MSS = 1500 − 40 − 20 − 12 bytes of timestamps
    for (const f of tso) {
      expect(f.gso_type & SKB_GSO_TCPV6).to.not.equal(0);
      expect(f.gso_size).to.equal(a.mss_cache).and.equal(1428);
      expect(f.len).to.be.above((f.gso_segs - 1) * 1428).and.at.most(f.gso_segs * 1428);
    }
    expect(Math.max(...tso.map((f) => f.gso_segs))).to.be.at.least(5);
    const segs = data6.reduce((n, f) => n + Math.max(1, f.gso_segs), 0);
    expect(pair.a.tcp.net.mib.TcpExt.TCPOrigDataSent).to.be.at.least(segs);
  });

  it('net_gso_ok: TSO (IPv4) alone does not make an IPv6 socket build super-frames without software GSO', () => {
    const pair = new TcpPair();
    const frames: Frame[] = [];
    tsoNic(pair, pair.a, frames, (NETIF_F_SOFT_FEATURES & ~NETIF_F_GSO) | NETIF_F_HW_CSUM | NETIF_F_SG | NETIF_F_TSO);
    const { a, got } = connect6(pair);
    expect(sk_can_gso(a)).to.equal(false);
    frames.length = 0;
    send(pair, a, pattern(100000, 5), got);
    expect(frames.filter((f) => f.v6 && f.gso_segs > 1)).to.have.length(0);
  });
});

describe('tcp: IPv4 ID of a connected socket (ip_select_ident_segs)', () => {
  it('numbers every packet from inet_id, +gso_segs per super-frame; the SYN-ACK carries ID 0', () => {
    const pair = new TcpPair();
    const frames: Frame[] = [];
    tsoNic(pair, pair.a, frames, NETIF_F_SOFT_FEATURES | NETIF_F_HW_CSUM | NETIF_F_SG | NETIF_F_TSO);
    pair.b.capture = true;
    let b: TcpSock | null = null;
    const got: Uint8Array[] = [];
    pair.b.tcp.listen(80, (s) => {
      b = s;
      s.onData = (buf, off, len) => {
        got.push(buf.slice(off, off + len));
      };
    });
    const a = pair.a.tcp.connect(pair.a.inet.ind, ADDR_B, 80)!;
    pair.runUntil(() => b !== null && a.stateName === 'ESTABLISHED', 5000, 1);
    send(pair, a, pattern(300000, 6), got);
    a.end();
    pair.advance(2000);
    const v4 = frames.filter((f) => !f.v6);
    expect(v4.length).to.be.greaterThan(5);
    expect(v4.some((f) => f.gso_segs > 1), 'some super-frames').to.equal(true);
    // each packet takes the ID after the previous one's last segment
    for (let i = 1; i < v4.length; i++) {
      const prev = v4[i - 1];
      expect(v4[i].id, `frame ${i}`).to.equal((prev.id + Math.max(1, prev.gso_segs)) & 0xffff);
    }
    // B: the SYN-ACK leaves on the listener's behalf (ID 0); the accepted socket then counts from its own inet_id
    const bTcp = pair.b.sent.filter((f) => f[12] === 8 && f[13] === 0 && f[23] === 6);
    const synack = bTcp.find((f) => (tcpOf(f).flags & 0x12) === 0x12)!;
    expect((synack[18] << 8) | synack[19]).to.equal(0);
    const after = bTcp.filter((f) => f !== synack);
    expect(after.length).to.be.greaterThan(2);
    const b0 = (after[0][18] << 8) | after[0][19];
    after.forEach((f, i) => expect(((f[18] << 8) | f[19]) - b0 & 0xffff, `B frame ${i}`).to.equal(i));
    // every one with DF
    expect(bTcp.every((f) => (f[20] & 0x40) !== 0)).to.equal(true);
  });
});
