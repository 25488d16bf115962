// docs/configuration.md, rendered from the settings table (config/schema.ts), so the reference can
// not drift from what the loader accepts. Pure: `npm run generate` writes the file (src/generators/main.ts), and
// test/docs.test.ts holds the committed file to this output.
import { SETTINGS, type Setting } from '../config/schema.js';

const code = (text: string) => `\`${text.replace(/\|/g, '\\|')}\``;

export function renderConfigurationDoc(): string {
  const rows = (SETTINGS as readonly Setting[]).map((s) =>
    [s.env ? code(s.env) : '', s.flag ? code(`--${s.flag}`) : '', code(s.key), s.default !== undefined ? code(s.default) : '', s.doc].join(' | '),
  );
  return `# Configuration

<!-- Generated from src/config/schema.ts by \`npm run generate\`; edit there. -->

Precedence: defaults < YAML file (\`--config.file\` / \`CONFIG_FILE\`) < environment < flags. Invalid
configuration stops start-up with **exit code 2** and one message listing every problem.
\`--config.check\` validates (the web config and the state file's folder included), prints the
effective configuration with secrets redacted (credentials in URLs too), and exits. Unknown YAML keys
are errors; booleans are \`true\`/\`false\` only; durations are \`30s\`, \`10m\`, \`1h\`, \`1h30m\`, at
most \`365d\`. A source is enabled when its credentials and ids are set; with none, the daemon exits 2
and says which variables to set (or \`--demo\`, which runs against the embedded simulator).

| environment | flag | YAML key | default | meaning |
|---|---|---|---|---|
| ${code('CONFIG_FILE')} | ${code('--config.file')} | | | YAML file with any of the keys below |
| | ${code('--config.check')} | | | validate, print the redacted effective configuration, exit |
| | ${code('--demo')} | | | run against the embedded simulator |
${rows.map((r) => `| ${r} |`).join('\n')}

**Secrets.** \`*_FILE\` variables (and the \`*_file\` keys) name a file whose content, trimmed, is the
secret: for Docker and Kubernetes secrets. Within one layer set a secret or its file, not both; a
higher layer's credential replaces a lower layer's (a token in the environment wins over a token
file in YAML). A secret with a line break or control character inside is refused (exit 2).

**Example.** A complete YAML file is [\`examples/config.yml\`](../examples/config.yml).

**Web config.** \`--web.config.file\` takes the exporter-toolkit format: \`tls_server_config\`
(\`cert_file\`, \`key_file\`, \`client_auth_type\`, \`client_ca_file\`, \`client_allowed_sans\`,
\`min_version\`, \`max_version\`, \`cipher_suites\`, \`curve_preferences\`,
\`prefer_server_cipher_suites\`; paths relative to the file), \`basic_auth_users\` (bcrypt hashes, e.g.
from \`htpasswd -nBC 10 user\`), and \`http_server_config.headers\`; SIGHUP reloads it. The README's
Reliability section says what is enforced and what is refused.
`;
}
