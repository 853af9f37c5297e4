// The vhost-user back-end for one front-end connection: feature negotiation, memory table, vring life
// cycle (QEMU 7.2 hw/virtio/vhost-user.c is the peer; rules from docs/interop/vhost-user.rst).
// Any malformed or out-of-order message is a ProtocolError: logged, counted, and the connection closed;
// the process and other connections carry on.
import * as vde from 'net-vde';
import { VhostUserConnection, VhostUserMessage, ProtocolError, closeAll } from './connection';
import { VhostUserDevice } from './device-model';
import { MappedTable, RegionDesc, mapRegions, unmapAll, u64 } from './guest-memory-map';
import {
  FLAG_NEED_REPLY, FLAG_REPLY, MAX_REGIONS, Req, SIZE_MEM_REGION, SIZE_U64,
  SIZE_VRING_ADDR, SIZE_VRING_STATE, VRING_IDX_MASK, VRING_NOFD_MASK, requestName,
} from './protocol';
import { VringState } from './vring';
import { VIRTIO_F_VERSION_1, VIRTIO_RING_F_EVENT_IDX, VIRTIO_RING_F_INDIRECT_DESC, VHOST_USER_F_PROTOCOL_FEATURES } from '../virtio/features';

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

/** Counters a back-end keeps (summed by its server across connections) */
export class VhostUserStats {
  messages = 0;
  protocolErrors = 0;
  ringErrors = 0;
  connections = 0;
  disconnects = 0;
  /** protocol errors by kind (BadVersion, Oversize, UnknownRequest, BadSize, BadFds, …) */
  readonly errors: Record<string, number> = {};
  count(kind: string): void {
    this.errors[kind] = (this.errors[kind] ?? 0) + 1;
  }
}


export class VhostUserBackend {
  readonly vrings: VringState[];
  private memory: MappedTable | null = null;
  private ackedFeatures = 0n;
  private ackedProtocol = 0n;
  private readonly conn: VhostUserConnection;
  private readonly pollers = new Map<number, vde.Poller>();
  private replied = false;

  constructor(
    fd: number,
    private readonly device: VhostUserDevice,
    private readonly stats: VhostUserStats,
    private readonly log: Logger,
    private readonly onGone: (backend: VhostUserBackend) => void,
  ) {
    this.vrings = Array.from({ length: device.queuePairs * 2 }, (_, i) => new VringState(i));
    for (const r of this.vrings) r.vq.onBroken = (reason) => this.ringBroken(r, reason);
    this.conn = new VhostUserConnection(fd, (m) => this.onMessage(m), (e) => this.onClose(e));
    stats.connections++;
    device.setConnected(true);
  }

  get closed(): boolean {
    return this.conn.isClosed;
  }

  close(): void {
    this.conn.close();
  }

  private onMessage(msg: VhostUserMessage): void {
    this.stats.messages++;
    this.replied = false;
    try {
      if (msg.flags & FLAG_REPLY) throw new ProtocolError(`${requestName(msg.request)}: REPLY bit set in a request`, 'BadFlags');
      this.handle(msg);
      if (!this.replied && msg.flags & FLAG_NEED_REPLY) this.conn.replyU64(msg.request, 0n);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      if (!this.replied && msg.flags & FLAG_NEED_REPLY) this.conn.replyU64(msg.request, 1n);
      this.conn.fail(e);
    }
  }

  private onClose(error: ProtocolError | null): void {
    if (error) {
      this.stats.protocolErrors++;
      this.stats.count(error.counter);
      this.log.error(`vhost-user: ${error.message}; closing the connection`);
    } else {
      this.log.info('vhost-user: front-end disconnected');
    }
    this.stats.disconnects++;
    for (const r of this.vrings) this.stopRing(r);
    for (const r of this.vrings) {
      closeAll([r.callFd, r.errFd].filter((fd) => fd >= 0));
      r.callFd = r.errFd = -1;
    }
    unmapAll(this.memory);
    this.memory = null;
    this.device.setConnected(false);
    this.onGone(this);
  }

