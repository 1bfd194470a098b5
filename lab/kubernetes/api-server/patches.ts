/**
 * PATCH bodies as the API server applies them: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and strategic
 * merge patch where it is accepted, with the API server's wording of a failed patch.
 */
import { isDeepStrictEqual } from 'node:util';
import { badRequest, statusError } from './status-errors.js';

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** RFC 6902 JSON patch; throws a message the way the API server words apply errors. */
function jsonPatch(document: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations))
    throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let doc = structuredClone(document);
  const unprocessable = (detail: string) =>
    statusError(
      422,
      'Invalid',
      `the server rejected our request due to an error in our request (${detail})`,
      {
        causes: [{ reason: 'UnexpectedServerResponse', message: detail }],
      },
    );
  const parse = (pointer: unknown): string[] => {
    if (typeof pointer !== 'string' || (pointer !== '' && !pointer.startsWith('/'))) {
      throw unprocessable(`JSON pointer must be empty or start with a "/": ${String(pointer)}`);
    }
    return pointer === ''
      ? []
      : pointer
          .slice(1)
          .split('/')
          .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  };
  const parentOf = (tokens: string[], op: string): { parent: unknown; key: string } => {
    let node: unknown = doc;
    for (const token of tokens.slice(0, -1)) {
      node = Array.isArray(node) ? node[Number(token)] : isObject(node) ? node[token] : undefined;
      if (node === undefined)
        throw unprocessable(`${op} operation does not apply: doc is missing path: /${tokens.join('/')}`);
    }
    return { parent: node, key: tokens[tokens.length - 1] ?? '' };
  };
  const get = (tokens: string[], op: string): unknown => {
    if (tokens.length === 0) return doc;
    const { parent, key } = parentOf(tokens, op);
    const value = Array.isArray(parent) ? parent[Number(key)] : isObject(parent) ? parent[key] : undefined;
    if (value === undefined)
      throw unprocessable(`${op} operation does not apply: doc is missing key: /${tokens.join('/')}`);
    return value;
  };
  const remove = (tokens: string[], op: string): unknown => {
    const value = get(tokens, op);
    const { parent, key } = parentOf(tokens, op);
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else if (isObject(parent)) delete parent[key];
    return value;
  };
  const add = (tokens: string[], value: unknown, op: string, replace: boolean): void => {
    if (tokens.length === 0) {
      doc = structuredClone(value);
      return;
    }
    const { parent, key } = parentOf(tokens, op);
    if (Array.isArray(parent)) {
      const index = key === '-' ? parent.length : Number(key);
      if (!Number.isInteger(index) || index < 0 || index > parent.length)
        throw unprocessable(`${op}: invalid index ${key}`);
      parent.splice(index, replace ? 1 : 0, structuredClone(value));
    } else if (isObject(parent)) {
      if (replace && !(key in parent))
        throw unprocessable(`replace operation does not apply: doc is missing key: /${tokens.join('/')}`);
      parent[key] = structuredClone(value);
    } else {
      throw unprocessable(`${op} operation does not apply: doc is missing path: /${tokens.join('/')}`);
    }
  };
  for (const operation of operations) {
    if (!isObject(operation)) throw badRequest('json: cannot unmarshal patch operation');
    const { op } = operation;
    const path = parse(operation.path);
    switch (op) {
      case 'add':
        add(path, operation.value, 'add', false);
        break;
      case 'replace':
        add(path, operation.value, 'replace', true);
        break;
      case 'remove':
        remove(path, 'remove');
        break;
      case 'test':
        if (!isDeepStrictEqual(get(path, 'test'), operation.value))
          throw unprocessable('testing value /' + path.join('/') + ' failed: test failed');
        break;
      case 'move':
        add(path, remove(parse(operation.from), 'move'), 'move', false);
        break;
      case 'copy':
        add(path, get(parse(operation.from), 'copy'), 'copy', false);
        break;
      default:
        throw unprocessable(`Unexpected kind: ${String(op)}`);
    }
  }
  return doc;
}

const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
} as const;

/** Applies a PATCH body of `contentType`; `strategic` is refused where the API refuses it (custom resources). */
export function applyPatch(
  document: unknown,
  contentType: string,
  body: unknown,
  allowStrategic: boolean,
): unknown {
  const accepted = allowStrategic
    ? [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.strategic]
    : [PATCH_TYPES.json, PATCH_TYPES.merge];
  if (!(accepted as string[]).includes(contentType)) {
    throw statusError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
    );
  }
  if (contentType === PATCH_TYPES.json) return jsonPatch(document, body);
  // A strategic merge patch of the scalar fields served here merges exactly like a JSON merge patch.
  if (!isObject(body)) throw badRequest('json: cannot unmarshal patch into an object');
  return mergePatch(document, body);
}
