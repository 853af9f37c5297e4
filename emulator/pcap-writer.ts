// --pcap FILE: every frame in and out of a device, in classic pcap format (LINKTYPE_ETHERNET) that
// tcpdump and Wireshark read. Frames are buffered and written in chunks, never one write per frame.
import * as fs from 'fs';
import { performance } from 'perf_hooks';

const PCAP_MAGIC = 0xa1b2c3d4; // microsecond timestamps
const LINKTYPE_ETHERNET = 1;
const SNAPLEN = 262144;
const FLUSH_AT = 1 << 20;

export class PcapWriter {
  private readonly fd: number;
  private readonly buf = Buffer.allocUnsafe(FLUSH_AT + SNAPLEN + 16);
  private used = 0;
  private timer: NodeJS.Timeout | null = null;
  frames = 0;

  constructor(readonly path: string) {
    this.fd = fs.openSync(path, 'w', 0o600);
    const h = Buffer.alloc(24);
    h.writeUInt32LE(PCAP_MAGIC, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeInt32LE(0, 8);
    h.writeUInt32LE(0, 12);
    h.writeUInt32LE(SNAPLEN, 16);
    h.writeUInt32LE(LINKTYPE_ETHERNET, 20);
    fs.writeSync(this.fd, h);
  }

  /** append one frame (bytes [off, off+len) of `buf`) stamped with wall-clock time in microseconds */
  write(frame: Uint8Array, off: number, len: number): void {
    const cap = Math.min(len, SNAPLEN);
    if (this.used + 16 + cap > this.buf.length) this.flush();
    const us = Math.floor((performance.timeOrigin + performance.now()) * 1000);
    const b = this.buf;
    let o = this.used;
    b.writeUInt32LE(Math.floor(us / 1e6), o);
    b.writeUInt32LE(us % 1e6, o + 4);
    b.writeUInt32LE(cap, o + 8);
    b.writeUInt32LE(len, o + 12);
    o += 16;
    b.set(frame.subarray(off, off + cap), o);
    this.used = o + cap;
    this.frames++;
    if (this.used >= FLUSH_AT) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), 200).unref();
  }

  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.used === 0) return;
    fs.writeSync(this.fd, this.buf, 0, this.used);
    this.used = 0;
  }

  close(): void {
    this.flush();
    fs.closeSync(this.fd);
  }
}
