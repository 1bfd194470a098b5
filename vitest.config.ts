import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start real services; two cores are all CI has.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
