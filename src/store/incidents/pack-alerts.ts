/**
 * One Alertmanager notification's alerts as the incident scripts take them: packed into one string, with the
 * distinct alert names and a digest that tells a repeat of the group's last notification.
 */
import { createHash } from 'node:crypto';
import type { WebhookAlert } from '../../alerts/alertmanager-payload.js';

/** Distinct alert names kept per incident (shown in messages); a storm of names does not grow the record. */
export const MAX_NAMES = 20;

/**
 * Alerts as one string, a line each: `fingerprint<TAB>startsAt<TAB>f|r<TAB>endsAt` (endsAt 0 while firing). One
 * argument instead of 80,000 keeps a storm cheap to send; fingerprints never hold tabs or newlines (the payload
 * schema allows printable ASCII only).
 */
export function packAlerts(alerts: readonly WebhookAlert[]): string {
  const cached = packCache.get(alerts);
  if (cached !== undefined) return cached;
  const lines = new Array<string>(alerts.length);
  for (let i = 0; i < alerts.length; i += 1) {
    const alert = alerts[i] as WebhookAlert;
    lines[i] =
      `${alert.fingerprint}\t${alert.startsAt}\t${alert.status === 'firing' ? 'f' : 'r'}\t${alert.endsAt ?? 0}\n`;
  }
  const text = lines.join('');
  packCache.set(alerts, text);
  return text;
}
/** One notification's alerts are packed once, though several calls (lastRun, recordRun) send them. */
const packCache = new WeakMap<readonly WebhookAlert[], string>();

/** Up to {@link MAX_NAMES} distinct alert names, newline-separated. */
export function distinctNames(alerts: readonly WebhookAlert[]): string {
  const names = new Set<string>();
  for (const alert of alerts) {
    const name = alert.labels.alertname;
    // Newlines separate names in the record; an alertname never has one (Prometheus label values may).
    if (name && !name.includes('\n')) names.add(name);
    if (names.size >= MAX_NAMES) break;
  }
  return [...names].join('\n');
}

/**
 * What makes two notifications of a group the same for the record: their alerts and whether the list was cut.
 * (Not the auto-approval period: it comes from the configuration, which a repeat does not change.)
 */
export function digestOf(groupKey: string, truncatedFiring: boolean, packed: string): string {
  const key = `${groupKey}\n${truncatedFiring ? 1 : 0}\n`;
  const cached = lastDigest.packed === packed && lastDigest.key === key ? lastDigest.digest : undefined;
  if (cached !== undefined) return cached;
  const digest = createHash('sha1').update(key).update(packed).digest('base64');
  lastDigest = { key, packed, digest };
  return digest;
}
/** lastRun and recordRun digest the same notification one after the other: hash a storm once. */
let lastDigest = { key: '', packed: '', digest: '' };
