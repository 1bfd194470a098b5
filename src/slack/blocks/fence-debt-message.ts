/**
 * The fence-debt message in the incident channel: what the old side still owes, and the moment it answers again.
 * "east is back and writable" is the most urgent thing Baton can say after a failover: two primaries exist until it
 * is fenced.
 */
import type { OpenFenceDebt } from '../../store/fence-debts.js';
import type { SlackMessage } from './limits.js';
import { escapeText } from './limits.js';

export type FenceDebtMoment =
  | { kind: 'back-writable' }
  | { kind: 'refused'; reason: string }
  | { kind: 'paid'; done: string[]; beyondPromotion?: string }
  | { kind: 'cleared'; by: string };

export function buildFenceDebtMessage(input: { debt: OpenFenceDebt; moment: FenceDebtMoment }): SlackMessage {
  const { debt, moment } = input;
  const site = escapeText(debt.site);
  const cluster = escapeText(debt.cluster);
  let text: string;
  switch (moment.kind) {
    case 'back-writable':
      text =
        `:rotating_light: *${site}: ${cluster} is back and writable* — its database was not fenced by run ${debt.runId}, ` +
        `so two primaries exist right now. Baton is fencing ${cluster} (read-only, workloads to standby size). ` +
        `Keep failback off until it says fenced.`;
      break;
    case 'refused':
      text =
        `:rotating_light: *${site}: ${cluster}'s database answers but refuses Baton* (${escapeText(moment.reason)}). ` +
        `It may be taking writes. Fence it by hand — \`ALTER SYSTEM SET default_transaction_read_only = on; ` +
        `SELECT pg_reload_conf();\` and end its sessions, or stop it — then fix Baton's access; Baton keeps trying.`;
      break;
    case 'paid':
      text =
        `:white_check_mark: *${site}: ${cluster} fenced* — ${moment.done.map(escapeText).join('; ')}. ` +
        (moment.beyondPromotion ? `${escapeText(moment.beyondPromotion)} ` : '') +
        `The fence debt of run ${debt.runId} is paid. Rebuild ${cluster} as a standby before failing back.`;
      break;
    case 'cleared':
      text =
        `:warning: *${site}: the fence debt of ${cluster} was cleared by hand* by ${escapeText(moment.by)}; ` +
        `Baton no longer watches ${cluster}. Make sure it is fenced or rebuilt before failing back.`;
      break;
  }
  return { text: text.replace(/\*/g, ''), blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}
