// Per-vring state of a vhost-user back-end (vhost-user.rst "Ring states": stopped/started and
// disabled/enabled are independent; started by SET_VRING_KICK, stopped by GET_VRING_BASE).
import { SplitVirtqueue } from '../virtio/virtqueue';

export class VringState {
  num = 0;
  descUva = 0;
  usedUva = 0;
  availUva = 0;
  addrSet = false;
  /** next avail index from SET_VRING_BASE */
  base = 0;
  kickFd = -1;
  callFd = -1;
  errFd = -1;
  /** started by SET_VRING_KICK, stopped by GET_VRING_BASE */
  started = false;
  /** SET_VRING_ENABLE; implicitly true at start when PROTOCOL_FEATURES was not negotiated */
  enabled = false;
  /** the ring is running in the device (started, enabled, set up without error) */
  live = false;
  readonly vq: SplitVirtqueue;

  constructor(readonly index: number) {
    // virtio-net: even vrings are receiveqs (device-writable buffers), odd ones transmitqs (readable)
    this.vq = new SplitVirtqueue(index, `vring${index}`, index & 1 ? 'readable' : 'writable');
  }
}
