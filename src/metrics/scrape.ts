// What one /metrics request sends: the domain part as last rendered (./prerender.ts), then the
// self-metrics and process metrics rendered at the request. Gzipped, the whole body is one gzip
// member (./gzip-stream.ts): the prerendered deflate segments, the live part stored, the trailer.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { crc32Combine, GZIP_HEADER, gzipTrailer, inflateSegmentSync, type Segment, storedSegment } from './gzip-stream.js';
import type { Rendered } from './snapshot-exposition.js';

/** Text inflated between two turns of the event loop: about a millisecond's work. */
const INFLATED_PER_TURN = 1024 * 1024;

/**
 * The text of segments, in order, for a client that does not take gzip (Prometheus always does):
 * only the compressed text is kept, so a plain scrape inflates it as it goes out instead of holding
 * the whole text. On the event loop, one segment at a time, given back after every megabyte or so
 * (why not on the thread pool: docs/performance.md); each segment's text is written as it is.
 */
export async function* inflate(segments: Segment[]): AsyncGenerator<Buffer> {
  let sinceTurn = 0;
  for (const segment of segments) {
    if (segment.length === 0) continue;
    const text = inflateSegmentSync(segment);
    yield text;
    sinceTurn += text.length;
    if (sinceTurn >= INFLATED_PER_TURN) {
      sinceTurn = 0;
      await nextTurn();
    }
  }
}

/**
 * A /metrics body in two parts. `prerendered` is the last complete render of the domain part:
 * gzipped, the gzip header and its deflate segments, ready to write at once; plain, its text as it
 * is inflated. `length` is its size in bytes. `live()` renders the self-metrics and process
 * metrics; gzipped, it also ends the gzip stream. The HTTP app sends `live()` after `prerendered`.
 */
export interface ScrapeBody {
  prerendered: Buffer[] | AsyncIterable<Buffer>;
  length: number;
  live: () => Promise<Buffer>;
}

/** The body for one request, from a render of the domain part and the live text (which starts with a newline). */
export function scrapeBody(domain: Rendered, gzipped: boolean, liveText: () => Promise<string>): ScrapeBody {
  const live = async () => {
    const own = Buffer.from(await liveText());
    if (!gzipped) return own;
    // A few kilobytes: stored as they are, since setting up a compressor costs more than they
    // would save. Then the end of the one gzip stream: its CRC is the domain part's and theirs.
    const stored = storedSegment(own);
    return Buffer.concat([stored.deflated, gzipTrailer(crc32Combine(domain.crc, stored.crc, stored.length), domain.length + stored.length)]);
  };
  if (!gzipped) return { prerendered: inflate(domain.segments), length: domain.length, live };
  const prerendered = [GZIP_HEADER, ...domain.segments.map((s) => s.deflated)];
  let length = 0;
  for (const part of prerendered) length += part.length;
  return { prerendered, length, live };
}
