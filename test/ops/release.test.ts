// Releases (docs/releasing.md): one version for the npm package, the image, the chart and the
// manifests; a CHANGELOG whose every release is dated, listed once, newest first, and linked to its
// tag (`v<version>`), with [Unreleased] on top.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(`${root}${path}`, 'utf8');
const version = (JSON.parse(read('package.json')) as { version: string }).version;
const REPO = 'https://github.com/cloudflare-tunnel-exporter/cloudflare-tunnel-exporter';

const semver = (v: string) => v.split('.').map(Number) as [number, number, number];
const newer = (a: string, b: string) => {
  const [x, y] = [semver(a), semver(b)];
  return x[0] !== y[0] ? x[0] > y[0] : x[1] !== y[1] ? x[1] > y[1] : x[2] > y[2];
};

describe('a release', () => {
  it('has one version: package.json, the lockfile, the chart, its appVersion, and the manifests’ image tag', () => {
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    const lock = JSON.parse(read('package-lock.json')) as { version: string; packages: Record<string, { version?: string }> };
    expect(lock.version).toBe(version);
    expect(lock.packages['']?.version).toBe(version);
    const chart = parse(read('deploy/helm/cloudflare-tunnel-exporter/Chart.yaml')) as { version: string; appVersion: string };
    expect(chart).toMatchObject({ version, appVersion: version });
    const kustomization = parse(read('deploy/kubernetes/kustomization.yaml')) as { images: { name: string; newName?: string; newTag: string }[] };
    expect(kustomization.images).toEqual([{ name: 'cloudflare-tunnel-exporter', newName: expect.any(String), newTag: version }]);
    expect((parse(read('deploy/kubernetes-sharded/kustomization.yaml')) as typeof kustomization).images).toEqual(kustomization.images);
    const values = parse(read('deploy/helm/cloudflare-tunnel-exporter/values.yaml')) as { image: { repository: string } };
    // One image, one registry: what the chart pulls is what kustomize pulls.
    expect(kustomization.images[0]?.newName).toBe(values.image.repository);
  });

  it('has a CHANGELOG with [Unreleased] first, then each release once, dated, newest first, linked to its v-tag', () => {
    const changelog = read('CHANGELOG.md');
    const headings = [...changelog.matchAll(/^## (.*)$/gm)].map((m) => m[1] as string);
    expect(headings[0]).toBe('[Unreleased]');
    const releases = headings.slice(1).map((h) => {
      const m = /^\[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$/.exec(h);
      expect(m, `"## ${h}" is not "## [x.y.z] - YYYY-MM-DD"`).not.toBeNull();
      return { version: m?.[1] as string, date: m?.[2] as string };
    });
    expect(releases[0]?.version).toBe(version);
    expect(new Set(releases.map((r) => r.version)).size).toBe(releases.length);
    for (let i = 1; i < releases.length; i++) {
      expect(newer(releases[i - 1]?.version as string, releases[i]?.version as string)).toBe(true);
      expect((releases[i - 1]?.date as string) >= (releases[i]?.date as string)).toBe(true);
    }
    expect(changelog).toContain(`[Unreleased]: ${REPO}/compare/v${version}...HEAD`);
    releases.forEach((r, i) => {
      const previous = releases[i + 1];
      expect(changelog).toContain(
        previous ? `[${r.version}]: ${REPO}/compare/v${previous.version}...v${r.version}` : `[${r.version}]: ${REPO}/releases/tag/v${r.version}`,
      );
    });
  });
});
