// The control socket's wire format: each message is a 4-byte big-endian length, then a msgpack body.
import { Packr, Unpackr } from 'msgpackr';

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false });
/** a request or reply larger than this is refused (a confused or hostile peer) */
export const MAX_MESSAGE = 4 << 20;

export interface ControlRequest {
  cmd: string;
  args: string[];
  /** which attached guest (network namespace) the command is about */
  guest: number;
}

export interface ControlReply {
  ok: boolean;
  /** the command's output, in the format of the Linux tool it imitates */
  text: string;
  /** machine-readable data for commands that keep client-side state (nstat history) */
  data?: Record<string, number>;
}

export function encode(msg: unknown): Buffer {
  const body = packr.pack(msg);
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, 4);
  return out;
}

/** splits a byte stream into decoded messages */
export class Deframer {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer, onMessage: (msg: unknown) => void): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 4) {
      const len = this.buf.readUInt32BE(0);
      if (len > MAX_MESSAGE) throw new Error(`control message of ${len} bytes is too large`);
      if (this.buf.length < 4 + len) return;
      const body = this.buf.subarray(4, 4 + len);
      this.buf = this.buf.subarray(4 + len);
      onMessage(unpackr.unpack(body));
    }
  }
}
