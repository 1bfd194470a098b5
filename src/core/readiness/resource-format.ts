/** CPU and memory amounts as readiness shows them: `250m CPU`, `6.5 CPU`, `512 MiB`, `4 CPU / 16 GiB`. */
import type { ResourceAmounts } from '../ports.js';
import { formatBytes } from '../steps/step.js';

export function formatCpu(millis: number): string {
  if (millis < 1000) return `${millis}m CPU`;
  return `${Number((millis / 1000).toFixed(2))} CPU`;
}

export function formatAmounts(amounts: ResourceAmounts): string {
  return `${formatCpu(amounts.cpuMillis)} / ${formatBytes(amounts.memoryBytes)}`;
}
