// DHCPv4 server for one link (RFC 2131 server behaviour, RFC 2132 options), in the spirit of libslirp's
// bootp.c but following the RFC's states: DISCOVER→OFFER, REQUEST (SELECTING, INIT-REBOOT, RENEWING,
// REBINDING)→ACK/NAK, DECLINE, RELEASE, INFORM. The server is authoritative for its link: it NAKs
// requests for addresses it cannot give and ACKs a known-good address it has no record of (after a restart).
// Runs on UDP port 67 of the model's host address; replies go out through udp_send_skb.
import type { InDevice } from '../../ipv4/devinet';
import { broadcastOf, dhcpPool, inSubnet, netmaskOf, type InetConfig } from '../../ipv4/config';
import { udp_alloc_skb, udp_send_skb, type UdpDatagram } from '../../udp/udp';
import {
  IPV4_BROADCAST,
  MAC_BROADCAST,
  formatIpv4,
  formatMac,
  isValidUnicastMac,
  type Ipv4Addr,
} from '../../wire/address';
import {
  BOOTP_MIN_LEN,
  BOOTREPLY,
  BOOTREQUEST,
  CHADDR_LEN,
  DHCPACK,
  DHCPDECLINE,
  DHCPDISCOVER,
  DHCPINFORM,
  DHCPNAK,
  DHCPOFFER,
  DHCPRELEASE,
  DHCPREQUEST,
  DHCP_CLIENT_PORT,
  DHCP_MIN_MAX_MESSAGE,
  DHCP_SERVER_PORT,
  DHO_BROADCAST_ADDRESS,
  DHO_DOMAIN_NAME,
  DHO_DOMAIN_NAME_SERVERS,
  DHO_HOST_NAME,
  DHO_INTERFACE_MTU,
  DHO_LEASE_TIME,
  DHO_MESSAGE,
  DHO_MESSAGE_TYPE,
  DHO_REBINDING_TIME,
  DHO_RENEWAL_TIME,
  DHO_ROUTERS,
  DHO_SERVER_IDENTIFIER,
  DHO_SUBNET_MASK,
  DhcpOptionIterator,
  DhcpOptionWriter,
  DhcpPacket,
  DhcpRepr,
} from '../../wire/dhcp';
import { WIRE_OK, wireErrorName } from '../../wire/error';
import { IPV4_HLEN } from '../../wire/ipv4';
import { UDP_HLEN } from '../../wire/udp';
import { LEASE_BOUND, LEASE_OFFERED, LeaseTable, type Lease } from './leases';

export interface DhcpServerStats {
  InDiscovers: number;
  InRequests: number;
  InDeclines: number;
  InReleases: number;
  InInforms: number;
  OutOffers: number;
  OutAcks: number;
  OutNaks: number;
  /** undecodable messages: too short, bad cookie, options past the end, bad option lengths, no END */
  InMalformed: number;
  /** valid DHCP that needs no answer: a reply (op 2), unknown type, a REQUEST for another server, relayed */
  InIgnored: number;
  /** DISCOVERs left unanswered because every pool address is taken */
  PoolExhausted: number;
  /** replies that could not be allocated or sent */
  OutErrors: number;
}

/** a reply never exceeds the Ethernet payload, whatever option 57 says */
const MAX_REPLY_IP_LEN = 1500;

export class DhcpServer {
  readonly leases: LeaseTable;
  readonly stats: DhcpServerStats = {
    InDiscovers: 0,
    InRequests: 0,
    InDeclines: 0,
    InReleases: 0,
    InInforms: 0,
    OutOffers: 0,
    OutAcks: 0,
    OutNaks: 0,
    InMalformed: 0,
    InIgnored: 0,
    PoolExhausted: 0,
    OutErrors: 0,
  };
  private readonly req = new DhcpPacket();
  private readonly repr = new DhcpRepr();
  private readonly it = new DhcpOptionIterator();
  private readonly out = new DhcpPacket();
  private readonly w = new DhcpOptionWriter();
  private readonly serverId: Ipv4Addr;

