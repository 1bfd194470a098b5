/**
 * Issue 16: every Baton process on one Redis shares Route 53's account quota (five requests per second). Three
 * real processes, each with its own SDK client and Redis connection, queue reads and then a switch at the same
 * moment against a stand-in that throttles as Route 53 does; together they never go past five requests in any
 * second, none is throttled, and the switches go ahead of the reads queued before them.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTopologyFile } from '../../../src/config/topology.js';
import { startRedis } from '../../../lab/processes/processes.js';
import type { RedisProcess } from '../../../lab/processes/processes.js';
import { maxRequestsInWindow } from '../../../lab/route53/request-rate.js';
import { route53SeedFor, startRoute53ApiServer } from '../../../lab/route53/route53-api-server.js';
import type { Route53StandIn } from '../../../lab/route53/route53-api-server.js';
import { sitesInOwnZones } from '../../support/route53-zones.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../../examples/baton.yaml', import.meta.url));
const PROCESSES = 3;
const POLLS = 5;

let redis: RedisProcess;
let standIn: Route53StandIn;
const children: ChildProcess[] = [];

beforeAll(async () => {
  const loaded = await loadTopologyFile(EXAMPLE, {
    EAST_DATABASE_URL: 'postgresql://x@127.0.0.1/e',
    WEST_DATABASE_URL: 'postgresql://x@127.0.0.1/w',
  });
  if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
  redis = await startRedis();
  standIn = await startRoute53ApiServer({
    // The children read sites in zones of their own, and switch the example site.
    ...route53SeedFor([loaded.topology.sites[0]!, ...sitesInOwnZones(loaded.topology.sites[0]!, POLLS)]),
    credentials: { accessKeyId: 'AKIDBATONTEST', secretAccessKey: 'baton-test-secret' },
    // Route 53's quota for the account, across every client.
    requestsPerSecond: 5,
    dns: false,
  });
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await standIn?.close();
  await redis?.stop();
});

interface Child {
  child: ChildProcess;
  ready: Promise<void>;
  done: Promise<{ retries: number }>;
  output: () => string;
}

function spawnChild(env: Record<string, string>): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/adapters/route53/load-child.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  const onLine: ((line: string) => void)[] = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    for (const line of chunk.toString().split('\n').filter(Boolean)) onLine.forEach((f) => f(line));
  });
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<never>((_, reject) =>
    child.on('exit', (code) => reject(new Error(`child exited ${code}:\n${output}`))),
  );
  const line = (match: (line: string) => boolean) =>
    Promise.race([
      exited,
      new Promise<string>((resolve) => {
        onLine.push((l) => match(l) && resolve(l));
      }),
    ]);
  const ready = line((l) => l === 'ready').then(() => undefined);
  const done = line((l) => l.startsWith('{')).then((l) => JSON.parse(l) as { retries: number });
  done.catch(() => undefined);
  return { child, ready, done, output: () => output };
}

describe('the Route 53 limit across processes', () => {
  it(`holds ${PROCESSES} processes together to 5 requests in any second, with switches ahead of reads`, async () => {
    const env = {
      ROUTE53_ENDPOINT: standIn.endpoint,
      REDIS_URL: redis.url,
      BATON_KEY_PREFIX: 'shared-limit',
      POLLS: String(POLLS),
    };
    const all = Array.from({ length: PROCESSES }, (_, i) =>
      spawnChild({ ...env, TARGET: i % 2 === 0 ? 'west' : 'east' }),
    );
    await Promise.all(all.map((c) => c.ready));
    standIn.clearRequests();
    for (const c of all) c.child.stdin!.write('go\n');
    const results = await Promise.all(all.map((c) => c.done));

    const requests = standIn.requests;
    const first = requests[0]?.at ?? 0;
    const log = requests.map((r) => `${r.at - first} ${r.action} ${r.errorCode ?? r.status}`).join('\n');
    const outputs = all.map((c) => c.output()).join('\n');
    // Every read and every switch got through: POLLS reads, plus a read and a change per switch.
    expect(
      requests.filter((r) => r.status === 200),
      log,
    ).toHaveLength(PROCESSES * (POLLS + 2));
    expect(
      requests.filter((r) => r.errorCode === 'Throttling'),
      log,
    ).toEqual([]);
    expect(
      results.map((r) => r.retries),
      outputs,
    ).toEqual(Array(PROCESSES).fill(0));
    expect(maxRequestsInWindow(requests, 1000), log).toBeLessThanOrEqual(5);
    // The switches were queued after every read, yet the last change arrives with a third of the reads still to
    // come (one process's reads queued first, its change after them, would put the changes near the end).
    const changeArrivals = requests.flatMap((r, i) => (r.action === 'ChangeResourceRecordSets' ? [i] : []));
    expect(changeArrivals).toHaveLength(PROCESSES);
    expect(Math.max(...changeArrivals), log).toBeLessThan((requests.length * 2) / 3);
  }, 30_000);
});
