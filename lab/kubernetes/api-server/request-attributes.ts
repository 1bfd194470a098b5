/** A request as the routes see it, and its RBAC attributes (verb, group, resource, namespace, name). */

/** What RBAC sees of a request; `verb` is `get`, `list`, `watch`, `update`, `patch`, `create` or `delete`. */
export interface Attributes {
  verb: string;
  group: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

export interface Request {
  method: string;
  path: string;
  query: URLSearchParams;
  contentType: string;
  body: unknown;
}

/** Parses `/api/v1/...` and `/apis/<group>/<version>/...` into RBAC request attributes. */
export function resourceAttributes(method: string, segments: string[], watch: boolean): Attributes | null {
  let group: string;
  let rest: string[];
  if (segments[0] === 'api' && segments[1] === 'v1') {
    group = '';
    rest = segments.slice(2);
  } else if (segments[0] === 'apis' && segments.length >= 3) {
    group = segments[1] ?? '';
    rest = segments.slice(3);
  } else {
    return null;
  }
  if (rest.length === 0) return null;
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1] ?? '';
    rest = rest.slice(2);
  }
  const [resource = '', name = '', subresource = '', ...extra] = rest;
  if (extra.length > 0) return null;
  const verbs: Record<string, string> = {
    GET: name ? 'get' : 'list',
    PUT: 'update',
    PATCH: 'patch',
    POST: 'create',
    DELETE: name ? 'delete' : 'deletecollection',
  };
  let verb = verbs[method] ?? method.toLowerCase();
  if (watch && verb === 'list') verb = 'watch';
  return { verb, group, resource, subresource, namespace, name };
}
