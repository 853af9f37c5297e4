// Split virtqueue device side against a test driver in real shared memory (memfd mapped twice: the
// driver's mapping and the device's GuestMemory mapping).
import { expect } from 'chai';
import { GuestMemory, GuestMemoryRegion } from '../../devices/virtio/guest-memory';
import { ChainExpect, DescChain, SplitVirtqueue } from '../../devices/virtio/virtqueue';
import { VRING_DESC_F_INDIRECT, VRING_DESC_F_NEXT, VRING_DESC_F_WRITE, VRING_USED_F_NO_NOTIFY, vring_need_event } from '../../devices/virtio/ring-layout';
import { featureNames, formatFeatures, VIRTIO_F_VERSION_1, VIRTIO_NET_F_MRG_RXBUF, VHOST_USER_F_PROTOCOL_FEATURES } from '../../devices/virtio/features';
import * as H from '../../devices/virtio/virtio-net-hdr';
import { GuestRam, RamLayout, VirtqDriver } from '../support/virtio-driver';

interface Rig {
  ram: GuestRam;
  drv: VirtqDriver;
  mem: GuestMemory;
  vq: SplitVirtqueue;
  chain: DescChain;
  reasons: string[];
}

const rams: GuestRam[] = [];
afterEach(() => {
  while (rams.length) (rams.pop() as GuestRam).close();
});

function rig(o: { size?: number; eventIdx?: boolean; indirect?: boolean; expect?: ChainExpect; startIdx?: number; layout?: RamLayout[] } = {}): Rig {
  const size = o.size ?? 8;
  const ram = new GuestRam(o.layout);
  rams.push(ram);
  const drv = new VirtqDriver(ram, size, { eventIdx: o.eventIdx, startIdx: o.startIdx });
  const mem = ram.guestMemory();
  const vq = new SplitVirtqueue(1, 'test', o.expect ?? 'any');
  const reasons: string[] = [];
  vq.onBroken = (r) => reasons.push(r);
  const err = vq.setup(mem, size, drv.descUva, drv.availUva, drv.usedUva, o.startIdx ?? 0, {
    eventIdx: o.eventIdx ?? false, indirect: o.indirect ?? false,
  });
  expect(err).to.equal(null);
  return { ram, drv, mem, vq, chain: new DescChain(), reasons };
}

/** the readable bytes of a popped chain, gathered */
function readable(c: DescChain): Uint8Array {
  const out = new Uint8Array(c.totalReadable);
  let at = 0;
  for (let i = 0; i < c.readableCount; i++) {
    out.set(c.buf[i].subarray(c.off[i], c.off[i] + c.len[i]), at);
    at += c.len[i];
  }
  return out;
}

/** scatter `data` into the writable segments of a chain; returns bytes written */
function scatter(c: DescChain, data: Uint8Array): number {
  let at = 0;
  for (let i = c.readableCount; i < c.count && at < data.length; i++) {
    const n = Math.min(c.len[i], data.length - at);
    c.buf[i].set(data.subarray(at, at + n), c.off[i]);
    at += n;
  }
  return at;
}

const bytes = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

