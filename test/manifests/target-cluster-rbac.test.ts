/**
 * The per-cluster RBAC grants exactly what Baton's Kubernetes adapter uses: the real adapter runs every operation
 * against the API stand-in, each recorded request becomes the RBAC attributes the API server would check
 * (verb, group, resource/subresource, namespace, name), and a small RBAC authorizer evaluates them against the
 * Roles and ClusterRoles that `kubectl kustomize manifests/target-cluster-rbac` builds. Every request must be
 * allowed, and every granted verb must be used by some request.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesClusters } from '../../src/adapters/kubernetes.js';
import type { SiteConfig } from '../../src/config/topology.js';
import type { WorkloadRef } from '../../src/core/ports.js';
import { createLogger } from '../../src/logger.js';
import { startKubeApiServer } from '../../lab/kubernetes/kube-api-server.js';
import type { KubeApiServer, RequestRecord } from '../../lab/kubernetes/kube-api-server.js';
import type { KubeObject } from './support.js';
import { find, kustomize, kustomizeComposition, ROOT } from './support.js';

interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
interface RoleObject extends KubeObject {
  rules: PolicyRule[];
}
interface BindingObject extends KubeObject {
  roleRef: { kind: string; name: string };
  subjects: { kind: string; name: string; namespace?: string }[];
}

/** What the API server authorizes a request as. */
interface Attributes {
  verb: string;
  group: string;
  /** `deployments` or `deployments/scale`. */
  resource: string;
  namespace?: string;
  name?: string;
}

const SUBJECT = { kind: 'ServiceAccount', name: 'baton', namespace: 'baton' };
// The namespaces the manifests hold Roles for: the example topology's workloads, and the cloudnative-pg component's.
const WORKLOADS_NAMESPACE = 'default';
const CNPG_NAMESPACE = 'database';

const WEB: WorkloadRef = { namespace: WORKLOADS_NAMESPACE, kind: 'Deployment', name: 'web' };
const QUEUE: WorkloadRef = { namespace: WORKLOADS_NAMESPACE, kind: 'StatefulSet', name: 'queue' };
const PG = { namespace: CNPG_NAMESPACE, name: 'pg-east' };
const HPA = { namespace: WORKLOADS_NAMESPACE, name: 'web' };
const ARGOCD_NAMESPACE = 'argocd';
const APP = { namespace: ARGOCD_NAMESPACE, name: 'production-east' };

const site: SiteConfig = {
  name: 'production',
  homeCluster: 'east',
  clusters: {
    east: { kubeContext: 'active-cluster', healthUrl: 'https://active.example.com/health' },
    west: { kubeContext: 'passive-cluster', healthUrl: 'https://passive.example.com/health' },
  },
  workloads: [{ ...WEB, replicas: 5, standbyReplicas: 1 }],
  dns: {
    provider: 'route53',
    hostedZoneId: 'Z1234567890ABC',
    recordName: 'app.example.com',
    recordType: 'A',
    ttl: 60,
    strategy: 'simple-record',
    targets: { east: { values: ['192.0.2.1'] }, west: { values: ['192.0.2.2'] } },
  },
  checks: { minReadyNodes: 3 },
  alerts: [],
};

/** RBAC attributes of a request, as the API server derives them from the URL and method. */
function attributesOf(request: RequestRecord): Attributes {
  const parts = request.path.split('/').filter(Boolean);
  let rest: string[];
  let group: string;
  if (parts[0] === 'api' && parts[1] === 'v1') {
    group = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1]!;
    rest = parts.slice(3);
  } else {
    throw new Error(
      `${request.method} ${request.path} is not a resource request (RBAC would need nonResourceURLs)`,
    );
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource, name, subresource] = rest;
  if (!resource) throw new Error(`cannot read a resource from ${request.path}`);
  const collection = name === undefined;
  const verbs: Record<string, string> = {
    GET: collection ? (new URLSearchParams(request.query).get('watch') ? 'watch' : 'list') : 'get',
    PUT: 'update',
    PATCH: 'patch',
    POST: 'create',
    DELETE: collection ? 'deletecollection' : 'delete',
  };
  const verb = verbs[request.method];
  if (!verb) throw new Error(`unexpected method ${request.method} ${request.path}`);
  return {
    verb,
    group,
    resource: subresource ? `${resource}/${subresource}` : resource,
    ...(namespace !== undefined && { namespace }),
    ...(name !== undefined && { name }),
  };
}

const ruleAllows = (rule: PolicyRule, a: Attributes) =>
  rule.apiGroups.includes(a.group) &&
  rule.resources.includes(a.resource) &&
  rule.verbs.includes(a.verb) &&
  (!rule.resourceNames?.length || (a.name !== undefined && rule.resourceNames.includes(a.name)));

const bindsSubject = (binding: BindingObject) =>
  binding.subjects.some(
    (s) => s.kind === SUBJECT.kind && s.name === SUBJECT.name && s.namespace === SUBJECT.namespace,
  );

