import { pino } from 'pino';

export type Logger = pino.Logger;

export interface CreateLoggerOptions {
  /** pino level name (default `info`). */
  level?: string;
  /** Where lines go (default stdout); tests pass a stream to read them back. */
  destination?: pino.DestinationStream;
  /** Fields on every line (default: pid and hostname, as pino does). */
  base?: object;
}

const CENSOR = '[redacted]';

// Field names whose value is a secret wherever it appears, up to two levels deep.
const SECRET_KEYS = [
  'token',
  'botToken',
  'appToken',
  'accessToken',
  'refreshToken',
  'slackBotToken',
  'slackAppToken',
  'slackSigningSecret',
  'signingSecret',
  'alertmanagerToken',
  'secret',
  'clientSecret',
  'secretAccessKey',
  'sessionToken',
  'password',
  'passwd',
  'apiKey',
  'databaseUrl',
  'connectionString',
  'authorization',
  'cookie',
];

/** Redaction paths (pino `redact`): secret-named fields at the top level and one or two levels deep. */
export const REDACT_PATHS: readonly string[] = [
  ...SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]),
  'database.url',
  '*.database.url',
  'db.url',
  '*.db.url',
  'headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["set-cookie"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
];

// One pass over a string finds every kind of embedded secret; each alternative is anchored on a literal
// (xox, xapp, ://, Bearer/Basic, password=), so text without secrets is scanned quickly and returned as is.
const EMBEDDED_SECRET = new RegExp(
  [
    /(?<slack>\b(?:xox[abeposr]|xapp)-)[A-Za-z0-9-]+/.source,
    // userinfo in a URL; the password runs to the last "@" before the host, so an unencoded "@" does not leak.
    /(?<scheme>\b[A-Za-z][A-Za-z0-9+.-]*:\/\/)(?<user>[^\s:@/?#"'\\]*):[^\s/?#"'\\]*@/.source,
    // "Basic" only after "Authorization:", so that prose such as "Basic checks passed" is left alone.
    /(?<auth>\b(?:Bearer\s+|Authorization:\s*Basic\s+))[A-Za-z0-9\-._~+/]+=*/.source,
    /(?<key>\b(?:password|passwd|pwd)\s*[=:]\s*)[^\s;&,"'\\]+/.source,
  ].join('|'),
  'gi',
);

/**
 * Replaces secrets embedded in free text: Slack tokens (`xoxb-…` → `xoxb-[redacted]`), passwords in URLs
 * (`postgres://app:pw@db` → `postgres://app:[redacted]@db`), `Bearer` and `Authorization: Basic` credentials and `password=…` pairs.
 */
export function scrubSecrets(text: string): string {
  return text.replace(EMBEDDED_SECRET, (match, ...rest: unknown[]) => {
    const groups = rest[rest.length - 1] as Record<string, string | undefined>;
    if (groups.slack !== undefined) return `${groups.slack}${CENSOR}`;
    if (groups.scheme !== undefined) return `${groups.scheme}${groups.user ?? ''}:${CENSOR}@`;
    if (groups.auth !== undefined) return `${groups.auth}${CENSOR}`;
    if (groups.key !== undefined) return `${groups.key}${CENSOR}`;
    return match;
  });
}

/**
 * Creates Baton's root logger. Secrets are kept out of the output twice over: `redact` censors fields by name, and
 * every finished line is scrubbed of embedded secrets (messages, string fields, `err.message` and `err.stack`,
 * child bindings), so a connection error that quotes its URL does not leak the password.
 */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const loggerOptions: pino.LoggerOptions = {
    level: options.level ?? 'info',
    redact: { paths: [...REDACT_PATHS], censor: CENSOR },
    // pino serializes only `err`; an Error under `error` would otherwise print as {}.
    serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    hooks: {
      // Scrubbing the raw arguments keeps secrets that JSON escaping would hide from the line scrub below.
      logMethod(args, method) {
        const scrubbed = args.map((arg: unknown) => (typeof arg === 'string' ? scrubSecrets(arg) : arg));
        const [first] = args;
        // pino takes the message of a lone Error from err.message, after this hook; supply it scrubbed.
        if (first instanceof Error && args.length === 1) scrubbed.push(scrubSecrets(first.message));
        method.apply(this, scrubbed as Parameters<pino.LogFn>);
      },
      // The final net: one regex pass over the serialized line catches fields, errors and bindings.
      streamWrite: scrubSecrets,
    },
  };
  if (options.base !== undefined) loggerOptions.base = options.base as Record<string, unknown>;
  return options.destination ? pino(loggerOptions, options.destination) : pino(loggerOptions);
}
