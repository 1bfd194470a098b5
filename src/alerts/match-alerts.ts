/**
 * Which site an alert is about and what Baton does with it: each site's `alerts` rules, tried in order, the first
 * match wins (as Alertmanager routes do). Equality matchers and regex matchers follow Alertmanager's semantics: a
 * missing label is the empty string, and regexes are anchored at both ends.
 */
import type { AlertRule, SiteConfig, Topology } from '../config/topology.js';
import type { WebhookAlert } from './alertmanager-payload.js';

/** A rule ready to test label sets: regexes compiled once per topology. */
export interface CompiledRule {
  rule: AlertRule;
  /** The rule's position in the site's `alerts` list (for logs). */
  index: number;
  matches(labels: Readonly<Record<string, string>>): boolean;
}

/** The alerts of one payload that one site's rules picked, by action. */
export interface SiteAlerts {
  site: SiteConfig;
  /** Alerts matched by a `propose-failover` rule. */
  propose: WebhookAlert[];
  /** The shortest `autoApprove.after` of the rules that matched firing alerts (undefined: no auto-approval). */
  autoApproveAfterMs?: number;
  /** Alerts matched by a `notify` rule. */
  notify: WebhookAlert[];
  /** Alerts matched by a `propose-evacuation` rule (one evacuation of a cluster, however many sites match). */
  evacuate: WebhookAlert[];
}

const compiled = new WeakMap<Topology, Map<string, CompiledRule[]>>();

/** Compiles one rule; `matchRe` values are anchored (`^(?:re)$`) as Alertmanager anchors its regex matchers. */
export function compileRule(rule: AlertRule, index: number): CompiledRule {
  const equal = Object.entries(rule.match);
  const regex = Object.entries(rule.matchRe ?? {}).map(
    ([name, source]) => [name, new RegExp(`^(?:${source})$`)] as const,
  );
  return {
    rule,
    index,
    matches(labels) {
      for (const [name, value] of equal) {
        if ((Object.hasOwn(labels, name) ? labels[name] : '') !== value) return false;
      }
      for (const [name, re] of regex) {
        if (!re.test(Object.hasOwn(labels, name) ? (labels[name] ?? '') : '')) return false;
      }
      return true;
    },
  };
}

/** Each site's compiled rules, compiled once per topology object. */
export function compiledRules(topology: Topology): Map<string, CompiledRule[]> {
  let rules = compiled.get(topology);
  if (!rules) {
    rules = new Map(topology.sites.map((site) => [site.name, site.alerts.map(compileRule)]));
    compiled.set(topology, rules);
  }
  return rules;
}

/** The first of `rules` that matches `labels`, if any. */
export function firstMatch(
  rules: readonly CompiledRule[],
  labels: Readonly<Record<string, string>>,
): CompiledRule | undefined {
  for (const rule of rules) if (rule.matches(labels)) return rule;
  return undefined;
}

/**
 * Sorts a payload's alerts by site and action. An alert may concern several sites (a rule per site matching it);
 * an alert no rule matches is only counted. Sites without a matching alert are not returned.
 */
export function routeAlerts(
  topology: Topology,
  alerts: readonly WebhookAlert[],
): { sites: SiteAlerts[]; unmatched: number } {
  const rules = compiledRules(topology);
  const out: SiteAlerts[] = [];
  const matched = new Uint8Array(alerts.length);
  for (const site of topology.sites) {
    const siteRules = rules.get(site.name) ?? [];
    if (siteRules.length === 0) continue;
    const picked: SiteAlerts = { site, propose: [], notify: [], evacuate: [] };
    for (let i = 0; i < alerts.length; i += 1) {
      const alert = alerts[i] as WebhookAlert;
      const match = firstMatch(siteRules, alert.labels);
      if (!match) continue;
      matched[i] = 1;
      if (match.rule.action === 'notify') {
        picked.notify.push(alert);
        continue;
      }
      if (match.rule.action === 'propose-evacuation') {
        picked.evacuate.push(alert);
        continue;
      }
      picked.propose.push(alert);
      const after = match.rule.autoApprove?.afterMs;
      if (after !== undefined && alert.status === 'firing') {
        picked.autoApproveAfterMs = Math.min(picked.autoApproveAfterMs ?? after, after);
      }
    }
    if (picked.propose.length > 0 || picked.notify.length > 0 || picked.evacuate.length > 0) out.push(picked);
  }
  let unmatched = 0;
  for (const flag of matched) unmatched += 1 - flag;
  return { sites: out, unmatched };
}
