/** Drift between two clusters' pod templates: each difference one short line, none when they agree. */
import { describe, expect, it } from 'vitest';
import type { ContainerTemplate, WorkloadTemplate } from '../../../src/core/ports.js';
import { templateDrift } from '../../../src/core/readiness/drift.js';

const MiB = 2 ** 20;

function container(overrides: Partial<ContainerTemplate> = {}): ContainerTemplate {
  return {
    name: 'app',
    image: 'registry.example/app:1.5',
    envNames: ['DATABASE_URL', 'LOG_LEVEL'],
    requests: { cpuMillis: 250, memoryBytes: 512 * MiB },
    ...overrides,
  };
}

function template(overrides: Partial<WorkloadTemplate> = {}): WorkloadTemplate {
  return { containers: [container()], configMaps: ['web-config'], secrets: ['web-db'], ...overrides };
}

const drift = (west: WorkloadTemplate, east: WorkloadTemplate) =>
  templateDrift('web', { cluster: 'west', template: west }, { cluster: 'east', template: east });

describe('templateDrift', () => {
  it('finds nothing between equal templates', () => {
    expect(drift(template(), template())).toEqual([]);
  });

  it('names an image that differs, each side with its own', () => {
    const west = template({ containers: [container({ image: 'registry.example/app:1.4' })] });
    expect(drift(west, template())).toEqual([
      'web: image registry.example/app:1.4 on west, registry.example/app:1.5 on east',
    ]);
  });

  it('names env vars present on one side only, per side, sorted', () => {
    const west = template({ containers: [container({ envNames: ['DATABASE_URL', 'FEATURE_X'] })] });
    const east = template({
      containers: [container({ envNames: ['DATABASE_URL', 'TRACING', 'LOG_LEVEL'] })],
    });
    expect(drift(west, east)).toEqual([
      'web: env FEATURE_X only on west',
      'web: env LOG_LEVEL, TRACING only on east',
    ]);
  });

  it('names ConfigMaps and Secrets referred to on one side only', () => {
    const west = template({ configMaps: [], secrets: ['web-db', 'registry-pull'] });
    expect(drift(west, template())).toEqual([
      'web: ConfigMap web-config only on east',
      'web: Secret registry-pull only on west',
    ]);
  });

  it('names requests that differ, in CPU and memory', () => {
    const east = template({
      containers: [container({ requests: { cpuMillis: 1500, memoryBytes: 2 * 1024 * MiB } })],
    });
    expect(drift(template(), east)).toEqual([
      'web: requests 250m CPU / 512 MiB on west, 1.5 CPU / 2 GiB on east',
    ]);
  });

  it('names the container when the pod has several, and a container one side lacks', () => {
    const proxy = container({ name: 'proxy', image: 'registry.example/envoy:1.30', envNames: [] });
    const west = template({ containers: [container(), proxy] });
    const east = template({ containers: [container(), { ...proxy, image: 'registry.example/envoy:1.31' }] });
    expect(drift(west, east)).toEqual([
      'web/proxy: image registry.example/envoy:1.30 on west, registry.example/envoy:1.31 on east',
    ]);
    expect(drift(west, template())).toEqual(['web: container proxy only on west']);
  });

  it('lists every difference at once', () => {
    const west = template({
      containers: [container({ image: 'registry.example/app:1.4', envNames: ['DATABASE_URL'] })],
      secrets: [],
    });
    expect(drift(west, template())).toHaveLength(3);
  });
});
