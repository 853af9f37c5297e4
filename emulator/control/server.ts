// The control socket `skbnet serve --control PATH` opens (0600): views (`nstat`, `ip`, `softnet`, …) ask
// it for the model's state. Cold path: clarity first.
import * as fs from 'fs';
import * as net from 'net';
import * as vde from 'net-vde';
import { ControlReply, ControlRequest, Deframer, encode } from './framing';
import { Logger } from '../log';

export type ControlHandler = (req: ControlRequest) => ControlReply;

export class ControlServer {
  private server: net.Server | null = null;
  private readonly handlers = new Map<string, ControlHandler>();

  constructor(readonly path: string, private readonly log: Logger) {}

  on(cmd: string, handler: ControlHandler): this {
    this.handlers.set(cmd, handler);
    return this;
  }

  listen(): void {
    try {
      if (fs.lstatSync(this.path).isSocket()) fs.unlinkSync(this.path);
    } catch {
      /* no leftover */
    }
    // bind through net-vde so the socket file is created 0600 with no window of wider access
    const fd = vde.socket('stream');
    vde.bind(fd, this.path, 0o600);
    vde.listen(fd, 16);
    this.server = net.createServer((sock) => this.serve(sock));
    this.server.listen({ fd });
  }

  private serve(sock: net.Socket): void {
    const deframer = new Deframer();
    sock.on('data', (chunk) => {
      try {
        deframer.push(chunk, (m) => sock.write(encode(this.dispatch(m))));
      } catch (e) {
        this.log.warn(`control: bad message: ${(e as Error).message}`);
        sock.destroy();
      }
    });
    sock.on('error', () => sock.destroy());
  }

  private dispatch(m: unknown): ControlReply {
    const req = m as Partial<ControlRequest>;
    if (!req || typeof req.cmd !== 'string' || !Array.isArray(req.args) || !req.args.every((a) => typeof a === 'string')) {
      return { ok: false, text: 'malformed request' };
    }
    const h = this.handlers.get(req.cmd);
    if (!h) return { ok: false, text: `unknown command '${req.cmd}'` };
    try {
      return h({ cmd: req.cmd, args: req.args, guest: typeof req.guest === 'number' ? req.guest : 0 });
    } catch (e) {
      return { ok: false, text: (e as Error).message };
    }
  }

  close(): void {
    if (!this.server) return;
    this.server.close();
    this.server = null;
    try {
      fs.unlinkSync(this.path);
    } catch {
      /* already gone */
    }
  }
}
