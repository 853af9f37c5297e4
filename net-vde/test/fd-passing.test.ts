import { expect } from 'chai';
import * as vde from '../lib/index';
import { fdCount, fdTarget, isCloexec } from './support';

describe('net-vde SCM_RIGHTS fd passing', () => {
  it('an eventfd sent over seqpacket is the same object on the other side', () => {
    const before = fdCount();
    const [a, b] = vde.socketpair('seqpacket');
    const efd = vde.eventfd();
    expect(vde.sendmsg(a, Uint8Array.of(7), [efd])).to.equal(1);
    const buf = new Uint8Array(8);
    const r = vde.recvmsg(b, buf)!;
    expect(r.bytes).to.equal(1);
    expect(r.ctrunc).to.equal(false);
    expect(r.fds).to.have.length(1);
    const got = r.fds[0];
    expect(got).to.not.equal(efd);
    expect(isCloexec(got), 'MSG_CMSG_CLOEXEC').to.equal(true);
    // write through one fd, read through the other: one counter
    vde.eventfdWrite(efd, 5n);
    expect(vde.eventfdRead(got)).to.equal(5n);
    expect(vde.eventfdRead(efd)).to.equal(null);
    vde.eventfdWrite(got, 3n);
    expect(vde.eventfdRead(efd)).to.equal(3n);
    for (const fd of [a, b, efd, got]) vde.close(fd);
    expect(fdCount()).to.equal(before);
  });

  it('a memfd sent over a stream pair maps to the same memory', () => {
    const [a, b] = vde.socketpair('stream');
    const mfd = vde.memfdCreate('guest-ram', 65536);
    expect(vde.sendmsg(a, Uint8Array.of(1), [mfd])).to.equal(1);
    const r = vde.recvmsg(b, new Uint8Array(4))!;
    expect(r.fds).to.have.length(1);
    const got = r.fds[0];
    expect(fdTarget(got)).to.equal(fdTarget(mfd));
    expect(vde.fstatSize(got)).to.equal(65536);
    const m1 = vde.mmap(mfd, 65536);
    const m2 = vde.mmap(got, 65536);
    new DataView(m1.buffer).setUint32(40000, 0xdeadbeef, true);
    expect(new DataView(m2.buffer).getUint32(40000, true)).to.equal(0xdeadbeef);
    m1.unmap();
    m2.unmap();
    // a stream socket cannot carry fds without data (the kernel would drop them silently)
    expect(() => vde.sendmsg(a, new Uint8Array(0), [mfd])).to.throw(RangeError);
    for (const fd of [a, b, mfd, got]) vde.close(fd);
  });

  it('several fds in one message arrive in order', () => {
    const [a, b] = vde.socketpair('seqpacket');
    const efds = [vde.eventfd(1), vde.eventfd(2), vde.eventfd(3)];
    vde.sendmsg(a, new Uint8Array(0), efds); // seqpacket may carry fds with no data
    const r = vde.recvmsg(b, new Uint8Array(4))!;
    expect(r.bytes).to.equal(0);
    expect(r.fds).to.have.length(3);
    expect(r.fds.map((fd) => vde.eventfdRead(fd))).to.deep.equal([1n, 2n, 3n]);
    for (const fd of [a, b, ...efds, ...r.fds]) vde.close(fd);
  });

  it('more fds than maxFds: ctrunc, the ones that fit are returned, none leak', () => {
    const [a, b] = vde.socketpair('seqpacket');
    const sent = Array.from({ length: 10 }, () => vde.eventfd());
    const before = fdCount();
    vde.sendmsg(a, Uint8Array.of(1), sent);
    const r = vde.recvmsg(b, new Uint8Array(4), 0, 4, 3)!;
    expect(r.ctrunc).to.equal(true);
    expect(r.fds).to.have.length(3);
    expect(fdCount()).to.equal(before + 3); // the kernel dropped the 7 that did not fit
    for (const fd of r.fds) vde.close(fd);
    expect(fdCount()).to.equal(before);

    // maxFds 0: no control buffer at all
    vde.sendmsg(a, Uint8Array.of(2), sent.slice(0, 2));
    const r0 = vde.recvmsg(b, new Uint8Array(4), 0, 4, 0)!;
    expect(r0).to.deep.equal({ bytes: 1, fds: [], ctrunc: true, truncated: false });
    expect(fdCount()).to.equal(before);
    for (const fd of [a, b, ...sent]) vde.close(fd);
  });

  it('up to 253 fds in one message (SCM_MAX_FD); more is a RangeError', () => {
    const [a, b] = vde.socketpair('seqpacket');
    const efd = vde.eventfd();
    const many = new Array<number>(253).fill(efd);
    const before = fdCount();
    vde.sendmsg(a, Uint8Array.of(1), many);
    const r = vde.recvmsg(b, new Uint8Array(4), 0, 4, 253)!;
    expect(r.ctrunc).to.equal(false);
    expect(r.fds).to.have.length(253);
    for (const fd of r.fds) vde.close(fd);
    expect(fdCount()).to.equal(before);
    expect(() => vde.sendmsg(a, Uint8Array.of(1), new Array<number>(254).fill(efd))).to.throw(RangeError);
    expect(() => vde.sendmsg(a, Uint8Array.of(1), ['3' as unknown as number])).to.throw(TypeError);
    expect(() => vde.sendmsg(a, Uint8Array.of(1), [-1])).to.throw(RangeError);
    expect(() => vde.sendmsg(a, Uint8Array.of(1), [999999])).to.throw(vde.SysError).with.property('code', 'EBADF');
    for (const fd of [a, b, efd]) vde.close(fd);
  });
});
