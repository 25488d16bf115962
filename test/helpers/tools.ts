// Finds the Debian Prometheus/Alertmanager binaries that scripts/install-tools.sh unpacks into
// .tools/bin. In CI (CI=true) or with REQUIRE_TOOLS=1 a missing binary fails the test; on a
// developer machine without them the test is skipped with a message saying how to get them.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const TOOLS_DIR = fileURLToPath(new URL('../../.tools/bin/', import.meta.url));
const required = process.env.CI === 'true' || process.env.REQUIRE_TOOLS === '1';

export function tool(name: 'promtool' | 'amtool' | 'prometheus' | 'alertmanager'): string | undefined {
  const path = `${TOOLS_DIR}${name}`;
  if (existsSync(path)) return path;
  if (required) throw new Error(`${path} is missing: run scripts/install-tools.sh`);
  console.warn(`skipping: ${name} not found; run scripts/install-tools.sh to enable this test`);
  return undefined;
}
