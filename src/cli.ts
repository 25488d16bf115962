#!/usr/bin/env node
import { renderEffectiveConfig } from './config/effective.js';
// Entry point: argv/env -> config -> wiring -> start; SIGTERM/SIGINT -> ordered shutdown.
// Exit codes: 0 clean stop or --config.check/--help/--version, 1 start-up failure, 2 invalid configuration.
import { type LoadResult, loadConfig } from './config/load.js';
import { type Config, SETTINGS, type Setting } from './config/schema.js';
import { createExporter, type Exporter } from './exporter.js';
import { loadWebConfig, type WebConfig } from './http/web-config.js';
import { createLogger, type Logger } from './log.js';
import type { Simulator } from './simulator/server.js';
import { REVISION, VERSION } from './version.js';

const SHUTDOWN_DEADLINE_MS = 10_000;

function usage(): string {
  const rows = (SETTINGS as readonly Setting[]).map((s) => {
    const names = [s.env, s.flag ? `--${s.flag}` : undefined].filter(Boolean).join(', ');
    const def = s.default !== undefined ? ` (default ${s.default})` : '';
    return `  ${names.padEnd(52)} ${s.doc}${def}`;
  });
  return [
    'Usage: cloudflare-tunnel-exporter [flags]',
    '',
    'Flags:',
    '  --config.file=FILE (or CONFIG_FILE)                  YAML configuration file',
    '  --config.check                                       validate, print the redacted effective config, exit',
    '  --demo                                               run against the embedded simulator',
    '  --help, --version',
    '',
    'Settings (environment, flag):',
    ...rows,
    '',
  ].join('\n');
}

/**
 * Points both sources at a freshly started simulator, whatever credentials the environment holds.
 * (The demo's faster schedules, unless the user set their own, come from config/load.ts.)
 */
function demoConfig(config: Config, sim: Simulator): Config {
  return {
    ...config,
    cloudflare: {
      auth: { kind: 'token', token: sim.credentials.cloudflareToken },
      accountIds: sim.accountIds,
      baseUrl: sim.cloudflareBaseUrl,
      // The simulator allows 1200 requests per 5 minutes like Cloudflare; the demo's fast schedules need most of it.
      budget: 1000,
    },
    posthog: { apiKey: sim.credentials.posthogKey, organizationIds: sim.organizationIds, baseUrl: sim.posthogBaseUrl },
  };
}

/** The configuration and web config, or the exit code when there is nothing more to do (help, version, a check, an error). */
function configure(argv: string[]): { loaded: LoadResult; webConfig: WebConfig | undefined } | number {
  // Help and version answer whatever else the command line or environment holds.
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(usage());
    return 0;
  }
  if (argv.includes('--version')) {
    process.stdout.write(`cloudflare-tunnel-exporter ${VERSION} (revision ${REVISION}, node ${process.version})\n`);
    return 0;
  }
  try {
    const loaded = loadConfig({ argv, env: process.env });
    const webConfig = loaded.config.web.configFile ? loadWebConfig(loaded.config.web.configFile) : undefined;
    if (!loaded.check) return { loaded, webConfig };
    process.stdout.write(`configuration is valid\n---\n${renderEffectiveConfig(loaded.config)}`);
    return 0;
  } catch (err) {
    // A ConfigError lists every problem; a web config error names its file and key.
    if (!(err instanceof Error)) throw err;
    process.stderr.write(`cloudflare-tunnel-exporter: ${err.message}\n`);
    return 2;
  }
}

/** --demo: the simulator, loaded only then (the daemon's own import graph does not carry it). */
async function startDemo(log: Logger): Promise<Simulator> {
  const simLog = log.child({ component: 'simulator' });
  const { startSimulator } = await import('./simulator/server.js');
  // PostHog's default max_proxy_records is 2; the demo organization's plan allows more.
  return startSimulator({
    timelineIntervalMs: 5000,
    // The second account's token lacks the routes permission: the demo shows that source skipped alone.
    fleet: { maxProxyRecords: 20, routesForbiddenIn: 1 },
    onEvent: (event) => simLog.info({ event }, 'simulated fleet changed'),
  });
}

