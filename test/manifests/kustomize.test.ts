/**
 * Every kustomization under manifests/ builds with `kubectl kustomize`, and every object it yields (and every
 * example-only object beside them) passes the Kubernetes JSON schemas and the unknown-field check offline. Then the
 * properties an SRE relies on, read from the built output: replicas, probes, the non-root read-only
 * securityContext, what the Services, Ingress, PodDisruptionBudgets and NetworkPolicies select and allow, the
 * placements, the topology ConfigMap, and the Redis settings BullMQ needs.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseTopology } from '../../src/config/topology.js';
import { STEPS } from '../../src/core/steps/index.js';
import type { KubeObject } from './support.js';
import {
  find,
  kustomize,
  kustomizeComposition,
  MANIFESTS,
  parseObjects,
  ROOT,
  validateAll,
} from './support.js';

// ---------------------------------------------------------------------------------------------------------------
// Shapes of the objects these tests read (only the fields they look at)
// ---------------------------------------------------------------------------------------------------------------

interface Probe {
  httpGet?: { path: string; port: string | number };
  exec?: { command: string[] };
  tcpSocket?: { port: string | number };
}
interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  envFrom?: { secretRef?: { name: string } }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
  priorityClassName?: string;
  securityContext?: SecurityContext & { fsGroup?: number };
  containers: Container[];
  volumes?: {
    name: string;
    emptyDir?: object;
    configMap?: { name: string };
    secret?: { secretName: string };
  }[];
  topologySpreadConstraints?: { topologyKey: string }[];
}
interface Workload extends KubeObject {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
    volumeClaimTemplates?: { metadata: { name: string } }[];
  };
}
interface Service extends KubeObject {
  spec: {
    selector: Record<string, string>;
    clusterIP?: string;
    ports: { name: string; port: number; targetPort: string | number }[];
  };
}
interface NetworkPolicyPeer {
  namespaceSelector?: { matchLabels: Record<string, string> };
  podSelector?: { matchLabels: Record<string, string> };
}
interface NetworkPolicyRule {
  from?: NetworkPolicyPeer[];
  to?: NetworkPolicyPeer[];
  ports?: { port: string | number; protocol: string }[];
}
interface NetworkPolicy extends KubeObject {
  spec: {
    podSelector: { matchLabels: Record<string, string> };
    policyTypes: string[];
    ingress?: NetworkPolicyRule[];
    egress?: NetworkPolicyRule[];
  };
}

const DB_ENV = {
  EAST_DATABASE_URL: 'postgresql://baton@127.0.0.1/east',
  WEST_DATABASE_URL: 'postgresql://baton@127.0.0.1/west',
};

const matches = (selector: Record<string, string>, labels: Record<string, string> | undefined) =>
  Object.entries(selector).every(([key, value]) => labels?.[key] === value);

const workloads = (objects: KubeObject[]) =>
  objects.filter((o): o is Workload => o.kind === 'Deployment' || o.kind === 'StatefulSet');

const container = (workload: Workload, name = 'baton'): Container => {
  const found = workload.spec.template.spec.containers.find((c) => c.name === name);
  if (!found) throw new Error(`${workload.metadata.name} has no container ${name}`);
  return found;
};

const envValue = (c: Container, name: string) => c.env?.find((e) => e.name === name)?.value;

async function readObjects(path: string): Promise<KubeObject[]> {
  return parseObjects(await readFile(join(MANIFESTS, path), 'utf8'), path);
}

// ---------------------------------------------------------------------------------------------------------------

const BUILDS = {
  base: 'manifests/base',
  standby: 'manifests/overlays/standby-cluster',
  management: 'manifests/overlays/management-cluster',
  rbac: 'manifests/target-cluster-rbac',
  monitoring: 'manifests/monitoring',
} as const;

/** Files that are deliberately not in any kustomization (they hold placeholders for Secrets). */
const EXAMPLE_FILES = [
  'base/secret.example.yaml',
  'overlays/standby-cluster/kubeconfig-secret.example.yaml',
  'overlays/management-cluster/kubeconfig-secret.example.yaml',
  'monitoring/alertmanager-config.yaml',
];

const built: Record<keyof typeof BUILDS, KubeObject[]> = {
  base: [],
  standby: [],
  management: [],
  rbac: [],
  monitoring: [],
};