  private handle(msg: VhostUserMessage): void {
    const p = msg.payload;
    switch (msg.request) {
      case Req.GET_FEATURES:
        this.expect(msg, 0, 0);
        return this.replyU64(msg, this.device.features);
      case Req.SET_FEATURES:
        this.expect(msg, SIZE_U64, 0);
        return this.setFeatures(p.getBigUint64(0, true));
      case Req.GET_PROTOCOL_FEATURES:
        this.expect(msg, 0, 0);
        return this.replyU64(msg, this.device.protocolFeatures);
      case Req.SET_PROTOCOL_FEATURES: {
        this.expect(msg, SIZE_U64, 0);
        const v = p.getBigUint64(0, true);
        if (v & ~this.device.protocolFeatures) {
          throw new ProtocolError(`SET_PROTOCOL_FEATURES 0x${v.toString(16)} acks bits never offered`, 'BadFeatures');
        }
        this.ackedProtocol = v;
        return;
      }
      case Req.SET_OWNER:
        return this.expect(msg, 0, 0);
      case Req.RESET_OWNER:
      case Req.RESET_DEVICE:
        this.expect(msg, 0, 0);
        for (const r of this.vrings) this.stopRing(r);
        return;
      case Req.GET_QUEUE_NUM:
        this.expect(msg, 0, 0);
        return this.replyU64(msg, BigInt(this.device.queuePairs));
      case Req.SET_MEM_TABLE:
        return this.setMemTable(msg);
      case Req.SET_VRING_NUM:
        return this.setVringNum(msg);
      case Req.SET_VRING_ADDR:
        return this.setVringAddr(msg);
      case Req.SET_VRING_BASE: {
        this.expect(msg, SIZE_VRING_STATE, 0);
        const r = this.vring(msg, p.getUint32(0, true));
        const num = p.getUint32(4, true);
        if (r.started) throw new ProtocolError(`SET_VRING_BASE on running vring ${r.index}`, 'BadOrder');
        if (num > 0xffff) throw new ProtocolError(`SET_VRING_BASE ${num} has bits above 15 set (split ring)`, 'BadValue');
        r.base = num;
        return;
      }
      case Req.GET_VRING_BASE:
        return this.getVringBase(msg);
      case Req.SET_VRING_KICK:
      case Req.SET_VRING_CALL:
      case Req.SET_VRING_ERR:
        return this.setVringFile(msg);
      case Req.SET_VRING_ENABLE: {
        this.expect(msg, SIZE_VRING_STATE, 0);
        const r = this.vring(msg, p.getUint32(0, true));
        const num = p.getUint32(4, true);
        if (num > 1) throw new ProtocolError(`SET_VRING_ENABLE ${num} is neither 0 nor 1`, 'BadValue');
        r.enabled = num === 1;
        return this.refresh(r);
      }
      case Req.SEND_RARP:
        // Not offered; harmless. QEMU only sends it after migration.
        this.expect(msg, SIZE_U64, 0);
        return;
      case Req.NET_SET_MTU:
        this.expect(msg, SIZE_U64, 0);
        this.log.info(`vhost-user: front-end set MTU ${p.getBigUint64(0, true)}`);
        return;
      default:
        throw new ProtocolError(`unsupported request ${requestName(msg.request)} (size ${msg.size}, ${msg.fds.length} fds)`, 'UnknownRequest');
    }
  }

  /** check payload size and fd count exactly */
  private expect(msg: VhostUserMessage, size: number, fds: number): void {
    if (msg.size !== size) {
      throw new ProtocolError(`${requestName(msg.request)}: payload of ${msg.size} bytes, expected ${size}`, 'BadSize');
    }
    if (msg.fds.length !== fds) {
      throw new ProtocolError(`${requestName(msg.request)}: ${msg.fds.length} fds attached, expected ${fds}`, 'BadFds');
    }
  }

  private replyU64(msg: VhostUserMessage, v: bigint): void {
    this.conn.replyU64(msg.request, v);
    this.replied = true;
  }

  private vring(msg: VhostUserMessage, index: number): VringState {
    const r = this.vrings[index];
    if (!r) {
      throw new ProtocolError(`${requestName(msg.request)}: vring index ${index} out of range (0..${this.vrings.length - 1})`, 'BadIndex');
    }
    return r;
  }

  private setFeatures(v: bigint): void {
    const offered = this.device.features;
    if (v & ~offered) {
      throw new ProtocolError(`SET_FEATURES 0x${v.toString(16)} acks bits never offered (0x${offered.toString(16)})`, 'BadFeatures');
    }
    if (!(v & VIRTIO_F_VERSION_1)) {
      // QEMU 7.2 loses the guest's acked features when the back-end restarts during a guest reset and
      // then sends only bit 30 (reference vhost-user.md §5.3 pitfall 5). We only speak VERSION_1 layouts
      // (12-byte header, little-endian), which is what the guest driver is using; carry on with that.
      this.log.warn(
        `vhost-user: SET_FEATURES 0x${v.toString(16)} without VERSION_1 (QEMU 7.2 lost the guest's features across a reconnect?); ` +
          'assuming VERSION_1 layouts with no offloads until the guest resets the device',
      );
      this.stats.count('FeaturesWithoutVersion1');
      v |= VIRTIO_F_VERSION_1;
    }
    // QEMU sends SET_FEATURES once per queue pair (each pair is a vhost_dev), so with multiqueue it
    // arrives again while pair 0 runs; the same value is fine, a change under running rings is not.
    if (v !== this.ackedFeatures && this.vrings.some((r) => r.live)) {
      throw new ProtocolError(`SET_FEATURES 0x${v.toString(16)} changes features while rings are running`, 'BadOrder');
    }
    this.ackedFeatures = v;
    this.device.setFeatures(v);
  }