  constructor(private readonly ind: InDevice, readonly config: InetConfig) {
    this.serverId = config.host;
    this.leases = new LeaseTable(dhcpPool(config), () => ind.net.now());
  }

  /** UDP port 67 handler; `d` is valid only during the call */
  rcv(d: UdpDatagram): void {
    const p = this.req.wrap(d.buf, d.payloadOffset, d.payloadLen);
    const r = this.repr;
    const e = r.parse(p, this.it);
    if (e !== WIRE_OK) {
      this.stats.InMalformed++;
      this.ind.net.logBad(
        `dhcp: malformed message from ${formatIpv4(d.saddr)} (${wireErrorName(e)}${r.badOption ? `, option ${r.badOption}` : ''}, ${d.payloadLen} bytes)`,
      );
      return;
    }
    if (r.op !== BOOTREQUEST || r.messageType === 0 || r.hops !== 0 || r.giaddr !== 0) {
      // replies, plain BOOTP and relayed messages are not ours to answer (no relay agent support)
      this.stats.InIgnored++;
      return;
    }
    switch (r.messageType) {
      case DHCPDISCOVER:
        this.stats.InDiscovers++;
        this.discover();
        break;
      case DHCPREQUEST:
        this.stats.InRequests++;
        this.request();
        break;
      case DHCPDECLINE:
        this.stats.InDeclines++;
        this.decline();
        break;
      case DHCPRELEASE:
        this.stats.InReleases++;
        this.release();
        break;
      case DHCPINFORM:
        this.stats.InInforms++;
        this.inform();
        break;
      default:
        this.stats.InIgnored++;
        break;
    }
  }

  /** client identity: option 61 when present, else hardware type + chaddr (RFC 2131 §4.2) */
  private clientKey(): string {
    const r = this.repr;
    const b = this.req.buf;
    if (r.clientIdLen > 0) return 'id:' + hex(b, r.clientIdOffset, r.clientIdLen);
    return `hw:${r.htype}:` + hex(b, r.chaddrOffset, Math.min(r.hlen, CHADDR_LEN));
  }

  private hostname(): string {
    const r = this.repr;
    return r.hostNameLen > 0 ? ascii(this.req.buf, r.hostNameOffset, r.hostNameLen) : '';
  }

  private discover(): void {
    const r = this.repr;
    const key = this.clientKey();
    const l = this.leases.choose(key, r.requestedIp);
    if (l === undefined) {
      this.stats.PoolExhausted++;
      this.ind.net.logBad(`dhcp: no free address for ${formatMac(r.chaddr)} (pool of ${this.leases.size} exhausted)`);
      return;
    }
    this.leases.offer(l, key, r.chaddr);
    if (this.reply(DHCPOFFER, l.addr, l)) this.stats.OutOffers++;
  }

  private request(): void {
    const r = this.repr;
    const key = this.clientKey();
    const c = this.config;
    if (r.serverId !== 0) {
      // SELECTING: the client answers an OFFER; the server id says whose
      const mine = this.leases.active(key);
      if (r.serverId !== this.serverId) {
        if (mine !== undefined && mine.state === LEASE_OFFERED) this.leases.release(mine);
        this.stats.InIgnored++;
        return;
      }
      const want = r.requestedIp !== 0 ? r.requestedIp : r.ciaddr;
      if (mine !== undefined && mine.addr === want) return this.ack(mine, key);
      // the offer's hold ran out but nobody took the address meanwhile
      if (mine === undefined && this.leases.availableFor(want, key)) return this.ack(this.leases.get(want)!, key);
      return this.nak('requested address not offered');
    }
    if (r.requestedIp !== 0 && r.ciaddr === 0) {
      // INIT-REBOOT: the client asks to keep a remembered address
      const want = r.requestedIp;
      if (!inSubnet(c, want)) return this.nak('wrong network');
      const mine = this.leases.active(key);
      if (mine !== undefined && mine.addr !== want) return this.nak('address belongs to another lease');
      if (this.leases.availableFor(want, key)) return this.ack(this.leases.get(want)!, key);
      return this.nak('requested address not available');
    }
    if (r.ciaddr !== 0) {
      // RENEWING (unicast) or REBINDING (broadcast): extend the lease on ciaddr
      const want = r.ciaddr;
      if (!inSubnet(c, want)) return this.nak('wrong network');
      if (this.leases.availableFor(want, key)) return this.ack(this.leases.get(want)!, key);
      return this.nak('lease not found');
    }
    // a REQUEST with neither server id, requested address nor ciaddr fits no state
    this.stats.InMalformed++;
    this.ind.net.logBad(`dhcp: REQUEST from ${formatMac(r.chaddr)} with no server id, requested address or ciaddr`);
  }

