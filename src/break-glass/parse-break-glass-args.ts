/**
 * The break-glass commands' arguments: what each command takes, parsed strictly so that a typo at 3 a.m. is a usage
 * error (exit 2) instead of an action nobody meant.
 */
import { parseArgs } from 'node:util';
import type { RunKind } from '../core/model.js';
import { RUN_KINDS } from '../core/model.js';

export const BREAK_GLASS_COMMANDS = [
  'status',
  'plan',
  'propose',
  'approve',
  'reject',
  'cancel',
  'retry',
  'abort',
  'accept-risk',
  'republish',
  'report',
] as const;

/** What `baton propose` asks for. */
export interface ProposeRequest {
  kind: RunKind;
  site?: string;
  as: string;
  planned: boolean;
  force: boolean;
  reason: string;
  /** How long to wait for a worker to measure the proposal's preflight. */
  waitMs: number;
}

export type BreakGlassCommand = (typeof BREAK_GLASS_COMMANDS)[number];

export const isBreakGlassCommand = (command: string | undefined): command is BreakGlassCommand =>
  (BREAK_GLASS_COMMANDS as readonly string[]).includes(command ?? '');

/** Commands that act on one run as a named person. */
export const RUN_ACTIONS = ['approve', 'reject', 'cancel', 'retry', 'abort', 'accept-risk'] as const;
export type RunAction = (typeof RUN_ACTIONS)[number];

export type BreakGlassArgs =
  | { command: 'status'; site?: string; json: boolean; runs: number }
  | {
      command: 'plan';
      kind: RunKind;
      site?: string;
      planned: boolean;
      force: boolean;
      json: boolean;
      waitMs: number;
    }
  | ({ command: 'propose' } & ProposeRequest)
  | { command: RunAction; runId: string; as: string; reason?: string }
  | { command: 'republish'; runIds: string[] }
  | { command: 'report'; runId: string; markdown: boolean };

/** A mistake in how a command was typed: exit 2 with the command's usage. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: BreakGlassCommand,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Each command's own usage line and a sentence on what it does. */
export const COMMAND_USAGE: Readonly<Record<BreakGlassCommand, string>> = {
  status:
    'baton status [SITE] [--json] [--runs N]\n  each site: serving cluster, the open run, the last N runs (5)',
  plan:
    'baton plan [failover|failback] [SITE] [--planned] [--force] [--wait SECONDS] [--json]\n' +
    '  the plan Baton would run, and preflight measured by a worker (waits 15 s; 0 skips it); changes nothing',
  propose:
    'baton propose failover|failback [SITE] --as USER [--planned | --force] [--reason TEXT] [--wait SECONDS]\n' +
    '  propose a run as USER, a Slack user id listed in approvals.requesters.users or approvals.approvers.users',
  approve:
    'baton approve RUN --as USER\n  approve as USER, a Slack user id listed in approvals.approvers.users',
  reject: 'baton reject RUN --as USER [--reason TEXT]\n  reject a proposal as a listed approver',
  cancel: 'baton cancel RUN --as USER\n  cancel a proposal (the requester or a listed approver)',
  retry: 'baton retry RUN --as USER\n  paused run: try the failed step again (a listed approver)',
  abort:
    'baton abort RUN --as USER\n  paused or running run: undo what can be undone and stop (a listed approver)',
  'accept-risk':
    'baton accept-risk RUN --as USER\n' +
    '  run paused by the split-brain guard: accept that the old primary may still take writes and promote anyway\n' +
    '  (break-glass: counts once breakGlass.required listed approvers ask, each from their own OS account or Slack)',
  report:
    'baton report RUN [--markdown]\n' +
    "  a finished run's evidence: who asked and approved, the plan, step timings, RTO, RPO, DNS changes,\n" +
    '  everything skipped or forced (JSON; --markdown for the file attached to its Slack thread)',
  republish:
    'baton republish [RUN...]\n' +
    "  queue the runs' Slack messages again (default: each site's open and last 5 runs), after a long Slack outage",
};

const DEFAULT_WAIT_S = 15;
const DEFAULT_PROPOSE_WAIT_S = 10;

/** Every option of every command; each command accepts the ones ALLOWED lists. */
const OPTIONS = {
  json: { type: 'boolean' },
  runs: { type: 'string' },
  planned: { type: 'boolean' },
  force: { type: 'boolean' },
  wait: { type: 'string' },
  as: { type: 'string' },
  reason: { type: 'string' },
  markdown: { type: 'boolean' },
} as const;
type OptionName = keyof typeof OPTIONS;

