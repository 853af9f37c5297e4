// Splice one host net.Socket and one model TcpSock both ways with backpressure and half-close, as
// libslirp's socket layer joins a host socket to a guest connection: host data is written into the
// model socket's bounded send buffer, and when it is full the host socket is paused until onDrain;
// guest data is written to the host socket, and when Node's buffer is past its high-water mark the
// model socket is paused (its advertised window closes) until 'drain'. FIN ↔ end(), RST ↔ destroy().
import type * as net from 'net';
import type { TcpSock } from '../../tcp/sock';

export interface SpliceEvents {
  /** both sides are finished (called once) */
  onDone(splice: TcpSplice, error: string): void;
}

export class TcpSplice {
  /** host bytes not yet taken by the model socket */
  private pending: Buffer | null = null;
  private pendingOff = 0;
  private hostEnded = false;
  private guestClosed = false;
  private hostClosed = false;
  private done = false;
  /** bytes moved host → guest and guest → host */
  toGuest = 0;
  toHost = 0;

  constructor(
    readonly host: net.Socket,
    readonly guest: TcpSock,
    private readonly events: SpliceEvents,
  ) {
    guest.onConnect = () => {
      host.resume();
    };
    guest.onData = (buf, off, len) => {
      if (host.destroyed || host.writableEnded) return;
      this.toHost += len;
      // copy out: the view is the model's receive buffer, valid only during the call
      if (!host.write(Buffer.from(buf.subarray(off, off + len)))) guest.pause();
    };
    guest.onEnd = () => {
      if (!host.destroyed) host.end();
    };
    guest.onDrain = () => this.pump();
    guest.onClose = (error) => {
      this.guestClosed = true;
      if (error !== '') {
        // refused, reset or timed out: the host peer sees a reset too
        abort(host);
      } else if (!host.destroyed && !host.writableEnded) {
        host.end();
      }
      this.finish(error);
    };
    host.on('drain', () => guest.resume());
    host.on('data', (chunk: Buffer) => {
      if (this.pending !== null) {
        // cannot happen while paused; keep order anyway
        this.pending = Buffer.concat([this.pending.subarray(this.pendingOff), chunk]);
        this.pendingOff = 0;
      } else {
        this.pending = chunk;
        this.pendingOff = 0;
      }
      this.pump();
    });
    host.on('end', () => {
      this.hostEnded = true;
      if (this.pending === null) guest.end();
    });
    host.on('error', () => {
      // the close event follows; a host error aborts the guest side
    });
    host.on('close', (hadError: boolean) => {
      this.hostClosed = true;
      if (hadError || !this.hostEnded) guest.destroy();
      this.finish(hadError ? 'host error' : '');
    });
  }

  /** write what the model socket takes; pause the host while it is full */
  private pump(): void {
    const p = this.pending;
    if (p === null) return;
    const want = p.length - this.pendingOff;
    const n = this.guest.write(p, this.pendingOff, want);
    if (n < 0) {
      // the model socket is closed: nothing more can go
      this.pending = null;
      abort(this.host);
      return;
    }
    this.toGuest += n;
    if (n < want) {
      this.pendingOff += n;
      this.host.pause();
      return;
    }
    this.pending = null;
    this.pendingOff = 0;
    if (this.hostEnded) this.guest.end();
    else if (this.guest.synchronized) this.host.resume();
  }

  private finish(error: string): void {
    if (this.done || !(this.guestClosed && this.hostClosed) && error === '') return;
    this.done = true;
    this.events.onDone(this, error);
  }
}

/** RST to the host peer where Node can (resetAndDestroy, Node ≥ 16.17), else close */
function abort(s: net.Socket): void {
  if (s.destroyed) return;
  const r = (s as net.Socket & { resetAndDestroy?: () => void }).resetAndDestroy;
  if (typeof r === 'function') r.call(s);
  else s.destroy();
}
