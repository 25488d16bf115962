// The landing page (`/`): where a person first meets the running exporter, so it is a status page.
// Each source's last poll, its outcome and error and how old its data is; what unhealthy tunnels
// take down now (public hostnames, private networks and hostnames); the Cloudflare budget's
// use; the remediation modes and latest decisions; links to /metrics, the probes and the docs.
// Plain HTML and a little CSS, no framework and no script, readable on a phone. Pure: it renders
// what it is given.

import { formatDuration } from '../config/duration.js';

export interface SourceStatus {
  collector: string;
  scope: string;
  ok: boolean;
  lastPollAt: number;
  lastSuccessAt?: number;
  error?: string;
  /** Not polled for now: the credential lacks the source's permission. */
  skipped?: boolean;
}

/** A public hostname, private network or private hostname an unhealthy tunnel takes down now. */
export interface AffectedStatus {
  kind: string;
  what: string;
  tunnelName: string;
  tunnelId: string;
  status: string;
}

export interface BudgetStatus {
  budget: number;
  usedLast5m: number;
  neededPer5m: number;
  /** Of those, the tunnel list pages and Gateway polls, which have first claim on the budget. */
  listsPer5m: number;
  /** Tunnels waiting for a connections read, over all accounts. */
  queued: number;
}

export interface DecisionStatus {
  at: number;
  action: string;
  mode: string;
  target: Record<string, string>;
  outcome: string;
  reason: string;
  skip?: string;
}

