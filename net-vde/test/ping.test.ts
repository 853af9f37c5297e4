import { expect } from 'chai';
import * as vde from '../lib/index';
import { canSetPingGroupRange, isCloexec, isNonblocking, ownGroupRange, waitFor, withPingGroupRange } from './support';

/** an echo request: type, code 0, checksum 0 (the kernel fills it), id, seq, data */
function echoRequest(type: number, id: number, seq: number, data: string): Uint8Array {
  const d = new TextEncoder().encode(data);
  const m = new Uint8Array(8 + d.length);
  m[0] = type;
  m[4] = id >> 8;
  m[5] = id & 255;
  m[6] = seq >> 8;
  m[7] = seq & 255;
  m.set(d, 8);
  return m;
}

/** the one's-complement sum of a message whose checksum field is filled: 0xffff when it verifies */
function icmpSum(m: Uint8Array): number {
  let s = 0;
  for (let i = 0; i + 1 < m.length; i += 2) s += (m[i] << 8) | m[i + 1];
  if (m.length & 1) s += m[m.length - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

describe('net-vde ping sockets', function () {
  const settable = canSetPingGroupRange();
  before(function () {
    if (!settable) this.skip(); // needs root and a writable /proc/sys/net/ipv4/ping_group_range
  });

  it('socket() fails with EACCES (a SysError) when net.ipv4.ping_group_range excludes our group, for both families', async () => {
    await withPingGroupRange('1 0', () => {
      for (const family of [4, 6] as const) {
        expect(() => vde.pingSocket(family)).to.throw(vde.SysError).with.include({ code: 'EACCES', syscall: 'socket', errno: 13 });
      }
    });
    expect(() => vde.pingSocket(5 as vde.IpFamily)).to.throw(TypeError);
  });

  for (const [family, type, replyType, addr] of [
    [4, 8, 0, '127.0.0.1'],
    [6, 128, 129, '::1'],
  ] as const) {
    it(`IPv${family}: echo to ${addr}; the reply has the kernel's identifier, our sequence and data, its source and TTL`, async () => {
      await withPingGroupRange(ownGroupRange(), async () => {
        const fd = vde.pingSocket(family);
        let ready = 0;
        const p = new vde.Poller(fd, (ev) => (ready |= ev));
        try {
          expect(isCloexec(fd)).to.equal(true);
          expect(isNonblocking(fd)).to.equal(true);
          expect(vde.localPort(fd)).to.equal(0);
          const buf = new Uint8Array(256);
          expect(vde.recvfrom(fd, buf), 'nothing yet: null').to.equal(null);
          vde.setHopLimit(fd, 7);
          expect(vde.sendto(fd, echoRequest(type, 0x1234, 0x0102, 'skbnet ping'), addr)).to.equal(19);
          const id = vde.localPort(fd);
          expect(id, 'sending bound an identifier').to.be.greaterThan(0);
          p.start(vde.POLL_READABLE);
          await waitFor(() => (ready & vde.POLL_READABLE) !== 0);
          const r = vde.recvfrom(fd, buf, 10)!;
          expect(r).to.include({ bytes: 19, address: addr, port: 0, truncated: false });
          expect(r.hopLimit, 'the reply left the local stack with its default hop limit').to.equal(64);
          const m = buf.subarray(10, 10 + r.bytes);
          expect(m[0]).to.equal(replyType);
          expect((m[4] << 8) | m[5], 'identifier = the socket\'s, not ours').to.equal(id);
          expect((m[6] << 8) | m[7]).to.equal(0x0102);
          expect(new TextDecoder().decode(m.subarray(8))).to.equal('skbnet ping');
          if (family === 4) expect(icmpSum(m), 'ICMPv4 checksum verifies').to.equal(0xffff);
          // a short buffer: truncated
          vde.sendto(fd, echoRequest(type, 0, 2, 'abcdefgh'), addr);
          await waitFor(() => {
            const t = vde.recvfrom(fd, buf, 0, 12);
            if (t === null) return false;
            expect(t).to.include({ bytes: 12, truncated: true });
            return true;
          });
        } finally {
          p.stop();
          vde.close(fd);
        }
      });
    });
  }

  it('bad arguments: TypeError for an address of the other family, RangeError for a hop limit outside 1..255; a non-echo type is EINVAL', async () => {
    await withPingGroupRange(ownGroupRange(), () => {
      const fd4 = vde.pingSocket(4);
      const fd6 = vde.pingSocket(6);
      try {
        expect(() => vde.sendto(fd4, echoRequest(8, 0, 1, 'x'), '::1')).to.throw(TypeError);
        expect(() => vde.sendto(fd6, echoRequest(128, 0, 1, 'x'), '127.0.0.1')).to.throw(TypeError);
        expect(() => vde.sendto(fd4, echoRequest(8, 0, 1, 'x'), 'not an address')).to.throw(TypeError);
        expect(() => vde.setHopLimit(fd4, 0)).to.throw(RangeError);
        expect(() => vde.setHopLimit(fd6, 256)).to.throw(RangeError);
        // ping_common_sendmsg accepts only echo requests with code 0
        expect(() => vde.sendto(fd4, echoRequest(13, 0, 1, 'x'), '127.0.0.1')).to.throw(vde.SysError).with.include({ code: 'EINVAL', syscall: 'sendto' });
        expect(() => vde.recvfrom(-1, new Uint8Array(4))).to.throw(vde.SysError).with.include({ code: 'EBADF', syscall: 'recvfrom' });
      } finally {
        vde.close(fd4);
        vde.close(fd6);
      }
    });
  });
});