describe('virtio GuestMemory', () => {
  const regions = (): GuestMemoryRegion[] => [
    { gpa: 0, size: 0x1000, uva: 0x10000, bytes: new Uint8Array(0x1000) },
    { gpa: 0x2000, size: 0x1000, uva: 0x20000, bytes: new Uint8Array(0x1000) },
    { gpa: 0x3000, size: 0x1000, uva: 0x30000, bytes: new Uint8Array(0x1000) },
  ];

  it('accepts a sane table and rejects bad ones with a reason', () => {
    expect(GuestMemory.validate(regions())).to.equal(null);
    expect(GuestMemory.validate([])).to.match(/no regions/);
    const zero = regions();
    zero[1] = { ...zero[1], size: 0, bytes: new Uint8Array(0) };
    expect(GuestMemory.validate(zero)).to.match(/region 1: zero size/);
    const ovGpa = regions();
    ovGpa[2].gpa = 0x2800;
    expect(GuestMemory.validate(ovGpa)).to.match(/regions 1 and 2 overlap in guest-physical/);
    const ovUva = regions();
    ovUva[0].uva = 0x20fff;
    expect(GuestMemory.validate(ovUva)).to.match(/regions 0 and 1 overlap in user-virtual/);
    const overflow = regions();
    overflow[0].gpa = Number.MAX_SAFE_INTEGER - 0x10;
    expect(GuestMemory.validate(overflow)).to.match(/region 0: gpa .* overflows/);
    const unsafe = regions();
    unsafe[0].uva = 2 ** 60;
    expect(GuestMemory.validate(unsafe)).to.match(/region 0: uva/);
    const short = regions();
    short[0].bytes = new Uint8Array(0x800);
    expect(GuestMemory.validate(short)).to.match(/region 0: bytes view length 2048/);
    expect(() => new GuestMemory(overflow)).to.throw(/overflows/);
  });

  it('translates GPAs and UVAs only when the whole range lies in one region', () => {
    const r = regions();
    const m = new GuestMemory(r);
    expect(m.translateGpa(0x2010, 0x10)).to.equal(0x10);
    expect(m.lastRegion).to.equal(r[1].bytes);
    expect(m.lastIndex).to.equal(1);
    expect(m.translateGpa(0x2000, 0x1000)).to.equal(0); // exactly the region
    expect(m.translateGpa(0x2001, 0x1000)).to.equal(-1); // one byte past the end
    expect(m.translateGpa(0x1000, 1)).to.equal(-1); // hole
    expect(m.translateGpa(0x2ff0, 0x20)).to.equal(-1); // crosses into the adjacent region 2: not split
    expect(m.translateGpa(0x3000, 0xffffffff)).to.equal(-1);
    expect(m.translateGpa(0x4000, 0)).to.equal(-1);
    expect(m.translateGpa(2 ** 53, 1)).to.equal(-1);
    expect(m.translateGpa(NaN, 1)).to.equal(-1);
    expect(m.translateGpa(0x10, -1)).to.equal(-1);
    expect(m.translateUva(0x30ff8, 8)).to.equal(0xff8);
    expect(m.lastRegion).to.equal(r[2].bytes);
    expect(m.translateUva(0x30ff8, 9)).to.equal(-1);
    expect(m.translateUva(0x2010, 1)).to.equal(-1); // a GPA is not a UVA
  });
});

describe('virtio features and virtio_net_hdr', () => {
  it('names feature bits', () => {
    const f = VIRTIO_F_VERSION_1 | VHOST_USER_F_PROTOCOL_FEATURES | VIRTIO_NET_F_MRG_RXBUF;
    expect(f).to.equal(0x140008000n);
    expect(featureNames(f)).to.deep.equal(['MRG_RXBUF', 'PROTOCOL_FEATURES', 'VERSION_1']);
    expect(featureNames(1n << 42n)).to.deep.equal(['bit42']);
    expect(formatFeatures(f)).to.equal('0x140008000 (MRG_RXBUF|PROTOCOL_FEATURES|VERSION_1)');
  });

  it('reads and writes the 12-byte header little-endian', () => {
    const b = new Uint8Array(20).fill(0xee);
    const h = new H.VirtioNetHdr();
    h.flags = H.VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h.gsoType = H.VIRTIO_NET_HDR_GSO_TCPV4 | H.VIRTIO_NET_HDR_GSO_ECN;
    h.hdrLen = 54;
    h.gsoSize = 1448;
    h.csumStart = 34;
    h.csumOffset = 16;
    h.numBuffers = 3;
    h.emit(b, 4);
    expect(Array.from(b.subarray(4, 16))).to.deep.equal([1, 0x81, 54, 0, 0xa8, 0x05, 34, 0, 16, 0, 3, 0]);
    expect(b[3]).to.equal(0xee);
    expect(b[16]).to.equal(0xee);
    const p = new H.VirtioNetHdr().parse(b, 4);
    expect(p).to.deep.include({ flags: 1, gsoType: 0x81, hdrLen: 54, gsoSize: 1448, csumStart: 34, csumOffset: 16, numBuffers: 3 });
    expect(H.hdrGsoSize(b, 4)).to.equal(1448);
    H.setHdrNumBuffers(b, 4, 0x1234);
    expect(H.hdrNumBuffers(b, 4)).to.equal(0x1234);
    expect(b[14]).to.equal(0x34);
    H.clearVirtioNetHdr(b, 4);
    expect(new H.VirtioNetHdr().parse(b, 4)).to.deep.include({ flags: 0, gsoType: 0, numBuffers: 0 });
    expect(H.VIRTIO_NET_HDR_V1_LEN).to.equal(12);
  });
});

