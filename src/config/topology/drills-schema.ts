/** The schema of `drills`: when game days may not start, and which alerts abort one. */
import { z } from 'zod';
import { describeError } from '../../errors.js';
import { parseBlockedWindow } from '../../core/policy/blocked-windows.js';

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const blockedWindow = z.string().superRefine((text, ctx) => {
  try {
    parseBlockedWindow(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: describeError(error) });
  }
});

/** Labels an alert must carry, all equal, e.g. `{ alertname: HighErrorRate }`. */
const alertMatch = z
  .record(
    z.string().regex(LABEL_NAME, 'must be a Prometheus label name'),
    z.preprocess((v) => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : v), z.string()),
  )
  .refine((match) => Object.keys(match).length > 0, 'needs at least one label');

export const drillsSchema = z.strictObject({
  /** UTC windows in which no game day starts, e.g. `Fri 00:00-24:00` or `2026-12-21..2027-01-04`. */
  blockedWindows: z.array(blockedWindow).default([]),
  /** A firing alert that matches one of these aborts a game day before the point of no return. */
  abortOn: z.array(alertMatch).default([]),
});
