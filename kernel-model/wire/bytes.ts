// Big-endian (network order) field access on plain byte arrays. Callers check bounds once (view check());
// these helpers do not, so they stay small enough for V8 to inline.

export function getU16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

export function getU32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

export function setU16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

export function setU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

/**
 * memcpy between two byte arrays; within one buffer it uses copyWithin. Short copies run as a loop
 * (no view object); from 64 bytes on, one short-lived subarray view buys a native memcpy, which is
 * several times faster than the loop for full-size frames. The caller has checked both ranges.
 */
export function copyBytes(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, len: number): void {
  if (dst === src) {
    dst.copyWithin(dstOff, srcOff, srcOff + len);
    return;
  }
  if (len < 64) {
    for (let i = 0; i < len; i++) dst[dstOff + i] = src[srcOff + i];
  } else {
    dst.set(src.subarray(srcOff, srcOff + len), dstOff);
  }
}

/**
 * A copy of src[start, end) in a fresh array, for bytes that must outlive the receive batch. Not
 * src.slice(): skbs view guest memory and the device's scratch area through Node Buffers, and
 * Buffer#slice returns a view of the same memory, which the guest rewrites once the batch is done.
 */
export function copyOf(src: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  copyBytes(out, 0, src, start, end - start);
  return out;
}
