// Virtio, virtio-net and vhost feature bits. Names are Linux's (include/uapi/linux/virtio_config.h,
// virtio_ring.h, virtio_net.h, vhost.h) and QEMU's for the vhost-user bit 30.
// NOTE: Linux defines these as bit NUMBERS; here each name is the MASK (1n << bit) as a bigint, so that
// `features & VIRTIO_F_VERSION_1` reads naturally. FEATURE_NAMES maps bit numbers to short names.

const bit = (n: number): bigint => 1n << BigInt(n);

// Device-independent (virtio_config.h, virtio_ring.h)
export const VIRTIO_F_NOTIFY_ON_EMPTY = bit(24);
export const VIRTIO_F_ANY_LAYOUT = bit(27);
export const VIRTIO_RING_F_INDIRECT_DESC = bit(28);
export const VIRTIO_RING_F_EVENT_IDX = bit(29);
export const VIRTIO_F_VERSION_1 = bit(32);
/** called VIRTIO_F_IOMMU_PLATFORM in older headers and in the vhost-user spec */
export const VIRTIO_F_ACCESS_PLATFORM = bit(33);
export const VIRTIO_F_RING_PACKED = bit(34);
export const VIRTIO_F_IN_ORDER = bit(35);
export const VIRTIO_F_ORDER_PLATFORM = bit(36);
export const VIRTIO_F_SR_IOV = bit(37);
export const VIRTIO_F_NOTIFICATION_DATA = bit(38);
export const VIRTIO_F_NOTIF_CONFIG_DATA = bit(39);
export const VIRTIO_F_RING_RESET = bit(40);

// vhost (vhost.h) and vhost-user (QEMU hw/virtio/vhost-user.c)
export const VHOST_F_LOG_ALL = bit(26);
export const VHOST_USER_F_PROTOCOL_FEATURES = bit(30);

// virtio-net (virtio_net.h)
export const VIRTIO_NET_F_CSUM = bit(0);
export const VIRTIO_NET_F_GUEST_CSUM = bit(1);
export const VIRTIO_NET_F_CTRL_GUEST_OFFLOADS = bit(2);
export const VIRTIO_NET_F_MTU = bit(3);
export const VIRTIO_NET_F_MAC = bit(5);
export const VIRTIO_NET_F_GSO = bit(6);
export const VIRTIO_NET_F_GUEST_TSO4 = bit(7);
export const VIRTIO_NET_F_GUEST_TSO6 = bit(8);
export const VIRTIO_NET_F_GUEST_ECN = bit(9);
export const VIRTIO_NET_F_GUEST_UFO = bit(10);
export const VIRTIO_NET_F_HOST_TSO4 = bit(11);
export const VIRTIO_NET_F_HOST_TSO6 = bit(12);
export const VIRTIO_NET_F_HOST_ECN = bit(13);
export const VIRTIO_NET_F_HOST_UFO = bit(14);
export const VIRTIO_NET_F_MRG_RXBUF = bit(15);
export const VIRTIO_NET_F_STATUS = bit(16);
export const VIRTIO_NET_F_CTRL_VQ = bit(17);
export const VIRTIO_NET_F_CTRL_RX = bit(18);
export const VIRTIO_NET_F_CTRL_VLAN = bit(19);
export const VIRTIO_NET_F_CTRL_RX_EXTRA = bit(20);
export const VIRTIO_NET_F_GUEST_ANNOUNCE = bit(21);
export const VIRTIO_NET_F_MQ = bit(22);
export const VIRTIO_NET_F_CTRL_MAC_ADDR = bit(23);
export const VIRTIO_NET_F_DEVICE_STATS = bit(50);
export const VIRTIO_NET_F_VQ_NOTF_COAL = bit(52);
export const VIRTIO_NET_F_NOTF_COAL = bit(53);
export const VIRTIO_NET_F_GUEST_USO4 = bit(54);
export const VIRTIO_NET_F_GUEST_USO6 = bit(55);
export const VIRTIO_NET_F_HOST_USO = bit(56);
export const VIRTIO_NET_F_HASH_REPORT = bit(57);
export const VIRTIO_NET_F_GUEST_HDRLEN = bit(59);
export const VIRTIO_NET_F_RSS = bit(60);
export const VIRTIO_NET_F_RSC_EXT = bit(61);
export const VIRTIO_NET_F_STANDBY = bit(62);
export const VIRTIO_NET_F_SPEED_DUPLEX = bit(63);

/** bit number → name, for logging (virtio-net view of the 64-bit feature word) */
export const FEATURE_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'CSUM'], [1, 'GUEST_CSUM'], [2, 'CTRL_GUEST_OFFLOADS'], [3, 'MTU'], [5, 'MAC'], [6, 'GSO'],
  [7, 'GUEST_TSO4'], [8, 'GUEST_TSO6'], [9, 'GUEST_ECN'], [10, 'GUEST_UFO'], [11, 'HOST_TSO4'],
  [12, 'HOST_TSO6'], [13, 'HOST_ECN'], [14, 'HOST_UFO'], [15, 'MRG_RXBUF'], [16, 'STATUS'],
  [17, 'CTRL_VQ'], [18, 'CTRL_RX'], [19, 'CTRL_VLAN'], [20, 'CTRL_RX_EXTRA'], [21, 'GUEST_ANNOUNCE'],
  [22, 'MQ'], [23, 'CTRL_MAC_ADDR'], [24, 'NOTIFY_ON_EMPTY'], [26, 'LOG_ALL'], [27, 'ANY_LAYOUT'],
  [28, 'RING_INDIRECT_DESC'], [29, 'RING_EVENT_IDX'], [30, 'PROTOCOL_FEATURES'], [32, 'VERSION_1'],
  [33, 'ACCESS_PLATFORM'], [34, 'RING_PACKED'], [35, 'IN_ORDER'], [36, 'ORDER_PLATFORM'], [37, 'SR_IOV'],
  [38, 'NOTIFICATION_DATA'], [39, 'NOTIF_CONFIG_DATA'], [40, 'RING_RESET'], [50, 'DEVICE_STATS'],
  [52, 'VQ_NOTF_COAL'], [53, 'NOTF_COAL'], [54, 'GUEST_USO4'], [55, 'GUEST_USO6'], [56, 'HOST_USO'],
  [57, 'HASH_REPORT'], [59, 'GUEST_HDRLEN'], [60, 'RSS'], [61, 'RSC_EXT'], [62, 'STANDBY'],
  [63, 'SPEED_DUPLEX'],
]);

/** Names of the set bits, lowest first; unknown bits as `bit42`. Only bits 0-63 are considered. */
export function featureNames(bits: bigint): string[] {
  const out: string[] = [];
  for (let i = 0; i < 64; i++) {
    if ((bits >> BigInt(i)) & 1n) out.push(FEATURE_NAMES.get(i) ?? `bit${i}`);
  }
  return out;
}

/** `0x140008000 (MRG_RXBUF|PROTOCOL_FEATURES|VERSION_1)` — for log lines */
export function formatFeatures(bits: bigint): string {
  return `0x${bits.toString(16)} (${featureNames(bits).join('|')})`;
}
