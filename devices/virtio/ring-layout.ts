// Split virtqueue layout constants (VERSION_1, little-endian), names as in Linux
// include/uapi/linux/virtio_ring.h; sizes and alignments from the virtio spec (split-ring.tex).
// Shared by the device side (virtqueue.ts) and the test-side driver.

/** descriptor flags (struct vring_desc.flags) */
export const VRING_DESC_F_NEXT = 1;
export const VRING_DESC_F_WRITE = 2;
export const VRING_DESC_F_INDIRECT = 4;

/** used.flags bit 0: device asks the driver not to kick (ignored with EVENT_IDX) */
export const VRING_USED_F_NO_NOTIFY = 1;
/** avail.flags bit 0: driver asks the device not to interrupt (ignored with EVENT_IDX) */
export const VRING_AVAIL_F_NO_INTERRUPT = 1;

/** largest split queue size the spec allows (queue sizes are powers of 2) */
export const VIRTQUEUE_MAX_SIZE = 32768;

/** struct vring_desc: u64 addr; u32 len; u16 flags; u16 next */
export const VRING_DESC_SIZE = 16;
export const DESC_ADDR = 0;
export const DESC_LEN = 8;
export const DESC_FLAGS = 12;
export const DESC_NEXT = 14;

/** struct vring_avail: u16 flags; u16 idx; u16 ring[Q]; u16 used_event (EVENT_IDX) */
export const AVAIL_FLAGS = 0;
export const AVAIL_IDX = 2;
export const AVAIL_RING = 4;

/** struct vring_used: u16 flags; u16 idx; {u32 id; u32 len} ring[Q]; u16 avail_event (EVENT_IDX) */
export const USED_FLAGS = 0;
export const USED_IDX = 2;
export const USED_RING = 4;
export const VRING_USED_ELEM_SIZE = 8;

/** minimum alignments of the three parts (spec 2.7 "Split Virtqueues") */
export const VRING_DESC_ALIGN = 16;
export const VRING_AVAIL_ALIGN = 2;
export const VRING_USED_ALIGN = 4;

export function vringDescSize(q: number): number {
  return VRING_DESC_SIZE * q;
}
/** the trailing used_event is part of the ring only with EVENT_IDX (as QEMU's vhost_get_avail_size) */
export function vringAvailSize(q: number, eventIdx: boolean): number {
  return AVAIL_RING + 2 * q + (eventIdx ? 2 : 0);
}
export function vringUsedSize(q: number, eventIdx: boolean): number {
  return USED_RING + VRING_USED_ELEM_SIZE * q + (eventIdx ? 2 : 0);
}
/** offset of avail.used_event (== avail.ring[Q]) */
export function usedEventOffset(q: number): number {
  return AVAIL_RING + 2 * q;
}
/** offset of used.avail_event (== after used.ring[Q]) */
export function availEventOffset(q: number): number {
  return USED_RING + VRING_USED_ELEM_SIZE * q;
}

/** vring_need_event (Linux include/uapi/linux/virtio_ring.h): should the side that moved its index from
 *  `old` to `newIdx` notify, given the other side asked to be woken after `eventIdx`? All u16 arithmetic. */
export function vring_need_event(eventIdx: number, newIdx: number, old: number): boolean {
  return ((newIdx - eventIdx - 1) & 0xffff) < ((newIdx - old) & 0xffff);
}
