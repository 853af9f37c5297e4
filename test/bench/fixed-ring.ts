// One virtqueue driven the way a busy guest driver does it, without per-packet allocation: descriptor i
// always points at guest buffer i (written once), and a completed head is re-posted as it is. The ring
// layout, publish()/kick decision (EVENT_IDX) and used_event come from the test-side VirtqDriver; this
// only replaces its allocating add/get_buf with raw ring pokes.
import * as vde from 'net-vde';
import type { RingEnd } from '../support/vhost-user-session';
import type { GuestRam } from '../support/virtio-driver';
import { USED_IDX, USED_RING, VRING_DESC_F_WRITE, VRING_USED_ELEM_SIZE } from '../../devices/virtio/ring-layout';

/** called for every used element: head id, bytes the device wrote, file offset of the buffer in guest RAM */
export type UsedVisitor = (id: number, len: number, bufOff: number) => void;

export class FixedRing {
  readonly size: number;
  /** file offset (into ram.bytes) of each descriptor's buffer */
  readonly bufOff: number[] = [];
  /** guest-physical address of each descriptor's buffer */
  readonly bufGpa: number[] = [];
  /** re-post completed heads at once (keeps the ring full); false: they stay with the guest */
  autoRepost = false;
  /** heads from here on are never re-posted automatically (the guest's own control frames) */
  repostLimit: number;
  /** per head: posted and not yet completed */
  readonly busy: Uint8Array;
  /** interrupt after 3/4 of the outstanding buffers completed (virtqueue_enable_cb_delayed, what Linux
   *  virtio-net's start_xmit arms on its transmitq) rather than after the next one (virtqueue_enable_cb) */
  delayedIrq = false;
  /** the guest polls and wants no interrupts: used_event is kept half the index space ahead (Linux parks
   *  it at 0 in virtqueue_disable_cb_split; ahead of us is the same "not soon" without the wrap case) */
  noIrq = false;
  /** used elements consumed so far */
  completed = 0;
  kicks = 0;
  interrupts = 0;
  /** used elements naming a head we never posted (a broken back-end); skipped */
  bad = 0;
  private readonly usedOff: number;
  private readonly view: DataView;
  private poller: vde.Poller | null = null;
  private visit: UsedVisitor | null = null;

  constructor(private readonly end: RingEnd, private readonly ram: GuestRam, readonly bufLen: number, writable: boolean) {
    const d = end.driver;
    this.size = d.size;
    this.repostLimit = d.size;
    this.busy = new Uint8Array(d.size);
    this.view = ram.view;
    this.usedOff = ram.offsetOf(d.usedGpa, USED_RING + VRING_USED_ELEM_SIZE * d.size + 2);
    for (let i = 0; i < this.size; i++) {
      const gpa = ram.alloc(bufLen, 64);
      d.writeDesc(i, gpa, bufLen, writable ? VRING_DESC_F_WRITE : 0, 0);
      this.bufGpa.push(gpa);
      this.bufOff.push(ram.offsetOf(gpa, bufLen));
    }
  }

  /** write `bytes` at the start of buffer i and set the descriptor's length to match */
  fill(i: number, bytes: Uint8Array): void {
    if (bytes.length > this.bufLen) throw new Error(`${bytes.length} bytes do not fit a ${this.bufLen}-byte buffer`);
    this.ram.bytes.set(bytes, this.bufOff[i]);
    this.end.driver.writeDesc(i, this.bufGpa[i], bytes.length, 0, 0);
  }

  /** post heads [from, to) and publish (kicking if the device asked for it) */
  post(from = 0, to = this.size): void {
    const d = this.end.driver;
    for (let i = from; i < to; i++) {
      this.busy[i] = 1;
      d.postHead(i);
    }
    this.publish();
  }

  /** watch the call eventfd: every interrupt consumes the used ring */
  listen(visit: UsedVisitor | null): void {
    this.visit = visit;
    this.poller = new vde.Poller(this.end.call, () => {
      if (vde.eventfdRead(this.end.call) === null) return;
      this.interrupts++;
      this.harvest();
    });
    this.poller.start(vde.POLL_READABLE);
    this.harvest(); // anything completed before we listened
  }

  /** consume every used element (virtqueue_get_buf loop), re-post if asked, re-arm the interrupt */
  harvest(): number {
    const d = this.end.driver;
    const visit = this.visit;
    const v = this.view;
    let n = 0;
    for (;;) {
      const idx = v.getUint16(this.usedOff + USED_IDX, true);
      vde.fenceAcquire();
      let last = d.lastUsed;
      while (last !== idx) {
        const o = this.usedOff + USED_RING + VRING_USED_ELEM_SIZE * (last % this.size);
        const id = v.getUint32(o, true);
        last = (last + 1) & 0xffff;
        if (id >= this.size || this.busy[id] === 0) {
          this.bad++;
          continue;
        }
        n++;
        if (visit !== null) visit(id, v.getUint32(o + 4, true), this.bufOff[id]);
        if (this.autoRepost && id < this.repostLimit) d.postHead(id);
        else this.busy[id] = 0;
      }
      d.lastUsed = last;
      if (n > 0 && this.autoRepost) this.publish();
      // re-arm (used_event), then look again: entries that went past it meanwhile raised no interrupt
      if (this.noIrq) {
        d.setUsedEvent(last + 0x8000);
        break;
      }
      const bufs = this.delayedIrq ? (((d.availIdx - last) & 0xffff) * 3) >> 2 : 0;
      d.setUsedEvent(last + bufs);
      vde.fenceSeqCst();
      if (((v.getUint16(this.usedOff + USED_IDX, true) - last) & 0xffff) <= bufs) break;
    }
    this.completed += n;
    return n;
  }

  stop(): void {
    this.autoRepost = false;
    if (this.poller) this.poller.close();
    this.poller = null;
  }

  private publish(): void {
    if (this.end.driver.publish()) {
      this.kicks++;
      vde.eventfdWrite(this.end.kick, 1n);
    }
  }
}
