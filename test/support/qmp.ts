// Minimal QMP client (QEMU Machine Protocol, docs/interop/qmp-spec.rst) over a unix socket.
// Cold path: JSON lines, one command in flight per id, events fanned out to listeners.
import * as net from 'net';
import { EventEmitter } from 'events';

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

export class QmpError extends Error {
  constructor(readonly command: string, readonly errorClass: string, readonly desc: string) {
    super(`QMP ${command} failed: ${errorClass}: ${desc}`);
  }
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

/** Events: 'event' (QmpEvent), 'close' (). */
export class QmpClient extends EventEmitter {
  /** Every event received since connect, oldest first. */
  readonly events: QmpEvent[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private buffer = '';
  private closed = false;
  private greeting: Record<string, unknown> | undefined;
  private greetingWaiter: ((g: Record<string, unknown>) => void) | undefined;

  private constructor(private readonly socket: net.Socket) {
    super();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', () => { /* surfaced through 'close' and rejected commands */ });
    socket.on('close', () => this.onClose());
  }

  /**
   * Connects (retrying while QEMU has not created the socket yet), reads the greeting, negotiates capabilities.
   * `signal` stops the retries (e.g. when QEMU has exited).
   */
  static async connect(path: string, timeoutMs = 10_000, signal?: AbortSignal): Promise<QmpClient> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (signal?.aborted) throw new Error(`QMP connect ${path}: aborted`);
      let client: QmpClient | undefined;
      try {
        client = new QmpClient(await connectOnce(path));
        await client.waitGreeting(Math.max(1000, deadline - Date.now()));
        await client.execute('qmp_capabilities');
        return client;
      } catch (err) {
        client?.close();
        if (Date.now() >= deadline || signal?.aborted) throw new Error(`QMP connect ${path}: ${(err as Error).message}`);
        await sleep(50);
      }
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Runs a QMP command; resolves with its `return` value, rejects with QmpError on an `error` reply. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`QMP ${command}: connection closed`));
    const id = this.nextId++;
    const message = args === undefined ? { execute: command, id } : { execute: command, arguments: args, id };
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject });
      this.socket.write(JSON.stringify(message) + '\n');
    });
  }

  /** Resolves with the first event named `name` (optionally matching `filter`) that arrives after the call. */
  waitForEvent(name: string, timeoutMs: number, filter?: (ev: QmpEvent) => boolean): Promise<QmpEvent> {
    return new Promise<QmpEvent>((resolve, reject) => {
      const onEvent = (ev: QmpEvent): void => {
        if (ev.event !== name || (filter !== undefined && !filter(ev))) return;
        cleanup();
        resolve(ev);
      };
      const onClose = (): void => {
        cleanup();
        reject(new Error(`QMP closed while waiting for event ${name}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`QMP event ${name} not seen within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.off('event', onEvent);
        this.off('close', onClose);
      };
      this.on('event', onEvent);
      this.on('close', onClose);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private waitGreeting(timeoutMs: number): Promise<Record<string, unknown>> {
    if (this.greeting) return Promise.resolve(this.greeting);
    return new Promise((resolve, reject) => {
      const onClose = (): void => {
        clearTimeout(timer);
        reject(new Error('closed before QMP greeting'));
      };
      const timer = setTimeout(() => {
        this.off('close', onClose);
        this.socket.destroy();
        reject(new Error('no QMP greeting'));
      }, timeoutMs);
      this.once('close', onClose);
      this.greetingWaiter = (g) => {
        clearTimeout(timer);
        this.off('close', onClose);
        this.greetingWaiter = undefined;
        resolve(g);
      };
    });
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line !== '') this.onMessage(line);
    }
  }

  private onMessage(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.emit('protocol-error', new Error(`QMP: unparsable line ${line.slice(0, 200)}`));
      return;
    }
    if ('QMP' in msg) {
      this.greeting = msg;
      this.greetingWaiter?.(msg);
      return;
    }
    if (typeof msg.event === 'string') {
      const ev = msg as unknown as QmpEvent;
      this.events.push(ev);
      this.emit('event', ev);
      return;
    }
    const id = typeof msg.id === 'number' ? msg.id : -1;
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    if ('error' in msg) {
      const e = msg.error as { class?: string; desc?: string };
      pending.reject(new QmpError(pending.command, e.class ?? 'GenericError', e.desc ?? ''));
    } else {
      pending.resolve(msg.return);
    }
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new Error(`QMP ${p.command}: connection closed`));
    this.pending.clear();
    this.emit('close');
  }
}

/** One connection attempt to a unix socket. */
export function connectOnce(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(path);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
