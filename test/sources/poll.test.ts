import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { createPollReporter } from '../../src/sources/poll.js';

describe('poll reporter', () => {
  it('logs a failure once, repeats at debug, and says when the poll recovers', () => {
    const lines: { level: string; msg: string; err?: string }[] = [];
    const log = createLogger({ level: 'debug', format: 'json', destination: { write: (s: string) => void lines.push(JSON.parse(s)) } as never });
    const reporter = createPollReporter(log);
    const denied = new Error(
      'cloudflare GET /client/v4/accounts/a/cfd_tunnel (HTTP 403): access denied: the credential is invalid, or lacks the "Cloudflare Tunnel Read" permission',
    );
    reporter.failed('tunnels', 'a', denied);
    reporter.failed('tunnels', 'a', denied);
    reporter.failed('tunnels', 'a', denied);
    reporter.succeeded('tunnels', 'a');
    reporter.succeeded('tunnels', 'a');
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['error', 'poll failed: keeping the previous data until it is too old'],
      ['debug', 'poll failed again'],
      ['debug', 'poll failed again'],
      ['info', 'poll recovered'],
    ]);
    expect(lines[0]?.err).toContain('lacks the "Cloudflare Tunnel Read" permission');
  });
});
