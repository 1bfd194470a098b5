/**
 * Kubernetes: each cluster's context answers and accepts its credentials, RBAC allows every verb the steps use on
 * every resource, in the namespaces the topology names (a SelfSubjectAccessReview each: asked, not tried), and each
 * workload exists. The verbs are those of manifests/target-cluster-rbac and docs/adapters.md ("RBAC the steps
 * use"): test/manifests/target-cluster-rbac.test.ts proves the adapter needs exactly those, and
 * test/doctor/required-access.test.ts that this list asks exactly those (listed here, not read from the manifests,
 * which the image need not carry).
 */
import { applicationsOf } from '../core/steps/gitops-applications.js';
import type { AccessQuestion, KubernetesAccessReview } from '../adapters/kubernetes/access-review.js';
import type { ClusterId, SiteConfig, Topology } from '../config/topology.js';
import type { ClusterPort } from '../core/ports.js';
import type { DoctorCheck } from './doctor-check.js';
import { fail, failed, ok } from './doctor-check.js';

export interface KubernetesDoctorParts {
  reviews: Pick<KubernetesAccessReview, 'review'>;
  clusters: Pick<ClusterPort, 'getWorkload'>;
}

/** Every RBAC question a failover on `cluster` of `site` needs answered yes, deduplicated. */
export function requiredAccess(site: SiteConfig, cluster: ClusterId): AccessQuestion[] {
  const questions: AccessQuestion[] = [
    { verb: 'list', group: '', resource: 'nodes' },
    // Readiness's capacity check sums the requests of the pods on each node, in every namespace.
    { verb: 'list', group: '', resource: 'pods' },
  ];
  const seen = new Set<string>();
  const add = (question: AccessQuestion) => {
    const key = JSON.stringify(question);
    if (seen.has(key)) return;
    seen.add(key);
    questions.push(question);
  };
  for (const workload of site.workloads) {
    const resource = workload.kind === 'Deployment' ? 'deployments' : 'statefulsets';
    const namespace = workload.namespace;
    add({ verb: 'get', group: 'apps', resource, namespace });
    add({ verb: 'get', group: 'apps', resource, subresource: 'scale', namespace });
    add({ verb: 'update', group: 'apps', resource, subresource: 'scale', namespace });
    // Preflight lists the HPAs that target each workload; the hold-autoscalers step patches their range.
    add({ verb: 'list', group: 'autoscaling', resource: 'horizontalpodautoscalers', namespace });
    add({ verb: 'patch', group: 'autoscaling', resource: 'horizontalpodautoscalers', namespace });
  }
  // The Argo CD Applications the workloads name on this cluster: read, and their automated sync paused and given back.
  for (const app of applicationsOf(site, cluster)) {
    add({ verb: 'get', group: 'argoproj.io', resource: 'applications', namespace: app.namespace });
    add({ verb: 'patch', group: 'argoproj.io', resource: 'applications', namespace: app.namespace });
  }
  const cnpg =
    site.database?.promotion === 'cloudnative-pg' ? site.database.members[cluster]?.cnpgCluster : null;
  if (cnpg) {
    add({ verb: 'get', group: 'postgresql.cnpg.io', resource: 'clusters', namespace: cnpg.namespace });
    add({ verb: 'patch', group: 'postgresql.cnpg.io', resource: 'clusters', namespace: cnpg.namespace });
  }
  return questions;
}

const describeQuestion = (q: AccessQuestion): string =>
  `${q.verb} ${q.subresource ? `${q.resource}/${q.subresource}` : q.resource}` +
  `${q.group ? ` (${q.group})` : ''} ${q.namespace ? `in namespace ${q.namespace}` : 'at cluster scope'}`;

function grantFix(q: AccessQuestion): string {
  const resource = q.subresource ? `${q.resource}/${q.subresource}` : q.resource;
  const role = q.namespace ? `Role in namespace ${q.namespace}` : 'ClusterRole';
  return (
    `grant verb "${q.verb}" on resource "${resource}" in apiGroups ["${q.group}"] to Baton's ${role} ` +
    '(manifests/target-cluster-rbac), then run baton doctor again'
  );
}

async function checkCluster(
  parts: KubernetesDoctorParts,
  site: SiteConfig,
  cluster: ClusterId,
  signal?: AbortSignal,
): Promise<DoctorCheck[]> {
  const where = `${site.name} ${cluster} (context ${site.clusters[cluster]?.kubeContext ?? 'current'})`;
  const checks: DoctorCheck[] = [];
  const [first, ...rest] = requiredAccess(site, cluster);
  // The first review also proves the API answers and takes the credentials; without that, the rest would only
  // repeat the same failure.
  for (const [index, question] of [first, ...rest].entries()) {
    if (!question) continue;
    const name = `${where}: ${describeQuestion(question)}`;
    try {
      const answer = await parts.reviews.review(site, cluster, question, signal);
      if (index === 0)
        checks.push(ok('kubernetes', `${where}: the API server answers`, 'credentials accepted'));
      checks.push(
        answer.allowed
          ? ok('kubernetes', name, answer.reason || 'allowed')
          : fail(
              'kubernetes',
              name,
              `RBAC does not allow it${answer.evaluationError ? ` (${answer.evaluationError})` : ''}`,
              grantFix(question),
            ),
      );
    } catch (error) {
      checks.push(failed('kubernetes', index === 0 ? `${where}: the API server answers` : name, error));
      if (index === 0) return checks;
    }
  }
  for (const workload of site.workloads) {
    const name = `${where}: ${workload.kind} ${workload.namespace}/${workload.name} exists`;
    try {
      const found = await parts.clusters.getWorkload(site, cluster, workload, { signal });
      checks.push(
        found
          ? ok('kubernetes', name, `${found.replicas} replica(s), ${found.readyReplicas} ready`)
          : fail(
              'kubernetes',
              name,
              'not found',
              `deploy it on ${cluster}, or fix workloads[] in the topology (namespace, kind, name)`,
            ),
      );
    } catch (error) {
      checks.push(failed('kubernetes', name, error));
    }
  }
  return checks;
}

/** Every cluster of every site, the clusters checked concurrently. */
export async function checkKubernetes(
  parts: KubernetesDoctorParts,
  topology: Topology,
  signal?: AbortSignal,
): Promise<DoctorCheck[]> {
  const runs = topology.sites.flatMap((site) =>
    Object.keys(site.clusters).map((cluster) => checkCluster(parts, site, cluster, signal)),
  );
  return (await Promise.all(runs)).flat();
}
