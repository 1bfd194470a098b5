/**
 * The doctor at boot, through the production CLI (`baton web`, which runs it unasked) against the Slack stand-in:
 * a refusal (the bot outside the private incident channel) turns /readyz to 503 naming the check and its fix,
 * /readyz?verbose lists every line, each failing line is logged as structured JSON without a secret, and the process
 * keeps serving and stops cleanly. A Slack that does not answer at all is logged and listed but leaves the pod
 * ready: in the incident Baton exists for, a system may be down (src/doctor/doctor-check.ts, `unreachable`).
 */
import { spawn } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { freePort, startRedis } from '../../lab/processes/processes.js';
import { EXAMPLE_TOPOLOGY } from '../../lab/sandbox/start-lab.js';
import type { SlackApiServer } from '../../lab/slack/slack-api-server.js';
import { startSlackApiServer } from '../../lab/slack/slack-api-server.js';
import type { ReadinessCheck } from '../../src/observability/readiness.js';
import { ALERTMANAGER_TOKEN, BOT_TOKEN, SIGNING_SECRET, logLines } from '../operate/operate-support.js';
import type { WorkerProcess } from '../support/integration.js';
import { ROOT, waitFor } from '../support/integration.js';

const CHANNEL = 'C0INCIDENTS';

interface Readyz {
  ready: boolean;
  reason?: string;
  checks?: ReadinessCheck[] | 'running';
}

let redis: RedisProcess;
const processes: WorkerProcess[] = [];
const servers: SlackApiServer[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterEach(async () => {
  for (const p of processes.splice(0)) {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await p.exited;
  }
  for (const server of servers.splice(0)) await server.close();
});
afterAll(async () => {
  await redis?.stop();
});

/** `baton web` as an operator deploys it: the production CLI, configuration from the environment only. */
async function startWeb(slackApiUrl: string): Promise<{ web: WorkerProcess; port: number }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'web'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      REDIS_URL: redis.url,
      BATON_CONFIG: EXAMPLE_TOPOLOGY,
      BATON_KEY_PREFIX: `doctor-boot-${port}`,
      LOG_LEVEL: 'info',
      PORT: String(port),
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slackApiUrl,
      ALERTMANAGER_TOKEN,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const web: WorkerProcess = {
    child,
    name: 'web',
    output: () => output,
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
  };
  processes.push(web);
  return { web, port };
}

async function readyz(port: number, verbose = false): Promise<{ status: number; body: Readyz } | null> {
  const response = await fetch(`http://127.0.0.1:${port}/readyz${verbose ? '?verbose' : ''}`).catch(
    () => null,
  );
  return response ? { status: response.status, body: (await response.json()) as Readyz } : null;
}

/** /readyz?verbose once the boot-time doctor has reported (its lines are `running` until then). */
function doctorReport(port: number, web: WorkerProcess) {
  return waitFor(
    'the doctor to report on /readyz?verbose',
    async () => {
      if (web.child.exitCode !== null) throw new Error(`baton web exited:\n${web.output()}`);
      const answer = await readyz(port, true);
      return Array.isArray(answer?.body.checks) ? { ...answer, checks: answer.body.checks } : undefined;
    },
    30_000,
    50,
  );
}

const doctorLogs = (web: WorkerProcess) => logLines(web).filter((line) => line.component === 'doctor');

describe('baton doctor at boot', () => {
  it('a refusal turns /readyz to 503 with the check and its fix; every line is listed and logged', async () => {
    const slack = await startSlackApiServer({
      botToken: BOT_TOKEN,
      channels: [{ id: CHANNEL, name: 'incidents', isPrivate: true, botMember: false }],
      userGroups: { S0SRE: ['U0CAROL'], S0ONCALL: ['U0DAVE'] },
    });
    servers.push(slack);
    const { web, port } = await startWeb(slack.apiUrl);

    const report = await doctorReport(port, web);
    expect(report.status).toBe(503);
    const channelCheck = `the bot can post in the incident channel ${CHANNEL}`;
    expect(report.checks.map((c) => [c.name, c.status])).toEqual([
      ['the bot token works (auth.test)', 'ok'],
      ['the token has scope commands', 'ok'],
      ['the token has scope chat:write', 'ok'],
      ['the token has scope files:write', 'ok'],
      ['the token has scope usergroups:read', 'ok'],
      [channelCheck, 'fail'],
      ['user group S0SRE resolves', 'ok'],
      ['user group S0ONCALL resolves', 'ok'],
    ]);
    expect(report.checks.every((c) => c.system === 'slack')).toBe(true);
    const refused = report.checks.find((c) => c.status === 'fail');
    expect(refused?.unreachable).toBeUndefined();

    const plain = await readyz(port);
    expect(plain?.status).toBe(503);
    expect(plain?.body.checks).toBeUndefined();
    expect(plain?.body.reason).toBe(
      `baton doctor: slack: ${channelCheck} — ${refused?.detail} → fix: ${refused?.fix}`,
    );
    expect(plain?.body.reason).toContain('/invite @Baton');

    // Each failing line in the log, as fields an operator can query, then the summary.
    const logs = doctorLogs(web);
    const failing = logs.filter((line) => line.check !== undefined);
    expect(failing).toEqual([
      expect.objectContaining({
        level: 50,
        role: 'web',
        system: 'slack',
        check: channelCheck,
        detail: refused?.detail,
        fix: refused?.fix,
      }),
    ]);
    expect(logs.find((line) => line.failed !== undefined)).toMatchObject({ level: 50, checks: 8, failed: 1 });
    for (const secret of [BOT_TOKEN, SIGNING_SECRET, ALERTMANAGER_TOKEN])
      expect(web.output()).not.toContain(secret);

    // Not ready, but alive and serving; it stops as it always does.
    expect(web.child.exitCode).toBeNull();
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    web.child.kill('SIGTERM');
    expect(await web.exited, web.output()).toBe(0);
  }, 40_000);

  it('a Slack that does not answer is logged and listed, but leaves the pod ready', async () => {
    // Nothing listens there: every call is refused at the TCP level, as when Slack or the egress path is down.
    const { web, port } = await startWeb(`http://127.0.0.1:${await freePort()}/api/`);

    const report = await doctorReport(port, web);
    expect(report.checks).toEqual([
      expect.objectContaining({
        system: 'slack',
        name: 'the bot token works (auth.test)',
        status: 'fail',
        unreachable: true,
      }),
    ]);
    expect(report.status).toBe(200);
    expect(report.body.ready).toBe(true);
    expect((await readyz(port))?.status).toBe(200);

    expect(doctorLogs(web).filter((line) => line.check !== undefined)).toEqual([
      expect.objectContaining({ level: 50, system: 'slack', check: 'the bot token works (auth.test)' }),
    ]);
    expect(web.output()).not.toContain(BOT_TOKEN);
    expect(web.child.exitCode).toBeNull();
  }, 40_000);
});
