// net-vde: the few system calls Node 20 lacks, as a typed wrapper over the N-API addon in src/.
// Contract: every failure throws SysError (errno + syscall name); "would block" is a null/0 return, never an error.
// Nothing here knows about vhost-user, virtio or networking protocols.
import * as path from 'path';

/** The addon's raw surface (src/*.cc); the exports below are its typed face. */
interface Native {
  setErrorClass(cls: typeof SysError): void;
  socket(type: SocketType): number;
  socketpair(type: SocketType): [number, number];
  bind(fd: number, path: string, mode?: number): void;
  listen(fd: number, backlog: number): void;
  accept(fd: number): number | null;
  connect(fd: number, path: string): boolean;
  socketError(fd: number): number;
  sendmsg(fd: number, data: ArrayBufferView, fds?: number[]): number | null;
  recvmsg(fd: number, buf: ArrayBufferView, offset?: number, length?: number, maxFds?: number): RecvResult | null;
  recvmmsg(fd: number, arena: ArrayBufferView, slotSize: number, lengths: Uint32Array, maxMsgs: number, truncated?: Uint8Array): number;
  sendmmsg(fd: number, arena: ArrayBufferView, slotSize: number, lengths: Uint32Array, count: number): number;
  close(fd: number): void;
  memfdCreate(name: string, size: number): number;
  fstatSize(fd: number): number;
  mmap(fd: number, length: number, offset?: number): ArrayBuffer;
  munmap(buffer: ArrayBuffer): void;
  eventfd(initval?: number): number;
  eventfdRead(fd: number): bigint | null;
  eventfdWrite(fd: number, value?: bigint | number): boolean;
  fenceAcquire(): void;
  fenceRelease(): void;
  fenceSeqCst(): void;
  pollerOpen(fd: number, onReady: (events: number, error: SysError | null) => void): object;
  pollerStart(handle: object, events: number): void;
  pollerStop(handle: object): void;
  pollerClose(handle: object): void;
  pingSocket(family: IpFamily): number;
  setHopLimit(fd: number, hops: number): void;
  sendto(fd: number, data: ArrayBufferView, address: string, port?: number): number | null;
  recvfrom(fd: number, buf: ArrayBufferView, offset?: number, length?: number): RecvFromResult | null;
  localPort(fd: number): number;
}

// eslint-disable-next-line @typescript-eslint/no-var-requires
const native: Native = require(path.join(__dirname, '..', '..', 'build', 'Release', 'net_vde.node'));

export type SocketType = 'stream' | 'seqpacket' | 'dgram';

/** A failed system call: `errno` (positive), `code` ('EBADF'…), `syscall` ('recvmsg'…). */
export class SysError extends Error {
  constructor(message: string, readonly errno: number, readonly code: string, readonly syscall: string) {
    super(message);
    this.name = 'SysError';
  }
}

native.setErrorClass(SysError);

export interface RecvResult {
  /** bytes received; 0 on a stream/seqpacket socket means end of file */
  bytes: number;
  /** file descriptors received with SCM_RIGHTS (already O_CLOEXEC); the caller owns and must close them */
  fds: number[];
  /** MSG_CTRUNC: more fds were sent than fit; the received ones are in `fds` (caller closes them) */
  ctrunc: boolean;
  /** MSG_TRUNC: a datagram was larger than the buffer */
  truncated: boolean;
}

export type IpFamily = 4 | 6;

export interface RecvFromResult {
  /** bytes received (of the datagram; see `truncated`) */
  bytes: number;
  /** the sender's address as text ('192.0.2.1', '2001:db8::1') */
  address: string;
  /** the sender's port (0 for ICMP) */
  port: number;
  /** MSG_TRUNC: the datagram was larger than the buffer */
  truncated: boolean;
  /** the TTL / hop limit the datagram arrived with (IP_RECVTTL / IPV6_RECVHOPLIMIT), -1 when not reported */
  hopLimit: number;
}

export const POLL_READABLE = 1;
export const POLL_WRITABLE = 2;
export const POLL_DISCONNECT = 4;

/** AF_UNIX socket, SOCK_NONBLOCK|SOCK_CLOEXEC */
export function socket(type: SocketType): number {
  return native.socket(type);
}

/** a connected AF_UNIX pair, both ends SOCK_NONBLOCK|SOCK_CLOEXEC */
export function socketpair(type: SocketType): [number, number] {
  return native.socketpair(type);
}

/** bind to a filesystem path; the socket file is created with `mode` (default 0o600) with no window of wider access */
export function bind(fd: number, path: string, mode?: number): void {
  native.bind(fd, path, mode);
}

export function listen(fd: number, backlog: number): void {
  native.listen(fd, backlog);
}

/** a new non-blocking, close-on-exec fd, or null when no connection is pending */
export function accept(fd: number): number | null {
  return native.accept(fd);
}

/** true when connected, false when the non-blocking connect is in progress (wait for POLL_WRITABLE) */
export function connect(fd: number, path: string): boolean {
  return native.connect(fd, path);
}

/** SO_ERROR: the outcome of a non-blocking connect once POLL_WRITABLE fired (0 = connected; else an errno). Reading clears it. */
export function socketError(fd: number): number {
  return native.socketError(fd);
}

/** bytes sent, or null on EAGAIN; `fds` ride as SCM_RIGHTS on this same sendmsg (at most 253; on a stream
 *  socket send at least one byte with them) */
export function sendmsg(fd: number, data: Uint8Array, fds?: number[]): number | null {
  return native.sendmsg(fd, data, fds);
}

/** null on EAGAIN. Receives into buf[offset, offset+length) (default: to the end), with room for
 *  `maxFds` (default 8, at most 253) SCM_RIGHTS fds, received O_CLOEXEC. */
