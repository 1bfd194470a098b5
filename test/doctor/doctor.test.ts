/**
 * `baton doctor` against the lab's stand-ins and a real PostgreSQL pair: green as the sandbox is set up, then red,
 * with the fix, for each broken permission: an RBAC verb taken away, an IAM action denied, the bot outside a
 * private incident channel, and a database role without pg_promote(). The command itself runs once, as an operator
 * types it, for its exit status.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import type { DoctorCheck } from '../../src/doctor/doctor-check.js';
import { doctor } from '../../src/doctor/open-doctor.js';
import { createLogger } from '../../src/logger.js';
import { minimalGrants } from '../../src/adapters/postgres.js';
import type { Lab } from '../../lab/sandbox/start-lab.js';
import { startLab } from '../../lab/sandbox/start-lab.js';
import { query } from '../../lab/postgres/postgres-pair.js';
import type { SlackApiServer } from '../../lab/slack/slack-api-server.js';
import { startSlackApiServer } from '../../lab/slack/slack-api-server.js';
import { runCli } from '../break-glass/cli-process.js';

const BOT_TOKEN = 'xoxb-doctor-test';
const CHANNEL = 'C0INCIDENTS';

let lab: Lab;
let slack: SlackApiServer;
let env: Record<string, string>;

async function runDoctor(extra: Record<string, string> = {}): Promise<DoctorCheck[]> {
  const rawEnv = { ...env, ...extra };
  const { env: batonEnv, topology } = await loadConfig(rawEnv, { checkEnv: false });
  const report = await doctor({ env: batonEnv, rawEnv, topology, log: createLogger({ level: 'silent' }) });
  return report.checks;
}

const failures = (checks: DoctorCheck[]) => checks.filter((c) => c.status === 'fail');

async function startSlack(channel: { isPrivate: boolean; botMember: boolean }): Promise<SlackApiServer> {
  return startSlackApiServer({
    botToken: BOT_TOKEN,
    channels: [{ id: CHANNEL, name: 'incidents', ...channel }],
    userGroups: { S0SRE: ['U0CAROL'], S0ONCALL: ['U0DAVE'] },
  });
}

// In this process the AWS SDK takes its credentials from process.env, as the worker's does.
const AWS_KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION'] as const;
const savedAws = Object.fromEntries(AWS_KEYS.map((key) => [key, process.env[key]]));

beforeAll(async () => {
  lab = await startLab({ insyncAfterMs: 0, podReadyAfterMs: 0 });
  for (const key of AWS_KEYS) process.env[key] = lab.env[key];
  slack = await startSlack({ isPrivate: true, botMember: true });
  env = { ...lab.env, PATH: process.env.PATH ?? '', SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_API_URL: slack.apiUrl };
}, 60_000);

afterAll(async () => {
  for (const key of AWS_KEYS) {
    if (savedAws[key] === undefined) delete process.env[key];
    else process.env[key] = savedAws[key];
  }
  await slack?.close();
  await lab?.stop();
});

describe('baton doctor', () => {
  it('is green against the sandbox’s stand-ins, and the command exits 0', async () => {
    const checks = await runDoctor();
    expect(failures(checks)).toEqual([]);
    const systems = new Set(checks.map((c) => c.system));
    expect([...systems].sort()).toEqual(['kubernetes', 'postgresql', 'route53', 'slack']);
    // Every RBAC verb the steps use, on both clusters; the roles of both databases; the writes named, not tried.
    expect(
      checks.filter((c) => c.system === 'kubernetes' && c.name.includes('update deployments/scale')),
    ).toHaveLength(2);
    expect(checks.find((c) => c.name.endsWith('one primary and one standby'))?.detail).toBe(
      'primary on east, standby on west',
    );
    expect(checks.find((c) => c.name.includes('ChangeResourceRecordSets'))?.status).toBe('warn');

    const cli = await runCli(['doctor'], env);
    expect(cli.stdout).toContain('0 failed');
    expect(cli.code).toBe(0);
  }, 60_000);

  it('names the missing RBAC verb and the grant that fixes it', async () => {
    lab.kube.deny('west', {
      verb: 'update',
      group: 'apps',
      resource: 'deployments',
      subresource: 'scale',
      namespace: 'default',
    });
    try {
      const failed = failures(await runDoctor());
      expect(failed).toHaveLength(1);
      expect(failed[0]?.name).toContain(
        'production west (context passive-cluster): update deployments/scale (apps) in namespace default',
      );
      expect(failed[0]?.fix).toContain(
        'grant verb "update" on resource "deployments/scale" in apiGroups ["apps"] to Baton\'s Role in namespace default',
      );
    } finally {
      await lab.kube.clearFaults('west');
    }
  });

  it('names the IAM action Route 53 denies', async () => {
    // AccessDenied is final: the doctor asks once, so one injected denial is the whole of it.
    lab.route53.failNext(1, 'AccessDenied', { action: 'GetChange' });
    const failed = failures(await runDoctor());
    expect(failed.map((c) => c.name)).toEqual(['production: route53:GetChange']);
    expect(failed[0]?.detail).toContain('grant the IAM role route53:GetChange');
  });

  it('sees the bot outside a private incident channel', async () => {
    const outside = await startSlack({ isPrivate: true, botMember: false });
    try {
      const failed = failures(await runDoctor({ SLACK_API_URL: outside.apiUrl }));
      expect(failed).toHaveLength(1);
      expect(failed[0]?.name).toBe(`the bot can post in the incident channel ${CHANNEL}`);
      expect(failed[0]?.fix).toContain('/invite @Baton');
    } finally {
      await outside.close();
    }
  });

  it('refuses a database role that may not run pg_promote(), with the GRANT', async () => {
    const primary = lab.postgres.urls.east ?? '';
    await query(primary, "CREATE ROLE doctor_probe LOGIN PASSWORD 'probe'");
    for (const grant of minimalGrants('doctor_probe')) await query(primary, grant);
    await query(primary, 'REVOKE EXECUTE ON FUNCTION pg_promote(boolean, integer) FROM doctor_probe');
    const asProbe = (url: string) => url.replace(/\/\/[^@]+@/, '//doctor_probe:probe@');
    const urls = {
      EAST_DATABASE_URL: asProbe(primary),
      WEST_DATABASE_URL: asProbe(lab.postgres.urls.west ?? ''),
    };
    // The role reaches the standby by replication.
    for (let i = 0; i < 100; i += 1) {
      if (
        await query(urls.WEST_DATABASE_URL, 'SELECT 1').then(
          () => true,
          () => false,
        )
      )
        break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const failed = failures(await runDoctor(urls));
    expect(failed.map((c) => c.name)).toEqual([
      'production east ($EAST_DATABASE_URL): doctor_probe may run pg_promote()',
      'production west ($WEST_DATABASE_URL): doctor_probe may run pg_promote()',
    ]);
    expect(failed[0]?.fix).toContain(
      'GRANT EXECUTE ON FUNCTION pg_promote(boolean, integer) TO "doctor_probe"',
    );
  });
});
