/**
 * The DNS port against Amazon Route 53 ({@link Route53Dns}; its strategies are described in `route53/route53-dns.ts`).
 * The parts, one job per file in `route53/`: the SDK client (`create-route53-client.ts`), the rate-limited,
 * retrying request path (`route53-requests.ts`; its limit per process, `../request-rate-limiter.ts`, or shared by
 * every process on one Redis, `shared-request-limiter.ts`), SDK errors as BatonErrors (`route53-errors.ts`), reading and changing record sets (`read-record-sets.ts`, `change-record-sets.ts`,
 * `record-match.ts`), health checks (`health-check-inversion.ts`), the zone's name servers
 * for verification (`zone-name-servers.ts`) and the INSYNC wait (`wait-for-insync.ts`).
 */
export { RequestRateLimiter } from './request-rate-limiter.js';
export type { Route53Action } from './route53/route53-errors.js';
export type { Route53RetryOptions } from './route53/route53-requests.js';
export { Route53Dns } from './route53/route53-dns.js';
export { ROUTE53_RATE_WINDOW_MS } from './route53/route53-requests.js';
export type { SharedRequestLimiter } from './route53/shared-request-limiter.js';
export type { Route53DnsOptions } from './route53/route53-dns.js';
export { waitForInsync } from './route53/wait-for-insync.js';
export type { WaitForInsyncOptions } from './route53/wait-for-insync.js';
