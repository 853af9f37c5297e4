// The DHCP server's address pool and bindings (RFC 2131 §4.3.1 allocation order, §4.3.2 decline/release).
// One record per pool address, so the table is bounded by the pool; expiry is lazy in scheduler time.
import { Ipv4Addr, MacAddr } from '../../wire/address';

export const LEASE_FREE = 0;
export const LEASE_OFFERED = 1;
export const LEASE_BOUND = 2;
export const LEASE_DECLINED = 3;

export type LeaseState = typeof LEASE_FREE | typeof LEASE_OFFERED | typeof LEASE_BOUND | typeof LEASE_DECLINED;

export interface Lease {
  readonly addr: Ipv4Addr;
  state: LeaseState;
  /** client identity (option 61, else hardware type + chaddr); kept after release/expiry so the
   * client gets the same address back while nobody else needed it */
  client: string;
  chaddr: MacAddr;
  /** scheduler ms when an OFFERED/BOUND/DECLINED state ends */
  expires: number;
  /** scheduler ms of the last time the address became free (LRU reuse), -1 = never used */
  freedAt: number;
  hostname: string;
}

/** how long an offered address stays reserved for the client (RFC 2131 §4.3.1 leaves it to the server) */
export const OFFER_HOLD_MS = 60_000;
/** how long a declined address is kept out of the pool (dnsmasq DECLINE_BACKOFF) */
export const DECLINE_HOLD_MS = 600_000;

export class LeaseTable {
  readonly leases: Lease[];
  private readonly byAddr = new Map<Ipv4Addr, Lease>();

  constructor(pool: readonly Ipv4Addr[], private readonly now: () => number) {
    this.leases = pool.map((addr) => ({
      addr,
      state: LEASE_FREE as LeaseState,
      client: '',
      chaddr: 0,
      expires: 0,
      freedAt: -1,
      hostname: '',
    }));
    for (const l of this.leases) this.byAddr.set(l.addr, l);
  }

  get size(): number {
    return this.leases.length;
  }

  inPool(addr: Ipv4Addr): boolean {
    return this.byAddr.has(addr);
  }

  get(addr: Ipv4Addr): Lease | undefined {
    const l = this.byAddr.get(addr);
    if (l !== undefined) this.expire(l);
    return l;
  }

  /** the client's current OFFERED/BOUND lease, if any */
  active(client: string): Lease | undefined {
    for (const l of this.leases) {
      this.expire(l);
      if ((l.state === LEASE_OFFERED || l.state === LEASE_BOUND) && l.client === client) return l;
    }
    return undefined;
  }

  /** can `client` take `addr` now: free (or expired), or already its own */
  availableFor(addr: Ipv4Addr, client: string): boolean {
    const l = this.get(addr);
    if (l === undefined) return false;
    if (l.state === LEASE_FREE) return true;
    return (l.state === LEASE_OFFERED || l.state === LEASE_BOUND) && l.client === client;
  }

  /**
   * RFC 2131 §4.3.1: the client's current binding; else its previous address if free; else the requested
   * address if free; else a never-used address (lowest first); else the free address freed longest ago.
   * Returns undefined when the pool is exhausted.
   */
  choose(client: string, requested: Ipv4Addr): Lease | undefined {
    const cur = this.active(client);
    if (cur !== undefined) return cur;
    for (const l of this.leases) if (l.state === LEASE_FREE && l.client === client) return l;
    if (requested !== 0) {
      const r = this.get(requested);
      if (r !== undefined && r.state === LEASE_FREE && (r.client === '' || r.freedAt < 0)) return r;
    }
    let lru: Lease | undefined;
    for (const l of this.leases) {
      if (l.state !== LEASE_FREE) continue;
      if (l.freedAt < 0 && l.client === '') return l;
      if (lru === undefined || l.freedAt < lru.freedAt) lru = l;
    }
    if (requested !== 0 && lru !== undefined) {
      const r = this.byAddr.get(requested);
      if (r !== undefined && r.state === LEASE_FREE) return r;
    }
    return lru;
  }

  /** reserve for an OFFER; a client's existing BOUND lease stays BOUND */
  offer(l: Lease, client: string, chaddr: MacAddr): void {
    this.takeFor(l, client);
    if (l.state === LEASE_BOUND && l.client === client) return;
    l.state = LEASE_OFFERED;
    l.client = client;
    l.chaddr = chaddr;
    l.expires = this.now() + OFFER_HOLD_MS;
  }

  bind(l: Lease, client: string, chaddr: MacAddr, leaseSeconds: number, hostname: string): void {
    this.takeFor(l, client);
    l.state = LEASE_BOUND;
    l.client = client;
    l.chaddr = chaddr;
    l.hostname = hostname;
    l.expires = this.now() + leaseSeconds * 1000;
  }

  /** DHCPRELEASE, or the client chose another server: free, but remember whose it was */
  release(l: Lease): void {
    if (l.state === LEASE_FREE || l.state === LEASE_DECLINED) return;
    l.state = LEASE_FREE;
    l.expires = 0;
    l.freedAt = this.now();
  }

  /** DHCPDECLINE: someone else uses the address; keep it out of the pool for a while */
  decline(l: Lease): void {
    l.state = LEASE_DECLINED;
    l.client = '';
    l.chaddr = 0;
    l.hostname = '';
    l.expires = this.now() + DECLINE_HOLD_MS;
  }

  /** a client holds at most one address: drop its other OFFERED/BOUND records */
  private takeFor(target: Lease, client: string): void {
    for (const l of this.leases) {
      if (l !== target && l.client === client && (l.state === LEASE_OFFERED || l.state === LEASE_BOUND)) this.release(l);
    }
  }

  private expire(l: Lease): void {
    if (l.state === LEASE_FREE || l.expires > this.now()) return;
    if (l.state === LEASE_DECLINED) {
      l.state = LEASE_FREE;
      l.freedAt = -1;
      return;
    }
    l.state = LEASE_FREE;
    l.freedAt = l.expires;
  }
}
