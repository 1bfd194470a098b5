/**
 * Bolt listeners: transport only (STYLE 7). Each one acks, parses, calls the run service (src/runs/run-service.ts,
 * the only place that proposes, approves, aborts or reads a run) and renders its answer or refusal; the notify queue
 * carries every answer that is not the ack itself.
 */
import type { App, BlockButtonAction, RespondArguments, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { Topology } from '../config/topology.js';
import type { Actor, Run } from '../core/model.js';
import { requiredApprovals } from '../core/policy/approvals.js';
import type { Clock, Log } from '../core/ports.js';
import { BatonError, describeError } from '../errors.js';
import type { Notifier } from '../queue/notify/index.js';
import type { ReadinessService } from '../runs/readiness-service.js';
import type { RunService } from '../runs/run-service.js';
import { ACTION_IDS, decodeActionValue } from './action-ids.js';
import type { ClickAction, ClickRefusalCode } from './blocks/ephemeral.js';
import {
  buildClickRefusalMessage,
  buildErrorMessage,
  buildOpenRunMessage,
  buildRefusalMessage,
  buildUsageMessage,
} from './blocks/ephemeral.js';
import type { SlackMessage } from './blocks/limits.js';
import { escapeText } from './blocks/limits.js';
import { buildReadinessView } from './blocks/readiness-view.js';
import { buildHistoryView, buildPlanView, buildStatusView } from './blocks/views.js';
import type { SlashCommand } from './parse-command.js';
import { parseCommand } from './parse-command.js';
import type { EvacuationService } from '../runs/evacuation-service.js';
import { answerEvacuateCommand, registerEvacuationListeners } from './register-evacuation-listeners.js';
import type { DrillService } from '../runs/drill-service.js';
import { answerDrillCommand, registerDrillActions } from './drill-listeners.js';

export interface ListenerDeps {
  service: RunService;
  topology: Topology;
  /** Answers on a response_url (ephemeral), through the notify queue. */
  notifier: Pick<Notifier, 'respond'>;
  clock: Clock;
  log: Log;
  /** `/failover readiness`: the last continuous readiness evaluations (absent: the command says it is unavailable). */
  readiness?: Pick<ReadinessService, 'view'>;
  /** Evacuations (`--cluster`); without it the command says it is unavailable. */
  evacuations?: EvacuationService;
  /** Game days (`/failover drill`); without it the command says it is unavailable. */
  drills?: DrillService;
}

const CLICK_REFUSALS = new Set<string>([
  'not-approver',
  'self-approval',
  'already-approved',
  'not-proposed',
  'expired',
  'not-paused',
  'stale-message',
  'already-voted',
  'no-split-brain-risk',
]);

function ephemeral(message: SlackMessage): RespondArguments {
  return {
    response_type: 'ephemeral',
    text: message.text,
    // SlackMessage blocks are Block Kit built by our pure builders; Bolt's union type cannot be narrowed here.
    blocks: message.blocks,
  } as RespondArguments;
}

export function registerListeners(app: App, deps: ListenerDeps): void {
  const { topology, service, notifier, clock } = deps;
  const sites = topology.sites.map((s) => s.name);
  const channelLink = `<#${topology.slack.incidentChannel}>`;

  const answer = (responseUrl: string, message: SlackMessage): Promise<boolean> =>
    notifier.respond({ responseUrl, message, responseType: 'ephemeral', replaceOriginal: false });

  const usage = (error?: string) =>
    buildUsageMessage({
      sites,
      ...(error && { error }),
      breakGlassApprovals: topology.approvals.breakGlass.required,
    });

  // ------------------------------------------------------------------------------------------------------------
  // /failover and /failback
  // ------------------------------------------------------------------------------------------------------------
  const onCommand = async ({
    command,
    ack,
  }: {
    command: { command: string; text: string; user_id: string; user_name: string; response_url: string };
    ack: (response?: RespondArguments) => Promise<void>;
  }): Promise<void> => {
    const name = command.command as SlashCommand;
    const parsed = parseCommand(name, command.text ?? '', sites);
    const actor: Actor = { type: 'slack-user', id: command.user_id, name: command.user_name };
    const log = deps.log.child({ command: name, user: command.user_id, sub: parsed.kind });
    switch (parsed.kind) {
      case 'invalid':
        return ack(ephemeral(usage(parsed.error)));
      case 'help':
        return ack(ephemeral(usage()));
      case 'drill':
        if (!deps.drills) return ack(ephemeral(usage('Game days are not available in this process')));
        await ack();
        return answerDrillCommand(
          { ...deps, drills: deps.drills },
          parsed.drill,
          actor,
          command.response_url,
        );
      case 'evacuate':
        if (!deps.evacuations) return ack(ephemeral(usage('Evacuations are not available in this process')));
        await ack();
        return answerEvacuateCommand(
          { evacuations: deps.evacuations, topology, notifier, log },
          parsed,
          actor,
          command.response_url,
        );
      case 'plan': {
        try {
          const plan = await service.plan(parsed.runKind, parsed.site, parsed.planned);
          return await ack(ephemeral(buildPlanView({ plan })));
        } catch (error) {
          return ack(ephemeral(buildErrorMessage({ action: `plan a ${parsed.runKind}`, error })));
        }
      }
      case 'history':
        try {
          return await ack(
            ephemeral(buildHistoryView({ site: parsed.site, runs: await service.history(parsed.site) })),
          );
        } catch (error) {
          return ack(ephemeral(buildErrorMessage({ action: `read the history of ${parsed.site}`, error })));
        }
      case 'readiness':
        // The last evaluation from Redis, at once: the worker's readiness job reads the world, never this request.
        if (!deps.readiness) {
          const text = 'Readiness is not available here: this Baton was started without its readiness store.';
          return ack(ephemeral({ text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] }));
        }
        try {
          const sitesReadiness = await deps.readiness.view(parsed.site);
          return await ack(ephemeral(buildReadinessView({ sites: sitesReadiness, now: clock.now() })));
        } catch (error) {
          return ack(ephemeral(buildErrorMessage({ action: 'read the readiness', error })));
        }
      case 'status':
        // Baton's own record at once; a worker asks Route 53 and PostgreSQL and answers on the response_url.
        try {
          const records = await service.records(parsed.site);
          await ack(ephemeral(buildStatusView({ sites: records, now: clock.now() })));
          await service.observe(
            records.map((r) => r.site),
            command.response_url,
          );
        } catch (error) {
          await ack(ephemeral(buildErrorMessage({ action: 'read the status', error })));
        }
        return;
      case 'cancel': {
        await ack();
        try {
          const run = await service.cancel(parsed.runId, actor);
          await answer(command.response_url, {
            text: `Run ${run.id} is now ${run.state}.`,
            blocks: [
              { type: 'section', text: { type: 'mrkdwn', text: `Run ${run.id} is now *${run.state}*.` } },
            ],
          });
        } catch (error) {
          await answer(
            command.response_url,
            buildErrorMessage({ action: `cancel run ${parsed.runId}`, error }),
          );
        }
        return;
      }
      case 'propose': {
        await ack();
        try {
          if (parsed.flags.dryRun) {
            await service.dryRun({
              site: parsed.site,
              kind: parsed.runKind,
              planned: parsed.flags.planned,
              force: parsed.flags.force,
              reason: parsed.reason,
              actor,
              responseUrl: command.response_url,
            });
            return;
          }
          const { created, run } = await service.propose({
            site: parsed.site,
            kind: parsed.runKind,
            ...(parsed.flags.planned && { mode: 'planned' as const }),
            force: parsed.flags.force,
            reason: parsed.reason,
            actor,
          });
          // Slack does not retry slash commands or clicks (its retries, x-slack-retry-num, belong to the Events
          // API): a second request is a person asking again, and gets the open run back.
          if (created) {
            const needed = requiredApprovals(run, topology.approvals);
            const text =
              `Proposed ${run.kind} ${run.id} of ${run.site} (${run.from} → ${run.to}) in ${channelLink}. ` +
              `It needs ${needed} approval${needed === 1 ? '' : 's'}; preflight is running.`;
            await answer(command.response_url, {
              text,
              blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }],
            });
          } else {
            await answer(
              command.response_url,
              buildOpenRunMessage({
                run,
                approvers: topology.approvals.approvers,
                incidentChannel: topology.slack.incidentChannel,
                now: clock.now(),
              }),
            );
          }
          log.info({ runId: run.id, created }, 'proposal handled');
        } catch (error) {
          if (error instanceof BatonError && error.code === 'not-requester') {
            log.warn({}, 'request refused: not a requester');
            await answer(
              command.response_url,
              buildRefusalMessage({
                kind: parsed.runKind,
                site: parsed.site,
                requesters: topology.approvals.requesters,
              }),
            );
            return;
          }
          log.warn({ err: describeError(error) }, 'proposal failed');
          await answer(
            command.response_url,
            buildErrorMessage({ action: `propose a ${parsed.runKind} of ${escapeText(parsed.site)}`, error }),
          );
        }
        return;
      }
    }
  };
  app.command('/failover', onCommand);
  app.command('/failback', onCommand);
  if (deps.evacuations) registerEvacuationListeners(app, { ...deps, evacuations: deps.evacuations });
  if (deps.drills) registerDrillActions(app, { ...deps, drills: deps.drills });

  // ------------------------------------------------------------------------------------------------------------
  // Buttons
  // ------------------------------------------------------------------------------------------------------------
  type ClickArgs = SlackActionMiddlewareArgs<BlockButtonAction>;

  /**
   * A click handler: `act` gets the button's run and, when the button carries one, the run segment its message
   * showed; the run commands refuse a click from a segment the run has moved on from (a stale message).
   */
  const onClick =
    (action: ClickAction, act: (runId: string, actor: Actor, segment?: number) => Promise<Run | null>) =>
    async ({ ack, body, action: button }: ClickArgs): Promise<void> => {
      await ack();
      const actor: Actor = {
        type: 'slack-user',
        id: body.user.id,
        ...((body.user.username ?? body.user.name) && { name: body.user.username ?? body.user.name }),
      };
      const responseUrl = body.response_url;
      const log = deps.log.child({ action, user: actor.id });
      let runId = '';
      try {
        const value = decodeActionValue(button.value ?? '');
        runId = value.runId;
        const run = await act(runId, actor, value.segment);
        log.info({ runId, state: run?.state }, 'click handled');
      } catch (error) {
        const code = error instanceof BatonError ? error.code : '';
        log.warn({ runId, code, err: describeError(error) }, 'click refused');
        const run = runId ? await service.get(runId).catch(() => null) : null;
        const message =
          run && CLICK_REFUSALS.has(code)
            ? buildClickRefusalMessage({
                code: code as ClickRefusalCode,
                run,
                approvers: topology.approvals.approvers,
                action,
                breakGlassApprovals: requiredApprovals({ force: true }, topology.approvals),
              })
            : buildErrorMessage({ action: `${action} run ${runId || '(unknown)'}`, error });
        if (code === 'not-approver' && action !== 'approve' && run) {
          await service.recordRefusal(run, actor, `${action}: ${code}`).catch(() => undefined);
        }
        await answer(responseUrl, message);
      }
    };

  app.action(
    ACTION_IDS.approve,
    onClick('approve', async (runId, actor) => (await service.approve(runId, actor)).run),
  );
  app.action(
    ACTION_IDS.reject,
    onClick('reject', (runId, actor) => service.reject(runId, actor)),
  );
  app.action(
    ACTION_IDS.retryStep,
    onClick('retry', (runId, actor, segment) => service.retry(runId, actor, { expectedSegment: segment })),
  );
  app.action(
    ACTION_IDS.skipStep,
    onClick(
      'skip',
      async (runId, actor, segment) => (await service.skip(runId, actor, { expectedSegment: segment })).run,
    ),
  );
  app.action(
    ACTION_IDS.acceptRisk,
    onClick(
      'accept the split-brain risk of',
      async (runId, actor, segment) =>
        (await service.acceptRisk(runId, actor, { expectedSegment: segment })).run,
    ),
  );
  app.action(
    ACTION_IDS.abortRun,
    onClick('abort', (runId, actor, segment) => service.abort(runId, actor, { expectedSegment: segment })),
  );
  app.action(
    ACTION_IDS.startFailback,
    onClick('start a failback for', async (runId, actor) => {
      const finished = await service.get(runId);
      if (!finished) throw new BatonError('run-not-found', `No run ${runId} — see /failover history`);
      const { run } = await service.propose({
        site: finished.site,
        kind: 'failback',
        reason: `failback after ${finished.kind} ${finished.id}`,
        actor,
      });
      return run;
    }),
  );
}
