import { expect } from 'chai';
import * as vde from '../lib/index';
import { LIB, runNode, sleep, waitFor } from './support';

describe('net-vde Poller (uv_poll)', () => {
  it('fires on readability, and not at all while idle (no busy loop)', async () => {
    const fd = vde.eventfd();
    const seen: Array<[number, vde.SysError | null]> = [];
    const p = new vde.Poller(fd, (events, error) => {
      seen.push([events, error]);
      vde.eventfdRead(fd); // drain: level-triggered readiness ends
    });
    p.start(vde.POLL_READABLE);
    await sleep(200);
    expect(seen.length, 'callbacks while idle').to.equal(0);
    vde.eventfdWrite(fd, 2n);
    await waitFor(() => seen.length > 0);
    expect(seen[0]).to.deep.equal([vde.POLL_READABLE, null]);
    await sleep(200);
    expect(seen.length, 'callbacks after draining').to.equal(1);
    p.close();
    vde.close(fd);
  });

  it('stop() silences it, start() resumes; close() is idempotent and final', async () => {
    const fd = vde.eventfd();
    let calls = 0;
    const p = new vde.Poller(fd, () => {
      calls++;
      vde.eventfdRead(fd);
    });
    p.start(vde.POLL_READABLE);
    p.stop();
    p.stop();
    vde.eventfdWrite(fd);
    await sleep(100);
    expect(calls).to.equal(0);
    p.start(vde.POLL_READABLE);
    await waitFor(() => calls === 1);
    p.close();
    p.close();
    p.stop();
    expect(() => p.start(vde.POLL_READABLE)).to.throw(Error, /closed/);
    vde.eventfdWrite(fd);
    await sleep(50);
    expect(calls).to.equal(1);
    // the fd itself is untouched by close(): a new poller can watch it
    const q = new vde.Poller(fd, () => calls++);
    q.start(vde.POLL_READABLE);
    await waitFor(() => calls > 1);
    q.close();
    vde.close(fd);
  });

  it('reports writability and peer disconnect on sockets', async () => {
    const [a, b] = vde.socketpair('seqpacket');
    let events = 0;
    const p = new vde.Poller(a, (ev) => {
      events |= ev;
    });
    p.start(vde.POLL_WRITABLE);
    await waitFor(() => (events & vde.POLL_WRITABLE) !== 0);
    events = 0;
    p.start(vde.POLL_READABLE | vde.POLL_DISCONNECT); // change the mask in place
    vde.close(b);
    await waitFor(() => (events & vde.POLL_DISCONNECT) !== 0);
    p.close();
    vde.close(a);
  });

  it('runs the callback inside a proper callback scope (process.nextTick and microtasks drain)', async () => {
    const fd = vde.eventfd(1);
    const order: string[] = [];
    const p = new vde.Poller(fd, () => {
      vde.eventfdRead(fd);
      p.stop();
      process.nextTick(() => order.push('tick'));
      void Promise.resolve().then(() => order.push('micro'));
      order.push('cb');
    });
    p.start(vde.POLL_READABLE);
    await waitFor(() => order.length === 3);
    expect(order[0]).to.equal('cb');
    p.close();
    vde.close(fd);
  });

  it('errors: a second started poller on one fd (EEXIST), a bad fd, bad events, a non-function', () => {
    const fd = vde.eventfd();
    const p = new vde.Poller(fd, () => undefined);
    p.start(vde.POLL_READABLE);
    expect(() => new vde.Poller(fd, () => undefined)).to.throw(vde.SysError).with.include({ code: 'EEXIST', syscall: 'uv_poll_init' });
    expect(() => p.start(0)).to.throw(RangeError);
    expect(() => p.start(8)).to.throw(RangeError);
    p.close();
    vde.close(fd);
    expect(() => new vde.Poller(-1, () => undefined)).to.throw(vde.SysError).with.property('code', 'EBADF');
    expect(() => new vde.Poller(0, 'x' as unknown as vde.PollCallback)).to.throw(TypeError);
  });

  it('close(fd) stops a started poller on that fd; starting it again is EBADF, not a libuv abort', async () => {
    const fd = vde.eventfd(1);
    let calls = 0;
    const p = new vde.Poller(fd, () => calls++);
    p.start(vde.POLL_READABLE);
    vde.close(fd); // same tick as start(): libuv has not registered the fd with epoll yet
    await sleep(50);
    expect(calls).to.equal(0);
    expect(() => p.start(vde.POLL_READABLE)).to.throw(vde.SysError).with.property('code', 'EBADF');
    p.close();
  });

  it('a poller left over from a closed fd never disturbs a new socket that reuses the fd number', async () => {
    const [a, b] = vde.socketpair('dgram');
    const stale = new vde.Poller(a, () => undefined);
    stale.start(vde.POLL_READABLE);
    vde.close(a);
    vde.close(b);
    const [c, d] = vde.socketpair('dgram'); // the kernel hands out the lowest free numbers again
    expect([c, d]).to.include(a);
    const reused = c === a ? c : d;
    const peer = reused === c ? d : c;
    let fired = 0;
    const live = new vde.Poller(reused, () => {
      fired++;
      vde.recvmsg(reused, new Uint8Array(16));
    });
    live.start(vde.POLL_READABLE);
    await sleep(20); // let libuv register the live watcher with epoll
    stale.stop();
    stale.close(); // must not unregister the live watcher of the same fd number
    vde.sendmsg(peer, Uint8Array.of(1));
    await waitFor(() => fired > 0, 1000);
    live.close();
    vde.close(c);
    vde.close(d);
  });

  it('a throwing callback becomes an uncaughtException (child process)', () => {
    const r = runNode(`
      const vde = require(${JSON.stringify(LIB)});
      process.on('uncaughtException', (e) => { console.log('caught ' + e.message); process.exit(0); });
      const fd = vde.eventfd(1);
      new vde.Poller(fd, () => { throw new Error('boom'); }).start(vde.POLL_READABLE);`);
    expect(r.signal, r.stderr).to.equal(null);
    expect(r.stdout.trim()).to.equal('caught boom');
    expect(r.status).to.equal(0);
  });

  it('a started poller survives GC without a reference; a dropped stopped one is closed by GC (child process)', () => {
    const r = runNode(`
      const vde = require(${JSON.stringify(LIB)});
      const fd = vde.eventfd();
      let calls = 0;
      (function () { new vde.Poller(fd, () => { calls++; vde.eventfdRead(fd); }).start(vde.POLL_READABLE); })();
      const other = vde.eventfd();
      (function () { for (let i = 0; i < 50; i++) new vde.Poller(other, () => {}); })();
      (async () => {
        for (let i = 0; i < 5; i++) { global.gc(); await new Promise((r) => setTimeout(r, 20)); }
        vde.eventfdWrite(fd);
        await new Promise((r) => setTimeout(r, 100));
        console.log(calls);
        process.exit(0);
      })();`, ['--expose-gc']);
    expect(r.signal, r.stderr).to.equal(null);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.equal('1');
  });

  it('env teardown closes active pollers: worker exit and process exit do not abort (child process)', () => {
    const r = runNode(`
      const { Worker } = require('worker_threads');
      const lib = ${JSON.stringify(LIB)};
      const src = "const vde = require(" + JSON.stringify(lib) + ");" +
        "const fd = vde.eventfd(); const ps = [];" +
        "for (let i = 0; i < 4; i++) { const e = vde.eventfd(); const p = new vde.Poller(e, () => {}); p.start(vde.POLL_READABLE); ps.push(p); }" +
        "new vde.Poller(fd, () => {}).start(vde.POLL_READABLE);" +
        "require('worker_threads').parentPort.postMessage('ready');";
      let done = 0;
      const start = () => {
        const w = new Worker(src, { eval: true });
        w.on('message', () => w.terminate());
        w.on('exit', () => { if (++done === 3) finish(); else start(); });
      };
      const finish = () => {
        const vde = require(lib);
        const fd = vde.eventfd();
        new vde.Poller(fd, () => {}).start(vde.POLL_READABLE);
        console.log('workers done');
        process.exit(0);
      };
      start();`);
    expect(r.signal, r.stderr).to.equal(null);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.equal('workers done');
  });
});
