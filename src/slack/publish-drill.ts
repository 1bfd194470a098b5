/**
 * A game day's messages on the notify queue: its one message in the incident channel (edited in place on every
 * change) and its thread notes, each posted once per dedupe id. Never throws, never waits on Slack.
 */
import type { Topology } from '../config/topology.js';
import type { Drill } from '../core/drills/drill.js';
import type { Log } from '../core/ports.js';
import { describeError } from '../errors.js';
import type { Notifier } from '../queue/notify/index.js';
import type { DrillReporter } from '../runs/drill-service.js';
import { buildDrillMessage, buildDrillNote, drillMessageKey } from './blocks/drill-message.js';

export class DrillPublisher implements DrillReporter {
  constructor(
    private readonly options: {
      notifier: Pick<Notifier, 'postStatus' | 'postReply'>;
      topology: Topology;
      log: Log;
    },
  ) {}

  async publish(drill: Drill): Promise<void> {
    const { notifier, topology, log } = this.options;
    try {
      await notifier.postStatus({
        channel: topology.slack.incidentChannel,
        key: drillMessageKey(drill),
        message: buildDrillMessage({ drill, approvalsRequired: topology.approvals.required }),
      });
    } catch (error) {
      log.warn({ drill: drill.id, err: describeError(error) }, 'could not queue the game day message');
    }
  }

  async note(drill: Drill, text: string, dedupeId: string): Promise<void> {
    const { notifier, topology, log } = this.options;
    try {
      await notifier.postReply({
        channel: topology.slack.incidentChannel,
        threadKey: drillMessageKey(drill),
        dedupeId,
        message: buildDrillNote(drill, text),
      });
    } catch (error) {
      log.warn({ drill: drill.id, err: describeError(error) }, 'could not queue a game day note');
    }
  }
}
