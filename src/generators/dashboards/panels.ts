// Small builders for Grafana dashboard JSON (schemaVersion 39), so the four dashboards share one
// datasource variable, one style of panel and units, and every query lives in code where a test
// can read it. No SDK: the JSON model is stable and this is all we use of it.
import { withSelector } from '../promql.js';

export interface Target {
  expr: string;
  legendFormat?: string;
  instant?: boolean;
  format?: 'time_series' | 'table';
}

export type Panel = Record<string, unknown> & { targets?: (Target & { refId: string })[] };

// biome-ignore lint/suspicious/noTemplateCurlyInString: a Grafana template variable, not a JavaScript one
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

interface PanelOptions {
  title: string;
  description: string;
  targets: Target[];
  unit?: string;
  w?: number;
  h?: number;
  decimals?: number;
  mappings?: unknown[];
  thresholds?: { color: string; value: number | null }[];
  overrides?: unknown[];
  options?: Record<string, unknown>;
  transformations?: unknown[];
  min?: number;
  max?: number;
}

function base(type: string, o: PanelOptions): Panel {
  return {
    type,
    title: o.title,
    description: o.description,
    datasource: DATASOURCE,
    gridPos: { h: o.h ?? 8, w: o.w ?? 12, x: 0, y: 0 },
    targets: o.targets.map((t, i) => ({
      datasource: DATASOURCE,
      refId: String.fromCharCode(65 + i),
      expr: t.expr,
      legendFormat: t.legendFormat ?? '__auto',
      range: !t.instant,
      instant: Boolean(t.instant),
      ...(t.format ? { format: t.format } : {}),
    })),
    fieldConfig: {
      defaults: {
        unit: o.unit ?? 'short',
        ...(o.decimals !== undefined ? { decimals: o.decimals } : {}),
        ...(o.min !== undefined ? { min: o.min } : {}),
        ...(o.max !== undefined ? { max: o.max } : {}),
        ...(o.mappings ? { mappings: o.mappings } : {}),
        thresholds: { mode: 'absolute', steps: o.thresholds ?? [{ color: 'green', value: null }] },
      },
      overrides: o.overrides ?? [],
    },
    options: o.options ?? {},
    ...(o.transformations ? { transformations: o.transformations } : {}),
  };
}

export const stat = (o: PanelOptions) =>
  base('stat', {
    w: 6,
    h: 4,
    ...o,
    options: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'background',
      graphMode: 'none',
      textMode: 'value_and_name',
      ...o.options,
    },
  });

export const timeseries = (o: PanelOptions) =>
  base('timeseries', {
    ...o,
    options: { legend: { displayMode: 'table', placement: 'right', calcs: ['lastNotNull', 'max'] }, tooltip: { mode: 'multi', sort: 'desc' }, ...o.options },
  });

export const stateTimeline = (o: PanelOptions) =>
  base('state-timeline', {
    w: 24,
    ...o,
    options: { showValue: 'never', mergeValues: true, rowHeight: 0.8, legend: { displayMode: 'list', placement: 'bottom' }, ...o.options },
  });

export const table = (o: PanelOptions) =>
  base('table', {
    w: 24,
    ...o,
    targets: o.targets.map((t) => ({ ...t, instant: true, format: 'table' as const })),
    options: { showHeader: true, cellHeight: 'sm', ...o.options },
  });

export const barGauge = (o: PanelOptions) =>
  base('bargauge', {
    ...o,
    options: { orientation: 'horizontal', displayMode: 'gradient', reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, ...o.options },
  });

export const row = (title: string): Panel => ({ type: 'row', title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y: 0 }, panels: [] });

/** Value mappings for a status encoded as a number (see the status timeline queries). */
export function statusMappings(states: { text: string; color: string }[]): unknown[] {
  return [{ type: 'value', options: Object.fromEntries(states.map((s, i) => [String(i), { text: s.text, color: s.color, index: i }])) }];
}

/** The fleet overview's uid: every other dashboard links back to it. */
export const FLEET_UID = 'cf-tunnels-fleet';
export const DETAIL_UID = 'cf-tunnel-detail';

