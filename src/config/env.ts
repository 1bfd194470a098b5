/**
 * Baton's environment: one zod schema for every variable the processes read (the composition roots pass
 * `process.env`; nothing else reads it). Empty values count as unset, as `.env` files often hold `NAME=` lines.
 * Problems name the variable and never echo a value, which may be a secret.
 */
import { z } from 'zod';
import { BatonError } from '../errors.js';
import { parseRedisUrl } from './redis-url.js';
import { duration } from './topology/field-schemas.js';

/** pino's level names, in the order of verbosity; `silent` turns logging off. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Settings Baton reads from the environment. Secrets stay here and never enter the topology file. */
export interface BatonEnv {
  /** `SLACK_BOT_TOKEN` (`xoxb-…`): the bot's Web API token. */
  slackBotToken?: string;
  /** `SLACK_SIGNING_SECRET`: verifies that HTTP requests come from Slack. */
  slackSigningSecret?: string;
  /** `SLACK_APP_TOKEN` (`xapp-…`): turns on Socket Mode when set. */
  slackAppToken?: string;
  /** `SLACK_API_URL`: Web API base URL, e.g. the sandbox's stand-in (default: Slack's). */
  slackApiUrl?: string;
  /**
   * `REDIS_URL` (default `redis://127.0.0.1:6379`): one server (`redis://`, `rediss://`), Sentinel
   * (`redis+sentinel://host1:26379,host2:26379/mymaster`) or Redis Cluster (`redis+cluster://host1:6379,host2:6379`);
   * see config/redis-url.ts.
   */
  redisUrl: string;
  /** Whether `REDIS_URL` was set (the sandbox starts a Redis of its own unless it was). */
  redisUrlGiven: boolean;
  /** `BATON_CONFIG`: path of the topology file (default `./baton.yaml`). */
  batonConfig: string;
  /** `ALERTMANAGER_TOKEN`: bearer token Alertmanager must send to `POST /alertmanager`. */
  alertmanagerToken?: string;
  /** `PORT` (default 3000; 0 listens on any free port, logged at startup, as tests running several workers do). */
  port: number;
  /** `LOG_LEVEL` (default `info`). */
  logLevel: LogLevel;
  /** `KUBECONFIG`: kubeconfig path(s); the client's default lookup when unset. */
  kubeconfig?: string;
  /**
   * `BATON_ALLOW_INSECURE_KUBE=1`: accept kubeconfig clusters with `insecure-skip-tls-verify: true`, which are
   * refused otherwise (Baton verifies every API server's certificate). Set only when `1`.
   */
  allowInsecureKube?: true;
  /** `AWS_ENDPOINT_URL_ROUTE_53`: the AWS SDK's own Route 53 endpoint override (the sandbox uses it). */
  awsEndpointUrlRoute53?: string;
  /**
   * `BATON_ROUTE53_MAX_REQUESTS_PER_SECOND` (default 5, Route 53's quota per AWS account): Route 53 requests all
   * Baton processes on this Redis and key prefix may start in any second, together. Lower it when other tools
   * use the same account.
   */
  route53MaxRequestsPerSecond: number;
  /**
   * `BATON_KUBE_WRITES_PER_SECOND` (default 20, applied by the adapter): Kubernetes writes (scale, patches) each
   * worker process starts per API server in any second, over all its sites' runs. Reads are not paced.
   */
  kubeWritesPerSecond?: number;
  /**
   * `BATON_RUN_CONCURRENCY` (default 16, applied by the run worker): runs of different sites one worker process
   * drives at once. An evacuation starts a run per site; runs wait on the outside world, and the API limits are kept
   * by the shared Route 53 limit and the Kubernetes write pacing, not by holding runs back.
   */
  runConcurrency?: number;
  /**
   * `BATON_KEY_PREFIX` (default `baton`): lets several Batons (or tests) share one Redis; every store key and BullMQ
   * key is under it.
   */
  keyPrefix: string;
  /** `BATON_SANDBOX_PORT`: the sandbox page's port (0 or unset: any free port). */
  sandboxPort?: number;
  /**
   * `BATON_REDIS_TIMEOUT` (a duration, default 3s, applied by the break-glass CLI): how long a `baton` command waits
   * for Redis's first answer before saying it cannot reach it. A refused connection fails at once regardless; raise it
   * for a Redis Cluster or Sentinel reached over a slow link.
   */
  redisTimeoutMs?: number;
}

