/**
 * The `health-check-inversion` strategy: the failover records never change; switching pins the source's health
 * check unhealthy and releases the target's, so Route 53 answers with the target. The change id is synthetic
 * (`hci:<source check>:<target check>`).
 *
 * Route 53's documented rules this relies on (Developer Guide, "Inverting health checks"; API reference,
 * HealthCheckConfig `Disabled`):
 * - `Inverted`: Route 53 considers the check unhealthy when its status is healthy, and vice versa.
 * - `Disabled`: Route 53 considers the status always healthy; "if you want to stop routing traffic to a resource,
 *   change the value of Inverted". Disabled and inverted together is therefore unhealthy whatever the endpoint
 *   does: a source that is dead now does not turn healthy when inverted, and one that recovers later does not take
 *   traffic back to its fenced database on its own.
 * - Both work the same on endpoint and CALCULATED checks (a disabled calculated check stops aggregating its
 *   children), so calculated checks are supported. Nothing here reads GetHealthCheckStatus: AWS documents it as
 *   "intended for use during development to diagnose behavior", it cannot report a calculated check, and it says
 *   nothing documented about inversion. Whether the switch took effect is read from DNS (route53-dns.ts).
 */
import { GetHealthCheckCommand, UpdateHealthCheckCommand } from '@aws-sdk/client-route-53';
import type { HealthCheck } from '@aws-sdk/client-route-53';
import type { ClusterId, SiteConfig } from '../../config/topology.js';
import type { CallOptions, DnsChange, Log } from '../../core/ports.js';
import { BatonError } from '../../errors.js';
import type { Route53Requests } from './route53-requests.js';

const HCI_PREFIX = 'hci:';

/** The settings each side's check gets: the source pinned unhealthy, the target checked normally. */
const PINNED_UNHEALTHY = { Inverted: true, Disabled: true } as const;
const CHECKED = { Inverted: false, Disabled: false } as const;
type CheckSettings = typeof PINNED_UNHEALTHY | typeof CHECKED;

/** The two health check ids of a switch to `cluster`, or `dns-misconfigured` naming the missing one. */
export function healthCheckPair(
  site: SiteConfig,
  cluster: ClusterId,
): { sourceId: string; targetId: string } {
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
  return { sourceId, targetId };
}

/** The change id of a switch to `cluster`. */
export function healthCheckChangeId(site: SiteConfig, cluster: ClusterId): string {
  const { sourceId, targetId } = healthCheckPair(site, cluster);
  return `${HCI_PREFIX}${sourceId}:${targetId}`;
}

/**
 * Releases the target's check (not inverted, not disabled) and then pins the source's (inverted and disabled),
 * even when the source already fails: left alone, it would take traffic back by itself the moment it recovers.
 * Target first, so that there is never a moment when Baton has made both sides unhealthy.
 */
export async function invertHealthChecks(
  requests: Route53Requests,
  site: SiteConfig,
  cluster: ClusterId,
  log: Log,
  options: CallOptions,
): Promise<DnsChange> {
  const { sourceId, targetId } = healthCheckPair(site, cluster);
  const targetCheck = await getHealthCheck(requests, targetId, options);
  if (!hasSettings(targetCheck, CHECKED)) {
    await updateHealthCheck(requests, targetCheck, CHECKED, options);
    log.info({ healthCheckId: targetId }, 'target health check no longer inverted or disabled');
  }
  const sourceCheck = await getHealthCheck(requests, sourceId, options);
  if (!hasSettings(sourceCheck, PINNED_UNHEALTHY)) {
    await updateHealthCheck(requests, sourceCheck, PINNED_UNHEALTHY, options);
    log.info(
      { healthCheckId: sourceId },
      'source health check inverted and disabled: unhealthy until failback',
    );
  }
  return { changeId: healthCheckChangeId(site, cluster) };
}

/** Whether `changeId` is one `invertHealthChecks` made up rather than a Route 53 change. */
export const isHealthCheckChange = (changeId: string): boolean => changeId.startsWith(HCI_PREFIX);

/**
 * For a change id whose site this process has not seen: whether Route 53 holds both checks as the switch left
 * them. The DNS answers are what confirm the switch; this only says Route 53 accepted it.
 */
export async function healthCheckSettingsApplied(
  requests: Route53Requests,
  changeId: string,
  options: CallOptions,
): Promise<boolean> {
  const [sourceId = '', targetId = ''] = changeId.slice(HCI_PREFIX.length).split(':');
  const source = await getHealthCheck(requests, sourceId, options);
  const target = await getHealthCheck(requests, targetId, options);
  return hasSettings(source, PINNED_UNHEALTHY) && hasSettings(target, CHECKED);
}

const hasSettings = (check: HealthCheck, settings: CheckSettings): boolean =>
  (check.HealthCheckConfig?.Inverted ?? false) === settings.Inverted &&
  (check.HealthCheckConfig?.Disabled ?? false) === settings.Disabled;

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

async function updateHealthCheck(
  requests: Route53Requests,
  check: HealthCheck,
  settings: CheckSettings,
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
          ...settings,
        }),
        { abortSignal },
      ),
    options.signal,
  );
}
