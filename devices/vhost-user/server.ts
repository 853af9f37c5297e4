// Listens on a unix socket (created 0600) as the vhost-user back-end; QEMU connects as front-end.
// One front-end at a time per socket: after a disconnect the next one is accepted (QEMU reconnect=).
import * as fs from 'fs';
import * as vde from 'net-vde';
import { VhostUserBackend, VhostUserStats, Logger } from './backend';
import { VhostUserDevice } from './device-model';

export class VhostUserServer {
  readonly stats = new VhostUserStats();
  private listenFd = -1;
  private poller: vde.Poller | null = null;
  private current: VhostUserBackend | null = null;
  /** resolvers waiting for the next connection or disconnection (tests, CLI status) */
  private waiters: Array<() => void> = [];

  constructor(readonly path: string, private readonly device: VhostUserDevice, private readonly log: Logger) {}

  listen(): void {
    removeStaleSocket(this.path);
    const fd = vde.socket('stream');
    try {
      vde.bind(fd, this.path, 0o600);
      vde.listen(fd, 4);
    } catch (e) {
      vde.close(fd);
      throw e;
    }
    this.listenFd = fd;
    this.poller = new vde.Poller(fd, () => this.acceptAll());
    this.poller.start(vde.POLL_READABLE);
  }

  get connected(): boolean {
    return this.current !== null && !this.current.closed;
  }

  get backend(): VhostUserBackend | null {
    return this.current;
  }

  /** resolves at the next connect or disconnect */
  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private acceptAll(): void {
    for (;;) {
      let fd: number | null;
      try {
        fd = vde.accept(this.listenFd);
      } catch (e) {
        this.log.error(`vhost-user ${this.path}: accept failed: ${(e as Error).message}`);
        return;
      }
      if (fd === null) return;
      if (this.connected) {
        this.stats.count('ExtraConnection');
        this.log.warn(`vhost-user ${this.path}: a second front-end tried to connect while one is attached; refused`);
        vde.close(fd);
        continue;
      }
      this.log.info(`vhost-user ${this.path}: front-end connected`);
      this.current = new VhostUserBackend(fd, this.device, this.stats, this.log, (b) => this.gone(b));
      this.wake();
    }
  }

  private gone(b: VhostUserBackend): void {
    if (this.current === b) this.current = null;
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** stop listening, drop the front-end, remove the socket file */
  close(): void {
    this.current?.close();
    this.current = null;
    this.poller?.close();
    this.poller = null;
    if (this.listenFd >= 0) {
      vde.close(this.listenFd);
      this.listenFd = -1;
      removeStaleSocket(this.path);
    }
  }
}

/** remove a leftover socket file from an earlier run; refuse to remove anything that is not a socket */
function removeStaleSocket(path: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket; refusing to replace it`);
  fs.unlinkSync(path);
}
