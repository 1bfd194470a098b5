/**
 * Every code a BatonError can carry, each with a hint: what an operator does next, in one sentence. The codes are a
 * closed set (bolt-js's `ErrorCode`), so a comparison or switch on `error.code` is checked by the compiler, and a new
 * code needs its hint before anything can throw it.
 */

export interface ErrorCodeInfo {
  /** What to do next, in one short sentence ending with a period; not a repeat of the message. */
  readonly hint: string;
  /**
   * Every message thrown with this code already says what to do, so a person is shown the message alone: the hint
   * would repeat it. Without this, the hint is shown after the message.
   */
  readonly inMessage?: true;
}

export const ERROR_CODES = {
  // Configuration: the environment, the topology file, the kubeconfig -----------------------------------------------
  'config-invalid': {
    hint: 'Fix the setting the message names; `baton check-config` checks the topology file.',
  },
  'topology-invalid': { hint: 'Give the site its two clusters, then run `baton check-config`.' },
  'site-required': { hint: 'Name one of the sites the message lists.', inMessage: true },
  'unknown-site': { hint: 'Use a site from the topology file; `baton status` lists them.', inMessage: true },
  'unknown-cluster': { hint: "Make the topology's cluster names match the site and its DNS targets." },
  'unknown-kube-context': {
    hint: "Point the cluster's kubeContext at a context Baton's kubeconfig defines (with its cluster).",
  },
  'kubeconfig-insecure': {
    hint: 'Give that cluster its certificate-authority-data, or set BATON_ALLOW_INSECURE_KUBE=1 for a test cluster.',
    inMessage: true,
  },
  'database-not-configured': { hint: "Add the cluster's database member (urlEnv) to the site's topology." },
  'no-database': { hint: 'Add a database member for that cluster to the site in the topology file.' },
  'cnpg-promoter-missing': {
    hint: 'Give Baton Kubernetes access to the CloudNativePG Cluster, or promote by hand.',
    inMessage: true,
  },

  // Runs: proposing, deciding and running them ----------------------------------------------------------------------
  'run-not-found': { hint: 'Check the run id; `/failover history` lists recent runs.', inMessage: true },
  'report-not-ready': {
    hint: 'A report is written when an approved run ends; `baton status` shows where the run stands now.',
    inMessage: true,
  },
  'drill-not-found': { hint: 'Check the drill id; `/failover drill list` lists them.', inMessage: true },
  'drill-blocked': {
    hint: 'Pick a time outside drills.blockedWindows with --at, or change the windows in the topology.',
    inMessage: true,
  },
  'drill-invalid': { hint: 'Write it as `/failover drill [site] [--at 14:00] [--every 7d] [--hold 30m]`.' },
  'evacuation-not-found': {
    hint: 'Use the newest evacuation message, or propose it again with /failover --cluster.',
    inMessage: true,
  },
  'nothing-to-evacuate': {
    hint: 'Check /failover status: Baton moves only the sites its record says that cluster serves.',
    inMessage: true,
  },
  'evacuation-conflict': { hint: 'Click again; someone else decided at the same moment.' },
  'run-missing': { hint: 'Check that Redis keeps its data (noeviction, no flush), then propose again.' },
  'run-conflict': { hint: 'Someone changed the run at the same moment; do it again.', inMessage: true },
  'open-run': { hint: "Let the site's open run finish, or cancel it, first.", inMessage: true },
  'site-moved': {
    hint: 'The site moved after the evacuation was proposed: check /failover status, and propose it alone if it must move.',
    inMessage: true,
  },
  'not-proposed': {
    hint: 'The run was decided already; `/failover status` or `baton status` shows its state.',
    inMessage: true,
  },
  expired: { hint: 'Propose the run again; it needs its approvals before it expires.', inMessage: true },
  'not-paused': {
    hint: 'This acts only on a paused run; `/failover status` or `baton status` shows its state.',
  },
  'not-cancellable': { hint: 'Abort a run that has started; cancel one that has not.', inMessage: true },
  'not-allowed': { hint: "Ask the run's requester or an approver to cancel it.", inMessage: true },
  'stale-message': { hint: "Use the newest message in the run's thread.", inMessage: true },
  'illegal-transition': { hint: 'The run moved on: act on its newest message (`/failover status`).' },
  'past-point-of-no-return': {
    hint: 'Retry the failed step to finish the run, or Skip it (break-glass).',
    inMessage: true,
  },
  'not-due': { hint: 'Nothing to do: the proposal expires later, when its time is up.' },
  'already-home': {
    hint: 'Nothing to do; to move away from the home cluster, propose a failover.',
    inMessage: true,
  },
  'force-not-allowed': { hint: 'Propose the failback without --force.', inMessage: true },
  cooldown: {
    hint: 'Wait for the cooldown to end, fail back, or have approvers override it with --force (break-glass).',
    inMessage: true,
  },
  'fence-debt-open': {
    hint: 'Wait for Baton to fence the old side, or rebuild it as a standby.',
    inMessage: true,
  },
  'lease-lost': { hint: 'Nothing to do: another worker carries on with the run, and its thread shows how.' },
  'step-not-in-plan': { hint: "Open the step from the run's newest message." },
  /** Recorded for a step that threw something other than a BatonError. */
  'step-error': { hint: "Read the message and the worker's log, fix the cause, then Retry the step." },
  'step-timeout': { hint: 'Read what the step last saw (its thread reply), fix that, then Retry.' },
  'wait-timeout': { hint: 'Fix what the wait last saw (the end of the message), then Retry.' },
  'preflight-failed': { hint: 'Fix the failed checks, then Retry, or Abort the run.', inMessage: true },
  'preflight-timeout': { hint: 'Check that Kubernetes, Route 53 and the databases answer, then plan again.' },
  'lag-too-high': {
    hint: 'Retry once the standby has caught up, or Skip the step (break-glass).',
    inMessage: true,
  },
  'workload-missing': {
    hint: 'Create the workload there (same images as the other side), then Retry.',
    inMessage: true,
  },
  'source-not-fenced': { hint: 'Retry the fence-source step, then this one.', inMessage: true },
  /** The lab's simulated world fails a call on purpose (drills and tests). */
  'simulated-failure': { hint: 'Nothing is wrong outside Baton: a drill or a test injected this failure.' },

  // Approvals and authorization -------------------------------------------------------------------------------------
  'not-approver': { hint: 'Ask one of the listed approvers to do it.', inMessage: true },
  'not-requester': { hint: 'Ask a listed requester or approver to propose the run.', inMessage: true },
  'self-approval': { hint: 'Another listed approver must approve the run.', inMessage: true },
  'already-approved': { hint: 'Nothing more to do on your side: another listed approver must add theirs.' },
  'same-os-account': {
    hint: 'Another approver must act from their own OS account or in Slack.',
    inMessage: true,
  },
  'already-voted': { hint: 'Another listed approver must ask too.', inMessage: true },
  'no-split-brain-risk': { hint: 'Retry, Skip or Abort the run instead.', inMessage: true },
  'directory-unavailable': {
    hint: "Try again in a minute; if it lasts, check the app's usergroups:read scope.",
    inMessage: true,
  },
  'invalid-action-value': { hint: "Use the buttons of the run's newest message.", inMessage: true },
  'button-value-too-long': { hint: 'A Baton bug: report it with the run id.' },

  // Kubernetes and CloudNativePG ------------------------------------------------------------------------------------
  'cluster-unauthorized': {
    hint: "Renew that cluster's credentials in Baton's kubeconfig.",
    inMessage: true,
  },
  'cluster-forbidden': {
    hint: "Grant Baton's Role or ClusterRole the verb and resource named, then Retry.",
    inMessage: true,
  },
  'not-found': {
    hint: "Check the object's name in the topology and that it is deployed there.",
    inMessage: true,
  },
  'cluster-api-missing': {
    hint: 'Install that API on the cluster (for CloudNativePG: the operator and its CRDs).',
    inMessage: true,
  },
  'cluster-conflict': {
    hint: 'Retry; if it repeats, find what keeps rewriting the object.',
    inMessage: true,
  },
  'cluster-throttled': { hint: 'Retry in a minute; check API priority and fairness.', inMessage: true },
  'cluster-api-error': { hint: 'Retry; if it repeats, check the API server and etcd.', inMessage: true },
  'cluster-invalid': {
    hint: "Fix what the API server's reason names (often an admission policy), then Retry.",
  },
  'cluster-request-rejected': { hint: "Fix what the API server's reason names, then Retry." },
  'cluster-tls': {
    hint: "Fix that cluster's certificate-authority-data in the kubeconfig.",
    inMessage: true,
  },
  'cluster-unreachable': {
    hint: 'Check that the API server is up and reachable from Baton; Baton retries.',
    inMessage: true,
  },
  'argocd-application-missing': {
    hint: "Name the Application that syncs this workload on that cluster in the workload's argocd, or remove it.",
    inMessage: true,
  },
  'argocd-application-set': {
    hint: 'Let the ApplicationSet ignore /spec/syncPolicy/automated, or keep spec.replicas out of Git instead.',
    inMessage: true,
  },
  'cluster-config': { hint: "Fix that cluster's entry in Baton's kubeconfig.", inMessage: true },
  'not-ready': { hint: 'Look at the pods or Cluster named; Retry once they are ready.', inMessage: true },
  'cnpg-cluster-missing': {
    hint: "Check the member's cnpgCluster in the topology and that CloudNativePG runs there.",
    inMessage: true,
  },
  'cnpg-patch-rejected': { hint: "Fix the Cluster's replica settings, then Retry.", inMessage: true },
  'cnpg-not-primary': { hint: 'Find which Cluster is primary (kubectl cnpg status).', inMessage: true },
  'cnpg-not-distributed': { hint: 'Configure a distributed topology, or fail over.', inMessage: true },
  'cnpg-demotion-failed': {
    hint: "Look at the Cluster's status and the operator's log; someone else may be switching it.",
    inMessage: true,
  },
  'cnpg-promotion-failed': {
    hint: "Look at the Cluster's status and the operator's log first.",
    inMessage: true,
  },
  'cnpg-token-invalid': {
    hint: 'Do not promote with it; copy the token again from the demoted Cluster.',
    inMessage: true,
  },
  'cnpg-token-conflict': { hint: "Compare both Clusters' status before going on.", inMessage: true },
  'cnpg-token-rejected': {
    hint: 'Compare with the demoted Cluster, or fail over and rebuild the old primary.',
    inMessage: true,
  },
  'cnpg-apply-delay': {
    hint: 'Remove minApplyDelay, let the replica catch up, then Retry.',
    inMessage: true,
  },

  // Route 53 and DNS ------------------------------------------------------------------------------------------------
  'route53-no-credentials': {
    hint: 'Give Baton AWS credentials the SDK finds (environment, profile, web identity, instance role).',
    inMessage: true,
  },
  'route53-credentials-rejected': {
    hint: 'Check the AWS access key, secret and session token Baton runs with.',
    inMessage: true,
  },
  'route53-access-denied': { hint: "Grant Baton's IAM role the route53 action named.", inMessage: true },
  'route53-no-such-hosted-zone': { hint: 'Fix dns.hostedZoneId in the topology file.', inMessage: true },
  'route53-invalid-change-batch': {
    hint: "Compare the hosted zone's records with the site's dns settings.",
    inMessage: true,
  },
  'route53-invalid-input': { hint: "Compare the site's dns settings with the hosted zone." },
  'route53-no-such-change': { hint: 'Check the record itself with `/failover status`.', inMessage: true },
  'route53-no-such-health-check': { hint: 'Fix dns.healthCheckIds in the topology file.', inMessage: true },
  'route53-health-check-conflict': {
    hint: 'Nothing to do unless it repeats: someone else edits the health check, and a retry reads it again.',
    inMessage: true,
  },
  'route53-unavailable': {
    hint: 'Retry the step; if it repeats, check the AWS Health Dashboard.',
    inMessage: true,
  },
  'route53-error': { hint: "Retry the step; if it repeats, check Route 53 and Baton's IAM role." },
  'dns-change-timeout': { hint: 'Check the AWS Health Dashboard, then Retry.', inMessage: true },
  'dns-record-missing': {
    hint: 'Create the PRIMARY/SECONDARY pair, or fix dns.setIdentifiers.',
    inMessage: true,
  },
  'dns-misconfigured': { hint: "Add the missing health check id to the site's dns.healthCheckIds." },
  'dns-unknown-cluster': { hint: "Give that cluster a DNS target in the site's dns settings." },
  'dns-no-resolvers': { hint: 'Set dns.resolvers for the site in the topology file.', inMessage: true },
  'dns-resolver-unknown': {
    hint: "Fix dns.resolvers, or let this host resolve the hosted zone's name servers.",
    inMessage: true,
  },
  'dns-resolve-failed': {
    hint: 'Check that the servers answer Baton, or set dns.resolvers.',
    inMessage: true,
  },

  // PostgreSQL ------------------------------------------------------------------------------------------------------
  'database-unreachable': {
    hint: 'Check that the database is up and its URL points at it.',
    inMessage: true,
  },
  'database-unavailable': { hint: 'Wait until the database is back up (its log says when), then Retry.' },
  'database-auth-failed': { hint: "Fix the user and password in the database's URL.", inMessage: true },
  'database-refused': {
    hint: 'Check pg_hba.conf, the role and max_connections, then Retry.',
    inMessage: true,
  },
  'database-permission-denied': {
    hint: "Grant Baton's database role what the message lists, then Retry.",
    inMessage: true,
  },
  'database-timeout': {
    hint: 'Retry; if it repeats, look for locks or load on the server.',
    inMessage: true,
  },
  'database-error': { hint: "Look up the SQLSTATE and the server's log for the cause; fix it, then Retry." },
  'database-in-recovery': { hint: "Read the database's log for why it is still in recovery, then Retry." },
  'database-read-only': {
    hint: 'If this database should serve, clear default_transaction_read_only and reload.',
    inMessage: true,
  },
  'database-commits-blocked': {
    hint: 'Clear synchronous_standby_names, or bring a synchronous standby up.',
    inMessage: true,
  },
  'replay-timeout': {
    hint: 'Check that the standby streams WAL (pg_stat_wal_receiver), then Retry.',
    inMessage: true,
  },
  'lsn-invalid': { hint: 'Check the WAL positions the database reports; report this as a Baton bug.' },
  'not-a-standby': {
    hint: 'Move no traffic onto it: it may lack writes, or hold writes the primary never had.',
  },
  'primary-not-primary': { hint: 'Find the current primary (`/failover status`) first.', inMessage: true },
  'standby-diverged': {
    hint: 'Rebuild the standby from the primary (pg_rewind or a base backup) before moving traffic onto it.',
    inMessage: true,
  },
  'standby-not-streaming': {
    hint: "Check the standby's primary_conninfo and log; rebuild it if it forked off.",
    inMessage: true,
  },
  'standby-not-listed': { hint: "Point the standby's primary_conninfo at the primary.", inMessage: true },
  'fence-overridden': { hint: 'Remove the setting that overrides the fence, then Retry.', inMessage: true },
  'fence-incomplete': { hint: 'End that session as a superuser, then Retry.', inMessage: true },
  'fence-not-effective': {
    hint: 'Remove the setting that overrides default_transaction_read_only, then Retry.',
    inMessage: true,
  },
  'unfence-not-effective': {
    hint: 'Remove the setting that overrides default_transaction_read_only, then Retry.',
    inMessage: true,
  },
  // The split-brain guard: the old primary may still take writes.
  'source-refuses-baton': {
    hint: "Fence the old primary by hand (or fix Baton's access) and Retry, or accept the split-brain risk.",
    inMessage: true,
  },
  'source-still-writable': {
    hint: 'Fix what the fence reports and Retry, or accept the split-brain risk.',
    inMessage: true,
  },
  'fence-breached': {
    hint: 'Stop the client writing to the old primary and Retry, or accept the split-brain risk.',
    inMessage: true,
  },

  // Slack -----------------------------------------------------------------------------------------------------------
  'slack-auth': { hint: 'Check SLACK_BOT_TOKEN and that the Baton app is still installed.', inMessage: true },
  'slack-missing-scope': {
    hint: 'Add the scope to the app manifest, then reinstall the app.',
    inMessage: true,
  },
  'slack-channel-not-found': {
    hint: 'Check slack.incidentChannel; a private channel must invite the bot.',
    inMessage: true,
  },
  'slack-not-in-channel': { hint: 'Invite the bot to the channel with /invite @Baton.', inMessage: true },
  'slack-channel-archived': { hint: 'Point slack.incidentChannel at a live channel.', inMessage: true },
  'slack-message-not-found': {
    hint: 'Nothing to fix if it was deleted on purpose; `/failover status` shows the run.',
  },
  'slack-trigger-expired': { hint: 'Click again; if it repeats, report a Baton bug.', inMessage: true },
  'slack-rate-limited': { hint: 'Nothing to do: Baton waits as long as Slack asked, then sends again.' },
  'slack-unavailable': { hint: "Nothing to do unless it lasts; see Slack's status page.", inMessage: true },
  'slack-unreachable': { hint: 'Check outbound HTTPS from Baton to Slack; Baton retries.', inMessage: true },
  'slack-rejected': { hint: 'Look up the Slack error named; often a missing scope or a channel setting.' },
  'slack-response-url-refused': {
    hint: 'Run the command again for a fresh reply; `/failover status` shows the run.',
  },
  'slack-error': { hint: "Baton retries; if it keeps failing, read Baton's log and Slack's status page." },
  'slack-queue-unavailable': { hint: 'Check Redis; Alertmanager resends the alert.', inMessage: true },

  // Redis -----------------------------------------------------------------------------------------------------------
  'redis-unreachable': { hint: 'Check REDIS_URL and that Redis is up and reachable.', inMessage: true },
  'redis-timeout': { hint: "Check Redis's health (latency, memory, a failover under way), then try again." },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * A union of codes checked against ErrorCode: `ErrorCodeSubset<'expired' | 'not-approver'>` does not compile when one
 * of them is not a code, so a narrow code type (an outcome's, a verdict's) can be thrown as a BatonError as it is.
 */
export type ErrorCodeSubset<T extends ErrorCode> = T;

/** Whether a stored string (a step record's `errorCode`, written by any version of Baton) is a code of this one. */
export const isErrorCode = (code: string | undefined): code is ErrorCode =>
  code !== undefined && Object.hasOwn(ERROR_CODES, code);

/** What an operator does next about `code`. */
export function errorHint(code: ErrorCode): string {
  return ERROR_CODES[code].hint;
}

/** Whether every message thrown with `code` already says what to do (then the hint is not shown after it). */
export function messageSaysWhatToDo(code: ErrorCode): boolean {
  const info: ErrorCodeInfo = ERROR_CODES[code];
  return info.inMessage === true;
}