describe('virtio SplitVirtqueue', () => {
  describe('setup', () => {
    it('checks size, alignment and that each ring lies inside one region', () => {
      const { ram, drv, mem } = rig({ size: 256 });
      const vq = new SplitVirtqueue(0);
      const opts = { eventIdx: true, indirect: true };
      const { descUva: d, availUva: a, usedUva: u } = drv;
      expect(vq.setup(mem, 0, d, a, u, 0, opts)).to.match(/queue size 0/);
      expect(vq.setup(mem, 3, d, a, u, 0, opts)).to.match(/queue size 3/);
      expect(vq.setup(mem, 65536, d, a, u, 0, opts)).to.match(/queue size 65536/);
      expect(vq.setup(mem, 256, d + 8, a, u, 0, opts)).to.match(/desc ring .* not aligned to 16/);
      expect(vq.setup(mem, 256, d, a + 1, u, 0, opts)).to.match(/avail ring .* not aligned to 2/);
      expect(vq.setup(mem, 256, d, a, u + 2, 0, opts)).to.match(/used ring .* not aligned to 4/);
      expect(vq.setup(mem, 256, d, a, u, 70000, opts)).to.match(/avail index 70000/);
      expect(vq.setup(mem, 256, 0x1000, a, u, 0, opts)).to.match(/desc ring .* not inside one memory region/);
      // a desc table that starts in region 0 and runs past its end
      const r0 = ram.regions[0];
      expect(vq.setup(mem, 256, r0.uva + r0.size - 0x800, a, u, 0, opts)).to.match(/desc ring .* not inside/);
      const r1 = ram.regions[1];
      expect(vq.setup(mem, 256, d, a, r1.uva + r1.size - 0x800, 0, opts)).to.match(/used ring .* not inside/);
      expect(vq.pop(new DescChain())).to.equal(-1);
      expect(vq.setup(mem, 256, d, a, u, 0, opts)).to.equal(null);
      expect(vq.isReady).to.equal(true);
    });

    it('takes the used index from used.idx and the avail index from the caller', () => {
      const { vq } = rig({ startIdx: 1234 });
      expect(vq.usedIdx).to.equal(1234);
      expect(vq.lastAvail).to.equal(1234);
      expect(vq.availCount()).to.equal(0);
    });
  });

  describe('pop', () => {
    it('pops a single readable chain in shared memory', () => {
      const { drv, vq, chain } = rig();
      expect(vq.pop(chain)).to.equal(0);
      const data = bytes(100);
      const head = drv.addChain([{ data }]);
      expect(vq.pop(chain)).to.equal(0); // not published yet
      drv.publish();
      expect(vq.availCount()).to.equal(1);
      expect(vq.pop(chain)).to.equal(1);
      expect(chain.head).to.equal(head);
      expect(chain.count).to.equal(1);
      expect(chain.readableCount).to.equal(1);
      expect(chain.totalReadable).to.equal(100);
      expect(chain.totalWritable).to.equal(0);
      expect(readable(chain)).to.deep.equal(data);
      expect(vq.pop(chain)).to.equal(0);
      expect(vq.popped).to.equal(1);
      expect(vq.inflight).to.equal(1);
      expect(vq.lastAvail).to.equal(1);
    });

    it('pops a readable+writable chain; device writes reach the driver through its own mapping', () => {
      const { ram, drv, vq, chain } = rig();
      const req = bytes(12, 5);
      const head = drv.addChain([{ data: req }, { len: 30, writable: true }, { len: 50, writable: true }]);
      drv.publish();
      expect(vq.pop(chain)).to.equal(1);
      expect(chain.count).to.equal(3);
      expect(chain.readableCount).to.equal(1);
      expect(Array.from(chain.writable.subarray(0, 3))).to.deep.equal([0, 1, 1]);
      expect(chain.totalWritable).to.equal(80);
      expect(readable(chain)).to.deep.equal(req);
      const reply = bytes(70, 9);
      expect(scatter(chain, reply)).to.equal(70);
      vq.pushUsed(chain.head, 70);
      vq.flushUsed();
      const segs = drv.segmentsOf(head);
      const got = new Uint8Array([...ram.read(segs[1].gpa, 30), ...ram.read(segs[2].gpa, 40)]);
      expect(got).to.deep.equal(reply);
      expect(drv.getUsed()).to.deep.equal([{ id: head, len: 70 }]);
    });

    it('pops an indirect chain', () => {
      const { drv, vq, chain } = rig({ indirect: true });
      const a = bytes(40, 1);
      const b = bytes(1500, 2);
      const head = drv.addChain([{ data: a }, { data: b }, { len: 64, writable: true }], { indirect: true });
      drv.publish();
      expect(drv.freeCount).to.equal(7); // one ring descriptor for the whole chain
      expect(vq.pop(chain)).to.equal(1);
      expect(chain.head).to.equal(head);
      expect(chain.count).to.equal(3);
      expect(chain.totalReadable).to.equal(1540);
      expect(chain.totalWritable).to.equal(64);
      expect(readable(chain)).to.deep.equal(new Uint8Array([...a, ...b]));
    });

    it('accepts direct descriptors followed by an indirect table', () => {
      const { ram, drv, vq, chain } = rig({ indirect: true });
      const hdr = ram.alloc(12);
      ram.write(hdr, bytes(12, 3));
      const buf = ram.alloc(100);
      ram.write(buf, bytes(100, 4));
      const table = ram.alloc(32);
      drv.writeDescAt(table, 0, buf, 60, VRING_DESC_F_NEXT, 1);
      drv.writeDescAt(table, 1, buf + 60, 40, 0, 0);
      drv.writeDesc(2, hdr, 12, VRING_DESC_F_NEXT, 5);
      drv.writeDesc(5, table, 32, VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0); // WRITE on the pointer is ignored
      drv.postHead(2);
      drv.publish();
      expect(vq.pop(chain)).to.equal(1);
      expect(chain.count).to.equal(3);
      expect(readable(chain)).to.deep.equal(new Uint8Array([...bytes(12, 3), ...bytes(100, 4)]));
    });

    it('skips zero-length descriptors', () => {
      const { drv, vq, chain } = rig();
      drv.addChain([{ data: bytes(10) }, { len: 0, gpa: 0xdead0000 }, { data: bytes(5, 2) }]);
      drv.publish();
      expect(vq.pop(chain)).to.equal(1);
      expect(chain.count).to.equal(2);
      expect(readable(chain)).to.deep.equal(new Uint8Array([...bytes(10), ...bytes(5, 2)]));
    });

    it('grows a DescChain for a chain longer than its capacity (bounded by the queue size)', () => {
      const { drv, vq } = rig({ size: 256 });
      const chain = new DescChain(4);
      drv.addChain(Array.from({ length: 100 }, (_, i) => ({ data: bytes(3, i) })));
      drv.publish();
      expect(vq.pop(chain)).to.equal(1);
      expect(chain.count).to.equal(100);
      expect(chain.capacity).to.be.at.least(100);
      expect(chain.totalReadable).to.equal(300);
      expect(Array.from(readable(chain).subarray(297))).to.deep.equal(Array.from(bytes(3, 99)));
    });

    it('handles 16-bit index wrap-around (start near 65535)', () => {
      const size = 8;
      const { drv, vq, chain } = rig({ size, startIdx: 65530 });
      const seen: number[] = [];
      let n = 0;
      for (let round = 0; round < 5; round++) {
        const heads: number[] = [];
        for (let k = 0; k < 5; k++) heads.push(drv.addChain([{ data: Uint8Array.of(n++ & 0xff) }]));
        drv.publish();
        expect(vq.availCount()).to.equal(5);
        for (let k = 0; k < 5; k++) {
          expect(vq.pop(chain)).to.equal(1);
          expect(chain.head).to.equal(heads[k]);
          seen.push(chain.buf[0][chain.off[0]]);
          vq.pushUsed(chain.head, k);
        }
        expect(vq.pop(chain)).to.equal(0);
        vq.flushUsed();
        const used = drv.getUsed();
        expect(used.map((u) => u.id)).to.deep.equal(heads);
        expect(used.map((u) => u.len)).to.deep.equal([0, 1, 2, 3, 4]);
      }
      expect(seen).to.deep.equal(Array.from({ length: 25 }, (_, i) => i));
      expect(vq.lastAvail).to.equal((65530 + 25) & 0xffff);
      expect(vq.usedIdx).to.equal((65530 + 25) & 0xffff);
      expect(drv.usedIdx()).to.equal(19);
      expect(vq.broken).to.equal(null);
    });

    it('rewinds popped chains so they are popped again in order', () => {
      const { drv, vq, chain } = rig();
      const heads = [0, 1, 2, 3].map((i) => drv.addChain([{ len: 100 + i, writable: true }]));
      drv.publish();
      const popped: number[] = [];
      for (let i = 0; i < 3; i++) {
        vq.pop(chain);
        popped.push(chain.head);
      }
      expect(vq.rewind(4)).to.equal(false); // only 3 in flight
      expect(vq.rewind(2)).to.equal(true);
      expect(vq.inflight).to.equal(1);
      expect(vq.lastAvail).to.equal(1);
      expect(vq.availCount()).to.equal(3);
      const again: number[] = [];
      while (vq.pop(chain) === 1) again.push(chain.head);
      expect(popped).to.deep.equal(heads.slice(0, 3));
      expect(again).to.deep.equal(heads.slice(1));
      expect(vq.rewound).to.equal(2);
      expect(vq.popped).to.equal(4);
    });

    it('writes used elements where the driver expects them and publishes only on flush', () => {
      const { drv, vq, chain } = rig({ size: 4 });
      const heads = [drv.addChain([{ len: 10, writable: true }]), drv.addChain([{ len: 20, writable: true }])];
      drv.publish();
      vq.pop(chain);
      vq.pop(chain);
      expect(vq.pushUsed(heads[1], 7)).to.equal(true);
      expect(vq.pushUsed(heads[0], 0xfffffff0)).to.equal(true);
      expect(vq.pushUsed(4, 1)).to.equal(false); // head out of range: refused, not written
      expect(drv.usedIdx()).to.equal(0); // not visible yet
      expect(drv.usedElem(0)).to.deep.equal({ id: heads[1], len: 7 });
      expect(drv.usedElem(1)).to.deep.equal({ id: heads[0], len: 0xfffffff0 });
      vq.flushUsed();
      expect(drv.usedIdx()).to.equal(2);
      expect(vq.used).to.equal(2);
      expect(vq.inflight).to.equal(0);
    });

    it('refuses to push more than a ring of unpublished used elements', () => {
      const { drv, vq, chain } = rig({ size: 4 });
      for (let i = 0; i < 4; i++) drv.addChain([{ len: 8, writable: true }]);
      drv.publish();
      while (vq.pop(chain) === 1) expect(vq.pushUsed(chain.head, 8)).to.equal(true);
      expect(vq.pushUsed(0, 8)).to.equal(false); // would overwrite slot 0 before it is published
      expect(vq.flushUsed()).to.equal(true);
      expect(drv.getUsed().map((u) => u.id)).to.deep.equal([0, 1, 2, 3]);
    });

    it('keeps working after remap to a new mapping of the same memory; breaks if the rings are gone', () => {
      const { ram, drv, vq, chain } = rig();
      drv.addChain([{ data: bytes(8) }]);
      drv.publish();
      expect(vq.pop(chain)).to.equal(1);
      expect(vq.remap(ram.guestMemory())).to.equal(null);
      drv.addChain([{ data: bytes(9, 4) }]);
      drv.publish();
      expect(vq.pop(chain)).to.equal(1);
      expect(readable(chain)).to.deep.equal(bytes(9, 4));
      expect(vq.lastAvail).to.equal(2);
      const elsewhere = new GuestMemory([{ gpa: 0, size: 4096, uva: 1 << 20, bytes: new Uint8Array(4096) }]);
      expect(vq.remap(elsewhere)).to.match(/desc ring/);
      expect(vq.broken).to.match(/after memory table change/);
      expect(vq.pop(chain)).to.equal(-1);
    });

    it('stops touching memory after reset()', () => {
      const { drv, vq, chain } = rig();
      drv.addChain([{ data: bytes(8) }]);
      drv.publish();
      vq.reset();
      const before = drv.snapshot();
      expect(vq.pop(chain)).to.equal(-1);
      expect(vq.availCount()).to.equal(-1);
      expect(vq.pushUsed(0, 1)).to.equal(false);
      expect(vq.flushUsed()).to.equal(false);
      expect(vq.enableNotify()).to.equal(false);
      vq.disableNotify();
      expect(drv.snapshot()).to.deep.equal(before);
    });
  });

  describe('notifications', () => {
    it('device → driver without EVENT_IDX follows avail.flags NO_INTERRUPT', () => {
      const { drv, vq, chain } = rig();
      drv.addChain([{ len: 10, writable: true }]);
      drv.addChain([{ len: 10, writable: true }]);
      drv.publish();
      expect(vq.flushUsed()).to.equal(false); // nothing pushed
      vq.pop(chain);
      vq.pushUsed(chain.head, 1);
      expect(vq.flushUsed()).to.equal(true);
      drv.disableInterrupts();
      vq.pop(chain);
      vq.pushUsed(chain.head, 1);
      expect(vq.flushUsed()).to.equal(false);
      expect(vq.signals).to.equal(1);
      expect(vq.suppressed).to.equal(1);
    });

    it('device → driver with EVENT_IDX applies vring_need_event to used_event', () => {
      const { drv, vq, chain } = rig({ size: 16, eventIdx: true });
      for (let i = 0; i < 10; i++) drv.addChain([{ len: 10, writable: true }]);
      drv.publish();
      const complete = (n: number): void => {
        for (let i = 0; i < n; i++) {
          expect(vq.pop(chain)).to.equal(1);
          vq.pushUsed(chain.head, 0);
        }
      };
      drv.setUsedEvent(100); // far away: still the first decision after setup always signals
      complete(1);
      expect(vq.flushUsed()).to.equal(true); // used 0 → 1
      drv.setUsedEvent(1); // wake me when used.idx passes 1 (i.e. becomes 2)
      complete(1);
      expect(vq.flushUsed()).to.equal(true); // 1 → 2 crosses 1
      drv.setUsedEvent(5);
      complete(2);
      expect(vq.flushUsed()).to.equal(false); // 2 → 4 does not cross 5
      complete(3);
      expect(vq.flushUsed()).to.equal(true); // 4 → 7 crosses 5
      drv.setUsedEvent(6); // already crossed by the last signal (7): no second interrupt for it
      complete(1);
      expect(vq.flushUsed()).to.equal(false); // 7 → 8
      drv.enableInterrupts(); // used_event = lastUsed (0, the driver consumed nothing)
      complete(1);
      expect(vq.flushUsed()).to.equal(false); // 8 → 9: event 0 long passed
      expect(vq.signals).to.equal(3);
      expect(vq.suppressed).to.equal(3);
      expect(vring_need_event(0xffff, 0, 0xfffe)).to.equal(true); // wraps
      expect(vring_need_event(0xffff, 0xffff, 0xfffe)).to.equal(false);
    });

    it('driver → device with EVENT_IDX: avail_event from enableNotify drives the kick decision', () => {
      const { drv, vq, chain } = rig({ eventIdx: true });
      expect(vq.enableNotify()).to.equal(false); // empty
      expect(drv.availEvent()).to.equal(0);
      drv.addChain([{ data: bytes(4) }]);
      expect(drv.publish()).to.equal(true); // 0 → 1 passes avail_event 0
      drv.addChain([{ data: bytes(4) }]);
      expect(drv.publish()).to.equal(false); // device has not re-armed
      vq.disableNotify(); // no-op with EVENT_IDX
      while (vq.pop(chain) === 1) vq.pushUsed(chain.head, 0);
      expect(vq.enableNotify()).to.equal(false);
      expect(drv.availEvent()).to.equal(2);
      drv.addChain([{ data: bytes(4) }]);
      expect(drv.publish()).to.equal(true);
      // race: the driver adds after the device drained but before it re-armed
      expect(vq.pop(chain)).to.equal(1);
      drv.addChain([{ data: bytes(4) }]);
      drv.publish();
      expect(vq.enableNotify()).to.equal(true); // caller must poll again
      expect(drv.availEvent()).to.equal(3);
    });

    it('driver → device without EVENT_IDX: used.flags NO_NOTIFY', () => {
      const { drv, vq } = rig();
      vq.disableNotify();
      expect(drv.usedFlags()).to.equal(VRING_USED_F_NO_NOTIFY);
      drv.addChain([{ data: bytes(4) }]);
      expect(drv.publish()).to.equal(false);
      expect(vq.enableNotify()).to.equal(true); // a buffer is already there
      expect(drv.usedFlags()).to.equal(0);
      drv.addChain([{ data: bytes(4) }]);
      expect(drv.publish()).to.equal(true);
    });
  });

  it('keeps the used ring consistent for a chain with a writable header split across descriptors', () => {
    const { ram, drv, vq, chain } = rig({ expect: 'writable' });
    const head = drv.addChain([{ len: 12, writable: true }, { len: 1514, writable: true }]);
    drv.publish();
    expect(vq.pop(chain)).to.equal(1);
    const h = new H.VirtioNetHdr();
    h.numBuffers = 1;
    h.emit(chain.buf[0], chain.off[0]);
    vq.pushUsed(chain.head, 12 + 60);
    expect(vq.flushUsed()).to.equal(true);
    const hdrGpa = drv.segmentsOf(head)[0].gpa;
    expect(H.hdrNumBuffers(ram.read(hdrGpa, 12), 0)).to.equal(1);
    expect(drv.getUsed()).to.deep.equal([{ id: head, len: 72 }]);
  });
});

describe('virtio DescChain', () => {
  it('holds readable segments before writable ones and clears', () => {
    const c = new DescChain(2);
    const b = new Uint8Array(10);
    c.add(b, 1, 2, false);
    c.add(b, 3, 4, true);
    c.add(b, 7, 3, true);
    expect(c.count).to.equal(3);
    expect(c.readableCount).to.equal(1);
    expect(c.totalReadable).to.equal(2);
    expect(c.totalWritable).to.equal(7);
    expect(Array.from(c.off.subarray(0, 3))).to.deep.equal([1, 3, 7]);
    c.release();
    expect(c.count).to.equal(0);
    expect(c.buf[0].length).to.equal(0);
  });
});
