// Wiring for one attached guest: a model network stack (its own namespace), the virtio-net device the
// guest sees as eth0, the vhost-user socket it arrives on, the inet protocols and services, and the
// optional pcap capture. The emulator is the only place that knows all of these.
import { NetStack } from '../kernel-model/core/stack';
import { attachInet, InetConfig, parseInetConfig } from '../kernel-model/inet';
import { attachInet6 } from '../kernel-model/inet6';
import { VirtioNetDevice } from '../devices/virtio-net/virtio-net-device';
import { VhostUserServer } from '../devices/vhost-user/server';
import { PcapWriter } from './pcap-writer';
import { Logger } from './log';
import { formatMac } from './options';

export interface AttachmentOptions {
  socket: string;
  guestMac: Uint8Array;
  net: string;
  queues: number;
  pcap: PcapWriter | null;
  log: Logger;
}

export class VhostUserAttachment {
  readonly stack: NetStack;
  readonly device: VirtioNetDevice;
  readonly server: VhostUserServer;
  readonly inet: InetConfig;
  readonly guestMac: string;

  constructor(readonly options: AttachmentOptions) {
    this.guestMac = formatMac(options.guestMac);
    this.inet = parseInetConfig(options.net);
    this.stack = new NetStack({ log: options.log });
    this.device = new VirtioNetDevice(this.stack, { queuePairs: options.queues });
    attachInet(this.stack, this.device.dev, this.inet);
    // IPv6 as `-netdev user`: fec0::/64 by router advertisement, gateway fec0::2, DNS fec0::3
    attachInet6(this.stack, this.device.dev);
    const pcap = options.pcap;
    if (pcap) this.stack.dev_add_tap((skb) => pcap.write(skb.buf, skb.mac_header >= 0 ? skb.mac_header : skb.data, skb.tail - (skb.mac_header >= 0 ? skb.mac_header : skb.data)));
    this.server = new VhostUserServer(options.socket, this.device, options.log);
  }

  listen(): void {
    this.server.listen();
  }

  close(): void {
    this.server.close();
  }
}
