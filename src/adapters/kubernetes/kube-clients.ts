/**
 * The API clients of each kubeconfig context, made once and cached, and the resolution of a site's cluster to the
 * context the topology names (or the kubeconfig's current one). TLS is verified with the kubeconfig's CA. A context
 * whose user is an exec credential plugin can drop the plugin's cached token after a 401, as kubectl does.
 */
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  ServerConfiguration,
  createConfiguration,
} from '@kubernetes/client-node';
import type { RequestContext, SecurityAuthentication } from '@kubernetes/client-node';
import type { ClusterId, SiteConfig } from '../../config/topology.js';
import { BatonError } from '../../errors.js';

/** The API clients of one kubeconfig context. */
export interface ClientSet {
  context: string;
  server: string;
  core: CoreV1Api;
  apps: AppsV1Api;
  custom: CustomObjectsApi;
  /** The context's credentials; `execCommand` is set when its user is an exec credential plugin. */
  credentials: ContextCredentials;
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
    const user = this.kubeConfig.getUser(contextObject.user);
    const credentials = new ContextCredentials(snapshot(this.kubeConfig, context), execCommandOf(user));
    // What KubeConfig.makeApiClient builds, but authenticating through `credentials`, which can be renewed.
    const configuration = createConfiguration({
      baseServer: new ServerConfiguration(server, {}),
      authMethods: { default: credentials },
    });
    const clients: ClientSet = {
      context,
      server,
      core: new CoreV1Api(configuration),
      apps: new AppsV1Api(configuration),
      custom: new CustomObjectsApi(configuration),
      credentials,
    };
    this.clients.set(context, clients);
    return clients;
  }
}

/**
 * How the clients of one context authenticate: through a KubeConfig of the context's own (client-node authenticates
 * with the *current* context at request time). Users pass through untouched, so an exec plugin's token is
 * client-node's to fetch and cache (in its ExecAuth, per KubeConfig) until the credential's expirationTimestamp.
 *
 * A token can stop working before then (revoked, the issuer's keys rotated). On a 401 kubectl runs the plugin again
 * "unless they were rotated already" (client-go plugin/pkg/client/auth/exec/exec.go, `maybeRefreshCreds`); `renew`
 * does the same by replacing the KubeConfig, and with it client-node's cache, while every API client made with
 * these credentials keeps working.
 */
export class ContextCredentials implements SecurityAuthentication {
  private kubeConfig: KubeConfig;
  private renewals = 0;

  /** `execCommand`: the exec credential plugin the context's user runs, if it does. */
  constructor(
    private readonly options: object,
    readonly execCommand: string | undefined,
  ) {
    this.kubeConfig = load(options);
  }

  getName(): string {
    return 'kubeconfig';
  }

  applySecurityAuthentication(context: RequestContext): Promise<void> {
    return this.kubeConfig.applySecurityAuthentication(context);
  }

  /** Changes each time the credential is renewed: a request notes it before it is sent. */
  get generation(): number {
    return this.renewals;
  }

  /**
   * After a 401: whether the next attempt carries a credential fetched afresh (false for a static one, which only
   * the kubeconfig can change). Renews once for all requests that saw the same credential refused, so concurrent
   * requests run the plugin once.
   */
  renew(refusedGeneration: number): boolean {
    if (this.execCommand === undefined) return false;
    if (refusedGeneration === this.renewals) {
      this.kubeConfig = load(this.options);
      this.renewals += 1;
    }
    return true;
  }
}

function load(options: object): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions(options);
  return kubeConfig;
}

/** The command of a user's exec plugin (`users[].user.exec`, or the older `auth-provider` form client-node runs). */
function execCommandOf(user: { exec?: unknown; authProvider?: unknown } | null): string | undefined {
  // client-node types both as `any`: they are the kubeconfig's maps as written.
  const provider = user?.authProvider as { config?: { exec?: unknown } } | undefined;
  const exec = (user?.exec ?? provider?.config?.exec) as { command?: unknown } | undefined;
  return typeof exec?.command === 'string' ? exec.command : undefined;
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
