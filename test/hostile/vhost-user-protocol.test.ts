// Hostile vhost-user front-ends: every malformed or out-of-order message gets a clear log line and a
// counter, the connection is closed, and the process serves the next front-end.
import { expect } from 'chai';
import * as fs from 'fs';
import * as vde from 'net-vde';
import { BackendUnderTest } from '../support/backend-under-test';
import { FrontReq, VhostUserFrontend } from '../support/vhost-user-frontend';

describe('vhost-user back-end against hostile front-ends', () => {
  let be: BackendUnderTest;
  beforeEach(() => {
    be = new BackendUnderTest();
  });
  afterEach(() => be.close());

  /** after a hostile act: closed, counted, logged, and a fresh front-end is served */
  async function expectRejected(fe: VhostUserFrontend, counter: string, log: RegExp): Promise<void> {
    expect(await fe.closedByPeer(), 'back-end closed the connection').to.equal(true);
    fe.close();
    expect(be.server.stats.errors[counter], `counter ${counter}`).to.equal(1);
    expect(be.server.stats.protocolErrors).to.equal(1);
    expect(be.log.has(log), `log line ${log} in:\n${be.log.lines.join('\n')}`).to.equal(true);
    const next = await VhostUserFrontend.connect(be.socket);
    expect(await next.getU64(FrontReq.GET_FEATURES)).to.equal(be.device.features);
    next.close();
  }

  it('creates its socket 0600 and answers GET_FEATURES / GET_PROTOCOL_FEATURES / GET_QUEUE_NUM', async () => {
    expect(fs.statSync(be.socket).mode & 0o777).to.equal(0o600);
    const fe = await VhostUserFrontend.connect(be.socket);
    expect(await fe.getU64(FrontReq.GET_FEATURES)).to.equal(be.device.features);
    expect(await fe.getU64(FrontReq.GET_PROTOCOL_FEATURES)).to.equal(be.device.protocolFeatures);
    expect(await fe.getU64(FrontReq.GET_QUEUE_NUM)).to.equal(1n);
    fe.close();
  });

  for (const req of [0, 46, 0xffffffff]) {
    it(`rejects unknown request ${req}`, async () => {
      const fe = await VhostUserFrontend.connect(be.socket);
      fe.send(req);
      await expectRejected(fe, 'UnknownRequest', /unsupported request UNKNOWN/);
    });
  }

  it('rejects a size field larger than any payload', async () => {
    const fe = await VhostUserFrontend.connect(be.socket);
    const h = new Uint8Array(12);
    const v = new DataView(h.buffer);
    v.setUint32(0, FrontReq.SET_FEATURES, true);
    v.setUint32(4, 1, true);
    v.setUint32(8, 0x7fffffff, true);
    fe.sendRaw(h);
    await expectRejected(fe, 'Oversize', /payload size 2147483647 exceeds/);
  });

  it('rejects a truncated header (EOF after 7 bytes)', async () => {
    const fe = await VhostUserFrontend.connect(be.socket);
    fe.sendRaw(new Uint8Array([1, 0, 0, 0, 1, 0, 0]));
    vde.close(fe.fd);
    await new Promise((r) => setTimeout(r, 100));
    expect(be.server.stats.errors.Truncated).to.equal(1);
    expect(be.log.has(/closed mid-header \(7 of 12 bytes\)/)).to.equal(true);
    const next = await VhostUserFrontend.connect(be.socket);
    expect(await next.getU64(FrontReq.GET_FEATURES)).to.equal(be.device.features);
    next.close();
  });

  it('reassembles a message dribbled one byte per write', async () => {
    const fe = await VhostUserFrontend.connect(be.socket);
    const h = new Uint8Array(12);
    new DataView(h.buffer).setUint32(0, FrontReq.GET_FEATURES, true);
    h[4] = 1;
    for (const b of h) {
      fe.sendRaw(Uint8Array.of(b));
      await new Promise((r) => setTimeout(r, 2));
    }
    const r = await fe.reply();
    expect(r.payload.getBigUint64(0, true)).to.equal(be.device.features);
    fe.close();
  });

  it('rejects wrong version bits', async () => {
    const fe = await VhostUserFrontend.connect(be.socket);
    fe.send(FrontReq.GET_FEATURES, new Uint8Array(0), [], 0x2);
    await expectRejected(fe, 'BadVersion', /bad version bits in flags 0x2/);
  });

  it('rejects a payload size that does not fit the request', async () => {
    const fe = await VhostUserFrontend.connect(be.socket);
    fe.send(FrontReq.SET_FEATURES, new Uint8Array(4));
    await expectRejected(fe, 'BadSize', /SET_FEATURES: payload of 4 bytes, expected 8/);
  });

  it('rejects SET_MEM_TABLE without fds', async () => {
    const fe = await VhostUserFrontend.connect(be.socket);
    fe.send(FrontReq.SET_MEM_TABLE, VhostUserFrontend.memTablePayload([{ gpa: 0, size: 4096, uva: 0x10000, mmapOffset: 0 }]), [], 0x9);
    const r = await fe.reply();
    expect(r.payload.getBigUint64(0, true)).to.not.equal(0n);
    await expectRejected(fe, 'BadFds', /SET_MEM_TABLE: 0 fds attached, expected 1/);
  });

  it('rejects SET_MEM_TABLE with too many regions', async () => {
    const fe = await VhostUserFrontend.connect(be.socket);
    const regions = Array.from({ length: 9 }, (_, i) => ({ gpa: i * 4096, size: 4096, uva: 0x100000 + i * 4096, mmapOffset: 0 }));
    fe.send(FrontReq.SET_MEM_TABLE, VhostUserFrontend.memTablePayload(regions), [], 0x9);
    await expectRejected(fe, 'BadRegions', /SET_MEM_TABLE: 9 regions/);
  });

  it('rejects a region whose mmap_offset runs past the end of the file', async () => {
    const fe = await VhostUserFrontend.connect(be.socket);
    const fd = vde.memfdCreate('short', 8192);
    try {
      expect(await fe.setMemTable([{ gpa: 0, size: 8192, uva: 0x7f0000000000, mmapOffset: 4096, fd }])).to.not.equal(0n);
    } finally {
      vde.close(fd);
    }
    await expectRejected(fe, 'BadRegions', /beyond the file's 8192 bytes/);
  });

  it('rejects vring addresses before the memory table', async () => {
    const fe = await VhostUserFrontend.connect(be.socket);
    fe.vringAddr(0, 0x1000, 0x3000, 0x2000);
    await expectRejected(fe, 'BadOrder', /SET_VRING_ADDR for vring 0 before the memory table/);
  });

  it('rejects a kick before the memory table', async () => {
    const fe = await VhostUserFrontend.connect(be.socket);
    const efd = vde.eventfd();
    try {
      fe.setU64(FrontReq.SET_VRING_KICK, 1n, [efd]);
    } finally {
      vde.close(efd);
    }
    await expectRejected(fe, 'BadOrder', /SET_VRING_KICK for vring 1 before its memory table/);
  });

  it('rejects a vring index out of range', async () => {
    const fe = await VhostUserFrontend.connect(be.socket);
    fe.vringState(FrontReq.SET_VRING_NUM, 0x80, 256);
    await expectRejected(fe, 'BadIndex', /vring index 128 out of range/);
  });

  for (const num of [0, 3, 65536]) {
    it(`rejects a vring size of ${num}`, async () => {
      const fe = await VhostUserFrontend.connect(be.socket);
      fe.vringState(FrontReq.SET_VRING_NUM, 0, num);
      await expectRejected(fe, 'BadValue', new RegExp(`SET_VRING_NUM ${num} for vring 0: not a power of 2`));
    });
  }

  it('rejects features that were never offered', async () => {
    const fe = await VhostUserFrontend.connect(be.socket);
    fe.setU64(FrontReq.SET_FEATURES, 1n << 34n);
    await expectRejected(fe, 'BadFeatures', /acks bits never offered/);
  });

  it('rejects fds on a message that takes none, and closes them', async () => {
    const fe = await VhostUserFrontend.connect(be.socket);
    const efd = vde.eventfd();
    const before = fs.readdirSync('/proc/self/fd').length;
    fe.send(FrontReq.GET_FEATURES, new Uint8Array(0), [efd]);
    vde.close(efd);
    await expectRejected(fe, 'BadFds', /GET_FEATURES: 1 fds attached, expected 0/);
    expect(fs.readdirSync('/proc/self/fd').length).to.be.at.most(before);
  });

  it('refuses a second front-end while one is attached, and keeps serving the first', async () => {
    const a = await VhostUserFrontend.connect(be.socket);
    expect(await a.getU64(FrontReq.GET_FEATURES)).to.equal(be.device.features);
    const b = await VhostUserFrontend.connect(be.socket);
    expect(await b.closedByPeer()).to.equal(true);
    b.close();
    expect(await a.getU64(FrontReq.GET_PROTOCOL_FEATURES)).to.equal(be.device.protocolFeatures);
    a.close();
  });
});
