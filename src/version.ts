// Build identity for cloudflare_tunnel_exporter_build_info and the landing page.
import { readFileSync } from 'node:fs';

function packageJson(): { version?: string; homepage?: string } {
  try {
    return JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string; homepage?: string };
  } catch {
    return {};
  }
}

const pkg = packageJson();
export const VERSION = pkg.version ?? 'unknown';
/** Where the docs are (package.json's homepage), for the landing page. */
export const DOCS_URL = pkg.homepage ?? 'https://github.com/cloudflare-tunnel-exporter/cloudflare-tunnel-exporter#readme';
/**
 * The commit read from a git checkout the package runs from (a clone: `.git/HEAD`, its ref loose or
 * packed), without running git; undefined elsewhere (an installed package, the image).
 */
function gitRevision(): string | undefined {
  const git = new URL('../.git/', import.meta.url);
  const read = (path: string): string | undefined => {
    try {
      return readFileSync(new URL(path, git), 'utf8');
    } catch {
      return undefined;
    }
  };
  const head = read('HEAD')?.trim();
  if (!head) return undefined;
  const ref = /^ref: (\S+)$/.exec(head)?.[1];
  const commit = ref
    ? (read(ref)?.trim() ??
      read('packed-refs')
        ?.split('\n')
        .find((line) => line.endsWith(` ${ref}`))
        ?.split(' ')[0])
    : head;
  return commit && /^[0-9a-f]{40}$/.test(commit) ? commit : undefined;
}

/** BUILD_REVISION (the image build passes the commit), else the clone's commit, else "unknown". */
export const REVISION = process.env.BUILD_REVISION || gitRevision() || 'unknown';
