// One vhost-user front-end connection: re-frames the byte stream into messages (header, then exactly
// `size` payload bytes; short reads are normal) and collects the SCM_RIGHTS fds that ride on the
// header's first byte. Replies are written with flags 0x5 exactly, as QEMU 7.2 requires.
import * as vde from 'net-vde';
import { FLAG_VERSION_MASK, HEADER_SIZE, MAX_FDS, MAX_PAYLOAD, REPLY_FLAGS, VERSION, requestName } from './protocol';

export interface VhostUserMessage {
  request: number;
  flags: number;
  size: number;
  /** view of exactly `size` payload bytes; valid only during the handler call */
  payload: DataView;
  /** fds received with this message; the handler takes the ones it keeps, the connection closes the rest */
  fds: number[];
}

export type MessageHandler = (msg: VhostUserMessage) => void;

export class ProtocolError extends Error {
  constructor(message: string, readonly counter: string) {
    super(message);
  }
}

export class VhostUserConnection {
  private readonly rx = new Uint8Array(HEADER_SIZE + MAX_PAYLOAD);
  private readonly rxView = new DataView(this.rx.buffer);
  private readonly tx = new Uint8Array(HEADER_SIZE + MAX_PAYLOAD);
  private readonly txView = new DataView(this.tx.buffer);
  private got = 0;
  private want = HEADER_SIZE;
  private pendingFds: number[] = [];
  private poller: vde.Poller | null;
  private closed = false;

  constructor(
    readonly fd: number,
    private readonly onMessage: MessageHandler,
    private readonly onClose: (error: ProtocolError | null) => void,
  ) {
    this.poller = new vde.Poller(fd, (events, err) => this.onReady(events, err));
    this.poller.start(vde.POLL_READABLE | vde.POLL_DISCONNECT);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** send a reply to `request` with the given payload bytes (written into the reply buffer by `fill`) */
  reply(request: number, size: number, fill: (view: DataView, offset: number) => void): void {
    if (this.closed) return;
    this.txView.setUint32(0, request, true);
    this.txView.setUint32(4, REPLY_FLAGS, true);
    this.txView.setUint32(8, size, true);
    fill(this.txView, HEADER_SIZE);
    this.write(HEADER_SIZE + size);
  }

  replyU64(request: number, value: bigint): void {
    this.reply(request, 8, (v, o) => v.setBigUint64(o, value, true));
  }

  private write(len: number): void {
    let off = 0;
    try {
      while (off < len) {
        const n = vde.sendmsg(this.fd, this.tx.subarray(off, len));
        if (n === null) throw new ProtocolError('reply would block: front-end is not reading', 'ReplyBlocked');
        off += n;
      }
    } catch (e) {
      this.fail(e instanceof ProtocolError ? e : new ProtocolError(`sendmsg failed: ${(e as Error).message}`, 'SendErrors'));
    }
  }

  private onReady(_events: number, err: Error | null): void {
    if (this.closed) return;
    if (err) return this.fail(new ProtocolError(`poll error: ${err.message}`, 'PollErrors'));
    try {
      this.drain();
    } catch (e) {
      this.fail(e instanceof ProtocolError ? e : new ProtocolError(`${(e as Error).message}`, 'InternalErrors'));
    }
  }

  private drain(): void {
    while (!this.closed) {
      const r = vde.recvmsg(this.fd, this.rx, this.got, this.want - this.got, MAX_FDS);
      if (r === null) return; // EAGAIN: wait for the next readiness
      for (const fd of r.fds) this.pendingFds.push(fd);
      if (r.ctrunc) throw new ProtocolError(`more than ${MAX_FDS} fds on one message (MSG_CTRUNC)`, 'FdOverflow');
      if (r.bytes === 0) {
        if (this.got > 0) {
          const where = this.got < HEADER_SIZE ? 'header' : 'payload';
          return this.fail(new ProtocolError(`front-end closed mid-${where} (${this.got} of ${this.want} bytes)`, 'Truncated'));
        }
        return this.fail(null);
      }
      this.got += r.bytes;
      if (this.got < this.want) continue;
      if (this.want === HEADER_SIZE) {
        const flags = this.rxView.getUint32(4, true);
        const size = this.rxView.getUint32(8, true);
        const request = this.rxView.getUint32(0, true);
        if ((flags & FLAG_VERSION_MASK) !== VERSION) {
          throw new ProtocolError(`${requestName(request)}: bad version bits in flags 0x${flags.toString(16)}`, 'BadVersion');
        }
        if (size > MAX_PAYLOAD) {
          throw new ProtocolError(`${requestName(request)}: payload size ${size} exceeds ${MAX_PAYLOAD}`, 'Oversize');
        }
        this.want = HEADER_SIZE + size;
        if (size > 0) continue;
      }
      this.dispatch();
    }
  }

  private dispatch(): void {
    const msg: VhostUserMessage = {
      request: this.rxView.getUint32(0, true),
      flags: this.rxView.getUint32(4, true),
      size: this.want - HEADER_SIZE,
      payload: new DataView(this.rx.buffer, HEADER_SIZE, this.want - HEADER_SIZE),
      fds: this.pendingFds,
    };
    this.pendingFds = [];
    this.got = 0;
    this.want = HEADER_SIZE;
    try {
      this.onMessage(msg);
    } finally {
      closeAll(msg.fds);
    }
  }

  /** close the connection; error null means an orderly end of file */
  fail(error: ProtocolError | null): void {
    if (this.closed) return;
    this.closed = true;
    closeAll(this.pendingFds);
    this.pendingFds = [];
    if (this.poller) {
      this.poller.close();
      this.poller = null;
    }
    try {
      vde.close(this.fd);
    } catch {
      /* already gone */
    }
    this.onClose(error);
  }

  close(): void {
    this.fail(null);
  }
}

/** close every fd in the list and empty it */
export function closeAll(fds: number[]): void {
  for (const fd of fds) {
    try {
      vde.close(fd);
    } catch {
      /* a bad fd from the peer is not our failure */
    }
  }
  fds.length = 0;
}