/** The rules that apply to SUBJECT in `namespace` (undefined: cluster scope), as the RBAC authorizer gathers them. */
function rulesFor(objects: KubeObject[], namespace: string | undefined): PolicyRule[] {
  const rules: PolicyRule[] = [];
  for (const binding of objects.filter((o): o is BindingObject => o.kind === 'ClusterRoleBinding')) {
    if (bindsSubject(binding))
      rules.push(...find<RoleObject>(objects, 'ClusterRole', binding.roleRef.name).rules);
  }
  if (namespace === undefined) return rules;
  for (const binding of objects.filter((o): o is BindingObject => o.kind === 'RoleBinding')) {
    if (binding.metadata.namespace !== namespace || !bindsSubject(binding)) continue;
    const role =
      binding.roleRef.kind === 'ClusterRole'
        ? find<RoleObject>(objects, 'ClusterRole', binding.roleRef.name)
        : objects.find(
            (o): o is RoleObject =>
              o.kind === 'Role' &&
              o.metadata.name === binding.roleRef.name &&
              o.metadata.namespace === namespace,
          );
    if (!role) throw new Error(`RoleBinding ${binding.metadata.name} refers to a missing Role`);
    rules.push(...role.rules);
  }
  return rules;
}

const allowed = (objects: KubeObject[], a: Attributes) =>
  rulesFor(objects, a.namespace).some((r) => ruleAllows(r, a));

/** `group resource verb` for every grant (one per verb), and for every request. */
const grantKey = (group: string, resource: string, verb: string) => `${group || 'core'} ${resource} ${verb}`;

function grants(objects: KubeObject[]): string[] {
  return objects
    .filter((o): o is RoleObject => o.kind === 'Role' || o.kind === 'ClusterRole')
    .flatMap((role) =>
      role.rules.flatMap((rule) =>
        rule.apiGroups.flatMap((g) =>
          rule.resources.flatMap((r) => rule.verbs.map((v) => grantKey(g, r, v))),
        ),
      ),
    );
}

