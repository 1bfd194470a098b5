/**
 * What continuous readiness takes from the boot-time doctor: for one site, the lines its systems refused (not the
 * ones that did not answer: in the incident Baton is for, a side may be down), each with its fix; null while the
 * doctor still runs.
 */
import { describe, expect, it } from 'vitest';
import { Readiness } from '../../src/observability/readiness.js';

describe('Readiness.refusedFor', () => {
  it('lists the site’s refusals with their fixes, and nothing of other sites or of systems that are down', () => {
    const readiness = new Readiness({ ping: async () => 'PONG', topology: null });
    expect(readiness.refusedFor('production')).toBeNull();
    readiness.recordChecks([
      {
        system: 'kubernetes',
        name: 'production west (context passive-cluster): update deployments/scale in default',
        status: 'fail',
        detail: 'forbidden',
        fix: 'apply manifests/target-cluster-rbac',
      },
      {
        system: 'route53',
        name: 'production: route53:GetChange',
        status: 'fail',
        detail: 'timeout',
        unreachable: true,
      },
      { system: 'route53', name: 'staging: route53:GetChange', status: 'fail', detail: 'AccessDenied' },
      {
        system: 'slack',
        name: 'the bot is in the incident channel',
        status: 'fail',
        detail: 'not_in_channel',
      },
      {
        system: 'postgresql',
        name: 'production east ($EAST_DATABASE_URL): connect',
        status: 'ok',
        detail: 'ok',
      },
    ]);
    expect(readiness.refusedFor('production')).toEqual([
      'production west (context passive-cluster): update deployments/scale in default — forbidden → apply manifests/target-cluster-rbac',
    ]);
    expect(readiness.refusedFor('staging')).toEqual(['staging: route53:GetChange — AccessDenied']);
    expect(readiness.refusedFor('prod')).toEqual([]);
  });
});
