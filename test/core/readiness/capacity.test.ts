/**
 * The standby's capacity for the serving replica count: pods to add times their requests, against the free
 * resources of its Ready, schedulable nodes, summed; "needs N more nodes of <the common size>" when it does not fit.
 */
import { describe, expect, it } from 'vitest';
import type { NodeCapacity } from '../../../src/core/ports.js';
import type { CapacityDemand } from '../../../src/core/readiness/capacity.js';
import { capacityVerdict } from '../../../src/core/readiness/capacity.js';

const GiB = 2 ** 30;

function node(
  name: string,
  cpu: number,
  memGiB: number,
  used: { cpu?: number; memGiB?: number; pods?: number } = {},
): NodeCapacity {
  return {
    name,
    allocatable: { cpuMillis: cpu * 1000, memoryBytes: memGiB * GiB, pods: 110 },
    requested: {
      cpuMillis: (used.cpu ?? 0) * 1000,
      memoryBytes: (used.memGiB ?? 0) * GiB,
      pods: used.pods ?? 0,
    },
  };
}

function web(replicas: number, current: number, cpuMillis = 500, memGiB = 1): CapacityDemand {
  return { label: 'web', replicas, current, podRequests: { cpuMillis, memoryBytes: memGiB * GiB } };
}

describe('capacityVerdict', () => {
  it('fits when the free resources, summed over the nodes, cover the pods to add', () => {
    const verdict = capacityVerdict('west', [web(5, 1)], [node('w1', 4, 16), node('w2', 4, 16, { cpu: 3 })]);
    expect(verdict).toEqual({
      fits: true,
      detail: 'west has room for 4 more pods (2 CPU / 4 GiB): 5 CPU / 32 GiB free on 2 nodes',
    });
  });

  it('counts only the pods still to add: a warmed standby needs nothing more', () => {
    expect(capacityVerdict('west', [web(5, 5), web(3, 7)], []).fits).toBe(true);
  });

  it('says how many nodes of the common size are missing, and what is short', () => {
    // 20 pods to add: 10 CPU, 20 GiB; free 3.5 CPU / 16 GiB → short 6.5 CPU, 4 GiB → 2 nodes of 4 CPU.
    const nodes = [node('w1', 4, 16, { cpu: 2.5, memGiB: 8 }), node('w2', 4, 16, { cpu: 2, memGiB: 8 })];
    const verdict = capacityVerdict('west', [web(21, 1)], nodes);
    expect(verdict.fits).toBe(false);
    expect(verdict.detail).toMatch(
      /^west needs 2 more nodes of 4 CPU \/ 16 GiB \(short 6\.5 CPU, 4 GiB\) — /,
    );
  });

  it('takes N per resource and the largest of them', () => {
    // Memory-bound: 10 pods of 4 GiB = 40 GiB against 16 GiB free → short 24 GiB → 2 nodes of 16 GiB; CPU is fine.
    const verdict = capacityVerdict('west', [web(10, 0, 100, 4)], [node('w1', 8, 16)]);
    expect(verdict.detail).toMatch(/^west needs 2 more nodes of 8 CPU \/ 16 GiB \(short 24 GiB\)/);
  });

  it('sizes new nodes after the most common node, not the largest', () => {
    const nodes = [
      node('big', 16, 64, { cpu: 16, memGiB: 64 }),
      node('a', 2, 8, { cpu: 2 }),
      node('b', 2, 8, { cpu: 2 }),
    ];
    const verdict = capacityVerdict('west', [web(8, 0)], nodes);
    expect(verdict.detail).toMatch(/^west needs 2 more nodes of 2 CPU \/ 8 GiB \(short 4 CPU\)/);
  });

  it('counts pods against the nodes’ pod limit too', () => {
    const full = {
      ...node('w1', 64, 256),
      allocatable: { cpuMillis: 64_000, memoryBytes: 256 * GiB, pods: 10 },
    };
    full.requested.pods = 8;
    const verdict = capacityVerdict('west', [web(5, 0, 10, 0)], [full]);
    expect(verdict.detail).toMatch(/^west needs 1 more node of 64 CPU \/ 256 GiB \(short 3 pods\)/);
  });

  it('refuses a pod bigger than every node, even with room in the sum', () => {
    const nodes = [node('w1', 4, 16), node('w2', 4, 16), node('w3', 4, 16)];
    const verdict = capacityVerdict('west', [web(1, 0, 6000, 2)], nodes);
    expect(verdict.fits).toBe(false);
    expect(verdict.detail).toMatch(
      /^web: one pod requests 6 CPU \/ 2 GiB, more than any west node offers \(largest 4 CPU \/ 16 GiB\)/,
    );
  });

  it('refuses when no node is Ready and schedulable', () => {
    expect(capacityVerdict('west', [web(2, 0)], [])).toEqual({
      fits: false,
      detail: 'west has no Ready, schedulable node for 2 more pods',
    });
  });

  it('treats overcommitted nodes as having nothing free, not less than nothing', () => {
    const over = node('w1', 4, 16, { cpu: 6 });
    const verdict = capacityVerdict('west', [web(2, 0)], [over, node('w2', 4, 16)]);
    expect(verdict.fits).toBe(true);
    expect(verdict.detail).toContain('4 CPU / 32 GiB free');
  });
});
