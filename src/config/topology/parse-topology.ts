/** Parsing a topology file: YAML syntax, the schema, the cross-field checks and normalization, in that order. */
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { checkSites } from './check-sites.js';
import { describeIssue, formatIssue } from './format-problems.js';
import { normalizeTopology } from './normalize-topology.js';
import { topologySchema } from './topology-schema.js';
import type { Env, ParseTopologyOptions, ParseTopologyResult } from './types.js';

/**
 * Parses and validates topology YAML. Never throws: a bad file yields every problem found, each as
 * `<path>: <message>` (e.g. `sites[0].dns.hostedZoneId: required`), in the order of the file.
 */
export function parseTopology(
  yamlText: string,
  env: Env,
  options: ParseTopologyOptions = {},
): ParseTopologyResult {
  const checkEnv = options.checkEnv ?? true;
  const doc = parseDocument(yamlText, { merge: true, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((error) => formatYamlError(error.message, error.linePos?.[0])),
    };
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    return { ok: false, problems: [`(root): ${error instanceof Error ? error.message : String(error)}`] };
  }
  if (raw === null || raw === undefined) {
    return { ok: false, problems: ['(root): the file is empty; it needs slack, approvals and sites'] };
  }

  const parsed = topologySchema.safeParse(raw, { error: describeIssue, reportInput: true });
  const problems = parsed.success ? [] : parsed.error.issues.flatMap(formatIssue);
  problems.push(...checkSites(raw, env, checkEnv));
  const unique = [...new Set(problems)];
  if (!parsed.success || unique.length > 0) return { ok: false, problems: unique };
  return { ok: true, topology: normalizeTopology(parsed.data) };
}

/**
 * Reads and parses a topology file. A file that cannot be read is reported as a problem (`<path>: file not found`),
 * like any other, so callers have one failure path.
 */
export async function loadTopologyFile(
  path: string,
  env: Env,
  options: ParseTopologyOptions = {},
): Promise<ParseTopologyResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'file not found (pass the path, or set BATON_CONFIG)'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory, not a file'
            : `cannot read the file (${error instanceof Error ? error.message : String(error)})`;
    return { ok: false, problems: [`${path}: ${reason}`] };
  }
  return parseTopology(text, env, options);
}

function formatYamlError(message: string, at: { line: number; col: number } | undefined): string {
  // prettyErrors appends " at line L, column C:" and a code frame; keep the first line, position in front.
  const first = (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
  return at
    ? `line ${at.line}, column ${at.col}: YAML syntax error: ${first}`
    : `(root): YAML syntax error: ${first}`;
}
