/**
 * CloudNativePG switchovers through the engine: a planned run demotes the source Cluster, carries its demotion token
 * from fence-source to the promotion, and the old primary follows the new one without a rebuild. An emergency run
 * promotes without a token (a failover): the old primary must be rebuilt.
 */
import { describe, expect, it } from 'vitest';
import type { SiteConfig } from '../../../src/config/topology.js';
import { judgeFollower } from '../../../src/core/follower.js';
import { approvedRun, exampleSite, harness } from '../../support/core-fixtures.js';

function cnpgSite(): SiteConfig {
  const site = exampleSite();
  const database = site.database;
  if (!database) throw new Error('the example has a database');
  return {
    ...site,
    database: {
      ...database,
      promotion: 'cloudnative-pg',
      members: {
        east: { ...database.members.east, cnpgCluster: { namespace: 'db', name: 'pg-east' } },
        west: { ...database.members.west, cnpgCluster: { namespace: 'db', name: 'pg-west' } },
      } as typeof database.members,
    },
  };
}

describe('CloudNativePG through the run engine', () => {
  it('a planned switchover demotes east, promotes west with the token, and east follows west', async () => {
    const h = harness(cnpgSite());
    const { outcome, run } = await h.execute(
      approvedRun(h.site, { request: { kind: 'failover', mode: 'planned' } }),
    );
    expect(outcome).toBe('succeeded');
    expect(run.steps['fence-source']?.output).toMatchObject({
      fence: { promotionToken: expect.stringMatching(/^cnpg-sim:/) },
    });
    const actions = await h.actions();
    expect(actions).toContain('demote east');
    expect(actions).toContain('promote west');
    expect(actions).not.toContain('fence east'); // a demoted Cluster is a replica: nothing to fence again
    const state = await h.world.ports.database.replication(h.site, 'east', 'west');
    expect(judgeFollower(state, { standby: 'east', primary: 'west', cnpg: true })).toMatchObject({
      kind: 'follows',
    });
  });

  it('an emergency failover promotes without a token; east is left a primary to rebuild', async () => {
    const h = harness(cnpgSite());
    const { outcome, run } = await h.execute(approvedRun(h.site));
    expect(outcome).toBe('succeeded');
    expect(run.steps['fence-source']?.output).not.toHaveProperty('fence.promotionToken');
    expect(await h.actions()).not.toContain('demote east');
    const state = await h.world.ports.database.replication(h.site, 'east', 'west');
    expect(judgeFollower(state, { standby: 'east', primary: 'west', cnpg: true })).toMatchObject({
      kind: 'broken',
      code: 'not-a-standby',
      fix: expect.stringContaining('CloudNativePG Cluster a replica'),
    });
  });
});
