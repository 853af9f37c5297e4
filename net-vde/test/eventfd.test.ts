import { expect } from 'chai';
import * as vde from '../lib/index';
import { isCloexec, isNonblocking } from './support';

describe('net-vde eventfd', () => {
  it('reads the sum of writes and resets; null when zero', () => {
    const fd = vde.eventfd();
    expect(isCloexec(fd)).to.equal(true);
    expect(isNonblocking(fd)).to.equal(true);
    expect(vde.eventfdRead(fd)).to.equal(null);
    expect(vde.eventfdWrite(fd)).to.equal(true); // default 1n
    expect(vde.eventfdWrite(fd, 7n)).to.equal(true);
    expect(vde.eventfdWrite(fd, 7n)).to.equal(true);
    expect(vde.eventfdRead(fd)).to.equal(15n);
    expect(vde.eventfdRead(fd)).to.equal(null);
    vde.close(fd);
  });

  it('starts from initval', () => {
    const fd = vde.eventfd(3);
    expect(vde.eventfdRead(fd)).to.equal(3n);
    vde.close(fd);
    expect(() => vde.eventfd(-1)).to.throw(RangeError);
    expect(() => vde.eventfd(2 ** 32)).to.throw(RangeError);
  });

  it('holds up to 2^64 - 2; a write that would overflow returns false (EAGAIN) and changes nothing', () => {
    const fd = vde.eventfd();
    const max = 2n ** 64n - 2n;
    expect(vde.eventfdWrite(fd, max)).to.equal(true);
    expect(vde.eventfdWrite(fd, 1n)).to.equal(false);
    expect(vde.eventfdRead(fd)).to.equal(max);
    expect(() => vde.eventfdWrite(fd, 2n ** 64n - 1n)).to.throw(RangeError);
    expect(() => vde.eventfdWrite(fd, -1n)).to.throw(RangeError);
    expect(() => vde.eventfdWrite(fd, 'x' as unknown as bigint)).to.throw(TypeError);
    vde.close(fd);
  });

  it('reports errors on a bad fd', () => {
    expect(() => vde.eventfdRead(-1)).to.throw(vde.SysError).with.include({ code: 'EBADF', syscall: 'read' });
    expect(() => vde.eventfdWrite(-1)).to.throw(vde.SysError).with.include({ code: 'EBADF', syscall: 'write' });
  });
});
