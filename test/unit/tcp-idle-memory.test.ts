// Issue 3 target: ≤ 4 KiB per idle ESTABLISHED connection (V8 heap, buffers lazy and released when drained).
import { expect } from 'chai';
import { measureIdleConnectionMemory } from '../bench/tcp-idle-memory';

describe('tcp memory per idle connection', function () {
  this.timeout(120_000);
  it('2 000 connections (4 000 sockets) after an echo each: no buffer storage held, ≤ 4 KiB per socket', async () => {
    const r = await measureIdleConnectionMemory(2000);
    expect(r.connections).to.equal(4000);
    expect(r.allocatedBuffers).to.equal(0);
    expect(r.bytesPerConn).to.be.greaterThan(0);
    expect(r.bytesPerConn).to.be.at.most(4096);
  });
});
