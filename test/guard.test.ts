// The loopback-only guard itself: in vitest's workers and in a daemon the tests spawn.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { startDaemon, waitFor } from './helpers/daemon.js';
import { ACCOUNT } from './helpers/ids.js';

describe('test network guard', () => {
  it('refuses a connection to a non-loopback address in a test worker', () => {
    expect(() => net.connect({ host: '192.0.2.1', port: 443 })).toThrow('test network guard: refusing to connect to 192.0.2.1');
  });

  it.each([
    ['its own NODE_OPTIONS', {}],
    ['NODE_OPTIONS set by the test (the Docker image has its own)', { NODE_OPTIONS: '--max-semi-space-size=16' }],
  ])('refuses it in a spawned daemon too, with %s: a poll against a public address fails without leaving the machine', async (_name, extra) => {
    const daemon = await startDaemon([], {
      CLOUDFLARE_API_TOKEN: 't',
      CLOUDFLARE_ACCOUNT_IDS: ACCOUNT,
      CLOUDFLARE_API_BASE_URL: 'http://192.0.2.1/client/v4',
      ...extra,
    });
    const line = await waitFor('the failed poll', async () =>
      daemon
        .stdout()
        .split('\n')
        .find((l) => l.includes('"collector":"tunnels"') && l.includes('poll failed')),
    );
    expect(line).toContain('test network guard: refusing to connect to 192.0.2.1');
    daemon.child.kill('SIGTERM');
    expect(await daemon.exit).toBe(0);
  });
});
