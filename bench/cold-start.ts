/**
 * Cold start and resident memory of each role (issue 7: ready in < 2 s, < 150 MB per role). Each role is spawned as
 * a real process, five times, and timed from spawn() to the first 200 from GET /readyz (Redis answers, topology
 * loaded, roles started). Resident memory is the process's own `process_resident_memory_bytes` from GET /metrics:
 * when it is ready, and after a failover: proposed through the web role (a signed slash command) and run by the
 * simulated worker, and run by the real-adapter worker against the lab (Kubernetes and Route 53 stand-ins, a real
 * PostgreSQL pair). Measured from the sources through tsx (`node --import tsx src/cli.ts`, what `npx baton` runs in
 * development) and from the compiled build run exactly as the Dockerfile runs it: its ENTRYPOINT's node flags and its
 * `NODE_OPTIONS` are read from the Dockerfile, so the numbers follow the image. The memory budget is the image's.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { keyPrefixes } from '../src/config/load-config.js';
import { RUNS_QUEUE } from '../src/queue/queues.js';
import type { RunJobData } from '../src/queue/queues.js';
import { startLab } from '../lab/sandbox/start-lab.js';
import { RunStore } from '../src/store/run-store.js';
import type { RedisProcess } from '../lab/processes/processes.js';
import { freePort, startRedis } from '../lab/processes/processes.js';
import type { SlackApiServer } from '../lab/slack/slack-api-server.js';
import { startSlackApiServer } from '../lab/slack/slack-api-server.js';
import { postToApp, sign, slashCommand } from '../lab/slack/slack-signer.js';
import type { Harness } from '../test/support/integration.js';
import {
  ALICE,
  DB_ENV,
  ROOT,
  createHarness,
  createRunService,
  waitFor,
  waitForState,
} from '../test/support/integration.js';
import type { Row } from './support.js';
import { ms, percentile, renderTable, runIfMain, sleep } from './support.js';

const SAMPLES = Number(process.env.BENCH_COLD_START_SAMPLES ?? 5);
const READY_BUDGET_MS = 2000;
const RSS_BUDGET_MB = 150;
const BOT_TOKEN = 'xoxb-bench-token';
const SECRET = 'bench-signing-secret';

interface Variant {
  label: string;
  /** Memory is held to the budget only as the image runs Baton. */
  memoryBudget: boolean;
  /** argv before the baton command */
  command: string[];
  /** argv before a lab command (the simulated worker); absent as the image runs Baton: the image carries no lab. */
  labCommand?: string[];
  env?: Record<string, string>;
}

interface Role {
  label: string;
  args: string[];
  /** Runs through the lab's entry point (test knobs such as --simulated). */
  lab?: boolean;
  env?: Record<string, string>;
}

/** The lab's entry point under tsx: the same roles, with the simulated world and test timings. */
const LAB_TSX = [process.execPath, '--import', 'tsx', 'lab/cli.ts'];

interface Spawned {
  port: number;
  readyMs: number;
  rssMb: () => Promise<number>;
  stop: () => Promise<number | null>;
}

const mb = (bytes: number) => bytes / 2 ** 20;
const fmtMb = (value: number) => (Number.isFinite(value) ? `${value.toFixed(0)} MB` : 'n/a');

async function rssOf(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const match = /^process_resident_memory_bytes (\S+)$/m.exec(text);
  return match ? mb(Number(match[1])) : Number.NaN;
}

const memoryBudget = (variant: Variant, value: number): Pick<Row, 'budget' | 'pass'> =>
  variant.memoryBudget
    ? { budget: `< ${RSS_BUDGET_MB} MB`, pass: value < RSS_BUDGET_MB }
    : { budget: 'none (development)' };

