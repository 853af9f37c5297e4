// Host forwarding (`--hostfwd`, QEMU's `-netdev user,hostfwd=`): host sockets whose traffic the model
// carries into the guest. TCP: a net.Server on HOSTADDR:HOSTPORT; each accepted connection makes the
// model open a TCP connection from the gateway address (10.0.2.2) to GUESTADDR:GUESTPORT and splices
// the two with host-proxy/tcp-splice.ts, the splice the outbound proxy uses too (the accepted socket
// stays paused, pauseOnConnect, until the guest's handshake completes, so nothing the host sends early
// is buffered); a refused guest connection resets the host one. UDP: a host socket on HOSTADDR:HOSTPORT;
// datagrams go to the guest from the gateway address and port HOSTPORT, and the guest's answers to that
// address and port go back to the last host peer.
import * as dgram from 'dgram';
import * as net from 'net';
import type { Inet } from '../../inet';
import type { TcpNet } from '../../tcp/tcp_ipv4';
import type { UdpDatagram, UdpSock } from '../../udp/udp';
import { formatIpv4, type Ipv4Addr } from '../../wire/address';
import { udp_send_host } from '../udp-send';
import { formatHostFwd, type HostFwdRule } from './rule';
import { spliceStats, TcpSplice, type SpliceStats } from '../host-proxy/tcp-splice';

export { parseHostFwd, formatHostFwd, HostFwdSyntaxError, HOSTFWD_DEFAULT_HOST_ADDR, type HostFwdRule } from './rule';
export { TcpSplice } from '../host-proxy/tcp-splice';

export interface HostFwdOptions {
  /** TCP connections through all rules at once at most; more are closed at accept (counted) */
  maxConnections?: number;
}

export interface HostFwdStats extends SpliceStats {
  /** host connections accepted */
  accepted: number;
  /** guest connections established */
  connected: number;
  /** guest connections that failed (refused, timed out, reset before established) */
  refused: number;
  /** host connections closed at once: the connection cap was reached */
  connLimit: number;
  /** host connections closed at once: the model had no free port */
  noPort: number;
  /** UDP datagrams host → guest and guest → host */
  udpToGuest: number;
  udpToHost: number;
  /** guest datagrams with no host peer yet (nothing arrived on the host socket) */
  udpNoPeer: number;
  /** datagrams the model could not send to the guest */
  guestSendErrors: number;
  hostErrors: number;
}

/** one bound rule */
export interface HostFwdBinding {
  rule: HostFwdRule;
  /** the host socket's address and port as bound */
  address: string;
  port: number;
  /** the guest address it forwards to */
  guestAddr: Ipv4Addr;
  text: string;
}

export class HostFwd {
  readonly stats: HostFwdStats = {
    accepted: 0,
    connected: 0,
    refused: 0,
    connLimit: 0,
    noPort: 0,
    udpToGuest: 0,
    udpToHost: 0,
    udpNoPeer: 0,
    guestSendErrors: 0,
    hostErrors: 0,
    ...spliceStats(),
  };
  readonly maxConnections: number;
  readonly bindings: HostFwdBinding[] = [];
  private readonly servers: net.Server[] = [];
  private readonly udpSocks: dgram.Socket[] = [];
  private readonly modelSocks: UdpSock[] = [];
  private readonly splices = new Set<TcpSplice>();
  private closed = false;

  constructor(
    readonly inet: Inet,
    readonly tcp: TcpNet,
    readonly rules: readonly HostFwdRule[],
    opts: HostFwdOptions = {},
  ) {
    this.maxConnections = opts.maxConnections ?? 1024;
  }

  get connections(): number {
    return this.splices.size;
  }

