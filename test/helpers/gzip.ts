import { inflateRawSync } from 'node:zlib';
import { expect } from 'vitest';

/** The gzip header this exporter writes (no name, no extra fields): 10 bytes. */
const HEADER = 10;

/**
 * What a client that reads only the first gzip member gets (browsers, curl --compressed): the text
 * of the deflate stream after the header, and how many bytes follow that stream (8 in a body that
 * is one member: its CRC and length).
 */
export function firstMember(gzip: Buffer): { text: Buffer; after: number } {
  expect(gzip.subarray(0, 3)).toEqual(Buffer.from([0x1f, 0x8b, 8]));
  expect(gzip[3]).toBe(0);
  const { buffer, engine } = inflateRawSync(gzip.subarray(HEADER), { info: true }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
  return { text: buffer, after: gzip.length - HEADER - engine.bytesWritten };
}
