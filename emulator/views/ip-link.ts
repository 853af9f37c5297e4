// `skbnet ip -s link [show [dev DEV]]`: iproute2's `ip -s link` text for the model's devices
// (ip/ipaddress.c print_linkinfo / print_link_stats64, column sizing as size_columns does it).
import type { NetDevice } from '../../kernel-model/core/netdevice';
import type { RtnlLinkStats64 } from '../../kernel-model/core/netdevice';
import { ifb_of } from '../../kernel-model/sched/ifb';

const mac = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');

function statsLines(s: RtnlLinkStats64): string {
  const cols = ['*X: bytes'.length, 'packets'.length, 'errors'.length, 'dropped'.length, 'overrun'.length, 'mcast'.length, 'compressed'.length];
  const rx = [s.rx_bytes, s.rx_packets, s.rx_errors, s.rx_dropped, s.rx_missed_errors, s.multicast, s.rx_compressed];
  const tx = [s.tx_bytes, s.tx_packets, s.tx_errors, s.tx_dropped, s.tx_carrier_errors, s.collisions, s.tx_compressed];
  for (const row of [rx, tx]) row.forEach((v, i) => (cols[i] = Math.max(cols[i], String(v).length)));
  const nums = (row: number[], compressed: boolean): string =>
    '    ' + row.slice(0, compressed ? 7 : 6).map((v, i) => `${String(v).padStart(cols[i])} `).join('') + '\n';
  const head = (dir: string, names: string[], compressed: boolean): string =>
    `    ${dir}: ${'bytes'.padStart(cols[0] - 4)} ${names.map((n, i) => n.padStart(cols[i + 1])).join(' ')} ${(compressed ? 'compressed' : '').padStart(cols[6])}\n`;
  return (
    head('RX', ['packets', 'errors', 'dropped', 'missed', 'mcast'], s.rx_compressed > 0) +
    nums(rx, s.rx_compressed > 0) +
    head('TX', ['packets', 'errors', 'dropped', 'carrier', 'collsns'], s.tx_compressed > 0) +
    nums(tx, s.tx_compressed > 0)
  );
}

export function formatIpLink(devs: NetDevice[], withStats: boolean): string {
  return devs
    .map((d) => {
      const up = d.netif_carrier_ok();
      // an ifb is ether_setup'd with IFF_NOARP and no carrier handling: operstate UNKNOWN (drivers/net/ifb.c)
      const ifb = ifb_of(d) !== null;
      const flags = ifb ? 'BROADCAST,NOARP,UP,LOWER_UP' : `${up ? '' : 'NO-CARRIER,'}BROADCAST,MULTICAST,UP${up ? ',LOWER_UP' : ''}`;
      const state = ifb ? 'UNKNOWN' : up ? 'UP' : 'DOWN';
      let t = `${d.ifindex}: ${d.name}: <${flags}> mtu ${d.mtu} qdisc ${d.qdisc.id} state ${state} mode DEFAULT group default qlen ${d.tx_queue_len}\n`;
      t += `    link/ether ${mac(d.dev_addr)} brd ff:ff:ff:ff:ff:ff\n`;
      if (withStats) t += statsLines(d.stats);
      return t;
    })
    .join('');
}
