/**
 * The composition root: the only place that reads process.env and wires config → logger → clients → roles.
 */
import { runBreakGlass } from './break-glass/run-break-glass.js';
import { runCheckConfig } from './config/check-config.js';
import { describeErrorWithHint } from './errors.js';
import { runRole } from './roles/run-role.js';

const USAGE = `usage: baton <command> [options]

Commands:
  check-config [FILE]   validate a topology file (default $BATON_CONFIG or ./baton.yaml) and summarize it
  doctor                check every permission and connection Baton needs in an incident (--help for more)
  start                 web and worker in one process
  web                   the web role: Slack (HTTP or Socket Mode), health
  worker                the worker role: runs, checks and Slack messages
  help                  this text

Break-glass, for when Slack is down (same Redis, same approval rules; USER is a Slack user id listed in the
topology; approvals typed from one OS account count as one; \`baton <command> --help\` for each):
  status [SITE] [--json]                         serving cluster, the open run and the last runs of each site
  plan [failover|failback] [SITE]                the plan and a worker's preflight; changes nothing
  propose failover|failback [SITE] --as USER     propose a run (--planned, --force, --reason TEXT)
  approve RUN --as USER                          approve; also reject, cancel, retry and abort RUN --as USER
  accept-risk RUN --as USER                      break-glass: promote although the old primary may take writes
  republish [RUN...]                             queue the runs' Slack messages again after a long Slack outage
  report RUN [--markdown]                        a finished run's evidence (JSON, or the Markdown of its thread)`;

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  const out = { log: (line: string) => console.log(line), error: (line: string) => console.error(line) };
  switch (command) {
    case 'check-config':
      return runCheckConfig(args, process.env, out);
    case 'doctor':
      // Loaded only here: the doctor brings every SDK (the Kubernetes client alone is most of a second).
      return (await import('./doctor/doctor-command.js')).runDoctorCommand(args, process.env, out);
    case 'worker':
    case 'web':
    case 'start':
      if (args.length) {
        out.error(
          `baton ${command}: takes no arguments (configuration comes from the environment), got ${args.join(' ')}`,
        );
        return 2;
      }
      return runRole(command, process.env);
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
    case 'report':
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
    console.error(`baton: ${describeErrorWithHint(error)}`);
    process.exitCode = 1;
  },
);
