// One gzip stream (a single RFC 1952 member) put together from pieces compressed separately.
//
// Many clients read only the first member of a gzip body: browsers (the WHATWG Compression Streams
// spec allows one), curl --compressed, several HTTP libraries. So /metrics must be one member even
// though its pieces are compressed at different times. Each piece is a raw deflate segment (RFC
// 1951) that ends with a sync flush: on a byte boundary, with no final block, and with no
// reference to data before it. Segments one after the other are one deflate stream; the body is
// the gzip header, the segments, an empty final block, then the CRC-32 and length of the whole
// text. The CRC of the whole is combined from each segment's CRC and length, so no segment's text
// has to be read again.
import { promisify } from 'node:util';
import { constants, crc32, deflateRaw as deflateRawCallback, deflateRawSync, inflateRaw as inflateRawCallback, inflateRawSync } from 'node:zlib';

const deflateRaw = promisify(deflateRawCallback);
const inflateRaw = promisify(inflateRawCallback);

/** A piece of text as raw deflate data ending on a byte boundary, with its text's CRC-32 and length. */
export interface Segment {
  deflated: Buffer;
  crc: number;
  length: number;
}

/** ID1 ID2, CM = deflate, no flags, no MTIME, no XFL, OS = unknown. */
export const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);

/**
 * zlib writes its output into buffers of this size (16 KiB by default, then joined): one buffer
 * large enough for a block's deflate is garbage once, and glibc gives it its own mapping, returned
 * to the system when it is collected, instead of a place in its heap between long-lived buffers.
 */
const OUTPUT_CHUNK = 256 * 1024;
/** Ends the data with a sync flush (an empty stored block) instead of a final block. */
const SEGMENT_OPTIONS = { finishFlush: constants.Z_SYNC_FLUSH, chunkSize: OUTPUT_CHUNK };

export const EMPTY_SEGMENT: Segment = { deflated: Buffer.alloc(0), crc: 0, length: 0 };

/** Compresses a text on libuv's thread pool. */
export async function deflateSegment(text: Buffer | string): Promise<Segment> {
  const data = typeof text === 'string' ? Buffer.from(text) : text;
  if (data.length === 0) return EMPTY_SEGMENT;
  return { deflated: await deflateRaw(data, SEGMENT_OPTIONS), crc: crc32(data), length: data.length };
}

/** The same at once, for a few bytes known at start-up. */
export function deflateSegmentSync(text: string): Segment {
  const data = Buffer.from(text);
  return { deflated: deflateRawSync(data, SEGMENT_OPTIONS), crc: crc32(data), length: data.length };
}

/** A stored block holds at most 65,535 bytes. */
const STORED_BLOCK = 0xffff;

/**
 * A text as stored (uncompressed) deflate blocks, none of them final: a copy and a CRC, no
 * compressor. For the few kilobytes of self-metrics at the end of every gzip scrape, where
 * setting up zlib costs more than the bytes it would save.
 */
export function storedSegment(data: Buffer): Segment {
  const blocks = Math.ceil(data.length / STORED_BLOCK);
  const out = Buffer.allocUnsafe(blocks * 5 + data.length);
  let at = 0;
  for (let i = 0; i < blocks; i++) {
    const start = i * STORED_BLOCK;
    const length = Math.min(STORED_BLOCK, data.length - start);
    // BFINAL 0, BTYPE 00 (stored), then up to the byte boundary; LEN and its one's complement, little-endian.
    out[at++] = 0;
    at = out.writeUInt16LE(length, at);
    at = out.writeUInt16LE(~length & 0xffff, at);
    at += data.copy(out, at, start, start + length);
  }
  return { deflated: out, crc: crc32(data), length: data.length };
}

/** Into one buffer of the text's known size (no pieces joined); a segment has no final block, so the end of its data is not an error. */
const inflateOptions = (segment: Segment) => ({ finishFlush: constants.Z_SYNC_FLUSH, chunkSize: Math.max(64, segment.length) });

/** The text of one segment, inflated on libuv's thread pool. */
export function inflateSegment(segment: Segment): Promise<Buffer> {
  if (segment.length === 0) return Promise.resolve(Buffer.alloc(0));
  return inflateRaw(segment.deflated, inflateOptions(segment));
}

/** The same at once: about a millisecond per megabyte of text. */
export function inflateSegmentSync(segment: Segment): Buffer {
  return segment.length === 0 ? Buffer.alloc(0) : inflateRawSync(segment.deflated, inflateOptions(segment));
}

/** The CRC-32 polynomial, bit-reversed (x^0 is the highest bit), as zlib and gzip use it. */
const POLY = 0xedb88320;
const ONE = 0x80000000;

/** a(x) * b(x) modulo the CRC-32 polynomial, both in the bit-reversed order. */
function multiply(a: number, b: number): number {
  let product = 0;
  let factor = b;
  for (let bit = ONE; bit !== 0; bit >>>= 1) {
    if ((a & bit) !== 0) product ^= factor;
    factor = factor & 1 ? (factor >>> 1) ^ POLY : factor >>> 1;
  }
  return product >>> 0;
}

/** x^(2^k) modulo the polynomial, k = 0..31; x^(2^32) is x again (x's order divides 2^32 - 1). */
const SQUARES: number[] = [ONE >>> 1];
for (let k = 1; k < 32; k++) SQUARES.push(multiply(SQUARES[k - 1] as number, SQUARES[k - 1] as number));

/** x^(8 * bytes) modulo the polynomial: what a CRC is multiplied by when that many bytes follow. */
function shiftFor(bytes: number): number {
  let result = ONE;
  let n = bytes;
  // 8 = 2^3: bit i of n stands for x^(2^(i + 3)).
  for (let k = 3; n > 0; k++, n = Math.floor(n / 2)) if (n % 2 === 1) result = multiply(SQUARES[k % 32] as number, result);
  return result;
}

/** The CRC-32 of text A followed by text B, from A's CRC, B's CRC and B's length. */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  return (multiply(shiftFor(lengthB), crcA) ^ crcB) >>> 0;
}

/** The CRC-32 and length of segments' texts one after the other. */
export function combine(segments: readonly Segment[]): { crc: number; length: number } {
  let crc = 0;
  let length = 0;
  for (const s of segments) {
    if (s.length === 0) continue;
    crc = crc32Combine(crc, s.crc, s.length);
    length += s.length;
  }
  return { crc, length };
}

/** An empty final block (fixed Huffman, end of block), then the whole text's CRC-32 and length modulo 2^32. */
export function gzipTrailer(crc: number, length: number): Buffer {
  const out = Buffer.alloc(10);
  out[0] = 0x03;
  out[1] = 0x00;
  out.writeUInt32LE(crc >>> 0, 2);
  out.writeUInt32LE(length % 2 ** 32, 6);
  return out;
}
