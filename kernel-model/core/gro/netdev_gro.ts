// Per-device GRO settings: NETIF_F_GRO (`ethtool -K <dev> gro on|off`, default on) and gro_max_size
// (`ip link set <dev> gro_max_size N`, default GRO_LEGACY_MAX_SIZE, include/linux/netdevice.h).
// Kept beside the NetDevice (a WeakMap) so the device struct stays the core's.
import type { NetDevice } from '../netdevice';
import { GRO_LEGACY_MAX_SIZE } from './gro_cb';

export class NetdevGro {
  /** NETIF_F_GRO in dev->features */
  gro = true;
  /**
   * dev->gro_max_size. BIG TCP (above 64 KiB, IPv6 jumbograms) is not modelled, so values are
   * clamped to GRO_LEGACY_MAX_SIZE.
   */
  gro_max_size = GRO_LEGACY_MAX_SIZE;
}

const settings = new WeakMap<NetDevice, NetdevGro>();

/** the device's GRO settings (created with Linux's defaults on first use) */
export function netdev_gro(dev: NetDevice): NetdevGro {
  let s = settings.get(dev);
  if (s === undefined) {
    s = new NetdevGro();
    settings.set(dev, s);
  }
  return s;
}

/** ethtool -K dev gro on|off. Packets already held are flushed at the end of the NAPI's poll, as in Linux. */
export function netif_set_gro(dev: NetDevice, on: boolean): void {
  netdev_gro(dev).gro = on;
}

/** netif_set_gro_max_size (clamped to 0..65536: BIG TCP is not modelled) */
export function netif_set_gro_max_size(dev: NetDevice, size: number): void {
  const s = Number.isFinite(size) ? Math.floor(size) : GRO_LEGACY_MAX_SIZE;
  netdev_gro(dev).gro_max_size = Math.max(0, Math.min(GRO_LEGACY_MAX_SIZE, s));
}

/** netif_elide_gro: GRO is off for this device (no XDP in the model) */
export function netif_elide_gro(dev: NetDevice): boolean {
  return !netdev_gro(dev).gro;
}
