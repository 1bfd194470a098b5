/**
 * The doctor asks exactly what Baton's RBAC grants. Its questions are written out in src/doctor/kubernetes-checks.ts
 * (the image need not carry the manifests); this compares them, for a site with both workload kinds and a
 * CloudNativePG database and Argo CD Applications, with the Roles and ClusterRoles that `kubectl kustomize` builds from
 * manifests/target-cluster-rbac and its cloudnative-pg and argocd components — verb, group, resource and scope — so that a verb
 * added to one cannot be missing from the other. (test/manifests/target-cluster-rbac.test.ts ties the manifests to
 * the requests the adapter really makes.)
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { AccessQuestion } from '../../src/adapters/kubernetes/access-review.js';
import type { SiteConfig } from '../../src/config/topology.js';
import { requiredAccess } from '../../src/doctor/kubernetes-checks.js';
import { exampleSite } from '../support/core-fixtures.js';
import type { KubeObject } from '../manifests/support.js';
import { kustomizeComposition } from '../manifests/support.js';

interface RoleObject extends KubeObject {
  rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
}

// The namespaces the manifests hold Roles for: the example topology's workloads, and the cloudnative-pg component's.
const WORKLOADS_NAMESPACE = 'default';
const CNPG_NAMESPACE = 'database';

/** `scope group resource verb`, scope being a namespace or `cluster`. */
const key = (scope: string, group: string, resource: string, verb: string) =>
  `${scope} ${group || 'core'} ${resource} ${verb}`;

function granted(objects: KubeObject[]): string[] {
  return objects
    .filter((o): o is RoleObject => o.kind === 'Role' || o.kind === 'ClusterRole')
    .flatMap((role) =>
      role.rules.flatMap((rule) =>
        rule.apiGroups.flatMap((group) =>
          rule.resources.flatMap((resource) =>
            rule.verbs.map((verb) =>
              key(role.kind === 'Role' ? (role.metadata.namespace ?? '?') : 'cluster', group, resource, verb),
            ),
          ),
        ),
      ),
    );
}

const asked = (questions: AccessQuestion[]): string[] =>
  questions.map((q) =>
    key(
      q.namespace ?? 'cluster',
      q.group,
      q.subresource ? `${q.resource}/${q.subresource}` : q.resource,
      q.verb,
    ),
  );

/** The example site with a Deployment and a StatefulSet, and its database promoted through CloudNativePG. */
function everyKindSite(): SiteConfig {
  const site = exampleSite();
  const database = site.database;
  if (!database) throw new Error('the example has a database');
  const cnpg = (name: string) => ({ cnpgCluster: { namespace: CNPG_NAMESPACE, name } });
  return {
    ...site,
    workloads: [
      {
        namespace: WORKLOADS_NAMESPACE,
        kind: 'Deployment',
        name: 'web',
        replicas: 5,
        standbyReplicas: 1,
        argocd: { east: 'web-east', west: 'web-west' },
      },
      { namespace: WORKLOADS_NAMESPACE, kind: 'StatefulSet', name: 'queue', replicas: 3, standbyReplicas: 1 },
    ],
    database: {
      ...database,
      promotion: 'cloudnative-pg',
      members: {
        east: { ...database.members.east, ...cnpg('pg-east') },
        west: { ...database.members.west, ...cnpg('pg-west') },
      } as typeof database.members,
    },
  };
}

describe("the doctor's RBAC questions", () => {
  let rbac: KubeObject[];

  beforeAll(async () => {
    rbac = await kustomizeComposition(
      ['manifests/target-cluster-rbac'],
      ['manifests/target-cluster-rbac/cloudnative-pg', 'manifests/target-cluster-rbac/argocd'],
    );
  }, 30_000);

  it('are exactly the verbs, resources and scopes the target-cluster RBAC grants, on each cluster', () => {
    const site = everyKindSite();
    const grants = new Set(granted(rbac));
    expect(grants.size).toBeGreaterThan(0);
    for (const cluster of Object.keys(site.clusters)) {
      const questions = asked(requiredAccess(site, cluster));
      // No question asked twice, none the manifests do not grant, no grant left unasked.
      expect(questions.length, cluster).toBe(new Set(questions).size);
      expect([...questions].sort(), cluster).toEqual([...grants].sort());
    }
  });

  it('ask nothing about CloudNativePG or Argo CD for a site that does not use them', () => {
    const site = { ...everyKindSite(), database: exampleSite().database, workloads: exampleSite().workloads };
    const questions = asked(requiredAccess(site, 'east'));
    expect(questions.filter((q) => q.includes('postgresql.cnpg.io') || q.includes('argoproj.io'))).toEqual(
      [],
    );
    expect(questions).toContain(key(WORKLOADS_NAMESPACE, 'autoscaling', 'horizontalpodautoscalers', 'patch'));
  });
});
