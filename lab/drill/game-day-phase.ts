/**
 * The drill's game day (issue 15): after the drill's own failover and failback, a practice run proposed with
 * `/failover drill <site> --hold 1m` and approved by the configured approvers (signed clicks on the drill's message)
 * fails over on its own, holds traffic on the standby for the hold, and fails back on its own. With PostgreSQL the
 * drill does what an operator does around it: the standby is rebuilt before the game day (readiness would skip it
 * otherwise), and the old primary is rebuilt as a standby during the hold, so the automatic failback finds the site
 * ready to come home.
 */
import type { Run } from '../../src/core/model.js';
import { DRILL_ACTION_IDS } from '../../src/slack/blocks/drill-message.js';
import type { SlackMessage } from '../slack/slack-api-server.js';
import type { Sandbox } from '../sandbox/stack.js';
import type { Mark } from './drill-support.js';
import { check, until } from './drill-support.js';

/** The shortest hold `/failover drill` accepts. */
const HOLD = '1m';

/** The first drill message that shows the button `actionId` (a game day's Approve goes once approved). */
function drillButton(messages: SlackMessage[], actionId: string) {
  for (const message of messages) {
    for (const block of (message.blocks ?? []) as { type?: string; elements?: Record<string, unknown>[] }[]) {
      if (block.type !== 'actions') continue;
      for (const element of block.elements ?? []) {
        if (element.action_id === actionId && typeof element.value === 'string')
          return { message, drillId: element.value };
      }
    }
  }
  return undefined;
}

export interface GameDayPhaseInput {
  sandbox: Sandbox;
  mark: Mark;
  requester: string;
  approvers: string[];
  withDatabase: boolean;
}

/**
 * `/failover drill <site> --hold 1m` as `requester`, approved by `approvers` (signed clicks on the drill's message);
 * the game day's id and its message's ts (its notes go to that thread).
 */
export async function proposeGameDay(
  s: Sandbox,
  requester: string,
  approvers: string[],
): Promise<{ drillId: string; ts: string }> {
  const answer = await s.as.command(requester, '/failover', `drill ${s.site.name} --hold ${HOLD}`);
  check(answer.status === 200, `Baton answered /failover drill with HTTP ${answer.status}`);
  const proposal = await until('the game day proposal', 20_000, async () =>
    drillButton(s.slack.messages(s.channel.id), DRILL_ACTION_IDS.approve),
  );
  for (const approver of approvers) {
    const button = drillButton(s.slack.messages(s.channel.id), DRILL_ACTION_IDS.approve);
    if (!button) break; // the required approvals are in: the message no longer offers the button
    const click = await s.as.click(approver, {
      messageTs: button.message.ts,
      actionId: DRILL_ACTION_IDS.approve,
      value: button.drillId,
      buttonText: 'Approve',
    });
    check(click.status === 200, `Baton answered the game day approval with HTTP ${click.status}`);
  }
  return { drillId: proposal.drillId, ts: proposal.message.ts };
}

/** The run of `kind` that game day `drillId` started, once there is one. */
export async function gameDayRun(s: Sandbox, drillId: string, kind: Run['kind']): Promise<Run | undefined> {
  return (await s.store.history(s.site.name, 10)).find((r) => r.drill?.id === drillId && r.kind === kind);
}

export async function gameDayPhase(input: GameDayPhaseInput): Promise<void> {
  const { sandbox: s, mark, requester, approvers, withDatabase } = input;
  const site = s.site;
  const home = site.homeCluster;
  const away = Object.keys(site.clusters).find((c) => c !== home) ?? '';

  const prepareFrom = Date.now();
  if (withDatabase) await s.breaks.rebuildStandby(away);
  mark(
    `game day: ${away} ready again${withDatabase ? ` (database rebuilt as a standby of ${home})` : ''}`,
    prepareFrom,
  );

  const askFrom = Date.now();
  const proposal = await proposeGameDay(s, requester, approvers);
  mark(`game day ${proposal.drillId} proposed (--hold ${HOLD}) and approved`, askFrom);

  const runOf = (kind: Run['kind']) => gameDayRun(s, proposal.drillId, kind);
  const startFrom = Date.now();
  const failover = await until('the game day to fail over on its own', 60_000, async () => {
    const run = await runOf('failover');
    return run?.state === 'succeeded' ? run : undefined;
  });
  check(failover.mode === 'planned', `the game day's failover ran ${failover.mode}, expected planned`);
  await until(`DNS to answer ${away}`, 10_000, async () => (await s.lab.servedBy()) === away);
  mark(`game day failover ${failover.id} on its own: ${away} serves, holding ${HOLD}`, startFrom);

  const holdFrom = Date.now();
  if (withDatabase) await s.breaks.rebuildStandby(home);
  const failback = await until('the game day to fail back on its own after the hold', 150_000, async () => {
    const run = await runOf('failback');
    return run?.state === 'succeeded' ? run : undefined;
  });
  await until(`DNS to answer ${home}`, 10_000, async () => (await s.lab.servedBy()) === home);
  const heldMs = (failback.steps.preflight?.startedAt ?? 0) - (failover.steps.verify?.finishedAt ?? 0);
  check(heldMs >= 60_000, `the game day failed back after ${heldMs} ms, before its hold of ${HOLD}`);
  mark(`game day failback ${failback.id} on its own after the hold: ${home} serves`, holdFrom);
}
