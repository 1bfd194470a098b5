/**
 * The topology file: which sites Baton fails over, their clusters, DNS, database and alert rules, and who approves.
 * This is its public entry; each piece lives in `topology/`:
 *
 * - `types.ts`: the normalized Topology the rest of Baton codes against, and parseTopology's options and result;
 * - `topology-schema.ts`: the schema of the whole file (`slack`, `approvals`, `sites`) and checks that span them;
 * - `site-schema.ts`: one site's clusters, workloads and checks; `dns-schema.ts`, `database-schema.ts`,
 *   `alerts-schema.ts` and `auto-approve-schema.ts`: a site's sections; `approvals-schema.ts`: the approvals;
 * - `field-schemas.ts`: field formats several sections share (DNS and Kubernetes names, URLs, durations);
 * - `check-sites.ts`: cross-field checks against each site's clusters, run on the raw YAML after the schema;
 * - `format-problems.ts`: zod issues → `<path>: <message>` problems, and formatPath;
 * - `normalize-topology.ts`: the schema's output → Topology;
 * - `parse-topology.ts`: parseTopology and loadTopologyFile, which run all of the above.
 */
export type {
  AlertRule,
  ApprovalsConfig,
  AutoApproveConfig,
  AutoApproveWitness,
  ClusterConfig,
  ClusterId,
  DatabaseConfig,
  DatabaseMember,
  DnsConfig,
  DnsTarget,
  DrillsConfig,
  ParseTopologyOptions,
  ParseTopologyResult,
  Principals,
  PrometheusWitnessConfig,
  SiteConfig,
  Topology,
  WorkloadConfig,
} from './topology/types.js';
export { DEFAULT_READINESS_INTERVAL_MS, prewarmOf, readinessIntervalOf } from './topology/types.js';
export { formatPath } from './topology/format-problems.js';
export { loadTopologyFile, parseTopology } from './topology/parse-topology.js';
export { topologySchema } from './topology/topology-schema.js';