export type ParseEnvResult = { ok: true; env: BatonEnv } | { ok: false; problems: string[] };

/** An optional variable: trimmed, empty as unset. */
const optional = z.preprocess((value) => {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}, z.string().optional());

const startingWith = (prefix: string, what: string) =>
  optional.refine((value) => value === undefined || value.startsWith(prefix), {
    message: `must be ${what} starting with ${prefix}`,
  });

function isUrl(value: string, protocols: string[]): boolean {
  const scheme = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(value)?.[1]?.toLowerCase();
  if (scheme === undefined || !protocols.includes(scheme)) return false;
  try {
    return protocols.includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

const url = (protocols: string[], example: string) =>
  optional.refine((value) => value === undefined || isUrl(value, protocols), {
    message: `must be a URL like ${example}`,
  });

const portNumber = (what: string) =>
  optional.superRefine((value, ctx) => {
    if (value === undefined) return;
    const port = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
    if (!(port >= 0 && port <= 65_535))
      ctx.addIssue({ code: 'custom', message: `must be ${what}, got ${JSON.stringify(value)}` });
  });

const ENV = z.object({
  SLACK_BOT_TOKEN: startingWith('xoxb-', 'a Slack bot token'),
  SLACK_SIGNING_SECRET: optional,
  SLACK_APP_TOKEN: startingWith('xapp-', 'a Slack app-level token'),
  SLACK_API_URL: url(['http:', 'https:'], 'https://slack.com/api/'),
  REDIS_URL: optional.superRefine((value, ctx) => {
    const reading = value === undefined ? null : parseRedisUrl(value);
    if (reading && !reading.ok) ctx.addIssue({ code: 'custom', message: reading.problem });
  }),
  BATON_CONFIG: optional,
  ALERTMANAGER_TOKEN: optional,
  PORT: portNumber('an integer from 1 to 65535 (or 0: any free port)'),
  LOG_LEVEL: optional.superRefine((value, ctx) => {
    if (value !== undefined && !(LOG_LEVELS as readonly string[]).includes(value.toLowerCase()))
      ctx.addIssue({
        code: 'custom',
        message: `must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(value.toLowerCase())}`,
      });
  }),
  KUBECONFIG: optional,
  BATON_ALLOW_INSECURE_KUBE: optional.refine(
    (value) => value === undefined || value === '0' || value === '1',
    {
      message: 'must be 1 (accept insecure-skip-tls-verify clusters) or 0',
    },
  ),
  AWS_ENDPOINT_URL_ROUTE_53: url(['http:', 'https:'], 'http://127.0.0.1:4566'),
  BATON_ROUTE53_MAX_REQUESTS_PER_SECOND: optional.refine(
    (value) => value === undefined || (/^\d{1,3}$/.test(value) && Number(value) >= 1 && Number(value) <= 100),
    {
      message: 'must be a whole number of requests per second from 1 to 100 (Route 53 allows 5 per account)',
    },
  ),
  BATON_KUBE_WRITES_PER_SECOND: optional.refine(
    (value) =>
      value === undefined || (/^\d{1,4}$/.test(value) && Number(value) >= 1 && Number(value) <= 1000),
    { message: 'must be a whole number of writes per second from 1 to 1000' },
  ),
  BATON_RUN_CONCURRENCY: optional.refine(
    (value) => value === undefined || (/^\d{1,2}$/.test(value) && Number(value) >= 1 && Number(value) <= 64),
    { message: 'must be a whole number of runs at once from 1 to 64' },
  ),
  BATON_KEY_PREFIX: optional.refine(
    (value) => value === undefined || /^[a-z0-9][a-z0-9_-]{0,40}$/.test(value),
    {
      message: 'must be 1–41 lowercase letters, digits, - or _ (it becomes part of every Redis key)',
    },
  ),
  BATON_SANDBOX_PORT: portNumber('a port number (0: any free port)'),
  BATON_REDIS_TIMEOUT: optional.pipe(
    duration
      .refine((ms) => ms >= 100 && ms <= 300_000, 'must be from 100ms to 5m, like 3s or 10s')
      .optional(),
  ),
});

/**
 * Reads Baton's settings from `env` (pass `process.env` from the composition root). `defaults` changes what an unset
 * variable means for one command (the sandbox logs only warnings unless LOG_LEVEL asks for more).
 */
export function parseEnv(
  env: Record<string, string | undefined>,
  defaults: { logLevel?: LogLevel } = {},
): ParseEnvResult {
  const parsed = ENV.safeParse(env);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((issue) => `${String(issue.path[0])}: ${issue.message}`),
    };
  }
  const v = parsed.data;
  const out: BatonEnv = {
    redisUrl: v.REDIS_URL ?? 'redis://127.0.0.1:6379',
    redisUrlGiven: v.REDIS_URL !== undefined,
    batonConfig: v.BATON_CONFIG ?? './baton.yaml',
    port: v.PORT === undefined ? 3000 : Number(v.PORT),
    logLevel: (v.LOG_LEVEL?.toLowerCase() as LogLevel | undefined) ?? defaults.logLevel ?? 'info',
    keyPrefix: v.BATON_KEY_PREFIX ?? 'baton',
    route53MaxRequestsPerSecond: Number(v.BATON_ROUTE53_MAX_REQUESTS_PER_SECOND ?? 5),
  };
  const optionalValues = {
    slackBotToken: v.SLACK_BOT_TOKEN,
    slackSigningSecret: v.SLACK_SIGNING_SECRET,
    slackAppToken: v.SLACK_APP_TOKEN,
    slackApiUrl: v.SLACK_API_URL,
    alertmanagerToken: v.ALERTMANAGER_TOKEN,
    kubeconfig: v.KUBECONFIG,
    awsEndpointUrlRoute53: v.AWS_ENDPOINT_URL_ROUTE_53,
  };
  for (const [key, value] of Object.entries(optionalValues) as [
    keyof typeof optionalValues,
    string | undefined,
  ][]) {
    if (value !== undefined) out[key] = value;
  }
  if (v.BATON_SANDBOX_PORT !== undefined) out.sandboxPort = Number(v.BATON_SANDBOX_PORT);
  if (v.BATON_KUBE_WRITES_PER_SECOND !== undefined)
    out.kubeWritesPerSecond = Number(v.BATON_KUBE_WRITES_PER_SECOND);
  if (v.BATON_RUN_CONCURRENCY !== undefined) out.runConcurrency = Number(v.BATON_RUN_CONCURRENCY);
  if (v.BATON_ALLOW_INSECURE_KUBE === '1') out.allowInsecureKube = true;
  if (v.BATON_REDIS_TIMEOUT !== undefined) out.redisTimeoutMs = v.BATON_REDIS_TIMEOUT;
  return { ok: true, env: out };
}

/** Like {@link parseEnv}, but throws one `config-invalid` BatonError that lists every bad variable. */
export function loadEnv(env: Record<string, string | undefined>): BatonEnv {
  const result = parseEnv(env);
  if (result.ok) return result.env;
  const count = result.problems.length;
  throw new BatonError(
    'config-invalid',
    `invalid environment (${count} problem${count === 1 ? '' : 's'}):\n${result.problems.map((p) => `  ${p}`).join('\n')}`,
  );
}
