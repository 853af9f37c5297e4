// The emulator process: a set of attached guests served until told to stop.
import * as path from 'path';
import { VhostUserAttachment } from './attachment';
import { consoleLogger, Logger } from './log';
import { PcapWriter } from './pcap-writer';
import { ServeOptions, nthMac, formatMac } from './options';
import { sharedMemoryArgs, shellQuote, vhostUserNicArgs } from './qemu-args';

export class Emulator {
  readonly attachments: VhostUserAttachment[] = [];
  readonly pcap: PcapWriter | null;
  readonly log: Logger;
  private stopped = false;

  constructor(readonly options: ServeOptions, log?: Logger) {
    this.log = log ?? consoleLogger('skbnet', options.logLevel);
    this.pcap = options.pcap ? new PcapWriter(options.pcap) : null;
    options.vhostUser.forEach((socket, i) => {
      this.attachments.push(
        new VhostUserAttachment({
          socket: path.resolve(socket),
          guestMac: nthMac(options.mac, i),
          net: options.net,
          queues: options.queues,
          pcap: this.pcap,
          log: this.log,
        }),
      );
    });
  }

  start(): void {
    for (const a of this.attachments) a.listen();
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
    return lines.join('\n');
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const a of this.attachments) a.close();
    this.pcap?.close();
  }
}