  private ack(l: Lease, key: string): void {
    this.leases.bind(l, key, this.repr.chaddr, this.config.leaseTime, this.hostname());
    if (this.reply(DHCPACK, l.addr, l)) this.stats.OutAcks++;
  }

  private nak(why: string): void {
    if (this.reply(DHCPNAK, 0, null, why)) this.stats.OutNaks++;
  }

  private decline(): void {
    const r = this.repr;
    if (r.serverId !== this.serverId || r.requestedIp === 0) {
      this.stats.InIgnored++;
      return;
    }
    const l = this.leases.get(r.requestedIp);
    if (l === undefined || l.client !== this.clientKey()) {
      this.stats.InIgnored++;
      return;
    }
    this.ind.net.log.warn(`dhcp: ${formatMac(r.chaddr)} declined ${formatIpv4(r.requestedIp)} (address in use on the link)`);
    this.leases.decline(l);
  }

  private release(): void {
    const r = this.repr;
    if (r.serverId !== 0 && r.serverId !== this.serverId) {
      this.stats.InIgnored++;
      return;
    }
    const l = this.leases.get(r.ciaddr);
    if (l === undefined || l.state !== LEASE_BOUND || l.client !== this.clientKey()) {
      this.stats.InIgnored++;
      return;
    }
    this.leases.release(l);
  }

  private inform(): void {
    if (this.repr.ciaddr === 0) {
      this.stats.InMalformed++;
      return;
    }
    if (this.reply(DHCPACK, 0, null)) this.stats.OutAcks++;
  }

  /**
   * Build and send a reply (RFC 2131 Table 3) and address it per §4.1 (giaddr is always 0 here):
   * NAK → broadcast; ciaddr set → unicast to ciaddr; broadcast flag, or a chaddr we cannot unicast to →
   * broadcast; else unicast to yiaddr at chaddr without ARP (the client has no address yet).
   */
  private reply(type: number, yiaddr: Ipv4Addr, lease: Lease | null, message = ''): boolean {
    const r = this.repr;
    const c = this.config;
    const maxIp = Math.min(MAX_REPLY_IP_LEN, r.maxMessageSize >= DHCP_MIN_MAX_MESSAGE ? r.maxMessageSize : DHCP_MIN_MAX_MESSAGE);
    const size = maxIp - IPV4_HLEN - UDP_HLEN;
    const skb = udp_alloc_skb(this.ind, size);
    if (skb === null) {
      this.stats.OutErrors++;
      return false;
    }
    const o = this.out.wrap(skb.buf, skb.data, size);
    o.clearHeader();
    o.op = BOOTREPLY;
    o.htype = r.htype;
    o.hlen = r.hlen;
    o.xid = r.xid;
    o.flags = r.flags;
    o.giaddr = r.giaddr;
    o.buf.set(this.req.buf.subarray(r.chaddrOffset, r.chaddrOffset + CHADDR_LEN), o.chaddrOffset);
    if (type !== DHCPNAK) {
      o.ciaddr = type === DHCPACK ? r.ciaddr : 0;
      o.yiaddr = yiaddr;
    }
    const w = this.w.reset(skb.buf, o.optionsOffset, skb.data + size);
    w.u8(DHO_MESSAGE_TYPE, type);
    w.ipv4(DHO_SERVER_IDENTIFIER, this.serverId);
    if (type === DHCPNAK) {
      if (message) w.ascii(DHO_MESSAGE, message);
    } else {
      if (lease !== null) {
        w.u32(DHO_LEASE_TIME, c.leaseTime);
        // RFC 2131 §4.4.5 defaults: T1 = 0.5, T2 = 0.875 of the lease
        w.u32(DHO_RENEWAL_TIME, Math.floor(c.leaseTime / 2));
        w.u32(DHO_REBINDING_TIME, Math.floor((c.leaseTime * 7) / 8));
      }
      this.writeParameters(w);
    }
    w.finish();
    w.padTo(skb.data, BOOTP_MIN_LEN);
    skb.len = w.pos - skb.data;
    if (w.overflow) this.ind.net.logBad(`dhcp: reply to ${formatMac(r.chaddr)} truncated to ${maxIp} bytes (option 57)`);

    let daddr: Ipv4Addr;
    let dmac = -1;
    if (type === DHCPNAK) {
      daddr = IPV4_BROADCAST;
    } else if (r.ciaddr !== 0) {
      daddr = r.ciaddr;
    } else if (r.flags & 0x8000 || r.htype !== 1 || r.hlen !== 6 || !isValidUnicastMac(r.chaddr)) {
      daddr = IPV4_BROADCAST;
    } else {
      daddr = yiaddr;
      dmac = r.chaddr;
    }
    if (daddr === IPV4_BROADCAST) dmac = MAC_BROADCAST;
    const rc = udp_send_skb(this.ind, skb, this.serverId, DHCP_SERVER_PORT, daddr, DHCP_CLIENT_PORT, dmac);
    if (rc !== 0) {
      this.stats.OutErrors++;
      return false;
    }
    return true;
  }

