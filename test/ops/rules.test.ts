// The shipped Prometheus rules and config and the Alertmanager example, checked with the real
// promtool and amtool (Debian's prometheus 2.42 and alertmanager 0.25).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type Mixin, renderAlertRules } from '../../src/generators/alert-rules.js';
import { tool } from '../helpers/tools.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = (bin: string, args: string[]) => execFileSync(bin, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: Record<string, string>;
}
const rules = (parse(readFileSync(`${root}prometheus/alerts.yml`, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

const REQUIRED = [
  'CloudflareTunnelDown',
  'CloudflareTunnelDegraded',
  'CloudflareTunnelNoRedundancy',
  'CloudflareTunnelPendingReconnects',
  'CloudflareTunnelFlapping',
  'CloudflareTunnelConnectorVersionSkew',
  'PostHogProxyRecordErroring',
  'PostHogProxyRecordTimedOut',
  'PostHogProxyRecordWarning',
  'PostHogProxyRecordStuck',
  'PostHogProxyRecordsAtPlanLimit',
  'CloudflareTunnelExporterDown',
  'CloudflareTunnelExporterCollectorFailing',
  'CloudflareTunnelExporterDataStale',
  'CloudflareTunnelExporterRateLimited',
  'CloudflareTunnelExporterListsOverBudget',
  'CloudflareTunnelExporterRemediationFailing',
  'CloudflareTunnelConnectionsFlapping',
  'PostHogProxyRecordDnsChangeRequired',
  'CloudflareTunnelConnectorShort',
  'CloudflareTunnelConnectorRestarting',
  'PostHogProxyRecordRecreatePending',
  'CloudflareTunnelExporterStateFileCorrupt',
  'CloudflareTunnelHostnameDown',
  'CloudflareTunnelRouteUnreachable',
  'CloudflareTunnelConfigDrift',
  'CloudflareWarpConnectorNoFailover',
  'CloudflareAccountLimitNear',
];

describe('alert rules', () => {
  it('prometheus/alerts.yml is generated from alerts.src.yml and mixin.json: the job selector in every selector, the runbook base URL in every link', () => {
    const mixin = JSON.parse(readFileSync(`${root}prometheus/mixin.json`, 'utf8')) as Mixin;
    expect(readFileSync(`${root}prometheus/alerts.yml`, 'utf8')).toBe(renderAlertRules(readFileSync(`${root}prometheus/alerts.src.yml`, 'utf8'), mixin));
    for (const r of rules) {
      for (const selector of r.expr.matchAll(/\b((?:cloudflare|posthog)_[a-z0-9_]+|up)\b(\{[^}]*\})?/g))
        expect(selector[0], r.alert).toContain(mixin.jobSelector);
      expect(r.annotations.runbook_url, r.alert).toBe(`${mixin.runbookBaseUrl}#${r.alert.toLowerCase()}`);
    }
    // Another selector, another base: both land everywhere.
    const other = renderAlertRules(readFileSync(`${root}prometheus/alerts.src.yml`, 'utf8'), {
      jobSelector: 'job="cte"',
      runbookBaseUrl: 'https://wiki.example/runbooks',
    });
    expect(other).not.toContain('cloudflare-tunnel-exporter"');
    expect(other.match(/runbook_url: https:\/\/wiki\.example\/runbooks#/g)).toHaveLength(rules.length);
  });

  it('has every required alert, in mixin style, with a runbook section each', () => {
    expect(rules.map((r) => r.alert).sort()).toEqual([...REQUIRED].sort());
    const runbooks = readFileSync(`${root}docs/runbooks.md`, 'utf8');
    for (const r of rules) {
      expect(r.alert).toMatch(/^[A-Z][A-Za-z]+$/);
      expect(['critical', 'warning', 'info']).toContain(r.labels.severity);
      expect(Object.keys(r.annotations).sort(), r.alert).toEqual(['description', 'runbook_url', 'summary']);
      expect(r.annotations.runbook_url).toMatch(new RegExp(`/docs/runbooks\\.md#${r.alert.toLowerCase()}$`));
      const section = runbooks.split(`\n## ${r.alert}\n`)[1]?.split('\n## ')[0] ?? '';
      for (const part of ['**Meaning.**', '**Impact.**', '**Diagnosis.**', '**Mitigation.**']) expect(section, `${r.alert} ${part}`).toContain(part);
      // One bad poll must not page: a `for:` or a range window in the expression.
      expect(r.for !== undefined || /\[\d+[smh]\]/.test(r.expr), r.alert).toBe(true);
    }
  });

  it('passes promtool check rules and promtool test rules (every alert firing and not firing)', (ctx) => {
    const promtool = tool('promtool', ctx);
    expect(run(promtool, ['check', 'rules', 'prometheus/alerts.yml'])).toContain(`SUCCESS: ${REQUIRED.length} rules found`);
    expect(run(promtool, ['test', 'rules', 'prometheus/tests/alerts.test.yml'])).toContain('SUCCESS');
    const tests = readFileSync(`${root}prometheus/tests/alerts.test.yml`, 'utf8');
    for (const name of REQUIRED) {
      expect(tests, name).toMatch(new RegExp(`alertname: ${name}\\n\\s+exp_alerts: \\[\\]`));
      expect(tests, name).toMatch(new RegExp(`alertname: ${name}\\n\\s+exp_alerts:\\n\\s+- exp_labels`));
    }
  });

  it('prometheus.yml for the compose stack passes promtool check config', (ctx) => {
    const promtool = tool('promtool', ctx);
    expect(run(promtool, ['check', 'config', 'prometheus/prometheus.yml'])).toContain('is valid prometheus config file syntax');
  });
});

describe('alertmanager example', () => {
  const route = (amtool: string, ...labels: string[]) =>
    run(amtool, ['config', 'routes', 'test', '--config.file=alertmanager/alertmanager.yml', ...labels]).trim();

  it('passes amtool check-config', (ctx) => {
    const amtool = tool('amtool', ctx);
    expect(run(amtool, ['check-config', 'alertmanager/alertmanager.yml'])).toContain('SUCCESS');
  });

  it('routes critical to the pager, warning to tickets and leaves info unrouted', (ctx) => {
    const amtool = tool('amtool', ctx);
    for (const r of rules)
      expect(route(amtool, `alertname=${r.alert}`, `severity=${r.labels.severity}`), r.alert).toBe(
        { critical: 'pager', warning: 'ticket', info: 'null' }[r.labels.severity],
      );
  });

  it('pages a down tunnel and what it takes down once per tunnel, in one group', (ctx) => {
    const amtool = tool('amtool', ctx);
    for (const alertname of ['CloudflareTunnelDown', 'CloudflareTunnelHostnameDown', 'CloudflareTunnelRouteUnreachable']) {
      const tree = run(amtool, [
        'config',
        'routes',
        'test',
        '--config.file=alertmanager/alertmanager.yml',
        '--verify.receivers=pager',
        `alertname=${alertname}`,
        'severity=critical',
      ]);
      expect(tree.trim(), alertname).toBe('pager');
    }
    const config = parse(readFileSync(`${root}alertmanager/alertmanager.yml`, 'utf8')) as { route: { routes: { matchers: string[]; group_by?: string[] }[] } };
    const perTunnel = config.route.routes.find((r) => r.matchers[0]?.includes('CloudflareTunnelHostnameDown'));
    expect(perTunnel?.group_by).toEqual(['account_id', 'tunnel_id']);
    expect(perTunnel?.matchers[0]).toContain('CloudflareTunnelRouteUnreachable');
    expect(perTunnel?.matchers[0]).toContain('CloudflareTunnelDown');
  });

  it('inhibits what a down tunnel or a down exporter explains', () => {
    const config = parse(readFileSync(`${root}alertmanager/alertmanager.yml`, 'utf8')) as {
      inhibit_rules: { source_matchers: string[]; target_matchers: string[]; equal?: string[] }[];
    };
    const tunnelDown = config.inhibit_rules.find((r) => r.source_matchers.includes('alertname="CloudflareTunnelDown"'));
    expect(tunnelDown?.equal).toEqual(['account_id', 'tunnel_id']);
    for (const name of ['CloudflareTunnelDegraded', 'CloudflareTunnelNoRedundancy', 'CloudflareTunnelPendingReconnects'])
      expect(tunnelDown?.target_matchers[0]).toContain(name);
    const exporterDown = config.inhibit_rules.find((r) => r.source_matchers.includes('alertname="CloudflareTunnelExporterDown"'));
    const targetPattern = new RegExp(`^${/alertname=~"(.*)"/.exec(exporterDown?.target_matchers[0] ?? '')?.[1]}$`);
    for (const r of rules.filter((x) => x.alert !== 'CloudflareTunnelExporterDown')) expect(targetPattern.test(r.alert), r.alert).toBe(true);
    expect(exporterDown?.target_matchers).toContain('alertname!="CloudflareTunnelExporterDown"');
  });
});
