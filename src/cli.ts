/**
 * The composition root: the only place that reads process.env and wires config → logger → clients → roles.
 */
import { runBreakGlass } from './break-glass/run-break-glass.js';
import { runCheckConfig } from './config/check-config.js';
import { parseEnv } from './config/env.js';
import { createLogger } from './logger.js';
import { runDrill } from './sandbox/drill.js';
import { runSandbox } from './sandbox/run-sandbox.js';
import { runRole } from './main.js';

const USAGE = `usage: baton <command> [options]

Commands:
  check-config [FILE]   validate a topology file (default $BATON_CONFIG or ./baton.yaml) and summarize it
  start                 web and worker in one process
  web                   the web role: Slack (HTTP or Socket Mode), health
  worker [--simulated]  the worker role: runs, checks and Slack messages (--simulated: a world held in Redis)
  sandbox               the whole of Baton on this machine, driven from a web page (Ctrl-C stops it)
  drill                 the failover test: kill the serving cluster's health, fail over on the alert, fail back
  help                  this text

Break-glass, for when Slack is down (same Redis, same approval rules; USER is a Slack user id listed in the
topology; approvals typed from one OS account count as one; \`baton <command> --help\` for each):
  status [SITE] [--json]                         serving cluster, the open run and the last runs of each site
  plan [failover|failback] [SITE]                the plan and a worker's preflight; changes nothing
  propose failover|failback [SITE] --as USER     propose a run (--planned, --force, --reason TEXT)
  approve RUN --as USER                          approve; also reject, cancel, retry and abort RUN --as USER
  accept-risk RUN --as USER                      break-glass: promote although the old primary may take writes
  republish [RUN...]                             queue the runs' Slack messages again after a long Slack outage`;

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  const out = { log: (line: string) => console.log(line), error: (line: string) => console.error(line) };
  switch (command) {
    case 'check-config':
      return runCheckConfig(args, process.env, out);
    case 'sandbox':
    case 'drill': {
      // Quiet unless LOG_LEVEL asks otherwise: the terminal shows what the sandbox prints; Baton logs to a file.
      const env = parseEnv(process.env, { logLevel: 'warn' });
      if (!env.ok) {
        out.error(`baton ${command}: ${env.problems.join('; ')}`);
        return 2;
      }
      const log = createLogger({ level: env.env.logLevel });
      const options = {
        log,
        print: out.log,
        ...(env.env.redisUrlGiven && { redisUrl: env.env.redisUrl }),
      };
      if (command === 'drill') return runDrill(options);
      return runSandbox({
        ...options,
        ...(env.env.sandboxPort !== undefined && { port: env.env.sandboxPort }),
      });
    }
    case 'worker':
    case 'web':
    case 'start':
      return runRole(command, args, process.env);
    case 'status':
    case 'plan':
    case 'propose':
    case 'approve':
    case 'reject':
    case 'cancel':
    case 'retry':
    case 'abort':
    case 'accept-risk':
    case 'republish':
      return runBreakGlass(command, args, process.env, out);
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
