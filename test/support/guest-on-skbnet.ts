// The setup most real-guest tests share: `skbnet serve` as a user runs it, on a vhost-user socket in a
// temp dir (with a control socket beside it), and the agent guest booted on that socket, optionally with
// its DHCP lease already taken.
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Guest, type GuestBootOptions } from './guest';
import { SkbnetProcess } from './skbnet-process';
import { vhostUserNicArgs } from '../../emulator/qemu-args';

/** busybox udhcpc through the fixture's script (prints SKBNET-LEASE …) */
export const GUEST_DHCP = 'ip link set eth0 up; udhcpc -i eth0 -n -q -t 5 -T 2 -s /etc/udhcpc.script';

export class GuestOnSkbnet {
  readonly dir: string;
  readonly sock: string;
  readonly ctl: string;
  skbnet!: SkbnetProcess;
  guest!: Guest;

  constructor(tag: string) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `skbnet-${tag}-`));
    this.sock = path.join(this.dir, 'vu.sock');
    this.ctl = path.join(this.dir, 'ctl.sock');
  }

  /** serve with `--vhost-user SOCK --control CTL` plus `serveArgs`, boot the guest, and take a lease when asked */
  async start(name: string, serveArgs: string[] = [], opts: { dhcp?: boolean; boot?: GuestBootOptions } = {}): Promise<this> {
    this.skbnet = await SkbnetProcess.serve(['--vhost-user', this.sock, '--control', this.ctl, ...serveArgs]);
    this.guest = await Guest.boot({
      name,
      netArgs: vhostUserNicArgs({ socket: this.sock, memory: '256M', mac: '52:54:00:12:34:56', queues: 1 }),
      ...opts.boot,
    });
    if (opts.dhcp) {
      const r = await this.guest.run(GUEST_DHCP, 40000);
      expect(r.code, r.output).to.equal(0);
    }
    return this;
  }

  async stop(): Promise<void> {
    await this.guest?.shutdown();
    await this.skbnet?.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