  /**
   * Options after 53/54/51/58/59: those the client listed in option 55 first, in its order (RFC 2132 §9.8),
   * then the ones we always send (mask, router, DNS, domain when set, MTU when not 1500). Unknown
   * requested codes are skipped; each option appears once.
   */
  private writeParameters(w: DhcpOptionWriter): void {
    const r = this.repr;
    const b = this.req.buf;
    const done = this.done;
    done.fill(0);
    for (let i = 0; i < r.paramsLen; i++) {
      const code = b[r.paramsOffset + i];
      if (done[code]) continue;
      done[code] = 1;
      this.writeParameter(w, code, true);
    }
    for (const code of ALWAYS) {
      if (done[code]) continue;
      done[code] = 1;
      this.writeParameter(w, code, false);
    }
  }
  private readonly done = new Uint8Array(256);

  private writeParameter(w: DhcpOptionWriter, code: number, requested: boolean): void {
    const c = this.config;
    switch (code) {
      case DHO_SUBNET_MASK:
        w.ipv4(code, netmaskOf(c));
        break;
      case DHO_ROUTERS:
        w.ipv4(code, c.host);
        break;
      case DHO_DOMAIN_NAME_SERVERS:
        w.ipv4(code, c.dns);
        break;
      case DHO_DOMAIN_NAME:
        if (c.domain) w.ascii(code, c.domain);
        break;
      case DHO_INTERFACE_MTU:
        if (requested || c.mtu !== 1500) w.u16(code, c.mtu);
        break;
      case DHO_BROADCAST_ADDRESS:
        w.ipv4(code, broadcastOf(c));
        break;
      case DHO_HOST_NAME:
        // echo the client's own name (option 12) back when it also asked for it
        if (requested && this.repr.hostNameLen > 0) w.ascii(code, this.hostname());
        break;
      default:
        break;
    }
  }
}

const ALWAYS: readonly number[] = [DHO_SUBNET_MASK, DHO_ROUTERS, DHO_DOMAIN_NAME_SERVERS, DHO_DOMAIN_NAME, DHO_INTERFACE_MTU];

function hex(b: Uint8Array, off: number, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) s += (b[off + i] | 0x100).toString(16).slice(1);
  return s;
}

function ascii(b: Uint8Array, off: number, len: number): string {
  let s = '';
  for (let i = 0; i < len; i++) {
    const ch = b[off + i];
    if (ch === 0) break;
    s += String.fromCharCode(ch >= 0x20 && ch < 0x7f ? ch : 0x3f);
  }
  return s;
}
