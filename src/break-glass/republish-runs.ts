/**
 * `baton republish [RUN...]`: queues the runs' Slack messages again. The notify worker gives up on a message after
 * 15 minutes of Slack errors, and a run that finished during a longer outage changes no more, so nothing would
 * bring its message up to date; this does. Safe to repeat: status messages are edited in place and thread replies
 * already posted are not posted twice.
 */
import type { Run } from '../core/model.js';
import type { BreakGlass } from './open-break-glass.js';

const RECENT_RUNS = 5;

export async function republishRuns(bg: BreakGlass, runIds: string[]): Promise<string[]> {
  const runs: Run[] = [];
  if (runIds.length) {
    for (const id of runIds) runs.push(await bg.service.require(id));
  } else {
    for (const site of bg.topology.sites) {
      const open = await bg.service.openRun(site.name);
      const recent = await bg.service.history(site.name, RECENT_RUNS);
      for (const run of [...(open ? [open] : []), ...recent])
        if (!runs.some((r) => r.id === run.id)) runs.push(run);
    }
  }
  if (!runs.length) return ['No runs to republish.'];
  // Oldest first, so the channel's messages keep the order the runs happened in.
  const ordered = [...runs].sort((a, b) => a.createdAt - b.createdAt);
  for (const run of ordered) await bg.service.publish(run);
  bg.log.info({ runs: ordered.map((r) => r.id) }, 'republished to Slack from the break-glass CLI');
  return [
    `Queued the Slack messages of ${ordered.map((r) => `${r.id} (${r.state})`).join(', ')}.`,
    'A worker with SLACK_BOT_TOKEN posts them to ' +
      `${bg.topology.slack.incidentChannel}; \`baton status\` counts the messages still waiting.`,
  ];
}
