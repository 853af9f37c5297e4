// Wiring for one attached guest: a model network stack (its own namespace), the virtio-net device the
// guest sees as eth0, the vhost-user socket it arrives on, the inet protocols and services, and the
// optional pcap capture. The emulator is the only place that knows all of these.
import { IPPROTO_UDP } from '../kernel-model/wire/ipv4';
import { NetStack } from '../kernel-model/core/stack';
import { attachInet, Inet, InetConfig, parseInetConfig } from '../kernel-model/inet';
import { attachInet6, Inet6 } from '../kernel-model/inet6';
import { tcp_v4_init, type TcpNet } from '../kernel-model/tcp';
import { DnsForwarder } from '../kernel-model/services/dns/forwarder';
import { formatUpstream, hostResolver, type DnsUpstream } from '../kernel-model/services/dns/resolv';
import { UdpProxy } from '../kernel-model/services/host-proxy/udp-proxy';
import { TcpProxy } from '../kernel-model/services/host-proxy/tcp-proxy';
import { Udp6Proxy } from '../kernel-model/services/host-proxy/udp6-proxy';
import { IcmpProxy } from '../kernel-model/services/host-proxy/icmp-proxy';
import { Icmp6Proxy } from '../kernel-model/services/host-proxy/icmp6-proxy';
import { HostFwd, type HostFwdRule } from '../kernel-model/services/hostfwd';
import { VirtioNetDevice } from '../devices/virtio-net/virtio-net-device';
import { IfbDevice } from '../kernel-model/sched/ifb';
import { bitmap_parse, type KernelProfile } from '../kernel-model/core/sysctl';
import { VhostUserServer } from '../devices/vhost-user/server';
import { PcapWriter } from './pcap-writer';
import { Logger } from './log';
import { formatMac } from './options';
import { formatIpv4 } from '../kernel-model/wire/address';
import { udpEndpoints, type UdpEndpoint } from './views/ss';

export interface AttachmentOptions {
  socket: string;
  guestMac: Uint8Array;
  net: string;
  queues: number;
  pcap: PcapWriter | null;
  log: Logger;
  /** upstream resolver for the DNS forwarder; null = the first nameserver of /etc/resolv.conf */
  dnsForward?: DnsUpstream | null;
  /** host forwarding rules for this guest */
  hostfwd?: HostFwdRule[];
  /** `-netdev user,restrict=on`: also set as InetConfig.restrict, which routing and proxies read */
  restrict?: boolean;
  /** TCP connections and UDP flows of this guest at most (each host proxy applies it) */
  maxConnections?: number;
  /** bytes one TCP connection buffers per direction at most (TcpSysctl.max_buffered_bytes) */
  maxBuffer?: number;
  /** `--sysctl` settings: HZ and net.core knobs for the stack, NAPI and RPS settings per device;
   *  `--cpus` (virtual CPUs) and `--proxy-cpus` (the TCP proxy's consumer CPUs) */
  profile?: KernelProfile;
}

export class VhostUserAttachment {
  readonly stack: NetStack;
  readonly device: VirtioNetDevice;
  readonly server: VhostUserServer;
  readonly inet: InetConfig;
  readonly guestMac: string;
  readonly ipv4: Inet;
  readonly ipv6: Inet6;
  readonly tcp: TcpNet;
  /** 10.0.2.3:53 (and fec0::3:53) → the upstream resolver */
  readonly dns: DnsForwarder;
  /** outbound UDP: routing hands it datagrams bound beyond the link (udpProxy.handle) */
  readonly udpProxy: UdpProxy;
  /** outbound UDP over IPv6 (fec0::2 → the host's ::1, other addresses as they are) */
  readonly udp6Proxy: Udp6Proxy;
  /** outbound TCP: guest connections to any address carried to host sockets */
  readonly tcpProxy: TcpProxy;
  /** ICMP echo to outside addresses through the host's ping sockets */
  readonly icmpProxy: IcmpProxy;
  /** ICMPv6 echo to off-link addresses through the host's ICMPv6 ping sockets */
  readonly icmp6Proxy: Icmp6Proxy;
  /** --hostfwd rules (null when none) */
  readonly hostfwd: HostFwd | null;
  /** ifb0: eth0's ingress, shaped by `tc qdisc … dev ifb0` (pass-through while its root is noqueue) */
  readonly ifb: IfbDevice;

