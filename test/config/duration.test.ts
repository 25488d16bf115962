import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/config/duration.js';

describe('durations', () => {
  it('format back to what parses to the same milliseconds', () => {
    for (const text of ['30s', '1m30s', '1h30m', '500ms', '1d', '2w3d']) expect(formatDuration(parseDuration(text) as number)).toBe(text);
  });

  it('format with a largest unit (HELP texts) and for people (at most two units)', () => {
    const year = 366 * 86_400_000;
    expect(formatDuration(year)).toBe('52w2d');
    expect(formatDuration(year, { largest: 'h' })).toBe('8784h');
    expect(formatDuration(3_725_000, { largest: 'h', parts: 2, separator: ' ' })).toBe('1h 2m');
    expect(formatDuration(60_000, { largest: 'h', parts: 2, separator: ' ' })).toBe('1m');
    expect(formatDuration(0, { parts: 2 })).toBe('0s');
  });
});
