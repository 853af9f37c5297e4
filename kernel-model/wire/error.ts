// Outcome of a checked view, as smoltcp's wire::Error: a value, never an exception.
export const WIRE_OK = 0;
/** the buffer is shorter than the header, or than a length field says */
export const WIRE_TRUNCATED = 1;
/** a field contradicts the buffer or another field (IHL < 5, UDP length < 8, option past the end) */
export const WIRE_MALFORMED = 2;
/** well formed, but of a kind this view does not handle (ARP for non-Ethernet, BOOTP without cookie) */
export const WIRE_UNRECOGNIZED = 3;
/** a checksum did not verify */
export const WIRE_CHECKSUM = 4;

export type WireError =
  | typeof WIRE_OK
  | typeof WIRE_TRUNCATED
  | typeof WIRE_MALFORMED
  | typeof WIRE_UNRECOGNIZED
  | typeof WIRE_CHECKSUM;

export function wireErrorName(e: number): string {
  switch (e) {
    case WIRE_OK: return 'ok';
    case WIRE_TRUNCATED: return 'truncated';
    case WIRE_MALFORMED: return 'malformed';
    case WIRE_UNRECOGNIZED: return 'unrecognized';
    case WIRE_CHECKSUM: return 'bad checksum';
    default: return `error ${e}`;
  }
}
