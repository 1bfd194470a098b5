/**
 * Alerts of a `propose-evacuation` rule (DESIGN §3: `{ match: { alertname: ClusterDown, cluster: east }, action:
 * propose-evacuation }`): each firing alert proposes one evacuation of the cluster it names in its `cluster` label
 * (else the cluster that serves the site whose rule matched). However many sites' rules match it, and however often
 * Alertmanager repeats it (both replicas, every group_interval), one firing proposes once: the evacuation service
 * remembers the alert's fingerprint and start, and a cluster has one open evacuation at a time.
 */
import type { SiteConfig, Topology } from '../config/topology.js';
import type { Log } from '../core/ports.js';
import { BatonError, describeError } from '../errors.js';
import type { EvacuationService } from '../runs/evacuation-service.js';
import type { RunService } from '../runs/run-service.js';
import type { WebhookAlert, WebhookPayload } from './alertmanager-payload.js';

/** What one site's evacuation alerts did: the evacuations they belong to, by id, and whether this one proposed it. */
export interface EvacuationOutcome {
  id: string;
  cluster: string;
  created: boolean;
}

export async function proposeEvacuations(input: {
  evacuations: EvacuationService;
  service: Pick<RunService, 'serving'>;
  topology: Topology;
  site: SiteConfig;
  alerts: readonly WebhookAlert[];
  payload: WebhookPayload;
  log: Log;
}): Promise<EvacuationOutcome[]> {
  const { evacuations, site, payload, log } = input;
  const outcomes: EvacuationOutcome[] = [];
  for (const alert of input.alerts) {
    if (alert.status !== 'firing') continue;
    const named = alert.labels.cluster;
    const cluster = named && Object.hasOwn(site.clusters, named) ? named : await input.service.serving(site);
    const alertname = alert.labels.alertname ?? 'alert';
    const summary =
      alert.annotations.summary || alert.annotations.description || payload.commonAnnotations.summary;
    try {
      const { created, evacuation } = await evacuations.propose({
        kind: 'failover',
        cluster,
        reason: summary ? `${alertname}: ${summary}` : alertname,
        actor: { type: 'alert', id: alertname },
        trigger: {
          source: 'alert',
          alertname,
          ...(summary && { summary }),
          firedAt: alert.startsAt,
          fingerprint: alert.fingerprint,
        },
        alert: { fingerprint: alert.fingerprint, startsAt: String(alert.startsAt) },
      });
      outcomes.push({ id: evacuation.id, cluster, created });
    } catch (error) {
      // Nothing served there any more (already evacuated): not Alertmanager's problem to retry.
      if (error instanceof BatonError && error.code === 'nothing-to-evacuate') {
        log.info({ site: site.name, cluster, alertname }, 'evacuation alert: nothing to evacuate');
        continue;
      }
      log.warn({ site: site.name, cluster, err: describeError(error) }, 'evacuation alert failed');
      throw error;
    }
  }
  return outcomes;
}
