/**
 * The `health-check-inversion` strategy: the failover records never change; switching clears `Inverted` on the
 * target's health check and sets it on the source's, so the source reports unhealthy and Route 53 answers with the
 * target. The change id is synthetic (`hci:<source check>:<target check>`).
 */
import { GetHealthCheckCommand, UpdateHealthCheckCommand } from '@aws-sdk/client-route-53';
import type { HealthCheck, ResourceRecordSet } from '@aws-sdk/client-route-53';
import type { ClusterId, SiteConfig } from '../../config/topology.js';
import type { CallOptions, DnsChange, Log } from '../../core/ports.js';
import { BatonError } from '../../errors.js';
import { healthCheckHealthy } from './health-check-status.js';
import { clusterOfRecord } from './record-match.js';
import type { Route53Requests } from './route53-requests.js';

const HCI_PREFIX = 'hci:';

/**
 * Un-inverts the target's check and inverts the source's. A source check that already reports unhealthy is left
 * alone: inverting it would make a dead cluster look healthy.
 */
export async function invertHealthChecks(
  requests: Route53Requests,
  site: SiteConfig,
  cluster: ClusterId,
  log: Log,
  options: CallOptions,
): Promise<DnsChange> {
  const ids = site.dns.healthCheckIds ?? {};
  const targetId = ids[cluster];
  const source = Object.keys(site.clusters).find((candidate) => candidate !== cluster);
  const sourceId = source === undefined ? undefined : ids[source];
  if (targetId === undefined || sourceId === undefined) {
    throw new BatonError(
      'dns-misconfigured',
      `Site ${site.name} uses health-check-inversion but dns.healthCheckIds lacks ${targetId === undefined ? cluster : source}`,
    );
  }
  const [targetCheck, sourceCheck] = [
    await getHealthCheck(requests, targetId, options),
    await getHealthCheck(requests, sourceId, options),
  ];
  if (targetCheck.HealthCheckConfig?.Inverted) {
    await setInverted(requests, targetCheck, false, options);
    log.info({ healthCheckId: targetId }, 'target health check no longer inverted');
  }
  if (!sourceCheck.HealthCheckConfig?.Inverted) {
    if (await healthCheckHealthy(requests, sourceId, options)) {
      await setInverted(requests, sourceCheck, true, options);
      log.info({ healthCheckId: sourceId }, 'source health check inverted');
    } else {
      // Inverting a failing check would report the dead cluster healthy and pull traffic back to it.
      log.warn({ healthCheckId: sourceId }, 'source health check already unhealthy; left uninverted');
    }
  }
  return { changeId: `${HCI_PREFIX}${sourceId}:${targetId}` };
}

/** Whether `changeId` is one `invertHealthChecks` made up rather than a Route 53 change. */
export const isHealthCheckChange = (changeId: string): boolean => changeId.startsWith(HCI_PREFIX);

/**
 * INSYNC once GetHealthCheckStatus shows the source unhealthy and the target healthy (more than 18% of checkers
 * healthy).
 */
export async function healthCheckChangeStatus(
  requests: Route53Requests,
  changeId: string,
  options: CallOptions,
): Promise<'PENDING' | 'INSYNC'> {
  const [sourceId = '', targetId = ''] = changeId.slice(HCI_PREFIX.length).split(':');
  const sourceHealthy = await healthCheckHealthy(requests, sourceId, options);
  const targetHealthy = await healthCheckHealthy(requests, targetId, options);
  return !sourceHealthy && targetHealthy ? 'INSYNC' : 'PENDING';
}

/**
 * The cluster whose failover record Route 53 answers with now, from the live health check status: the PRIMARY if
 * its check is healthy, else the SECONDARY if healthy, else the PRIMARY (Route 53 answers as if all were healthy).
 */
export async function answeredCluster(
  requests: Route53Requests,
  site: SiteConfig,
  records: ResourceRecordSet[],
  options: CallOptions,
): Promise<ClusterId | null> {
  const primary = records.find((record) => record.Failover === 'PRIMARY');
  const secondary = records.find((record) => record.Failover === 'SECONDARY');
  const healthy = async (record: ResourceRecordSet | undefined) =>
    record?.HealthCheckId === undefined ? true : healthCheckHealthy(requests, record.HealthCheckId, options);
  let answered: ResourceRecordSet | undefined;
  if (primary && (await healthy(primary))) answered = primary;
  else if (secondary && (await healthy(secondary))) answered = secondary;
  else answered = primary ?? secondary;
  return (answered && clusterOfRecord(site, answered)) ?? null;
}

async function getHealthCheck(
  requests: Route53Requests,
  id: string,
  options: CallOptions,
): Promise<HealthCheck> {
  const output = await requests.call(
    'GetHealthCheck',
    { kind: 'health check', id },
    (abortSignal) => requests.client.send(new GetHealthCheckCommand({ HealthCheckId: id }), { abortSignal }),
    options.signal,
  );
  if (!output.HealthCheck)
    throw new BatonError('route53-error', `GetHealthCheck for ${id} returned no health check`);
  return output.HealthCheck;
}

async function setInverted(
  requests: Route53Requests,
  check: HealthCheck,
  inverted: boolean,
  options: CallOptions,
): Promise<void> {
  const id = check.Id ?? '';
  await requests.call(
    'UpdateHealthCheck',
    { kind: 'health check', id },
    (abortSignal) =>
      requests.client.send(
        new UpdateHealthCheckCommand({
          HealthCheckId: id,
          // Optimistic concurrency: a concurrent edit fails with HealthCheckVersionMismatch instead of being lost.
          ...(check.HealthCheckVersion !== undefined && { HealthCheckVersion: check.HealthCheckVersion }),
          Inverted: inverted,
        }),
        { abortSignal },
      ),
    options.signal,
  );
}
