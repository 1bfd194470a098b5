/**
 * The order ListResourceRecordSets returns a zone's record sets in, which reading several sites' records in one
 * pass depends on. Route 53's API reference (ListResourceRecordSets): "sorts results first by DNS name with the
 * labels reversed, for example: com.example.www." (the trailing dot included, which matters for characters before
 * `.`), "When multiple records have the same DNS name, ListResourceRecordSets sorts results by the record type", and
 * then by set identifier. Names compare as Route 53 stores them: lower case, with `\ddd` escapes.
 */
import type { RRType } from '@aws-sdk/client-route-53';
import { normalizeDnsName } from '../resolve-dns.js';

/** A record set's name and type: what a site's records share. */
export interface RecordKey {
  /** As `normalizeDnsName` gives it: lower case, unescaped, no trailing dot. */
  name: string;
  type: RRType | string;
}

const sortName = (name: string): string => `${name.split('.').reverse().join('.')}.`;
const codeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Negative when `a`'s record sets come before `b`'s in a listing, 0 for the same name and type. */
export function compareKeys(a: RecordKey, b: RecordKey): number {
  return codeUnits(sortName(a.name), sortName(b.name)) || codeUnits(a.type, b.type);
}

/** The key of a record set as the API returns it (`Name` escaped, with its trailing dot). */
export function keyOf(record: { Name?: string | undefined; Type?: string | undefined }): RecordKey {
  return { name: normalizeDnsName(record.Name ?? ''), type: record.Type ?? '' };
}
