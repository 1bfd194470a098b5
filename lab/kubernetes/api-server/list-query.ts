/**
 * List requests as the API server answers them: label and field selectors parsed as it parses them, and a
 * `<Kind>List` carrying the resourceVersion, paged by `limit` and `continue`.
 */
import type { ClusterState } from './cluster-state.js';
import { badRequest } from './status-errors.js';

type Requirement = (labels: Record<string, string>) => boolean;

export function parseLabelSelector(selector: string): Requirement[] {
  const requirements: Requirement[] = [];
  // Split on commas outside parentheses (`env in (a,b)`).
  const parts = selector.match(/(?:[^,(]|\([^)]*\))+/g) ?? [];
  for (const raw of parts) {
    const part = raw.trim();
    if (!part) continue;
    let match: RegExpExecArray | null;
    if ((match = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part))) {
      const [, key = '', op, list = ''] = match;
      const values = list.split(',').map((v) => v.trim());
      requirements.push((labels) =>
        op === 'in' ? values.includes(labels[key] ?? '\0') : !values.includes(labels[key] ?? '\0'),
      );
    } else if ((match = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(part))) {
      const [, key = '', op, value = ''] = match;
      requirements.push((labels) => (op === '!=' ? labels[key] !== value : labels[key] === value));
    } else if ((match = /^!([\w./-]+)$/.exec(part))) {
      const key = match[1] ?? '';
      requirements.push((labels) => !(key in labels));
    } else if ((match = /^([\w./-]+)$/.exec(part))) {
      const key = match[1] ?? '';
      requirements.push((labels) => key in labels);
    } else {
      throw badRequest(`unable to parse requirement: ${part}`);
    }
  }
  return requirements;
}

export function parseFieldSelector(selector: string, supported: string[]): Requirement[] {
  return selector
    .split(',')
    .filter((part) => part.trim())
    .map((part) => {
      const match = /^\s*([\w.]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(part);
      if (!match) throw badRequest(`invalid selector: '${selector}'; can't understand '${part}'`);
      const [, field = '', op, value = ''] = match;
      if (!supported.includes(field)) {
        throw badRequest(`field label not supported: ${field}`);
      }
      return (fields: Record<string, string>) =>
        op === '!=' ? fields[field] !== value : fields[field] === value;
    });
}

/** Pages a list with `limit` and `continue`, as the API does. */
export function pageList(
  state: ClusterState,
  kind: string,
  apiVersion: string,
  items: unknown[],
  query: URLSearchParams,
): unknown {
  const limit = Number(query.get('limit') ?? 0);
  let start = 0;
  const token = query.get('continue');
  if (token) {
    try {
      start = Number((JSON.parse(Buffer.from(token, 'base64url').toString()) as { start: number }).start);
    } catch {
      throw badRequest('continue key is not valid: illegal base64 data');
    }
    if (!Number.isInteger(start) || start < 0) throw badRequest('continue key is not valid');
  }
  const end = limit > 0 ? start + limit : items.length;
  const metadata: Record<string, unknown> = { resourceVersion: String(state.revision) };
  if (end < items.length) {
    metadata.continue = Buffer.from(JSON.stringify({ start: end })).toString('base64url');
    metadata.remainingItemCount = items.length - end;
  }
  return { kind, apiVersion, metadata, items: items.slice(start, end) };
}
