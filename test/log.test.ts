import { describe, expect, it } from 'vitest';
import { createLogger, toLogfmt } from '../src/log.js';

function capture(format: 'json' | 'logfmt') {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', format, destination: { write: (s: string) => void lines.push(...s.split('\n').filter(Boolean)) } as never });
  return { log, lines };
}

describe('logger', () => {
  it('redacts secrets by path, as a second line of defence', () => {
    const { log, lines } = capture('json');
    log.info(
      {
        token: 'a',
        apiKey: 'b',
        headers: { authorization: 'Bearer c', 'x-auth-key': 'd' },
        config: { cloudflare: { auth: { token: 'e' } }, posthog: { apiKey: 'f' } },
      },
      'hello',
    );
    const line = lines[0] ?? '';
    for (const secret of ['"a"', '"b"', 'Bearer c', '"d"', '"e"', '"f"']) expect(line).not.toContain(secret);
    expect(line).toContain('[redacted]');
  });

  it('writes logfmt with time, level and msg first', () => {
    expect(toLogfmt('{"level":"info","time":"2026-01-01T00:00:00Z","msg":"a b","n":3,"ok":true,"x":"y"}')).toBe(
      'time=2026-01-01T00:00:00Z level=info msg="a b" n=3 ok=true x=y',
    );
  });
});
