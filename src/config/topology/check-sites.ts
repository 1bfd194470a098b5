/**
 * Cross-field checks of `sites`. They read the raw YAML value defensively so that they run (and report) even when
 * some unrelated field of the same site is invalid: an operator should see every problem in one pass.
 */
import { createMemberSchema, DATABASE_FIELDS } from './database-schema.js';
import { DNS_LABEL } from './field-schemas.js';
import { describeIssue, formatIssue, formatPath } from './format-problems.js';
import type { Env } from './types.js';

type PathKey = string | number;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The problems of `sites` that depend on each site's clusters, plus unique site names, in the order of the file. */
export function checkSites(raw: unknown, env: Env, checkEnv: boolean): string[] {
  if (!isRecord(raw) || !Array.isArray(raw.sites)) return [];
  const problems: string[] = [];
  const report = (path: PathKey[], message: string) => problems.push(`${formatPath(path)}: ${message}`);
  const memberSchema = createMemberSchema(env, checkEnv);
  const names = new Map<string, number>();

  raw.sites.forEach((site: unknown, index) => {
    if (!isRecord(site)) return;
    const at = (...rest: PathKey[]): PathKey[] => ['sites', index, ...rest];

    if (typeof site.name === 'string') {
      const first = names.get(site.name);
      if (first === undefined) names.set(site.name, index);
      else report(at('name'), `${JSON.stringify(site.name)} is already the name of sites[${first}]`);
    }

    const allIds = isRecord(site.clusters) ? Object.keys(site.clusters) : undefined;
    if (allIds !== undefined) {
      for (const id of allIds) {
        if (!DNS_LABEL.test(id))
          report(at('clusters', id), 'cluster id must be a lowercase DNS label, e.g. east');
      }
      if (allIds.length !== 2) {
        const found = allIds.length === 0 ? 'none' : `${allIds.length} (${allIds.join(', ')})`;
        report(
          at('clusters'),
          `a site needs exactly two clusters (one serving, one standby), found ${found}`,
        );
      }
      if (typeof site.homeCluster === 'string' && !allIds.includes(site.homeCluster)) {
        report(
          at('homeCluster'),
          `${JSON.stringify(site.homeCluster)} is not one of the site's clusters (${allIds.join(', ')})`,
        );
      }
    }
    // Per-cluster maps are only compared against a valid pair, or a wrong cluster count would echo everywhere.
    const ids = allIds?.length === 2 ? allIds : undefined;

    if (isRecord(site.dns)) {
      const dns = site.dns;
      const strategy = dns.strategy;
      if (isRecord(dns.targets)) compareKeys(dns.targets, at('dns', 'targets'), ids, report);
      const perCluster = [
        { field: 'setIdentifiers', requiredBy: 'failover-records', what: 'a Route 53 set identifier' },
        { field: 'healthCheckIds', requiredBy: 'health-check-inversion', what: 'a Route 53 health check id' },
      ] as const;
      for (const { field, requiredBy, what } of perCluster) {
        const value = dns[field];
        if (value === undefined) {
          if (strategy === requiredBy) {
            report(at('dns', field), `required when strategy is ${requiredBy} (${what} per cluster)`);
          }
        } else if (strategy === 'simple-record') {
          report(at('dns', field), 'not used by strategy simple-record; remove it or change the strategy');
        } else if (isRecord(value)) {
          compareKeys(value, at('dns', field), ids, report);
        }
      }
    }

    if (Array.isArray(site.workloads)) {
      site.workloads.forEach((workload: unknown, w) => {
        // A cluster that Argo CD does not manage has no entry; a key that is no cluster is a typo.
        if (!isRecord(workload) || !isRecord(workload.argocd) || ids === undefined) return;
        for (const key of Object.keys(workload.argocd)) {
          if (!ids.includes(key))
            report(
              at('workloads', w, 'argocd', key),
              `${JSON.stringify(key)} is not one of the site's clusters (${ids.join(', ')})`,
            );
        }
      });
    }

    if (isRecord(site.database)) {
      const database = site.database;
      const memberKeys = Object.keys(database).filter(
        (key) => !(DATABASE_FIELDS as readonly string[]).includes(key),
      );
      const urlEnvOwners = new Map<string, string>();
      for (const key of memberKeys) {
        if (allIds !== undefined && !allIds.includes(key)) {
          report(
            at('database', key),
            `unknown field (expected ${DATABASE_FIELDS.join(', ')} or one of the site's clusters: ${allIds.join(', ')})`,
          );
          continue;
        }
        const member = database[key];
        const result = memberSchema.safeParse(member, { error: describeIssue, reportInput: true });
        if (!result.success) {
          for (const issue of result.error.issues) {
            for (const problem of formatIssue({ ...issue, path: [...at('database', key), ...issue.path] })) {
              problems.push(problem);
            }
          }
        }
        if (!isRecord(member)) continue;
        if (database.promotion === 'cloudnative-pg' && member.cnpgCluster === undefined) {
          report(at('database', key, 'cnpgCluster'), 'required when promotion is cloudnative-pg');
        }
        if (typeof member.urlEnv === 'string') {
          const owner = urlEnvOwners.get(member.urlEnv);
          if (owner === undefined) urlEnvOwners.set(member.urlEnv, key);
          else {
            report(
              at('database', key, 'urlEnv'),
              `${member.urlEnv} is also the urlEnv of ${owner}; each cluster needs its own database`,
            );
          }
        }
      }
      for (const id of ids ?? []) {
        if (!memberKeys.includes(id)) {
          report(at('database', id), `required (a database member per cluster: ${ids?.join(', ')})`);
        }
      }
    }
  });
  return problems;
}

function compareKeys(
  map: Record<string, unknown>,
  path: PathKey[],
  ids: string[] | undefined,
  report: (path: PathKey[], message: string) => void,
): void {
  if (ids === undefined) return;
  for (const id of ids) {
    if (!(id in map)) report([...path, id], `required (one entry per cluster: ${ids.join(', ')})`);
  }
  for (const key of Object.keys(map)) {
    if (!ids.includes(key)) {
      report([...path, key], `${JSON.stringify(key)} is not one of the site's clusters (${ids.join(', ')})`);
    }
  }
}
