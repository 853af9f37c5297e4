// The last step of QEMU 7.2's start (vhost_user_dev_start, reference vhost-user.md §2.4): when the back-end
// offers VHOST_USER_PROTOCOL_F_STATUS, QEMU reads the status and sets ACKNOWLEDGE|DRIVER|FEATURES_OK|
// DRIVER_OK. test/support's VirtioNetSession stops before it (skbnet does not offer STATUS); back-ends that
// do (DPDK's vhost library) do not start their rings without it.
import type { VirtioNetSession } from '../support/vhost-user-session';

const VHOST_USER_GET_PROTOCOL_FEATURES = 15;
const VHOST_USER_SET_STATUS = 39;
const VHOST_USER_GET_STATUS = 40;
const VHOST_USER_PROTOCOL_F_STATUS = 16n;
/** VIRTIO_CONFIG_S_ACKNOWLEDGE | DRIVER | DRIVER_OK | FEATURES_OK */
const STATUS_RUNNING = 0x1n | 0x2n | 0x4n | 0x8n;

/** returns true when it had to set the status */
export async function setDriverOk(session: VirtioNetSession): Promise<boolean> {
  const pf = await session.fe.getU64(VHOST_USER_GET_PROTOCOL_FEATURES);
  if ((pf & (1n << VHOST_USER_PROTOCOL_F_STATUS)) === 0n) return false;
  const status = await session.fe.getU64(VHOST_USER_GET_STATUS);
  session.fe.setU64(VHOST_USER_SET_STATUS, status | STATUS_RUNNING);
  await session.fe.getU64(VHOST_USER_GET_STATUS); // round trip: the status is applied
  return true;
}
