/**
 * The composition root: the only place that reads process.env and wires config → logger → clients → roles.
 */
import { runCheckConfig } from './config/check-config.js';
import { parseEnv } from './config/env.js';
import { createLogger } from './logger.js';
import { runSandbox } from './sandbox/run-sandbox.js';
import { runRole } from './main.js';

const USAGE = `usage: baton <command> [options]

Commands:
  check-config [FILE]   validate a topology file (default $BATON_CONFIG or ./baton.yaml) and summarize it
  start                 web and worker in one process
  web                   the web role: Slack (HTTP or Socket Mode), health
  worker [--simulated]  the worker role: runs, checks and Slack messages (--simulated: a world held in Redis)
  sandbox               run a whole failover and failback on this machine and print every step
  help                  this text

Coming with their issues: drill, and the break-glass status, plan and approve.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  const out = { log: (line: string) => console.log(line), error: (line: string) => console.error(line) };
  switch (command) {
    case 'check-config':
      return runCheckConfig(args, process.env, out);
    case 'sandbox': {
      const env = parseEnv(process.env);
      const log = createLogger({
        level: env.ok ? (process.env.LOG_LEVEL ? env.env.logLevel : 'warn') : 'warn',
      });
      return runSandbox({
        log,
        print: out.log,
        ...(process.env.REDIS_URL && { redisUrl: process.env.REDIS_URL }),
      });
    }
    case 'worker':
    case 'web':
    case 'start':
      return runRole(command, args, process.env);
    case 'drill':
    case 'status':
    case 'plan':
    case 'approve':
      out.error(
        `baton ${command} is not built yet: the drill comes with the end-to-end sandbox, and status/plan/approve ` +
          'with the break-glass CLI. Today: `npm run sandbox`, `baton start`, `baton check-config`.',
      );
      return 2;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      out.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      out.error(`baton: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`baton: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
