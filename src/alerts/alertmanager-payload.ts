/**
 * The Alertmanager webhook payload (version 4), validated with zod. Alertmanager's webhook_config sends one JSON
 * object per notification of an alert group: the group's alerts (firing and, with `send_resolved`, resolved), its
 * `groupKey`, and `truncatedAlerts` when `max_alerts` cut the list. Unknown fields are ignored so that a newer
 * Alertmanager keeps working; missing or mistyped fields Baton relies on are reported by path.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

/** One alert as Baton uses it: labels and annotations, times in epoch ms, and a fingerprint. */
export interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** When the alert started firing (epoch ms). */
  startsAt: number;
  /** When it resolved (epoch ms); undefined while firing (Alertmanager sends year 1 then). */
  endsAt?: number;
  generatorURL: string;
  /** Alertmanager's fingerprint of the label set (computed from the labels when an old Alertmanager omits it). */
  fingerprint: string;
}

export interface WebhookPayload {
  version: '4';
  groupKey: string;
  status: 'firing' | 'resolved';
  receiver: string;
  /** Alerts left out by the receiver's `max_alerts`. */
  truncatedAlerts: number;
  externalURL: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  alerts: WebhookAlert[];
}

export type ParsePayloadResult = { ok: true; payload: WebhookPayload } | { ok: false; problems: string[] };

/** Problems listed in a 400 answer; the rest are counted, so one broken storm does not answer megabytes. */
const MAX_PROBLEMS = 20;

/** A JSON object whose values are all strings (labels, annotations). */
function isStringMap(value: unknown): value is Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  for (const key of Object.keys(value))
    if (typeof (value as Record<string, unknown>)[key] !== 'string') return false;
  return true;
}

// A custom check validates a string map in place, several times faster than z.record, which copies it: that matters
// for a 20,000-alert storm.
const labels = z.custom<Record<string, string>>(isStringMap, {
  message: 'must be an object of string values',
});

// Times are checked while converting to epoch ms (below), once per alert instead of in a zod refinement.
const alertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels,
  annotations: labels.default({}),
  startsAt: z.string(),
  endsAt: z.string().optional(),
  generatorURL: z.string().default(''),
  // Alertmanager's fingerprints are 16 hex digits; printable ASCII keeps them safe as record keys.
  fingerprint: z
    .string()
    .regex(/^[\x21-\x7e]{1,128}$/, 'must be 1 to 128 printable ASCII characters without spaces')
    .optional(),
});

const payloadSchema = z.object({
  version: z.literal('4', {
    error: (issue) =>
      issue.input === undefined
        ? 'required (Baton understands Alertmanager webhook payloads of version "4")'
        : `Baton understands Alertmanager webhook payloads of version "4", got ${JSON.stringify(issue.input)}`,
  }),
  groupKey: z.string(),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  truncatedAlerts: z.int().min(0).default(0),
  externalURL: z.string().default(''),
  groupLabels: labels.default({}),
  commonLabels: labels.default({}),
  commonAnnotations: labels.default({}),
  alerts: z.array(alertSchema),
});

/**
 * Alertmanager's "zero" time (`0001-01-01T00:00:00Z`) and anything before 1970 mean "not set"; firing alerts carry
 * it as `endsAt` in webhooks.
 */
function epochMs(text: string | undefined, cache?: Map<string, number>): number | undefined {
  if (text === undefined) return undefined;
  let ms = cache?.get(text);
  if (ms === undefined) {
    ms = Date.parse(text);
    // Alerts of one rule evaluation share their times: a storm parses a handful of distinct strings.
    if (cache && cache.size < 1024) cache.set(text, ms);
  }
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/** A stable fingerprint of a label set, for Alertmanagers older than 0.19 that do not send one. */
export function labelsFingerprint(set: Record<string, string>): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(set).sort()) hash.update(`${name}\u0000${set[name]}\u0000`);
  return hash.digest('hex').slice(0, 16);
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path)
    out += typeof key === 'number' ? `[${key}]` : out === '' ? String(key) : `.${String(key)}`;
  return out === '' ? '(root)' : out;
}

/**
 * Validates a parsed JSON body as an Alertmanager webhook payload (version 4). Never throws: a bad payload yields
 * its problems as `<path>: <message>` (e.g. `alerts[3].labels: expected record, received string`).
 */
export function parseAlertmanagerPayload(body: unknown): ParsePayloadResult {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, problems: ['(root): expected a JSON object (an Alertmanager webhook payload)'] };
  }
  const parsed = payloadSchema.safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues;
    const problems = issues
      .slice(0, MAX_PROBLEMS)
      .map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
    if (issues.length > MAX_PROBLEMS) problems.push(`… and ${issues.length - MAX_PROBLEMS} more problems`);
    return { ok: false, problems };
  }
  const data = parsed.data;
  const alerts: WebhookAlert[] = new Array<WebhookAlert>(data.alerts.length);
  const times = new Map<string, number>();
  for (let i = 0; i < data.alerts.length; i += 1) {
    const alert = data.alerts[i] as (typeof data.alerts)[number];
    const startsAt = epochMs(alert.startsAt, times);
    if (startsAt === undefined) {
      const got = JSON.stringify(alert.startsAt.slice(0, 40));
      return {
        ok: false,
        problems: [
          `alerts[${i}].startsAt: must be an RFC 3339 time after 1970, e.g. 2024-05-01T12:00:00Z, got ${got}`,
        ],
      };
    }
    // Firing alerts carry Alertmanager's zero time (year 1) here: valid, and read as "not set".
    const endsAt = alert.endsAt === undefined ? undefined : epochMs(alert.endsAt, times);
    if (alert.endsAt !== undefined && !Number.isFinite(times.get(alert.endsAt) ?? Date.parse(alert.endsAt))) {
      const got = JSON.stringify(alert.endsAt.slice(0, 40));
      return { ok: false, problems: [`alerts[${i}].endsAt: must be an RFC 3339 time, got ${got}`] };
    }
    alerts[i] = {
      status: alert.status,
      labels: alert.labels,
      annotations: alert.annotations,
      ...(alert.status === 'resolved' && endsAt !== undefined && { endsAt }),
      startsAt,
      generatorURL: alert.generatorURL,
      fingerprint: alert.fingerprint ?? labelsFingerprint(alert.labels),
    };
  }
  return {
    ok: true,
    payload: {
      version: data.version,
      groupKey: data.groupKey,
      status: data.status,
      receiver: data.receiver,
      truncatedAlerts: data.truncatedAlerts,
      externalURL: data.externalURL,
      groupLabels: data.groupLabels,
      commonLabels: data.commonLabels,
      commonAnnotations: data.commonAnnotations,
      alerts,
    },
  };
}