export interface Variable {
  name: string;
  label: string;
  query: string;
  multi?: boolean;
  /** Grafana's regex over the query's results; named groups `value` and `text` split what is selected from what is shown. */
  regex?: string;
}

export interface DashboardOptions {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  variables: Variable[];
  panels: Panel[];
  refresh?: string;
  from?: string;
}

/** Every dashboard selects one exporter job (or all): other exporters use some of the same names. */
const JOB_VARIABLE: Variable = { name: 'job', label: 'Job', query: 'label_values(cloudflare_tunnel_exporter_build_info, job)' };

/** Adds `job=~"$job"` to every selector of this exporter's metrics in a query (see ../promql.ts). */
export function withJobSelector(expr: string): string {
  return withSelector(expr, 'job=~"$job"');
}

/** Grafana's import metadata (grafana.com): the datasource to ask for and what the JSON needs. */
function importMetadata(panels: Panel[]) {
  const types = [...new Set(panels.map((p) => p.type as string).filter((t) => t !== 'row'))].sort();
  return {
    // No __inputs: the datasource variable picks the Prometheus, and an input nothing references
    // only makes an import ask for it.
    __requires: [
      { type: 'grafana', id: 'grafana', name: 'Grafana', version: '10.0.0' },
      { type: 'datasource', id: 'prometheus', name: 'Prometheus', version: '1.0.0' },
      ...types.map((id) => ({ type: 'panel', id, name: id, version: '' })),
    ],
  };
}

/** Lays panels out left to right, wrapping at 24 columns, and wraps them in a dashboard. */
export function dashboard(o: DashboardOptions): Record<string, unknown> {
  const variables = o.variables.some((v) => v.name === 'job') ? o.variables : [JOB_VARIABLE, ...o.variables];
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  const panels = o.panels.map((p, id) => {
    const grid = p.gridPos as { w: number; h: number };
    if (x + grid.w > 24 || p.type === 'row') {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const placed = {
      ...p,
      id: id + 1,
      gridPos: { ...grid, x, y },
      ...(p.targets ? { targets: p.targets.map((t) => ({ ...t, expr: withJobSelector(t.expr) })) } : {}),
    };
    x += grid.w;
    rowHeight = Math.max(rowHeight, grid.h);
    if (p.type === 'row') {
      x = 24;
    }
    return placed;
  });
  return {
    ...importMetadata(panels),
    uid: o.uid,
    title: o.title,
    description: o.description,
    tags: o.tags,
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: o.refresh ?? '1m',
    time: { from: o.from ?? 'now-6h', to: 'now' },
    timezone: 'browser',
    links: [
      ...(o.uid === FLEET_UID
        ? []
        : [
            {
              type: 'link',
              title: 'Fleet overview',
              url: `/d/${FLEET_UID}`,
              icon: 'dashboard',
              includeVars: true,
              keepTime: true,
              targetBlank: false,
              tooltip: '',
              tags: [],
              asDropdown: false,
            },
          ]),
      { type: 'dashboards', tags: ['cloudflare-tunnel-exporter'], asDropdown: true, title: 'Dashboards', includeVars: true, keepTime: true },
    ],
    templating: {
      list: [
        { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: { text: 'Prometheus', value: 'prometheus' }, hide: 0 },
        ...variables.map((v) => ({
          name: v.name,
          label: v.label,
          type: 'query',
          datasource: DATASOURCE,
          query: { query: v.name === 'job' ? v.query : withJobSelector(v.query), refId: `${v.name}-query` },
          definition: v.name === 'job' ? v.query : withJobSelector(v.query),
          ...(v.regex ? { regex: v.regex } : {}),
          refresh: 2,
          sort: 1,
          multi: v.multi ?? true,
          includeAll: v.multi ?? true,
          // All, for the job, is every job the variable lists (never `.*`, which would take in every
          // other exporter's `up`); for the rest, everything of the selected jobs.
          ...((v.multi ?? true) ? { ...(v.name === 'job' ? {} : { allValue: '.*' }), current: { text: 'All', value: '$__all' } } : {}),
          hide: 0,
        })),
      ],
    },
    panels,
  };
}
