import { BatonError } from '../errors.js';

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
  /** `REDIS_URL` (default `redis://127.0.0.1:6379`). */
  redisUrl: string;
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
  /** `AWS_ENDPOINT_URL_ROUTE_53`: the AWS SDK's own Route 53 endpoint override (the sandbox uses it). */
  awsEndpointUrlRoute53?: string;
}

export type ParseEnvResult = { ok: true; env: BatonEnv } | { ok: false; problems: string[] };

const REDIS_PROTOCOLS = ['redis:', 'rediss:', 'redis+sentinel:', 'rediss+sentinel:'];

/**
 * Reads Baton's settings from `env` (pass `process.env` from the composition root). Empty values count as unset, as
 * `.env` files often hold `NAME=` lines. Problems name the variable and never echo a value, which may be a secret.
 */
export function parseEnv(env: Record<string, string | undefined>): ParseEnvResult {
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const prefixed = (name: string, prefix: string, what: string): string | undefined => {
    const value = get(name);
    if (value !== undefined && !value.startsWith(prefix))
      problems.push(`${name}: must be ${what} starting with ${prefix}`);
    return value;
  };
  const url = (name: string, protocols: string[], example: string): string | undefined => {
    const value = get(name);
    if (value === undefined) return undefined;
    // Sentinel URLs list several host:port pairs, which WHATWG URL parsing rejects; their scheme is enough here.
    const scheme = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(value)?.[1]?.toLowerCase();
    let ok = scheme !== undefined && protocols.includes(scheme);
    if (ok && !scheme?.includes('+sentinel')) {
      try {
        ok = protocols.includes(new URL(value).protocol);
      } catch {
        ok = false;
      }
    }
    if (!ok) problems.push(`${name}: must be a URL like ${example}`);
    return value;
  };

  const slackBotToken = prefixed('SLACK_BOT_TOKEN', 'xoxb-', 'a Slack bot token');
  const slackSigningSecret = get('SLACK_SIGNING_SECRET');
  const slackAppToken = prefixed('SLACK_APP_TOKEN', 'xapp-', 'a Slack app-level token');
  const slackApiUrl = url('SLACK_API_URL', ['http:', 'https:'], 'https://slack.com/api/');
  const redisUrl = url('REDIS_URL', REDIS_PROTOCOLS, 'redis://127.0.0.1:6379') ?? 'redis://127.0.0.1:6379';
  const awsEndpointUrlRoute53 = url(
    'AWS_ENDPOINT_URL_ROUTE_53',
    ['http:', 'https:'],
    'http://127.0.0.1:4566',
  );

  let port = 3000;
  const portText = get('PORT');
  if (portText !== undefined) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 0 && port <= 65_535)) {
      problems.push(
        `PORT: must be an integer from 1 to 65535 (or 0: any free port), got ${JSON.stringify(portText)}`,
      );
    }
  }

  let logLevel: LogLevel = 'info';
  const levelText = get('LOG_LEVEL')?.toLowerCase();
  if (levelText !== undefined) {
    if ((LOG_LEVELS as readonly string[]).includes(levelText)) logLevel = levelText as LogLevel;
    else
      problems.push(`LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(levelText)}`);
  }

  if (problems.length > 0) return { ok: false, problems };
  const out: BatonEnv = { redisUrl, batonConfig: get('BATON_CONFIG') ?? './baton.yaml', port, logLevel };
  const optional = {
    slackBotToken,
    slackSigningSecret,
    slackAppToken,
    slackApiUrl,
    alertmanagerToken: get('ALERTMANAGER_TOKEN'),
    kubeconfig: get('KUBECONFIG'),
    awsEndpointUrlRoute53,
  };
  for (const [key, value] of Object.entries(optional) as [keyof typeof optional, string | undefined][]) {
    if (value !== undefined) out[key] = value;
  }
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