describe('target-cluster RBAC against what the Kubernetes adapter does', () => {
  let server: KubeApiServer;
  let rbac: KubeObject[];
  let requests: RequestRecord[];

  beforeAll(async () => {
    rbac = await kustomizeComposition(
      ['manifests/target-cluster-rbac'],
      ['manifests/target-cluster-rbac/cloudnative-pg', 'manifests/target-cluster-rbac/argocd'],
    );
    server = await startKubeApiServer({
      clusters: {
        east: {
          nodes: 3,
          workloads: [
            { ...WEB, replicas: 1, images: ['registry.example/web:1'] },
            { ...QUEUE, replicas: 1, images: ['registry.example/queue:1'] },
          ],
          autoscalers: [{ ...HPA, target: { kind: 'Deployment', name: WEB.name }, maxReplicas: 10 }],
          applications: [{ ...APP, automated: { selfHeal: true }, workloads: ['default/web'] }],
          cnpgClusters: [
            { ...PG, replica: true },
            {
              namespace: PG.namespace,
              name: 'pg-home',
              distributed: { primary: 'pg-home', source: 'pg-away' },
            },
          ],
        },
        west: { nodes: 3 },
      },
    });
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(
      JSON.stringify(server.kubeConfig({ east: 'active-cluster', west: 'passive-cluster' })),
    );
    const log = createLogger({ level: 'silent' });
    const clusters = new KubernetesClusters({ kubeConfig, log, retry: { attempts: 2, baseDelayMs: 10 } });

    // Every operation of the adapter, on both workload kinds.
    const exercised = new Set<string>();
    const wait = { timeoutMs: 5_000, pollMs: 20 };
    exercised.add('readyNodeCount');
    await clusters.readyNodeCount(site, 'east');
    exercised.add('nodeCapacity');
    await clusters.nodeCapacity(site, 'east');
    for (const workload of [WEB, QUEUE]) {
      exercised.add('getWorkload');
      await clusters.getWorkload(site, 'east', workload);
      exercised.add('workloadTemplate');
      await clusters.workloadTemplate(site, 'east', workload);
      exercised.add('scaleWorkload');
      await clusters.scaleWorkload(site, 'east', workload, 3);
      exercised.add('waitForReady');
      await clusters.waitForReady(site, 'east', workload, 3, wait);
      exercised.add('listAutoscalers');
      await clusters.listAutoscalers(site, 'east', workload);
    }
    exercised.add('setAutoscalerRange');
    await clusters.setAutoscalerRange(site, 'east', HPA, {
      minReplicas: 3,
      maxReplicas: 10,
      heldFrom: { minReplicas: 1, maxReplicas: 10 },
    });
    exercised.add('cnpgClusterStatus');
    await clusters.cnpgClusterStatus(site, 'east', PG);
    exercised.add('promoteCnpgCluster');
    await clusters.promoteCnpgCluster(site, 'east', PG, wait);
    exercised.add('demoteCnpgCluster');
    await clusters.demoteCnpgCluster(
      site,
      'east',
      { namespace: PG.namespace, name: 'pg-home' },
      { ...wait, newPrimary: 'pg-away' },
    );
    exercised.add('syncState');
    await clusters.syncState(site, 'east', APP);
    exercised.add('pauseSync');
    await clusters.pauseSync(site, 'east', APP);
    exercised.add('resumeSync');
    await clusters.resumeSync(site, 'east', APP);
    requests = server.requests('east');

    // A new public method must be exercised here, so that its requests are checked against the RBAC too.
    const internals = [
      'constructor',
      'readWorkload',
      'readCnpg',
      'cnpgAccess',
      'target',
      'clientsFor',
      'where',
      'call',
      'translate',
    ];
    const methods = Object.getOwnPropertyNames(KubernetesClusters.prototype).filter(
      (m) => !internals.includes(m),
    );
    expect(methods.sort()).toEqual([...exercised].sort());
  });

  afterAll(async () => {
    await server?.close();
  });

  it('every request the adapter made is allowed', () => {
    expect(requests.length).toBeGreaterThan(0);
    const denied = requests.map(attributesOf).filter((a) => !allowed(rbac, a));
    expect(denied).toEqual([]);
    // And the requests succeeded, so the adapter really did its work.
    expect(requests.filter((r) => r.status >= 400)).toEqual([]);
  });

  it('every granted verb is one the adapter uses: nothing more', () => {
    const used = new Set(requests.map(attributesOf).map((a) => grantKey(a.group, a.resource, a.verb)));
    expect(new Set(grants(rbac))).toEqual(used);
    expect([...used].sort()).toEqual([
      'apps deployments get',
      'apps deployments/scale get',
      'apps deployments/scale update',
      'apps statefulsets get',
      'apps statefulsets/scale get',
      'apps statefulsets/scale update',
      'argoproj.io applications get',
      'argoproj.io applications patch',
      'autoscaling horizontalpodautoscalers list',
      'autoscaling horizontalpodautoscalers patch',
      'core nodes list',
      'core pods list',
      'postgresql.cnpg.io clusters get',
      'postgresql.cnpg.io clusters patch',
    ]);
  });

  it('has no wildcards, no resourceNames gaps, and binds only the baton ServiceAccount', () => {
    for (const role of rbac.filter((o): o is RoleObject => o.kind === 'Role' || o.kind === 'ClusterRole')) {
      for (const rule of role.rules) {
        expect([...rule.apiGroups, ...rule.resources, ...rule.verbs]).not.toContain('*');
      }
    }
    for (const binding of rbac.filter((o): o is BindingObject => o.kind.endsWith('Binding'))) {
      expect(binding.subjects).toEqual([SUBJECT]);
    }
    // Namespaced rights only in the workload and database namespaces; the ClusterRole holds only nodes and pods.
    expect(
      rbac
        .filter((o) => o.kind === 'Role')
        .map((o) => o.metadata.namespace)
        .sort(),
    ).toEqual([ARGOCD_NAMESPACE, CNPG_NAMESPACE, WORKLOADS_NAMESPACE]);
    const clusterRules = rbac
      .filter((o): o is RoleObject => o.kind === 'ClusterRole')
      .flatMap((o) => o.rules);
    expect(clusterRules).toEqual([{ apiGroups: [''], resources: ['nodes', 'pods'], verbs: ['list'] }]);
  });

  it('without the cloudnative-pg and argocd components, no CloudNativePG or Argo CD rights', async () => {
    const plain = await kustomize('manifests/target-cluster-rbac');
    expect(grants(plain).filter((g) => g.startsWith('postgresql.cnpg.io'))).toEqual([]);
    expect(grants(plain).filter((g) => g.startsWith('argoproj.io'))).toEqual([]);
    expect(grants(plain).length).toBe(grants(rbac).length - 4);
  });

  it('a long-lived token Secret for the ServiceAccount, which mounts none itself', () => {
    const account = find(rbac, 'ServiceAccount', 'baton');
    expect(account.metadata.namespace).toBe(SUBJECT.namespace);
    expect(account.automountServiceAccountToken).toBe(false);
    const token = rbac.find((o) => o.kind === 'Secret' && o.type === 'kubernetes.io/service-account-token');
    expect(token?.metadata.namespace).toBe(SUBJECT.namespace);
    expect(
      (token?.metadata.annotations as Record<string, string>)['kubernetes.io/service-account.name'],
    ).toBe(SUBJECT.name);
  });

  it('docs/adapters.md lists the same RBAC', async () => {
    const doc = await readFile(join(ROOT, 'docs/adapters.md'), 'utf8');
    const section = doc.slice(doc.indexOf('RBAC the steps use'));
    const rows = section
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      .map((line) => line.split('|').map((cell) => cell.trim()));
    const documented = rows.flatMap(([, resources = '', verbs = '']) => {
      const group = /\(([a-z0-9.]+)\)/.exec(resources)?.[1] ?? '';
      const names = [...resources.matchAll(/`([a-z]+(?:\/[a-z]+)?)`/g)].map((m) => m[1]!);
      return names.flatMap((name) => verbs.split(',').map((verb) => grantKey(group, name, verb.trim())));
    });
    expect(new Set(documented)).toEqual(new Set(grants(rbac)));
  });
});
