// What a vhost-user back-end needs from the virtio device behind it (virtio-net here). The back-end
// owns the protocol, memory and rings; the device owns what flows through the rings.
import type { SplitVirtqueue } from '../virtio/virtqueue';

export interface VhostUserDevice {
  /** virtio + vhost feature bits offered in GET_FEATURES */
  readonly features: bigint;
  /** protocol feature bits offered in GET_PROTOCOL_FEATURES */
  readonly protocolFeatures: bigint;
  /** queue pairs answered to GET_QUEUE_NUM (virtio-net counts pairs) */
  readonly queuePairs: number;
  /** the feature bits the front-end acked (SET_FEATURES) */
  setFeatures(acked: bigint): void;
  /** a ring is running: `vq` is set up over guest memory; `notify` signals the guest (call eventfd) */
  startRing(index: number, vq: SplitVirtqueue, notify: () => void): void;
  /** stop using a ring; on return nothing of it is in flight and it is never touched again */
  stopRing(index: number): void;
  /** the guest kicked a running ring */
  kick(index: number): void;
  /** the front-end connected (true) or went away (false) */
  setConnected(up: boolean): void;
}
