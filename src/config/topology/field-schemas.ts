/** Zod schemas for the field formats several sections share: DNS and Kubernetes names, URLs and durations. */
import { z } from 'zod';
import { parseDuration } from '../duration.js';

/** A lowercase DNS label (RFC 1123), as Kubernetes namespaces, site names and cluster ids are. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// DNS names as Route 53 accepts them: any case, underscores, an optional leading wildcard and trailing dot.
export const HOSTNAME =
  /^(?=.{1,254}$)(\*\.)?([A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9_])?\.)*[A-Za-z0-9_]([-A-Za-z0-9_]{0,61}[A-Za-z0-9_])?\.?$/;
const HOSTED_ZONE_ID = /^(?:\/hostedzone\/)?Z[A-Z0-9]{1,31}$/;

/** A DNS label; `what` names it in the message, e.g. `Kubernetes namespace`. */
export const dnsLabel = (what: string) =>
  z.string().regex(DNS_LABEL, `must be a ${what}: lowercase letters, digits and "-", at most 63 characters`);
/** A Kubernetes object name. */
export const dnsSubdomain = z
  .string()
  .regex(DNS_SUBDOMAIN, 'must be a Kubernetes name: lowercase letters, digits, "-" and "."');
/** A DNS name as Route 53 accepts it. */
export const hostname = z.string().regex(HOSTNAME, 'must be a DNS name, e.g. app.example.com');
/** A Route 53 hosted zone id, with any `/hostedzone/` prefix removed. */
export const hostedZoneId = z
  .string()
  .regex(HOSTED_ZONE_ID, 'must be a Route 53 hosted zone id, e.g. Z1234567890ABC')
  .transform((id) => id.replace(/^\/hostedzone\//, ''));

/** An http:// or https:// URL with a host. */
export const httpUrl = z.string().refine((text) => {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}, 'must be an http:// or https:// URL');

/** A duration such as `90s` or `1h30m`, longer than zero, → milliseconds. */
export const duration = z.string().transform((text, ctx) => {
  try {
    const ms = parseDuration(text);
    if (ms > 0) return ms;
    ctx.addIssue({ code: 'custom', message: 'must be longer than zero' });
  } catch {
    ctx.addIssue({
      code: 'custom',
      message: `${JSON.stringify(text)} is not a duration: use a number and a unit (ms, s, m, h), e.g. 90s, 15m or 1h30m`,
    });
  }
  return z.NEVER;
});

/** `readiness: { interval: 10m }`: how often the continuous readiness job evaluates a site (at least 10 s). */
export const readinessSchema = z.strictObject({
  interval: duration.refine(
    (ms) => ms >= 10_000,
    'must be at least 10s: each evaluation reads every cluster',
  ),
});
