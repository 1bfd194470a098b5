import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start real services; two cores are all CI has.
    fileParallelism: true,
    maxWorkers: 2,
    // Test files share a worker's module cache: importing the SDKs (client-node, the AWS SDK, Bolt) once per worker
    // instead of once per file saves about a minute of the suite's seven. Tests keep no state in Baton's modules:
    // every store, queue, registry and server is built by the test that uses it.
    isolate: false,
    reporters: ['default'],
  },
});
