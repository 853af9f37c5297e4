// The emulator process: a set of attached guests served until told to stop.
import * as path from 'path';
import { VhostUserAttachment } from './attachment';
import { consoleLogger, Logger } from './log';
import { PcapWriter } from './pcap-writer';
import { ServeOptions, nthMac, formatMac } from './options';
import { sharedMemoryArgs, shellQuote, vhostUserNicArgs } from './qemu-args';
import { ControlServer } from './control/server';
import { tcCommand } from '../kernel-model/sched/tc';
import { ControlRequest } from './control/framing';
import { nstatCounters } from './views/nstat';
import { formatIpLink } from './views/ip-link';
import { formatSs, parseSsArgs, ssRows } from './views/ss';
import { formatServices } from './views/services';
import { softnet_seq_show } from '../kernel-model/core/softnet';
import { formatIpv4 } from '../kernel-model/wire/address';
import { MetricsServer } from './metrics';
import type { AddressInfo } from 'net';

export class Emulator {
  readonly attachments: VhostUserAttachment[] = [];
  readonly pcap: PcapWriter | null;
  readonly log: Logger;
  readonly control: ControlServer | null;
  /** --metrics: Prometheus exposition of every guest's counters */
  readonly metrics: MetricsServer | null;
  metricsAddress: AddressInfo | null = null;
  private stopped = false;

  constructor(readonly options: ServeOptions, log?: Logger) {
    this.log = log ?? consoleLogger('skbnet', options.logLevel);
    this.pcap = options.pcap ? new PcapWriter(options.pcap) : null;
    this.control = options.control ? this.controlServer(path.resolve(options.control)) : null;
    this.metrics = options.metrics ? new MetricsServer(() => this.attachments.map((a) => a.stack), this.log, () => this.attachments.map((a) => a.serviceStats())) : null;
    options.vhostUser.forEach((socket, i) => {
      this.attachments.push(
        new VhostUserAttachment({
          socket: path.resolve(socket),
          guestMac: nthMac(options.mac, i),
          net: options.net,
          queues: options.queues,
          pcap: this.pcap,
          log: this.log,
          dnsForward: options.dnsForward,
          // a host port can be bound once: forwarding goes to the first guest
          hostfwd: i === 0 ? options.hostfwd : [],
          restrict: options.restrict,
          maxConnections: options.maxConnections,
          maxBuffer: options.maxBuffer,
          profile: options.profile,
        }),
      );
    });
  }

  /** listen on every socket; resolves once host forwarding is bound (rejects when a rule cannot be) */
  async start(): Promise<void> {
    // --tc first: a bad command stops the start before any socket exists
    for (const a of this.attachments) for (const line of this.options.tc) tcCommand(a.stack, splitArgs(line));
    this.control?.listen();
    if (this.metrics && this.options.metrics) this.metricsAddress = await this.metrics.listen(this.options.metrics.host, this.options.metrics.port);
    await Promise.all(this.attachments.map((a) => a.listen()));
  }

  private attachment(req: ControlRequest): VhostUserAttachment {
    const a = this.attachments[req.guest];
    if (!a) throw new Error(`no guest ${req.guest} (guests 0..${this.attachments.length - 1})`);
    return a;
  }

  private controlServer(path: string): ControlServer {
    return new ControlServer(path, this.log)
      .on('nstat', (req) => ({ ok: true, text: '', data: nstatCounters(this.attachment(req).stack.mib) }))
      .on('ip', (req) => {
        const args = req.args.filter((x) => x !== '-s' && x !== '-stats');
        if (args[0] !== 'link' && args[0] !== 'l') throw new Error('ip: only `ip [-s] link [show [dev DEV]]` is modelled');
        const devs = this.attachment(req).stack.devices;
        const i = args.indexOf('dev');
        const name = i >= 0 ? args[i + 1] : args[1] === 'show' ? args[2] : undefined;
        const chosen = name ? devs.filter((d) => d.name === name) : devs;
        if (name && chosen.length === 0) throw new Error(`Device "${name}" does not exist.`);
        return { ok: true, text: formatIpLink(chosen, req.args.includes('-s') || req.args.includes('-stats')) };
      })
      .on('tc', (req) => ({ ok: true, text: tcCommand(this.attachment(req).stack, req.args) }))
      .on('softnet', (req) => ({ ok: true, text: softnet_seq_show(this.attachment(req).stack) }))
      .on('ss', (req) => {
        const a = this.attachment(req);
        const o = parseSsArgs(req.args);
        return { ok: true, text: formatSs(ssRows(a.tcp, o.udp ? a.udpEndpoints() : [], o), o) };
      })
      .on('services', (req) => ({ ok: true, text: formatServices(this.attachment(req).serviceStats()) }));
  }

  /** the QEMU options to paste for guest i */
  qemuArgs(i: number, memory = '512M'): string[] {
    const a = this.attachments[i];
    return [...sharedMemoryArgs(memory), ...vhostUserNicArgs({ socket: a.options.socket, memory, mac: formatMac(a.options.guestMac), queues: this.options.queues })];
  }

  readyText(): string {
    const lines = this.attachments.map(
      (a, i) => `skbnet: ready: ${a.device.dev.name} on vhost-user ${a.options.socket} (guest mac ${a.guestMac}, net ${this.options.net})\n` +
        `  qemu-system-x86_64 -accel tcg ${shellQuote(this.qemuArgs(i))} ...`,
    );
    for (const a of this.attachments) {
      for (const b of a.hostfwd?.bindings ?? []) lines.push(`skbnet: hostfwd: ${b.rule.proto} ${b.address}:${b.port} -> ${formatIpv4(b.guestAddr)}:${b.rule.guestPort}`);
    }
    if (this.metricsAddress) {
      const a = this.metricsAddress;
      lines.push(`skbnet: metrics: http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}/metrics`);
    }
    return lines.join('\n');
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const a of this.attachments) a.close();
    this.control?.close();
    this.metrics?.close();
    this.pcap?.close();
  }
}

/** split a --tc argument into words (plain spaces; tc arguments never need quoting) */
function splitArgs(line: string): string[] {
  return line.trim().split(/\s+/).filter(Boolean);
}
