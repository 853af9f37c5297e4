// IPv4 options on receive and on fragmentation (net/ipv4/ip_options.c __ip_options_compile,
// ip_options_fragment). The model validates options as Linux does for a received datagram and reports
// the pointer an ICMP parameter problem carries; it does not rewrite RR/TS (nothing echoes them).

export const IPOPT_END = 0;
export const IPOPT_NOOP = 1;
export const IPOPT_RR = 7;
export const IPOPT_TIMESTAMP = 68;
export const IPOPT_LSRR = 131;
export const IPOPT_SSRR = 137;
export const IPOPT_CIPSO = 134;
export const IPOPT_RA = 148;
/** the "copied" flag: the option goes into every fragment */
const IPOPT_COPY = 0x80;
const IPOPT_TS_PRESPEC = 3;

/** the result of compiling one header's options (a reusable object, no allocation per packet) */
export class IpOptions {
  /** offset from the IP header of the source-route option, 0 if none (opt->srr) */
  srr = 0;
  rr = 0;
  ts = 0;
  cipso = 0;
  router_alert = 0;
  /** on failure: the offset from the IP header of the offending byte (the parameter-problem pointer) */
  pointer = 0;

  /**
   * __ip_options_compile for a received header at buf[iph] of `hlen` bytes: true when the options are
   * acceptable, else false with `pointer` set. Duplicate SRR/RR/TS/CIPSO, lengths beyond the header and
   * bad RR/TS pointers are errors, as in Linux. CIPSO contents are not validated (no CIPSO DOI).
   */
  compile(buf: Uint8Array, iph: number, hlen: number): boolean {
    this.srr = this.rr = this.ts = this.cipso = this.router_alert = this.pointer = 0;
    let i = 20;
    while (i < hlen) {
      const t = buf[iph + i];
      if (t === IPOPT_END) return true;
      if (t === IPOPT_NOOP) {
        i++;
        continue;
      }
      const l = hlen - i;
      if (l < 2) return this.fail(i);
      const optlen = buf[iph + i + 1];
      if (optlen < 2 || optlen > l) return this.fail(i);
      const ptr = optlen > 2 ? buf[iph + i + 2] : 0;
      switch (t) {
        case IPOPT_SSRR:
        case IPOPT_LSRR:
          if (optlen < 3) return this.fail(i + 1);
          if (ptr < 4) return this.fail(i + 2);
          if (this.srr !== 0) return this.fail(i);
          this.srr = i;
          break;
        case IPOPT_RR:
          if (this.rr !== 0) return this.fail(i);
          if (optlen < 3) return this.fail(i + 1);
          if (ptr < 4) return this.fail(i + 2);
          if (ptr <= optlen && ptr + 3 > optlen) return this.fail(i + 2);
          this.rr = i;
          break;
        case IPOPT_TIMESTAMP: {
          if (this.ts !== 0) return this.fail(i);
          if (optlen < 4) return this.fail(i + 1);
          if (ptr < 5) return this.fail(i + 2);
          const flags = buf[iph + i + 3];
          if (ptr <= optlen) {
            if (ptr + 3 > optlen) return this.fail(i + 2);
            // TSANDADDR (1) and PRESPEC (3) need 8 bytes per entry
            if (((flags & 15) === 1 || (flags & 15) === IPOPT_TS_PRESPEC) && ptr + 7 > optlen) return this.fail(i + 2);
          } else if ((flags & 15) !== IPOPT_TS_PRESPEC && flags >>> 4 === 15) {
            return this.fail(i + 3); // overflow counter would wrap
          }
          this.ts = i;
          break;
        }
        case IPOPT_RA:
          if (optlen < 4) return this.fail(i + 1);
          if (buf[iph + i + 2] === 0 && buf[iph + i + 3] === 0) this.router_alert = i;
          break;
        case IPOPT_CIPSO:
          if (this.cipso !== 0) return this.fail(i);
          this.cipso = i;
          break;
        default:
          // IPOPT_SEC, IPOPT_SID and unknown options are accepted on receive
          break;
      }
      i += optlen;
    }
    return true;
  }

  private fail(at: number): boolean {
    this.pointer = at;
    return false;
  }
}

/**
 * ip_options_fragment: after the first fragment has been built, options without the copied flag are
 * overwritten with NOOP so the later fragments carry only the copied ones. Lengths were validated
 * when the header was built; a malformed length stops the walk.
 */
export function ip_options_fragment(buf: Uint8Array, iph: number, hlen: number): void {
  let i = 20;
  while (i < hlen) {
    const t = buf[iph + i];
    if (t === IPOPT_END) return;
    if (t === IPOPT_NOOP) {
      i++;
      continue;
    }
    const optlen = i + 1 < hlen ? buf[iph + i + 1] : 0;
    if (optlen < 2 || optlen > hlen - i) return;
    if ((t & IPOPT_COPY) === 0) buf.fill(IPOPT_NOOP, iph + i, iph + i + optlen);
    i += optlen;
  }
}
