/**
 * `/failover --cluster east [--planned] [reason…]` and `/failback --cluster east [reason…]` (DESIGN §2): one
 * evacuation of every site the cluster serves, or every site brought home to it. Pure; parse-command.ts hands over
 * any text that names `--cluster`. The cluster is checked by the evacuation service against the topology.
 */
import type { RunKind } from '../core/model.js';
import { truncatePlainText } from './blocks/limits.js';

export type EvacuationCommand =
  | { kind: 'evacuate'; runKind: RunKind; cluster: string; reason: string; planned: boolean }
  | { kind: 'invalid'; error: string };

// `--cluster east`, `--cluster=east`; Slack clients with smart punctuation turn `--` into a dash.
const CLUSTER_FLAG = /^(?:--|[\u2014\u2013])cluster(?:=(.*))?$/i;
const FLAG = /^(?:--(\S+)|[\u2014\u2013]([A-Za-z]\S*))$/;
const CLUSTER_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Whether `words` (the decoded command text) ask for an evacuation. */
export const namesCluster = (text: string): boolean =>
  text.split(/\s+/).some((word) => CLUSTER_FLAG.test(word));

export function parseEvacuationCommand(runKind: RunKind, text: string, maxReason: number): EvacuationCommand {
  const invalid = (error: string): EvacuationCommand => ({ kind: 'invalid', error });
  const words = text.split(/\s+/).filter(Boolean);
  let cluster: string | undefined;
  let planned = false;
  const reason: string[] = [];
  let flagsEnded = false;
  for (let i = 0; i < words.length; i += 1) {
    const word = words[i] ?? '';
    if (!flagsEnded && word === '--') {
      flagsEnded = true;
      continue;
    }
    const named = flagsEnded ? null : CLUSTER_FLAG.exec(word);
    if (named) {
      const value = named[1] ?? words[(i += 1)];
      if (!value) return invalid('--cluster needs a cluster name, e.g. /failover --cluster east <reason>');
      if (cluster !== undefined) return invalid('Name one cluster: --cluster appears twice');
      cluster = value.toLowerCase();
      continue;
    }
    const flag = flagsEnded ? null : FLAG.exec(word);
    if (flag) {
      const name = (flag[1] ?? flag[2] ?? '').toLowerCase();
      if (name === 'planned' && runKind === 'failover') {
        planned = true;
        continue;
      }
      return invalid(
        `--${name} does not apply to an evacuation (--cluster takes only --planned on /failover); ` +
          `for one site, use ${runKind === 'failover' ? '/failover' : '/failback'} <site> --${name}`,
      );
    }
    reason.push(word);
  }
  if (cluster === undefined || !CLUSTER_NAME.test(cluster)) {
    return invalid(`"${truncatePlainText(cluster ?? '', 40)}" is not a cluster name; e.g. --cluster east`);
  }
  return {
    kind: 'evacuate',
    runKind,
    cluster,
    reason: truncatePlainText(reason.join(' ').trim(), maxReason),
    planned: runKind === 'failback' || planned,
  };
}
