// A test-side vhost-user front-end (the part QEMU plays): connects to a back-end socket, sends requests
// with fds, and reads replies. Used by the unit/hostile tests and by the bench; no QEMU involved.
import * as vde from 'net-vde';

export const enum FrontReq {
  GET_FEATURES = 1, SET_FEATURES = 2, SET_OWNER = 3, SET_MEM_TABLE = 5, SET_VRING_NUM = 8,
  SET_VRING_ADDR = 9, SET_VRING_BASE = 10, GET_VRING_BASE = 11, SET_VRING_KICK = 12, SET_VRING_CALL = 13,
  SET_VRING_ERR = 14, GET_PROTOCOL_FEATURES = 15, SET_PROTOCOL_FEATURES = 16, GET_QUEUE_NUM = 17,
  SET_VRING_ENABLE = 18,
}

export interface Reply {
  request: number;
  flags: number;
  size: number;
  payload: DataView;
}

export interface FrontendRegion {
  gpa: number;
  size: number;
  uva: number;
  mmapOffset: number;
  fd: number;
}

export class VhostUserFrontend {
  private readonly rx = new Uint8Array(65536);
  private got = 0;
  private poller: vde.Poller;
  private replies: Reply[] = [];
  private waiters: Array<() => void> = [];
  eof = false;

  private constructor(readonly fd: number) {
    this.poller = new vde.Poller(fd, () => this.onReadable());
    this.poller.start(vde.POLL_READABLE | vde.POLL_DISCONNECT);
  }

  static async connect(path: string, timeoutMs = 5000): Promise<VhostUserFrontend> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const fd = vde.socket('stream');
      try {
        vde.connect(fd, path);
        return new VhostUserFrontend(fd);
      } catch (e) {
        vde.close(fd);
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  private onReadable(): void {
    for (;;) {
      let r: vde.RecvResult | null;
      try {
        r = vde.recvmsg(this.fd, this.rx, this.got, this.rx.length - this.got);
      } catch {
        r = { bytes: 0, fds: [], ctrunc: false, truncated: false };
      }
      if (r === null) break;
      for (const fd of r.fds) vde.close(fd);
      if (r.bytes === 0) {
        this.eof = true;
        this.poller.stop();
        break;
      }
      this.got += r.bytes;
    }
    // split complete replies
    let off = 0;
    const view = new DataView(this.rx.buffer);
    while (this.got - off >= 12) {
      const size = view.getUint32(off + 8, true);
      if (this.got - off < 12 + size) break;
      const copy = this.rx.slice(off, off + 12 + size);
      const v = new DataView(copy.buffer);
      this.replies.push({ request: v.getUint32(0, true), flags: v.getUint32(4, true), size, payload: new DataView(copy.buffer, 12, size) });
      off += 12 + size;
    }
    if (off > 0) {
      this.rx.copyWithin(0, off, this.got);
      this.got -= off;
    }
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** raw bytes with optional fds, exactly as given (hostile tests) */
  sendRaw(bytes: Uint8Array, fds: number[] = []): void {
    let off = 0;
    let first = true;
    while (off < bytes.length) {
      const n = vde.sendmsg(this.fd, bytes.subarray(off), first ? fds : []);
      if (n === null) throw new Error('front-end send would block');
      off += n;
      first = false;
    }
  }

  /** a well-formed message: header (request, flags, size) + payload */
  send(request: number, payload: Uint8Array = new Uint8Array(0), fds: number[] = [], flags = 0x1): void {
    const b = new Uint8Array(12 + payload.length);
    const v = new DataView(b.buffer);
    v.setUint32(0, request, true);
    v.setUint32(4, flags, true);
    v.setUint32(8, payload.length, true);
    b.set(payload, 12);
    this.sendRaw(b, fds);
  }

  /** wait for the next reply (rejects on EOF or timeout) */
  async reply(timeoutMs = 3000): Promise<Reply> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length === 0) {
      if (this.eof) throw new Error('back-end closed the connection');
      if (Date.now() > deadline) throw new Error('no reply from back-end');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.replies.shift()!;
  }

  /** resolves true when the back-end closes the connection within the timeout */
  async closedByPeer(timeoutMs = 2000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.eof && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 20);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.eof;
  }

  async getU64(request: number): Promise<bigint> {
    this.send(request);
    const r = await this.reply();
    if (r.request !== request || r.flags !== 0x5 || r.size !== 8) throw new Error(`bad reply to ${request}: ${JSON.stringify(r)}`);
    return r.payload.getBigUint64(0, true);
  }

  setU64(request: number, value: bigint, fds: number[] = [], flags = 0x1): void {
    const p = new Uint8Array(8);
    new DataView(p.buffer).setBigUint64(0, value, true);
    this.send(request, p, fds, flags);
  }

  /** send with NEED_REPLY and return the ack value (0 = ok) */
  async setU64Ack(request: number, value: bigint, fds: number[] = []): Promise<bigint> {
    this.setU64(request, value, fds, 0x9);
    const r = await this.reply();
    return r.payload.getBigUint64(0, true);
  }

  vringState(request: number, index: number, num: number, flags = 0x1): void {
    const p = new Uint8Array(8);
    const v = new DataView(p.buffer);
    v.setUint32(0, index, true);
    v.setUint32(4, num, true);
    this.send(request, p, [], flags);
  }

  vringAddr(index: number, desc: number, used: number, avail: number, flags = 0x1): void {
    const p = new Uint8Array(40);
    const v = new DataView(p.buffer);
    v.setUint32(0, index, true);
    v.setBigUint64(8, BigInt(desc), true);
    v.setBigUint64(16, BigInt(used), true);
    v.setBigUint64(24, BigInt(avail), true);
    this.send(FrontReq.SET_VRING_ADDR, p, [], flags);
  }

  static memTablePayload(regions: Omit<FrontendRegion, 'fd'>[]): Uint8Array {
    const p = new Uint8Array(8 + 32 * regions.length);
    const v = new DataView(p.buffer);
    v.setUint32(0, regions.length, true);
    regions.forEach((r, i) => {
      const o = 8 + 32 * i;
      v.setBigUint64(o, BigInt(r.gpa), true);
      v.setBigUint64(o + 8, BigInt(r.size), true);
      v.setBigUint64(o + 16, BigInt(r.uva), true);
      v.setBigUint64(o + 24, BigInt(r.mmapOffset), true);
    });
    return p;
  }

  /** SET_MEM_TABLE with NEED_REPLY; returns the ack (0 = ok) */
  async setMemTable(regions: FrontendRegion[]): Promise<bigint> {
    this.send(FrontReq.SET_MEM_TABLE, VhostUserFrontend.memTablePayload(regions), regions.map((r) => r.fd), 0x9);
    const r = await this.reply();
    return r.payload.getBigUint64(0, true);
  }

  close(): void {
    this.poller.close();
    try {
      vde.close(this.fd);
    } catch {
      /* already closed */
    }
  }
}
