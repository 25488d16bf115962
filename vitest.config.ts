import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/helpers/loopback-only.js'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // End-to-end tests start real servers; two workers match the 2-core machines we run on.
    maxWorkers: 2,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
  },
});
