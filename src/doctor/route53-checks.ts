/**
 * Route 53: the hosted zone and the site's record exist, and every IAM action the strategy needs is allowed. Reads
 * are proven by making them (cheap, and harmless). Writes are not checked, and the doctor says so:
 *
 * - Proving `ChangeResourceRecordSets` means submitting a change batch. An UPSERT of the record as it stands is a
 *   real change (a new change id, propagation to every name server) that could land in the middle of a failover
 *   and put the old answer back; a batch crafted to be refused by validation would prove nothing, because Route 53
 *   does not promise to authorize before it validates.
 * - Proving `UpdateHealthCheck` means updating a health check: even an update that sets nothing bumps its version
 *   and races with anyone editing it.
 * - The IAM policy simulator (`iam:SimulatePrincipalPolicy`) answers without writing, but needs the IAM SDK, which
 *   Baton does not ship, and a grant of its own.
 *
 * So each write is a warning that names the action, the resource and the policy statement to compare with.
 */
import type { Route53Access } from '../adapters/route53/route53-access.js';
import type { SiteConfig, Topology } from '../config/topology.js';
import type { DoctorCheck } from './doctor-check.js';
import { fail, failed, ok, warn } from './doctor-check.js';

type Route53Reads = Pick<Route53Access, 'hostedZoneName' | 'recordSets' | 'mayGetChange' | 'healthCheck'>;

const WRITE_NOT_CHECKED =
  'not checked: proving it needs a real write (or the IAM policy simulator, which Baton does not ship)';

async function attempt(name: string, run: () => Promise<DoctorCheck>): Promise<DoctorCheck> {
  try {
    return await run();
  } catch (error) {
    return failed('route53', name, error);
  }
}

async function checkSite(
  reads: Route53Reads,
  site: SiteConfig,
  signal?: AbortSignal,
): Promise<DoctorCheck[]> {
  const { dns } = site;
  const zone = dns.hostedZoneId;
  const record = `${dns.recordName} ${dns.recordType}`;
  const at = (action: string) => `${site.name}: route53:${action}`;
  const checks: DoctorCheck[] = [];

  // The zone's name servers answer DNS verification unless dns.resolvers names others.
  if (!dns.resolvers?.length) {
    checks.push(
      await attempt(`${at('GetHostedZone')} on ${zone}`, async () =>
        ok(
          'route53',
          `${at('GetHostedZone')} on ${zone}`,
          `zone ${await reads.hostedZoneName(site, signal)} exists`,
        ),
      ),
    );
  }
  checks.push(
    await attempt(`${at('ListResourceRecordSets')}: ${record} exists`, async () => {
      const name = `${at('ListResourceRecordSets')}: ${record} exists`;
      const sets = await reads.recordSets(site, signal);
      if (dns.strategy === 'simple-record') {
        return sets.some((set) => set.SetIdentifier === undefined)
          ? ok('route53', name, 'found')
          : fail(
              'route53',
              name,
              `no ${record} record in zone ${zone}`,
              'create it, or fix dns.recordName/recordType',
            );
      }
      const identifiers = Object.entries(dns.setIdentifiers ?? {});
      const missing = identifiers.filter(([, id]) => !sets.some((set) => set.SetIdentifier === id));
      return missing.length === 0
        ? ok('route53', name, `failover records ${identifiers.map(([, id]) => id).join(', ')} found`)
        : fail(
            'route53',
            name,
            `no ${record} record with SetIdentifier ${missing.map(([c, id]) => `${id} (${c})`).join(', ')} in zone ${zone}`,
            'create the failover record pair, or fix dns.setIdentifiers in the topology',
          );
    }),
  );

  if (dns.strategy === 'health-check-inversion') {
    for (const [cluster, id] of Object.entries(dns.healthCheckIds ?? {})) {
      checks.push(
        await attempt(`${at('GetHealthCheck')} on ${id} (${cluster})`, async () => {
          const check = await reads.healthCheck(id, signal);
          return ok(
            'route53',
            `${at('GetHealthCheck')} on ${id} (${cluster})`,
            check.inverted ? 'exists, inverted' : 'exists',
          );
        }),
        warn(
          'route53',
          `${at('UpdateHealthCheck')} on ${id} (${cluster})`,
          WRITE_NOT_CHECKED,
          `check that Baton's IAM policy allows route53:UpdateHealthCheck on arn:aws:route53:::healthcheck/${id} ` +
            '(manifests/iam/route53-policy.json, statement HealthCheckInversionOnly)',
        ),
      );
    }
    return checks;
  }
  checks.push(
    await attempt(`${at('GetChange')}`, async () => {
      await reads.mayGetChange(signal);
      return ok('route53', at('GetChange'), 'allowed (asked about a change that does not exist)');
    }),
    warn(
      'route53',
      `${at('ChangeResourceRecordSets')} on ${zone}`,
      WRITE_NOT_CHECKED,
      `check that Baton's IAM policy allows route53:ChangeResourceRecordSets on arn:aws:route53:::hostedzone/${zone} ` +
        `for UPSERT of ${record} (manifests/iam/route53-policy.json, statement SwitchOnlyTheSiteRecord)`,
    ),
  );
  return checks;
}

/** Every site's zone, record and IAM actions. */
export async function checkRoute53(
  reads: Route53Reads,
  topology: Topology,
  signal?: AbortSignal,
): Promise<DoctorCheck[]> {
  return (await Promise.all(topology.sites.map((site) => checkSite(reads, site, signal)))).flat();
}