beforeAll(async () => {
  for (const [key, dir] of Object.entries(BUILDS) as [keyof typeof BUILDS, string][]) {
    built[key] = await kustomize(dir);
  }
});

describe('every kustomization builds and validates against the Kubernetes schemas', () => {
  it.each(Object.entries(BUILDS))('%s (%s)', async (key) => {
    const objects = built[key as keyof typeof BUILDS];
    expect(objects.length).toBeGreaterThan(0);
    expect(await validateAll(objects)).toEqual([]);
  });

  it('no kustomization under manifests/ is left out of these builds', async () => {
    const files = (await readdir(MANIFESTS, { recursive: true })).filter(
      (f) => basename(f) === 'kustomization.yaml',
    );
    const kinds = await Promise.all(
      files.map(async (f) => [
        dirname(f),
        (parse(await readFile(join(MANIFESTS, f), 'utf8')) as { kind: string }).kind,
      ]),
    );
    const kustomizations = kinds
      .filter(([, kind]) => kind === 'Kustomization')
      .map(([dir]) => `manifests/${dir}`);
    const components = kinds.filter(([, kind]) => kind === 'Component').map(([dir]) => `manifests/${dir}`);
    expect(kustomizations.sort()).toEqual(Object.values(BUILDS).sort());
    // Each component is built on top of a kustomization by a test below.
    expect(components.sort()).toEqual([
      'manifests/components/managed-redis',
      'manifests/target-cluster-rbac/argocd',
      'manifests/target-cluster-rbac/cloudnative-pg',
    ]);
  });

  it('an overlay with the managed-redis component drops the in-namespace Redis and takes REDIS_URL from the Secret', async () => {
    const objects = await kustomizeComposition(
      ['manifests/overlays/management-cluster'],
      ['manifests/components/managed-redis'],
    );
    expect(await validateAll(objects)).toEqual([]);
    expect(objects.filter((o) => o.metadata.name === 'baton-redis')).toEqual([]);
    for (const workload of workloads(objects)) {
      const baton = container(workload);
      expect(baton.env?.map((e) => e.name)).not.toContain('REDIS_URL');
      expect(baton.envFrom).toContainEqual({ secretRef: { name: 'baton-secrets' } });
    }
    for (const name of ['baton-web', 'baton-worker']) {
      const policy = find<NetworkPolicy>(objects, 'NetworkPolicy', name);
      const ports = policy.spec.egress?.flatMap((rule) =>
        rule.to ? [] : (rule.ports ?? []).map((p) => p.port),
      );
      expect(ports).toEqual(expect.arrayContaining([6379, 6380, 26379]));
    }
  });

  it('the RBAC with the cloudnative-pg component validates', async () => {
    const objects = await kustomizeComposition(
      ['manifests/target-cluster-rbac'],
      ['manifests/target-cluster-rbac/cloudnative-pg'],
    );
    expect(await validateAll(objects)).toEqual([]);
    expect(find(objects, 'Role', 'baton-cloudnative-pg').metadata.namespace).toBe('database');
  });

  it('the RBAC with the argocd component validates', async () => {
    const objects = await kustomizeComposition(
      ['manifests/target-cluster-rbac'],
      ['manifests/target-cluster-rbac/argocd'],
    );
    expect(await validateAll(objects)).toEqual([]);
    expect(find(objects, 'Role', 'baton-argocd').metadata.namespace).toBe('argocd');
  });

  it.each(EXAMPLE_FILES)('example-only file %s validates', async (path) => {
    const objects = await readObjects(path);
    expect(objects.length).toBeGreaterThan(0);
    expect(await validateAll(objects)).toEqual([]);
  });

  it('the validator rejects broken objects', async () => {
    const deployment = structuredClone(find<Workload>(built.base, 'Deployment', 'baton-web'));
    (deployment.spec as unknown as Record<string, unknown>).replicas = 'two';
    expect(await validateAll([deployment])).toEqual([
      expect.stringMatching(/^Deployment\/baton-web: \/spec\/replicas must be integer/),
    ]);

    const typo = structuredClone(find<Workload>(built.base, 'Deployment', 'baton-worker'));
    const probe = container(typo).readinessProbe;
    delete container(typo).readinessProbe;
    (container(typo) as unknown as Record<string, unknown>).readinesProbe = probe;
    expect(await validateAll([typo])).toEqual([
      expect.stringContaining('.spec.template.spec.containers[0].readinesProbe: unknown field'),
    ]);

    const missing = structuredClone(find<Service>(built.base, 'Service', 'baton'));
    delete (missing.spec.ports[0] as Partial<Service['spec']['ports'][number]>).port;
    expect((await validateAll([missing])).join('\n')).toMatch(
      /\/spec\/ports\/0 must have required property '?port'?/,
    );

    const monitor = structuredClone(find(built.monitoring, 'ServiceMonitor', 'baton'));
    (monitor.spec as Record<string, unknown>).endpoints = 'http';
    expect((await validateAll([monitor])).join('\n')).toMatch(/\/spec\/endpoints must be array/);

    const unknownKind = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } };
    expect(await validateAll([unknownKind])).toEqual(['Widget/w: no schema for example.com/v1 Widget']);
  });
});

