// A real skbnet vhost-user back-end (model stack + virtio-net device + server) on a temp socket, with its
// log kept in memory, for tests that play the front-end themselves.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { NetStack } from '../../kernel-model/core/stack';
import { VirtioNetDevice } from '../../devices/virtio-net/virtio-net-device';
import { VhostUserServer } from '../../devices/vhost-user/server';
import { MemoryLogger } from '../../emulator/log';
import { attachInet, parseInetConfig } from '../../kernel-model/inet';

export class BackendUnderTest {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skbnet-test-'));
  readonly socket = path.join(this.dir, 'vu.sock');
  readonly log = new MemoryLogger();
  readonly stack: NetStack;
  readonly device: VirtioNetDevice;
  readonly server: VhostUserServer;

  constructor(opts: { queuePairs?: number; inet?: boolean } = {}) {
    this.stack = new NetStack({ log: this.log });
    this.device = new VirtioNetDevice(this.stack, { queuePairs: opts.queuePairs ?? 1 });
    if (opts.inet !== false) attachInet(this.stack, this.device.dev, parseInetConfig('10.0.2.0/24'));
    this.server = new VhostUserServer(this.socket, this.device, this.log);
    this.server.listen();
  }

  close(): void {
    this.server.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
