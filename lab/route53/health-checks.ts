/**
 * Health checks and what their checkers see. A check is healthy when more than 18% of its checkers see it healthy,
 * after inversion; a disabled check counts as healthy (inverted: unhealthy). A change of `Inverted` reaches the
 * checkers only after the propagation delay, as real checkers pick it up within one request interval.
 *
 * CALCULATED checks have no checkers: one is healthy when at least `HealthThreshold` of its child checks are
 * healthy (a threshold above the number of children: always unhealthy; 0: always healthy — API reference,
 * HealthCheckConfig `HealthThreshold`), then inverted like any other; disabled, it stops aggregating and counts as
 * healthy.
 */
import { ApiError } from './route53-errors.js';
import type { HealthCheckSeed, HealthCheckView } from './route53-types.js';

/** The regions GetHealthCheckStatus reports checkers from, one checker each. */
export const CHECKER_REGIONS = [
  'us-east-1',
  'us-west-1',
  'us-west-2',
  'eu-west-1',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-northeast-1',
  'sa-east-1',
] as const;

export interface HealthCheckState {
  id: string;
  callerReference: string;
  type: 'HTTP' | 'HTTPS' | 'TCP' | 'CALCULATED';
  /** CALCULATED only: the child checks and how many of them must be healthy. */
  childHealthChecks: string[];
  healthThreshold: number;
  fqdn?: string;
  ipAddress?: string;
  port: number;
  resourcePath?: string;
  requestInterval: number;
  failureThreshold: number;
  inverted: boolean;
  disabled: boolean;
  version: number;
  healthyCheckers: number;
  /** When each `Inverted` value reached the checkers, oldest first. */
  invertedHistory: { at: number; value: boolean }[];
}

/** What one checker reports: healthy after inversion (`effective`) and before it (`raw`). */
export interface CheckerState {
  effective: boolean;
  raw: boolean;
}

/** Route 53's own health rule: healthy when more than 18% of the checkers report healthy. */
const healthyByCheckers = (healthy: number, total: number): boolean => healthy / total > 0.18;

function checkFromSeed(seed: HealthCheckSeed): HealthCheckState {
  const children = seed.childHealthChecks ?? [];
  return {
    id: seed.id,
    callerReference: `baton-stand-in-${seed.id}`,
    type: seed.type ?? 'HTTPS',
    childHealthChecks: [...children],
    healthThreshold: seed.healthThreshold ?? children.length,
    ...(seed.fqdn !== undefined && { fqdn: seed.fqdn }),
    ...(seed.ipAddress !== undefined && { ipAddress: seed.ipAddress }),
    port: seed.port ?? (seed.type === 'HTTP' ? 80 : 443),
    ...(seed.resourcePath !== undefined && { resourcePath: seed.resourcePath }),
    requestInterval: 30,
    failureThreshold: 3,
    inverted: seed.inverted ?? false,
    disabled: seed.disabled ?? false,
    version: 1,
    healthyCheckers: seed.healthy === false ? 0 : CHECKER_REGIONS.length,
    invertedHistory: [{ at: Number.NEGATIVE_INFINITY, value: seed.inverted ?? false }],
  };
}

export class HealthChecks {
  private readonly checks = new Map<string, HealthCheckState>();
  /** How long a change of `Inverted` takes to reach the checkers. */
  propagationMs: number;

  constructor(
    seeds: readonly HealthCheckSeed[],
    private readonly now: () => number,
    propagationMs: number,
  ) {
    this.propagationMs = propagationMs;
    for (const seed of seeds) this.checks.set(seed.id, checkFromSeed(seed));
    for (const check of this.checks.values()) {
      const missing = check.childHealthChecks.filter((child) => !this.checks.has(child));
      if (missing.length > 0)
        throw new Error(`health check ${check.id}: no child check ${missing.join(', ')}`);
      if (check.type === 'CALCULATED' && check.childHealthChecks.length === 0) {
        throw new Error(`health check ${check.id}: a CALCULATED check needs child health checks`);
      }
    }
  }

  /** The check, or the API's NoSuchHealthCheck. */
  get(id: string): HealthCheckState {
    const check = this.checks.get(id);
    if (!check) throw new ApiError(404, 'NoSuchHealthCheck', `A health check with id ${id} does not exist.`);
    return check;
  }

  find(id: string): HealthCheckState | undefined {
    return this.checks.get(id);
  }

  /** Sets `Inverted` as configured; the checkers follow after the propagation delay. */
  setInverted(check: HealthCheckState, inverted: boolean): void {
    if (inverted === check.inverted) return;
    check.inverted = inverted;
    check.invertedHistory.push({ at: this.now() + this.propagationMs, value: inverted });
  }

  /** `Inverted` as the checkers know it at `time`. */
  invertedAt(check: HealthCheckState, time: number): boolean {
    let value = check.invertedHistory[0]?.value ?? false;
    for (const entry of check.invertedHistory) if (entry.at <= time) value = entry.value;
    return value;
  }

  /** What each checker (one per CHECKER_REGIONS entry) reports at `time`. */
  checkerStates(check: HealthCheckState, time: number): CheckerState[] {
    const inverted = this.invertedAt(check, time);
    return CHECKER_REGIONS.map((_region, index) => {
      // A disabled check counts as healthy (inverted: unhealthy) whatever the endpoint does.
      const raw = check.disabled ? true : index < check.healthyCheckers;
      return { raw, effective: raw !== inverted };
    });
  }

  /** What Route 53 routes on at `time`. */
  effectiveHealthy(check: HealthCheckState, time: number, depth = 0): boolean {
    if (check.type === 'CALCULATED') {
      // A disabled calculated check stops aggregating its children and counts as healthy (inverted: unhealthy).
      const raw =
        check.disabled ||
        (depth < 8 &&
          check.childHealthChecks.filter((id) => {
            const child = this.checks.get(id);
            return child !== undefined && this.effectiveHealthy(child, time, depth + 1);
          }).length >= check.healthThreshold);
      return raw !== this.invertedAt(check, time);
    }
    const states = this.checkerStates(check, time);
    return healthyByCheckers(states.filter((state) => state.effective).length, states.length);
  }

  /** What the checkers see at the endpoint: healthy or not, or how many of them see it healthy. */
  setHealth(id: string, healthy: boolean | number): void {
    const check = this.checks.get(id);
    if (!check) throw new Error(`no health check ${id} in the Route 53 stand-in`);
    if (check.type === 'CALCULATED')
      throw new Error(`${id} is CALCULATED: set the health of its child checks`);
    const total = CHECKER_REGIONS.length;
    check.healthyCheckers =
      typeof healthy === 'number' ? Math.max(0, Math.min(total, Math.round(healthy))) : healthy ? total : 0;
  }

  view(id: string): HealthCheckView | undefined {
    const check = this.checks.get(id);
    if (!check) return undefined;
    return {
      id,
      version: check.version,
      inverted: check.inverted,
      disabled: check.disabled,
      healthyCheckers: check.type === 'CALCULATED' ? 0 : check.healthyCheckers,
      effectiveHealthy: this.effectiveHealthy(check, this.now()),
    };
  }
}
