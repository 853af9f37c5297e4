// A tiny authoritative DNS server on a real loopback UDP socket, for tests: A queries for names in
// `zone` get one answer (RFC 1035 §4.1: header, the question echoed, a compressed-name answer); other
// names NXDOMAIN. `silent` makes it swallow queries (for timeout tests). It records what it received.
import * as dgram from 'dgram';

export interface DnsQuerySeen {
  id: number;
  name: string;
  port: number;
  bytes: Buffer;
}

/** QNAME at offset 12 as dotted text, and the offset after QTYPE/QCLASS; null when malformed */
export function readQuestion(b: Buffer): { name: string; end: number; qtype: number } | null {
  let p = 12;
  const labels: string[] = [];
  while (p < b.length && b[p] !== 0) {
    const l = b[p];
    if (l > 63 || p + 1 + l > b.length) return null;
    labels.push(b.toString('latin1', p + 1, p + 1 + l));
    p += 1 + l;
  }
  if (p + 5 > b.length) return null;
  return { name: labels.join('.'), end: p + 5, qtype: b.readUInt16BE(p + 1) };
}

export function dnsQuery(id: number, name: string, qtype = 1): Buffer {
  const parts = name.split('.').flatMap((l) => [Buffer.from([l.length]), Buffer.from(l, 'latin1')]);
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(0x0100, 2); // RD
  h.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(qtype, 1);
  tail.writeUInt16BE(1, 3);
  return Buffer.concat([h, ...parts, tail]);
}

/** the first A record's address in a response, or null */
export function firstA(b: Uint8Array): string | null {
  const buf = Buffer.from(b);
  const q = readQuestion(buf);
  if (q === null || buf.readUInt16BE(6) === 0) return null;
  let p = q.end;
  if ((buf[p] & 0xc0) === 0xc0) p += 2;
  else return null;
  if (buf.readUInt16BE(p) !== 1) return null;
  return `${buf[p + 10]}.${buf[p + 11]}.${buf[p + 12]}.${buf[p + 13]}`;
}

export class TestDnsServer {
  readonly seen: DnsQuerySeen[] = [];
  silent = false;
  private constructor(
    readonly sock: dgram.Socket,
    readonly zone: Map<string, string>,
  ) {
    sock.on('message', (msg, rinfo) => this.answer(msg, rinfo));
  }

  static async start(zone: Record<string, string>, address = '127.0.0.1'): Promise<TestDnsServer> {
    const sock = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, address, () => resolve());
    });
    return new TestDnsServer(sock, new Map(Object.entries(zone)));
  }

  get port(): number {
    return this.sock.address().port;
  }

  close(): void {
    this.sock.close();
  }

  private answer(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const q = readQuestion(msg);
    if (msg.length < 12 || q === null) return;
    this.seen.push({ id: msg.readUInt16BE(0), name: q.name, port: rinfo.port, bytes: Buffer.from(msg) });
    if (this.silent) return;
    const addr = this.zone.get(q.name.toLowerCase());
    const h = Buffer.from(msg.subarray(0, 12));
    const question = msg.subarray(12, q.end);
    h.writeUInt16BE(0x8180 | (addr === undefined ? 3 : 0), 2); // QR RD RA, NOERROR / NXDOMAIN
    h.writeUInt16BE(1, 4);
    const answers: Buffer[] = [];
    if (addr !== undefined && q.qtype === 1) {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0);
      rr.writeUInt16BE(1, 2);
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(60, 6);
      rr.writeUInt16BE(4, 10);
      addr.split('.').forEach((x, i) => (rr[12 + i] = Number(x)));
      answers.push(rr);
    }
    h.writeUInt16BE(answers.length, 6);
    h.writeUInt16BE(0, 8);
    h.writeUInt16BE(0, 10);
    this.sock.send(Buffer.concat([h, question, ...answers]), rinfo.port, rinfo.address);
  }
}

/** poll `cond` every few ms of real time until true or `ms` pass */
export async function until(cond: () => boolean, ms = 3000, step = 5): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, step));
  }
  return cond();
}
