/**
 * The real adapters behind the engine's ports: Kubernetes from KUBECONFIG (or in-cluster), Route 53 from the SDK's
 * credential chain (with its endpoint override), PostgreSQL from the variables the topology names, HTTP health.
 */
import type { BatonEnv } from '../config/env.js';
import type { ClusterId, SiteConfig, Topology } from '../config/topology.js';
import type { Log, Ports } from '../core/ports.js';
import { BatonError } from '../errors.js';
import { HttpHealth } from './http-health.js';
import type { CnpgClusterRef } from './kubernetes.js';
import { KubernetesClusters, parseCnpgDemotionToken } from './kubernetes.js';
import { PostgresDatabases } from './postgres.js';
import { ROUTE53_RATE_WINDOW_MS, Route53Dns } from './route53.js';
import type { SharedRequestLimiter } from './route53.js';

type Env = Record<string, string | undefined>;

export interface RealPorts {
  ports: Ports;
  kubernetes: KubernetesClusters;
  route53: Route53Dns;
  databases: PostgresDatabases;
  close(): Promise<void>;
}

/** The CloudNativePG Cluster a database member names (`database.<cluster>.cnpgCluster`). */
function cnpgRef(site: SiteConfig, cluster: ClusterId): CnpgClusterRef {
  const ref = site.database?.members[cluster]?.cnpgCluster;
  if (!ref) {
    throw new BatonError(
      'config-invalid',
      `${site.name}: promotion is cloudnative-pg but ${cluster} names no cnpgCluster (database.${cluster}.cnpgCluster)`,
    );
  }
  return ref;
}

export function createPorts(input: {
  env: BatonEnv;
  rawEnv: Env;
  topology: Topology;
  log: Log;
  /**
   * Builds the Route 53 limit shared by every process on the Redis (the roles do, from the store; this adapter
   * names the window); without it, the limit is this process's own.
   */
  route53Limiter?: (windowMs: number) => SharedRequestLimiter;
}): RealPorts {
  const { env, rawEnv, topology, log } = input;
  const kubernetes = KubernetesClusters.fromEnvironment({
    ...(env.kubeconfig && { kubeconfigPath: env.kubeconfig }),
    ...(env.allowInsecureKube && { allowInsecureKube: true }),
    ...(env.kubeWritesPerSecond !== undefined && { writesPerSecond: env.kubeWritesPerSecond }),
    log: log.child({ adapter: 'kubernetes' }),
  });
  const route53 = new Route53Dns({
    ...(env.awsEndpointUrlRoute53 && { endpoint: env.awsEndpointUrlRoute53 }),
    maxRequestsPerSecond: env.route53MaxRequestsPerSecond,
    ...(input.route53Limiter && { sharedLimiter: input.route53Limiter(ROUTE53_RATE_WINDOW_MS) }),
    log,
  });
  const databases = new PostgresDatabases({
    log: log.child({ adapter: 'postgres' }),
    urlFor: (site, cluster) => {
      const member = site.database?.members[cluster];
      if (!member) throw new BatonError('no-database', `${site.name} has no database on ${cluster}`);
      const url = rawEnv[member.urlEnv];
      if (!url) {
        throw new BatonError(
          'config-invalid',
          `${member.urlEnv} is not set: it holds the PostgreSQL URL of ${site.name} on ${cluster}`,
        );
      }
      return url;
    },
    cnpg: {
      demote: async (site, cluster, newPrimary, options) => {
        const ref = cnpgRef(site, cluster);
        const { demotionToken } = await kubernetes.demoteCnpgCluster(site, cluster, ref, {
          newPrimary: cnpgRef(site, newPrimary).name,
          ...(options.signal && { signal: options.signal }),
        });
        return { token: demotionToken, lsn: parseCnpgDemotionToken(demotionToken).redoLsn };
      },
      promote: async (site, cluster, options) => {
        await kubernetes.promoteCnpgCluster(site, cluster, cnpgRef(site, cluster), {
          ...(options.signal && { signal: options.signal }),
          ...(options.promotionToken && { promotionToken: options.promotionToken }),
        });
      },
    },
  });
  void topology;
  return {
    ports: {
      cluster: kubernetes,
      gitops: kubernetes,
      dns: route53,
      database: databases,
      health: new HttpHealth(),
    },
    kubernetes,
    route53,
    databases,
    close: async () => {
      route53.close();
      await databases.close();
    },
  };
}
