#!/usr/bin/env bash
# Fetches Debian's prometheus (2.42: prometheus, promtool) and prometheus-alertmanager (0.25:
# alertmanager, amtool) packages and unpacks them into .tools/ without installing them, so no
# service starts. Tests find the binaries in .tools/bin. Idempotent.
# With --optional (what `npm test` uses), a machine that cannot fetch Debian packages gets a
# warning and the tests that need the binaries skip; CI runs it without --optional.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--optional" ]; then
  bash "$0" || echo "warning: could not fetch Debian's prometheus/alertmanager packages; tests that need promtool, amtool or the servers will skip" >&2
  exit 0
fi
tools="$PWD/.tools"
# Debian builds Alertmanager with its notification templates (default.tmpl, email.tmpl) at a
# fixed path; without them the server refuses its configuration. Put those two files there (no
# package is installed, no service started). Needs root, as apt-get does.
am_templates=/usr/share/prometheus/alertmanager
place_template() {
  mkdir -p "$am_templates"
  for t in default.tmpl email.tmpl; do
    [ -f "$am_templates/$t" ] || cp "$tools/root$am_templates/$t" "$am_templates/$t"
  done
}
if [ -x "$tools/bin/promtool" ] && [ -x "$tools/bin/amtool" ] && [ -x "$tools/bin/prometheus" ] && [ -x "$tools/bin/alertmanager" ]; then
  place_template
  exit 0
fi
mkdir -p "$tools/debs" "$tools/root" "$tools/bin"
if ! apt-cache show prometheus >/dev/null 2>&1; then
  apt-get update -qq
fi
(cd "$tools/debs" && apt-get download -qq prometheus prometheus-alertmanager)
for deb in "$tools"/debs/*.deb; do dpkg -x "$deb" "$tools/root"; done
ln -sf "$tools/root/usr/bin/prometheus" "$tools/bin/prometheus"
ln -sf "$tools/root/usr/bin/promtool" "$tools/bin/promtool"
ln -sf "$tools/root/usr/bin/prometheus-alertmanager" "$tools/bin/alertmanager"
ln -sf "$tools/root/usr/bin/amtool" "$tools/bin/amtool"
place_template
"$tools/bin/promtool" --version 2>&1 | head -1
"$tools/bin/amtool" --version 2>&1 | head -1
