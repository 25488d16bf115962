// The self-metrics' gzip member: what gunzip (and Prometheus) reads back is the input, byte for
// byte, at every size around a stored block's 65,535-byte limit, alone or after a compressed member.
import { randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { storedGzip } from '../../src/metrics/stored-gzip.js';

describe('storedGzip', () => {
  it.each([0, 1, 13_000, 65_534, 65_535, 65_536, 65_535 * 3 + 7])('round-trips %i bytes', (size) => {
    const data = randomBytes(size);
    const member = storedGzip(data);
    expect(gunzipSync(member).equals(data)).toBe(true);
    // Header, 5 bytes per block, the data, CRC and size: nothing compressed.
    expect(member.length).toBe(10 + Math.max(1, Math.ceil(size / 65_535)) * 5 + size + 8);
  });

  it('reads back after a compressed member, as a scrape body joins them', () => {
    const domain = Buffer.from('a 1\n'.repeat(1000));
    const own = Buffer.from('\nb 2\n');
    expect(gunzipSync(Buffer.concat([gzipSync(domain), storedGzip(own)])).toString()).toBe(`${domain}${own}`);
  });

  it('carries a CRC that gunzip checks', () => {
    const member = storedGzip(Buffer.from('x 1\n'));
    member.writeUInt8(member.readUInt8(15) ^ 1, 15);
    expect(() => gunzipSync(member)).toThrow(/incorrect data check/);
  });
});
