/**
 * Parses the text of `/failover` and `/failback` (DESIGN §2) into what the person asked for. Pure: the listener
 * passes the configured site names and acts on the result; anything it cannot read becomes `invalid` with a
 * one-line reason that the usage help shows.
 */
import type { RunKind } from '../core/model.js';
import { truncatePlainText } from './blocks/limits.js';
import { namesCluster, parseEvacuationCommand } from './parse-evacuation-command.js';
import type { DrillCommand } from './parse-drill-command.js';
import { parseDrillCommand } from './parse-drill-command.js';

export type SlashCommand = '/failover' | '/failback';

export interface ProposeFlags {
  /** Plan and preflight only; nothing runs. */
  dryRun: boolean;
  /** Both sides healthy: the zero-data-loss switchover. Always true for `/failback`. */
  planned: boolean;
  /** Break-glass: failing gates do not stop the run; needs break-glass approvals. Never with `/failback`. */
  force: boolean;
}

export type ParsedCommand =
  | { kind: 'propose'; runKind: RunKind; site: string; reason: string; flags: ProposeFlags }
  /** No site: every site. */
  | { kind: 'status'; site?: string }
  /** The last continuous readiness evaluation; no site: every site. */
  | { kind: 'readiness'; site?: string }
  /** The site is always resolved (the only site, or the one named). */
  | { kind: 'history'; site: string }
  /** `planned` previews the planned switchover (`--planned`; always for failback). */
  | { kind: 'plan'; site: string; runKind: RunKind; planned: boolean }
  /** Normalized to the store's form, `r12`. */
  | { kind: 'cancel'; runId: string }
  | { kind: 'help' }
  /** `--cluster east`: one evacuation of every site the cluster serves (failback: every site brought home to it). */
  | { kind: 'evacuate'; runKind: RunKind; cluster: string; reason: string; planned: boolean }
  /** `/failover drill …`: propose, list or cancel game days. */
  | { kind: 'drill'; drill: DrillCommand }
  | { kind: 'invalid'; error: string };

/** Longest reason kept; longer ones are cut with `…`. */
export const MAX_REASON_LENGTH = 500;

const SUBCOMMANDS = ['status', 'history', 'plan', 'cancel', 'readiness'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];
const FLAGS = ['dry-run', 'planned', 'force'] as const;
type Flag = (typeof FLAGS)[number] | 'help';

// Any `--word` is a flag (unknown ones are refused, not taken as reason). Slack clients with smart punctuation turn
// `--` into an em or en dash, so a dash followed by a letter counts too.
const FLAG = /^(?:--(\S+)|[\u2014\u2013]([A-Za-z]\S*))$/;
const RUN_ID = /^r?0*([1-9][0-9]{0,15})$/i;

const invalid = (error: string): ParsedCommand => ({ kind: 'invalid', error });
/** User words quoted in an error, kept short so the error stays one line. */
const quote = (word: string): string => `"${truncatePlainText(word, 40)}"`;
const siteList = (sites: readonly string[]): string => sites.join(', ');

/**
 * Turns Slack's escaped text into what the person typed: `<@U123|alice>` → `@alice`, `<#C1|incidents>` →
 * `#incidents`, `<!here>` → `@here`, `<https://x|dashboard>` → `dashboard (https://x)`, then `&lt;` `&gt;` `&amp;`
 * back to `<` `>` `&`. Builders escape it again when they show it.
 */
export function decodeSlackText(text: string): string {
  const withoutTokens = text.replace(/<([^<>]*)>/g, (_token, inner: string) => {
    const bar = inner.indexOf('|');
    const target = bar >= 0 ? inner.slice(0, bar) : inner;
    const label = bar >= 0 ? inner.slice(bar + 1) : '';
    if (target.startsWith('@')) return label ? `@${label.replace(/^@/, '')}` : target;
    if (target.startsWith('#')) return label ? `#${label.replace(/^#/, '')}` : target;
    if (target.startsWith('!')) {
      if (label) return label;
      const name = target.slice(1).split('^');
      return `@${name[1] ?? name[0]}`;
    }
    return label && label !== target ? `${label} (${target})` : target;
  });
  const entities: Record<string, string> = { '&lt;': '<', '&gt;': '>', '&amp;': '&' };
  return withoutTokens.replace(/&(?:lt|gt|amp);/g, (entity) => entities[entity] ?? entity);
}

/**
 * Reads one slash command. `sites` are the configured site names. Rules (DESIGN §2):
 * - `status | history | plan | readiness [site] | cancel <run> | help` are the same for both commands;
 * - otherwise it is a proposal `[site] [reason…]`; the site may be left out when there is only one;
 * - flags (`--dry-run`, `--planned`, `--force`) may appear anywhere; `--` ends them, so a reason may contain `--x`;
 * - `/failback` is always planned, so `--force` is refused there.
 */
