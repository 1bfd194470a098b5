/**
 * What a failed Kubernetes request means: whether trying again can help (429, 5xx, resets, timeouts; 409 for writes),
 * and the BatonError it becomes, whose message says what to do next (renew the token, or check the identity an exec
 * plugin signs in as; grant the RBAC verb, install the CRDs, fix the CA…).
 */
import { basename } from 'node:path';
import { ApiException } from '@kubernetes/client-node';
import { BatonError } from '../../errors.js';
import { CNPG_CLUSTERS } from './cnpg-status.js';
import { formatMs } from './format-ms.js';
import type { Target } from './kube-clients.js';
import { describeTarget } from './kube-clients.js';

/** What a request does, for RBAC and not-found messages. */
export interface Operation {
  verb: 'get' | 'list' | 'update' | 'patch' | 'create';
  group: string;
  resource: string;
  /** Human name of the object, e.g. `Deployment default/web`. */
  object: string;
  namespace?: string;
  name?: string;
  write: boolean;
}

/** A failed attempt, classified before it becomes a BatonError. */
export interface Failure {
  error: unknown;
  retriable: boolean;
  /** From a 429/503 Retry-After header. */
  retryAfterMs?: number;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);
const TLS_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Whether a failed attempt is worth another: throttling, 5xx, network faults and timeouts; conflicts if asked. */
export function classifyFailure(error: unknown, retryConflicts: boolean): Failure {
  if (error instanceof ApiException) {
    const code = error.code;
    const retryAfter = Number(error.headers?.['retry-after']);
    const retryAfterMs = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined;
    return {
      error,
      retriable: code === 429 || code >= 500 || (code === 409 && retryConflicts),
      ...(retryAfterMs !== undefined && { retryAfterMs }),
    };
  }
  const code = errorCode(error);
  if (code !== undefined && TLS_CODES.has(code)) return { error, retriable: false };
  return { error, retriable: isTimeout(error) || (code !== undefined && NETWORK_CODES.has(code)) };
}

/**
 * The BatonError for the last failure of `operation` on `target` after `attempts` tries. `requestTimeoutMs` is the
 * per-request timeout, named when the API did not answer in time.
 */
export function translateFailure(
  target: Target,
  operation: Operation,
  error: unknown,
  attempts: number,
  requestTimeoutMs: number,
): BatonError {
  const where = describeTarget(target);
  const api = `the Kubernetes API of ${target.cluster} (${target.clients.server}, context ${target.clients.context})`;
  const tries = attempts > 1 ? ` (${attempts} attempts)` : '';
  if (error instanceof ApiException) {
    const code = error.code;
    const status = parseStatus(error.body);
    const said = status?.message ? `: ${status.message}` : '';
    if (code === 401) {
      const plugin = target.clients.credentials.execCommand;
      // A plugin's token was fetched afresh and refused too (kube-retry): editing the kubeconfig's token cannot help.
      return new BatonError(
        'cluster-unauthorized',
        plugin === undefined
          ? `Kubernetes rejected Baton's credentials for ${target.cluster} (context ${target.clients.context}) — ` +
              'renew the token in the kubeconfig'
          : `Kubernetes rejected the token that the kubeconfig's credential plugin (${basename(plugin)}) made for ` +
              `${target.cluster} (context ${target.clients.context}), a fresh one too — check that the identity ` +
              'the plugin signs in as may still use that cluster (EKS: its access entry or aws-auth mapping; GKE: ' +
              'its IAM role), and run the plugin by hand to see which identity it returns',
        { cause: error },
      );
    }
    if (code === 403) {
      return new BatonError('cluster-forbidden', forbiddenMessage(where, operation, status?.message), {
        cause: error,
      });
    }
    if (code === 404) {
      // An object that is not there names itself in details.name; a path the server does not serve does not.
      const missingObject = status?.details?.name !== undefined || status === null;
      return missingObject
        ? new BatonError(
            'not-found',
            `${operation.object} not found on ${where} — check its name in the topology and that it is deployed there`,
            { cause: error },
          )
        : new BatonError(
            'cluster-api-missing',
            `${api} does not serve ${operation.group || 'core'} ${operation.resource}${said} — is the API ` +
              `(${operation.group === CNPG_CLUSTERS.group ? 'the CloudNativePG operator and its CRDs' : 'group'}) installed there?`,
            { cause: error },
          );
    }
    if (code === 409) {
      return new BatonError(
        'cluster-conflict',
        `${operation.object} on ${where} kept changing while Baton wrote it${tries}${said} — Retry`,
        { retriable: true, cause: error },
      );
    }
    if (code === 429) {
      return new BatonError(
        'cluster-throttled',
        `${api} kept throttling Baton (429 Too Many Requests)${tries} — Retry in a minute; check API priority and fairness`,
        { retriable: true, cause: error },
      );
    }
    if (code >= 500) {
      return new BatonError(
        'cluster-api-error',
        `${api} failed to ${operation.verb} ${operation.object}: ${code} ${status?.reason ?? ''}${said}${tries} — ` +
          'the control plane is struggling; Retry, or check the API server and etcd',
        { retriable: true, cause: error },
      );
    }
    return new BatonError(
      code === 422 ? 'cluster-invalid' : 'cluster-request-rejected',
      `${api} refused to ${operation.verb} ${operation.object}: ${code} ${status?.reason ?? ''}${said}`,
      { cause: error },
    );
  }
  const code = errorCode(error);
  if (code !== undefined && TLS_CODES.has(code)) {
    return new BatonError(
      'cluster-tls',
      `Baton does not trust the certificate of ${api}: ${code} — check certificate-authority-data of that cluster ` +
        'in the kubeconfig (TLS is always verified)',
      { cause: error },
    );
  }
  if (isTimeout(error)) {
    return new BatonError(
      'cluster-unreachable',
      `${api} did not answer within ${formatMs(requestTimeoutMs)}${tries} — is the cluster down or the ` +
        'network path to it broken? Baton retries',
      { retriable: true, cause: error },
    );
  }
  if (code !== undefined && NETWORK_CODES.has(code)) {
    return new BatonError(
      'cluster-unreachable',
      `Cannot reach ${api}: ${describeNetwork(code)}${tries} — is the cluster down or the network path to it ` +
        'broken? Baton retries',
      { retriable: true, cause: error },
    );
  }
  return new BatonError(
    'cluster-config',
    `Cannot talk to ${api}: ${firstLineOf(error)} — check that cluster's entry in the kubeconfig`,
    { cause: error },
  );
}

