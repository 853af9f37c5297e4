// `--metrics ADDR:PORT`: every counter of every guest for Prometheus (prom-client), at GET /metrics.
// Names follow node_exporter's for the same data, with skbnet_ in place of node_:
//   netstat collector (/proc/net/snmp, netstat, snmp6):  skbnet_netstat_<Group>_<Field>, e.g.
//     skbnet_netstat_TcpExt_TCPSackRecovery, skbnet_netstat_Ip6_InReceives (node_netstat_…; counters,
//     except the gauges Ip Forwarding/DefaultTTL and Tcp RtoAlgorithm/RtoMin/RtoMax/MaxConn/CurrEstab).
//     Exactly the fields the guest's profile version lists (kernel.osrelease: 6.1 by default, with
//     MPTcpExt and without Ip OutTransmits; 6.12), as mib_list gives them
//   softnet collector (/proc/net/softnet_stat):  skbnet_softnet_{processed,dropped,times_squeezed,
//     received_rps,flow_limit_count}_total and skbnet_softnet_backlog_len, label cpu (columns both
//     versions print)
//   netdev collector (/proc/net/dev fields, as `ip -s link`):  skbnet_network_{receive,transmit}_*_total,
//     label device
//   qdisc collector (`tc -s qdisc`):  skbnet_qdisc_{bytes,packets,drops,requeues,overlimits}_total,
//     skbnet_qdisc_current_queue_length, skbnet_qdisc_backlog; labels device, kind (+ handle, parent)
//   skbnet's own services (`skbnet services`: proxies, hostfwd, DNS, caps hit):  skbnet_service{service,counter}
// Every series carries guest="N" (the --vhost-user order). Values are read at scrape time (cold path).
import * as http from 'http';
import type { AddressInfo } from 'net';
import { Counter, Gauge, Registry } from 'prom-client';
import type { NetStack } from '../kernel-model/core/stack';
import { mib_list, mib6_list } from '../kernel-model/core/mib';
import { qdisc_walk } from '../kernel-model/sched/tc/apply';
import { TC_H_ROOT } from '../kernel-model/core/sch_generic';
import { fmt_classid } from '../kernel-model/sched/sch_htb';
import type { Logger } from './log';
import { serviceRows, type ServiceStats } from './views/services';

/** MIB fields that are levels, not event counts (RFC 1213 / 4022 gauges) */
const MIB_GAUGES = new Set(['Ip_Forwarding', 'Ip_DefaultTTL', 'Tcp_RtoAlgorithm', 'Tcp_RtoMin', 'Tcp_RtoMax', 'Tcp_MaxConn', 'Tcp_CurrEstab']);

type Metric = Counter<string> | Gauge<string>;

export class MetricsServer {
  readonly registry = new Registry();
  private readonly metrics = new Map<string, Metric>();
  private server: http.Server | null = null;

  constructor(
    /** the stacks to export, by guest index */
    private readonly stacks: () => readonly NetStack[],
    private readonly log: Logger,
    /** each guest's service counters (`skbnet services`), by guest index */
    private readonly services: () => readonly ServiceStats[] = () => [],
  ) {}

