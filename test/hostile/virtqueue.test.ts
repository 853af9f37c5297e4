// A misbehaving guest driver writing the shared rings directly (vhost-user.md §5.3-12, §7.3 "Guest-controlled
// data"). Each case: the ring is marked broken with a clear reason, `errors` moves, onBroken fires once, no
// exception escapes, and afterwards the device never writes guest memory again (ring area unchanged,
// guard bytes around the regions intact).
import { expect } from 'chai';
import { ChainExpect, DescChain, SplitVirtqueue } from '../../devices/virtio/virtqueue';
import { VRING_DESC_F_INDIRECT, VRING_DESC_F_NEXT, VRING_DESC_F_WRITE } from '../../devices/virtio/ring-layout';
import { GuestRam, RamLayout, VirtqDriver } from '../support/virtio-driver';

const NEXT = VRING_DESC_F_NEXT;
const WRITE = VRING_DESC_F_WRITE;
const INDIRECT = VRING_DESC_F_INDIRECT;
const Q = 8;

interface Rig {
  ram: GuestRam;
  drv: VirtqDriver;
  vq: SplitVirtqueue;
  chain: DescChain;
  reasons: string[];
  buf: number;
}

const rams: GuestRam[] = [];
afterEach(() => {
  while (rams.length) (rams.pop() as GuestRam).close();
});

function rig(o: { expect?: ChainExpect; indirect?: boolean; layout?: RamLayout[]; eventIdx?: boolean } = {}): Rig {
  const ram = new GuestRam(o.layout);
  rams.push(ram);
  const drv = new VirtqDriver(ram, Q, { eventIdx: o.eventIdx ?? true });
  const vq = new SplitVirtqueue(1, 'hostile', o.expect ?? 'any');
  const reasons: string[] = [];
  vq.onBroken = (r) => reasons.push(r);
  const err = vq.setup(ram.guestMemory(), Q, drv.descUva, drv.availUva, drv.usedUva, 0, {
    eventIdx: o.eventIdx ?? true, indirect: o.indirect ?? true,
  });
  expect(err).to.equal(null);
  return { ram, drv, vq, chain: new DescChain(), reasons, buf: ram.alloc(4096) };
}

/** pop must break the ring with `reason`; then nothing is written and nothing escapes */
function expectBroken(r: Rig, reason: RegExp): void {
  const { vq, drv, ram, chain } = r;
  const errorsBefore = vq.errors;
  let res = 0;
  expect(() => {
    res = vq.pop(chain);
  }).not.to.throw();
  expect(res).to.equal(-1);
  expect(vq.broken).to.match(reason);
  expect(vq.errors).to.equal(errorsBefore + 1);
  expect(r.reasons).to.have.length(1);
  expect(r.reasons[0]).to.equal(vq.broken);
  assertInert(r);
  expect(ram.guardsIntact()).to.equal(true);
  expect(drv.usedIdx()).to.equal(0);
}

/** a broken ring does not read or write the rings any more, and reports no second error */
function assertInert(r: Rig): void {
  const { vq, drv, chain } = r;
  const before = drv.snapshot();
  const errors = vq.errors;
  expect(() => {
    expect(vq.pop(chain)).to.equal(-1);
    expect(vq.availCount()).to.equal(-1);
    expect(vq.pushUsed(0, 1)).to.equal(false);
    expect(vq.flushUsed()).to.equal(false);
    expect(vq.enableNotify()).to.equal(false);
    vq.disableNotify();
    expect(vq.rewind(1)).to.equal(false);
  }).not.to.throw();
  expect(drv.snapshot()).to.deep.equal(before);
  expect(vq.errors).to.equal(errors);
  expect(r.reasons).to.have.length(1);
}

/** put a one-descriptor chain at ring slot 0 and publish it */
function single(r: Rig, addr: number | bigint, len: number, flags = 0, next = 0): void {
  r.drv.writeDesc(0, addr, len, flags, next);
  r.drv.postHead(0);
  r.drv.publish();
}

