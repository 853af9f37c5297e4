// struct virtio_net_hdr_v1 (Linux include/uapi/linux/virtio_net.h): 12 bytes, little-endian, in front of
// every frame on both queues with VERSION_1 (vhost-user.md §4.4). Zero-copy helpers over (bytes, offset):
// the caller guarantees 12 contiguous bytes (with ANY_LAYOUT the header may be split across descriptors;
// gather it into a scratch buffer first in that case).

export const VIRTIO_NET_HDR_V1_LEN = 12;
/** alias: the header size the device uses (always the v1 size with VERSION_1) */
export const VIRTIO_NET_HDR_SIZE = VIRTIO_NET_HDR_V1_LEN;

/** field offsets */
export const HDR_FLAGS = 0; // u8
export const HDR_GSO_TYPE = 1; // u8
export const HDR_HDR_LEN = 2; // u16
export const HDR_GSO_SIZE = 4; // u16
export const HDR_CSUM_START = 6; // u16
export const HDR_CSUM_OFFSET = 8; // u16
export const HDR_NUM_BUFFERS = 10; // u16

/** flags */
export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
export const VIRTIO_NET_HDR_F_DATA_VALID = 2;
export const VIRTIO_NET_HDR_F_RSC_INFO = 4;

/** gso_type */
export const VIRTIO_NET_HDR_GSO_NONE = 0;
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
export const VIRTIO_NET_HDR_GSO_UDP = 3;
export const VIRTIO_NET_HDR_GSO_TCPV6 = 4;
export const VIRTIO_NET_HDR_GSO_UDP_L4 = 5;
export const VIRTIO_NET_HDR_GSO_ECN = 0x80;

function rd16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}
function wr16(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}

export const hdrFlags = (b: Uint8Array, o: number): number => b[o + HDR_FLAGS];
export const hdrGsoType = (b: Uint8Array, o: number): number => b[o + HDR_GSO_TYPE];
export const hdrHdrLen = (b: Uint8Array, o: number): number => rd16(b, o + HDR_HDR_LEN);
export const hdrGsoSize = (b: Uint8Array, o: number): number => rd16(b, o + HDR_GSO_SIZE);
export const hdrCsumStart = (b: Uint8Array, o: number): number => rd16(b, o + HDR_CSUM_START);
export const hdrCsumOffset = (b: Uint8Array, o: number): number => rd16(b, o + HDR_CSUM_OFFSET);
export const hdrNumBuffers = (b: Uint8Array, o: number): number => rd16(b, o + HDR_NUM_BUFFERS);

export function setHdrFlags(b: Uint8Array, o: number, v: number): void { b[o + HDR_FLAGS] = v; }
export function setHdrGsoType(b: Uint8Array, o: number, v: number): void { b[o + HDR_GSO_TYPE] = v; }
export function setHdrHdrLen(b: Uint8Array, o: number, v: number): void { wr16(b, o + HDR_HDR_LEN, v); }
export function setHdrGsoSize(b: Uint8Array, o: number, v: number): void { wr16(b, o + HDR_GSO_SIZE, v); }
export function setHdrCsumStart(b: Uint8Array, o: number, v: number): void { wr16(b, o + HDR_CSUM_START, v); }
export function setHdrCsumOffset(b: Uint8Array, o: number, v: number): void { wr16(b, o + HDR_CSUM_OFFSET, v); }
export function setHdrNumBuffers(b: Uint8Array, o: number, v: number): void { wr16(b, o + HDR_NUM_BUFFERS, v); }

/** The parsed header (smoltcp-style Repr). Reuse one instance: parse() overwrites every field. */
export class VirtioNetHdr {
  flags = 0;
  gsoType = VIRTIO_NET_HDR_GSO_NONE;
  hdrLen = 0;
  gsoSize = 0;
  csumStart = 0;
  csumOffset = 0;
  numBuffers = 0;

  parse(b: Uint8Array, o: number): this {
    this.flags = b[o + HDR_FLAGS];
    this.gsoType = b[o + HDR_GSO_TYPE];
    this.hdrLen = rd16(b, o + HDR_HDR_LEN);
    this.gsoSize = rd16(b, o + HDR_GSO_SIZE);
    this.csumStart = rd16(b, o + HDR_CSUM_START);
    this.csumOffset = rd16(b, o + HDR_CSUM_OFFSET);
    this.numBuffers = rd16(b, o + HDR_NUM_BUFFERS);
    return this;
  }

  emit(b: Uint8Array, o: number): void {
    b[o + HDR_FLAGS] = this.flags;
    b[o + HDR_GSO_TYPE] = this.gsoType;
    wr16(b, o + HDR_HDR_LEN, this.hdrLen);
    wr16(b, o + HDR_GSO_SIZE, this.gsoSize);
    wr16(b, o + HDR_CSUM_START, this.csumStart);
    wr16(b, o + HDR_CSUM_OFFSET, this.csumOffset);
    wr16(b, o + HDR_NUM_BUFFERS, this.numBuffers);
  }

  clear(): this {
    this.flags = 0;
    this.gsoType = VIRTIO_NET_HDR_GSO_NONE;
    this.hdrLen = 0;
    this.gsoSize = 0;
    this.csumStart = 0;
    this.csumOffset = 0;
    this.numBuffers = 0;
    return this;
  }
}

/** Write an all-zero header (no offload, num_buffers 0) — the common RX case before num_buffers is known. */
export function clearVirtioNetHdr(b: Uint8Array, o: number): void {
  b.fill(0, o, o + VIRTIO_NET_HDR_V1_LEN);
}
