import { expect } from 'chai';
import * as fs from 'fs';
import * as path from 'path';
import * as vde from '../lib/index';
import { fdCount, isCloexec, isNonblocking, tmpDir } from './support';

describe('net-vde sockets', () => {
  const open: number[] = [];
  const track = (...fds: number[]): number[] => {
    open.push(...fds);
    return fds;
  };
  afterEach(() => {
    for (const fd of open.splice(0)) vde.close(fd);
  });

  for (const type of ['stream', 'seqpacket', 'dgram'] as const) {
    it(`socketpair('${type}') carries data both ways, non-blocking and close-on-exec`, () => {
      const [a, b] = track(...vde.socketpair(type));
      expect(a).to.be.a('number').and.not.equal(b);
      for (const fd of [a, b]) {
        expect(isCloexec(fd), 'O_CLOEXEC').to.equal(true);
        expect(isNonblocking(fd), 'O_NONBLOCK').to.equal(true);
      }
      expect(vde.sendmsg(a, Uint8Array.of(1, 2, 3))).to.equal(3);
      const buf = new Uint8Array(16);
      const r = vde.recvmsg(b, buf);
      expect(r).to.deep.equal({ bytes: 3, fds: [], ctrunc: false, truncated: false });
      expect([...buf.subarray(0, 3)]).to.deep.equal([1, 2, 3]);
      expect(vde.sendmsg(b, Uint8Array.of(9))).to.equal(1);
      expect(vde.recvmsg(a, buf)!.bytes).to.equal(1);
      expect(buf[0]).to.equal(9);
      // nothing left: null, not an error
      expect(vde.recvmsg(a, buf)).to.equal(null);
    });
  }

  it('socket() makes each type, non-blocking and close-on-exec', () => {
    for (const type of ['stream', 'seqpacket', 'dgram'] as const) {
      const [fd] = track(vde.socket(type));
      expect(isCloexec(fd)).to.equal(true);
      expect(isNonblocking(fd)).to.equal(true);
    }
    expect(() => vde.socket('raw' as vde.SocketType)).to.throw(TypeError);
  });

  it('recvmsg writes only inside [offset, offset+length) and reports datagram truncation', () => {
    const [a, b] = track(...vde.socketpair('dgram'));
    vde.sendmsg(a, Uint8Array.of(1, 2, 3, 4, 5, 6));
    const buf = new Uint8Array(10).fill(0xee);
    const r = vde.recvmsg(b, buf, 2, 4)!;
    expect(r.bytes).to.equal(4);
    expect(r.truncated).to.equal(true);
    expect([...buf]).to.deep.equal([0xee, 0xee, 1, 2, 3, 4, 0xee, 0xee, 0xee, 0xee]);
    expect(() => vde.recvmsg(b, buf, 11)).to.throw(RangeError);
    expect(() => vde.recvmsg(b, buf, 4, 7)).to.throw(RangeError);
    expect(() => vde.recvmsg(b, buf, -1)).to.throw(RangeError);
    expect(() => vde.recvmsg(b, buf, 1.5)).to.throw(TypeError);
    expect(() => vde.recvmsg(b, buf, 0, 10, 254)).to.throw(RangeError);
  });

  it('seqpacket keeps message boundaries; EOF reads as 0 bytes', () => {
    const [a, b] = vde.socketpair('seqpacket');
    track(b);
    vde.sendmsg(a, new Uint8Array(5));
    vde.sendmsg(a, new Uint8Array(7));
    const buf = new Uint8Array(64);
    expect(vde.recvmsg(b, buf)!.bytes).to.equal(5);
    expect(vde.recvmsg(b, buf)!.bytes).to.equal(7);
    vde.close(a);
    expect(vde.recvmsg(b, buf)!.bytes).to.equal(0);
  });

  it('sendmsg returns null when the peer queue is full (EAGAIN), and EPIPE is an error, not SIGPIPE', () => {
    const [a, b] = vde.socketpair('dgram');
    track(a);
    const frame = new Uint8Array(1500);
    let sent = 0;
    let r: number | null;
    while ((r = vde.sendmsg(a, frame)) !== null) sent += r;
    expect(sent).to.be.greaterThan(0);
    vde.close(b);
    const [c, d] = vde.socketpair('stream');
    track(c);
    vde.close(d);
    expect(() => vde.sendmsg(c, frame)).to.throw(vde.SysError).with.property('code', 'EPIPE');
  });

  it('bind creates the socket file with mode 0600 by default, or exactly the mode asked, whatever the umask', () => {
    const dir = tmpDir();
    const old = process.umask(0);
    try {
      const [s1, s2, s3] = track(vde.socket('stream'), vde.socket('dgram'), vde.socket('seqpacket'));
      vde.bind(s1, path.join(dir, 'default'));
      process.umask(0o022);
      vde.bind(s2, path.join(dir, 'group'), 0o660);
      process.umask(0o077);
      vde.bind(s3, path.join(dir, 'restrictive'), 0o600);
    } finally {
      process.umask(old);
    }
    const st = fs.statSync(path.join(dir, 'default'));
    expect(st.isSocket()).to.equal(true);
    expect(st.mode & 0o7777).to.equal(0o600);
    expect(fs.statSync(path.join(dir, 'group')).mode & 0o7777).to.equal(0o660);
    expect(fs.statSync(path.join(dir, 'restrictive')).mode & 0o7777).to.equal(0o600);
    fs.rmSync(dir, { recursive: true });
  });

  it('bind rejects a path longer than sockaddr_un, a bad mode, a used path, and a non-socket fd (without chmod-ing it)', () => {
    const dir = tmpDir();
    const [s, t] = track(vde.socket('stream'), vde.socket('stream'));
    expect(() => vde.bind(s, '/tmp/' + 'x'.repeat(120))).to.throw(RangeError);
    expect(() => vde.bind(s, path.join(dir, 'm'), 0o1777)).to.throw(RangeError);
    expect(() => vde.bind(s, 'a\0b')).to.throw(TypeError);
    vde.bind(s, path.join(dir, 'used'));
    expect(() => vde.bind(t, path.join(dir, 'used'))).to.throw(vde.SysError).with.property('code', 'EADDRINUSE');
    const mfd = vde.memfdCreate('not-a-socket', 0);
    track(mfd);
    expect(() => vde.bind(mfd, path.join(dir, 'x'))).to.throw(vde.SysError).with.property('code', 'ENOTSOCK');
    fs.rmSync(dir, { recursive: true });
  });

  it('listen/connect/accept on a stream socket; accept returns null when nothing is pending', () => {
    const dir = tmpDir();
    const p = path.join(dir, 'ctl');
    const [srv] = track(vde.socket('stream'));
    vde.bind(srv, p);
    vde.listen(srv, 4);
    expect(vde.accept(srv)).to.equal(null);
    const [cli] = track(vde.socket('stream'));
    expect(vde.connect(cli, p)).to.equal(true);
    expect(vde.socketError(cli)).to.equal(0);
    const conn = vde.accept(srv)!;
    expect(conn).to.be.a('number');
    track(conn);
    expect(isCloexec(conn)).to.equal(true);
    expect(isNonblocking(conn)).to.equal(true);
    expect(vde.accept(srv)).to.equal(null);
    vde.sendmsg(cli, new TextEncoder().encode('hello'));
    const buf = new Uint8Array(16);
    expect(vde.recvmsg(conn, buf)!.bytes).to.equal(5);
    expect(new TextDecoder().decode(buf.subarray(0, 5))).to.equal('hello');
    fs.rmSync(dir, { recursive: true });
  });

  it('dgram sockets bound to paths and connected to each other (the VDE data path)', () => {
    const dir = tmpDir();
    const [x, y] = track(vde.socket('dgram'), vde.socket('dgram'));
    vde.bind(x, path.join(dir, 'x'));
    vde.bind(y, path.join(dir, 'y'));
    expect(vde.connect(x, path.join(dir, 'y'))).to.equal(true);
    expect(vde.connect(y, path.join(dir, 'x'))).to.equal(true);
    const frame = new Uint8Array(1514).map((_, i) => i & 0xff);
    expect(vde.sendmsg(x, frame)).to.equal(1514);
    const buf = new Uint8Array(2048);
    expect(vde.recvmsg(y, buf)!.bytes).to.equal(1514);
    expect(buf.subarray(0, 1514)).to.deep.equal(frame);
    fs.rmSync(dir, { recursive: true });
  });

  it('close releases the fd', () => {
    const before = fdCount();
    const [a, b] = vde.socketpair('stream');
    expect(fdCount()).to.equal(before + 2);
    vde.close(a);
    vde.close(b);
    expect(fdCount()).to.equal(before);
    expect(() => vde.close(a)).to.throw(vde.SysError).with.property('code', 'EBADF');
  });
});
