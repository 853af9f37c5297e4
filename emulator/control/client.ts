// Client side of the control socket, for `skbnet nstat`, `skbnet ip`, `skbnet softnet`, …
import * as net from 'net';
import { ControlReply, ControlRequest, Deframer, encode } from './framing';

export function controlRequest(path: string, req: ControlRequest, timeoutMs = 5000): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(path);
    const deframer = new Deframer();
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer from the control socket ${path}`));
    }, timeoutMs);
    sock.on('connect', () => sock.write(encode(req)));
    sock.on('data', (chunk) => {
      try {
        deframer.push(chunk, (m) => {
          clearTimeout(timer);
          sock.end();
          resolve(m as ControlReply);
        });
      } catch (e) {
        clearTimeout(timer);
        sock.destroy();
        reject(e);
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot reach the control socket ${path}: ${e.message}`));
    });
  });
}