  /** bind every rule's host socket; rejects (after closing what was bound) when one cannot be bound */
  async start(): Promise<HostFwdBinding[]> {
    try {
      for (const r of this.rules) {
        const guestAddr = r.guestAddr ?? this.inet.config.dhcpStart;
        const b = r.proto === 'tcp' ? await this.startTcp(r, guestAddr) : await this.startUdp(r, guestAddr);
        this.bindings.push(b);
      }
    } catch (err) {
      this.close();
      throw err;
    }
    return this.bindings;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.servers) s.close();
    for (const s of this.udpSocks) s.close();
    for (const s of this.modelSocks) this.inet.udpUnbind(s);
    for (const sp of this.splices) sp.destroy();
    this.splices.clear();
  }

  private fail(r: HostFwdRule, err: Error): Error {
    return new Error(`could not set up host forwarding rule '${r.text}': ${err.message}`);
  }

  private startTcp(r: HostFwdRule, guestAddr: Ipv4Addr): Promise<HostFwdBinding> {
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (sock) => this.accept(sock, guestAddr, r.guestPort));
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', (err) => reject(this.fail(r, err)));
      server.listen({ host: r.hostAddr, port: r.hostPort, exclusive: true }, () => {
        server.removeAllListeners('error');
        server.on('error', (err) => {
          this.stats.hostErrors++;
          this.inet.net.log.error(`hostfwd ${r.text}: ${err.message}`);
        });
        const a = server.address() as net.AddressInfo;
        resolve({ rule: r, address: a.address, port: a.port, guestAddr, text: formatHostFwd(r, this.inet.config.dhcpStart) });
      });
    });
  }

  private accept(host: net.Socket, guestAddr: Ipv4Addr, guestPort: number): void {
    this.stats.accepted++;
    if (this.closed) {
      host.destroy();
      return;
    }
    if (this.splices.size >= this.maxConnections) {
      this.stats.connLimit++;
      this.inet.net.logBad(`hostfwd: ${this.splices.size} connections open (the limit); ${host.remoteAddress}:${host.remotePort} closed`);
      host.destroy();
      return;
    }
    const guest = this.tcp.connect(this.inet.ind, guestAddr, guestPort, { saddr: this.inet.config.host });
    if (guest === null) {
      this.stats.noPort++;
      host.destroy();
      return;
    }
    let established = false;
    const sp = new TcpSplice(host, this.stats, (s) => this.splices.delete(s)).readWithDataEvents();
    sp.attach(guest);
    const onClose = guest.onClose;
    guest.onClose = (error) => {
      if (!established && error !== '') {
        this.stats.refused++;
        this.inet.net.logBad(`hostfwd: ${formatIpv4(guestAddr)}:${guestPort}: ${error}`);
      }
      onClose?.(error);
    };
    const onConnect = guest.onConnect;
    guest.onConnect = () => {
      established = true;
      this.stats.connected++;
      onConnect?.();
    };
    this.splices.add(sp);
  }

  private startUdp(r: HostFwdRule, guestAddr: Ipv4Addr): Promise<HostFwdBinding> {
    const gw = this.inet.config.host;
    let peer: { address: string; port: number } | null = null;
    const sock = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    this.udpSocks.push(sock);
    const model = this.inet.udpBind(
      r.hostPort,
      (d: UdpDatagram) => {
        if (d.saddr !== guestAddr) return;
        if (peer === null) {
          this.stats.udpNoPeer++;
          return;
        }
        this.stats.udpToHost++;
        // copy out: the payload views the receive buffer
        sock.send(Buffer.from(d.buf.subarray(d.payloadOffset, d.payloadOffset + d.payloadLen)), peer.port, peer.address, (err) => {
          if (err) this.stats.hostErrors++;
        });
      },
      gw,
    );
    if (model === null) return Promise.reject(this.fail(r, new Error(`the model's UDP port ${r.hostPort} on ${formatIpv4(gw)} is taken`)));
    this.modelSocks.push(model);
    sock.on('message', (msg, rinfo) => {
      peer = { address: rinfo.address, port: rinfo.port };
      if (udp_send_host(this.inet, gw, r.hostPort, guestAddr, r.guestPort, msg, 0, msg.length) < 0) this.stats.guestSendErrors++;
      else this.stats.udpToGuest++;
    });
    return new Promise((resolve, reject) => {
      sock.once('error', (err) => reject(this.fail(r, err)));
      sock.bind({ address: r.hostAddr, port: r.hostPort, exclusive: true }, () => {
        sock.removeAllListeners('error');
        sock.on('error', (err) => {
          this.stats.hostErrors++;
          this.inet.net.log.error(`hostfwd ${r.text}: ${err.message}`);
        });
        const a = sock.address();
        resolve({ rule: r, address: a.address, port: a.port, guestAddr, text: formatHostFwd(r, this.inet.config.dhcpStart) });
      });
    });
  }
}
