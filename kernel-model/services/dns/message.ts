// The DNS header fields the forwarder reads and writes (RFC 1035 §4.1.1): ID, the QR bit and the
// RCODE. The forwarder does not parse questions: the upstream resolver validates the rest.

export const DNS_PORT = 53;
export const DNS_HLEN = 12;
/** flags byte 2: QR (response) */
export const DNS_QR = 0x80;
/** RCODE 2, "Server failure" (RFC 1035 §4.1.1) */
export const DNS_RCODE_SERVFAIL = 2;
/** flags byte 2: RD (recursion desired), copied into a synthesized answer */
export const DNS_RD = 0x01;
/** flags byte 3: RA (recursion available) */
export const DNS_RA = 0x80;

export function dnsId(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

export function setDnsId(b: Uint8Array, o: number, id: number): void {
  b[o] = (id >>> 8) & 0xff;
  b[o + 1] = id & 0xff;
}

/** a query as the forwarder accepts it: a whole header, QR clear. Returns a reason when not. */
export function dnsQueryError(b: Uint8Array, o: number, len: number): string | null {
  if (len < DNS_HLEN) return `${len} bytes, shorter than the 12-byte header`;
  if (b[o + 2] & DNS_QR) return 'QR set (a response, not a query)';
  return null;
}

/** a response as the forwarder accepts it from upstream: a whole header, QR set */
export function dnsIsResponse(b: Uint8Array, len: number): boolean {
  return len >= DNS_HLEN && (b[2] & DNS_QR) !== 0;
}

/**
 * SERVFAIL for a query, written into `out` (which must hold `len` bytes): the query echoed with QR
 * and RA set and RCODE 2, the question kept so a stub resolver matches it (as dnsmasq answers).
 */
export function dnsServfail(q: Uint8Array, o: number, len: number, out: Uint8Array): number {
  out.set(q.subarray(o, o + len), 0);
  out[2] = (out[2] | DNS_QR) & (0x80 | 0x78 | DNS_RD); // QR, keep OPCODE and RD; clear AA, TC
  out[3] = DNS_RA | DNS_RCODE_SERVFAIL;
  // answer, authority and additional counts: none (an EDNS OPT record in the query is dropped)
  for (let i = 6; i < DNS_HLEN; i++) out[i] = 0;
  // keep the header and the question section: walk the QNAME labels of QDCOUNT questions
  const qd = (out[4] << 8) | out[5];
  let p = DNS_HLEN;
  for (let n = 0; n < qd; n++) {
    while (p < len && out[p] !== 0) {
      if ((out[p] & 0xc0) !== 0) {
        p += 1; // a compression pointer ends the name (2 bytes with the +1 below)
        break;
      }
      p += out[p] + 1;
    }
    p += 1 + 4; // the terminating zero (or pointer's second byte), QTYPE, QCLASS
    if (p > len) {
      // a question that does not fit: answer with the header only
      out[4] = out[5] = 0;
      return DNS_HLEN;
    }
  }
  return p;
}
