/**
 * One Baton-like process for the shared Route 53 limit test: it builds the Route 53 adapter as a worker does
 * (run-role.ts: the shared limit over a fail-fast Redis connection, under BATON_KEY_PREFIX), says
 * `ready`, and on `go` (stdin) queues POLLS reads of sites in zones of their own (reads of one zone that wait together
 * would share a request), then, 100 ms later, one switch of the example site's DNS.
 * It prints one JSON line when done: how many Route 53 requests failed and were retried.
 */
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createRedis } from '../../../src/adapters/redis.js';
import { ROUTE53_RATE_WINDOW_MS, Route53Dns } from '../../../src/adapters/route53.js';
import { loadTopologyFile } from '../../../src/config/topology.js';
import { systemClock } from '../../../src/core/clock.js';
import type { Log } from '../../../src/core/ports.js';
import { StoreKeys, keyPrefixesOf } from '../../../src/store/keys.js';
import { SharedRateLimit } from '../../../src/store/shared-rate-limit.js';
import { sitesInOwnZones } from '../../support/route53-zones.js';

const env = process.env;
const EXAMPLE = fileURLToPath(new URL('../../../examples/baton.yaml', import.meta.url));
const loaded = await loadTopologyFile(EXAMPLE, {
  EAST_DATABASE_URL: 'postgresql://x@127.0.0.1/e',
  WEST_DATABASE_URL: 'postgresql://x@127.0.0.1/w',
});
if (!loaded.ok) throw new Error(loaded.problems.join('\n'));
const site = loaded.topology.sites[0]!;

let retries = 0;
const log: Log = {
  info: () => undefined,
  debug: () => undefined,
  error: (fields, msg) => console.error(msg, JSON.stringify(fields)),
  warn: (fields, msg) => {
    if (msg === 'Route 53 request failed; retrying') retries++;
    else console.error(msg, JSON.stringify(fields));
  },
  child: () => log,
};

const connection = createRedis(env.REDIS_URL!, 'producer');
connection.on('error', () => undefined);
const dns = new Route53Dns({
  sharedLimiter: new SharedRateLimit({
    connection,
    keys: new StoreKeys(keyPrefixesOf(env.BATON_KEY_PREFIX!).store),
    api: 'route53',
    limit: 5,
    windowMs: ROUTE53_RATE_WINDOW_MS,
    clock: systemClock,
  }),
  endpoint: env.ROUTE53_ENDPOINT!,
  credentials: { accessKeyId: 'AKIDBATONTEST', secretAccessKey: 'baton-test-secret' },
  log,
  retry: { baseDelayMs: 50, maxDelayMs: 200 },
});

// A worker's connection is up long before its first Route 53 request.
if (connection.status !== 'ready') await new Promise((resolve) => connection.once('ready', resolve));
console.log('ready');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) if (line === 'go') break;

const polls = sitesInOwnZones(site, Number(env.POLLS)).map((own) => dns.currentTarget(own));
await new Promise((resolve) => setTimeout(resolve, 100));
const change = dns.switchTo(site, env.TARGET ?? 'west');
await Promise.all([...polls, change]);
console.log(JSON.stringify({ retries }));
dns.close();
connection.disconnect();
process.exit(0);
