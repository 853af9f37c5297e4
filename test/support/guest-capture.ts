// A capture in the guest with Debian's tcpdump (an AF_PACKET ETH_P_ALL tap: it sees each skb in
// __netif_receive_skb_core, i.e. after GRO), written as pcap in the guest and read back through the agent.
import { Guest } from './guest';
import { readPcap, type Pcap } from './pcap-read';

export interface GuestCaptureResult extends Pcap {
  /** tcpdump's "N packets dropped by kernel" (the capture itself lost frames when > 0) */
  droppedByKernel: number;
  /** tcpdump's "N packets received by filter" minus "N packets captured": frames the tap saw but tcpdump never wrote */
  notWritten: number;
  log: string;
}

export class GuestCapture {
  private readonly file: string;
  private readonly log: string;
  private readonly pidFile: string;

  constructor(
    private readonly guest: Guest,
    readonly iface = 'eth0',
    tag = 'cap',
  ) {
    this.file = `/tmp/${tag}.pcap`;
    this.log = `/tmp/${tag}.log`;
    this.pidFile = `/tmp/${tag}.pid`;
  }

  /**
   * Start tcpdump on the interface (inbound only, `filter` in pcap-filter syntax, `snaplen` bytes per
   * frame) and wait until it is listening. -Z root: Debian's build would switch to a user "tcpdump"
   * the guest does not have; --immediate-mode: libpcap hands over each frame at once instead of when a
   * TPACKET_V3 block retires; -U: every frame reaches the file at once.
   */
  async start(filter: string, snaplen = 96): Promise<void> {
    const f = this.file;
    const cmd =
      `rm -f ${f} ${this.log}; ` +
      `tcpdump -i ${this.iface} -Z root --immediate-mode -U -Q in -nn -s ${snaplen} -w ${f} '${filter}' </dev/null >${this.log} 2>&1 & ` +
      `echo $! > ${this.pidFile}; ` +
      `for i in $(seq 1 200); do grep -q 'listening on' ${this.log} && exit 0; usleep 50000; done; cat ${this.log}; exit 1`;
    const r = await this.guest.run(cmd, 30000);
    if (r.code !== 0) throw new Error(`tcpdump did not start in the guest:\n${r.output}`);
  }

  /**
   * Stop tcpdump and read the capture: first wait until the file has stopped growing (tcpdump may still be
   * writing what the tap queued), then SIGINT (it finishes the file and prints its counts).
   */
  async stop(): Promise<GuestCaptureResult> {
    const pid = `$(cat ${this.pidFile})`;
    const size = `$(wc -c < ${this.file})`;
    const r = await this.guest.run(
      `a=-1; b=${size}; n=0; while [ "$a" != "$b" ] && [ $n -lt 100 ]; do usleep 200000; a=$b; b=${size}; n=$((n+1)); done; ` +
        `kill -INT ${pid}; for i in $(seq 1 200); do [ -d /proc/${pid} ] || break; usleep 50000; done; ` +
        `cat ${this.log} >&2; echo @@PCAP; base64 ${this.file}`,
      60000,
    );
    const at = r.output.indexOf('@@PCAP\n');
    if (r.code !== 0 || at < 0) throw new Error(`reading the guest's capture failed:\n${r.output.slice(0, 2000)}`);
    const log = r.output.slice(0, at);
    const pcap = readPcap(Buffer.from(r.output.slice(at + 7).replace(/\s+/g, ''), 'base64'));
    const count = (re: RegExp): number => Number(re.exec(log)?.[1] ?? -1);
    const received = count(/(\d+) packets? received by filter/);
    const captured = count(/(\d+) packets? captured/);
    return { ...pcap, droppedByKernel: count(/(\d+) packets? dropped by kernel/), notWritten: received - captured, log };
  }
}
