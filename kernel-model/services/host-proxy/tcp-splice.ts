// One guest TCP connection joined to one host net.Socket, both ways, with bounded buffering — the one
// splice both the outbound proxy (tcp-proxy.ts) and host forwarding (hostfwd/) use:
// - host → guest: the host socket reads into a buffer shared by every connection (net.Socket `onread`,
//   no allocation per read; or 'data' events for sockets a net.Server accepted, readWithDataEvents) and
//   the bytes go straight into the model socket's bounded send buffer. When it is full, the rest (at
//   most one read) is set aside and the host socket is paused until onDrain, so the host's kernel
//   buffer fills and its peer's window closes.
// - guest → host: each delivery is copied into the host socket (Node keeps it until written). When the
//   socket's queue reaches its high-water mark (the per-connection cap), the model socket is paused: its
//   unread bytes stay in its receive buffer and the window it advertises to the guest closes; 'drain'
//   resumes it. User-space bytes per connection stay ≤ cap + one delivery (≤ the receive window) + one read.
// - half-close: the guest's FIN → host end(); the host's EOF → the model's FIN once everything read
//   before it has gone to the model. RST either way: destroy() on the other side.
import type * as net from 'net';
import type { TcpSock } from '../../tcp/sock';
import { TCP_CLOSE_WAIT, TCP_ESTABLISHED } from '../../tcp/tcp_states';

export interface SpliceStats {
  bytesToHost: number;
  bytesToGuest: number;
  /** the host socket's queue reached the cap: the guest's window was closed (model socket paused) */
  bufferLimit: number;
  /** the model's send buffer was full: the host socket was paused */
  guestWindowFull: number;
  /** RSTs sent to the guest because the host side failed or reset */
  resetsToGuest: number;
  /** host sockets reset because the guest side reset, refused or timed out */
  resetsToHost: number;
  /** the most user-space bytes one connection held at once (host queue + held-back host bytes) */
  maxBuffered: number;
}

/** splice counters at zero, for the stats of whoever owns the splices */
export function spliceStats(): SpliceStats {
  return { bytesToHost: 0, bytesToGuest: 0, bufferLimit: 0, guestWindowFull: 0, resetsToGuest: 0, resetsToHost: 0, maxBuffered: 0 };
}

export class TcpSplice {
  /** host bytes the model socket could not take yet (copied out of the shared read buffer) */
  private pending: Buffer | null = null;
  private pendingOff = 0;
  private hostEof = false;
  private hostClosed = false;
  private guestClosed = false;
  private finished = false;
  sock: TcpSock | null = null;

  constructor(
    readonly host: net.Socket,
    private readonly stats: SpliceStats,
    private readonly onDone: (s: TcpSplice) => void,
  ) {
    host.on('drain', () => this.sock?.resume());
    host.on('end', () => {
      this.hostEof = true;
      if (this.pending === null) this.guestEnd();
    });
    host.on('error', () => {
      // 'close' (hadError) follows and resets the guest side
    });
    host.on('close', (hadError: boolean) => {
      this.hostClosed = true;
      const s = this.sock;
      if (s !== null && !this.guestClosed && (hadError || !this.hostEof)) {
        this.stats.resetsToGuest++;
        s.destroy();
      }
      this.finish();
    });
  }

  /** join the guest socket (in SYN_RECV or later); host reading starts once the guest side is open */
  attach(sock: TcpSock): void {
    this.sock = sock;
    sock.onConnect = () => this.pump();
    sock.onData = (buf, off, len) => this.toHost(buf, off, len);
    sock.onEnd = () => {
      if (!this.host.destroyed && !this.host.writableEnded) this.host.end();
    };
    sock.onDrain = () => this.pump();
    sock.onClose = (error) => {
      this.guestClosed = true;
      if (error !== '') {
        if (!this.host.destroyed) {
          this.stats.resetsToHost++;
          abort(this.host);
        }
      } else if (!this.host.destroyed && !this.host.writableEnded) {
        this.host.end();
      }
      this.finish();
    };
  }

  /** bytes held in user space now (for the cap and the statistics) */
  get buffered(): number {
    return this.host.writableLength + (this.pending === null ? 0 : this.pending.length - this.pendingOff);
  }

