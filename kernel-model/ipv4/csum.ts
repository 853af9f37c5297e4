// Receive checksum state (include/linux/skbuff.h) as the transport protocols consult it.
import { CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, type Skb } from '../core/skb';

/**
 * skb_csum_unnecessary: the device already validated the transport checksum (CHECKSUM_UNNECESSARY,
 * virtio's DATA_VALID), or the sender left it to be filled by offload (CHECKSUM_PARTIAL, virtio's
 * NEEDS_CSUM: the field holds only the pseudo-header sum). Either way there is nothing to verify.
 */
export function skb_csum_unnecessary(skb: Skb): boolean {
  return skb.ip_summed === CHECKSUM_UNNECESSARY || (skb.ip_summed === CHECKSUM_PARTIAL && skb.csum_start >= 0);
}
