import { expect } from 'chai';
import * as fs from 'fs';
import * as path from 'path';
import * as vde from '../lib/index';
import { tmpDir } from './support';

describe('net-vde errors', () => {
  it('a failed system call is a SysError with errno, code and syscall', () => {
    try {
      vde.close(-1);
      expect.fail('close(-1) did not throw');
    } catch (e) {
      expect(e).to.be.instanceOf(vde.SysError);
      expect(e).to.be.instanceOf(Error);
      const err = e as vde.SysError;
      expect(err.name).to.equal('SysError');
      expect(err.errno).to.equal(9);
      expect(err.code).to.equal('EBADF');
      expect(err.syscall).to.equal('close');
      expect(err.message).to.match(/close.*Bad file descriptor.*EBADF/);
    }
  });

  it('connect to a missing path is ENOENT; to a non-listening socket ECONNREFUSED', () => {
    const dir = tmpDir();
    const fd = vde.socket('stream');
    expect(() => vde.connect(fd, path.join(dir, 'missing'))).to.throw(vde.SysError).with.include({
      code: 'ENOENT',
      syscall: 'connect',
      errno: 2,
    });
    const bound = vde.socket('stream');
    vde.bind(bound, path.join(dir, 'bound'));
    expect(() => vde.connect(fd, path.join(dir, 'bound'))).to.throw(vde.SysError).with.property('code', 'ECONNREFUSED');
    vde.close(fd);
    vde.close(bound);
    fs.rmSync(dir, { recursive: true });
  });

  it('recvmsg/sendmsg/accept/listen on bad fds name their syscall', () => {
    const buf = new Uint8Array(4);
    expect(() => vde.recvmsg(-1, buf)).to.throw(vde.SysError).with.include({ code: 'EBADF', syscall: 'recvmsg' });
    expect(() => vde.sendmsg(-1, buf)).to.throw(vde.SysError).with.include({ code: 'EBADF', syscall: 'sendmsg' });
    expect(() => vde.accept(-1)).to.throw(vde.SysError).with.include({ code: 'EBADF', syscall: 'accept4' });
    const efd = vde.eventfd();
    expect(() => vde.listen(efd, 1)).to.throw(vde.SysError).with.include({ code: 'ENOTSOCK', syscall: 'listen' });
    expect(() => vde.recvmmsg(efd, buf, 4, new Uint32Array(1), 1)).to.throw(vde.SysError).with.include({ code: 'ENOTSOCK' });
    vde.close(efd);
  });

  it('wrong argument types are TypeErrors, out-of-range values RangeErrors', () => {
    const [a, b] = vde.socketpair('dgram');
    expect(() => vde.sendmsg(a, 'text' as unknown as Uint8Array)).to.throw(TypeError);
    expect(() => vde.sendmsg(a, [1, 2] as unknown as Uint8Array)).to.throw(TypeError);
    expect(() => vde.sendmsg('1' as unknown as number, new Uint8Array(1))).to.throw(TypeError);
    expect(() => vde.sendmsg(1.5, new Uint8Array(1))).to.throw(TypeError);
    expect(() => vde.sendmsg(2 ** 31, new Uint8Array(1))).to.throw(RangeError);
    expect(() => vde.sendmsg(a, new Uint8Array(1), 5 as unknown as number[])).to.throw(TypeError);
    expect(() => vde.recvmsg(b, null as unknown as Uint8Array)).to.throw(TypeError);
    expect(() => vde.listen(a, -1)).to.throw(RangeError);
    expect(() => vde.connect(a, 5 as unknown as string)).to.throw(TypeError);
    // any ArrayBufferView is accepted, with its own byte range
    const big = new Uint8Array(16).fill(0xaa);
    const dv = new DataView(big.buffer, 4, 4);
    vde.sendmsg(a, new Uint16Array([0x0201, 0x0403]) as unknown as Uint8Array);
    expect(vde.recvmsg(b, dv as unknown as Uint8Array)!.bytes).to.equal(4);
    expect([...big.subarray(2, 10)]).to.deep.equal([0xaa, 0xaa, 1, 2, 3, 4, 0xaa, 0xaa]);
    vde.close(a);
    vde.close(b);
  });
});