  /**
   * Read the host socket through 'data' events (a socket accepted by a net.Server cannot take `onread`):
   * each chunk is ours, so a remainder the model cannot take is kept without a copy; reading pauses
   * while one is held.
   */
  readWithDataEvents(): this {
    this.host.on('data', (chunk: Buffer) => {
      if (!this.fromHost(chunk.length, chunk, true)) this.host.pause();
    });
    return this;
  }

  /**
   * the host socket's `onread` callback: `n` bytes in `buf` (`owned`: the buffer is not reused, so a
   * remainder needs no copy); false pauses reading
   */
  fromHost(n: number, buf: Buffer, owned = false): boolean {
    const s = this.sock;
    if (this.finished || s === null) return false;
    let taken = 0;
    if (this.pending === null && writableState(s)) {
      taken = s.write(buf, 0, n);
      if (taken < 0) {
        // the model socket is closed for writing: nothing more can go
        this.stats.resetsToHost++;
        abort(this.host);
        return false;
      }
      this.stats.bytesToGuest += taken;
    }
    if (taken === n) return true;
    // the rest waits for onDrain (or the handshake): copy it out of the shared buffer, stop reading
    let rest: Buffer;
    if (owned) {
      rest = buf.subarray(taken, n);
    } else {
      rest = Buffer.allocUnsafe(n - taken);
      buf.copy(rest, 0, taken, n);
    }
    if (this.pending === null) {
      this.pending = rest;
      this.pendingOff = 0;
    } else {
      this.pending = Buffer.concat([this.pending.subarray(this.pendingOff), rest]);
      this.pendingOff = 0;
    }
    this.stats.guestWindowFull++;
    this.note();
    return false;
  }

  /** guest bytes (a view of the model's receive buffer, valid during the call) to the host */
  private toHost(buf: Uint8Array, off: number, len: number): void {
    const h = this.host;
    if (h.destroyed || h.writableEnded) return;
    this.stats.bytesToHost += len;
    const copy = Buffer.allocUnsafe(len);
    copy.set(buf.subarray(off, off + len));
    if (!h.write(copy)) {
      this.stats.bufferLimit++;
      this.sock?.pause();
    }
    this.note();
  }

  /** move held-back host bytes into the model socket; resume host reads when they are all in */
  private pump(): void {
    const s = this.sock;
    if (s === null || this.finished || !writableState(s)) return;
    const p = this.pending;
    if (p !== null) {
      const want = p.length - this.pendingOff;
      const n = s.write(p, this.pendingOff, want);
      if (n < 0) {
        this.pending = null;
        this.stats.resetsToHost++;
        abort(this.host);
        return;
      }
      this.stats.bytesToGuest += n;
      if (n < want) {
        this.pendingOff += n;
        return;
      }
      this.pending = null;
      this.pendingOff = 0;
    }
    if (this.hostEof) this.guestEnd();
    else if (!this.host.destroyed) this.host.resume();
  }

  private guestEnd(): void {
    const s = this.sock;
    if (s !== null && !this.guestClosed) s.end();
  }

  private note(): void {
    const b = this.buffered;
    if (b > this.stats.maxBuffered) this.stats.maxBuffered = b;
  }

  /** abort both sides (proxy shutdown) */
  destroy(): void {
    if (this.sock !== null && !this.guestClosed) this.sock.destroy();
    if (!this.host.destroyed) abort(this.host);
  }

  private finish(): void {
    if (this.finished || !this.hostClosed || !(this.guestClosed || this.sock === null)) return;
    this.finished = true;
    this.pending = null;
    this.onDone(this);
  }
}

/** the model socket takes writes (established, or the guest already sent its FIN) */
function writableState(s: TcpSock): boolean {
  return s.state === TCP_ESTABLISHED || s.state === TCP_CLOSE_WAIT;
}

/** RST to the host peer (resetAndDestroy, Node ≥ 16.17), else close */
export function abort(s: net.Socket): void {
  if (s.destroyed) return;
  const r = (s as net.Socket & { resetAndDestroy?: () => void }).resetAndDestroy;
  if (typeof r === 'function') r.call(s);
  else s.destroy();
}
