// What /metrics says of each family (the golden scenario's exposition, which test/e2e/golden.test.ts
// holds to what the exporter serves): a short HELP that names the setting a family is polled on,
// never its current value (so HELP does not change with the configuration), and no rationale
// repeated in every family (the README explains the rate limit once).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const golden = readFileSync(new URL('../fixtures/golden.prom', import.meta.url), 'utf8');
const help = new Map([...golden.matchAll(/^# HELP (\S+) (.*)$/gm)].map((m) => [m[1] as string, m[2] as string]));

describe('HELP texts', () => {
  it('are at most 250 characters', () => {
    const long = [...help].filter(([, text]) => text.length > 250).map(([name, text]) => `${name} (${text.length})`);
    expect(long).toEqual([]);
  });

  it('name the schedule setting, not its value, and leave the rate-limit rationale to the README', () => {
    for (const [name, text] of help) {
      expect(text, name).not.toMatch(/Polled every|every \d+[hms]|Cloudflare allows/);
    }
    expect(help.get('cloudflare_tunnel_status')).toMatch(/TUNNELS_SCHEDULE\.$/);
    expect(help.get('cloudflare_tunnel_route_info')).toMatch(/ROUTES_SCHEDULE\.$/);
    expect(help.get('posthog_proxy_record_info')).toMatch(/PROXY_RECORDS_SCHEDULE\.$/);
    expect(help.get('cloudflare_tunnel_config_version')).toMatch(/CONFIGURATIONS_SCHEDULE\.$/);
  });
});
