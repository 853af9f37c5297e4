// The whole back-end path without QEMU: a test-side front-end sets up a queue pair over real shared
// memory, the test-side driver sends frames on the transmitq, and the model's answers arrive in the
// receiveq — vhost-user protocol, virtqueues, virtio-net device, NAPI, netif_receive_skb, ARP/ICMP,
// dev_queue_xmit and the mergeable receive path all take part.
import { expect } from 'chai';
import * as vde from 'net-vde';
import { BackendUnderTest } from '../support/backend-under-test';
import { VirtioNetSession, until } from '../support/vhost-user-session';
import { FrontReq } from '../support/vhost-user-frontend';
import { GATEWAY_MAC, GUEST_MAC, arpRequest, icmpEcho, inetChecksum } from '../support/frames';
import * as F from '../../devices/virtio/features';

describe('vhost-user data path (test-side front-end and driver, real shared memory)', () => {
  let be: BackendUnderTest;
  let s: VirtioNetSession;
  beforeEach(async () => {
    be = new BackendUnderTest();
    s = await VirtioNetSession.start(be.socket);
  });
  afterEach(() => {
    s.close();
    be.close();
  });

  describe('with a well-behaved guest driver', () => {

    it('answers an ARP request for the gateway through the rings', async () => {
      s.postRxBuffers(64);
      const head = s.sendFrame(arpRequest(GUEST_MAC, '10.0.2.15', '10.0.2.2'));
      await until(() => s.rx.driver.usedIdx() !== 0, 3000, 'a frame in the receiveq');
      const bufs = s.receivedBuffers();
      expect(bufs).to.have.length(1);
      const b = bufs[0];
      expect(b[10] | (b[11] << 8), 'num_buffers').to.equal(1);
      const f = b.subarray(12);
      expect(Array.from(f.subarray(0, 6))).to.deep.equal(Array.from(GUEST_MAC));
      expect(Array.from(f.subarray(6, 12))).to.deep.equal(Array.from(GATEWAY_MAC));
      expect(f[12] << 8 | f[13]).to.equal(0x0806);
      expect(f[20] << 8 | f[21], 'ARP reply').to.equal(2);
      expect(Array.from(f.subarray(28, 32))).to.deep.equal([10, 0, 2, 2]);
      // the transmit buffer came back and the guest was told
      expect(s.tx.driver.getUsed().map((e) => e.id)).to.deep.equal([head]);
      expect(vde.eventfdRead(s.rx.call)).to.not.equal(null);
      expect(be.device.dev.stats.rx_packets).to.equal(1);
      expect(be.device.dev.stats.tx_packets).to.equal(1);
    });

    it('answers pings with correct checksums, one reply per request, in order', async () => {
      s.postRxBuffers(128);
      // Frames nobody answers first, so transmitq and receiveq heads no longer line up by accident.
      const junk = arpRequest(GUEST_MAC, '10.0.2.15', '10.0.2.2');
      junk[12] = 0x12;
      for (let i = 0; i < 3; i++) s.sendFrame(junk);
      await until(() => s.tx.driver.usedIdx() === 3);
      s.tx.driver.getUsed();
      s.sendFrame(arpRequest(GUEST_MAC, '10.0.2.15', '10.0.2.2'));
      await until(() => s.rx.driver.usedIdx() === 1);
      s.receivedBuffers();
      const payload = Uint8Array.from({ length: 56 }, (_, i) => i);
      const sent: number[] = [];
      for (let seq = 1; seq <= 20; seq++) sent.push(s.sendFrame(icmpEcho(GUEST_MAC, GATEWAY_MAC, '10.0.2.15', '10.0.2.2', 0x77, seq, payload)));
      await until(() => s.rx.driver.usedIdx() === 21, 3000, '20 echo replies');
      await until(() => s.tx.driver.usedIdx() === 24, 3000, 'transmit completions');
      // the driver throws on a completion for a head it does not have outstanding
      expect(s.tx.driver.getUsed().map((e) => e.id).slice(1)).to.deep.equal(sent);
      expect(be.device.dev.stats.rx_dropped, 'unknown ethertype dropped').to.equal(3);
      const replies = s.receivedBuffers().map((b) => b.subarray(12));
      expect(replies).to.have.length(20);
      replies.forEach((f, i) => {
        const ipo = 14;
        expect(f[ipo + 9], 'ICMP').to.equal(1);
        expect(Array.from(f.subarray(ipo + 12, ipo + 16)), 'from the gateway').to.deep.equal([10, 0, 2, 2]);
        expect(inetChecksum(f, ipo, 20), 'IP checksum').to.equal(0);
        const ic = ipo + 20;
        expect(f[ic], 'echo reply').to.equal(0);
        expect(f[ic + 6] << 8 | f[ic + 7], 'sequence').to.equal(i + 1);
        expect(inetChecksum(f, ic, f.length - ic), 'ICMP checksum').to.equal(0);
        expect(Array.from(f.subarray(ic + 8))).to.deep.equal(Array.from(payload));
      });
      expect(be.stack.mib.Icmp.InEchos).to.equal(20);
      expect(be.stack.mib.Icmp.OutEchoReps).to.equal(20);
    });

    it('spreads a frame over several mergeable buffers when they are small', async () => {
      s.postRxBuffers(64, 256);
      s.sendFrame(arpRequest(GUEST_MAC, '10.0.2.15', '10.0.2.2'));
      await until(() => s.rx.driver.usedIdx() === 1);
      s.receivedBuffers();
      const payload = new Uint8Array(1000).fill(0xab);
      s.sendFrame(icmpEcho(GUEST_MAC, GATEWAY_MAC, '10.0.2.15', '10.0.2.2', 1, 1, payload));
      const frameLen = 14 + 20 + 8 + 1000;
      const bufs = Math.ceil((12 + frameLen) / 256);
      await until(() => s.rx.driver.usedIdx() === 1 + bufs, 3000, `${bufs} buffers`);
      const parts = s.receivedBuffers();
      expect(parts).to.have.length(bufs);
      expect(parts[0][10] | (parts[0][11] << 8), 'num_buffers').to.equal(bufs);
      parts.slice(0, -1).forEach((p) => expect(p.length, 'all but the last buffer full').to.equal(256));
      const whole = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      parts.reduce((o, p) => (whole.set(p, o), o + p.length), 0);
      expect(whole.length).to.equal(12 + frameLen);
      expect(Array.from(whole.subarray(12 + 42))).to.deep.equal(Array.from(payload));
    });

    it('waits for receive buffers when the guest has none, then delivers', async () => {
      s.sendFrame(arpRequest(GUEST_MAC, '10.0.2.15', '10.0.2.2'));
      await until(() => s.tx.driver.usedIdx() === 1, 3000, 'transmit completion');
      await new Promise((r) => setTimeout(r, 50));
      expect(s.rx.driver.usedIdx()).to.equal(0);
      s.postRxBuffers(4);
      await until(() => s.rx.driver.usedIdx() === 1, 3000, 'the queued reply');
      expect(s.receivedBuffers()[0][12 + 21]).to.equal(2);
    });

    it('returns the next avail index on GET_VRING_BASE and stops the ring', async () => {
      s.postRxBuffers(8);
      for (let i = 0; i < 5; i++) s.sendFrame(arpRequest(GUEST_MAC, '10.0.2.15', '10.0.2.2'));
      await until(() => s.tx.driver.usedIdx() === 5);
      expect(await s.getVringBase(1)).to.equal(5);
      s.sendFrame(arpRequest(GUEST_MAC, '10.0.2.15', '10.0.2.2'));
      vde.eventfdWrite(s.tx.kick, 1n);
      await new Promise((r) => setTimeout(r, 50));
      expect(s.tx.driver.usedIdx(), 'stopped ring is not touched').to.equal(5);
    });

    it('accepts SET_FEATURES again while running (QEMU sends it per queue pair), refuses a change', async () => {
      s.fe.setU64(FrontReq.SET_FEATURES, s.features);
      expect(await s.fe.getU64(FrontReq.GET_FEATURES)).to.equal(be.device.features);
      s.fe.setU64(FrontReq.SET_FEATURES, s.features & ~F.VIRTIO_NET_F_MRG_RXBUF);
      expect(await s.fe.closedByPeer()).to.equal(true);
      expect(be.server.stats.errors.BadOrder).to.equal(1);
    });

    it('reports the features it offers and what it was acked', async () => {
      const offered = await s.fe.getU64(FrontReq.GET_FEATURES);
      for (const f of [F.VIRTIO_F_VERSION_1, F.VIRTIO_NET_F_MRG_RXBUF, F.VIRTIO_RING_F_EVENT_IDX, F.VIRTIO_RING_F_INDIRECT_DESC,
        F.VIRTIO_NET_F_CSUM, F.VIRTIO_NET_F_GUEST_CSUM, F.VIRTIO_NET_F_HOST_TSO4, F.VIRTIO_NET_F_HOST_TSO6,
        F.VIRTIO_NET_F_GUEST_TSO4, F.VIRTIO_NET_F_GUEST_TSO6, F.VIRTIO_NET_F_MQ, F.VHOST_USER_F_PROTOCOL_FEATURES]) {
        expect(offered & f).to.equal(f);
      }
      expect(be.device.ackedFeatures).to.equal(s.features);
    });
  });

  describe('against a hostile guest driver', () => {

    it('stops a transmitq whose descriptors loop, signals the error fd, keeps the connection', async () => {
      s.postRxBuffers(8);
      const d = s.tx.driver;
      d.writeDesc(0, s.ram.regions[1].gpa + 0x1000, 64, 1 /* NEXT */, 1);
      d.writeDesc(1, s.ram.regions[1].gpa + 0x2000, 64, 1, 0);
      d.postHead(0);
      d.publish();
      vde.eventfdWrite(s.tx.kick, 1n);
      await until(() => be.server.stats.ringErrors === 1, 3000, 'ring error');
      expect(be.log.has(/vring 1 broken: .*loop/i), be.log.lines.join('\n')).to.equal(true);
      expect(vde.eventfdRead(s.tx.err)).to.not.equal(null);
      expect(s.ram.guardsIntact()).to.equal(true);
      // the connection and the other ring still work
      expect(await s.fe.getU64(FrontReq.GET_FEATURES)).to.equal(be.device.features);
      expect(be.server.connected).to.equal(true);
    });

    it('drops a frame whose checksum offset lies beyond it and counts it', async () => {
      s.postRxBuffers(8);
      const hdr = new Uint8Array(12);
      hdr[0] = 1; // NEEDS_CSUM
      hdr[6] = 0xff; hdr[7] = 0x0f; // csum_start 4095
      s.sendFrame(arpRequest(GUEST_MAC, '10.0.2.15', '10.0.2.2'), hdr);
      await until(() => s.tx.driver.usedIdx() === 1);
      expect(be.device.stats.tx_bad_csum_offset).to.equal(1);
      expect(be.device.dev.stats.rx_errors).to.equal(1);
      await new Promise((r) => setTimeout(r, 30));
      expect(s.rx.driver.usedIdx(), 'nothing answered').to.equal(0);
    });

    it('drops a GSO frame with gso_size 0', async () => {
      s.postRxBuffers(8);
      const hdr = new Uint8Array(12);
      hdr[0] = 1;
      hdr[1] = 1; // TCPV4
      hdr[6] = 14; hdr[8] = 16; // checksum fields inside the frame, so only the GSO fields are wrong
      s.sendFrame(arpRequest(GUEST_MAC, '10.0.2.15', '10.0.2.2'), hdr);
      await until(() => s.tx.driver.usedIdx() === 1);
      expect(be.device.stats.tx_bad_gso).to.equal(1);
    });
  });
});
