/**
 * One source of truth's answer: what it said, or why it could not be read. Status, preflight and readiness say
 * which source failed and why, instead of an "unknown" nobody can act on.
 */
export type Reading<T> = { ok: true; value: T } | { ok: false; why: string };

export const read = <T>(value: T): Reading<T> => ({ ok: true, value });
export const unreadable = <T = never>(why: string): Reading<T> => ({ ok: false, why });
