// /metrics is one gzip member put together from pieces compressed at different times. What a
// client that reads only the first member (browsers, curl --compressed) gets must be the whole
// text, byte for byte, and the CRC gunzip checks must be the whole text's.
import { randomBytes } from 'node:crypto';
import { crc32, gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  combine,
  crc32Combine,
  deflateSegment,
  deflateSegmentSync,
  GZIP_HEADER,
  gzipTrailer,
  inflateSegment,
  inflateSegmentSync,
  type Segment,
  storedSegment,
} from '../../src/metrics/gzip-stream.js';
import { firstMember } from '../helpers/gzip.js';

const body = (segments: Segment[]) => {
  const { crc, length } = combine(segments);
  return Buffer.concat([GZIP_HEADER, ...segments.map((s) => s.deflated), gzipTrailer(crc, length)]);
};

describe('crc32Combine', () => {
  it.each([
    [0, 0],
    [0, 5],
    [5, 0],
    [1, 1],
    [100, 65_535],
    [70_000, 1_000_003],
  ])('equals the CRC of %i bytes followed by %i bytes', (a, b) => {
    const first = randomBytes(a);
    const second = randomBytes(b);
    expect(crc32Combine(crc32(first), crc32(second), second.length)).toBe(crc32(Buffer.concat([first, second])));
  });
});

describe('one gzip stream from segments', () => {
  it('is a single member holding the whole text: compressed, stored and empty segments, around the stored block limit', async () => {
    const texts = [
      Buffer.from('# HELP a An a.\n# TYPE a gauge\n'),
      Buffer.from('a{x="1"} 1\n'.repeat(20_000)),
      Buffer.alloc(0),
      randomBytes(65_535),
      randomBytes(65_536),
      Buffer.from('\nb 2\n'),
    ];
    const segments = [
      deflateSegmentSync(texts[0]?.toString() as string),
      await deflateSegment(texts[1] as Buffer),
      await deflateSegment(texts[2] as Buffer),
      storedSegment(texts[3] as Buffer),
      await deflateSegment(texts[4] as Buffer),
      storedSegment(texts[5] as Buffer),
    ];
    const gzip = body(segments);
    const whole = Buffer.concat(texts);
    expect(gunzipSync(gzip).equals(whole)).toBe(true);
    // Nothing after the one deflate stream but its CRC and length: a one-member reader gets it all.
    const first = firstMember(gzip);
    expect(first.text.equals(whole)).toBe(true);
    expect(first.after).toBe(8);
    // The compressible part was compressed.
    expect((segments[1] as Segment).deflated.length).toBeLessThan((texts[1] as Buffer).length / 50);
  });

  it.each([0, 1, 13_000, 65_534, 65_535, 65_536, 65_535 * 3 + 7])('stores %i bytes as they are, in blocks of at most 65,535', async (size) => {
    const data = randomBytes(size);
    const segment = storedSegment(data);
    expect((await inflateSegment(segment)).equals(data)).toBe(true);
    expect(gunzipSync(body([segment])).equals(data)).toBe(true);
    // 5 bytes per block, then the data: nothing compressed.
    expect(segment.deflated.length).toBe(Math.ceil(size / 65_535) * 5 + size);
  });

  it('reads each segment back on its own', async () => {
    const text = Buffer.from('c{y="2"} 3\n'.repeat(5_000));
    expect((await inflateSegment(await deflateSegment(text))).equals(text)).toBe(true);
    expect((await inflateSegment(storedSegment(text))).equals(text)).toBe(true);
    expect((await inflateSegment(await deflateSegment(''))).length).toBe(0);
    expect(inflateSegmentSync(await deflateSegment(text)).equals(text)).toBe(true);
    expect(inflateSegmentSync(storedSegment(text)).equals(text)).toBe(true);
  });

  it('carries the CRC that gunzip checks', async () => {
    const gzip = body([await deflateSegment('x 1\n'), storedSegment(Buffer.from('y 2\n'))]);
    expect(gunzipSync(gzip).toString()).toBe('x 1\ny 2\n');
    gzip.writeUInt8(gzip.readUInt8(gzip.length - 8) ^ 1, gzip.length - 8);
    expect(() => gunzipSync(gzip)).toThrow(/incorrect data check/);
  });
});