export function recvmsg(fd: number, buf: Uint8Array, offset?: number, length?: number, maxFds?: number): RecvResult | null {
  return native.recvmsg(fd, buf, offset, length, maxFds);
}

/** receive up to `maxMsgs` datagrams into `arena` (slot i at i*slotSize), lengths into `lengths[i]`; returns the count, 0 on EAGAIN.
 *  `maxMsgs` is at most 1024 (UIO_MAXIOV). When given, `truncated[i]` is set to 1 if datagram i was cut to slotSize (MSG_TRUNC). */
export function recvmmsg(fd: number, arena: Uint8Array, slotSize: number, lengths: Uint32Array, maxMsgs: number, truncated?: Uint8Array): number {
  return native.recvmmsg(fd, arena, slotSize, lengths, maxMsgs, truncated);
}

/** send `count` datagrams from `arena` slots with `lengths`; returns how many were sent, 0 on EAGAIN */
export function sendmmsg(fd: number, arena: Uint8Array, slotSize: number, lengths: Uint32Array, count: number): number {
  return native.sendmmsg(fd, arena, slotSize, lengths, count);
}

/** close an fd; a Poller watching it is stopped first (and refuses to start again) */
export function close(fd: number): void {
  native.close(fd);
}

/**
 * An unprivileged ICMP echo socket, SOCK_NONBLOCK|SOCK_CLOEXEC: socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)
 * for 4, socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6) for 6, with hop-limit reporting on. The kernel
 * refuses it with EACCES unless the caller's group is in net.ipv4.ping_group_range (both families), even
 * for root. Send echo requests (ICMP header + data; the kernel sets the identifier to the socket's and
 * computes the checksum); receive only echo replies with that identifier, starting at the ICMP header.
 */
export function pingSocket(family: IpFamily): number {
  return native.pingSocket(family);
}

/** the TTL (IP_TTL) or hop limit (IPV6_UNICAST_HOPS) of what the socket sends, 1..255 */
export function setHopLimit(fd: number, hops: number): void {
  native.setHopLimit(fd, hops);
}

/** send one datagram to `address` (text, of the socket's family; TypeError otherwise) and `port` (default 0);
 *  bytes sent, or null on EAGAIN */
export function sendto(fd: number, data: Uint8Array, address: string, port?: number): number | null {
  return native.sendto(fd, data, address, port);
}

/** receive one datagram into buf[offset, offset+length) with its sender; null on EAGAIN */
export function recvfrom(fd: number, buf: Uint8Array, offset?: number, length?: number): RecvFromResult | null {
  return native.recvfrom(fd, buf, offset, length);
}

/** getsockname's port; for a ping socket the echo identifier the kernel uses (0 until the first send) */
export function localPort(fd: number): number {
  return native.localPort(fd);
}

/** memfd_create(name, MFD_CLOEXEC) sized to `size` bytes */
export function memfdCreate(name: string, size: number): number {
  return native.memfdCreate(name, size);
}

export function fstatSize(fd: number): number {
  return native.fstatSize(fd);
}

/** eventfd(initval, EFD_NONBLOCK|EFD_CLOEXEC) */
export function eventfd(initval?: number): number {
  return native.eventfd(initval);
}

/** the counter (and reset it), or null when it is zero (EAGAIN) */
export function eventfdRead(fd: number): bigint | null {
  return native.eventfdRead(fd);
}

/** add `value` (default 1n) to the counter; false (nothing written) when that would overflow it (EAGAIN) */
export function eventfdWrite(fd: number, value?: bigint): boolean {
  return native.eventfdWrite(fd, value);
}

/** C11 fences, for ring index publication in shared memory */
export function fenceAcquire(): void {
  native.fenceAcquire();
}

export function fenceRelease(): void {
  native.fenceRelease();
}

export function fenceSeqCst(): void {
  native.fenceSeqCst();
}

/** MAP_SHARED|MAP_NORESERVE mapping of an fd. `unmap()` first detaches `buffer` (all views read as length 0,
 *  so use-after-unmap cannot touch freed memory), then munmaps. The GC finalizer unmaps if unmap() was never called. */
export class Mapping {
  readonly length: number;

  /** only mmap() makes working instances; the addon rejects any other ArrayBuffer on unmap() */
  constructor(readonly buffer: ArrayBuffer) {
    this.length = buffer.byteLength;
  }

  get mapped(): boolean {
    return this.buffer.byteLength !== 0;
  }

  /** idempotent */
  unmap(): void {
    native.munmap(this.buffer);
  }
}

/** map `length` bytes (1 .. 2^32, Node's ArrayBuffer limit) of `fd` from `offset` (a multiple of the page size;
 *  for a regular file or memfd, offset + length must lie within the file) */
export function mmap(fd: number, length: number, offset?: number): Mapping {
  return new Mapping(native.mmap(fd, length, offset));
}

export type PollCallback = (events: number, error: SysError | null) => void;

/** libuv readiness (uv_poll) of any fd; never busy-polls. Stop/close before closing the fd (net-vde's close() does
 *  the stop itself). `events` in the callback is a mask of POLL_*; on a poll error it is 0 and `error` is set.
 *  A started poller stays alive until stopped; a stopped one that is dropped is closed by the GC. */
export class Poller {
  readonly #handle: object;

  constructor(fd: number, onReady: PollCallback) {
    this.#handle = native.pollerOpen(fd, onReady);
  }

  /** start or change the watched events (POLL_READABLE | POLL_WRITABLE | POLL_DISCONNECT) */
  start(events: number): void {
    native.pollerStart(this.#handle, events);
  }

  stop(): void {
    native.pollerStop(this.#handle);
  }

  /** release the libuv handle; idempotent; a closed poller cannot be started again */
  close(): void {
    native.pollerClose(this.#handle);
  }
}
