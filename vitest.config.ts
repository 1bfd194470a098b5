import { defineConfig } from 'vitest/config';
import { SlowFirstSequencer } from './test/support/slow-first-sequencer.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start real services; two cores are all CI has. Three workers: most integration tests wait on
    // processes and timers, not CPU (the suite measured 437 s with 3, 546 s with 2, on 2 cores).
    fileParallelism: true,
    maxWorkers: 3,
    // Test files share a worker's module cache: importing the SDKs (client-node, the AWS SDK, Bolt) once per worker
    // instead of once per file saves about a minute of the suite's seven. Tests keep no state in Baton's modules:
    // every store, queue, registry and server is built by the test that uses it.
    isolate: false,
    reporters: ['default'],
    sequence: { sequencer: SlowFirstSequencer },
  },
});