  private setMemTable(msg: VhostUserMessage): void {
    const p = msg.payload;
    if (msg.size < 8) throw new ProtocolError(`SET_MEM_TABLE: payload of ${msg.size} bytes is shorter than its header`, 'BadSize');
    const n = p.getUint32(0, true);
    if (n === 0 || n > MAX_REGIONS) throw new ProtocolError(`SET_MEM_TABLE: ${n} regions (1..${MAX_REGIONS} allowed)`, 'BadRegions');
    this.expect(msg, 8 + SIZE_MEM_REGION * n, n);
    const regions: RegionDesc[] = [];
    for (let i = 0; i < n; i++) {
      const o = 8 + i * SIZE_MEM_REGION;
      regions.push({ gpa: u64(p, o), size: u64(p, o + 8), uva: u64(p, o + 16), mmapOffset: u64(p, o + 24) });
    }
    const mapped = mapRegions(regions, msg.fds);
    if (typeof mapped === 'string') throw new ProtocolError(`SET_MEM_TABLE: ${mapped}`, 'BadRegions');
    const old = this.memory;
    this.memory = mapped;
    // Re-translate running rings before the old mappings go (reference §3.1: map new, switch, unmap old).
    for (const r of this.vrings) {
      if (r.live) {
        const err = r.vq.remap(mapped.memory);
        if (err) this.ringBroken(r, `after memory table change: ${err}`);
      }
    }
    unmapAll(old);
  }

  private setVringNum(msg: VhostUserMessage): void {
    this.expect(msg, SIZE_VRING_STATE, 0);
    const r = this.vring(msg, msg.payload.getUint32(0, true));
    const num = msg.payload.getUint32(4, true);
    if (r.started) throw new ProtocolError(`SET_VRING_NUM on running vring ${r.index}`, 'BadOrder');
    if (num === 0 || num > 32768 || (num & (num - 1)) !== 0) {
      throw new ProtocolError(`SET_VRING_NUM ${num} for vring ${r.index}: not a power of 2 in 1..32768`, 'BadValue');
    }
    r.num = num;
  }

  private setVringAddr(msg: VhostUserMessage): void {
    this.expect(msg, SIZE_VRING_ADDR, 0);
    const p = msg.payload;
    const r = this.vring(msg, p.getUint32(0, true));
    if (r.started) throw new ProtocolError(`SET_VRING_ADDR on running vring ${r.index}`, 'BadOrder');
    if (!this.memory) throw new ProtocolError(`SET_VRING_ADDR for vring ${r.index} before the memory table`, 'BadOrder');
    const desc = u64(p, 8);
    const used = u64(p, 16);
    const avail = u64(p, 24);
    const m = this.memory.memory;
    if (desc < 0 || used < 0 || avail < 0 || m.translateUva(desc, 16) < 0 || m.translateUva(avail, 4) < 0 || m.translateUva(used, 4) < 0) {
      throw new ProtocolError(`SET_VRING_ADDR for vring ${r.index}: ring addresses outside guest memory`, 'BadAddress');
    }
    r.descUva = desc;
    r.usedUva = used;
    r.availUva = avail;
    r.addrSet = true;
  }

  private getVringBase(msg: VhostUserMessage): void {
    this.expect(msg, SIZE_VRING_STATE, 0);
    const r = this.vring(msg, msg.payload.getUint32(0, true));
    this.stopRing(r);
    r.started = false;
    const next = r.base;
    this.conn.reply(msg.request, SIZE_VRING_STATE, (v, o) => {
      v.setUint32(o, r.index, true);
      v.setUint32(o + 4, next, true);
    });
    this.replied = true;
  }

