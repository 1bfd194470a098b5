/**
 * The Slack side of game days (transport only, STYLE 7): `/failover drill …` (called from register-listeners.ts's
 * command switch) and the drill proposal's Approve / Reject buttons. Every command and click is answered; a refusal
 * says why and what to do.
 */
import type { App, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { Topology } from '../config/topology.js';
import { parseDrillAt } from '../core/drills/drill-schedule.js';
import type { Actor } from '../core/model.js';
import type { Clock, Log } from '../core/ports.js';
import { BatonError, describeError } from '../errors.js';
import type { Notifier } from '../queue/notify/index.js';
import type { DrillService } from '../runs/drill-service.js';
import { buildDrillList, drillRhythm, DRILL_ACTION_IDS } from './blocks/drill-message.js';
import { buildErrorMessage } from './blocks/ephemeral.js';
import { slackDate } from './blocks/format.js';
import type { SlackMessage } from './blocks/limits.js';
import type { DrillCommand } from './parse-drill-command.js';
import { DRILL_USAGE } from './parse-drill-command.js';

export interface DrillListenerDeps {
  drills: DrillService;
  topology: Topology;
  notifier: Pick<Notifier, 'respond'>;
  clock: Clock;
  log: Log;
}

const textMessage = (text: string): SlackMessage => ({
  text,
  blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }],
});

const DRILL_ID = /^d[1-9][0-9]{0,15}$/;

/** `/failover drill …`, answered on the response_url (the command was acked already). */
export async function answerDrillCommand(
  deps: DrillListenerDeps,
  command: DrillCommand,
  actor: Actor,
  responseUrl: string,
): Promise<void> {
  const answer = (message: SlackMessage) =>
    deps.notifier.respond({ responseUrl, message, responseType: 'ephemeral', replaceOriginal: false });
  const channel = `<#${deps.topology.slack.incidentChannel}>`;
  try {
    switch (command.action) {
      case 'list':
        await answer(
          buildDrillList({
            drills: await deps.drills.list(),
            approvalsRequired: deps.topology.approvals.required,
          }),
        );
        return;
      case 'cancel': {
        const drill = await deps.drills.cancel(command.drillId, actor);
        await answer(
          textMessage(
            `Game day ${drill.id} is cancelled: no further occurrence. Its thread in ${channel} says what stays.`,
          ),
        );
        return;
      }
      case 'propose': {
        let at: number | undefined;
        if (command.at !== undefined) {
          const parsed = parseDrillAt(command.at, deps.clock.now());
          if (!parsed.ok) throw new BatonError('drill-invalid', `${parsed.error}. ${DRILL_USAGE}`);
          at = parsed.at;
        }
        const drill = await deps.drills.propose({
          site: command.site,
          ...(at !== undefined && { at }),
          ...(command.everyMs !== undefined && { everyMs: command.everyMs }),
          ...(command.holdMs !== undefined && { holdMs: command.holdMs }),
          reason: command.reason,
          actor,
        });
        const when = drill.at === undefined ? 'as soon as it is approved' : slackDate(drill.at, 'datetime');
        await answer(
          textMessage(
            `Proposed game day ${drill.id} of ${drill.site} in ${channel}: ${when}, ${drillRhythm(drill)}. ` +
              `It needs ${deps.topology.approvals.required} approval(s).`,
          ),
        );
        return;
      }
    }
  } catch (error) {
    deps.log.warn({ err: describeError(error), action: command.action }, 'drill command refused');
    await answer(
      buildErrorMessage({
        action: `${command.action === 'propose' ? 'propose' : command.action} a game day`,
        error,
      }),
    );
  }
}

/** Approve / Reject on a drill proposal. */
export function registerDrillActions(app: App, deps: DrillListenerDeps): void {
  const onClick =
    (what: string, act: (drillId: string, actor: Actor) => Promise<unknown>) =>
    async ({ ack, body, action }: SlackActionMiddlewareArgs<BlockButtonAction>): Promise<void> => {
      await ack();
      const actor: Actor = {
        type: 'slack-user',
        id: body.user.id,
        ...((body.user.username ?? body.user.name) && { name: body.user.username ?? body.user.name }),
      };
      const drillId = action.value ?? '';
      try {
        if (!DRILL_ID.test(drillId))
          throw new BatonError('invalid-action-value', `"${drillId.slice(0, 20)}" is not a drill id`);
        await act(drillId, actor);
      } catch (error) {
        deps.log.warn({ drillId, user: actor.id, err: describeError(error) }, 'drill click refused');
        await deps.notifier.respond({
          responseUrl: body.response_url,
          message: buildErrorMessage({ action: `${what} game day ${drillId}`, error }),
          responseType: 'ephemeral',
          replaceOriginal: false,
        });
      }
    };
  app.action(
    DRILL_ACTION_IDS.approve,
    onClick('approve', (id, actor) => deps.drills.approve(id, actor)),
  );
  app.action(
    DRILL_ACTION_IDS.reject,
    onClick('reject', (id, actor) => deps.drills.reject(id, actor)),
  );
}
