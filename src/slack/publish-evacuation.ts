/**
 * Keeps an evacuation's one message current: rendered from the evacuation and its sites' runs, queued on the notify
 * queue under one key, which coalesces it to its newest content and edits it in place, paced per channel (about one
 * message a second) whatever the number of runs saving at once. Called after every change of the evacuation and
 * every save of one of its runs; never throws, never waits on Slack.
 *
 * Two processes may render at once, and the notify queue keeps whatever was queued last, not what was read last.
 * So a render queues its message, then checks that nothing it showed has changed since it read it (a stamp that
 * only grows: the versions of the evacuation and its runs), and renders again if something has: the last message
 * queued is then always one rendered from the newest state.
 *
 * Fifty runs saving at once would each render the table (read the evacuation and all its runs, twice or more), inline
 * in their progress: the 50-site benchmark saw a step wait up to 2 s behind it. So within a process one render of an
 * evacuation is in flight at a time; a call that comes meanwhile returns at once and marks it to render again when it
 * is done, from the state as it is then. No change is left unshown: the render that follows reads after the call.
 *
 * Each render also brings the evacuation's closing summary up to date (core/evacuation/summarize-evacuation.ts says
 * when it is due and what it says): one top-level message, posted once no site runs any more and edited in place
 * after that, from the same state as the table.
 */
import type { Topology } from '../config/topology.js';
import type { EvacuationView } from '../runs/evacuation-service.js';
import { evacuationRows, tableStamp } from '../core/evacuation/evacuation-table.js';
import type { EvacuationSummary } from '../core/evacuation/summarize-evacuation.js';
import { summarizeEvacuation } from '../core/evacuation/summarize-evacuation.js';
import type { Run } from '../core/model.js';
import type { Clock, Log } from '../core/ports.js';
import { describeError } from '../errors.js';
import type { Notifier } from '../queue/notify/index.js';
import { buildEvacuationMessage } from './blocks/evacuation-message.js';
import { buildEvacuationSummary } from './blocks/evacuation-summary.js';

export const evacuationMessageKey = (id: string): string => `evacuation:${id}`;
/** The evacuation's closing summary: one top-level message, posted once its sites have all come to rest. */
export const evacuationSummaryKey = (id: string): string => `evacuation-summary:${id}`;

/** Renders again at most this many times when the state moved under a render. */
const ROUNDS = 5;

export class EvacuationPublisher {
  /** Evacuations with a render in flight in this process, and whether a call came during it. */
  private readonly rendering = new Map<string, { again: boolean }>();

  constructor(
    private readonly options: {
      notifier: Pick<Notifier, 'postStatus' | 'statusMessage'>;
      /** Reads the evacuation and its runs (the evacuation service's `view`). */
      read: (id: string) => Promise<EvacuationView | null>;
      topology: Topology;
      clock: Clock;
      log: Log;
    },
  ) {}

  async publish(id: string): Promise<void> {
    const running = this.rendering.get(id);
    if (running) {
      running.again = true;
      return;
    }
    const state = { again: false };
    this.rendering.set(id, state);
    try {
      await this.render(id);
    } finally {
      this.rendering.delete(id);
      // Rendered again by whoever comes next: the call that marked it must not wait for it.
      if (state.again) void this.publish(id);
    }
  }

  private async render(id: string): Promise<void> {
    try {
      let view = await this.options.read(id);
      for (let round = 0; view && round < ROUNDS; round += 1) {
        const stamp = tableStamp(view.evacuation, view.runs, view.prewarms);
        const message = buildEvacuationMessage({
          evacuation: view.evacuation,
          rows: evacuationRows(view.evacuation, view.runs, view.prewarms),
          approvalsRequired: this.options.topology.approvals.required,
          now: this.options.clock.now(),
        });
        await this.options.notifier.postStatus({
          channel: this.options.topology.slack.incidentChannel,
          key: evacuationMessageKey(id),
          message,
        });
        const summary = summarizeEvacuation(view.evacuation, view.runs);
        if (summary) await this.postSummary(id, summary);
        view = await this.options.read(id);
        if (!view || tableStamp(view.evacuation, view.runs, view.prewarms) === stamp) return;
      }
    } catch (error) {
      this.options.log.warn(
        { evacuationId: id, err: describeError(error) },
        'could not queue evacuation update',
      );
    }
  }

  /**
   * Posts the closing summary, or edits it. While a site runs the summary is not due: nothing is posted then, but a
   * summary already posted (a paused site was retried) is edited to say that the site runs again.
   */
  private async postSummary(id: string, summary: EvacuationSummary): Promise<void> {
    const key = evacuationSummaryKey(id);
    if (summary.state === 'running' && !(await this.options.notifier.statusMessage(key))) return;
    await this.options.notifier.postStatus({
      channel: this.options.topology.slack.incidentChannel,
      key,
      message: buildEvacuationSummary(summary),
    });
  }
}

/** A run reporter that also refreshes the table of the evacuation a run belongs to. */
export function withEvacuationTable<R extends { publish(run: Run): Promise<void> }>(
  reporter: R,
  table: Pick<EvacuationPublisher, 'publish'>,
): { publish(run: Run): Promise<void> } {
  return {
    async publish(run) {
      await reporter.publish(run);
      if (run.evacuation) await table.publish(run.evacuation);
    },
  };
}
