// The root pino logger. JSON by default; logfmt on request. Components take child loggers with a
// `component` field. Secrets are redacted by path as a second line of defence: no code path is
// meant to log one in the first place.
import { Writable } from 'node:stream';
import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

const REDACT_PATHS = [
  'token',
  'apiKey',
  'api_key',
  'password',
  'authorization',
  'headers.authorization',
  'headers["x-auth-key"]',
  '*.token',
  '*.apiKey',
  '*.api_key',
  '*.authorization',
  'config.cloudflare.auth',
  'config.posthog.apiKey',
];

export interface LogOptions {
  level: string;
  format: 'json' | 'logfmt';
  destination?: DestinationStream | NodeJS.WritableStream;
}

export function createLogger(options: LogOptions): Logger {
  const target = options.destination ?? process.stdout;
  const destination = options.format === 'logfmt' ? logfmtStream(target) : target;
  return pino(
    {
      level: options.level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    destination as DestinationStream,
  );
}

/** A silent logger for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

function logfmtValue(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}

/** Turns pino's JSON lines into logfmt lines (`time=... level=info msg="..." key=value`). */
export function toLogfmt(line: string): string {
  const record = JSON.parse(line) as Record<string, unknown>;
  const ordered = ['time', 'level', 'msg'];
  const keys = [...ordered.filter((k) => k in record), ...Object.keys(record).filter((k) => !ordered.includes(k))];
  return keys.map((k) => `${k}=${logfmtValue(record[k])}`).join(' ');
}

function logfmtStream(target: NodeJS.WritableStream | DestinationStream): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const out = chunk
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map(toLogfmt)
        .join('\n');
      (target as NodeJS.WritableStream).write(`${out}\n`);
      callback();
    },
  });
}
