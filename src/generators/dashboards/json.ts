// Turns a dashboard model into the JSON file Grafana imports. Pure: importing it writes nothing
// (the script that writes the files is ../main.ts), so a test can compare against the committed
// files without changing them.
export function renderDashboard(model: Record<string, unknown>): string {
  return `${JSON.stringify(model, null, 2)}\n`;
}
