/** Whether a Route 53 health check reports healthy now (GetHealthCheckStatus), by Route 53's own rule. */
import { GetHealthCheckStatusCommand } from '@aws-sdk/client-route-53';
import type { HealthCheckObservation } from '@aws-sdk/client-route-53';
import type { CallOptions } from '../../core/ports.js';
import type { Route53Requests } from './route53-requests.js';

/** Route 53's rule: healthy when more than 18% of the checkers report success. No reports yet: healthy. */
export function healthyFromObservations(observations: HealthCheckObservation[] | undefined): boolean {
  const reports = observations ?? [];
  if (reports.length === 0) return true;
  const healthy = reports.filter((report) => report.StatusReport?.Status?.startsWith('Success')).length;
  return healthy / reports.length > 0.18;
}

/** Reads the checkers' latest reports on `healthCheckId` and applies Route 53's rule to them. */
export async function healthCheckHealthy(
  requests: Route53Requests,
  healthCheckId: string,
  options: CallOptions,
): Promise<boolean> {
  const output = await requests.call(
    'GetHealthCheckStatus',
    { kind: 'health check', id: healthCheckId },
    (abortSignal) =>
      requests.client.send(new GetHealthCheckStatusCommand({ HealthCheckId: healthCheckId }), {
        abortSignal,
      }),
    options.signal,
  );
  return healthyFromObservations(output.HealthCheckObservations);
}
