// The model as the link's IPv6 router: what radvd (or libslirp's ndp_send_ra) does on a Linux router.
// Router advertisements per RFC 4861 §6.2 — unsolicited ones at random intervals in
// [MinRtrAdvInterval, MaxRtrAdvInterval] (the first MAX_INITIAL_RTR_ADVERTISEMENTS at most 16 s apart),
// solicited ones 0–500 ms after an RS but never within MIN_DELAY_BETWEEN_RAS of the last — carrying the
// source link-layer address, MTU, prefix information (on-link + autonomous, for SLAAC) and RDNSS options.
import type { Skb } from '../core/skb';
import { NEIGH_UPDATE_F_OVERRIDE, NEIGH_UPDATE_F_WEAK_OVERRIDE, NUD_STALE } from '../arp/neighbour';
import { setU16, setU32 } from '../wire/bytes';
import {
  ND_OPT_LL_ADDR_LEN,
  ND_OPT_MTU,
  ND_OPT_MTU_LEN,
  ND_OPT_PI_FLAG_AUTO,
  ND_OPT_PI_FLAG_ONLINK,
  ND_OPT_PREFIX_INFO,
  ND_OPT_PREFIX_INFO_LEN,
  ND_OPT_RDNSS,
  ND_OPT_SOURCE_LL_ADDR,
  NDISC_RA_CUR_HOP_LIMIT,
  NDISC_RA_LEN,
  NDISC_RA_LIFETIME,
  NDISC_ROUTER_ADVERTISEMENT,
  NDISC_RS_LEN,
} from '../wire/icmpv6';
import { IN6ADDR_LINKLOCAL_ALLNODES, ipv6IsUnspecified } from '../wire/ipv6';
import type { Inet6Dev } from './inet6_dev';
import { ndisc_alloc_skb, ndisc_fill_addr_option, ndisc_ll_option, ndisc_send_skb } from './ndisc';
import { NET_RX_DROP, NET_RX_SUCCESS } from './netns';

// RFC 4861 §10 router constants (ms)
export const MAX_INITIAL_RTR_ADVERT_INTERVAL = 16_000;
export const MAX_INITIAL_RTR_ADVERTISEMENTS = 3;
export const MIN_DELAY_BETWEEN_RAS = 3_000;
export const MAX_RA_DELAY_TIME = 500;
/** RDNSS option with one address: 8 + 16 bytes (RFC 8106 §5.1) */
const ND_OPT_RDNSS_LEN = 24;

/** the RA's length with every option the model sends */
export const RA_LEN = NDISC_RA_LEN + ND_OPT_LL_ADDR_LEN + ND_OPT_MTU_LEN + ND_OPT_PREFIX_INFO_LEN + ND_OPT_RDNSS_LEN;

/**
 * Send one router advertisement from our link-local address (RFC 4861 §4.2 requires it) to `daddr`
 * (all-nodes unless a caller unicasts). Option order as libslirp's: SLLA, MTU, prefix, RDNSS.
 */
export function ndisc_send_ra(idev: Inet6Dev, db: Uint8Array = IN6ADDR_LINKLOCAL_ALLNODES, dof = 0): number {
  const c = idev.config;
  const skb = ndisc_alloc_skb(idev, RA_LEN, NDISC_ROUTER_ADVERTISEMENT);
  if (skb === null) return -1;
  const b = skb.buf;
  let o = skb.data;
  b[o + NDISC_RA_CUR_HOP_LIMIT] = c.curHopLimit;
  // M = O = 0: addresses by SLAAC, DNS by RDNSS (no DHCPv6); reachable and retrans timers unspecified
  setU16(b, o + NDISC_RA_LIFETIME, c.routerLifetime);
  o += NDISC_RA_LEN;
  ndisc_fill_addr_option(b, o, ND_OPT_SOURCE_LL_ADDR, idev.mac);
  o += ND_OPT_LL_ADDR_LEN;
  b[o] = ND_OPT_MTU;
  b[o + 1] = ND_OPT_MTU_LEN >> 3;
  setU32(b, o + 4, c.mtu !== 0 ? c.mtu : idev.dev.mtu);
  o += ND_OPT_MTU_LEN;
  b[o] = ND_OPT_PREFIX_INFO;
  b[o + 1] = ND_OPT_PREFIX_INFO_LEN >> 3;
  b[o + 2] = c.prefixLen;
  b[o + 3] = ND_OPT_PI_FLAG_ONLINK | ND_OPT_PI_FLAG_AUTO;
  setU32(b, o + 4, c.validLifetime);
  setU32(b, o + 8, c.preferredLifetime);
  b.set(c.prefix, o + 16);
  o += ND_OPT_PREFIX_INFO_LEN;
  b[o] = ND_OPT_RDNSS;
  b[o + 1] = ND_OPT_RDNSS_LEN >> 3;
  setU32(b, o + 4, c.rdnssLifetime);
  b.set(c.dns, o + 8);
  idev.ndiscStats.OutRouterAdvertisements++;
  if (db === IN6ADDR_LINKLOCAL_ALLNODES) idev.lastRaTime = idev.net.now();
  return ndisc_send_skb(idev, skb, idev.linkLocal, 0, db, dof);
}