const ALLOWED: Readonly<Record<BreakGlassCommand, readonly OptionName[]>> = {
  status: ['json', 'runs'],
  plan: ['planned', 'force', 'json', 'wait'],
  propose: ['as', 'planned', 'force', 'reason', 'wait'],
  approve: ['as'],
  reject: ['as', 'reason'],
  cancel: ['as'],
  retry: ['as'],
  abort: ['as'],
  'accept-risk': ['as'],
  republish: [],
  report: ['markdown'],
};

/** Parses `args` (after the command name) for `command`; throws UsageError. */
export function parseBreakGlassArgs(command: BreakGlassCommand, args: string[]): BreakGlassArgs {
  const fail = (message: string): never => {
    throw new UsageError(message, command);
  };
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true }>
  >;
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    // node:util names the bad option ("Unknown option '--frobnicate'"); that sentence is the usage error.
    return fail((error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '');
  }
  const { values, positionals } = parsed;
  for (const name of Object.keys(values) as OptionName[]) {
    if (!ALLOWED[command].includes(name)) fail(`${command} does not take --${name}`);
  }
  const seconds = (text: string | undefined, fallback: number, name: string): number => {
    if (text === undefined) return fallback * 1000;
    if (!/^\d+(\.\d+)?$/.test(text) || Number(text) > 600)
      fail(`${name} takes seconds from 0 to 600, got "${text}"`);
    return Math.round(Number(text) * 1000);
  };
  const person = (value: string | undefined): string => {
    if (!value)
      return fail(`${command} needs --as USER: the Slack user id of the person acting (e.g. --as U0ALICE)`);
    if (!/^[A-Z0-9]{2,}$/i.test(value)) fail(`--as takes a Slack user id such as U0ALICE, got "${value}"`);
    return value.toUpperCase();
  };
  /** `[failover|failback] [SITE]` for plan, `failover|failback [SITE]` for propose. */
  const kindAndSite = (kindRequired: boolean): { kind: RunKind; site?: string } => {
    const [first, second, ...rest] = positionals;
    if (rest.length) fail(`unexpected ${rest.map((r) => `"${r}"`).join(' ')}`);
    if ((RUN_KINDS as readonly string[]).includes(first ?? '')) {
      return { kind: first as RunKind, ...(second !== undefined && { site: second }) };
    }
    if (kindRequired) fail(`say what to propose: failover or failback${first ? `, got "${first}"` : ''}`);
    if (second !== undefined) fail(`unexpected "${second}" (the kind comes first: plan failover SITE)`);
    return { kind: 'failover', ...(first !== undefined && { site: first }) };
  };

  switch (command) {
    case 'status': {
      if (positionals.length > 1) fail(`status takes at most one site, got ${positionals.length}`);
      const runs = values.runs === undefined ? 5 : Number(values.runs);
      if (!Number.isInteger(runs) || runs < 0 || runs > 100)
        fail(`--runs takes 0 to 100, got "${values.runs}"`);
      return {
        command,
        ...(positionals[0] !== undefined && { site: positionals[0] }),
        json: values.json === true,
        runs,
      };
    }
    case 'plan': {
      const { kind, site } = kindAndSite(false);
      if (kind === 'failback' && values.force)
        fail('--force does not apply to failback: it is always planned');
      return {
        command,
        kind,
        ...(site !== undefined && { site }),
        planned: values.planned === true || kind === 'failback',
        force: values.force === true,
        json: values.json === true,
        waitMs: seconds(values.wait, DEFAULT_WAIT_S, '--wait'),
      };
    }
    case 'propose': {
      const { kind, site } = kindAndSite(true);
      if (values.planned && values.force) fail('--planned and --force exclude each other');
      if (kind === 'failback' && values.force)
        fail('--force does not apply to failback: it is always planned');
      return {
        command,
        kind,
        ...(site !== undefined && { site }),
        as: person(values.as),
        planned: values.planned === true || kind === 'failback',
        force: values.force === true,
        reason: values.reason?.trim() || 'proposed from the break-glass CLI',
        waitMs: seconds(values.wait, DEFAULT_PROPOSE_WAIT_S, '--wait'),
      };
    }
    case 'approve':
    case 'reject':
    case 'cancel':
    case 'retry':
    case 'abort':
    case 'accept-risk': {
      if (positionals.length !== 1) fail(`${command} takes one run id (e.g. r12), got ${positionals.length}`);
      const reason = values.reason?.trim();
      return { command, runId: positionals[0] as string, as: person(values.as), ...(reason && { reason }) };
    }
    case 'republish':
      return { command, runIds: positionals };
    case 'report':
      if (positionals.length !== 1) fail(`report takes one run id (e.g. r12), got ${positionals.length}`);
      return { command, runId: positionals[0] as string, markdown: values.markdown === true };
  }
}