export interface LandingPageData {
  version: string;
  telemetryPath: string;
  docsUrl: string;
  now: number;
  ready: boolean;
  sources: SourceStatus[];
  /** The last poll of every source failed (snapshot/store.ts, everySourceFailing). */
  allSourcesFailing: boolean;
  /** When sharded: this process's shard and how many accounts and organizations it owns. */
  shard?: { shard: number; total: number; accounts: number; organizations: number };
  /** What unhealthy tunnels take down now (absent when the sources that tell are off). */
  affected?: readonly AffectedStatus[];
  budget?: BudgetStatus;
  remediation?: {
    staleConnectors: string;
    proxyRecords: string;
    decisions: readonly DecisionStatus[];
    /** The state file was corrupt at start-up (until a restart). */
    stateFileCorrupt?: { path: string; movedTo: string; salvagedJournalEntries: number };
    /** Proxy record domains deleted by a recreate and not back yet, since when. */
    recreatesPending?: readonly { organizationId: string; domain: string; at: number }[];
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** "42s", "3m 5s", "2h 10m": how long ago, for people. */
const ago = (ms: number) => formatDuration(Math.max(0, Math.round(ms / 1000)) * 1000, { largest: 'h', parts: 2, separator: ' ' });

const time = (ms: number) => `<time datetime="${new Date(ms).toISOString()}">${new Date(ms).toISOString().replace('T', ' ').slice(0, 19)} UTC</time>`;

function sourcesTable(d: LandingPageData): string {
  const rows = d.sources.map(
    (s) =>
      `<tr class="${s.ok ? 'ok' : s.skipped ? 'skipped' : 'failed'}"><td>${escapeHtml(s.collector)}</td><td class="id">${escapeHtml(s.scope)}</td>` +
      `<td>${s.ok ? 'ok' : s.skipped ? 'skipped: no permission' : 'failed'}</td><td>${time(s.lastPollAt)}</td>` +
      `<td>${s.lastSuccessAt !== undefined ? ago(d.now - s.lastSuccessAt) : 'never'}</td><td>${escapeHtml(s.error ?? '')}</td></tr>`,
  );
  return `<div class="scroll"><table id="sources"><thead><tr><th>source</th><th>account / organization</th><th>last poll</th><th>polled at</th><th>data age</th><th>error</th></tr></thead>
<tbody>
${rows.join('\n') || '<tr><td colspan="6">no poll has finished yet</td></tr>'}
</tbody></table></div>`;
}

function affectedSection(affected: readonly AffectedStatus[]): string {
  if (affected.length === 0)
    return '<section id="affected"><h2>Unreachable now</h2><p class="good">No public hostname or private route is behind a down, inactive or deleted tunnel.</p></section>';
  const rows = affected.map(
    (a) =>
      `<tr class="failed"><td>${escapeHtml(a.what)}</td><td>${escapeHtml(a.kind)}</td>` +
      `<td class="id" title="${escapeHtml(a.tunnelId)}">${escapeHtml(a.tunnelName || a.tunnelId)}</td><td>${escapeHtml(a.status)}</td></tr>`,
  );
  return `<section id="affected"><h2>Unreachable now</h2>
<p class="bad">${affected.length} public hostname${affected.length === 1 ? ' or route is' : 's and routes are'} behind a down, inactive or deleted tunnel.</p>
<div class="scroll"><table><thead><tr><th>what</th><th>kind</th><th>tunnel</th><th>tunnel status</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table></div>
</section>`;
}

function budgetSection(b: BudgetStatus): string {
  const share = b.budget > 0 ? Math.round((b.usedLast5m / b.budget) * 100) : 0;
  const short = b.neededPer5m > b.budget;
  return `<section id="budget"><h2>Cloudflare API budget</h2>
<p><meter min="0" max="${b.budget}" value="${b.usedLast5m}"></meter> <b>${b.usedLast5m}</b> of <b>${b.budget}</b> requests in the last 5 minutes (${share}%)</p>
<p>The schedules need <b>${b.neededPer5m}</b> per 5 minutes${short ? ': <span class="warn">more than the budget</span>, so connections are refreshed less often than every interval, oldest first' : ''}.${b.listsPer5m > b.budget ? ` <span class="warn">The list polls alone need <b>${b.listsPer5m}</b>: tunnel status is polled less often than TUNNELS_SCHEDULE and no connections are read.</span>` : ''} Tunnels waiting for a connections read: <b>${b.queued}</b>.</p>
</section>`;
}

/** The part of a target a person recognises: the domain, or the tunnel (and connector); ids go in the tooltip. */
function targetName(target: Record<string, string>): string {
  if (target.domain) return target.domain;
  if (target.tunnel_name) return target.connector_id ? `${target.tunnel_name}, connector ${target.connector_id.slice(0, 8)}` : target.tunnel_name;
  return Object.values(target).join(' / ');
}

function remediationSection(r: NonNullable<LandingPageData['remediation']>, now: number): string {
  const rows = r.decisions.map(
    (x) =>
      `<tr class="${escapeHtml(x.outcome)}"><td>${ago(now - x.at)} ago</td><td>${escapeHtml(x.action)}</td><td>${escapeHtml(x.mode)}</td>` +
      `<td class="id" title="${escapeHtml(
        Object.entries(x.target)
          .map(([k, v]) => `${k}=${v}`)
          .join(' '),
      )}">${escapeHtml(targetName(x.target))}</td>` +
      `<td>${escapeHtml(x.outcome)}${x.skip ? ` (${escapeHtml(x.skip)})` : ''}</td><td>${escapeHtml(x.reason)}</td></tr>`,
  );
  const corrupt = r.stateFileCorrupt;
  const problems = [
    corrupt
      ? `<p class="bad">The remediation state file ${escapeHtml(corrupt.path)} was corrupt at start-up: moved to ${escapeHtml(corrupt.movedTo)}, ${corrupt.salvagedJournalEntries} journal ${corrupt.salvagedJournalEntries === 1 ? 'entry' : 'entries'} salvaged. A recreate journaled in the lost part is not finished: check that file.</p>`
      : '',
    r.recreatesPending?.length
      ? `<p class="bad">Deleted to be recreated and not back yet: ${r.recreatesPending.map((e) => `<b>${escapeHtml(e.domain)}</b> (${ago(now - e.at)})`).join(', ')}.</p>`
      : '',
  ].join('');
  return `<section id="remediation"><h2>Remediation</h2>
${problems}<p>Stale connectors: <b>${escapeHtml(r.staleConnectors)}</b>. Proxy records: <b>${escapeHtml(r.proxyRecords)}</b>.</p>
<div class="scroll"><table id="decisions"><thead><tr><th>when</th><th>action</th><th>mode</th><th>target</th><th>outcome</th><th>reason</th></tr></thead>
<tbody>
${rows.join('\n') || '<tr><td colspan="6">no decision yet</td></tr>'}
</tbody></table></div>
</section>`;
}

function readiness(ready: boolean, failing: number, allFailing: boolean): string {
  if (!ready) return 'Not ready: waiting for the first polls.';
  if (failing === 0) return 'Ready; every source polled successfully.';
  if (allFailing) {
    return 'Ready, but every source is failing: /metrics serves only what earlier polls kept, until it is older than STALE_DATA_MAX_AGE (readiness stays up so a failing API does not restart the pod; cloudflare_tunnel_exporter_all_sources_failing is 1).';
  }
  return `Ready; ${failing} source${failing === 1 ? '' : 's'} failing.`;
}

export function renderLandingPage(d: LandingPageData): string {
  const failing = d.sources.filter((s) => !s.ok && !s.skipped).length;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Cloudflare Tunnel Exporter</title>
<style>
body{font-family:system-ui,sans-serif;margin:1rem auto;max-width:70rem;padding:0 1rem;line-height:1.4}
table{border-collapse:collapse;width:100%;font-size:.9rem}td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
.scroll{overflow-x:auto}.id{word-break:break-all}tr.failed td{background:#fde8e8}tr.skipped td{background:#fff4d6}.warn,.bad{color:#b00020}.good{color:#0a7a2f}
nav a{margin-right:1rem;display:inline-block}meter{width:12rem;max-width:60%}
</style>
</head><body>
<h1>Cloudflare Tunnel Exporter</h1>
<p>Version ${escapeHtml(d.version)}. <span id="status" class="${d.ready && failing === 0 ? 'good' : 'bad'}">${readiness(d.ready, failing, d.allSourcesFailing)}</span></p>
${d.shard ? `<p id="shard">Shard <b>${d.shard.shard}</b> of <b>${d.shard.total}</b>: this process polls, exports and remediates ${d.shard.accounts} Cloudflare account${d.shard.accounts === 1 ? '' : 's'} and ${d.shard.organizations} PostHog organization${d.shard.organizations === 1 ? '' : 's'}; the other shards own the rest.</p>` : ''}
<nav><a href="${escapeHtml(d.telemetryPath)}">Metrics</a><a href="/-/healthy">Health</a><a href="/-/ready">Readiness</a><a href="${escapeHtml(d.docsUrl)}">Documentation</a></nav>
<section><h2>Sources</h2>
${sourcesTable(d)}
</section>
${d.affected ? affectedSection(d.affected) : ''}
${d.budget ? budgetSection(d.budget) : ''}
${d.remediation ? remediationSection(d.remediation, d.now) : ''}
</body></html>
`;
}
