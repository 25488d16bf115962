// A gzip member (RFC 1952) that stores its data uncompressed (deflate "stored" blocks, RFC 1951
// section 3.2.4): a copy and a CRC, no compressor. For the few kilobytes of self-metrics appended to
// every gzip scrape, where zlib's set-up costs more than the bytes it would save.
import { crc32 } from 'node:zlib';

/** A stored deflate block holds at most 65,535 bytes. */
const BLOCK = 0xffff;
/** ID1 ID2, CM = deflate, no flags, no MTIME, no XFL, OS = unknown. */
const HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);

export function storedGzip(data: Buffer): Buffer {
  const blocks = Math.max(1, Math.ceil(data.length / BLOCK));
  const out = Buffer.allocUnsafe(HEADER.length + blocks * 5 + data.length + 8);
  let at = HEADER.copy(out, 0);
  for (let i = 0; i < blocks; i++) {
    const start = i * BLOCK;
    const length = Math.min(BLOCK, data.length - start);
    // BFINAL on the last block, BTYPE 00 (stored); then LEN and its one's complement, little-endian.
    out[at++] = i === blocks - 1 ? 1 : 0;
    at = out.writeUInt16LE(length, at);
    at = out.writeUInt16LE(~length & 0xffff, at);
    at += data.copy(out, at, start, start + length);
  }
  at = out.writeUInt32LE(crc32(data), at);
  // ISIZE: the input's length modulo 2^32.
  out.writeUInt32LE(data.length % 2 ** 32, at);
  return out;
}
