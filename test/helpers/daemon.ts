// Runs the built daemon (dist/cli.js) as a user would, and reads its JSON log for the URL.
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
export const GUARD = fileURLToPath(new URL('./loopback-only.js', import.meta.url));

/**
 * The environment a spawned daemon gets: PATH, what the test sets, and the loopback-only guard,
 * which NODE_OPTIONS from the test (the Docker image's, say) is added to, never replaces.
 */
function daemonEnv(env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? '', ...env, NODE_OPTIONS: [`--import=${GUARD}`, env.NODE_OPTIONS].filter(Boolean).join(' ') };
}

export interface Daemon {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

const running: ChildProcess[] = [];
afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Runs the daemon to completion (for exits like --config.check and invalid config). */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: daemonEnv(env) });
    running.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts the daemon on a free loopback port and resolves once it logs that it listens. */
export function startDaemon(args: string[], env: Record<string, string> = {}, nodeFlags: string[] = []): Promise<Daemon> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, CLI, '--web.listen-address=127.0.0.1:0', ...args], { env: daemonEnv(env) });
    running.push(child);
    let stdout = '';
    let stderr = '';
    const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const timer = setTimeout(() => reject(new Error(`daemon did not start:\n${stdout}\n${stderr}`)), 15_000);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const match = /"url":"([^"]+)".*"msg":"exporter listening"|msg="exporter listening".*url=(\S+)|url=(\S+).*msg="exporter listening"/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: (match[1] ?? match[2] ?? match[3]) as string, stdout: () => stdout, stderr: () => stderr, exit });
      }
    });
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited with ${code}:\n${stdout}\n${stderr}`));
    });
  });
}

export async function waitFor<T>(what: string | (() => string), fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await fn().catch(() => undefined);
    if (result !== undefined) return result;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A free loopback port (for servers that cannot be told to pick one themselves). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
