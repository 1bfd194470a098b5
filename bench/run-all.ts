/**
 * `npm run bench`: every benchmark in turn, each printing one Markdown table. Missed budgets show as FAIL in the
 * tables; only a benchmark that crashes makes the exit code non-zero.
 */
import { performance } from 'node:perf_hooks';
import { engineOverhead } from './engine-overhead.js';
import { resumeAfterKill } from './resume-after-kill.js';
import { adapterPolling } from './adapter-polling.js';
import { slackAck } from './slack-ack.js';
import { alertmanagerIngest } from './alertmanager-ingest.js';
import { coldStart } from './cold-start.js';
import { prewarmRto } from './prewarm-rto.js';
import { evacuation } from './evacuation.js';

const BENCHMARKS: [string, () => Promise<string>][] = [
  ['engine-overhead', engineOverhead],
  ['resume-after-kill', resumeAfterKill],
  ['adapter-polling', adapterPolling],
  ['slack-ack', slackAck],
  ['alertmanager-ingest', alertmanagerIngest],
  ['cold-start', coldStart],
  ['prewarm-rto', prewarmRto],
  ['evacuation', evacuation],
];

let crashed = 0;
for (const [name, bench] of BENCHMARKS) {
  const started = performance.now();
  try {
    console.log(await bench());
    console.log(`\n_${name} took ${((performance.now() - started) / 1000).toFixed(1)} s_\n`);
  } catch (error) {
    crashed += 1;
    console.error(`benchmark ${name} crashed:`, error);
  }
}
// Exit explicitly: a crashed benchmark may leave a connection or timer behind.
process.exit(crashed ? 1 : 0);
