import { describe, expect, it } from 'vitest';
import { parseCommand } from '../../src/slack/parse-command.js';

const SITES = ['production', 'shop'];

describe('/failover --cluster and /failback --cluster', () => {
  it('reads the cluster, the reason and --planned', () => {
    expect(parseCommand('/failover', '--cluster east east is down', SITES)).toEqual({
      kind: 'evacuate',
      runKind: 'failover',
      cluster: 'east',
      reason: 'east is down',
      planned: false,
    });
    expect(parseCommand('/failover', 'region gone --planned —cluster=East', SITES)).toMatchObject({
      kind: 'evacuate',
      cluster: 'east',
      reason: 'region gone',
      planned: true,
    });
    expect(parseCommand('/failback', '--cluster east', SITES)).toMatchObject({
      kind: 'evacuate',
      runKind: 'failback',
      planned: true,
    });
  });

  it('refuses what does not apply, saying what to do', () => {
    expect(parseCommand('/failover', '--cluster', SITES)).toMatchObject({
      kind: 'invalid',
      error: expect.stringContaining('--cluster needs a cluster name'),
    });
    expect(parseCommand('/failover', '--cluster east --force', SITES)).toMatchObject({
      kind: 'invalid',
      error: expect.stringContaining('/failover <site> --force'),
    });
    expect(parseCommand('/failback', '--cluster east --planned', SITES)).toMatchObject({ kind: 'invalid' });
    expect(parseCommand('/failover', '--cluster east --cluster west', SITES)).toMatchObject({
      kind: 'invalid',
    });
  });

  it('leaves other commands alone', () => {
    expect(parseCommand('/failover', 'production -- --cluster east', SITES)).toMatchObject({
      kind: 'invalid',
    });
    expect(parseCommand('/failover', 'production east down', SITES)).toMatchObject({ kind: 'propose' });
  });
});
