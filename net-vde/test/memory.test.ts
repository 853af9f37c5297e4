import { expect } from 'chai';
import * as vde from '../lib/index';
import { LIB, runNode } from './support';

describe('net-vde memfd and mmap', () => {
  it('memfdCreate sizes the file; fstatSize reads it back', () => {
    const fd = vde.memfdCreate('sized', 3 * 4096 + 5);
    expect(vde.fstatSize(fd)).to.equal(3 * 4096 + 5);
    vde.close(fd);
    expect(() => vde.memfdCreate('x'.repeat(250), 1)).to.throw(RangeError);
    expect(() => vde.memfdCreate('neg', -1)).to.throw(RangeError);
    expect(() => vde.fstatSize(-1)).to.throw(vde.SysError).with.property('syscall', 'fstat');
  });

  it('two mappings of one memfd see the same bytes; offsets map the right pages', () => {
    const fd = vde.memfdCreate('shared', 4 * 4096);
    const whole = vde.mmap(fd, 4 * 4096);
    const other = vde.mmap(fd, 4 * 4096, 0);
    const page2 = vde.mmap(fd, 4096, 2 * 4096);
    expect(whole.length).to.equal(4 * 4096);
    expect(whole.mapped).to.equal(true);
    const a = new Uint8Array(whole.buffer);
    const b = new Uint8Array(other.buffer);
    a[100] = 0x5a;
    expect(b[100]).to.equal(0x5a);
    b[2 * 4096 + 7] = 0x77;
    expect(new Uint8Array(page2.buffer)[7]).to.equal(0x77);
    for (const m of [whole, other, page2]) m.unmap();
    vde.close(fd);
  });

  it('unmap detaches: views read as length 0, Buffer access throws, nothing crashes; double unmap is a no-op', () => {
    const fd = vde.memfdCreate('detach', 8192);
    const m = vde.mmap(fd, 8192);
    const u8 = new Uint8Array(m.buffer);
    const u32 = new Uint32Array(m.buffer, 4096);
    const dv = new DataView(m.buffer);
    const buf = Buffer.from(m.buffer);
    u8[0] = 1;
    m.unmap();
    expect(m.mapped).to.equal(false);
    expect(m.buffer.byteLength).to.equal(0);
    expect(m.length).to.equal(8192);
    expect(u8.length).to.equal(0);
    expect(u32.length).to.equal(0);
    expect(buf.length).to.equal(0);
    expect(u8[0]).to.equal(undefined);
    u8[0] = 7; // ignored, not a crash
    expect(() => buf.readUInt32LE(0)).to.throw(RangeError);
    expect(() => dv.getUint8(0)).to.throw(TypeError);
    expect(() => new Uint8Array(m.buffer, 0, 1)).to.throw();
    m.unmap();
    // the addon also refuses detached memory as an I/O buffer: length 0
    const [s, t] = vde.socketpair('dgram');
    vde.sendmsg(s, Uint8Array.of(1, 2, 3));
    expect(vde.recvmsg(t, u8)).to.deep.include({ bytes: 0, truncated: true });
    expect(() => vde.recvmsg(t, u8, 1)).to.throw(RangeError);
    for (const x of [s, t, fd]) vde.close(x);
  });

  it('rejects bad mmap arguments with clear errors', () => {
    const fd = vde.memfdCreate('args', 8192);
    expect(() => vde.mmap(fd, 0)).to.throw(RangeError, /length/);
    expect(() => vde.mmap(fd, 4096, 100)).to.throw(RangeError, /page size/);
    expect(() => vde.mmap(fd, 4096, -4096)).to.throw(RangeError);
    expect(() => vde.mmap(fd, 2 ** 32 + 1)).to.throw(RangeError);
    expect(() => vde.mmap(fd, 'x' as unknown as number)).to.throw(TypeError);
    // past the end of the file: a later access would SIGBUS, so refuse it now
    expect(() => vde.mmap(fd, 3 * 4096)).to.throw(RangeError, /end of the file/);
    expect(() => vde.mmap(fd, 4096, 8192)).to.throw(RangeError, /end of the file/);
    expect(() => vde.mmap(-1, 4096)).to.throw(vde.SysError).with.property('code', 'EBADF');
    const [s] = vde.socketpair('stream');
    expect(() => vde.mmap(s, 4096)).to.throw(vde.SysError).with.property('syscall', 'mmap');
    vde.close(s);
    // unmap of an ArrayBuffer that mmap did not make
    expect(() => new vde.Mapping(new ArrayBuffer(8)).unmap()).to.throw(TypeError);
    vde.close(fd);
  });

  it('maps exactly 4 GiB (Node 20 ArrayBuffer limit) without touching it', () => {
    const fd = vde.memfdCreate('big', 2 ** 32);
    const m = vde.mmap(fd, 2 ** 32);
    const view = new Uint8Array(m.buffer);
    expect(view.length).to.equal(2 ** 32);
    view[2 ** 32 - 1] = 9;
    expect(view[2 ** 32 - 1]).to.equal(9);
    m.unmap();
    vde.close(fd);
  });

  it('the GC finalizer unmaps mappings that were never unmapped (child process, --expose-gc)', () => {
    const script = `
      const vde = require(${JSON.stringify(LIB)});
      const fs = require('fs');
      const count = () => fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.includes('memfd:gc-probe')).length;
      const fd = vde.memfdCreate('gc-probe', 65536);
      (function () { for (let i = 0; i < 100; i++) new Uint8Array(vde.mmap(fd, 65536).buffer)[0] = i; })();
      const mapped = count();
      (async () => {
        for (let i = 0; i < 20 && count() > 0; i++) { global.gc(); await new Promise((r) => setTimeout(r, 20)); }
        // explicit unmap then GC: the finalizer must not unmap a second time (the address may be reused)
        // (keep is mapped right after the unmap, before that finalizer runs: likely at the same address)
        const m = vde.mmap(fd, 65536);
        const addrReused = (m.unmap(), vde.mmap(fd, 65536));
        const keep = addrReused;
        for (let i = 0; i < 5; i++) { global.gc(); await new Promise((r) => setTimeout(r, 20)); }
        new Uint8Array(keep.buffer)[5] = 1;
        console.log(JSON.stringify({ mapped, after: count() }));
      })();`;
    const r = runNode(script, ['--expose-gc']);
    expect(r.signal, r.stderr).to.equal(null);
    expect(r.status, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout) as { mapped: number; after: number };
    expect(out.mapped).to.be.at.least(100);
    expect(out.after).to.equal(1); // only `keep`
  });

  it('fences are callable (x86-64: compiler barriers for acquire/release, mfence for seq_cst)', () => {
    expect(vde.fenceAcquire()).to.equal(undefined);
    expect(vde.fenceRelease()).to.equal(undefined);
    expect(vde.fenceSeqCst()).to.equal(undefined);
  });
});