/**
 * SIGTERM and SIGINT stop (resolving the exit code); a second one while stopping is logged and the
 * clean stop goes on (npm forwards Ctrl-C to the process it runs, so `npm run demo` delivers two); a
 * third exits at once with 130 and says so. SIGHUP reloads the web config file (TLS files, basic auth
 * users, headers), as exporter-toolkit picks up changes to it; the rest of the configuration needs a
 * restart. A file that does not load keeps the running one.
 */
function handleSignals(exporter: Exporter, sim: Simulator | undefined, webConfigFile: string | undefined, log: Logger): Promise<number> {
  return new Promise<number>((resolve) => {
    let signals = 0;
    const shutdown = (signal: string) => {
      signals++;
      if (signals === 2) {
        log.warn({ signal }, `${signal} again: still stopping cleanly (at most ${SHUTDOWN_DEADLINE_MS / 1000}s); send it once more to exit now`);
        return;
      }
      if (signals > 2) {
        log.error({ signal }, `${signal} a third time: exiting now, without a clean stop`);
        resolve(130);
        return;
      }
      log.info({ signal }, 'stopping');
      const deadline = setTimeout(() => {
        log.error('shutdown took longer than 10s: exiting anyway');
        resolve(1);
      }, SHUTDOWN_DEADLINE_MS);
      deadline.unref();
      void exporter
        .stop()
        .then(() => sim?.close())
        .then(() => {
          clearTimeout(deadline);
          log.info('stopped');
          resolve(0);
        });
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGHUP', () => {
      if (!webConfigFile) {
        log.info({ signal: 'SIGHUP' }, 'SIGHUP: no --web.config.file to reload; the rest of the configuration needs a restart');
        return;
      }
      void Promise.resolve()
        .then(() => exporter.reloadWebConfig(loadWebConfig(webConfigFile)))
        .then(
          () => log.info({ signal: 'SIGHUP', file: webConfigFile }, 'web config reloaded'),
          (err: unknown) =>
            log.error({ signal: 'SIGHUP', file: webConfigFile, err: (err as Error).message }, 'web config not reloaded: keeping the running one'),
        );
    });
  });
}

function demoBanner(url: string, telemetryPath: string, sim: Simulator): string {
  return [
    '',
    'Demo: the exporter polls a simulated Cloudflare and PostHog fleet that changes every 5 seconds.',
    `  metrics:    ${url}${telemetryPath}`,
    `  landing:    ${url}/`,
    `  readiness:  ${url}/-/ready`,
    `  simulator:  ${sim.url}/_simulator/state`,
    `  try:        curl -s ${url}${telemetryPath} | grep -E '^cloudflare_tunnel_status\\{.*\\} 1'`,
    'Press Ctrl-C to stop.',
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const configured = configure(argv);
  if (typeof configured === 'number') return configured;
  const { loaded, webConfig } = configured;
  let config = loaded.config;
  const log = createLogger({ level: config.log.level, format: config.log.format });
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled promise rejection'));
  const sim = config.demo ? await startDemo(log) : undefined;
  if (sim) config = demoConfig(config, sim);

  let exporter: Exporter;
  try {
    exporter = createExporter({ config, log, webConfig });
  } catch (err) {
    // e.g. an unreadable REMEDIATION_STATE_FILE: a configuration problem.
    process.stderr.write(`cloudflare-tunnel-exporter: ${(err as Error).message}\n`);
    await sim?.close();
    return 2;
  }
  // Signal handlers go in before start-up, so a signal that arrives while the exporter starts (or
  // right after it says it listens) is handled, not met with the default of terminating.
  const stopped = handleSignals(exporter, sim, loaded.config.web.configFile, log);
  let server: Awaited<ReturnType<typeof exporter.start>>;
  try {
    server = await exporter.start();
  } catch (err) {
    log.error({ err: (err as Error).message }, 'cannot start: is the listen address free?');
    await exporter.stop();
    await sim?.close();
    return 1;
  }
  log.info({ url: server.url, version: VERSION, sources: exporter.expected.map((e) => `${e.collector}/${e.scope}`) }, 'exporter listening');
  if (sim) process.stderr.write(demoBanner(server.url, config.web.telemetryPath, sim));
  return stopped;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Whatever still holds the loop (keep-alive sockets, a hung upstream) must not outlive a stop.
    setTimeout(() => process.exit(code), 100).unref();
  },
  (err: unknown) => {
    process.stderr.write(`cloudflare-tunnel-exporter: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