  private setVringFile(msg: VhostUserMessage): void {
    this.expect(msg, SIZE_U64, msg.fds.length);
    const v = msg.payload.getBigUint64(0, true);
    if (v >> 9n) throw new ProtocolError(`${requestName(msg.request)}: reserved bits set in 0x${v.toString(16)}`, 'BadValue');
    const r = this.vring(msg, Number(v & BigInt(VRING_IDX_MASK)));
    const nofd = (v & BigInt(VRING_NOFD_MASK)) !== 0n;
    if (msg.fds.length !== (nofd ? 0 : 1)) {
      throw new ProtocolError(`${requestName(msg.request)}: ${msg.fds.length} fds with NOFD=${nofd}`, 'BadFds');
    }
    const fd = nofd ? -1 : msg.fds.pop()!;
    switch (msg.request) {
      case Req.SET_VRING_KICK:
        if (!this.memory || !r.addrSet || r.num === 0) {
          if (fd >= 0) vde.close(fd);
          throw new ProtocolError(`SET_VRING_KICK for vring ${r.index} before its memory table, size and addresses`, 'BadOrder');
        }
        this.stopRing(r);
        this.replaceFd(r, 'kickFd', fd);
        r.started = true;
        // Without PROTOCOL_FEATURES rings are enabled when started (vhost-user.rst "Ring states").
        if (!(this.ackedFeatures & VHOST_USER_F_PROTOCOL_FEATURES)) r.enabled = true;
        return this.refresh(r);
      case Req.SET_VRING_CALL:
        return this.replaceFd(r, 'callFd', fd);
      default:
        return this.replaceFd(r, 'errFd', fd);
    }
  }

  private replaceFd(r: VringState, which: 'kickFd' | 'callFd' | 'errFd', fd: number): void {
    const old = r[which];
    r[which] = fd;
    if (old >= 0 && old !== fd) {
      if (which === 'kickFd') this.stopKickPoller(r);
      vde.close(old);
    }
  }

  /** bring a ring's running state in line with started/enabled */
  private refresh(r: VringState): void {
    const want = r.started && r.enabled && r.addrSet && r.num > 0 && this.memory !== null;
    if (want && !r.live) this.startRing(r);
    else if (!want && r.live) this.stopRing(r, false);
  }

  private startRing(r: VringState): void {
    const mem = this.memory!.memory;
    const err = r.vq.setup(mem, r.num, r.descUva, r.availUva, r.usedUva, r.base, {
      eventIdx: (this.ackedFeatures & VIRTIO_RING_F_EVENT_IDX) !== 0n,
      indirect: (this.ackedFeatures & VIRTIO_RING_F_INDIRECT_DESC) !== 0n,
    });
    if (err) {
      this.stats.ringErrors++;
      this.stats.count('RingSetup');
      this.log.error(`vhost-user: vring ${r.index} cannot start: ${err}`);
      this.signalErr(r);
      return;
    }
    r.live = true;
    const notify = (): void => {
      if (r.callFd >= 0) vde.eventfdWrite(r.callFd, 1n);
    };
    this.device.startRing(r.index, r.vq, notify);
    if (r.kickFd >= 0) {
      const poller = new vde.Poller(r.kickFd, () => {
        if (vde.eventfdRead(r.kickFd) !== null && r.live) this.device.kick(r.index);
      });
      poller.start(vde.POLL_READABLE);
      this.pollers.set(r.index, poller);
    }
    // Buffers may already be waiting (Linux fills the whole rx ring at start), and a reconnect may
    // have lost a notification: look at the ring once, and signal the guest once.
    this.device.kick(r.index);
    notify();
  }

  /** stop a ring (GET_VRING_BASE, disable, reset, disconnect): remember where it stopped */
  private stopRing(r: VringState, dropKick = true): void {
    if (r.live) {
      this.device.stopRing(r.index);
      r.live = false;
      r.base = r.vq.lastAvail;
      r.vq.reset();
    }
    if (dropKick) {
      this.stopKickPoller(r);
      if (r.kickFd >= 0) {
        vde.close(r.kickFd);
        r.kickFd = -1;
      }
    }
  }

  private stopKickPoller(r: VringState): void {
    const p = this.pollers.get(r.index);
    if (p) {
      p.close();
      this.pollers.delete(r.index);
    }
  }

  private ringBroken(r: VringState, reason: string): void {
    this.stats.ringErrors++;
    this.stats.count('RingBroken');
    this.log.error(`vhost-user: vring ${r.index} broken: ${reason}; ring stopped until the guest resets the device`);
    if (r.live) {
      this.device.stopRing(r.index);
      r.live = false;
      r.base = r.vq.lastAvail;
    }
    this.stopKickPoller(r);
    this.signalErr(r);
  }

  /** tell QEMU through the vring's error eventfd ("vhost vring error in virtqueue N") */
  private signalErr(r: VringState): void {
    if (r.errFd >= 0) {
      try {
        vde.eventfdWrite(r.errFd, 1n);
      } catch {
        /* the front-end's problem */
      }
    }
  }

  /** what the front-end acked (features, protocol features) */
  get acked(): { features: bigint; protocol: bigint } {
    return { features: this.ackedFeatures, protocol: this.ackedProtocol };
  }
}
