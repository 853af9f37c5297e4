// The feature set skbnet's virtio-net offers over vhost-user (reference vhost-user.md §4.6).
// Offloads are offered only where the model honours them.
import * as F from '../virtio/features';
import { PROTOCOL_F_MQ, PROTOCOL_F_REPLY_ACK } from '../vhost-user/protocol';

const bit = (n: bigint | number): bigint => 1n << BigInt(n);

export const OFFERED_FEATURES =
  F.VIRTIO_F_VERSION_1 |
  F.VHOST_USER_F_PROTOCOL_FEATURES |
  F.VIRTIO_NET_F_MRG_RXBUF |
  F.VIRTIO_NET_F_CSUM |
  F.VIRTIO_NET_F_GUEST_CSUM |
  F.VIRTIO_NET_F_HOST_TSO4 |
  F.VIRTIO_NET_F_HOST_TSO6 |
  F.VIRTIO_NET_F_GUEST_TSO4 |
  F.VIRTIO_NET_F_GUEST_TSO6 |
  F.VIRTIO_NET_F_GUEST_ANNOUNCE |
  F.VIRTIO_NET_F_MQ |
  F.VIRTIO_RING_F_EVENT_IDX |
  F.VIRTIO_RING_F_INDIRECT_DESC;

// CONFIGURE_MEM_SLOTS is not offered: QEMU 7.2 sends duplicate ADD_MEM_REG per queue pair (pitfall 4)
// and 8 regions are plenty for a NIC. LOG_SHMFD is not offered until dirty logging exists.
export const OFFERED_PROTOCOL_FEATURES = bit(PROTOCOL_F_MQ) | bit(PROTOCOL_F_REPLY_ACK);
