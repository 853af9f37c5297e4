// TSO toward a real guest: a host→guest download through 10.0.2.2 reaches the guest as TCP
// super-frames (virtio GSO header, GUEST_TSO4) — the guest driver's rx_bytes/rx_packets average is far
// above one MSS frame — and, with the device's guest_tso4/guest_tso6 turned off in QEMU, skbnet segments
// the same super-frames in software (validate_xmit_skb → tcp_gso_segment) so the guest gets MSS frames.
// Both ways the data arrives md5-identical; the download throughput is printed for each.
import { expect } from 'chai';
import { createHash, randomBytes } from 'crypto';
import * as net from 'net';
import { GuestOnSkbnet } from '../support/guest-on-skbnet';
import { vhostUserNicArgs } from '../../emulator/qemu-args';

const SIZE = 8 << 20;

function md5(b: Uint8Array): string {
  return createHash('md5').update(b).digest('hex');
}

const STATS = 'cat /sys/class/net/eth0/statistics/rx_bytes /sys/class/net/eth0/statistics/rx_packets';

/** download SIZE bytes from a loopback server through 10.0.2.2; returns avg rx frame size and Mbit/s */
async function download(setup: GuestOnSkbnet, data: Buffer): Promise<{ avg: number; mbit: number; frames: number }> {
  const server = net.createServer({ allowHalfOpen: true }, (c) => {
    c.on('data', () => undefined);
    c.end(data);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const g = setup.guest;
    const cmd =
      `${STATS}; s=$(cut -d' ' -f1 /proc/uptime); nc -w 30 10.0.2.2 ${port} < /dev/null > /tmp/f; rc=$?; ` +
      `e=$(cut -d' ' -f1 /proc/uptime); ${STATS}; echo "T $s $e"; md5sum /tmp/f; wc -c < /tmp/f; exit $rc`;
    const r = await g.run(cmd, 90000);
    expect(r.code, r.output).to.equal(0);
    expect(r.output).to.include(md5(data));
    const nums = r.output.split('\n').map((l) => l.trim()).filter((l) => /^\d+$/.test(l)).map(Number);
    // rx_bytes, rx_packets before; rx_bytes, rx_packets after; then the file size
    expect(nums.length, r.output).to.equal(5);
    expect(nums[4]).to.equal(SIZE);
    const bytes = nums[2] - nums[0];
    const frames = nums[3] - nums[1];
    const t = /T (\d+\.\d+) (\d+\.\d+)/.exec(r.output);
    expect(t, r.output).to.not.equal(null);
    const secs = Math.max(0.01, Number(t![2]) - Number(t![1]));
    return { avg: bytes / Math.max(1, frames), mbit: (SIZE * 8) / secs / 1e6, frames };
  } finally {
    server.close();
  }
}

/** the guest driver's negotiated virtio feature bits ("0101…", bit 0 first) */
async function guestFeatures(setup: GuestOnSkbnet): Promise<string> {
  const r = await setup.guest.run('cat /sys/class/net/eth0/device/features');
  expect(r.code, r.output).to.equal(0);
  return r.output.trim();
}

describe('a real guest: TSO super-frames toward the guest', function () {
  this.timeout(240000);
  const data = randomBytes(SIZE);

  describe('guest negotiated GUEST_TSO4', () => {
    const setup = new GuestOnSkbnet('tso-on');
    before(async () => {
      await setup.start('tso-on', [], { dhcp: true });
    });
    after(async () => {
      await setup.stop();
    });

    it('receives an 8 MiB download from 10.0.2.2 as super-frames (avg frame > 3000 bytes), md5 identical', async () => {
      const f = await guestFeatures(setup);
      expect(f[7], f).to.equal('1'); // VIRTIO_NET_F_GUEST_TSO4
      const d = await download(setup, data);
      console.log(`      TSO on: ${d.mbit.toFixed(0)} Mbit/s, ${d.frames} frames, avg ${d.avg.toFixed(0)} bytes/frame`);
      expect(d.avg).to.be.greaterThan(3000);
    });
  });

  describe('guest_tso4=off,guest_tso6=off', () => {
    const setup = new GuestOnSkbnet('tso-off');
    before(async () => {
      await setup.start('tso-off', [], {
        dhcp: true,
        boot: { netArgs: vhostUserNicArgs({ socket: setup.sock, memory: '256M', mac: '52:54:00:12:34:56', queues: 1, guestTso: false }) },
      });
    });
    after(async () => {
      await setup.stop();
    });

    it('receives the same download as MSS frames (software GSO), md5 identical', async () => {
      const f = await guestFeatures(setup);
      expect(f[7], f).to.equal('0');
      expect(f[8], f).to.equal('0');
      const d = await download(setup, data);
      console.log(`      TSO off: ${d.mbit.toFixed(0)} Mbit/s, ${d.frames} frames, avg ${d.avg.toFixed(0)} bytes/frame`);
      expect(d.avg).to.be.at.most(1514);
      expect(d.frames).to.be.at.least(Math.floor(SIZE / 1448));
    });
  });
});
