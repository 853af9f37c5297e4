// Ingress shaping as Linux does it with an ingress qdisc + `mirred egress redirect dev ifb0`
// (net/sched/act_mirred.c) and the Intermediate Functional Block device (drivers/net/ifb.c): frames a
// device received are taken at sch_handle_ingress's place in __netif_receive_skb_core (after the taps),
// transmitted on ifb0 through its root qdisc, and re-injected into the receive path of the device they
// came from, marked so that they are neither classified again nor seen twice by the taps
// (skb_skip_tc_classify). So `tc qdisc replace dev ifb0 root netem loss 5%` impairs what the guest sends.
//
// Each attached device gets its ifb at start. Deviation, deliberate: the redirect is implicit and
// exists only while ifb0's root qdisc is not `noqueue` (its default here): with noqueue nothing is
// redirected and the receive path pays one null check. (A Linux ifb gets the default qdisc when
// brought up, but carries traffic only once a filter redirects to it.)
import type { NetStack } from '../core/stack';
import { NetDevice, NETDEV_TX_OK, type NetDeviceOps } from '../core/netdevice';
import { Qdisc, TCQ_F_BUILTIN } from '../core/sch_generic';
import { kfree_skb, type Skb } from '../core/skb';
import { NET_XMIT_DROP } from '../core/xmit';
import { dev_set_ingress, netif_receive_skb_skip_classify } from '../core/dev';

/** ifb.c TX_Q_LIMIT: an ifb's txqueuelen */
export const IFB_TX_Q_LIMIT = 32;

/**
 * The noqueue qdisc (sch_generic.c noqueue_qdisc_ops): no queue at all — Linux transmits directly. On
 * an ifb it means "no ingress shaping": the redirect is off. Never holds an skb.
 */
export class NoqueueQdisc extends Qdisc {
  readonly id = 'noqueue';
  constructor(stack: NetStack) {
    super(stack);
    this.flags = TCQ_F_BUILTIN;
  }
  enqueue(skb: Skb): number {
    this.qstats.drops++;
    kfree_skb(skb);
    return NET_XMIT_DROP;
  }
  dequeue(): Skb | null {
    return null;
  }
  peek(): Skb | null {
    return null;
  }
  protected reset_queue(): void {}
}

/** the driver of one ifb device (struct ifb_dev_private), bound to the device whose ingress it shapes */
export class IfbDevice implements NetDeviceOps {
  readonly dev: NetDevice;

  constructor(
    readonly stack: NetStack,
    /** the device whose received frames the ifb carries (skb_iif of the redirected frames) */
    readonly lower: NetDevice,
    name = 'ifb0',
  ) {
    // alloc_netdev + ifb_setup: ether_setup, txqueuelen 32, a random locally administered MAC
    const ifindex = stack.devices.reduce((m, d) => Math.max(m, d.ifindex), 1) + 1;
    const mac = Uint8Array.of(0x02, 0x1f, 0xb0, lower.dev_addr[3], lower.dev_addr[4], lower.dev_addr[5]);
    this.dev = new NetDevice(stack, this, name, ifindex, { mac, mtu: lower.mtu, txQueueLen: IFB_TX_Q_LIMIT }, () => new NoqueueQdisc(stack));
    stack.devices.push(this.dev);
    // the hook slot exists from the start (null: pass-through), so the device's shape never changes later
    this.refresh();
  }

  /** whether frames from `lower` are redirected: ifb0's root is a real qdisc */
  get active(): boolean {
    return !(this.dev._tx[0].qdisc_sleeping instanceof NoqueueQdisc);
  }

  /** attach or detach the ingress redirect after ifb0's root qdisc changed (tc) */
  refresh(): void {
    dev_set_ingress(this.lower, this.active ? (skb) => this.redirect(skb) : null);
  }

  /**
   * tcf_mirred_act, ingress → egress redirect: the frame from its Ethernet header on, copied into a
   * pooled skb (the receive path keeps the original, which views guest memory), dev_queue_xmit on
   * ifb0. Always "stolen" (TC_ACT_STOLEN): the original is not delivered; a frame the copy or the qdisc
   * drops is lost, as on Linux (ifb0's qdisc counts its drops).
   */
  private redirect(skb: Skb): void {
    const data = skb.data;
    const len = skb.len;
    const mac = skb.mac_header;
    if (mac < 0 || mac > data) return;
    skb.data = mac;
    skb.len = len + (data - mac);
    const copy = this.stack.skb_copy(skb);
    skb.data = data;
    skb.len = len;
    if (copy === null) {
      this.dev.stats.tx_dropped++;
      return;
    }
    copy.dev = this.dev;
    this.stack.dev_queue_xmit(copy);
  }

  /**
   * ifb_xmit + ifb_ri_tasklet, run at once: rx counters of ifb0 at xmit, tx counters at re-injection;
   * the frame goes back to `lower`'s receive path (skb_iif = ifb0, classification and taps skipped).
   * Linux defers this to a tasklet; here it runs inside the qdisc's transmit (softirq or watchdog).
   */
  ndo_start_xmit(skb: Skb): number {
    const st = this.dev.stats;
    st.rx_packets++;
    st.rx_bytes += skb.len;
    if (!this.lower.registered) {
      st.rx_dropped++;
      return NETDEV_TX_OK;
    }
    st.tx_packets++;
    st.tx_bytes += skb.len;
    const mac = skb.mac_header >= 0 ? skb.mac_header : skb.data;
    const nh = skb.network_header > mac ? skb.network_header : mac + 14;
    skb.pull(nh - skb.data);
    skb.dev = this.lower;
    netif_receive_skb_skip_classify(this.stack, skb);
    return NETDEV_TX_OK;
  }
}

/** the ifb of a device, if one was created for it (IfbDevice.dev → its driver) */
export function ifb_of(dev: NetDevice): IfbDevice | null {
  return dev.netdev_ops instanceof IfbDevice ? dev.netdev_ops : null;
}
