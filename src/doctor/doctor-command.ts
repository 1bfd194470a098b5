/**
 * `baton doctor`: will Baton work when it is needed? Checks every permission and connection a failover uses, from
 * where it runs (run it where the worker runs: it needs the worker's kubeconfig, AWS credentials and database URLs),
 * and prints one line per check with the fix. Changes nothing anywhere.
 */
import { loadConfig } from '../config/load-config.js';
import type { DoctorSystem } from './doctor-check.js';
import { createLogger } from '../logger.js';
import { doctor } from './open-doctor.js';
import { renderReport } from './render-report.js';
import { SYSTEMS } from './run-doctor.js';

export interface DoctorOutput {
  log(line: string): void;
  error(line: string): void;
}

const USAGE = `usage: baton doctor [--only SYSTEM[,SYSTEM…]] [--json]

Checks, without changing anything, every permission and connection Baton needs during an incident, and prints one
line per check with its fix:
  slack       the bot token and its scopes, membership of the incident channel, the user groups
  kubernetes  each kubeContext answers; RBAC allows every verb the steps use (SelfSubjectAccessReview); workloads exist
  route53     the zone and the record exist; the IAM actions the strategy reads (writes are listed, not tried)
  postgresql  each URL connects; the role may pg_promote(), ALTER SYSTEM, pg_terminate_backend(); one primary, one standby
Run it where the worker runs, with its environment (BATON_CONFIG, SLACK_BOT_TOKEN, KUBECONFIG, AWS_*, the database
URL variables).
  --only   check only these systems
  --json   print the report as JSON
Exit status: 0 nothing failed (warnings allowed), 1 a check failed, 2 usage error.`;

/** Returns the exit status. */
export async function runDoctorCommand(
  args: string[],
  rawEnv: Record<string, string | undefined>,
  out: DoctorOutput,
): Promise<number> {
  let json = false;
  let only: DoctorSystem[] | undefined;
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i];
    if (arg === '-h' || arg === '--help') {
      out.log(USAGE);
      return 0;
    } else if (arg === '--json') {
      json = true;
    } else if (arg === '--only') {
      const names = (args[++i] ?? '').split(',').filter(Boolean);
      const unknown = names.filter((name) => !(SYSTEMS as readonly string[]).includes(name));
      if (names.length === 0 || unknown.length > 0) {
        out.error(
          `doctor: --only takes ${SYSTEMS.join(', ')}; got ${unknown.join(', ') || 'nothing'}\n${USAGE}`,
        );
        return 2;
      }
      only = names as DoctorSystem[];
    } else {
      out.error(`doctor: unknown argument ${arg}\n${USAGE}`);
      return 2;
    }
  }
  // The database URL variables are checked as lines of the report, not refused up front.
  const { env, topology } = await loadConfig(rawEnv, { checkEnv: false });
  // The report is the output; the adapters' retry chatter would only interleave with it.
  const log = createLogger({ level: 'silent' });
  const report = await doctor({ env, rawEnv, topology, log, ...(only && { systems: only }) });
  out.log(json ? JSON.stringify(report, null, 2) : renderReport(report));
  return report.healthy ? 0 : 1;
}
