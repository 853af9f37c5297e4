// One virtio-net queue pair as the device sees it: vring 2k is the guest's receiveq (we fill it),
// vring 2k+1 its transmitq (we drain it through NAPI).
import { DescChain, SplitVirtqueue } from '../virtio/virtqueue';
import type { NapiStruct } from '../../kernel-model/core/napi';

/** a TSO frame is at most 64 KiB of IP plus the Ethernet header (gso_max_size) */
export const MAX_FRAME = 65536 + 14 + 4;
/** linear area for frames the guest scattered over several descriptors, per queue */
export const SCRATCH_SIZE = 512 * 1024;
const NOOP = (): void => undefined;

export class QueuePair {
  rx: SplitVirtqueue | null = null;
  tx: SplitVirtqueue | null = null;
  notifyRx: () => void = NOOP;
  notifyTx: () => void = NOOP;
  /** used entries written to the rx ring but not yet published (xmit_more batching) */
  rxPending = 0;
  /**
   * BQL: bytes / frames written into this receiveq but not yet published, per model tx queue they
   * came from (normally this pair's own; pair 0 takes the others' while their receiveq is absent).
   * Published = completed (netdev_tx_completed_queue).
   */
  readonly bqlBytes: Float64Array;
  readonly bqlPkts: Float64Array;
  napi!: NapiStruct;
  readonly txChain = new DescChain();
  readonly rxChain = new DescChain();
  /** transmitq heads popped during one poll, completed after the batch went through the stack (the
   *  stack may transmit into the receiveq meanwhile, so the receive path keeps its own array) */
  readonly txHeads = new Uint16Array(1024);
  /** receiveq heads (and bytes written) of the frame being filled */
  readonly rxHeads = new Uint16Array(1024);
  readonly rxLens = new Uint32Array(1024);
  readonly scratch = Buffer.allocUnsafe(SCRATCH_SIZE);

  constructor(readonly index: number, txQueues = 1) {
    this.bqlBytes = new Float64Array(txQueues);
    this.bqlPkts = new Float64Array(txQueues);
  }
}
