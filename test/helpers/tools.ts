// Finds the Debian Prometheus/Alertmanager binaries and helm and kubectl that scripts/install-tools.sh
// unpacks into .tools/bin. In CI (CI=true) or with REQUIRE_TOOLS=1 a missing binary fails the test; elsewhere
// the test is marked skipped (vitest reports it as skipped, with how to get the binary), never
// passed.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const TOOLS_DIR = fileURLToPath(new URL('../../.tools/bin/', import.meta.url));
const required = process.env.CI === 'true' || process.env.REQUIRE_TOOLS === '1';

/** The test context's skip, which ends the test as skipped. */
interface Skippable {
  skip: (note?: string) => never;
}

export function tool(name: 'promtool' | 'amtool' | 'prometheus' | 'alertmanager' | 'helm' | 'kubectl', ctx: Skippable): string {
  const path = `${TOOLS_DIR}${name}`;
  if (existsSync(path)) return path;
  if (required) throw new Error(`${path} is missing: run scripts/install-tools.sh`);
  return ctx.skip(`${name} not found: run scripts/install-tools.sh (npm run tools) to run this test`);
}

/** Debian's Chromium (apt-get install chromium; .ci/run installs it), like the tools above. */
export function browser(ctx: Skippable): string {
  const path = '/usr/bin/chromium';
  if (existsSync(path)) return path;
  if (required) throw new Error(`${path} is missing: apt-get install chromium`);
  return ctx.skip('chromium not found: apt-get install chromium to run this test');
}
