// Build identity for cloudflare_tunnel_exporter_build_info and the landing page.
import { readFileSync } from 'node:fs';

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export const VERSION = packageVersion();
/** Set at image build time (the Dockerfile passes the git commit); "unknown" otherwise. */
export const REVISION = process.env.BUILD_REVISION ?? 'unknown';
