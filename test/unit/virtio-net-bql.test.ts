// The virtio-net device's BQL reporting: bytes it writes into the guest's receiveq are queued
// (netdev_tx_sent_queue) and complete when it publishes the used ring (netdev_tx_completed_queue);
// stopping the ring resets the queue. Test-side front-end over real shared memory.
import { expect } from 'chai';
import { BackendUnderTest } from '../support/backend-under-test';
import { VirtioNetSession, until } from '../support/vhost-user-session';
import { GATEWAY_MAC, GUEST_MAC, arpRequest, icmpEcho } from '../support/frames';
import { __QUEUE_STATE_STACK_XOFF } from '../../kernel-model/core/netdevice';

describe('virtio-net device: BQL accounting of the receiveq', () => {
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

  it('queues the bytes of every frame it fills and completes them when used.idx is published', async () => {
    const txq = be.device.dev.netdev_get_tx_queue(0);
    s.postRxBuffers(64);
    s.sendFrame(arpRequest(GUEST_MAC, '10.0.2.15', '10.0.2.2'));
    await until(() => s.rx.driver.usedIdx() === 1, 3000, 'the ARP reply');
    s.receivedBuffers();
    const payload = new Uint8Array(56);
    for (let seq = 1; seq <= 10; seq++) s.sendFrame(icmpEcho(GUEST_MAC, GATEWAY_MAC, '10.0.2.15', '10.0.2.2', 9, seq, payload));
    await until(() => s.rx.driver.usedIdx() === 11, 3000, '10 echo replies');
    const replies = s.receivedBuffers();
    const bytes = 42 + replies.reduce((n, b) => n + b.length - 12, 0);
    expect(bytes).to.equal(42 + 10 * (14 + 20 + 8 + 56));
    const dql = txq.dql;
    expect(dql.num_queued, 'dql_queued: frame bytes').to.equal(bytes);
    expect(dql.num_completed, 'all published').to.equal(bytes);
    expect(dql.inflight).to.equal(0);
    // each reply was published on its own (xmit_more false) after going over the limit: starved → grows
    expect(dql.limit).to.be.greaterThan(0);
    expect(txq.state & __QUEUE_STATE_STACK_XOFF).to.equal(0);
    expect(be.device.dev.stats.tx_bytes).to.equal(bytes);
  });

  it('a frame waiting for receive buffers is not in flight; stopping the ring resets the queue', async () => {
    const txq = be.device.dev.netdev_get_tx_queue(0);
    s.sendFrame(arpRequest(GUEST_MAC, '10.0.2.15', '10.0.2.2'));
    await until(() => s.tx.driver.usedIdx() === 1, 3000, 'transmit completion');
    expect(txq.dql.num_queued, 'nothing written to the guest yet').to.equal(0);
    s.postRxBuffers(4);
    await until(() => s.rx.driver.usedIdx() === 1, 3000, 'the queued reply');
    expect([txq.dql.num_queued, txq.dql.num_completed]).to.deep.equal([42, 42]);
    expect(txq.dql.limit).to.equal(42);
    await s.getVringBase(0); // GET_VRING_BASE stops the receiveq
    expect([txq.dql.num_queued, txq.dql.limit]).to.deep.equal([0, 0]);
  });
});
