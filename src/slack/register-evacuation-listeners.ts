/**
 * The Slack side of evacuations (transport only, STYLE 7): `/failover --cluster` and `/failback --cluster` (called
 * from register-listeners.ts's command switch), the decision buttons, and a site's detail, opened as a modal with
 * the click's trigger_id (it expires in 3 s, so the modal is built from Redis alone). Every click is answered; a
 * refusal says why and who can act instead.
 */
import type { App, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { Topology } from '../config/topology.js';
import type { EvacuationChoice } from '../core/evacuation/evacuation.js';
import type { Actor } from '../core/model.js';
import type { Log } from '../core/ports.js';
import { BatonError, describeError } from '../errors.js';
import type { Notifier } from '../queue/notify/index.js';
import type { EvacuationService } from '../runs/evacuation-service.js';
import { ACTION_IDS } from './action-ids.js';
import { buildErrorMessage } from './blocks/ephemeral.js';
import { buildEvacuationSiteView } from './blocks/evacuation-message.js';
import { plural } from './blocks/format.js';
import type { SlackMessage } from './blocks/limits.js';
import { decodeEvacuationValue } from './evacuation-actions.js';

export interface EvacuationListenerDeps {
  evacuations: EvacuationService;
  topology: Topology;
  notifier: Pick<Notifier, 'respond'>;
  log: Log;
}

const textMessage = (text: string): SlackMessage => ({
  text,
  blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }],
});

/** `/failover --cluster east [reason]`: proposes (or names the open evacuation), answered on the response_url. */
export async function answerEvacuateCommand(
  deps: EvacuationListenerDeps,
  request: { runKind: 'failover' | 'failback'; cluster: string; reason: string; planned: boolean },
  actor: Actor,
  responseUrl: string,
): Promise<void> {
  const channel = `<#${deps.topology.slack.incidentChannel}>`;
  const answer = (message: SlackMessage) =>
    deps.notifier.respond({ responseUrl, message, responseType: 'ephemeral', replaceOriginal: false });
  try {
    const { created, evacuation } = await deps.evacuations.propose({
      kind: request.runKind,
      cluster: request.cluster,
      planned: request.planned,
      reason: request.reason,
      actor,
    });
    const sites = plural(evacuation.sites.length, 'site');
    const needed = deps.topology.approvals.required;
    await answer(
      textMessage(
        created
          ? `Proposed evacuation ${evacuation.id} of ${evacuation.cluster} (${sites}) in ${channel}. ` +
              `It needs ${plural(needed, 'approval')}; preflight is running.`
          : `Evacuation ${evacuation.id} of ${evacuation.cluster} (${sites}) is already open ` +
              `(${evacuation.state}) in ${channel}; decide there.`,
      ),
    );
    deps.log.info({ evacuationId: evacuation.id, created }, 'evacuation request handled');
  } catch (error) {
    deps.log.warn({ err: describeError(error) }, 'evacuation request refused');
    await answer(
      buildErrorMessage({
        action: `propose ${request.runKind === 'failover' ? 'an evacuation' : 'a failback'} of ${request.cluster}`,
        error,
      }),
    );
  }
}

export function registerEvacuationListeners(app: App, deps: EvacuationListenerDeps): void {
  const { evacuations, notifier } = deps;
  type ClickArgs = SlackActionMiddlewareArgs<BlockButtonAction> & { client: App['client'] };

  const actorOf = (body: ClickArgs['body']): Actor => ({
    type: 'slack-user',
    id: body.user.id,
    ...((body.user.username ?? body.user.name) && { name: body.user.username ?? body.user.name }),
  });

  const onDecision =
    (what: string, act: (id: string, actor: Actor) => Promise<unknown>) =>
    async ({ ack, body, action }: ClickArgs): Promise<void> => {
      await ack();
      const actor = actorOf(body);
      let id = '';
      try {
        id = decodeEvacuationValue(action.value ?? '').evacuationId;
        await act(id, actor);
        deps.log.info({ evacuationId: id, user: actor.id, what }, 'evacuation click handled');
      } catch (error) {
        const code = error instanceof BatonError ? error.code : '';
        deps.log.warn({ evacuationId: id, user: actor.id, code, err: describeError(error) }, 'click refused');
        await notifier.respond({
          responseUrl: body.response_url,
          message: buildErrorMessage({ action: `${what} evacuation ${id || '(unknown)'}`, error }),
          responseType: 'ephemeral',
          replaceOriginal: false,
        });
      }
    };

  const approve = (choice: EvacuationChoice) => (id: string, actor: Actor) =>
    evacuations.approve(id, actor, choice);
  app.action(ACTION_IDS.evacuationApproveAll, onDecision('approve', approve('all')));
  app.action(ACTION_IDS.evacuationApproveReady, onDecision('approve', approve('ready')));
  app.action(
    ACTION_IDS.evacuationReject,
    onDecision('reject', (id, actor) => evacuations.reject(id, actor)),
  );

  app.action(
    new RegExp(`^${ACTION_IDS.evacuationSite}-\\d+$`),
    async ({ ack, body, action, client }: ClickArgs) => {
      await ack();
      try {
        const { evacuationId, site } = decodeEvacuationValue(action.value ?? '');
        const view = await evacuations.view(evacuationId);
        const entry = view?.evacuation.sites.find((s) => s.site === site);
        if (!view || !entry) {
          throw new BatonError(
            'evacuation-not-found',
            `No site ${site ?? '(none)'} in evacuation ${evacuationId}`,
          );
        }
        const runId = entry.runId ?? entry.openRun;
        const run = runId ? view.runs.get(runId) : undefined;
        const prewarm = view.prewarms?.get(entry.site)?.prewarm;
        await client.views.open({
          trigger_id: body.trigger_id,
          view: buildEvacuationSiteView({
            evacuation: view.evacuation,
            site: entry,
            ...(run && { run }),
            ...(prewarm && { prewarm }),
          }),
        });
      } catch (error) {
        deps.log.warn({ err: describeError(error) }, 'evacuation site detail failed');
        await notifier.respond({
          responseUrl: body.response_url,
          message: buildErrorMessage({ action: 'open the site detail', error }),
          responseType: 'ephemeral',
          replaceOriginal: false,
        });
      }
    },
  );
}
