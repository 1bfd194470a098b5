/**
 * What the stand-in serves, as discovery documents describe it: the groups, versions and resources (with the verbs
 * served), `/version`, and the lookup of the resource a request names.
 */
import type { Attributes } from './request-attributes.js';

export interface ResourceDef {
  name: string;
  singularName: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  /** For subresources whose kind lives in another group (deployments/scale is autoscaling/v1 Scale). */
  group?: string;
  version?: string;
}

/** A resource of a discovery document; verbs are those this stand-in serves. */
const def = (name: string, kind: string, verbs: string[], extra: Partial<ResourceDef> = {}): ResourceDef => ({
  name,
  singularName: name.includes('/') ? '' : kind.toLowerCase(),
  kind,
  namespaced: true,
  verbs,
  ...extra,
});

const READ = ['get', 'list'];
const SCALE = { group: 'autoscaling', version: 'v1' };

const GROUPS: Record<string, { version: string; resources: ResourceDef[] }> = {
  '': {
    version: 'v1',
    resources: [
      def('namespaces', 'Namespace', READ, { namespaced: false, shortNames: ['ns'] }),
      def('nodes', 'Node', READ, { namespaced: false, shortNames: ['no'] }),
      def('pods', 'Pod', READ, { shortNames: ['po'], categories: ['all'] }),
    ],
  },
  apps: {
    version: 'v1',
    resources: [
      def('deployments', 'Deployment', READ, { shortNames: ['deploy'], categories: ['all'] }),
      def('deployments/scale', 'Scale', ['get', 'patch', 'update'], SCALE),
      def('deployments/status', 'Deployment', ['get']),
      def('statefulsets', 'StatefulSet', READ, { shortNames: ['sts'], categories: ['all'] }),
      def('statefulsets/scale', 'Scale', ['get', 'patch', 'update'], SCALE),
      def('statefulsets/status', 'StatefulSet', ['get']),
    ],
  },
  'authorization.k8s.io': {
    version: 'v1',
    resources: [
      def('selfsubjectaccessreviews', 'SelfSubjectAccessReview', ['create'], { namespaced: false }),
    ],
  },
  autoscaling: {
    version: 'v2',
    resources: [
      def('horizontalpodautoscalers', 'HorizontalPodAutoscaler', ['get', 'list', 'patch'], {
        shortNames: ['hpa'],
        categories: ['all'],
      }),
      def('horizontalpodautoscalers/status', 'HorizontalPodAutoscaler', ['get']),
    ],
  },
  'argoproj.io': {
    version: 'v1alpha1',
    resources: [
      def('applications', 'Application', ['get', 'list', 'patch'], { shortNames: ['app', 'apps'] }),
    ],
  },
  'postgresql.cnpg.io': {
    version: 'v1',
    resources: [
      def('clusters', 'Cluster', ['get', 'list', 'patch'], { categories: ['all'] }),
      def('clusters/status', 'Cluster', ['get']),
    ],
  },
};

export const GIT_VERSION = 'v1.30.4';

/** The discovery document at `segments` (`/version`, `/api`, `/apis`, a group, a group version), if it is one. */
export function discoveryDocument(segments: string[], port: number): unknown {
  const [first, second] = segments;
  if (segments.length === 1 && first === 'version') return versionInfo();
  if (segments.length === 1 && first === 'api') {
    return {
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${port}` }],
    };
  }
  if (segments.length === 1 && first === 'apis') {
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: Object.keys(GROUPS).filter(Boolean).map(apiGroup),
    };
  }
  if (segments.length === 2 && first === 'apis' && second !== undefined && GROUPS[second])
    return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(second) };
  if (segments.length === 2 && first === 'api' && second === 'v1') return resourceList('');
  if (
    segments.length === 3 &&
    first === 'apis' &&
    second !== undefined &&
    GROUPS[second]?.version === segments[2]
  )
    return resourceList(second);
  return undefined;
}

/** The resource a request names, if this stand-in serves it at that version and scope. */
export function servedResource(segments: string[], attributes: Attributes): ResourceDef | undefined {
  const groupDef = GROUPS[attributes.group];
  const version = segments[0] === 'api' ? 'v1' : segments[2];
  if (!groupDef || groupDef.version !== version) return undefined;
  const fullName = attributes.subresource
    ? `${attributes.resource}/${attributes.subresource}`
    : attributes.resource;
  const resource = groupDef.resources.find((r) => r.name === fullName);
  if (!resource || (resource.namespaced === false && attributes.namespace)) return undefined;
  return resource;
}

function versionInfo(): Record<string, string> {
  return {
    major: '1',
    minor: '30',
    gitVersion: GIT_VERSION,
    gitCommit: '9fbd0d6a1c1e8a1e21b1ae2b2e1c6a6f3d1b4c1e',
    gitTreeState: 'clean',
    buildDate: '2024-08-14T19:00:00Z',
    goVersion: 'go1.22.5',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

function apiGroup(group: string): Record<string, unknown> {
  const version = GROUPS[group]?.version ?? 'v1';
  const groupVersion = { groupVersion: `${group}/${version}`, version };
  return { name: group, versions: [groupVersion], preferredVersion: groupVersion };
}

function resourceList(group: string): Record<string, unknown> {
  const groupDef = GROUPS[group];
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${groupDef?.version}` : 'v1',
    resources: (groupDef?.resources ?? []).map((r) => ({
      name: r.name,
      singularName: r.singularName,
      namespaced: r.namespaced,
      ...(r.group && { group: r.group, version: r.version }),
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames && { shortNames: r.shortNames }),
      ...(r.categories && { categories: r.categories }),
    })),
  };
}
