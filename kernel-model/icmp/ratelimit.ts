// ICMPv4 output rate limits (net/ipv4/icmp.c icmp_global_allow/icmp_global_consume/icmpv4_xrlim_allow,
// net/ipv4/inetpeer.c inet_peer_xrlim_allow). Times are scheduler milliseconds; Linux counts jiffies,
// so with HZ=1000 the numbers are the same.
import { Ipv4Addr } from '../wire/address';
import { ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, NR_ICMP_TYPES } from '../wire/icmp';

export interface IcmpSysctl {
  /** net.ipv4.icmp_ratelimit: ms of tokens one rate-limited message costs per peer */
  icmp_ratelimit: number;
  /** net.ipv4.icmp_ratemask: types subject to limits (0x1818 = 3, 4, 11, 12) */
  icmp_ratemask: number;
  /** net.ipv4.icmp_msgs_per_sec / icmp_msgs_burst: the global bucket */
  icmp_msgs_per_sec: number;
  icmp_msgs_burst: number;
  icmp_echo_ignore_all: boolean;
  icmp_echo_ignore_broadcasts: boolean;
}

export const ICMP_SYSCTL_DEFAULTS: Readonly<IcmpSysctl> = Object.freeze({
  icmp_ratelimit: 1000,
  icmp_ratemask: 0x1818,
  icmp_msgs_per_sec: 1000,
  icmp_msgs_burst: 50,
  icmp_echo_ignore_all: false,
  icmp_echo_ignore_broadcasts: true,
});

/** XRLIM_BURST_FACTOR (include/net/inetpeer.h): a peer may save up six messages' worth of tokens */
export const XRLIM_BURST_FACTOR = 6;
/** the global bucket refills only after this much time (HZ / 50) */
const GLOBAL_MIN_REFILL_MS = 20;
/** inet_peer entries kept for rate limiting (the real cache has its own GC; we bound it by count) */
const MAX_PEERS = 4096;

interface InetPeer {
  rate_tokens: number;
  rate_last: number;
}

export class IcmpRateLimiter {
  private credit = 0;
  private stamp: number;
  private readonly peers = new Map<Ipv4Addr, InetPeer>();

  constructor(
    readonly sysctl: IcmpSysctl,
    private readonly now: () => number,
    private readonly random: () => number = Math.random,
  ) {
    // as if the bucket had been idle: the first message refills it to the burst
    this.stamp = now() - 1000;
  }

  /** icmpv4_mask_allow: true when (type, code) is not rate limited at all */
  maskAllow(type: number, code: number): boolean {
    if (type > NR_ICMP_TYPES) return true;
    if (type === ICMP_DEST_UNREACH && code === ICMP_FRAG_NEEDED) return true;
    return ((1 << type) & this.sysctl.icmp_ratemask) === 0;
  }

  /** icmp_global_allow: the per-namespace token bucket (refilled at msgs_per_sec, capped at burst) */
  globalAllow(): boolean {
    if (this.credit > 0) return true;
    const now = this.now();
    const delta = Math.min(now - this.stamp, 1000);
    if (delta < GLOBAL_MIN_REFILL_MS) return false;
    const incr = Math.floor((this.sysctl.icmp_msgs_per_sec * delta) / 1000);
    if (incr === 0) return false;
    this.stamp = now;
    this.credit = Math.min(this.credit + incr, this.sysctl.icmp_msgs_burst);
    return true;
  }

  /** icmp_global_consume: 0, 1 or 2 credits at random (one on average); may go negative */
  globalConsume(): void {
    this.credit -= Math.floor(this.random() * 3);
  }

  /** inet_peer_xrlim_allow for the peer `daddr`: tokens accrue 1 per ms up to 6 × ratelimit */
  peerAllow(daddr: Ipv4Addr): boolean {
    const now = this.now();
    const timeout = this.sysctl.icmp_ratelimit;
    let p = this.peers.get(daddr);
    if (p === undefined) {
      if (this.peers.size >= MAX_PEERS) {
        const oldest = this.peers.keys().next().value as Ipv4Addr;
        this.peers.delete(oldest);
      }
      // inet_getpeer: rate_last 60 s in the past so the first computation yields a full bucket
      p = { rate_tokens: 0, rate_last: now - 60_000 };
      this.peers.set(daddr, p);
    }
    let token = p.rate_tokens + (now - p.rate_last);
    p.rate_last = now;
    if (token > XRLIM_BURST_FACTOR * timeout) token = XRLIM_BURST_FACTOR * timeout;
    let rc = false;
    if (token >= timeout) {
      token -= timeout;
      rc = true;
    }
    p.rate_tokens = token;
    return rc;
  }

  get peerCount(): number {
    return this.peers.size;
  }
}
