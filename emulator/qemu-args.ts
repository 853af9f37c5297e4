// The QEMU options that attach a guest to a skbnet vhost-user socket (reference vhost-user.md §3.4, §7.1).

export interface VhostUserQemuOptions {
  socket: string;
  /** guest RAM, as for -m (e.g. "512M"); the shared memory backend must have the same size */
  memory: string;
  mac: string;
  queues: number;
  /** index used to make ids unique when several NICs are attached */
  index?: number;
  /** QEMU 7.2 under TCG segfaults when the guest starts a vhost-user virtio-net-pci with MSI-X */
  msix?: boolean;
  /**
   * false: the device does not offer GUEST_TSO4/GUEST_TSO6 (virtio-net-pci guest_tso4=off,guest_tso6=off),
   * so skbnet must segment its TCP super-frames in software before they reach the guest. Default: offered.
   */
  guestTso?: boolean;
}

/** memory backend options, once per VM */
export function sharedMemoryArgs(memory: string): string[] {
  return ['-m', memory, '-object', `memory-backend-memfd,id=skbnet-mem,size=${memory},share=on`, '-numa', 'node,memdev=skbnet-mem'];
}

/** chardev + netdev + device options for one NIC */
export function vhostUserNicArgs(o: VhostUserQemuOptions): string[] {
  const i = o.index ?? 0;
  const mq = o.queues > 1;
  const device = [
    'virtio-net-pci',
    `netdev=skbnet-n${i}`,
    `mac=${o.mac}`,
    'romfile=',
    ...(mq ? ['mq=on'] : []),
    ...(o.guestTso === false ? ['guest_tso4=off', 'guest_tso6=off'] : []),
    ...(o.msix ? (mq ? [`vectors=${2 * o.queues + 2}`] : []) : ['vectors=0']),
  ].join(',');
  return [
    '-chardev', `socket,id=skbnet-c${i},path=${o.socket},reconnect=1`,
    '-netdev', `vhost-user,id=skbnet-n${i},chardev=skbnet-c${i}${mq ? `,queues=${o.queues}` : ''}`,
    '-device', device,
  ];
}

/** the -m value in user arguments, if any */
export function findMemory(args: string[]): string | null {
  for (let i = 0; i < args.length - 1; i++) {
    if (args[i] === '-m') {
      const v = args[i + 1];
      const m = /^(?:size=)?(\d+[MGT]?)/i.exec(v);
      return m ? m[1] : v;
    }
  }
  return null;
}

/** whether the user asked for KVM (MSI-X is safe there) */
export function usesKvm(args: string[]): boolean {
  return args.some((a, i) => a === '-enable-kvm' || (args[i - 1] === '-accel' && a.startsWith('kvm')) || /accel=kvm/.test(a));
}

/** quote for a shell line the user will paste */
export function shellQuote(args: string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(' ');
}