export function parseCommand(command: SlashCommand, text: string, sites: readonly string[]): ParsedCommand {
  if (command !== '/failover' && command !== '/failback') {
    return invalid(`Baton does not know the command ${quote(String(command))}; use /failover or /failback`);
  }
  const runKind: RunKind = command === '/failback' ? 'failback' : 'failover';
  const known = sites.map((s) => s.toLowerCase());
  if (!known.length)
    return invalid('No sites are configured; check the topology file with baton check-config');

  const drillWords = decodeSlackText(text).split(/\s+/).filter(Boolean);
  if (drillWords[0]?.toLowerCase() === 'drill') {
    if (runKind === 'failback')
      return invalid('drill belongs to /failover: /failover drill [site] [--at 14:00]');
    const drill = parseDrillCommand(drillWords.slice(1), known);
    return 'error' in drill ? invalid(drill.error) : { kind: 'drill', drill };
  }
  if (namesCluster(decodeSlackText(text))) {
    return parseEvacuationCommand(runKind, decodeSlackText(text), MAX_REASON_LENGTH);
  }
  const words: string[] = [];
  const flags = new Set<Flag>();
  let flagsEnded = false;
  for (const token of decodeSlackText(text).split(/\s+/).filter(Boolean)) {
    if (!flagsEnded && token === '--') {
      flagsEnded = true;
      continue;
    }
    const flag = flagsEnded ? null : FLAG.exec(token);
    if (!flag) {
      words.push(token);
      continue;
    }
    const name = (flag[1] ?? flag[2] ?? '').toLowerCase();
    if (name !== 'help' && !(FLAGS as readonly string[]).includes(name)) {
      return invalid(`Unknown flag ${quote(token)}; the flags are --dry-run, --planned and --force`);
    }
    flags.add(name as Flag);
  }

  const first = words[0]?.toLowerCase();
  if (flags.has('help') || first === 'help') return { kind: 'help' };
  if (first !== undefined && (SUBCOMMANDS as readonly string[]).includes(first)) {
    return parseSubcommand(first as Subcommand, runKind, words.slice(1), flags, known);
  }

  let site: string;
  let reasonWords = words;
  if (first !== undefined && known.includes(first)) {
    site = first;
    reasonWords = words.slice(1);
  } else if (known.length === 1 && known[0] !== undefined) {
    site = known[0];
  } else if (first === undefined) {
    return invalid(`Name the site first: ${command} <site> <reason>. Sites: ${siteList(known)}`);
  } else {
    return invalid(`Unknown site ${quote(words[0] ?? '')}; start with one of: ${siteList(known)}`);
  }
  if (runKind === 'failback' && flags.has('force')) {
    return invalid(
      '--force does not apply to /failback: failback is always the planned, zero-data-loss path',
    );
  }
  return {
    kind: 'propose',
    runKind,
    site,
    reason: truncatePlainText(reasonWords.join(' ').trim(), MAX_REASON_LENGTH),
    flags: {
      dryRun: flags.has('dry-run'),
      planned: runKind === 'failback' || flags.has('planned'),
      force: flags.has('force'),
    },
  };
}

function parseSubcommand(
  sub: Subcommand,
  runKind: RunKind,
  args: string[],
  flags: ReadonlySet<Flag>,
  sites: readonly string[],
): ParsedCommand {
  const allowed: readonly Flag[] = sub === 'plan' ? ['planned'] : [];
  const stray = [...flags].filter((f) => !allowed.includes(f));
  if (stray.length) {
    return invalid(
      `--${stray[0]} does not apply to ${sub}` +
        (sub === 'plan' ? ' (plan takes only --planned)' : '; flags belong to a proposal'),
    );
  }
  if (sub === 'cancel') {
    if (args.length !== 1) return invalid('cancel needs one run id, e.g. cancel r12 (see history)');
    const match = RUN_ID.exec(args[0] ?? '');
    if (!match)
      return invalid(`${quote(args[0] ?? '')} is not a run id; run ids look like r12 (see history)`);
    return { kind: 'cancel', runId: `r${match[1]}` };
  }
  if (args.length > 1) return invalid(`${sub} takes at most a site name, e.g. ${sub} ${sites[0]}`);
  const named = args[0]?.toLowerCase();
  if (named !== undefined && !sites.includes(named)) {
    return invalid(`Unknown site ${quote(args[0] ?? '')}; sites: ${siteList(sites)}`);
  }
  if (sub === 'status') return named === undefined ? { kind: 'status' } : { kind: 'status', site: named };
  if (sub === 'readiness')
    return named === undefined ? { kind: 'readiness' } : { kind: 'readiness', site: named };
  const site = named ?? (sites.length === 1 ? sites[0] : undefined);
  if (site === undefined) return invalid(`${sub} needs a site: ${sub} <site>. Sites: ${siteList(sites)}`);
  if (sub === 'history') return { kind: 'history', site };
  return { kind: 'plan', site, runKind, planned: runKind === 'failback' || flags.has('planned') };
}
