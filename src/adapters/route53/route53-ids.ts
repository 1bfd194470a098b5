/** Route 53 ids as Baton keeps them: bare, without the `/hostedzone/`, `/change/` or `/healthcheck/` the API adds. */
import type { SiteConfig } from '../../config/topology.js';
import type { Route53Resource } from './route53-errors.js';

/** `/hostedzone/Z123` → `Z123`; a bare id is returned as it is. */
export const stripIdPrefix = (id: string): string => id.replace(/^\/(?:hostedzone|change|healthcheck)\//, '');

/** The site's hosted zone, as requests on it name it. */
export function hostedZone(site: SiteConfig): Route53Resource {
  return { kind: 'hosted zone', id: stripIdPrefix(site.dns.hostedZoneId) };
}