  constructor(readonly options: AttachmentOptions) {
    this.guestMac = formatMac(options.guestMac);
    this.inet = parseInetConfig(options.net, { restrict: options.restrict ?? false });
    const profile = options.profile;
    // --cpus virtual CPUs; net.core.rps_sock_flow_entries / flow_limit_* (flow_limit_table_len is
    // taken as written before flow_limit_cpu_bitmap, whose tables it sizes)
    this.stack = new NetStack({ log: options.log, sysctl: profile?.core, cpus: profile?.cpus, rps: profile?.rps });
    this.device = new VirtioNetDevice(this.stack, { queuePairs: options.queues });
    for (const [name, attrs] of Object.entries(profile?.dev ?? {})) {
      const dev = this.stack.dev_get_by_name(name);
      if (!dev) continue;
      if (attrs.gro_flush_timeout !== undefined) dev.gro_flush_timeout = attrs.gro_flush_timeout;
      if (attrs.napi_defer_hard_irqs !== undefined) dev.napi_defer_hard_irqs = attrs.napi_defer_hard_irqs;
      // the sysfs queues/rx-N attributes, once the device (and its rx queues) exists
      for (const [q, rx] of Object.entries(attrs.rx_queues ?? {})) {
        if (rx.rps_cpus !== undefined) this.stack.rps.set_rps_cpus(dev, Number(q), bitmap_parse(rx.rps_cpus, this.stack.rps.nr_cpu_ids));
        if (rx.rps_flow_cnt !== undefined) this.stack.rps.set_rps_flow_cnt(dev, Number(q), rx.rps_flow_cnt);
      }
    }
    this.ifb = new IfbDevice(this.stack, this.device.dev);
    this.ipv4 = attachInet(this.stack, this.device.dev, this.inet);
    // IPv6 as `-netdev user`: fec0::/64 by router advertisement, gateway fec0::2, DNS fec0::3
    this.ipv6 = attachInet6(this.stack, this.device.dev);
    this.tcp = tcp_v4_init(this.ipv4.net, options.maxBuffer ? { max_buffered_bytes: options.maxBuffer } : {});
    const upstream = options.dnsForward ?? hostResolver();
    this.dns = new DnsForwarder(this.ipv4, { upstream, inet6: this.ipv6 }).start();
    if (upstream !== null) options.log.info(`dns: ${formatIpv4(this.inet.dns)}:53 forwards to ${formatUpstream(upstream)}`);
    const max = options.maxConnections;
    this.udpProxy = new UdpProxy(this.ipv4, { maxFlows: max });
    // guest UDP to the gateway or beyond the link goes to host sockets, as TCP does (terminate rule)
    this.ipv4.net.udp.forwarder = (d) => this.udpProxy.handle(d);
    this.ipv4.net.setTerminate(IPPROTO_UDP, true);
    this.udp6Proxy = new Udp6Proxy(this.ipv6, { maxFlows: max, restrict: this.inet.restrict }).start();
    this.tcpProxy = new TcpProxy(this.ipv4, this.tcp, {
      maxConnections: max,
      dnsUpstream: upstream,
      inet6: this.ipv6,
      consumerCpus: profile?.consumer_cpus,
    }).start();
    // guest echo requests to other addresses (the terminate rule for ICMP) go out through ping sockets
    this.icmpProxy = new IcmpProxy(this.ipv4, { maxFlows: max }).start();
    this.icmp6Proxy = new Icmp6Proxy(this.ipv6, { maxFlows: max, restrict: this.inet.restrict }).start();
    this.hostfwd = options.hostfwd && options.hostfwd.length > 0 ? new HostFwd(this.ipv4, this.tcp, options.hostfwd, { maxConnections: max }) : null;
    const pcap = options.pcap;
    if (pcap) this.stack.dev_add_tap((skb) => pcap.write(skb.buf, skb.mac_header >= 0 ? skb.mac_header : skb.data, skb.tail - (skb.mac_header >= 0 ? skb.mac_header : skb.data)));
    this.server = new VhostUserServer(options.socket, this.device, options.log);
  }

  /** listen on the vhost-user socket and bind the host forwarding sockets (rejects when one fails) */
  async listen(): Promise<void> {
    this.server.listen();
    if (this.hostfwd !== null) {
      for (const b of await this.hostfwd.start()) this.options.log.info(`hostfwd: ${b.rule.proto} ${b.address}:${b.port} -> ${formatIpv4(b.guestAddr)}:${b.rule.guestPort}`);
    }
  }

  /** the model's UDP endpoints for `skbnet ss -u` (IPv4 and IPv6), read through read-only accessors */
  udpEndpoints(): UdpEndpoint[] {
    return udpEndpoints({ udp: this.ipv4.net.udp, udpFlows: this.udpProxy.openFlows(), udp6: this.ipv6.net.udp, udp6Flows: this.udp6Proxy.openFlows() });
  }

  /**
   * the services' own counters (no Linux MIB holds them): connections and flows opened, caps hit
   * (connLimit, flow caps, --max-buffer), refusals, bytes spliced; for `skbnet services` and --metrics
   */
  serviceStats(): Record<string, Readonly<Record<string, number>>> {
    const out: Record<string, Readonly<Record<string, number>>> = {
      'tcp-proxy': this.tcpProxy.stats as unknown as Record<string, number>,
      'udp-proxy': this.udpProxy.stats as unknown as Record<string, number>,
      'udp6-proxy': this.udp6Proxy.stats as unknown as Record<string, number>,
      'icmp-proxy': this.icmpProxy.stats as unknown as Record<string, number>,
      'icmp6-proxy': this.icmp6Proxy.stats as unknown as Record<string, number>,
      dns: this.dns.stats as unknown as Record<string, number>,
      tcp: this.tcp.drops,
    };
    if (this.hostfwd) out.hostfwd = this.hostfwd.stats as unknown as Record<string, number>;
    return out;
  }

  close(): void {
    this.hostfwd?.close();
    this.tcpProxy.close();
    this.icmpProxy.close();
    this.icmp6Proxy.close();
    this.udpProxy.close();
    this.udp6Proxy.close();
    this.dns.close();
    this.server.close();
  }
}
