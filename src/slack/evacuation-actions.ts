/**
 * The value of an evacuation's buttons: which evacuation, and for a site's detail button which site. Untrusted input
 * (anyone can craft a payload), so decoding validates it as action-ids.ts does for runs.
 */
import { BatonError } from '../errors.js';

export interface EvacuationActionValue {
  evacuationId: string;
  site?: string;
}

const ID = /^e[1-9][0-9]{0,15}$/;
const SITE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export const encodeEvacuationValue = (value: EvacuationActionValue): string =>
  JSON.stringify({ evacuationId: value.evacuationId, ...(value.site && { site: value.site }) });

export function decodeEvacuationValue(raw: string): EvacuationActionValue {
  const invalid = (why: string) =>
    new BatonError(
      'invalid-action-value',
      `This button's data is not Baton's (${why}); use the newest message`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw invalid('not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid('not an object');
  const { evacuationId, site, ...rest } = parsed as Record<string, unknown>;
  if (Object.keys(rest).length) throw invalid(`unknown field ${Object.keys(rest).join(', ')}`);
  if (typeof evacuationId !== 'string' || !ID.test(evacuationId))
    throw invalid('evacuation id is not like e3');
  if (site !== undefined && (typeof site !== 'string' || !SITE.test(site))) throw invalid('not a site name');
  return { evacuationId, ...(typeof site === 'string' && { site }) };
}
