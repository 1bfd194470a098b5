/**
 * Builds the doctor's checks for one process from its environment: the adapters each system needs (their own
 * instances, closed afterwards), and a failing line where a setting is missing. `baton doctor` checks every system;
 * at boot each role checks only what it uses (the web role never talks to Kubernetes, Route 53 or PostgreSQL), and
 * loads only those adapters (the Kubernetes client alone is most of a second and ~130 MB).
 */
import type { SharedRequestLimiter } from '../adapters/route53.js';
import { createSlackWebClient } from '../adapters/slack-web.js';
import type { BatonEnv } from '../config/env.js';
import type { Topology } from '../config/topology.js';
import type { Log } from '../core/ports.js';
import { BatonError } from '../errors.js';
import type { DoctorSystem } from './doctor-check.js';
import { fail, failed } from './doctor-check.js';
import type { DoctorReport, DoctorSystems } from './run-doctor.js';
import { runDoctor } from './run-doctor.js';
import { checkSlack } from './slack-checks.js';

type Env = Record<string, string | undefined>;

export interface OpenDoctorOptions {
  env: BatonEnv;
  /** For the database URL variables the topology names. */
  rawEnv: Env;
  topology: Topology;
  log: Log;
  /** Which systems to check (default all). */
  systems?: readonly DoctorSystem[];
  /** Bounds every check (the CLI's deadline; a shutting-down process). */
  signal?: AbortSignal;
  /**
   * The Route 53 limit the workers share (at boot): a worker that restarts mid-incident must not spend the account's
   * quota beside them. Without it (`baton doctor`), the probes keep to a small limit of their own.
   */
  route53Limiter?: (windowMs: number) => SharedRequestLimiter;
}

/** Runs the checks of the systems asked for, and closes what it opened. */
export async function doctor(options: OpenDoctorOptions): Promise<DoctorReport> {
  const { env, rawEnv, topology, log, signal } = options;
  const wanted = new Set(options.systems ?? ['slack', 'kubernetes', 'route53', 'postgresql']);
  const closers: (() => Promise<void> | void)[] = [];
  const systems: DoctorSystems = {};

  if (wanted.has('slack')) {
    systems.slack = async () => {
      if (!env.slackBotToken) {
        return [
          fail(
            'slack',
            'the bot token is set',
            'SLACK_BOT_TOKEN is not set',
            "set it to the app's Bot User OAuth Token (xoxb-…)",
          ),
        ];
      }
      const client = createSlackWebClient({
        token: env.slackBotToken,
        ...(env.slackApiUrl && { apiUrl: env.slackApiUrl }),
        log,
      });
      return checkSlack(client, topology);
    };
  }
  if (wanted.has('kubernetes')) {
    systems.kubernetes = async () => {
      const [{ loadKubeConfig }, { KubernetesAccessReview }, { KubernetesClusters }, { checkKubernetes }] =
        await Promise.all([
          import('../adapters/kubernetes/kube-config.js'),
          import('../adapters/kubernetes/access-review.js'),
          import('../adapters/kubernetes.js'),
          import('./kubernetes-checks.js'),
        ]);
      let kubeConfig;
      try {
        kubeConfig = loadKubeConfig(env.kubeconfig, {
          ...(env.allowInsecureKube && { allowInsecure: true }),
          log,
        });
      } catch (error) {
        return [failed('kubernetes', 'the kubeconfig loads', error)];
      }
      const parts = {
        reviews: new KubernetesAccessReview({ kubeConfig, log }),
        clusters: new KubernetesClusters({ kubeConfig, log }),
      };
      return checkKubernetes(parts, topology, signal);
    };
  }
  if (wanted.has('route53')) {
    systems.route53 = async () => {
      const [{ Route53Access }, { checkRoute53 }] = await Promise.all([
        import('../adapters/route53/route53-access.js'),
        import('./route53-checks.js'),
      ]);
      const access = new Route53Access({
        ...(env.awsEndpointUrlRoute53 && { endpoint: env.awsEndpointUrlRoute53 }),
        ...(options.route53Limiter && { sharedLimiter: options.route53Limiter }),
        log,
      });
      closers.push(() => access.close());
      return checkRoute53(access, topology, signal);
    };
  }
  if (wanted.has('postgresql') && topology.sites.some((site) => site.database)) {
    systems.postgresql = async () => {
      const [{ PostgresPrivileges }, { checkPostgres }] = await Promise.all([
        import('../adapters/postgres/privileges.js'),
        import('./postgres-checks.js'),
      ]);
      const privileges = new PostgresPrivileges({
        urlFor: (site, cluster) => {
          const urlEnv = site.database?.members[cluster]?.urlEnv ?? `database.${cluster}.urlEnv`;
          const url = rawEnv[urlEnv];
          if (!url) {
            throw new BatonError(
              'config-invalid',
              `${urlEnv} is not set: it holds the PostgreSQL URL of ${site.name} on ${cluster}`,
            );
          }
          return url;
        },
      });
      closers.push(() => privileges.close());
      return checkPostgres(privileges, topology, signal);
    };
  }

  try {
    return await runDoctor(systems);
  } finally {
    for (const close of closers) await Promise.resolve(close()).catch(() => undefined);
  }
}