/** start advertising on the device (AdvSendAdvertisements on): the first RA goes out at once */
export function ra_start(idev: Inet6Dev): void {
  if (!idev.config.ra) return;
  ra_schedule(idev, 0);
}

export function ra_stop(idev: Inet6Dev): void {
  idev.raTimer?.unsubscribe();
  idev.raTimer = null;
  idev.raPending?.unsubscribe();
  idev.raPending = null;
}

function ra_schedule(idev: Inet6Dev, delay: number): void {
  idev.raTimer?.unsubscribe();
  idev.raTimer = idev.net.scheduler.schedule(() => ra_timer(idev), delay);
}

/** the unsolicited-RA timer: send when the link is up, then pick the next interval (RFC 4861 §6.2.4) */
function ra_timer(idev: Inet6Dev): void {
  idev.raTimer = null;
  // RFC 4861 §6.2.4: no multicast RA closer than MIN_DELAY_BETWEEN_RAS to the previous one
  const wait = idev.lastRaTime + MIN_DELAY_BETWEEN_RAS - idev.net.now();
  if (wait > 0) {
    ra_schedule(idev, wait);
    return;
  }
  if (idev.dev.registered && idev.dev.netif_carrier_ok()) {
    ndisc_send_ra(idev);
    idev.raInitialSent++;
  }
  const c = idev.config;
  const min = c.minRtrAdvInterval * 1000;
  const max = c.maxRtrAdvInterval * 1000;
  let next = min + Math.floor(idev.net.random() * (max - min));
  if (idev.raInitialSent < MAX_INITIAL_RTR_ADVERTISEMENTS) next = Math.min(next, MAX_INITIAL_RTR_ADVERT_INTERVAL);
  ra_schedule(idev, next);
}

/**
 * ndisc_recv_rs (router mode): learn the soliciting host's link-layer address (STALE, unless its source
 * is unspecified), then schedule a multicast RA (RFC 4861 §6.2.6)
 */
export function ndisc_recv_rs(skb: Skb, idev: Inet6Dev): number {
  const st = idev.ndiscStats;
  const b = skb.buf;
  const nh = skb.network_header;
  if (skb.len < NDISC_RS_LEN) {
    st.InTruncated++;
    return NET_RX_DROP;
  }
  const lladdr = ndisc_ll_option(skb, idev, NDISC_RS_LEN, ND_OPT_SOURCE_LL_ADDR);
  if (lladdr === -2) return NET_RX_DROP;
  if (ipv6IsUnspecified(b, nh + 8)) {
    // RFC 4861 §6.1.1: no source link-layer option when the source is unspecified
    if (lladdr >= 0) {
      st.InInvalid++;
      idev.net.logBad(`ndisc: ${idev.dev.name}: RS from :: with a link-layer address option; dropped`);
      return NET_RX_DROP;
    }
  } else {
    const key = idev.neighKey(b, nh + 8);
    const n = key >= 0 ? idev.nd_tbl.lookupOrCreate(key) : null;
    if (n !== null) idev.nd_tbl.update(n, lladdr, NUD_STALE, NEIGH_UPDATE_F_WEAK_OVERRIDE | NEIGH_UPDATE_F_OVERRIDE);
  }
  if (!idev.config.ra || idev.raPending !== null) return NET_RX_SUCCESS;
  const now = idev.net.now();
  let at = now + Math.floor(idev.net.random() * (MAX_RA_DELAY_TIME + 1));
  if (at < idev.lastRaTime + MIN_DELAY_BETWEEN_RAS) at = idev.lastRaTime + MIN_DELAY_BETWEEN_RAS;
  idev.raPending = idev.net.scheduler.schedule(() => {
    idev.raPending = null;
    if (idev.dev.registered && idev.dev.netif_carrier_ok()) ndisc_send_ra(idev);
  }, at - now);
  return NET_RX_SUCCESS;
}