/** Spawns `baton <role>` and waits for GET /readyz to answer 200, timing it from spawn(). */
async function spawnRole(variant: Variant, role: Role, env: Record<string, string>): Promise<Spawned> {
  const port = await freePort();
  const started = performance.now();
  const command = role.lab ? variant.labCommand : variant.command;
  if (!command)
    throw new Error(`${role.label} runs only through the lab, which ${variant.label} does not carry`);
  const child = spawn(command[0] as string, [...command.slice(1), ...role.args], {
    cwd: ROOT,
    env: { ...env, ...variant.env, ...role.env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${role.label} exited ${child.exitCode}: ${stderr}`);
      const status = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) break;
      if (performance.now() - started > 30_000)
        throw new Error(`${role.label} not ready after 30 s: ${stderr}`);
      await sleep(5);
    }
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return { port, readyMs: performance.now() - started, rssMb: () => rssOf(port), stop };
}

/** The node flags of the Dockerfile's ENTRYPOINT (before `dist/cli.js`) and its `ENV NODE_OPTIONS`. */
async function imageSettings(): Promise<{ flags: string[]; nodeOptions: string }> {
  const dockerfile = await readFile(join(ROOT, 'Dockerfile'), 'utf8');
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
  if (!entrypoint) throw new Error('the Dockerfile has no exec-form ENTRYPOINT');
  const argv = JSON.parse(entrypoint) as string[];
  const cli = argv.indexOf('dist/cli.js');
  if (argv[0] !== 'node' || cli < 0) throw new Error(`unexpected ENTRYPOINT ${entrypoint}`);
  const nodeOptions = /^ENV NODE_OPTIONS=(?:"([^"]*)"|(\S+))$/m.exec(dockerfile);
  return { flags: argv.slice(1, cli), nodeOptions: nodeOptions?.[1] ?? nodeOptions?.[2] ?? '' };
}

/** One failover of a fresh lab by the real-adapter worker; returns its RSS afterwards. */
async function oneRealFailover(variant: Variant, baseEnv: Record<string, string>, redisUrl: string) {
  const lab = await startLab({ podReadyAfterMs: 200, insyncAfterMs: 300 });
  const prefix = `bench-real-${Date.now()}`;
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  // The prefixes of the worker process it spawns with BATON_KEY_PREFIX=prefix.
  const prefixes = keyPrefixes({ keyPrefix: prefix });
  const queue = new Queue<RunJobData>(RUNS_QUEUE, { connection, prefix: prefixes.bull });
  const store = new RunStore(connection, prefixes.store);
  const worker = await spawnRole(
    variant,
    { label: 'worker (real adapters)', args: ['worker'], env: lab.env },
    { ...baseEnv, BATON_KEY_PREFIX: prefix },
  );
  try {
    const { service, close } = createRunService({
      redis: connection,
      store,
      bullPrefix: prefixes.bull,
      topology: lab.topology,
    });
    const { run } = await service.propose({
      kind: 'failover',
      mode: 'planned',
      reason: 'cold-start benchmark',
      actor: { type: 'slack-user', id: 'U0DAVE', name: 'dave' },
    });
    await service.approve(run.id, ALICE);
    await close();
    const done = await waitForState(store, run.id, ['succeeded', 'paused', 'failed'], 60_000);
    if (done.state !== 'succeeded')
      throw new Error(`the real failover ended ${done.state}: ${done.stateReason}`);
    return await worker.rssMb();
  } finally {
    await worker.stop();
    await queue.close();
    connection.disconnect();
    await lab.stop();
  }
}

/** A kubeconfig naming the example topology's two contexts (servers that are never called here). */
async function writeKubeconfig(dir: string): Promise<string> {
  const path = join(dir, 'kubeconfig');
  const cluster = (name: string, port: number) =>
    `- name: ${name}\n  cluster:\n    server: https://127.0.0.1:${port}`;
  const context = (name: string) => `- name: ${name}\n  context:\n    cluster: ${name}\n    user: bench`;
  await writeFile(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      cluster('active-cluster', 1),
      cluster('passive-cluster', 2),
      'contexts:',
      context('active-cluster'),
      context('passive-cluster'),
      'current-context: active-cluster',
      'users:',
      '- name: bench\n  user:\n    token: bench-token',
      '',
    ].join('\n'),
  );
  return path;
}

/**
 * The compiled build (`npm run build`, what the container image runs), into a directory of the benchmark's own so
 * it neither reads a stale dist/ nor races anyone else's build: `<dir>/dist/cli.js`, with the project's
 * package.json (ESM) and node_modules beside it.
 */
async function build(dir: string): Promise<{ cli: string | null; note: string }> {
  const started = performance.now();
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const result = spawnSync(
    process.execPath,
    [tsc, '-p', 'tsconfig.build.json', '--outDir', join(dir, 'dist')],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  const cli = join(dir, 'dist/cli.js');
  if (result.status !== 0 || !existsSync(cli))
    return { cli: null, note: `build failed: ${(result.stdout + result.stderr).split('\n')[0] ?? ''}` };
  // As `npm run build` does: the Lua scripts beside the compiled store (tsc copies no .lua).
  await cp(join(ROOT, 'src/store/lua'), join(dir, 'dist/store/lua'), { recursive: true });
  await copyFile(join(ROOT, 'package.json'), join(dir, 'package.json'));
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return { cli, note: `built in ${((performance.now() - started) / 1000).toFixed(1)} s` };
}

/** One failover proposed through the web role and run by the worker; returns both processes' RSS afterwards. */
async function oneFailover(
  variant: Variant,
  baseEnv: Record<string, string>,
  redisUrl: string,
  slack: SlackApiServer,
): Promise<{ web: number; worker: number }> {
  // A namespace of its own: the site starts served by its home cluster, as in the example.
  const harness = await createHarness(redisUrl);
  const env = { ...baseEnv, BATON_KEY_PREFIX: harness.prefix };
  const web = await spawnRole(variant, { label: 'web', args: ['web'] }, env);
  // The simulated worker runs the failover; as the image runs Baton it comes from the lab under tsx, unmeasured.
  const worker = await spawnRole(
    { ...variant, labCommand: variant.labCommand ?? LAB_TSX },
    {
      label: 'worker',
      lab: true,
      args: ['worker', '--simulated', '--world-key', harness.worldKey, '--poll-ms', '50'],
    },
    env,
  );
  try {
    const before = (await harness.store.history('production', 1))[0]?.id;
    const body = slashCommand({
      command: '/failover',
      text: 'production cold-start benchmark',
      userId: 'U0DAVE',
      channelId: 'C0INCIDENTS',
      responseUrl: slack.createResponseUrl({ channel: 'C0INCIDENTS', user: 'U0DAVE' }).url,
      triggerId: slack.mintTriggerId(),
    });
    const ack = await postToApp(
      `http://127.0.0.1:${web.port}/slack/events`,
      body,
      sign(SECRET, body, Date.now() / 1000),
    );
    if (ack.status !== 200) throw new Error(`the slash command answered ${ack.status}: ${ack.text}`);
    const run = await waitFor(
      'the proposal',
      async () => {
        const latest = (await harness.store.history('production', 1))[0];
        return latest && latest.id !== before ? latest : undefined;
      },
      10_000,
    );
    await harness.service.approve(run.id, ALICE);
    const done = await waitForState(harness.store, run.id, ['succeeded', 'paused', 'failed'], 30_000);
    if (done.state !== 'succeeded') throw new Error(`the failover ended ${done.state}: ${done.stateReason}`);
    await sleep(1500); // the last Slack updates
    return { web: await web.rssMb(), worker: await worker.rssMb() };
  } finally {
    await web.stop();
    await worker.stop();
    await harness.close();
  }
}

export async function coldStart(): Promise<string> {
  let redis: RedisProcess | null = null;
  let slack: SlackApiServer | null = null;
  let harness: Harness | null = null;
  const dir = await mkdtemp(join(tmpdir(), 'baton-cold-start-'));
  try {
    redis = await startRedis();
    slack = await startSlackApiServer({
      botToken: BOT_TOKEN,
      userGroups: { S0SRE: ['U0CAROL'], S0ONCALL: ['U0DAVE'] },
    });
    harness = await createHarness(redis.url);
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      REDIS_URL: redis.url,
      BATON_CONFIG: join(ROOT, 'examples/baton.yaml'),
      BATON_KEY_PREFIX: harness.prefix,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: slack.apiUrl,
      LOG_LEVEL: 'warn',
      ...DB_ENV,
    };
    const roles: Role[] = [
      { label: 'web', args: ['web'] },
      {
        label: 'worker --simulated',
        lab: true,
        args: ['worker', '--simulated', '--world-key', harness.worldKey],
      },
      {
        label: 'worker (real adapters)',
        args: ['worker'],
        env: { KUBECONFIG: await writeKubeconfig(dir), AWS_REGION: 'us-east-1' },
      },
    ];
    const built = await build(dir);
    const image = await imageSettings();
    // BENCH_COLD_START_IMAGE_ONLY=1 skips the tsx rows (quicker, when tuning the image's settings).
    const variants: Variant[] = process.env.BENCH_COLD_START_IMAGE_ONLY
      ? []
      : [
          {
            label: 'tsx',
            memoryBudget: false,
            command: [process.execPath, '--import', 'tsx', 'src/cli.ts'],
            labCommand: LAB_TSX,
          },
        ];
    if (built.cli) {
      variants.push({
        label: 'as the image runs it',
        memoryBudget: true,
        command: [process.execPath, ...image.flags, built.cli],
        ...(image.nodeOptions && { env: { NODE_OPTIONS: image.nodeOptions } }),
      });
    }

    const rows: Row[] = [];
    const memoryRows: Row[] = [];
    for (const variant of variants) {
      // Warm-up: tsx compiles on first use and caches; the samples measure a restart, as a pod restart would be.
      await (await spawnRole(variant, roles[0] as Role, env)).stop();
      for (const role of roles.filter((r) => !r.lab || variant.labCommand)) {
        const ready: number[] = [];
        const rss: number[] = [];
        for (let i = 0; i < SAMPLES; i += 1) {
          const spawned = await spawnRole(variant, role, env);
          ready.push(spawned.readyMs);
          rss.push(await spawned.rssMb());
          const code = await spawned.stop();
          if (code !== 0) throw new Error(`${role.label} exited ${code} on SIGTERM`);
        }
        const medianReady = percentile(ready, 50);
        rows.push({
          metric: `${role.label} (${variant.label}): spawn → /readyz 200`,
          values: [ms(medianReady, 0), ms(Math.max(...ready), 0)],
          budget: `median < ${READY_BUDGET_MS / 1000} s`,
          pass: medianReady < READY_BUDGET_MS,
        });
        const medianRss = percentile(rss, 50);
        memoryRows.push({
          metric: `${role.label} (${variant.label}): RSS when ready`,
          values: [fmtMb(medianRss), fmtMb(Math.max(...rss))],
          ...memoryBudget(variant, Math.max(...rss)),
        });
      }
      const after = await oneFailover(variant, env, redis.url, slack);
      const real = await oneRealFailover(variant, env, redis.url);
      for (const [label, value] of [
        ['web', after.web],
        ...(variant.labCommand ? [['worker --simulated', after.worker] as const] : []),
        ['worker (real adapters, lab)', real],
      ] as const) {
        memoryRows.push({
          metric: `${label} (${variant.label}): RSS after one failover`,
          values: [fmtMb(value), ''],
          ...memoryBudget(variant, value),
        });
      }
    }
    return renderTable({
      title: 'Cold start and memory per role (issue 7)',
      setup:
        `Each role spawned ${SAMPLES} times against a real Redis (after one warm-up start), timed from spawn() to the ` +
        'first 200 from GET /readyz; RSS is `process_resident_memory_bytes` from GET /metrics. "After one failover": ' +
        'a web and a simulated worker process, a failover proposed by a signed slash command and run to success; and ' +
        'the real-adapter worker after a planned failover of a fresh lab (Kubernetes and Route 53 stand-ins, real ' +
        `PostgreSQL). "As the image runs it": \`node ${image.flags.join(' ')} dist/cli.js\` with NODE_OPTIONS=` +
        `\`${image.nodeOptions}\`, read from the Dockerfile; the memory budget applies to it (tsx is for development). ` +
        `Compiled build: ${built.cli ? built.note : `not measured (${built.note})`}. Columns: median, max.`,
      columns: ['median', 'max'],
      rows: [...rows, ...memoryRows],
    });
  } finally {
    await harness?.close();
    await slack?.close();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

runIfMain(import.meta.url, coldStart);
