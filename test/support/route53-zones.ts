/**
 * Sites that each have a hosted zone of their own, for tests that need Route 53 requests that cannot be gathered:
 * reads and changes of one zone that wait together share requests (read-record-sets.ts, change-batches.ts), so a
 * burst of distinct requests needs distinct zones.
 */
import type { SiteConfig } from '../../src/config/topology.js';

export function sitesInOwnZones(base: SiteConfig, count: number): SiteConfig[] {
  return Array.from({ length: count }, (_, i) => {
    const label = `zone${String(i + 1).padStart(2, '0')}`;
    return {
      ...base,
      name: `${base.name}-${label}`,
      dns: {
        ...base.dns,
        hostedZoneId: `Z0${label.toUpperCase()}BATONTEST`,
        recordName: `app.${label}.example.com`,
      },
    };
  });
}
