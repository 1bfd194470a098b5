/** The schema of a site's `dns` section: the Route 53 record, how it is switched and each cluster's target. */
import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';
import { HOSTNAME, hostedZoneId, hostname } from './field-schemas.js';

function isHostPort(text: string): boolean {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (match === null) return false;
  const port = Number(match[3]);
  if (port < 1 || port > 65_535) return false;
  const host = match[1] ?? match[2] ?? '';
  return match[1] !== undefined ? isIPv6(host) : isIPv4(host) || HOSTNAME.test(host);
}

const resolver = z
  .string()
  .refine(isHostPort, 'must be host:port, e.g. "205.251.192.1:53" or "[2600:9000::1]:53"');

const dnsTargetSchema = z
  .strictObject({
    aliasDnsName: hostname.optional(),
    aliasHostedZoneId: hostedZoneId.optional(),
    evaluateTargetHealth: z.boolean().optional(),
    values: z.array(z.string().min(1)).min(1).optional(),
  })
  .superRefine((target, ctx) => {
    const alias =
      target.aliasDnsName !== undefined ||
      target.aliasHostedZoneId !== undefined ||
      target.evaluateTargetHealth !== undefined;
    if (alias && target.values !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'give either an alias (aliasDnsName, aliasHostedZoneId) or values, not both',
      });
    } else if (alias) {
      for (const field of ['aliasDnsName', 'aliasHostedZoneId'] as const) {
        if (target[field] === undefined) {
          ctx.addIssue({ code: 'custom', path: [field], message: 'required for an alias target' });
        }
      }
    } else if (target.values === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'needs aliasDnsName and aliasHostedZoneId (an alias record) or values (record values)',
      });
    }
  });

/** A site's `dns`; which per-cluster maps it needs is checked against the site's clusters in `check-sites.ts`. */
export const dnsSchema = z
  .strictObject({
    provider: z.literal('route53').default('route53'),
    hostedZoneId,
    recordName: hostname,
    recordType: z.enum(['A', 'AAAA', 'CNAME']),
    ttl: z.int().min(0).max(2_147_483_647).default(60),
    strategy: z.enum(['failover-records', 'simple-record', 'health-check-inversion']),
    resolvers: z.array(resolver).min(1).optional(),
    setIdentifiers: z.record(z.string(), z.string().min(1).max(128)).optional(),
    healthCheckIds: z.record(z.string(), z.string().min(1)).optional(),
    targets: z.record(z.string(), dnsTargetSchema),
  })
  .superRefine((dns, ctx) => {
    for (const [cluster, target] of Object.entries(dns.targets)) {
      if (!('values' in target) || target.values === undefined) continue;
      const values = target.values;
      if (dns.recordType === 'CNAME' && values.length !== 1) {
        ctx.addIssue({
          code: 'custom',
          path: ['targets', cluster, 'values'],
          message: `a CNAME record has exactly one value, found ${values.length}`,
        });
      }
      values.forEach((value, index) => {
        const ok =
          dns.recordType === 'A'
            ? isIPv4(value)
            : dns.recordType === 'AAAA'
              ? isIPv6(value)
              : HOSTNAME.test(value);
        const expected =
          dns.recordType === 'A'
            ? 'an IPv4 address'
            : dns.recordType === 'AAAA'
              ? 'an IPv6 address'
              : 'a DNS name';
        if (!ok) {
          ctx.addIssue({
            code: 'custom',
            path: ['targets', cluster, 'values', index],
            message: `${JSON.stringify(value)} is not ${expected} (recordType ${dns.recordType})`,
          });
        }
      });
    }
    const owners = new Map<string, string>();
    for (const [cluster, id] of Object.entries(dns.setIdentifiers ?? {})) {
      const owner = owners.get(id);
      if (owner === undefined) owners.set(id, cluster);
      else {
        ctx.addIssue({
          code: 'custom',
          path: ['setIdentifiers', cluster],
          message: `${JSON.stringify(id)} is already the set identifier of ${owner}; each cluster needs its own`,
        });
      }
    }
  });
