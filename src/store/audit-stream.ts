/**
 * The audit stream's entries: one per event, written by the run store and the fence debt store inside their own
 * scripts and transactions (so an entry lands with the change it records, or not at all), and read back typed.
 */
import type { Actor } from '../core/model.js';
import type { AuditEvent, RunEvent, RunEventType } from '../core/runs/run-event.js';
import { describeEvent } from '../core/runs/run-event.js';

/** The stream keeps about this many entries (XADD MAXLEN ~). */
export const AUDIT_MAXLEN = '100000';

export interface AuditRecord {
  id: string;
  at: number;
  /** The event's type. */
  action: RunEventType;
  actor: Actor;
  site: string;
  runId: string;
  /** The one line for people (describeEvent). */
  detail?: string;
  /** The event itself, with its typed payload. */
  event: RunEvent;
}

/** What the entry is about: a run (with its state after the change) or a site's fence debt. */
export interface AuditSubject {
  site: string;
  runId: string;
  state?: string;
}

/** The XADD field list of one entry. */
export function auditFields(subject: AuditSubject, audit: AuditEvent, at: number): string[] {
  const fields = ['at', String(at), 'action', audit.event.type, 'actor', JSON.stringify(audit.actor)];
  fields.push('site', subject.site, 'runId', subject.runId);
  if (subject.state !== undefined) fields.push('state', subject.state);
  const detail = describeEvent(audit.event);
  if (detail) fields.push('detail', detail);
  fields.push('event', JSON.stringify(audit.event));
  return fields;
}

/** One XRANGE entry back as a record. */
export function parseAuditEntry([id, fields]: [string, string[]]): AuditRecord {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i] as string] = fields[i + 1] as string;
  const event = JSON.parse(f.event ?? '{}') as RunEvent;
  return {
    id,
    at: Number(f.at),
    action: event.type,
    actor: JSON.parse(f.actor ?? '{}') as Actor,
    site: f.site ?? '',
    runId: f.runId ?? '',
    ...(f.detail !== undefined && { detail: f.detail }),
    event,
  };
}
