// Reads a classic pcap file (what `tcpdump -w` writes; either byte order, µs or ns timestamps): one record
// per captured frame with its original length (the skb's length when the tap saw it, so a GRO
// aggregate shows its full size) and the captured bytes (up to the snaplen).

export interface PcapRecord {
  /** seconds, with the fraction */
  time: number;
  /** the frame's length on the tap (pcap orig_len) */
  origLen: number;
  /** captured bytes, at most the snaplen */
  data: Uint8Array;
}

export interface Pcap {
  linktype: number;
  snaplen: number;
  records: PcapRecord[];
}

export function readPcap(b: Uint8Array): Pcap {
  if (b.length < 24) throw new Error(`pcap: ${b.length} bytes, shorter than the 24-byte file header`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const magicLE = dv.getUint32(0, true);
  let le: boolean;
  let nano: boolean;
  if (magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d) {
    le = true;
    nano = magicLE === 0xa1b23c4d;
  } else {
    const magicBE = dv.getUint32(0, false);
    if (magicBE !== 0xa1b2c3d4 && magicBE !== 0xa1b23c4d) throw new Error(`pcap: bad magic 0x${magicLE.toString(16)}`);
    le = false;
    nano = magicBE === 0xa1b23c4d;
  }
  const snaplen = dv.getUint32(16, le);
  const linktype = dv.getUint32(20, le);
  const records: PcapRecord[] = [];
  let o = 24;
  while (o + 16 <= b.length) {
    const sec = dv.getUint32(o, le);
    const frac = dv.getUint32(o + 4, le);
    const incl = dv.getUint32(o + 8, le);
    const orig = dv.getUint32(o + 12, le);
    if (o + 16 + incl > b.length) break; // a record cut short (capture stopped mid-write)
    records.push({ time: sec + frac / (nano ? 1e9 : 1e6), origLen: orig, data: b.slice(o + 16, o + 16 + incl) });
    o += 16 + incl;
  }
  return { linktype, snaplen, records };
}
