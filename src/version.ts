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
/** Set at image build time (the Dockerfile passes the git commit); "unknown" otherwise. */
export const REVISION = process.env.BUILD_REVISION ?? 'unknown';
