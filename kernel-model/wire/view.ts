// Base of every packet view: a window (buf, off, len) that can be re-pointed with wrap() so one view object
// serves every packet on a hot path. Offsets passed to getters are relative to `off`.
export abstract class ByteView {
  buf: Uint8Array;
  off: number;
  len: number;

  constructor(buf?: Uint8Array, off = 0, len?: number) {
    this.buf = buf ?? EMPTY;
    this.off = off;
    this.len = len ?? this.buf.length - off;
  }

  /** re-point the view; clamps the window to the buffer so no later access can leave it */
  wrap(buf: Uint8Array, off = 0, len = buf.length - off): this {
    const o = off < 0 ? 0 : off > buf.length ? buf.length : off;
    const l = len < 0 ? 0 : len > buf.length - o ? buf.length - o : len;
    this.buf = buf;
    this.off = o;
    this.len = l;
    return this;
  }

  /** validate lengths once; 0 (WIRE_OK) or a WIRE_* code */
  abstract check(): number;
}

const EMPTY = new Uint8Array(0);
