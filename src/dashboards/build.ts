// `npm run dashboards`: writes the dashboards in ./definitions.ts to grafana/dashboards/. A script,
// not a module to import: importing it writes the files.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DASHBOARDS } from './definitions.js';
import { renderDashboard } from './render.js';

const out = process.argv[2] ?? join(process.cwd(), 'grafana', 'dashboards');
mkdirSync(out, { recursive: true });
for (const [file, model] of Object.entries(DASHBOARDS)) {
  writeFileSync(join(out, file), renderDashboard(model));
  process.stdout.write(`wrote ${join(out, file)}\n`);
}
