// The container image scripts/build-image.sh builds (buildah, vfs storage), and a way to run it as a
// container runtime would without one: the image's root filesystem (a buildah working container),
// mounted read-only in a private mount and PID namespace, with /proc, /dev, the given volumes and
// tmpfs mounts, then chroot into it as the given user, in the image's working folder, with the
// image's environment and the given one. The process is PID 1 there, so the HEALTHCHECK (run with
// `exec`, in the same namespaces) reads the daemon's command line as it does in a container.
// In CI (CI=true) or with REQUIRE_TOOLS=1 a missing image fails the test; elsewhere it is skipped.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const IMAGE = process.env.IMAGE ?? 'localhost/cloudflare-tunnel-exporter:dev';
const required = process.env.CI === 'true' || process.env.REQUIRE_TOOLS === '1';
const buildahEnv = { ...process.env, STORAGE_DRIVER: process.env.STORAGE_DRIVER ?? 'vfs' };

function buildah(args: string[]): string {
  return execFileSync('buildah', args, { env: buildahEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export interface ImageConfig {
  User: string;
  Env: string[];
  Cmd: string[];
  WorkingDir: string;
  Labels: Record<string, string>;
  Healthcheck: { Test: string[] };
}

/** The image's Docker config; skips (or, in CI, fails) the test when the image was not built. */
export function builtImage(ctx: { skip: (note?: string) => never }): ImageConfig & { size: number } {
  let inspected: string;
  try {
    inspected = buildah(['inspect', '--type', 'image', IMAGE]);
  } catch {
    if (required) throw new Error(`${IMAGE} is missing: run scripts/build-image.sh`);
    return ctx.skip(`${IMAGE} not built: run scripts/build-image.sh (needs root, buildah and debootstrap) to run this test`);
  }
  const config = (JSON.parse(inspected) as { Docker: { config: ImageConfig } }).Docker.config;
  const images = JSON.parse(buildah(['images', '--json', IMAGE])) as { size: string }[];
  return { ...config, size: parseSize(images[0]?.size ?? '') };
}

/** buildah's "290 MB" (decimal units, as it prints them) in bytes. */
function parseSize(text: string): number {
  const m = /^([\d.]+) (B|kB|KB|MB|GB)$/.exec(text);
  if (!m) throw new Error(`unreadable image size ${JSON.stringify(text)}`);
  const unit = { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9 }[m[2] as 'B'];
  return Number(m[1]) * unit;
}

export interface RunOptions {
  /** uid:gid (the pod's runAsUser and runAsGroup). */
  user: string;
  readOnlyRoot: boolean;
  /** Host folder -> path in the container. */
  volumes?: Record<string, string>;
  env?: Record<string, string>;
}

/** One container of the image: its own copy of the root filesystem, removed by close(). */
export class Container {
  private readonly name: string;
  private readonly root: string;
  private readonly children: ChildProcess[] = [];
  /** The environment the container was started with (what `exec` runs with too). */
  private env: string[] = [];

  constructor(private readonly config: ImageConfig) {
    this.name = buildah(['from', '--pull=never', IMAGE]);
    this.root = buildah(['mount', this.name]);
  }

  /** Starts `command` (the image's CMD by default) as PID 1 of the container. */
  start(options: RunOptions, command: string[] = this.config.Cmd): ChildProcess {
    const volumes = Object.entries(options.volumes ?? {});
    const script = [
      'set -e',
      'root="$1"; shift',
      // Mount points first, while the working copy is still writable (a runtime makes them too).
      ...volumes.map(([, path]) => `mkdir -p "$root${path}"`),
      'mount --bind "$root" "$root"',
      options.readOnlyRoot ? 'mount -o remount,bind,ro "$root"' : ':',
      ...volumes.map(([host, path]) => `mount --bind "${host}" "$root${path}"`),
      'mount -t proc proc "$root/proc"',
      'mount --rbind /dev "$root/dev"',
      `exec chroot --userspec=${options.user} "$root" /usr/bin/env -i -C "${this.config.WorkingDir}" "$@"`,
    ].join('\n');
    const env = [...this.config.Env, ...Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`)];
    this.env = env;
    const child = spawn('unshare', [
      '--mount',
      '--propagation',
      'private',
      '--pid',
      '--fork',
      '--kill-child',
      'sh',
      '-c',
      script,
      'sh',
      this.root,
      ...env,
      ...command,
    ]);
    this.children.push(child);
    return child;
  }

  /** The container's PID 1 as the host numbers it. */
  pid1(child: ChildProcess): number {
    const pid = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
    if (!pid) throw new Error('the container has no process');
    return pid;
  }

  /** Runs `command` inside a running container's namespaces, with its environment (what `docker exec` and HEALTHCHECK do). */
  exec(pid1: ChildProcess, user: string, command: string[]): { code: number; output: string } {
    const inner = String(this.pid1(pid1));
    const vars = this.env;
    try {
      const output = execFileSync(
        'nsenter',
        [
          '--target',
          inner,
          '--mount',
          '--pid',
          'chroot',
          `--userspec=${user}`,
          this.root,
          '/usr/bin/env',
          '-i',
          '-C',
          this.config.WorkingDir,
          ...vars,
          ...command,
        ],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 },
      );
      return { code: 0, output };
    } catch (err) {
      const e = err as { status?: number; stdout?: string; stderr?: string };
      return { code: e.status ?? -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
    }
  }

  close(): void {
    for (const child of this.children) if (child.exitCode === null) child.kill('SIGKILL');
    try {
      buildah(['rm', this.name]);
    } catch {
      // Already gone.
    }
  }
}