describe('hostile guest: split virtqueue', () => {
  describe('descriptor addresses', () => {
    it('rejects a buffer in the hole between regions (outside guest memory)', () => {
      const r = rig();
      single(r, 0xa0000, 64);
      expectBroken(r, /descriptor 0 buffer \[0xa0000, \+64\) outside guest memory/);
    });

    it('rejects a buffer beyond the end of guest RAM', () => {
      const r = rig();
      single(r, 0x200000 + 0x1000, 64);
      expectBroken(r, /outside guest memory/);
    });

    it("rejects a buffer straddling a region's end", () => {
      const r = rig();
      single(r, 0x9fff0, 0x20);
      expectBroken(r, /\[0x9fff0, \+32\) outside guest memory/);
    });

    it('rejects a buffer crossing from one region into a GPA-adjacent one (not split, see guest-memory.ts)', () => {
      const r = rig({ layout: [{ gpa: 0x100000, size: 0x100000 }, { gpa: 0x200000, size: 0x100000 }] });
      single(r, 0x1ffff0, 0x20);
      expectBroken(r, /\[0x1ffff0, \+32\) outside guest memory/);
    });

    it('rejects a length of 4 GiB - 1 (0xffffffff) without wrapping around', () => {
      const r = rig();
      single(r, r.buf, 0xffffffff);
      expectBroken(r, /\+4294967295\) outside guest memory/);
    });

    it('rejects a 64-bit address beyond 2^53 (high word ≥ 2^21) and one just below 2^53', () => {
      const r = rig();
      single(r, 1n << 60n, 16);
      expectBroken(r, /\[0x1000000000000000, \+16\) outside guest memory/);
      const r2 = rig();
      single(r2, 2n ** 53n - 8n, 16);
      expectBroken(r2, /\[0x1ffffffffffff8, \+16\) outside guest memory/);
    });

    it('tolerates zero-length descriptors anywhere (they contribute nothing, even with a bogus address)', () => {
      const r = rig();
      r.drv.writeDesc(0, 0xffff_ffff_ffff_0000n, 0, NEXT, 1);
      r.drv.writeDesc(1, r.buf, 10, 0, 0);
      r.drv.postHead(0);
      r.drv.publish();
      expect(r.vq.pop(r.chain)).to.equal(1);
      expect(r.chain.count).to.equal(1);
      expect(r.vq.broken).to.equal(null);
    });
  });

  describe('chain structure', () => {
    it('detects a descriptor chain loop', () => {
      const r = rig();
      r.drv.writeDesc(0, r.buf, 10, NEXT, 1);
      r.drv.writeDesc(1, r.buf, 10, NEXT, 2);
      r.drv.writeDesc(2, r.buf, 10, NEXT, 0);
      r.drv.postHead(0);
      r.drv.publish();
      expectBroken(r, /head 0: descriptor loop \(more than 8 hops in ring\)/);
    });

    it('detects a descriptor pointing to itself', () => {
      const r = rig();
      single(r, r.buf, 10, NEXT, 0);
      expectBroken(r, /descriptor loop/);
    });

    it('rejects a next index out of range', () => {
      const r = rig();
      single(r, r.buf, 10, NEXT, Q);
      expectBroken(r, /descriptor 0 next index 8 out of range \(table size 8\)/);
    });

    it('rejects a head index out of range', () => {
      const r = rig();
      r.drv.postHead(Q);
      r.drv.publish();
      expectBroken(r, /head index 8 out of range \(queue size 8\)/);
      const r2 = rig();
      r2.drv.postHead(0xffff);
      r2.drv.publish();
      expectBroken(r2, /head index 65535 out of range/);
    });

    it('rejects a chain longer than the queue size (direct part + indirect table)', () => {
      const r = rig();
      const table = r.ram.alloc(16 * Q);
      for (let i = 0; i < Q; i++) r.drv.writeDescAt(table, i, r.buf, 4, i < Q - 1 ? NEXT : 0, i + 1);
      r.drv.writeDesc(0, r.buf, 4, NEXT, 1);
      r.drv.writeDesc(1, table, 16 * Q, INDIRECT, 0);
      r.drv.postHead(0);
      r.drv.publish();
      expectBroken(r, /head 0: chain longer than queue size 8/);
    });
  });

  describe('indirect tables', () => {
    for (const [len, what] of [[0, 'zero'], [24, 'not a multiple of 16'], [16 * Q + 16, 'larger than queue size × 16']] as const) {
      it(`rejects an indirect table length ${len} (${what})`, () => {
        const r = rig();
        single(r, r.buf, len, INDIRECT);
        expectBroken(r, new RegExp(`indirect table length ${len} invalid`));
      });
    }

    it('rejects an indirect table outside guest memory', () => {
      const r = rig();
      single(r, 0xa0000, 32, INDIRECT);
      expectBroken(r, /indirect table \[0xa0000, \+32\) outside guest memory/);
    });

    it('rejects nested indirect', () => {
      const r = rig();
      const inner = r.ram.alloc(16);
      r.drv.writeDescAt(inner, 0, r.buf, 10, 0, 0);
      const outer = r.ram.alloc(32);
      r.drv.writeDescAt(outer, 0, r.buf, 10, NEXT, 1);
      r.drv.writeDescAt(outer, 1, inner, 16, INDIRECT, 0);
      single(r, outer, 32, INDIRECT);
      expectBroken(r, /indirect descriptor 1 points to another indirect table/);
    });

    it('rejects INDIRECT together with NEXT', () => {
      const r = rig();
      const table = r.ram.alloc(16);
      r.drv.writeDescAt(table, 0, r.buf, 10, 0, 0);
      r.drv.writeDesc(1, r.buf, 10, 0, 0);
      single(r, table, 16, INDIRECT | NEXT, 1);
      expectBroken(r, /descriptor 0 has both INDIRECT and NEXT/);
    });

    it('rejects INDIRECT when the feature was not negotiated', () => {
      const r = rig({ indirect: false });
      const table = r.ram.alloc(16);
      r.drv.writeDescAt(table, 0, r.buf, 10, 0, 0);
      single(r, table, 16, INDIRECT);
      expectBroken(r, /INDIRECT but VIRTIO_RING_F_INDIRECT_DESC was not negotiated/);
    });

    it('detects a loop inside an indirect table', () => {
      const r = rig();
      const table = r.ram.alloc(32);
      r.drv.writeDescAt(table, 0, r.buf, 10, NEXT, 1);
      r.drv.writeDescAt(table, 1, r.buf, 10, NEXT, 0);
      single(r, table, 32, INDIRECT);
      expectBroken(r, /descriptor loop \(more than 2 hops in indirect table\)/);
    });

    it('rejects a next index beyond the indirect table', () => {
      const r = rig();
      const table = r.ram.alloc(32);
      r.drv.writeDescAt(table, 0, r.buf, 10, NEXT, 2);
      single(r, table, 32, INDIRECT);
      expectBroken(r, /indirect descriptor 0 next index 2 out of range \(table size 2\)/);
    });

    it('rejects an indirect entry outside guest memory', () => {
      const r = rig();
      const table = r.ram.alloc(16);
      r.drv.writeDescAt(table, 0, 0x300000, 0x100, 0, 0);
      single(r, table, 16, INDIRECT);
      expectBroken(r, /indirect descriptor 0 buffer \[0x300000, \+256\) outside guest memory/);
    });
  });

  describe('direction', () => {
    it('rejects a write-only descriptor on a transmit (device-readable) queue', () => {
      const r = rig({ expect: 'readable' });
      r.drv.writeDesc(0, r.buf, 12, NEXT, 1);
      r.drv.writeDesc(1, r.buf + 64, 100, WRITE, 0);
      r.drv.postHead(0);
      r.drv.publish();
      expectBroken(r, /descriptor 1 is device-writable in a device-readable \(transmit\) queue/);
    });

    it('rejects a read-only descriptor on a receive (device-writable) queue', () => {
      const r = rig({ expect: 'writable' });
      single(r, r.buf, 1526, 0);
      expectBroken(r, /descriptor 0 is device-readable in a device-writable \(receive\) queue/);
    });

    it('rejects a read-only descriptor inside an indirect table on a receive queue', () => {
      const r = rig({ expect: 'writable' });
      const table = r.ram.alloc(32);
      r.drv.writeDescAt(table, 0, r.buf, 12, WRITE | NEXT, 1);
      r.drv.writeDescAt(table, 1, r.buf + 64, 100, 0, 0);
      single(r, table, 32, INDIRECT | WRITE);
      expectBroken(r, /indirect descriptor 1 is device-readable in a device-writable/);
    });

    it('rejects a readable descriptor after a writable one', () => {
      const r = rig({ expect: 'any' });
      r.drv.writeDesc(0, r.buf, 12, WRITE | NEXT, 1);
      r.drv.writeDesc(1, r.buf + 64, 100, 0, 0);
      r.drv.postHead(0);
      r.drv.publish();
      expectBroken(r, /readable descriptor 1 after a writable one/);
    });
  });

  describe('avail index', () => {
    it('breaks when avail.idx runs ahead by more than the ring size (seen by pop)', () => {
      const r = rig();
      r.drv.setAvailIdx(Q + 1);
      expectBroken(r, /avail index jumped from 0 to 9: 9 new buffers exceed queue size 8/);
    });

    it('breaks when avail.idx runs ahead (seen by availCount and enableNotify)', () => {
      const r = rig();
      r.drv.setAvailIdx(0x8000);
      expect(r.vq.availCount()).to.equal(-1);
      expect(r.vq.broken).to.match(/avail index jumped from 0 to 32768/);
      assertInert(r);
      const r2 = rig();
      r2.drv.setAvailIdx(0xffff); // "behind" by one is also a jump of 65535
      expect(r2.vq.enableNotify()).to.equal(false);
      expect(r2.vq.broken).to.match(/avail index jumped from 0 to 65535/);
      assertInert(r2);
    });

    it('breaks when avail.idx jumps after some valid traffic', () => {
      const r = rig();
      r.drv.addChain([{ data: new Uint8Array(8) }]);
      r.drv.publish();
      expect(r.vq.pop(r.chain)).to.equal(1);
      r.vq.pushUsed(r.chain.head, 0);
      expect(r.vq.flushUsed()).to.equal(true);
      r.drv.setAvailIdx(1 + Q + 1);
      const before = r.drv.snapshot();
      expect(r.vq.pop(r.chain)).to.equal(-1);
      expect(r.vq.broken).to.match(/jumped from 1 to 10/);
      expect(r.drv.snapshot()).to.deep.equal(before);
      expect(r.drv.usedIdx()).to.equal(1);
    });
  });

  describe('memory going away', () => {
    it('breaks (no exception) when the mapping under a running ring is unmapped before remap', () => {
      const ram = new GuestRam();
      rams.push(ram);
      const drv = new VirtqDriver(ram, Q);
      const mapping = ram.mapAgain();
      const vq = new SplitVirtqueue(0, 'unmapped');
      const reasons: string[] = [];
      vq.onBroken = (x) => reasons.push(x);
      expect(vq.setup(ram.guestMemory(mapping), Q, drv.descUva, drv.availUva, drv.usedUva, 0, { eventIdx: false, indirect: false })).to.equal(null);
      drv.addChain([{ data: new Uint8Array(8) }]);
      drv.publish();
      mapping.unmap();
      let res = 0;
      expect(() => {
        res = vq.pop(new DescChain());
      }).not.to.throw();
      expect(res).to.equal(-1);
      expect(vq.broken).to.match(/guest memory access failed/);
      expect(reasons).to.have.length(1);
      expect(ram.guardsIntact()).to.equal(true);
    });
  });

  it('recovers after a new setup (device reset by the front-end)', () => {
    const r = rig();
    single(r, 0xa0000, 64);
    expectBroken(r, /outside guest memory/);
    expect(r.vq.setup(r.ram.guestMemory(), Q, r.drv.descUva, r.drv.availUva, r.drv.usedUva, 0, { eventIdx: true, indirect: true })).to.equal(null);
    expect(r.vq.broken).to.equal(null);
    r.drv.writeDesc(0, r.buf, 64, 0, 0); // the driver fixed its descriptor
    expect(r.vq.pop(r.chain)).to.equal(1);
    expect(r.vq.errors).to.equal(1);
  });
});
