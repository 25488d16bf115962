import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { createPollReporter } from '../../src/sources/poll.js';

interface Line {
  level: string;
  msg: string;
  err?: string;
  items?: number;
  duration_ms?: number;
  failures?: number;
  failing_for?: string;
}
const outcome = { ok: true, at: 0, durationSeconds: 0.25 };

describe('poll reporter', () => {
  it('logs a failure once, repeats at debug, and says when the poll recovers', () => {
    const lines: Line[] = [];
    const log = createLogger({ level: 'debug', format: 'json', destination: { write: (s: string) => void lines.push(JSON.parse(s)) } as never });
    const reporter = createPollReporter(log, () => 0);
    const denied = new Error(
      'cloudflare GET /client/v4/accounts/a/cfd_tunnel (HTTP 403): access denied: the credential is invalid, or lacks the "Cloudflare Tunnel Read" permission',
    );
    reporter.failed('tunnels', 'a', denied);
    reporter.failed('tunnels', 'a', denied);
    reporter.failed('tunnels', 'a', denied);
    reporter.succeeded('tunnels', 'a', outcome, 3);
    reporter.succeeded('tunnels', 'a', outcome, 3);
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['error', 'poll failed: keeping the previous data until it is too old'],
      ['debug', 'poll failed again'],
      ['debug', 'poll failed again'],
      ['info', 'poll recovered'],
      ['debug', 'poll succeeded'],
      ['debug', 'poll succeeded'],
    ]);
    expect(lines[0]?.err).toContain('lacks the "Cloudflare Tunnel Read" permission');
  });

  it('logs a successful poll at debug with what it read and how long it took', () => {
    const lines: Line[] = [];
    const log = createLogger({ level: 'debug', format: 'json', destination: { write: (s: string) => void lines.push(JSON.parse(s)) } as never });
    createPollReporter(log, () => 0).succeeded('gateway_proxy_endpoints', 'acc', outcome, 7);
    expect(lines).toMatchObject([{ level: 'debug', msg: 'poll succeeded', collector: 'gateway_proxy_endpoints', scope: 'acc', items: 7, duration_ms: 250 }]);
  });

  it('says again at warn, every five minutes, that a source keeps failing, with how long and how often', () => {
    const lines: Line[] = [];
    const log = createLogger({ level: 'info', format: 'json', destination: { write: (s: string) => void lines.push(JSON.parse(s)) } as never });
    let now = 0;
    const reporter = createPollReporter(log, () => now);
    const down = new Error('cloudflare GET /client/v4/accounts/a/cfd_tunnel: connect ECONNREFUSED');
    // A poll every 30 s for 11 minutes.
    for (; now <= 660_000; now += 30_000) reporter.failed('tunnels', 'a', down);
    expect(lines.map((l) => [l.level, l.msg, l.failing_for, l.failures])).toEqual([
      ['error', 'poll failed: keeping the previous data until it is too old', undefined, undefined],
      ['warn', 'poll still failing', '5m', 11],
      ['warn', 'poll still failing', '10m', 21],
    ]);
  });
});
