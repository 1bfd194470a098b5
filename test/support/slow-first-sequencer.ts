/**
 * Starts the suite's longest files first. Vitest orders by the durations it cached on the last run, but CI runs on a
 * fresh clone with no cache, and then it orders by file size: the drill (under three minutes, in one test) started
 * among the last and the suite ended a minute and a half after the other workers had gone idle. Long files first,
 * the three workers finish close together. The list is the slowest files measured in CI; the rest keep Vitest's order.
 */
import { BaseSequencer } from 'vitest/node';
import type { TestSpecification } from 'vitest/node';

const SLOWEST_FIRST = [
  'test/e2e/drill.test.ts',
  'test/e2e/sandbox-browser.test.ts',
  'test/integration/worker-kill.test.ts',
  'test/integration/database-safety.test.ts',
  'test/break-glass/break-glass-errors.test.ts',
  'test/e2e/failover-real-adapters.test.ts',
  'test/integration/redis-sentinel-failover.test.ts',
  'test/break-glass/break-glass-slack.test.ts',
  'test/docs/doc-commands.test.ts',
  'test/manifests/dockerfile.test.ts',
  'test/break-glass/break-glass-cli.test.ts',
  'test/integration/redis-cluster-run.test.ts',
];

function rank(spec: TestSpecification): number {
  const index = SLOWEST_FIRST.findIndex((file) => spec.moduleId.endsWith(`/${file}`));
  return index === -1 ? SLOWEST_FIRST.length : index;
}

export class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    // Array.prototype.sort is stable: files off the list keep the order Vitest gave them.
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}
