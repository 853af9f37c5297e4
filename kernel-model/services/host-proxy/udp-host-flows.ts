// What the outbound UDP proxies share, IPv4 (udp-proxy.ts) and IPv6 (udp6-proxy.ts), as Linux shares
// udp.c between the families: one connected host UDP socket per guest flow (libslirp udp.c), datagrams
// written before connect() completes held in a backlog, a byte cap on what the host socket has not sent
// yet, replies handed to the family's guest-side send, and ECONNREFUSED (an ICMP port unreachable that
// reached the connected socket, udp(7)) turned into the family's port unreachable to the guest, quoting
// the guest's last datagram. Each family supplies the flow's addresses, the lookup and those two sends.
import * as dgram from 'dgram';
import * as net from 'net';
import { kfree_skb, PACKET_HOST, type Skb } from '../../core/skb';
import { copyBytes } from '../../wire/bytes';
import { HostFlow, HostFlows, type FlowNet, type HostFlowsOptions } from './host-flow-table';

/** libslirp socket.h SO_EXPIRE: a UDP socket idle this long (ms) is detached */
export const UDP_PROXY_IDLE_MS = 240_000;
/** payload bytes kept per flow to quote in an ICMP error (RFC 792 needs 8; Linux quotes up to 576) */
export const QUOTE_PAYLOAD = 64;

export interface UdpFlowOptions extends HostFlowsOptions {
  /** bytes queued to one host socket at most (written but not yet sent); more are dropped */
  maxQueuedBytes?: number;
}

export interface UdpProxyStats {
  /** flows opened */
  flows: number;
  /** flows closed after idleMs without traffic */
  expired: number;
  /** guest datagrams sent to the host / host datagrams delivered to the guest */
  datagramsOut: number;
  datagramsIn: number;
  bytesOut: number;
  bytesIn: number;
  /** dropped: the flow table was full */
  flowLimit: number;
  /** dropped: restrict mode */
  restricted: number;
  /** dropped: the host socket's queue was full */
  queueFull: number;
  /** ICMP port unreachable sent to the guest after ECONNREFUSED */
  refused: number;
  /** other host socket errors */
  hostErrors: number;
  /** host datagrams the model could not send to the guest */
  guestSendErrors: number;
}

/** a guest UDP flow and its connected host socket; the family adds the addresses */
export abstract class UdpHostFlow extends HostFlow {
  sock: dgram.Socket | null = null;
  connected = false;
  /** datagrams written before connect() completed */
  backlog: Buffer[] = [];
  /** bytes handed to the socket or the backlog and not yet sent */
  queued = 0;
  /** the guest's last datagram: IP header, UDP header and the start of the payload (for ICMP) */
  readonly quote: Uint8Array;
  quoteLen = 0;
  constructor(
    hash: number,
    readonly guestPort: number,
    readonly destPort: number,
    /** the host address the socket is connected to */
    readonly hostAddr: string,
    quoteMax: number,
  ) {
    super(hash);
    this.quote = new Uint8Array(quoteMax);
  }
  release(): void {
    this.backlog = [];
    try {
      this.sock?.close();
    } catch {
      // already closed
    }
  }
}

export abstract class UdpHostFlows<F extends UdpHostFlow> extends HostFlows<F, UdpProxyStats> {
  readonly maxQueuedBytes: number;

  constructor(fnet: FlowNet, name: string, opts: UdpFlowOptions, restrict: boolean) {
    super(
      fnet,
      name,
      {
        flows: 0,
        expired: 0,
        datagramsOut: 0,
        datagramsIn: 0,
        bytesOut: 0,
        bytesIn: 0,
        flowLimit: 0,
        restricted: 0,
        queueFull: 0,
        refused: 0,
        hostErrors: 0,
        guestSendErrors: 0,
      },
      opts,
      { idleMs: UDP_PROXY_IDLE_MS, restrict },
    );
    this.maxQueuedBytes = opts.maxQueuedBytes ?? 256 * 1024;
  }

  /** the family's send of a host datagram to the guest, from the flow's destination; < 0 on failure */
  protected abstract deliver(f: F, msg: Buffer): number;
  /** the family's ICMP port unreachable to the guest about skb (the quoted datagram, network_header set) */
  protected abstract sendPortUnreach(f: F, skb: Skb): void;

  /**
   * One guest datagram for flow f (b's IP header at nh, its payload of len bytes at payload): kept as the
   * quote for a later ICMP error, copied out of the receive buffer and written to the host socket.
   */
  protected send(f: F, b: Uint8Array, nh: number, payload: number, len: number): void {
    if (f.queued + len > this.maxQueuedBytes) {
      this.stats.queueFull++;
      return;
    }
    this.table.touch(f);
    const q = Math.min(payload + Math.min(len, QUOTE_PAYLOAD) - nh, f.quote.length);
    copyBytes(f.quote, 0, b, nh, q);
    f.quoteLen = q;
    // the host socket sends later: copy the payload out of the receive buffer
    const msg = Buffer.allocUnsafe(len);
    copyBytes(msg, 0, b, payload, len);
    f.queued += len;
    this.stats.datagramsOut++;
    this.stats.bytesOut += len;
    if (f.connected) this.write(f, msg);
    else f.backlog.push(msg);
  }

  /** enter a new flow and connect its host socket */
  protected open(f: F): F {
    this.table.add(f);
    const s = dgram.createSocket(net.isIPv6(f.hostAddr) ? 'udp6' : 'udp4');
    f.sock = s;
    s.on('message', (msg) => this.fromHost(f, msg));
    s.on('error', (err) => this.hostError(f, err));
    s.connect(f.destPort, f.hostAddr, () => {
      if (f.closed) return;
      f.connected = true;
      const b = f.backlog;
      f.backlog = [];
      for (const msg of b) this.write(f, msg);
    });
    return f;
  }

  private write(f: F, msg: Buffer): void {
    f.sock!.send(msg, (err) => {
      f.queued -= msg.length;
      if (err) this.hostError(f, err);
    });
  }

  private fromHost(f: F, msg: Buffer): void {
    if (f.closed) return;
    this.table.touch(f);
    if (this.deliver(f, msg) < 0) {
      this.stats.guestSendErrors++;
      return;
    }
    this.stats.datagramsIn++;
    this.stats.bytesIn += msg.length;
  }

  private hostError(f: F, err: Error): void {
    if (f.closed) return;
    if ((err as NodeJS.ErrnoException).code === 'ECONNREFUSED') {
      this.portUnreachable(f);
      return;
    }
    this.stats.hostErrors++;
    this.fnet.logBad(`${this.name}: ${f} (host ${f.hostAddr}): ${err.message}`);
  }

  /** port unreachable to the guest, quoting its last datagram, from the destination */
  private portUnreachable(f: F): void {
    if (f.quoteLen === 0) return;
    const skb = this.fnet.stack.alloc_skb(f.quoteLen);
    if (skb === null) return;
    const o = skb.put(f.quoteLen);
    copyBytes(skb.buf, o, f.quote, 0, f.quoteLen);
    skb.network_header = o;
    skb.pkt_type = PACKET_HOST;
    this.stats.refused++;
    this.sendPortUnreach(f, skb);
    kfree_skb(skb);
  }
}