/** A failure in a few words, for the retry log: `HTTP 503`, `ECONNRESET`, `timeout`. */
export function shortReason(error: unknown): string {
  if (error instanceof ApiException) return `HTTP ${error.code}`;
  return errorCode(error) ?? (isTimeout(error) ? 'timeout' : firstLineOf(error));
}

/** The first line of an error's message (client-node's can run to the whole response). */
export function firstLineOf(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? error.message) : String(error);
}

function errorCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 4; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

const isTimeout = (error: unknown): boolean =>
  error instanceof Error && (error.name === 'AbortError' || (error as { type?: string }).type === 'aborted');

interface StatusObject {
  message?: string;
  reason?: string;
  details?: { name?: string; group?: string; kind?: string };
}

/** client-node 1.x hands over the body of an unexpected status as text (or nothing, for 401). */
function parseStatus(body: unknown): StatusObject | null {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return body ? { message: body.slice(0, 300) } : null;
    }
  }
  if (typeof value !== 'object' || value === null) return null;
  return value as StatusObject;
}

const FORBIDDEN =
  /User "([^"]*)" cannot (\S+) resource "([^"]+)" in API group "([^"]*)"(?: in the namespace "([^"]+)"| at the cluster scope)/;

function forbiddenMessage(where: string, operation: Operation, serverMessage: string | undefined): string {
  const match = serverMessage ? FORBIDDEN.exec(serverMessage) : null;
  const user = match?.[1] ?? 'Baton';
  const verb = match?.[2] ?? operation.verb;
  const resource = match?.[3] ?? operation.resource;
  const group = match?.[4] ?? operation.group;
  const namespace = match ? match[5] : operation.namespace;
  const scope = namespace ? `in namespace "${namespace}"` : 'at cluster scope';
  return (
    `Kubernetes RBAC on ${where} does not let ${user} ${verb} ${resource} (API group "${group}") ${scope} — ` +
    `grant verb "${verb}" on resource "${resource}" in apiGroups ["${group}"] to Baton's ${namespace ? 'Role' : 'ClusterRole'}, then Retry`
  );
}

function describeNetwork(code: string): string {
  const names: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    EPIPE: 'connection closed',
    ETIMEDOUT: 'connection timed out',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ENOTFOUND: 'host name not found',
    EAI_AGAIN: 'DNS lookup failed',
  };
  return names[code] ?? code;
}
