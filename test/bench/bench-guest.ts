// The guest the bench plays: both rings of one queue pair as FixedRings, the receiveq kept full and
// classified frame by frame, ARP done the way a guest does it (asks for the gateway first, answers the
// back-end's probes, or a Linux-like neighbour table stops sending to it), and the transmitq loaded with
// one frame per buffer, re-posted as buffers complete.
import { arpRequest, GATEWAY_MAC, GUEST_MAC } from '../support/frames';
import { until, type VirtioNetSession } from '../support/vhost-user-session';
import { FixedRing } from './fixed-ring';
import {
  GATEWAY_IP, GUEST_IP, RxKind, arpReplyFromGuest, arpSenderIp, arpSenderMac, arpTargetIp, classify, numBuffers,
  withVirtioHeader,
} from './bench-frames';

/** receive buffer size, as Linux virtio-net uses for mergeable buffers at MTU 1500 */
const RX_BUF = 2048;

export class BenchGuest {
  readonly tx: FixedRing;
  readonly rx: FixedRing;
  /** frames seen in the receiveq, by RxKind */
  readonly seen = [0, 0, 0, 0, 0];
  /** echo replies that were not `frameLen` bytes in one buffer */
  wrongSize = 0;
  arpAnswered = 0;
  /** the gateway's MAC from its ARP reply */
  gwMac: Uint8Array | null = null;
  /** the last transmitq head carries the guest's own ARP frames; the others carry the load */
  private readonly ctl: number;
  private arpAsker: { mac: Uint8Array; ip: string } | null = null;
  private readonly arpTimer: NodeJS.Timeout;
  /** later buffers of a mergeable frame still to skip */
  private rest = 0;
  private polling = false;

  constructor(session: VirtioNetSession, readonly frameLen: number, txIrq: 'delayed' | 'every') {
    this.rx = new FixedRing(session.rx, session.ram, RX_BUF, true);
    this.tx = new FixedRing(session.tx, session.ram, 12 + Math.max(frameLen, 64), false);
    this.tx.delayedIrq = txIrq === 'delayed';
    this.ctl = this.tx.size - 1;
    this.tx.repostLimit = this.ctl;
    this.arpTimer = setInterval(() => this.answerArp(), 5);
    const bytes = session.ram.bytes;
    this.rx.autoRepost = true;
    this.rx.listen((_id, len, o) => this.received(bytes, o, len));
    this.rx.post();
    this.tx.listen(null);
  }

  /** ARP for the gateway; false when the back-end never completes even that transmit buffer */
  async arpGateway(notes: string[]): Promise<boolean> {
    this.sendCtl(arpRequest(GUEST_MAC, GUEST_IP, GATEWAY_IP));
    try {
      await until(() => this.tx.busy[this.ctl] === 0, 3000, 'the ARP request to complete');
    } catch {
      notes.push('transmitq never completed');
      return false;
    }
    try {
      await until(() => this.gwMac !== null, 1000, 'an ARP reply');
    } catch {
      notes.push(`no ARP reply; sending to ${Array.from(GATEWAY_MAC, (b) => b.toString(16).padStart(2, '0')).join(':')}`);
    }
    return true;
  }

  get gateway(): Uint8Array {
    return this.gwMac ?? GATEWAY_MAC;
  }

  /** fill every load buffer with frame(i) (virtio header included) and keep the transmitq full */
  startLoad(frame: (i: number) => Uint8Array, poll: boolean): void {
    for (let i = 0; i < this.ctl; i++) this.tx.fill(i, frame(i));
    this.tx.autoRepost = true;
    this.tx.post(0, this.ctl);
    this.polling = poll;
    this.tx.noIrq = this.rx.noIrq = poll;
    const turn = (): void => {
      if (!this.polling) return;
      this.tx.harvest();
      this.rx.harvest();
      setImmediate(turn);
    };
    turn();
  }

  stop(): void {
    this.polling = false;
    clearInterval(this.arpTimer);
    this.tx.stop();
    this.rx.stop();
  }

  private received(b: Uint8Array, o: number, len: number): void {
    if (this.rest > 0) {
      this.rest--;
      return;
    }
    this.rest = Math.max(1, numBuffers(b, o)) - 1;
    const kind = classify(b, o, len);
    this.seen[kind]++;
    if (kind === RxKind.EchoReply) {
      if (this.rest > 0 || len - 12 !== this.frameLen) this.wrongSize++;
    } else if (kind === RxKind.ArpReply) {
      if (this.gwMac === null && arpSenderIp(b, o + 12) === GATEWAY_IP) this.gwMac = arpSenderMac(b, o + 12);
    } else if (kind === RxKind.ArpRequest && arpTargetIp(b, o + 12) === GUEST_IP) {
      this.arpAsker = { mac: arpSenderMac(b, o + 12), ip: arpSenderIp(b, o + 12) };
      this.answerArp();
    }
  }

  private answerArp(): void {
    if (this.arpAsker === null || this.tx.busy[this.ctl]) return;
    this.sendCtl(arpReplyFromGuest(this.arpAsker.mac, this.arpAsker.ip));
    this.arpAsker = null;
    this.arpAnswered++;
  }

  private sendCtl(frame: Uint8Array): void {
    this.tx.fill(this.ctl, withVirtioHeader(frame, 'full'));
    this.tx.post(this.ctl, this.ctl + 1);
  }
}
