/**
 * The API clients of each kubeconfig context, made once and cached, and the resolution of a site's cluster to the
 * context the topology names (or the kubeconfig's current one). TLS is verified with the kubeconfig's CA.
 */
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import type { ClusterId, SiteConfig } from '../../config/topology.js';
import { BatonError } from '../../errors.js';

/** The API clients of one kubeconfig context. */
export interface ClientSet {
  context: string;
  server: string;
  core: CoreV1Api;
  apps: AppsV1Api;
  custom: CustomObjectsApi;
}

/** One cluster of one site, with the clients that reach it. */
export interface Target {
  site: SiteConfig;
  cluster: ClusterId;
  clients: ClientSet;
}

/** Client sets per kubeconfig context, made on first use. */
export class KubeClients {
  private readonly kubeConfig: KubeConfig;
  private readonly clients = new Map<string, ClientSet>();

  constructor(kubeConfig: KubeConfig) {
    this.kubeConfig = kubeConfig;
  }

  /** The clients for `cluster` of `site`; throws an operator-facing error when the kubeconfig cannot reach it. */
  target(site: SiteConfig, cluster: ClusterId): Target {
    const config = site.clusters[cluster];
    if (!config) {
      throw new BatonError(
        'unknown-cluster',
        `Site ${site.name} has no cluster "${cluster}" (it has ${Object.keys(site.clusters).join(', ')})`,
      );
    }
    const context = config.kubeContext ?? this.kubeConfig.getCurrentContext();
    return { site, cluster, clients: this.clientsFor(context, site, cluster) };
  }

  private clientsFor(context: string | undefined, site: SiteConfig, cluster: ClusterId): ClientSet {
    const known = this.kubeConfig.getContexts().map((c) => c.name);
    if (!context) {
      throw new BatonError(
        'unknown-kube-context',
        `sites.${site.name}.clusters.${cluster} names no kubeContext and the kubeconfig has no current-context — ` +
          `set kubeContext (contexts: ${known.join(', ') || 'none'})`,
      );
    }
    const cached = this.clients.get(context);
    if (cached) return cached;
    const contextObject = this.kubeConfig.getContextObject(context);
    if (!contextObject) {
      throw new BatonError(
        'unknown-kube-context',
        `The kubeconfig has no context "${context}" (site ${site.name}, cluster ${cluster}); it has ` +
          `${known.length > 0 ? known.join(', ') : 'none'} — fix clusters.${cluster}.kubeContext or KUBECONFIG`,
      );
    }
    const server = this.kubeConfig.getCluster(contextObject.cluster)?.server;
    if (!server) {
      throw new BatonError(
        'unknown-kube-context',
        `Context "${context}" names cluster "${contextObject.cluster}", which the kubeconfig does not define`,
      );
    }
    // Each context gets a KubeConfig of its own: client-node authenticates with the *current* context at request time.
    // Users pass through untouched, so an exec plugin's token is client-node's to fetch, cache and renew (per context).
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions(snapshot(this.kubeConfig, context));
    const clients: ClientSet = {
      context,
      server,
      core: kubeConfig.makeApiClient(CoreV1Api),
      apps: kubeConfig.makeApiClient(AppsV1Api),
      custom: kubeConfig.makeApiClient(CustomObjectsApi),
    };
    this.clients.set(context, clients);
    return clients;
  }
}

/** Where a target is, for messages: `west (context passive-cluster)`. */
export function describeTarget(target: Target): string {
  return `${target.cluster} (context ${target.clients.context})`;
}

function snapshot(kubeConfig: KubeConfig, currentContext: string): object {
  return {
    clusters: kubeConfig.getClusters(),
    users: kubeConfig.getUsers(),
    contexts: kubeConfig.getContexts(),
    currentContext,
  };
}
