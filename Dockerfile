# syntax=docker/dockerfile:1
# cloudflare-tunnel-exporter: multi-stage build on the current Node.js LTS (26, LTS since October 2026), production
# dependencies only, running as the unprivileged `node` user.
#
# The base: the official Node image at the exact Node version CI tests (.ci/run), on Debian 12.
# A release pins it by digest: resolve the tag's index digest (`skopeo inspect --format '{{.Digest}}'
# docker://docker.io/library/node:26.10.0-bookworm-slim`) and build with
# `--build-arg NODE_IMAGE=docker.io/library/node:26.10.0-bookworm-slim@sha256:<digest>`; the image
# records what it was built on in its org.opencontainers.image.base.* labels (docs/releasing.md).
# scripts/build-image.sh reads these three lines; keep NODE_VERSION and DEBIAN_RELEASE equal to the tag.
ARG NODE_IMAGE=docker.io/library/node:26.10.0-bookworm-slim
ARG NODE_VERSION=26.10.0
ARG DEBIAN_RELEASE=bookworm

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
ARG NODE_IMAGE
ARG BUILD_REVISION=unknown
ARG VERSION=unknown
ARG CREATED=unknown
ARG BASE_DIGEST=unknown
LABEL org.opencontainers.image.title="cloudflare-tunnel-exporter" \
      org.opencontainers.image.description="Prometheus exporter for Cloudflare Tunnels, WARP Connectors, Gateway proxy endpoints and PostHog managed reverse proxy records" \
      org.opencontainers.image.source="https://github.com/cloudflare-tunnel-exporter/cloudflare-tunnel-exporter" \
      org.opencontainers.image.url="https://github.com/cloudflare-tunnel-exporter/cloudflare-tunnel-exporter#readme" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${BUILD_REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${NODE_IMAGE}" \
      org.opencontainers.image.base.digest="${BASE_DIGEST}"
ENV NODE_ENV=production \
    BUILD_REVISION=${BUILD_REVISION}
# glibc's malloc puts blocks under its mmap threshold (128 KiB at first, raised each time a larger
# block is freed) in its heap. The exposition's compressed pieces and the buffers zlib works in (16 KiB
# to a few hundred) are replaced as tunnels change and wait for V8's next full collection; in the
# heap, the long-lived ones between them keep the freed space from going back to the system. From
# 16 KiB up they get their own mappings, returned when freed (docs/performance.md, Memory).
ENV MALLOC_MMAP_THRESHOLD_=16384
# V8's young generation: two semi-spaces of up to 32 MiB each on Node 26, 16 on Node 22. At 10,000
# tunnels, 8 MiB took 13 MiB off RSS p50 against 16 in paired runs, with the same heap floor; with
# every tunnel read, RSS p50 was 178 MiB (4 MiB: 220) (docs/performance.md, Soaks). Set
# NODE_OPTIONS yourself to change it; it replaces this line.
ENV NODE_OPTIONS=--max-semi-space-size=8
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# REMEDIATION_STATE_FILE's folder (compose and Kubernetes mount a volume here): a new volume takes
# the image folder's owner, so the unprivileged user can write the recreate journal.
RUN mkdir -p /var/lib/cloudflare-tunnel-exporter && chown node:node /var/lib/cloudflare-tunnel-exporter
USER node
EXPOSE 9877
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["node", "dist/healthcheck.js"]
CMD ["node", "--disable-sigusr1", "dist/cli.js"]
