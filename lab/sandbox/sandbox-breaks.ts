/**
 * What the sandbox page's buttons and the drill break and mend: a cluster's health endpoint, its Kubernetes API and
 * how long its new pods take to start here, its database through database-breaks.ts, and GitOps self-heal on west
 * through west-gitops.ts.
 */
import type { DatabaseBreaks } from '../postgres/database-breaks.js';
import type { PostgresPair } from '../postgres/postgres-pair.js';
import type { Lab } from './start-lab.js';
import type { GitOpsSwitch, SelfHealMode } from './west-gitops.js';

/** What the page's buttons break: the health endpoint and API here, the database in database-breaks.ts. */
export interface Breaks extends DatabaseBreaks {
  health(cluster: string, up: boolean): Promise<void>;
  api(cluster: string, up: boolean): Promise<void>;
  /** Argo CD's self-heal on the GitOps cluster: off, on with the fix, or on without it. */
  selfHeal(cluster: string, mode: SelfHealMode): Promise<void>;
  /** New pods of the cluster take `ms` to become Ready from now on (slow image pulls); null: as the lab started. */
  podStart(cluster: string, ms: number | null): Promise<void>;
}

/** The breaks for `lab`; an API taken down is added to `apiDown` (and removed when it is back), for the view. */
export function sandboxBreaks(
  lab: Lab<PostgresPair | null>,
  database: DatabaseBreaks,
  apiDown: Set<string>,
  gitops: GitOpsSwitch,
): Breaks {
  const known = (cluster: string) => {
    if (!lab.health[cluster]) throw new Error(`no cluster ${JSON.stringify(cluster)}: use east or west`);
  };
  return {
    ...database,
    async health(cluster, up) {
      known(cluster);
      await lab.health[cluster]?.set(up ? true : 'down');
    },
    async api(cluster, up) {
      known(cluster);
      await lab.kube.setOutage(cluster, up ? null : 'refused');
      if (up) apiDown.delete(cluster);
      else apiDown.add(cluster);
    },
    async selfHeal(cluster, mode) {
      if (cluster !== gitops.cluster)
        throw new Error(`GitOps self-heal is modelled on ${gitops.cluster} only`);
      gitops.set(mode);
    },
    async podStart(cluster, ms) {
      known(cluster);
      lab.kube.setPodReadyAfter(cluster, ms);
    },
  };
}
