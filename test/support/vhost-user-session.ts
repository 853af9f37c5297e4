// Plays QEMU 7.2's start-up sequence (reference vhost-user.md §2.4 (a)-(c)) against a back-end, with guest
// RAM in a real memfd and both rings of a queue pair driven by test-side drivers.
import * as vde from 'net-vde';
import { FrontReq, VhostUserFrontend } from './vhost-user-frontend';
import { GuestRam, VirtqDriver, pcLayout } from './virtio-driver';
import * as F from '../../devices/virtio/features';

export const DEFAULT_ACK =
  F.VIRTIO_F_VERSION_1 | F.VHOST_USER_F_PROTOCOL_FEATURES | F.VIRTIO_NET_F_MRG_RXBUF | F.VIRTIO_RING_F_EVENT_IDX |
  F.VIRTIO_NET_F_CSUM | F.VIRTIO_NET_F_GUEST_CSUM;

export interface RingEnd {
  driver: VirtqDriver;
  kick: number;
  call: number;
  err: number;
}

export class VirtioNetSession {
  readonly rx: RingEnd;
  readonly tx: RingEnd;

  private constructor(readonly fe: VhostUserFrontend, readonly ram: GuestRam, rx: RingEnd, tx: RingEnd, readonly features: bigint) {
    this.rx = rx;
    this.tx = tx;
  }

  static async start(socket: string, opts: { features?: bigint; ringSize?: number; ramSize?: number } = {}): Promise<VirtioNetSession> {
    const features = opts.features ?? DEFAULT_ACK;
    const size = opts.ringSize ?? 256;
    const eventIdx = (features & F.VIRTIO_RING_F_EVENT_IDX) !== 0n;
    const ram = new GuestRam(pcLayout(opts.ramSize ?? 0x1000000));
    const fe = await VhostUserFrontend.connect(socket);
    const ends = [0, 1].map((index) => ({
      driver: new VirtqDriver(ram, size, { eventIdx }),
      kick: vde.eventfd(),
      call: vde.eventfd(),
      err: vde.eventfd(),
      index,
    }));
    // (a) connection
    await fe.getU64(FrontReq.GET_FEATURES);
    const pf = await fe.getU64(FrontReq.GET_PROTOCOL_FEATURES);
    fe.setU64(FrontReq.SET_PROTOCOL_FEATURES, pf);
    fe.send(FrontReq.SET_OWNER);
    for (const e of ends) {
      fe.setU64(FrontReq.SET_VRING_CALL, BigInt(e.index), [e.call]);
      fe.setU64(FrontReq.SET_VRING_ERR, BigInt(e.index), [e.err]);
    }
    // (b) reset burst, (c) start
    for (const e of ends) fe.vringState(FrontReq.SET_VRING_ENABLE, e.index, 1);
    fe.setU64(FrontReq.SET_FEATURES, features);
    const ack = await fe.setMemTable(ram.regions.map((r) => ({ ...r, fd: ram.fd })));
    if (ack !== 0n) throw new Error(`SET_MEM_TABLE refused (${ack})`);
    for (const e of ends) {
      fe.vringState(FrontReq.SET_VRING_NUM, e.index, size);
      fe.vringState(FrontReq.SET_VRING_BASE, e.index, e.driver.availIdx);
      fe.vringAddr(e.index, e.driver.descUva, e.driver.usedUva, e.driver.availUva);
      fe.setU64(FrontReq.SET_VRING_KICK, BigInt(e.index), [e.kick]);
      fe.setU64(FrontReq.SET_VRING_CALL, BigInt(e.index), [e.call]);
    }
    // a round trip, so every message above has been handled when we return
    await fe.getU64(FrontReq.GET_FEATURES);
    return new VirtioNetSession(fe, ram, ends[0], ends[1], features);
  }

  /** post `n` receive buffers of `len` bytes and kick if the device wants it */
  postRxBuffers(n: number, len = 2048): number[] {
    const heads: number[] = [];
    for (let i = 0; i < n; i++) {
      const head = this.rx.driver.addChain([{ len, writable: true }]);
      this.rxGpas.set(head, this.rx.driver.segmentsOf(head)[0].gpa);
      heads.push(head);
    }
    if (this.rx.driver.publish()) vde.eventfdWrite(this.rx.kick, 1n);
    return heads;
  }

  /** send one frame (virtio_net_hdr of zeros unless given) on the transmitq and kick */
  sendFrame(frame: Uint8Array, hdr: Uint8Array = new Uint8Array(12)): number {
    const buf = new Uint8Array(hdr.length + frame.length);
    buf.set(hdr);
    buf.set(frame, hdr.length);
    const head = this.tx.driver.addChain([{ data: buf }]);
    if (this.tx.driver.publish()) vde.eventfdWrite(this.tx.kick, 1n);
    return head;
  }

  /** receive buffers the device completed since the last call, as [virtio_net_hdr + frame] bytes each
   *  (one entry per buffer; a frame spread over several buffers gives several entries) */
  receivedBuffers(): Uint8Array[] {
    return this.rx.driver.getUsed().map((e) => this.ram.read(this.rxGpas.get(e.id)!, e.len));
  }

  private readonly rxGpas = new Map<number, number>();

  async getVringBase(index: number): Promise<number> {
    this.fe.vringState(FrontReq.GET_VRING_BASE, index, 0);
    const r = await this.fe.reply();
    return r.payload.getUint32(4, true);
  }

  close(): void {
    this.fe.close();
    for (const e of [this.rx, this.tx]) for (const fd of [e.kick, e.call, e.err]) vde.close(fd);
    this.ram.close();
  }
}

/** wait until `cond` is true, polling the event loop */
export async function until(cond: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