  /** listen on host:port (port 0: any free one); resolves with the bound address */
  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const server = http.createServer((req, res) => this.serve(req, res));
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.off('error', reject);
        server.on('error', (e) => this.log.warn(`metrics: ${e.message}`));
        this.server = server;
        resolve(server.address() as AddressInfo);
      });
    });
  }

  close(): void {
    this.server?.close();
    this.server = null;
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || (url !== '/metrics' && url !== '/')) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('skbnet: metrics are at /metrics\n');
      return;
    }
    this.scrape().then(
      (text) => res.writeHead(200, { 'Content-Type': this.registry.contentType }).end(text),
      (e: Error) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${e.message}\n`),
    );
  }

  /** the exposition text with every value read now */
  async scrape(): Promise<string> {
    this.registry.resetMetrics();
    this.stacks().forEach((stack, i) => this.collect(stack, String(i)));
    this.services().forEach((stats, i) => {
      for (const [service, counter, v] of serviceRows(stats)) {
        this.put('gauge', 'skbnet_service', 'skbnet services counters (`skbnet services`): connections, flows, caps hit', { guest: String(i), service, counter }, v);
      }
    });
    return this.registry.metrics();
  }

  private metric(kind: 'counter' | 'gauge', name: string, help: string, labelNames: string[]): Metric {
    let m = this.metrics.get(name);
    if (!m) {
      const cfg = { name, help, labelNames, registers: [this.registry] };
      m = kind === 'counter' ? new Counter(cfg) : new Gauge(cfg);
      this.metrics.set(name, m);
    }
    return m;
  }

  private put(kind: 'counter' | 'gauge', name: string, help: string, labels: Record<string, string>, v: number): void {
    const m = this.metric(kind, name, help, Object.keys(labels));
    if (m instanceof Counter) m.inc(labels, v >= 0 ? v : 0);
    else m.set(labels, v);
  }

  private collect(stack: NetStack, guest: string): void {
    for (const e of [...mib_list(stack.mib), ...mib6_list(stack.mib)]) {
      const field = e.nstat.startsWith(e.group) ? e.nstat.slice(e.group.length) : e.name;
      const key = `${e.group}_${field}`;
      this.put(MIB_GAUGES.has(key) ? 'gauge' : 'counter', `skbnet_netstat_${key}`, `${e.group} ${field} (nstat ${e.nstat})`, { guest }, e.value);
    }
    for (const sd of stack.softnet) {
      const l = { guest, cpu: String(sd.cpu) };
      this.put('counter', 'skbnet_softnet_processed_total', 'softnet_stat processed: passes of __netif_receive_skb_core', l, sd.processed);
      this.put('counter', 'skbnet_softnet_dropped_total', 'softnet_stat dropped: backlog and flow-limit drops', l, sd.dropped);
      this.put('counter', 'skbnet_softnet_times_squeezed_total', 'softnet_stat time_squeeze', l, sd.time_squeeze);
      this.put('counter', 'skbnet_softnet_received_rps_total', 'softnet_stat received_rps', l, sd.received_rps);
      this.put('counter', 'skbnet_softnet_flow_limit_count_total', 'softnet_stat flow_limit_count', l, sd.flow_limit_count);
      this.put('gauge', 'skbnet_softnet_backlog_len', 'softnet_stat backlog length (input_pkt_queue + process_queue)', l, sd.backlog_len);
    }
    for (const dev of stack.devices) {
      const s = dev.stats;
      const l = { guest, device: dev.name };
      // /proc/net/dev columns (dev_seq_printf_stats), which node_exporter's netdev collector reads
      const rx: [string, number][] = [
        ['bytes', s.rx_bytes], ['packets', s.rx_packets], ['errs', s.rx_errors], ['drop', s.rx_dropped + s.rx_missed_errors],
        ['fifo', s.rx_fifo_errors], ['frame', s.rx_length_errors + s.rx_over_errors + s.rx_crc_errors + s.rx_frame_errors],
        ['compressed', s.rx_compressed], ['multicast', s.multicast],
      ];
      const tx: [string, number][] = [
        ['bytes', s.tx_bytes], ['packets', s.tx_packets], ['errs', s.tx_errors], ['drop', s.tx_dropped], ['fifo', s.tx_fifo_errors],
        ['colls', s.collisions], ['carrier', s.tx_carrier_errors + s.tx_aborted_errors + s.tx_window_errors + s.tx_heartbeat_errors],
        ['compressed', s.tx_compressed],
      ];
      for (const [n, v] of rx) this.put('counter', `skbnet_network_receive_${n}_total`, `device receive ${n} (/proc/net/dev)`, l, v);
      for (const [n, v] of tx) this.put('counter', `skbnet_network_transmit_${n}_total`, `device transmit ${n} (/proc/net/dev)`, l, v);
      for (const q of qdisc_walk(dev)) {
        if (q.invisible && q.parent !== TC_H_ROOT) continue;
        const ql = { guest, device: dev.name, kind: q.id, handle: `${(q.handle >>> 16).toString(16)}:`, parent: q.parent === TC_H_ROOT ? 'root' : fmt_classid(q.parent) };
        this.put('counter', 'skbnet_qdisc_bytes_total', 'qdisc Sent bytes (tc -s)', ql, q.bstats.bytes);
        this.put('counter', 'skbnet_qdisc_packets_total', 'qdisc Sent packets (tc -s)', ql, q.bstats.packets);
        this.put('counter', 'skbnet_qdisc_drops_total', 'qdisc dropped (tc -s)', ql, q.qstats.drops);
        this.put('counter', 'skbnet_qdisc_requeues_total', 'qdisc requeues (tc -s)', ql, q.qstats.requeues);
        this.put('counter', 'skbnet_qdisc_overlimits_total', 'qdisc overlimits (tc -s)', ql, q.qstats.overlimits);
        this.put('gauge', 'skbnet_qdisc_current_queue_length', 'qdisc qlen in packets (tc -s backlog …p)', ql, q.qlen);
        this.put('gauge', 'skbnet_qdisc_backlog', 'qdisc backlog in bytes (tc -s backlog …b)', ql, q.qstats.backlog);
      }
    }
  }
}
