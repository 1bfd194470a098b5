/**
 * One line of `baton doctor`: a check of one permission or connection Baton needs during an incident, its outcome
 * and, when it is not fine, what to do. The systems' checks build these; the runner collects them, the renderer
 * prints them, and at boot /readyz?verbose lists them.
 */
import { describeError, hintFor, isBatonError } from '../errors.js';

export type DoctorSystem = 'slack' | 'kubernetes' | 'route53' | 'postgresql';

export interface DoctorCheck {
  system: DoctorSystem;
  /** What was checked, e.g. `production east: update deployments/scale in default`. */
  name: string;
  /** `warn`: could not be checked, or works in a weaker way; never fails the doctor. */
  status: 'ok' | 'warn' | 'fail';
  /** What was found. */
  detail: string;
  /** What the operator does about it (not for `ok`). */
  fix?: string;
  /**
   * A failure because the system did not answer (down, or the network to it), rather than a refusal. At boot it is
   * logged and listed but does not make /readyz fail: during the incident Baton exists for, one side is down.
   */
  unreachable?: boolean;
}

export const ok = (system: DoctorSystem, name: string, detail: string): DoctorCheck => ({
  system,
  name,
  status: 'ok',
  detail,
});

export const fail = (system: DoctorSystem, name: string, detail: string, fix: string): DoctorCheck => ({
  system,
  name,
  status: 'fail',
  detail,
  fix,
});

export const warn = (system: DoctorSystem, name: string, detail: string, fix: string): DoctorCheck => ({
  system,
  name,
  status: 'warn',
  detail,
  fix,
});

/**
 * A check that threw: the adapters' messages already say what to do, so the message is the fix. Retriable errors
 * (no answer, throttled, 5xx) are the system being unreachable.
 */
export function failed(system: DoctorSystem, name: string, error: unknown): DoctorCheck {
  const retriable = isBatonError(error) && error.retriable;
  return {
    system,
    name,
    status: 'fail',
    detail: describeError(error),
    fix: retriable
      ? 'make it reachable from where Baton runs, then run baton doctor again'
      : (hintFor(error) ?? 'do what the detail says, then run baton doctor again'),
    ...(retriable && { unreachable: true }),
  };
}
