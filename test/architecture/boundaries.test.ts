/**
 * The walls of docs/architecture.md hold: `npm run lint` refuses each forbidden import below, and accepts the allowed
 * ones beside it. Each case lints one line of source as if it were a file of that folder.
 */
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: new URL('../..', import.meta.url).pathname });

async function problems(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${source}\nexport const used = x;\n`, { filePath: file });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId !== '@typescript-eslint/no-unused-vars')
    .map((m) => `${m.ruleId}: ${m.message}`);
}

const refused: [string, string, RegExp][] = [
  ['src/queue/x.ts', "import { x } from '../../lab/cli.js';", /stand-ins, tests and benchmarks stay out/],
  ['src/core/x.ts', "import { x } from '../store/run-store.js';", /core\/ is pure/],
  [
    'src/core/runs/x.ts',
    "import type { x } from '../../config/load-config.js';",
    /topology through its types/,
  ],
  ['src/core/x.ts', "import { x } from 'zod';", /no packages/],
  ['src/slack/x.ts', "import { x } from '../roles/web-role.js';", /Only the CLI composes the roles/],
  ['src/runs/x.ts', "import { x } from '../slack/publish-run.js';", /the surfaces call it/],
  ['src/store/x.ts', "import { x } from '../queue/queues.js';", /calls nothing above it/],
  ['src/adapters/x.ts', "import { x } from '../runs/run-service.js';", /knows nothing of runs/],
  ['src/queue/x.ts', "import { x } from '@kubernetes/client-node';", /Only src\/adapters\/ imports an SDK/],
  ['src/slack/x.ts', "import { x } from '@aws-sdk/client-route-53';", /Only src\/adapters\/ imports an SDK/],
  ['src/slack/blocks/x.ts', "import { x } from '../../store/run-store.js';", /through runs\//],
  ['src/alerts/x.ts', "import { x } from '../queue/queues.js';", /through runs\//],
  ['src/alerts/x.ts', "import { x } from '../adapters/redis.js';", /not through adapters/],
  ['src/roles/x.ts', "import { x } from './worker-role.js';", /the CLI composes them/],
  ['src/runs/x.ts', "import { x } from './no-such-file.js';", /Unable to resolve/],
];

const allowed: [string, string][] = [
  ['src/core/x.ts', "import type { x } from '../config/topology.js';"],
  ['src/slack/x.ts', "import type { x } from '../store/run-store.js';"],
  ['src/alerts/x.ts', "import { x } from '../runs/run-service.js';"],
  ['src/roles/x.ts', "import type { x } from './worker-role.js';"],
  ['src/adapters/x.ts', "import { x } from '@kubernetes/client-node';"],
  ['src/store/x.ts', "import type { x } from '../alerts/alertmanager-payload.js';"],
  ['src/cli.ts', "import { x } from './roles/web-role.js';"],
];

describe('the lint keeps the architecture', () => {
  it.each(refused)('refuses in %s: %s', async (file, source, why) => {
    expect(await problems(file, source)).toEqual(expect.arrayContaining([expect.stringMatching(why)]));
  });

  it.each(allowed)('allows in %s: %s', async (file, source) => {
    expect(await problems(file, source)).toEqual([]);
  });
});