describe('base: the web and worker Deployments', () => {
  const roles = ['web', 'worker'] as const;

  it.each(roles)(
    'baton-%s: two replicas running its role, probes on /healthz and /readyz, port 3000 named http',
    (role) => {
      const deployment = find<Workload>(built.base, 'Deployment', `baton-${role}`);
      expect(deployment.spec.replicas).toBe(2);
      expect(matches(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels)).toBe(
        true,
      );
      const baton = container(deployment);
      expect(baton.args).toEqual([role]);
      expect(baton.ports).toEqual([{ name: 'http', containerPort: 3000, protocol: 'TCP' }]);
      expect(envValue(baton, 'PORT')).toBe('3000');
      expect(baton.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(baton.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
      expect(baton.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
      expect(baton.resources).toEqual({
        requests: { cpu: '100m', memory: '160Mi' },
        limits: { memory: '256Mi' },
      });
    },
  );

  it.each(roles)('baton-%s: non-root, read-only, no privileges, no service account token', (role) => {
    const deployment = find<Workload>(built.base, 'Deployment', `baton-${role}`);
    const pod = deployment.spec.template.spec;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container(deployment).securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const tmp = container(deployment).volumeMounts?.find((m) => m.mountPath === '/tmp');
    expect(pod.volumes?.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
    expect(pod.serviceAccountName).toBe('baton-runtime');
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(find(built.base, 'ServiceAccount', 'baton-runtime').automountServiceAccountToken).toBe(false);
  });

  it.each(roles)(
    'baton-%s: secrets from baton-secrets, the topology from the ConfigMap, Redis from the Service',
    (role) => {
      const deployment = find<Workload>(built.base, 'Deployment', `baton-${role}`);
      const baton = container(deployment);
      const pod = deployment.spec.template.spec;
      expect(baton.envFrom).toEqual([{ secretRef: { name: 'baton-secrets' } }]);

      const config = envValue(baton, 'BATON_CONFIG') ?? '';
      const configMount = baton.volumeMounts?.find((m) => config.startsWith(`${m.mountPath}/`));
      const configVolume = pod.volumes?.find((v) => v.name === configMount?.name);
      const configMap = find(built.base, 'ConfigMap', configVolume?.configMap?.name ?? '?');
      expect(Object.keys(configMap.data as object)).toEqual([
        config.slice((configMount?.mountPath.length ?? 0) + 1),
      ]);

      // $(REDIS_PASSWORD) is expanded by the kubelet from baton-secrets; the host and port are the Redis Service's.
      const url = new URL((envValue(baton, 'REDIS_URL') ?? '').replace('$(REDIS_PASSWORD)', 'x'));
      const redis = find<Service>(built.base, 'Service', url.hostname);
      expect(redis.spec.ports.map((p) => p.port)).toContain(Number(url.port));
    },
  );

  it('only the worker gets the kubeconfig, at the path KUBECONFIG names', () => {
    const worker = find<Workload>(built.base, 'Deployment', 'baton-worker');
    const kubeconfig = envValue(container(worker), 'KUBECONFIG') ?? '';
    const mount = container(worker).volumeMounts?.find((m) => kubeconfig.startsWith(`${m.mountPath}/`));
    expect(mount?.readOnly).toBe(true);
    const volume = worker.spec.template.spec.volumes?.find((v) => v.name === mount?.name);
    expect(volume?.secret?.secretName).toBe('baton-kubeconfig');
    expect(kubeconfig.slice((mount?.mountPath.length ?? 0) + 1)).toBe('config');

    const web = find<Workload>(built.base, 'Deployment', 'baton-web');
    expect(envValue(container(web), 'KUBECONFIG')).toBeUndefined();
    expect(web.spec.template.spec.volumes?.some((v) => v.secret)).toBe(false);
  });

  it("the worker's grace period lets the longest step finish after SIGTERM", () => {
    const worker = find<Workload>(built.base, 'Deployment', 'baton-worker');
    const longestStepSeconds = Math.max(
      ...Object.values(STEPS).map((step) => step.defaults.timeoutMs / 1000),
    );
    expect(worker.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(
      longestStepSeconds + 10,
    );
  });

  it('PodDisruptionBudgets keep one pod of each role', () => {
    for (const role of roles) {
      const budget = find(built.base, 'PodDisruptionBudget', `baton-${role}`);
      const deployment = find<Workload>(built.base, 'Deployment', `baton-${role}`);
      const spec = budget.spec as { minAvailable: number; selector: { matchLabels: Record<string, string> } };
      expect(spec.minAvailable).toBe(1);
      expect(spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    }
  });

  it('every container image is pinned to a tag, never latest', () => {
    for (const build of [built.base, built.standby, built.management]) {
      for (const workload of workloads(build)) {
        for (const c of workload.spec.template.spec.containers) {
          expect(c.image).toMatch(/^[^:]+(:\d[\w.-]*)?:(?!latest$)[\w][\w.-]*$/);
        }
      }
    }
  });
});

describe('base: Services, Ingress, ServiceMonitor', () => {
  it('each Service selects the pods of one Deployment and targets a named container port', () => {
    const pairs = [
      ['baton', 'Deployment', 'baton-web'],
      ['baton-worker', 'Deployment', 'baton-worker'],
      ['baton-redis', 'StatefulSet', 'baton-redis'],
    ] as const;
    for (const [serviceName, kind, workloadName] of pairs) {
      const service = find<Service>(built.base, 'Service', serviceName);
      const workload = find<Workload>(built.base, kind, workloadName);
      expect(matches(service.spec.selector, workload.spec.template.metadata.labels)).toBe(true);
      const others = workloads(built.base).filter((w) => w !== workload);
      expect(others.filter((w) => matches(service.spec.selector, w.spec.template.metadata.labels))).toEqual(
        [],
      );
      const portNames = workload.spec.template.spec.containers.flatMap(
        (c) => c.ports?.map((p) => p.name) ?? [],
      );
      for (const port of service.spec.ports) expect(portNames).toContain(port.targetPort);
    }
    expect(find<Service>(built.base, 'Service', 'baton').spec.ports).toContainEqual(
      expect.objectContaining({ name: 'http', port: 80, targetPort: 'http' }),
    );
    expect(find<Service>(built.base, 'Service', 'baton-worker').spec.clusterIP).toBe('None');
  });

  it("the Ingress exposes only Slack's request URL and the Alertmanager webhook, over TLS", () => {
    const ingress = find(built.base, 'Ingress', 'baton');
    const spec = ingress.spec as {
      tls: { hosts: string[]; secretName: string }[];
      rules: {
        host: string;
        http: {
          paths: {
            path: string;
            pathType: string;
            backend: { service: { name: string; port: { name: string } } };
          }[];
        };
      }[];
    };
    const paths = spec.rules.flatMap((rule) => rule.http.paths);
    expect(paths.map((p) => [p.path, p.pathType])).toEqual([
      ['/slack/events', 'Exact'],
      ['/alertmanager', 'Exact'],
    ]);
    for (const path of paths) {
      const service = find<Service>(built.base, 'Service', path.backend.service.name);
      expect(service.spec.ports.map((p) => p.name)).toContain(path.backend.service.port.name);
    }
    expect(spec.tls.flatMap((t) => t.hosts)).toEqual(spec.rules.map((rule) => rule.host));
  });

  it("Slack's request URL in slack-app.yaml is served by the Ingress", async () => {
    const app = parse(await readFile(join(MANIFESTS, 'slack-app.yaml'), 'utf8')) as {
      settings: { interactivity: { request_url: string } };
    };
    const url = new URL(app.settings.interactivity.request_url);
    const spec = find(built.base, 'Ingress', 'baton').spec as {
      rules: { host: string; http: { paths: { path: string }[] } }[];
    };
    const rule = spec.rules.find((r) => r.host === url.hostname);
    expect(rule?.http.paths.map((p) => p.path)).toContain(url.pathname);
  });

  it('the ServiceMonitor scrapes port http of both Baton Services and nothing else', () => {
    const monitor = find(built.monitoring, 'ServiceMonitor', 'baton');
    const spec = monitor.spec as {
      jobLabel: string;
      selector: { matchLabels: Record<string, string> };
      namespaceSelector: { matchNames: string[] };
      endpoints: { port: string; path: string; interval: string }[];
    };
    expect(spec.endpoints).toEqual([
      expect.objectContaining({ port: 'http', path: '/metrics', interval: '30s' }),
    ]);
    const services = built.standby.filter((o): o is Service => o.kind === 'Service');
    const selected = services.filter((s) => matches(spec.selector.matchLabels, s.metadata.labels));
    expect(selected.map((s) => s.metadata.name).sort()).toEqual(['baton', 'baton-worker']);
    for (const service of selected) {
      expect(service.spec.ports.map((p) => p.name)).toContain('http');
      expect(spec.namespaceSelector.matchNames).toContain(service.metadata.namespace);
      // The job label comes from this Service label, so every series has job="baton".
      expect(service.metadata.labels?.[spec.jobLabel]).toBe('baton');
    }
  });

  it('the in-cluster Alertmanager webhook URLs in manifests/monitoring reach the web Service', async () => {
    const plain = parse(await readFile(join(MANIFESTS, 'monitoring/alertmanager.yaml'), 'utf8')) as {
      receivers: { webhook_configs?: { url: string }[] }[];
    };
    const operator = (await readObjects('monitoring/alertmanager-config.yaml')).find(
      (o) => o.kind === 'AlertmanagerConfig',
    ) as { spec: { receivers: { webhookConfigs?: { url: string }[] }[] } } | undefined;
    const urls = [
      ...plain.receivers.flatMap((r) => r.webhook_configs ?? []),
      ...(operator?.spec.receivers.flatMap((r) => r.webhookConfigs ?? []) ?? []),
    ].map((w) => new URL(w.url));
    expect(urls.length).toBe(2);
    for (const url of urls) {
      const [serviceName, namespace] = url.hostname.split('.');
      for (const build of [built.standby, built.management]) {
        const service = find<Service>(build, 'Service', serviceName ?? '');
        expect(service.metadata.namespace).toBe(namespace);
        expect(service.spec.ports.map((p) => p.port)).toContain(Number(url.port || 80));
      }
      expect(url.pathname).toBe('/alertmanager');
    }
  });
});

describe('base: NetworkPolicies', () => {
  const policy = (name: string) => find<NetworkPolicy>(built.base, 'NetworkPolicy', name);
  const egressPorts = (p: NetworkPolicy) =>
    (p.spec.egress ?? [])
      .flatMap((rule) => (rule.ports ?? []).map((port) => `${port.port}/${port.protocol}`))
      .sort();
  const ingressFrom = (p: NetworkPolicy) =>
    (p.spec.ingress ?? []).flatMap((rule) =>
      (rule.from ?? []).map(
        (peer) =>
          `${peer.namespaceSelector?.matchLabels['kubernetes.io/metadata.name'] ?? '(same)'}/` +
          `${peer.podSelector?.matchLabels['app.kubernetes.io/name']}:${rule.ports?.map((x) => x.port).join(',')}`,
      ),
    );

  it('web: reached by the ingress controller, Prometheus and Alertmanager; reaches DNS, Redis and HTTPS', () => {
    const web = policy('baton-web');
    expect(
      matches(
        web.spec.podSelector.matchLabels,
        find<Workload>(built.base, 'Deployment', 'baton-web').spec.template.metadata.labels,
      ),
    ).toBe(true);
    expect(web.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(ingressFrom(web).sort()).toEqual([
      'ingress-nginx/ingress-nginx:http',
      'monitoring/alertmanager:http',
      'monitoring/prometheus:http',
    ]);
    expect(egressPorts(web)).toEqual(['443/TCP', '53/TCP', '53/UDP', '6379/TCP']);
  });

  it('worker: reached only by Prometheus; reaches DNS, Redis, HTTPS, PostgreSQL and the Kubernetes API', () => {
    const worker = policy('baton-worker');
    expect(
      matches(
        worker.spec.podSelector.matchLabels,
        find<Workload>(built.base, 'Deployment', 'baton-worker').spec.template.metadata.labels,
      ),
    ).toBe(true);
    expect(worker.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(ingressFrom(worker)).toEqual(['monitoring/prometheus:http']);
    expect(egressPorts(worker)).toEqual(['443/TCP', '53/TCP', '53/UDP', '5432/TCP', '6379/TCP', '6443/TCP']);
  });

  it('Redis: reached only by Baton pods on 6379, and reaches nothing', () => {
    const redis = policy('baton-redis');
    const statefulSet = find<Workload>(built.base, 'StatefulSet', 'baton-redis');
    expect(matches(redis.spec.podSelector.matchLabels, statefulSet.spec.template.metadata.labels)).toBe(true);
    expect(redis.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(redis.spec.egress ?? []).toEqual([]);
    expect(ingressFrom(redis)).toEqual(['(same)/baton:6379']);
    // The Redis rule of each Baton policy selects exactly the Redis pods.
    for (const name of ['baton-web', 'baton-worker']) {
      const rule = policy(name).spec.egress?.find((r) => r.ports?.some((p) => p.port === 6379));
      expect(
        matches(
          rule?.to?.[0]?.podSelector?.matchLabels ?? { none: 'x' },
          statefulSet.spec.template.metadata.labels,
        ),
      ).toBe(true);
    }
  });
});

describe('base: Redis', () => {
  it('a StatefulSet with AOF, noeviction and a volume claim, running non-root and read-only', () => {
    const redis = find<Workload>(built.base, 'StatefulSet', 'baton-redis');
    const c = container(redis, 'redis');
    const args = c.args ?? [];
    const flag = (name: string) => args[args.indexOf(name) + 1];
    expect(flag('--appendonly')).toBe('yes');
    expect(flag('--maxmemory-policy')).toBe('noeviction');
    const dataMount = c.volumeMounts?.find((m) => m.mountPath === flag('--dir'));
    expect(redis.spec.volumeClaimTemplates?.map((t) => t.metadata.name)).toEqual([dataMount?.name]);
    expect(redis.spec.template.spec.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 999,
      fsGroup: 999,
    });
    expect(c.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(redis.spec.template.spec.automountServiceAccountToken).toBe(false);
  });
});

describe('the topology ConfigMap', () => {
  it('holds examples/baton.yaml byte for byte, and Baton loads it', async () => {
    const example = await readFile(join(ROOT, 'examples/baton.yaml'), 'utf8');
    for (const build of [built.base, built.standby, built.management]) {
      const configMap = build.find(
        (o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('baton-topology-'),
      );
      expect((configMap?.data as Record<string, string>)['baton.yaml']).toBe(example);
    }
    const parsed = parseTopology(example, DB_ENV);
    expect(parsed.ok ? [] : parsed.problems).toEqual([]);
  });

  it('secret.example.yaml names every variable Baton needs from it, with placeholder values only', async () => {
    const [secret] = await readObjects('base/secret.example.yaml');
    const data = (secret?.stringData ?? {}) as Record<string, string>;
    const parsed = parseTopology(await readFile(join(ROOT, 'examples/baton.yaml'), 'utf8'), DB_ENV);
    if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
    const urlEnvs = parsed.topology.sites.flatMap((site) =>
      Object.values(site.database?.members ?? {}).map((member) => member.urlEnv),
    );
    expect(urlEnvs.length).toBeGreaterThan(0);
    for (const key of [
      'SLACK_BOT_TOKEN',
      'SLACK_SIGNING_SECRET',
      'ALERTMANAGER_TOKEN',
      'REDIS_PASSWORD',
      ...urlEnvs,
    ]) {
      expect(data[key], key).toMatch(/REPLACE/);
    }
    // Every secretKeyRef in the workloads names a key of this Secret.
    for (const workload of workloads(built.base)) {
      for (const c of workload.spec.template.spec.containers) {
        for (const ref of c.env?.flatMap((e) => e.valueFrom?.secretKeyRef ?? []) ?? []) {
          expect(ref.name).toBe(secret?.metadata.name);
          expect(Object.keys(data)).toContain(ref.key);
        }
      }
    }
  });
});

describe('the two placements', () => {
  const overlays = { standby: 'standby-cluster', management: 'management-cluster' } as const;

  it.each(Object.keys(overlays) as (keyof typeof overlays)[])(
    '%s: everything namespaced lives in namespace baton',
    (key) => {
      const objects = built[key];
      expect(find(objects, 'Namespace', 'baton')).toBeDefined();
      const clusterScoped = ['Namespace', 'PriorityClass'];
      for (const object of objects.filter((o) => !clusterScoped.includes(o.kind))) {
        expect(`${object.kind}/${object.metadata.name} in ${object.metadata.namespace}`).toBe(
          `${object.kind}/${object.metadata.name} in baton`,
        );
      }
      for (const workload of workloads(objects)) {
        expect(workload.spec.template.metadata.labels['app.kubernetes.io/instance']).toBeDefined();
      }
    },
  );

  it.each(Object.keys(overlays) as (keyof typeof overlays)[])(
    '%s: the kubeconfig example has one context per cluster of the topology, named as its kubeContext',
    async (key) => {
      const [secret] = await readObjects(`overlays/${overlays[key]}/kubeconfig-secret.example.yaml`);
      expect(secret?.metadata.name).toBe('baton-kubeconfig');
      const kubeconfig = parse((secret?.stringData as { config: string }).config) as {
        clusters: { name: string; cluster: { server: string } }[];
        contexts: { name: string; context: { cluster: string; user: string } }[];
        users: { name: string; user: { token: string } }[];
      };
      const parsed = parseTopology(await readFile(join(ROOT, 'examples/baton.yaml'), 'utf8'), DB_ENV);
      if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
      const site = parsed.topology.sites[0]!;
      const contexts = Object.values(site.clusters).map((c) => c.kubeContext);
      expect(kubeconfig.contexts.map((c) => c.name).sort()).toEqual([...contexts].sort());
      for (const context of kubeconfig.contexts) {
        expect(kubeconfig.clusters.map((c) => c.name)).toContain(context.context.cluster);
        expect(kubeconfig.users.find((u) => u.name === context.context.user)?.user.token).toMatch(/REPLACE/);
      }
      const servers = kubeconfig.clusters.map((c) => c.cluster.server);
      const standbyContext = Object.entries(site.clusters).find(([id]) => id !== site.homeCluster)?.[1]
        .kubeContext;
      const inCluster = kubeconfig.clusters.filter(
        (c) => c.cluster.server === 'https://kubernetes.default.svc',
      );
      if (key === 'standby') {
        // Baton runs in the standby cluster: that one is reached in-cluster, the serving one from outside.
        expect(inCluster.map((c) => c.name)).toEqual([standbyContext]);
      } else {
        expect(inCluster).toEqual([]);
        expect(servers.every((s) => s.startsWith('https://'))).toBe(true);
      }
    },
  );

  it('standby-cluster: a failover scale-up in this cluster cannot preempt Baton', () => {
    const priority = find(built.standby, 'PriorityClass', 'baton-critical') as KubeObject & {
      value: number;
      preemptionPolicy: string;
    };
    expect(priority.value).toBeGreaterThan(0);
    expect(priority.value).toBeLessThan(1_000_000_000);
    expect(priority.preemptionPolicy).toBe('Never');
    for (const workload of workloads(built.standby)) {
      expect(workload.spec.template.spec.priorityClassName).toBe('baton-critical');
    }
  });

  it('management-cluster: both roles spread over zones as well as nodes', () => {
    for (const workload of workloads(built.management).filter((w) => w.kind === 'Deployment')) {
      expect(workload.spec.template.spec.topologySpreadConstraints?.map((t) => t.topologyKey)).toEqual([
        'kubernetes.io/hostname',
        'topology.kubernetes.io/zone',
      ]);
    }
  });
});
