/**
 * The break-glass CLI for when Slack is down: `baton status | plan | propose | approve | reject | cancel | retry |
 * abort | accept-risk | republish | report`. It acts on the same Redis with the same rules as the Slack app (RunCommands),
 * names the person with `--as` (a Slack user id listed in the topology) and records the OS user and host in the
 * audit; approvals and break-glass votes typed from one OS account count as one, whatever `--as` says.
 *
 * Exit status: 0 done, 1 refused or failed (one line on stderr saying what to do), 2 usage error.
 */
import { hostname, userInfo } from 'node:os';
import { systemClock } from '../core/clock.js';
import type { Clock } from '../core/ports.js';
import { BatonError, describeError, describeErrorWithHint } from '../errors.js';
import { LOG_LEVELS } from '../config/env.js';
import { createLogger, scrubSecrets } from '../logger.js';
import { actOnRun, proposeRun } from './act-on-run.js';
import type { Origin } from './cli-identity.js';
import { approversLeft, notApproverMessage } from './cli-identity.js';
import type { BreakGlass } from './open-break-glass.js';
import { openBreakGlass } from './open-break-glass.js';
import type { BreakGlassArgs, BreakGlassCommand } from './parse-break-glass-args.js';
import { COMMAND_USAGE, UsageError, parseBreakGlassArgs } from './parse-break-glass-args.js';
import { republishRuns } from './republish-runs.js';
import { showReport } from './show-report.js';
import { gatherPlan, renderPlanReport } from './show-plan.js';
import { gatherStatus, renderStatus } from './show-status.js';

type Env = Record<string, string | undefined>;

export interface BreakGlassOutput {
  log(line: string): void;
  error(line: string): void;
}

/** Where this command is typed: the OS account and host, which the audit records beside `--as`. */
export function terminalOrigin(): Origin {
  let osUser: string;
  try {
    osUser = userInfo().username;
  } catch {
    // A container user without a passwd entry has no name; its uid still says who it was.
    osUser = `uid-${process.getuid?.() ?? 'unknown'}`;
  }
  return { osUser, host: hostname() };
}

export async function runBreakGlass(
  command: BreakGlassCommand,
  args: string[],
  rawEnv: Env,
  out: BreakGlassOutput,
  options: { origin?: Origin; clock?: Clock } = {},
): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    out.log(`usage: ${COMMAND_USAGE[command]}`);
    return 0;
  }
  let parsed: BreakGlassArgs;
  try {
    parsed = parseBreakGlassArgs(command, args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    out.error(`baton ${command}: ${error.message}\nusage: ${COMMAND_USAGE[command]}`);
    return 2;
  }
  const origin = options.origin ?? terminalOrigin();
  // Logs go to stderr, so `--json` output stays clean; quiet unless LOG_LEVEL asks for more.
  const level = rawEnv.LOG_LEVEL?.trim().toLowerCase();
  const log = createLogger({
    level: level && (LOG_LEVELS as readonly string[]).includes(level) ? level : 'warn',
    destination: process.stderr,
    base: { cli: command, osUser: origin.osUser, host: origin.host },
  });
  let bg: BreakGlass | undefined;
  try {
    bg = await openBreakGlass(rawEnv, { log, clock: options.clock ?? systemClock });
    for (const line of await dispatch(bg, parsed, origin)) out.log(line);
    return 0;
  } catch (error) {
    out.error(`baton ${command}: ${await explain(error, parsed, bg)}`);
    return 1;
  } finally {
    await bg?.close();
  }
}

async function dispatch(bg: BreakGlass, args: BreakGlassArgs, origin: Origin): Promise<string[]> {
  switch (args.command) {
    case 'status': {
      const report = await gatherStatus(bg, {
        ...(args.site !== undefined && { site: args.site }),
        runs: args.runs,
      });
      return args.json ? [JSON.stringify(report, null, 2)] : renderStatus(report);
    }
    case 'plan': {
      const report = await gatherPlan(bg, {
        kind: args.kind,
        ...(args.site !== undefined && { site: args.site }),
        planned: args.planned,
        force: args.force,
        waitMs: args.waitMs,
        actor: { type: 'cli', id: origin.osUser },
      });
      return args.json ? [JSON.stringify(report, null, 2)] : renderPlanReport(report);
    }
    case 'propose':
      return proposeRun(bg, args, origin);
    case 'republish':
      return republishRuns(bg, args.runIds);
    case 'report':
      return showReport(bg, args);
    default:
      return actOnRun(bg, args.command, args, origin);
  }
}

/**
 * One line saying what went wrong and what to do, secrets scrubbed: a refusal the CLI can say better (naming the
 * approvers left, the config file), otherwise the message and, when it does not say what to do, its code's hint.
 */
async function explain(error: unknown, args: BreakGlassArgs, bg: BreakGlass | undefined): Promise<string> {
  const runId = 'runId' in args ? args.runId : '';
  const as = 'as' in args ? args.as : '';
  let text = describeError(error);
  if (error instanceof BatonError) {
    const approvals = bg?.topology.approvals;
    const config = bg?.configPath ?? 'the topology file';
    /** Listed approvers who can still approve the run, when it can be read. */
    const others = async (): Promise<string> => {
      const run = await bg?.service.get(runId).catch(() => null);
      const left = run && approvals ? approversLeft(run, approvals) : [];
      return left.length ? ` (${left.join(', ')}): baton approve ${runId} --as <APPROVER>` : '';
    };
    switch (error.code) {
      case 'run-not-found':
        text = `no run ${runId}: \`baton status\` lists each site's open and recent runs`;
        break;
      case 'not-approver':
        if (approvals && as) text = notApproverMessage(approvals, as, config);
        break;
      case 'self-approval':
        text =
          `${as} requested ${runId} and approvals.allowSelfApproval is false in ${config}: another listed ` +
          `approver must approve it${await others()}`;
        break;
      case 'already-approved':
        text = `${as}'s approval of ${runId} is already counted; another listed approver must add theirs${await others()}`;
        break;
      case 'expired':
        text = `run ${runId} expired before it had enough approvals: propose it again (baton propose …)`;
        break;
      default:
        text = describeErrorWithHint(error);
    }
  } else if (/ECONNREFUSED|ECONNRESET|ETIMEDOUT|Connection is closed|Stream isn't writeable/i.test(text)) {
    text = `lost the connection to Redis (${text}): check that it is up and run the command again`;
  }
  return scrubSecrets(text.replace(/\s*\n\s*/g, '; '));
}
