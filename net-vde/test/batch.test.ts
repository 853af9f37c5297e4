import { expect } from 'chai';
import * as vde from '../lib/index';

describe('net-vde recvmmsg/sendmmsg batches', () => {
  const SLOT = 2048;

  it('sends a batch of 32 datagrams and receives all 32 in one call into the arena', () => {
    const [a, b] = vde.socketpair('dgram');
    const tx = new Uint8Array(32 * SLOT);
    const txLen = new Uint32Array(32);
    for (let i = 0; i < 32; i++) {
      txLen[i] = 60 + i;
      tx.fill(i + 1, i * SLOT, i * SLOT + txLen[i]);
    }
    expect(vde.sendmmsg(a, tx, SLOT, txLen, 32)).to.equal(32);
    const rx = new Uint8Array(64 * SLOT);
    const rxLen = new Uint32Array(64);
    const trunc = new Uint8Array(64).fill(9);
    expect(vde.recvmmsg(b, rx, SLOT, rxLen, 64, trunc)).to.equal(32);
    for (let i = 0; i < 32; i++) {
      expect(rxLen[i]).to.equal(60 + i);
      expect(trunc[i]).to.equal(0);
      const slot = rx.subarray(i * SLOT, i * SLOT + rxLen[i]);
      expect(slot.every((x) => x === i + 1), `slot ${i}`).to.equal(true);
      expect(rx[i * SLOT + rxLen[i]]).to.equal(0); // nothing past the datagram
    }
    expect(rxLen[32]).to.equal(0); // untouched
    expect(vde.recvmmsg(b, rx, SLOT, rxLen, 64)).to.equal(0); // EAGAIN
    vde.close(a);
    vde.close(b);
  });

  it('works on seqpacket too, and reports truncation when a message is larger than the slot', () => {
    const [a, b] = vde.socketpair('seqpacket');
    vde.sendmsg(a, new Uint8Array(100).fill(1));
    vde.sendmsg(a, new Uint8Array(10).fill(2));
    const rx = new Uint8Array(4 * 64);
    const rxLen = new Uint32Array(4);
    const trunc = new Uint8Array(4);
    expect(vde.recvmmsg(b, rx, 64, rxLen, 4, trunc)).to.equal(2);
    expect([rxLen[0], rxLen[1]]).to.deep.equal([64, 10]);
    expect([trunc[0], trunc[1]]).to.deep.equal([1, 0]);
    expect(rx[64]).to.equal(2); // slot 1 starts right at 64: slot 0 did not overflow
    vde.close(a);
    vde.close(b);
  });

  it('sendmmsg returns how many fit, 0 when the queue is full', () => {
    const [a, b] = vde.socketpair('dgram');
    const tx = new Uint8Array(64 * SLOT);
    const txLen = new Uint32Array(64).fill(1500);
    let total = 0;
    let n: number;
    while ((n = vde.sendmmsg(a, tx, SLOT, txLen, 64)) > 0) total += n;
    expect(total).to.be.greaterThan(0);
    const rx = new Uint8Array(64 * SLOT);
    const rxLen = new Uint32Array(64);
    let got = 0;
    while ((n = vde.recvmmsg(b, rx, SLOT, rxLen, 64)) > 0) got += n;
    expect(got).to.equal(total);
    vde.close(a);
    vde.close(b);
  });

  it('refuses batches that do not fit the arena or the length table, before any I/O', () => {
    const [a, b] = vde.socketpair('dgram');
    const arena = new Uint8Array(4 * 100);
    const lens = new Uint32Array(4).fill(10);
    expect(() => vde.recvmmsg(b, arena, 100, lens, 5)).to.throw(RangeError);
    expect(() => vde.recvmmsg(b, arena, 101, lens, 4)).to.throw(RangeError);
    expect(() => vde.recvmmsg(b, arena, 0, lens, 1)).to.throw(RangeError);
    expect(() => vde.recvmmsg(b, arena, 1, new Uint32Array(1025), 1025)).to.throw(RangeError);
    expect(() => vde.recvmmsg(b, arena, 100, new Uint16Array(4) as unknown as Uint32Array, 4)).to.throw(TypeError);
    expect(() => vde.recvmmsg(b, arena, 100, lens, 4, new Uint8Array(3))).to.throw(RangeError);
    lens[2] = 101;
    expect(() => vde.sendmmsg(a, arena, 100, lens, 4)).to.throw(RangeError);
    expect(vde.recvmmsg(b, arena, 100, lens, 4)).to.equal(0); // nothing was sent
    expect(vde.sendmmsg(a, arena, 100, lens, 0)).to.equal(0);
    expect(() => vde.sendmmsg(-1, arena, 100, lens, 1)).to.throw(vde.SysError).with.include({ code: 'EBADF', syscall: 'sendmmsg' });
    vde.close(a);
    vde.close(b);
  });
});
