/**
 * A Route 53 stand-in: a real HTTP server speaking the 2013-04-01 REST-XML API as the official SDK sends it
 * (SigV4-signed requests, XML change batches, `ErrorResponse` errors), plus an authoritative DNS server (UDP and
 * TCP) that answers from the same records. Tests, benchmarks, `baton sandbox` and the drill point the unmodified AWS SDK at
 * `endpoint` and a `node:dns` Resolver (or dig) at `dnsAddress`.
 *
 * Semantics chosen to match the real service where its documentation is explicit:
 * - A change batch is validated as a whole and applied atomically; the API (ListResourceRecordSets) shows the new
 *   records at once, while the change stays PENDING for `insyncAfterMs`. Changes to one zone become INSYNC in the
 *   order they were submitted.
 * - The DNS server answers from the records as of the newest INSYNC change — what every Route 53 name server
 *   serves once a change has propagated — so a client that reads DNS before INSYNC may still see the old answer.
 * - Failover records: the PRIMARY unless its health check (or, for an alias with EvaluateTargetHealth, the alias
 *   target) is unhealthy, then the SECONDARY; when both are unhealthy, the PRIMARY (Route 53 answers as if all were
 *   healthy). A health check is healthy when more than 18% of its checkers see it healthy, after inversion.
 * - UpdateHealthCheck's `Inverted` reaches the checkers after `healthCheckPropagationMs` (real checkers pick up
 *   a change within one request interval).
 * - Errors carry the real codes and HTTP statuses; messages use the real wording where it is documented or widely
 *   quoted (InvalidChangeBatch lists every problem, bracketed, as the service does). The wording for two failover
 *   records with one role, and the inverted-check note in GetHealthCheckStatus, are the stand-in's own.
 * Not modelled: geolocation, latency, geoproximity and CIDR routing, traffic policies, private zones, zone and
 * health-check creation through the API (seed them through the options).
 */
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';
import type { Socket } from 'node:net';
import type { ClusterId, DnsTarget, SiteConfig } from '../../src/config/topology.js';
import { DNS_TYPES, startDnsServer } from '../dns/dns-server.js';
import type { DnsQuestion, DnsRecord, DnsResponse, DnsServer, DnsTypeName } from '../dns/dns-server.js';

export const ROUTE53_XMLNS = 'https://route53.amazonaws.com/doc/2013-04-01/';

// ---------------------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------------------

export type FailoverRole = 'PRIMARY' | 'SECONDARY';

export interface AliasTargetSpec {
  hostedZoneId: string;
  dnsName: string;
  evaluateTargetHealth: boolean;
}

/** A resource record set as the API carries it (names as given on input; normalized and escaped when read back). */
export interface RecordSetSpec {
  name: string;
  type: string;
  setIdentifier?: string;
  weight?: number;
  region?: string;
  failover?: FailoverRole;
  multiValueAnswer?: boolean;
  ttl?: number;
  values?: string[];
  aliasTarget?: AliasTargetSpec;
  healthCheckId?: string;
}

export interface HostedZoneSeed {
  /** Without the `/hostedzone/` prefix. */
  id: string;
  /** e.g. `example.com`. */
  name: string;
  /** The delegation set GetHostedZone reports (default: four awsdns-style names). */
  nameServers?: string[];
  records?: RecordSetSpec[];
}

export interface HealthCheckSeed {
  id: string;
  /** Whether the endpoint answers (what the checkers see before inversion); default true. */
  healthy?: boolean;
  inverted?: boolean;
  disabled?: boolean;
  type?: 'HTTP' | 'HTTPS' | 'TCP';
  fqdn?: string;
  ipAddress?: string;
  port?: number;
  resourcePath?: string;
}

export interface Route53StandInOptions {
  zones?: HostedZoneSeed[];
  healthChecks?: HealthCheckSeed[];
  /** Addresses the DNS server answers for alias target names outside the hosted zones, e.g. load balancers. */
  aliasTargets?: Record<string, string[]>;
  /** How long a change stays PENDING (default 0). */
  insyncAfterMs?: number;
  /** How long an UpdateHealthCheck `Inverted` takes to reach the checkers (default 0). */
  healthCheckPropagationMs?: number;
  /** Added before every response (default 0). */
  latencyMs?: number;
  /**
   * Emulates the account quota (Route 53 allows five requests per second): a request beyond this many in the
   * trailing second is answered `Throttling`. Off by default.
   */
  requestsPerSecond?: number;
  /** When set, SigV4 signatures are verified against these credentials; otherwise only their presence is checked. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Start the UDP DNS server (default true). */
  dns?: boolean;
  /** HTTP port (default: a free one). */
  port?: number;
  /** Wall clock in ms (default Date.now); change timings and health propagation read it. */
  now?: () => number;
}

/** The IAM actions (API operations) the stand-in serves. */
export const ROUTE53_ACTIONS = [
  'ChangeResourceRecordSets',
  'ListResourceRecordSets',
  'GetHostedZone',
  'GetChange',
  'GetHealthCheck',
  'UpdateHealthCheck',
  'GetHealthCheckStatus',
] as const;
export type Route53Action = (typeof ROUTE53_ACTIONS)[number];

export type Route53Fault =
  'Throttling' | 'PriorRequestNotComplete' | 'AccessDenied' | 'InternalFailure' | 'ServiceUnavailable';

export interface Route53RequestLogEntry {
  /** When the request arrived (ms, from `now`). */
  at: number;
  method: string;
  path: string;
  action: Route53Action | 'Unknown';
  /** HTTP status sent, 0 when the connection was reset. */
  status: number;
  errorCode?: string;
  /** The connection was reset (an injected outage). */
  reset?: boolean;
}

export interface ChangeView {
  id: string;
  zoneId: string;
  status: 'PENDING' | 'INSYNC';
  submittedAt: string;
  comment?: string;
}

export interface HealthCheckView {
  id: string;
  version: number;
  /** As configured (what GetHealthCheck says). */
  inverted: boolean;
  disabled: boolean;
  /** Checkers that see the endpoint healthy, before inversion (of CHECKER_REGIONS.length). */
  healthyCheckers: number;
  /** What Route 53 routes on now: more than 18% of checkers healthy, after inversion as the checkers know it. */
  effectiveHealthy: boolean;
}

export interface Route53StandIn {
  /** Base URL for the SDK's `endpoint` (or AWS_ENDPOINT_URL_ROUTE_53). */
  endpoint: string;
  /** `127.0.0.1:port` of the DNS server (empty when `dns: false`). */
  dnsAddress: string;
  dnsPort: number;
  /** Requests received (the latest 10,000), oldest first. */
  readonly requests: readonly Route53RequestLogEntry[];
  clearRequests(): void;
  /** The zone's records as ListResourceRecordSets returns them (normalized names), in its order. */
  records(zoneId: string): RecordSetSpec[];
  /** The records the DNS server answers from now (as of the newest INSYNC change). */
  servedRecords(zoneId: string): RecordSetSpec[];
  change(changeId: string): ChangeView | undefined;
  /** All changes, oldest first. */
  changes(): ChangeView[];
  healthCheck(id: string): HealthCheckView | undefined;
  /**
   * Fails the next `count` requests (only those of `action`, when given) with `fault`. Faults are answered after
   * authentication, as the real service does.
   */
  failNext(count: number, fault: Route53Fault, options?: { action?: Route53Action }): void;
  /** Resets every connection (no HTTP response) while on. */
  setOutage(on: boolean): void;
  setLatencyMs(ms: number): void;
  /** Applies to changes submitted from now on. */
  setInsyncAfterMs(ms: number): void;
  setHealthCheckPropagationMs(ms: number): void;
  /** What the checkers see at the endpoint: healthy or not, or how many of the checkers see it healthy. */
  setHealth(healthCheckId: string, healthy: boolean | number): void;
  /** Addresses and health of an alias target name (e.g. a load balancer) outside the hosted zones. */
  setAliasTarget(dnsName: string, addresses: string[], options?: { healthy?: boolean }): void;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Names: Route 53 keeps names lowercase, fully qualified, and escapes characters other than a-z, 0-9, "-" and "_"
// as \ooo (octal) — `*.example.com` lists as `\052.example.com.`.
// ---------------------------------------------------------------------------------------------------------------

/** Presentation form without escapes: lowercase, no trailing dot (`*.example.com`). */
export function plainName(name: string): string {
  return name
    .replace(/\\(\d{3})/g, (_all, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)))
    .replace(/\.$/, '')
    .toLowerCase();
}

/** The form Route 53 stores and lists: lowercase, escaped, with the trailing dot. */
export function route53Name(name: string): string {
  const plain = plainName(name);
  const escaped = [...plain]
    .map((char) =>
      /[a-z0-9\-_.]/.test(char) ? char : `\\${char.charCodeAt(0).toString(8).padStart(3, '0')}`,
    )
    .join('');
  return `${escaped}.`;
}

/** ListResourceRecordSets sorts by name with the labels reversed (`com.example.www.`), in ASCII order. */
const sortName = (canonical: string): string =>
  `${canonical.replace(/\.$/, '').split('.').reverse().join('.')}.`;

const ascii = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const inZone = (name: string, zone: string): boolean => name === zone || name.endsWith(`.${zone}`);

// ---------------------------------------------------------------------------------------------------------------
// XML: the request bodies are small and machine-written; a strict little parser is enough.
// ---------------------------------------------------------------------------------------------------------------

interface XmlElement {
  name: string;
  children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (all, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(Number.parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(Number.parseInt(entity.slice(1), 10));
    return ENTITIES[entity] ?? all;
  });
}

class XmlSyntaxError extends Error {}

function parseXml(source: string): XmlElement {
  const root: XmlElement = { name: '#document', children: [], text: '' };
  const stack: XmlElement[] = [root];
  const token =
    /<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!\[CDATA\[([\s\S]*?)\]\]>|<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|([^<]+)/gy;
  let match: RegExpExecArray | null;
  let offset = 0;
  while (offset < source.length) {
    token.lastIndex = offset;
    match = token.exec(source);
    if (match === null) throw new XmlSyntaxError(`unexpected character at offset ${offset}`);
    offset = token.lastIndex;
    const top = stack[stack.length - 1];
    if (top === undefined) throw new XmlSyntaxError('content after the document element');
    const [, cdata, closing, rawName, , selfClosing, text] = match;
    if (cdata !== undefined) top.text += cdata;
    else if (text !== undefined) top.text += decodeEntities(text);
    else if (rawName !== undefined) {
      const name = rawName.replace(/^[^:]*:/, '');
      if (closing) {
        if (top.name !== name || stack.length === 1) throw new XmlSyntaxError(`unexpected </${name}>`);
        stack.pop();
      } else {
        const element: XmlElement = { name, children: [], text: '' };
        top.children.push(element);
        if (!selfClosing) stack.push(element);
      }
    }
  }
  if (stack.length !== 1) throw new XmlSyntaxError(`<${stack[stack.length - 1]?.name}> is not closed`);
  const documentElement = root.children[0];
  if (root.children.length !== 1 || documentElement === undefined || root.text.trim() !== '')
    throw new XmlSyntaxError('expected exactly one document element');
  return documentElement;
}

const child = (element: XmlElement | undefined, name: string): XmlElement | undefined =>
  element?.children.find((candidate) => candidate.name === name);
const childrenNamed = (element: XmlElement | undefined, name: string): XmlElement[] =>
  element?.children.filter((candidate) => candidate.name === name) ?? [];
const textOf = (element: XmlElement | undefined, name: string): string | undefined => {
  const found = child(element, name);
  return found === undefined ? undefined : found.text.trim();
};

// Text content only needs &, < and > escaped; quotes stay readable, as in the real service's messages.
const escapeXml = (text: string): string =>
  text.replace(/[&<>]/g, (char) => (char === '&' ? '&amp;' : char === '<' ? '&lt;' : '&gt;'));

/** `el('Name', 'text')`, `el('Parent', [el(...), ...])`; undefined content drops the element. */
function el(
  name: string,
  content: string | number | boolean | (string | undefined)[] | undefined,
): string | undefined {
  if (content === undefined) return undefined;
  const inner = Array.isArray(content)
    ? content.filter((part) => part !== undefined).join('')
    : escapeXml(String(content));
  return `<${name}>${inner}</${name}>`;
}

const document = (root: string, children: (string | undefined)[]): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${ROUTE53_XMLNS}">${children.filter(Boolean).join('')}</${root}>`;

// ---------------------------------------------------------------------------------------------------------------
// Errors, in the shape the real service sends (and the SDK's restXml protocol parses).
// ---------------------------------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly messages?: string[],
  ) {
    super(message);
  }
}

const invalidInput = (message: string) => new ApiError(400, 'InvalidInput', message);

function invalidChangeBatch(messages: string[]): ApiError {
  // The real service lists every problem, bracketed and comma-separated, in one Message.
  return new ApiError(400, 'InvalidChangeBatch', `[${messages.join(', ')}]`, messages);
}

const ACCESS_DENIED_RESOURCE: Record<Route53Action, string> = {
  ChangeResourceRecordSets: 'hostedzone',
  ListResourceRecordSets: 'hostedzone',
  GetHostedZone: 'hostedzone',
  GetChange: 'change',
  GetHealthCheck: 'healthcheck',
  UpdateHealthCheck: 'healthcheck',
  GetHealthCheckStatus: 'healthcheck',
};

function faultError(fault: Route53Fault, action: Route53Action | 'Unknown', resourceId: string): ApiError {
  switch (fault) {
    case 'Throttling':
      return new ApiError(400, 'Throttling', 'Rate exceeded');
    case 'PriorRequestNotComplete':
      return new ApiError(
        400,
        'PriorRequestNotComplete',
        'The request was rejected because Route 53 was still processing a prior request.',
      );
    case 'AccessDenied': {
      const kind = action === 'Unknown' ? 'hostedzone' : ACCESS_DENIED_RESOURCE[action];
      return new ApiError(
        403,
        'AccessDenied',
        `User: arn:aws:sts::123456789012:assumed-role/baton/baton-session is not authorized to perform: ` +
          `route53:${action} on resource: arn:aws:route53:::${kind}/${resourceId} because no identity-based ` +
          `policy allows the route53:${action} action`,
      );
    }
    case 'InternalFailure':
      return new ApiError(
        500,
        'InternalFailure',
        'The request processing has failed because of an unknown error, exception or failure.',
      );
    case 'ServiceUnavailable':
      return new ApiError(
        503,
        'ServiceUnavailable',
        'The request has failed due to a temporary failure of the server.',
      );
  }
}

function errorBody(error: ApiError, requestId: string): string {
  const type = error.status >= 500 ? 'Receiver' : 'Sender';
  return document('ErrorResponse', [
    el('Error', [
      el('Type', type),
      el('Code', error.code),
      el('Message', error.message),
      error.messages
        ? el(
            'Messages',
            error.messages.map((message) => el('Message', message)),
          )
        : undefined,
    ]),
    el('RequestId', requestId),
  ]);
}

// ---------------------------------------------------------------------------------------------------------------
// SigV4: presence is always required; the signature is verified when the stand-in knows the secret.
// ---------------------------------------------------------------------------------------------------------------

const escapeUri = (text: string): string =>
  encodeURIComponent(text).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();

interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

function checkAuthorization(request: IncomingMessage): ParsedAuthorization {
  const header = request.headers.authorization;
  if (header === undefined || header === '') {
    throw new ApiError(403, 'MissingAuthenticationToken', 'Missing Authentication Token');
  }
  const match = /^AWS4-HMAC-SHA256\s+(.*)$/s.exec(header);
  const parts = new Map<string, string>();
  for (const part of (match?.[1] ?? '').split(',')) {
    const [key, ...rest] = part.trim().split('=');
    if (key) parts.set(key, rest.join('='));
  }
  const problems: string[] = [];
  if (match === null) problems.push(`Authorization header requires the AWS4-HMAC-SHA256 algorithm.`);
  for (const field of ['Credential', 'SignedHeaders', 'Signature']) {
    if (!parts.get(field)) problems.push(`Authorization header requires '${field}' parameter.`);
  }
  if (request.headers['x-amz-date'] === undefined && request.headers.date === undefined) {
    problems.push(`Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.`);
  }
  const credential = (parts.get('Credential') ?? '').split('/');
  if (problems.length === 0 && (credential.length !== 5 || credential[4] !== 'aws4_request')) {
    problems.push(
      `Credential should be scoped to a valid region. Credential should be scoped with a valid terminator: 'aws4_request'.`,
    );
  }
  if (problems.length > 0) {
    throw new ApiError(
      403,
      'IncompleteSignature',
      `${problems.join(' ')} Authorization=${header.split(' ')[0]}`,
    );
  }
  const [accessKeyId = '', date = '', region = '', service = ''] = credential;
  if (service !== 'route53') {
    throw new ApiError(
      403,
      'SignatureDoesNotMatch',
      `Credential should be scoped to correct service: 'route53'.`,
    );
  }
  return {
    accessKeyId,
    date,
    region,
    service,
    signedHeaders: (parts.get('SignedHeaders') ?? '').split(';'),
    signature: parts.get('Signature') ?? '',
  };
}

/** Recomputes the signature the way the SDK's SignatureV4 computes it (path escaped twice, as for non-S3). */
function verifySignature(
  request: IncomingMessage,
  body: Buffer,
  auth: ParsedAuthorization,
  credentials: { accessKeyId: string; secretAccessKey: string },
): void {
  if (auth.accessKeyId !== credentials.accessKeyId) {
    throw new ApiError(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
  }
  const [rawPath = '/', rawQuery = ''] = (request.url ?? '/').split('?', 2);
  const segments: string[] = [];
  for (const segment of rawPath.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalizedPath = `/${segments.join('/')}${segments.length > 0 && rawPath.endsWith('/') ? '/' : ''}`;
  const canonicalPath = escapeUri(normalizedPath).replace(/%2F/g, '/');
  const query = rawQuery
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const [key = '', value = ''] = pair.split('=', 2);
      return [decodeURIComponent(key), decodeURIComponent(value)] as const;
    })
    .sort(([a, av], [b, bv]) => ascii(a, b) || ascii(av, bv))
    .map(([key, value]) => `${escapeUri(key)}=${escapeUri(value)}`)
    .join('&');
  const headers = auth.signedHeaders
    .map((name) => {
      const value = request.headers[name];
      const text = Array.isArray(value) ? value.join(',') : (value ?? '');
      return `${name}:${text.trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');
  const canonicalRequest = [
    request.method ?? 'GET',
    canonicalPath,
    query,
    headers,
    auth.signedHeaders.join(';'),
    sha256(body),
  ].join('\n');
  const amzDate = String(request.headers['x-amz-date'] ?? '');
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(
    hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, auth.date), auth.region), auth.service),
    'aws4_request',
  );
  const expected = Buffer.from(hmac(key, stringToSign).toString('hex'));
  const given = Buffer.from(auth.signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw new ApiError(
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret ' +
        'Access Key and signing method. Consult the service documentation for details.',
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------------------------

interface StoredRecord extends RecordSetSpec {
  /** route53Name form. */
  name: string;
}

interface ZoneState {
  id: string;
  /** route53Name form. */
  name: string;
  callerReference: string;
  nameServers: string[];
  records: StoredRecord[];
  /** What the DNS servers serve: snapshots taking effect at `at` (a change's INSYNC time), oldest first. */
  published: { at: number; records: StoredRecord[] }[];
  lastInsyncAt: number;
}

interface ChangeState {
  id: string;
  zoneId: string;
  submittedAt: number;
  insyncAt: number;
  comment?: string;
}

interface HealthCheckState {
  id: string;
  callerReference: string;
  type: 'HTTP' | 'HTTPS' | 'TCP';
  fqdn?: string;
  ipAddress?: string;
  port: number;
  resourcePath?: string;
  requestInterval: number;
  failureThreshold: number;
  inverted: boolean;
  disabled: boolean;
  version: number;
  healthyCheckers: number;
  /** When each `Inverted` value reached the checkers, oldest first. */
  invertedHistory: { at: number; value: boolean }[];
}

/** The regions GetHealthCheckStatus reports checkers from, one checker each. */
export const CHECKER_REGIONS = [
  'us-east-1',
  'us-west-1',
  'us-west-2',
  'eu-west-1',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-northeast-1',
  'sa-east-1',
] as const;

const RECORD_TYPES = [
  'SOA',
  'A',
  'TXT',
  'NS',
  'CNAME',
  'MX',
  'NAPTR',
  'PTR',
  'SRV',
  'SPF',
  'AAAA',
  'CAA',
  'DS',
];
const DNS_SERVABLE = new Set<string>(['A', 'AAAA', 'CNAME', 'NS', 'SOA', 'TXT', 'MX']);
const DEFAULT_NAME_SERVERS = [
  'ns-1536.awsdns-00.co.uk',
  'ns-0.awsdns-00.com',
  'ns-1024.awsdns-00.org',
  'ns-512.awsdns-00.net',
];
const ALIAS_TTL = 60;

const cloneRecord = (record: StoredRecord): StoredRecord => ({
  ...record,
  ...(record.values && { values: [...record.values] }),
  ...(record.aliasTarget && { aliasTarget: { ...record.aliasTarget } }),
});

const recordKey = (record: Pick<RecordSetSpec, 'name' | 'type' | 'setIdentifier'>): string =>
  `${record.name}|${record.type}|${record.setIdentifier ?? ''}`;

function compareRecords(a: StoredRecord, b: StoredRecord): number {
  return (
    ascii(sortName(a.name), sortName(b.name)) ||
    ascii(a.type, b.type) ||
    ascii(a.setIdentifier ?? '', b.setIdentifier ?? '')
  );
}

function describeRecord(record: Pick<RecordSetSpec, 'name' | 'type' | 'setIdentifier'>): string {
  const identifier = record.setIdentifier === undefined ? '' : `, set-identifier='${record.setIdentifier}'`;
  return `[name='${record.name}', type='${record.type}'${identifier}]`;
}

function sameRecord(a: StoredRecord, b: StoredRecord): boolean {
  const values = (record: StoredRecord) => JSON.stringify([...(record.values ?? [])].sort());
  const alias = (record: StoredRecord) =>
    record.aliasTarget
      ? `${record.aliasTarget.hostedZoneId}|${route53Name(record.aliasTarget.dnsName)}|${record.aliasTarget.evaluateTargetHealth}`
      : '';
  return (
    recordKey(a) === recordKey(b) &&
    a.ttl === b.ttl &&
    values(a) === values(b) &&
    alias(a) === alias(b) &&
    a.failover === b.failover &&
    a.weight === b.weight &&
    a.region === b.region &&
    a.multiValueAnswer === b.multiValueAnswer &&
    a.healthCheckId === b.healthCheckId
  );
}

function normalizeRecord(spec: RecordSetSpec): StoredRecord {
  const record: StoredRecord = { name: route53Name(spec.name), type: spec.type };
  if (spec.setIdentifier !== undefined) record.setIdentifier = spec.setIdentifier;
  if (spec.weight !== undefined) record.weight = spec.weight;
  if (spec.region !== undefined) record.region = spec.region;
  if (spec.failover !== undefined) record.failover = spec.failover;
  if (spec.multiValueAnswer !== undefined) record.multiValueAnswer = spec.multiValueAnswer;
  if (spec.ttl !== undefined) record.ttl = spec.ttl;
  if (spec.values !== undefined) record.values = [...spec.values];
  if (spec.aliasTarget !== undefined) {
    record.aliasTarget = {
      hostedZoneId: spec.aliasTarget.hostedZoneId.replace(/^\/hostedzone\//, ''),
      dnsName: route53Name(spec.aliasTarget.dnsName),
      evaluateTargetHealth: spec.aliasTarget.evaluateTargetHealth,
    };
  }
  if (spec.healthCheckId !== undefined) record.healthCheckId = spec.healthCheckId;
  return record;
}

function recordXml(record: StoredRecord): string | undefined {
  return el('ResourceRecordSet', [
    el('Name', record.name),
    el('Type', record.type),
    el('SetIdentifier', record.setIdentifier),
    el('Weight', record.weight),
    el('Region', record.region),
    el('Failover', record.failover),
    el('MultiValueAnswer', record.multiValueAnswer),
    el('TTL', record.ttl),
    record.values
      ? el(
          'ResourceRecords',
          record.values.map((value) => el('ResourceRecord', [el('Value', value)])),
        )
      : undefined,
    record.aliasTarget
      ? el('AliasTarget', [
          el('HostedZoneId', record.aliasTarget.hostedZoneId),
          el('DNSName', record.aliasTarget.dnsName),
          el('EvaluateTargetHealth', record.aliasTarget.evaluateTargetHealth),
        ])
      : undefined,
    el('HealthCheckId', record.healthCheckId),
  ]);
}

const randomChangeId = (): string => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return `C${[...randomBytes(13)].map((byte) => alphabet[byte % alphabet.length]).join('')}`;
};

/** Route 53's own health rule: healthy when more than 18% of the checkers report healthy. */
const healthyByCheckers = (healthy: number, total: number): boolean => healthy / total > 0.18;

// ---------------------------------------------------------------------------------------------------------------
// Seeding the DESIGN example
// ---------------------------------------------------------------------------------------------------------------

export interface SeedSiteOptions {
  /** Which cluster the record serves at the start (default each site's home cluster). */
  serving?: Record<string, ClusterId>;
  /** Hosted zone name per zone id (default: the record name without its first label). */
  zoneNames?: Record<string, string>;
  nameServers?: string[];
}

export type Route53Seed = Required<Pick<Route53StandInOptions, 'zones' | 'healthChecks' | 'aliasTargets'>>;

function recordTarget(target: DnsTarget, ttl: number): Pick<RecordSetSpec, 'ttl' | 'values' | 'aliasTarget'> {
  if ('values' in target) return { ttl, values: [...target.values] };
  return {
    aliasTarget: {
      hostedZoneId: target.aliasHostedZoneId,
      dnsName: target.aliasDnsName,
      evaluateTargetHealth: target.evaluateTargetHealth,
    },
  };
}

/**
 * Zones, records and health checks that put each site's DNS record in the state Baton expects at rest: the
 * strategy's records pointing at the serving cluster (the home cluster unless `serving` says otherwise). Alias
 * targets get addresses of their own (cluster n → 10.0.n.10 and fd00::n:10), so DNS answers tell clusters apart.
 */
export function route53SeedFor(sites: SiteConfig | SiteConfig[], options: SeedSiteOptions = {}): Route53Seed {
  const seed: Route53Seed = { zones: [], healthChecks: [], aliasTargets: {} };
  for (const site of Array.isArray(sites) ? sites : [sites]) {
    const { dns } = site;
    const serving = options.serving?.[site.name] ?? site.homeCluster;
    const clusters = Object.keys(site.clusters);
    const zoneName =
      options.zoneNames?.[dns.hostedZoneId] ?? plainName(dns.recordName).split('.').slice(1).join('.');
    let zone = seed.zones.find((candidate) => candidate.id === dns.hostedZoneId);
    if (!zone) {
      zone = { id: dns.hostedZoneId, name: zoneName, records: [] };
      if (options.nameServers) zone.nameServers = [...options.nameServers];
      seed.zones.push(zone);
    }
    clusters.forEach((cluster, index) => {
      const target = dns.targets[cluster];
      if (target && 'aliasDnsName' in target) {
        seed.aliasTargets[plainName(target.aliasDnsName)] = [`10.0.${index + 1}.10`, `fd00::${index + 1}:10`];
      }
    });
    const records = (zone.records ??= []);
    if (dns.strategy === 'simple-record') {
      const target = dns.targets[serving];
      if (target)
        records.push({ name: dns.recordName, type: dns.recordType, ...recordTarget(target, dns.ttl) });
      continue;
    }
    // Failover strategies: the records' roles follow the serving cluster for failover-records; for
    // health-check-inversion they stay fixed (home is PRIMARY) and the other side's check is inverted instead.
    const primary = dns.strategy === 'failover-records' ? serving : site.homeCluster;
    for (const cluster of clusters) {
      const target = dns.targets[cluster];
      if (!target) continue;
      const record: RecordSetSpec = {
        name: dns.recordName,
        type: dns.recordType,
        setIdentifier: dns.setIdentifiers?.[cluster] ?? cluster,
        failover: cluster === primary ? 'PRIMARY' : 'SECONDARY',
        ...recordTarget(target, dns.ttl),
      };
      const healthCheckId = dns.healthCheckIds?.[cluster];
      if (healthCheckId !== undefined) {
        record.healthCheckId = healthCheckId;
        const url = new URL(site.clusters[cluster]?.healthUrl ?? 'https://localhost/');
        seed.healthChecks.push({
          id: healthCheckId,
          type: url.protocol === 'http:' ? 'HTTP' : 'HTTPS',
          fqdn: url.hostname,
          resourcePath: url.pathname,
          ...(url.port !== '' && { port: Number(url.port) }),
          // Serving away from home: the home cluster's (PRIMARY's) check is inverted, as Baton's switch leaves it.
          inverted: dns.strategy === 'health-check-inversion' && cluster === primary && cluster !== serving,
        });
      }
      records.push(record);
    }
  }
  return seed;
}

// ---------------------------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------------------------

interface Route {
  action: Route53Action;
  /** The id in the path (zone, change or health check). */
  id: string;
}

function route(method: string, path: string): Route | undefined {
  const match = /^\/2013-04-01\/(hostedzone|change|healthcheck)\/([^/]+)(?:\/(rrset|status))?\/?$/.exec(path);
  if (!match) return undefined;
  const [, kind, rawId = '', sub] = match;
  const id = decodeURIComponent(rawId);
  if (kind === 'hostedzone' && sub === 'rrset') {
    if (method === 'POST') return { action: 'ChangeResourceRecordSets', id };
    if (method === 'GET') return { action: 'ListResourceRecordSets', id };
  }
  if (kind === 'hostedzone' && sub === undefined && method === 'GET') return { action: 'GetHostedZone', id };
  if (kind === 'change' && sub === undefined && method === 'GET') return { action: 'GetChange', id };
  if (kind === 'healthcheck' && sub === undefined && method === 'GET')
    return { action: 'GetHealthCheck', id };
  if (kind === 'healthcheck' && sub === undefined && method === 'POST')
    return { action: 'UpdateHealthCheck', id };
  if (kind === 'healthcheck' && sub === 'status' && method === 'GET')
    return { action: 'GetHealthCheckStatus', id };
  return undefined;
}

const MAX_BODY_BYTES = 1024 * 1024;
const MAX_LOGGED_REQUESTS = 10_000;

/** Starts the stand-in on 127.0.0.1: the HTTP API and (unless `dns: false`) the DNS server. */
export async function startRoute53ApiServer(options: Route53StandInOptions = {}): Promise<Route53StandIn> {
  const now = options.now ?? Date.now;
  let insyncAfterMs = options.insyncAfterMs ?? 0;
  let propagationMs = options.healthCheckPropagationMs ?? 0;
  let latencyMs = options.latencyMs ?? 0;
  let outage = false;
  const faults: { remaining: number; fault: Route53Fault; action?: Route53Action }[] = [];
  const requestLog: Route53RequestLogEntry[] = [];

  const zones = new Map<string, ZoneState>();
  const changes = new Map<string, ChangeState>();
  const healthChecks = new Map<string, HealthCheckState>();
  const aliasTargets = new Map<string, { addresses: string[]; healthy: boolean }>();

  for (const [name, addresses] of Object.entries(options.aliasTargets ?? {})) {
    aliasTargets.set(plainName(name), { addresses: [...addresses], healthy: true });
  }
  for (const seed of options.healthChecks ?? []) {
    healthChecks.set(seed.id, {
      id: seed.id,
      callerReference: `baton-stand-in-${seed.id}`,
      type: seed.type ?? 'HTTPS',
      ...(seed.fqdn !== undefined && { fqdn: seed.fqdn }),
      ...(seed.ipAddress !== undefined && { ipAddress: seed.ipAddress }),
      port: seed.port ?? (seed.type === 'HTTP' ? 80 : 443),
      ...(seed.resourcePath !== undefined && { resourcePath: seed.resourcePath }),
      requestInterval: 30,
      failureThreshold: 3,
      inverted: seed.inverted ?? false,
      disabled: seed.disabled ?? false,
      version: 1,
      healthyCheckers: seed.healthy === false ? 0 : CHECKER_REGIONS.length,
      invertedHistory: [{ at: Number.NEGATIVE_INFINITY, value: seed.inverted ?? false }],
    });
  }
  for (const seed of options.zones ?? []) {
    const id = seed.id.replace(/^\/hostedzone\//, '');
    const name = route53Name(seed.name);
    const nameServers = seed.nameServers ?? DEFAULT_NAME_SERVERS;
    // Every hosted zone starts with its NS and SOA records at the apex, as Route 53 creates them.
    const records: StoredRecord[] = [
      { name, type: 'NS', ttl: 172800, values: nameServers.map((server) => `${plainName(server)}.`) },
      {
        name,
        type: 'SOA',
        ttl: 900,
        values: [
          `${plainName(nameServers[0] ?? 'ns-0.awsdns-00.com')}. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400`,
        ],
      },
    ];
    for (const spec of seed.records ?? []) {
      const record = normalizeRecord(spec);
      if (!inZone(plainName(record.name), plainName(name))) {
        throw new Error(`seed record ${record.name} is not in zone ${name}`);
      }
      records.push(record);
    }
    records.sort(compareRecords);
    zones.set(id, {
      id,
      name,
      callerReference: `baton-stand-in-${id}`,
      nameServers: [...nameServers],
      records,
      published: [{ at: Number.NEGATIVE_INFINITY, records: records.map(cloneRecord) }],
      lastInsyncAt: Number.NEGATIVE_INFINITY,
    });
  }

  // --- health -------------------------------------------------------------------------------------------------

  const invertedAt = (check: HealthCheckState, time: number): boolean => {
    let value = check.invertedHistory[0]?.value ?? false;
    for (const entry of check.invertedHistory) if (entry.at <= time) value = entry.value;
    return value;
  };
  /** What each checker reports now: [healthy after inversion, healthy before inversion]. */
  const checkerStates = (check: HealthCheckState, time: number): { effective: boolean; raw: boolean }[] => {
    const inverted = invertedAt(check, time);
    return CHECKER_REGIONS.map((_region, index) => {
      // A disabled check counts as healthy (inverted: unhealthy) whatever the endpoint does.
      const raw = check.disabled ? true : index < check.healthyCheckers;
      return { raw, effective: raw !== inverted };
    });
  };
  const effectiveHealthy = (check: HealthCheckState, time: number): boolean => {
    const states = checkerStates(check, time);
    return healthyByCheckers(states.filter((state) => state.effective).length, states.length);
  };

  // --- API handlers ---------------------------------------------------------------------------------------------

  const getZone = (id: string): ZoneState => {
    const zone = zones.get(id);
    if (!zone) throw new ApiError(404, 'NoSuchHostedZone', `No hosted zone found with ID: ${id}`);
    return zone;
  };
  const getHealthCheck = (id: string): HealthCheckState => {
    const check = healthChecks.get(id);
    if (!check) throw new ApiError(404, 'NoSuchHealthCheck', `A health check with id ${id} does not exist.`);
    return check;
  };
  const changeStatus = (change: ChangeState): 'PENDING' | 'INSYNC' =>
    now() >= change.insyncAt ? 'INSYNC' : 'PENDING';
  const changeInfoXml = (change: ChangeState) =>
    el('ChangeInfo', [
      el('Id', `/change/${change.id}`),
      el('Status', changeStatus(change)),
      el('SubmittedAt', new Date(change.submittedAt).toISOString()),
      el('Comment', change.comment),
    ]);

  function parseChange(element: XmlElement, index: number): { action: string; record: StoredRecord } {
    const action = textOf(element, 'Action') ?? '';
    const set = child(element, 'ResourceRecordSet');
    const at = `changeBatch.changes.${index + 1}.member`;
    if (!['CREATE', 'DELETE', 'UPSERT'].includes(action)) {
      throw invalidInput(
        `1 validation error detected: Value '${action}' at '${at}.action' failed to satisfy constraint: ` +
          `Member must satisfy enum value set: [UPSERT, CREATE, DELETE]`,
      );
    }
    if (set === undefined) {
      throw invalidInput(
        `1 validation error detected: Value null at '${at}.resourceRecordSet' failed to satisfy constraint: Member must not be null`,
      );
    }
    const name = textOf(set, 'Name') ?? '';
    const type = textOf(set, 'Type') ?? '';
    if (name === '') {
      throw invalidInput(
        `1 validation error detected: Value null at '${at}.resourceRecordSet.name' failed to satisfy constraint: Member must not be null`,
      );
    }
    if (!RECORD_TYPES.includes(type)) {
      throw invalidInput(
        `1 validation error detected: Value '${type}' at '${at}.resourceRecordSet.type' failed to satisfy ` +
          `constraint: Member must satisfy enum value set: [${RECORD_TYPES.join(', ')}]`,
      );
    }
    for (const unsupported of [
      'GeoLocation',
      'TrafficPolicyInstanceId',
      'CidrRoutingConfig',
      'GeoProximityLocation',
    ]) {
      if (child(set, unsupported)) {
        throw invalidInput(`Invalid request: ${unsupported} is not supported by the Route 53 stand-in`);
      }
    }
    const spec: RecordSetSpec = { name, type };
    const setIdentifier = textOf(set, 'SetIdentifier');
    if (setIdentifier !== undefined) spec.setIdentifier = setIdentifier;
    const failover = textOf(set, 'Failover');
    if (failover !== undefined) {
      if (failover !== 'PRIMARY' && failover !== 'SECONDARY') {
        throw invalidInput(
          `1 validation error detected: Value '${failover}' at '${at}.resourceRecordSet.failover' failed to ` +
            `satisfy constraint: Member must satisfy enum value set: [PRIMARY, SECONDARY]`,
        );
      }
      spec.failover = failover;
    }
    const weight = textOf(set, 'Weight');
    if (weight !== undefined) spec.weight = Number(weight);
    const region = textOf(set, 'Region');
    if (region !== undefined) spec.region = region;
    const multi = textOf(set, 'MultiValueAnswer');
    if (multi !== undefined) spec.multiValueAnswer = multi === 'true';
    const ttl = textOf(set, 'TTL');
    if (ttl !== undefined) spec.ttl = Number(ttl);
    const resourceRecords = child(set, 'ResourceRecords');
    if (resourceRecords !== undefined) {
      spec.values = childrenNamed(resourceRecords, 'ResourceRecord').map((rr) => textOf(rr, 'Value') ?? '');
    }
    const alias = child(set, 'AliasTarget');
    if (alias !== undefined) {
      spec.aliasTarget = {
        hostedZoneId: textOf(alias, 'HostedZoneId') ?? '',
        dnsName: textOf(alias, 'DNSName') ?? '',
        evaluateTargetHealth: textOf(alias, 'EvaluateTargetHealth') === 'true',
      };
    }
    const healthCheckId = textOf(set, 'HealthCheckId');
    if (healthCheckId !== undefined) spec.healthCheckId = healthCheckId;

    const where = `in Change with [Action=${action}, Name=${name}, Type=${type}, SetIdentifier=${setIdentifier ?? 'null'}]`;
    const hasPlain = spec.ttl !== undefined && spec.values !== undefined;
    const hasAlias = spec.aliasTarget !== undefined;
    if (hasPlain === hasAlias || (hasAlias && (spec.ttl !== undefined || spec.values !== undefined))) {
      const found = hasPlain || hasAlias ? 'more than one' : 'none';
      throw invalidInput(
        `Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or ` +
          `TrafficPolicyInstanceId], but found ${found} ${where}`,
      );
    }
    if (spec.values !== undefined && spec.values.length === 0) {
      throw invalidInput(
        `Invalid request: ResourceRecords must contain at least one ResourceRecord ${where}`,
      );
    }
    const policies = [spec.failover, spec.weight, spec.region, spec.multiValueAnswer].filter(
      (v) => v !== undefined,
    );
    if (policies.length > 0 && setIdentifier === undefined) {
      throw invalidInput(`Invalid request: Missing field 'SetIdentifier' ${where}`);
    }
    if (setIdentifier !== undefined && policies.length === 0) {
      throw invalidInput(
        `Invalid request: Missing field 'Weight', 'Region', 'Failover' or 'MultiValueAnswer' ${where}`,
      );
    }
    if (policies.length > 1) throw invalidInput(`Invalid request: More than one routing policy ${where}`);
    if (spec.healthCheckId !== undefined) getHealthCheck(spec.healthCheckId);
    return { action, record: normalizeRecord(spec) };
  }

  function valueProblems(record: StoredRecord): string[] {
    const problems: string[] = [];
    for (const value of record.values ?? []) {
      if (record.type === 'A' && !isIPv4(value)) {
        problems.push(
          `Invalid Resource Record: 'FATAL problem: ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address) encountered with '${value}''`,
        );
      }
      if (record.type === 'AAAA' && !isIPv6(value)) {
        problems.push(
          `Invalid Resource Record: 'FATAL problem: AAAARRDATAIllegalIPv6Address (Value is not a valid IPv6 address) encountered with '${value}''`,
        );
      }
    }
    if (record.type === 'CNAME' && (record.values?.length ?? 0) > 1) {
      problems.push(`RRSet of type CNAME with DNS name ${record.name} has more than one resource record`);
    }
    return problems;
  }

  function changeResourceRecordSets(zone: ZoneState, body: string): string {
    let root: XmlElement;
    try {
      root = parseXml(body);
    } catch (error) {
      throw invalidInput(`Invalid XML ; ${(error as Error).message}`);
    }
    if (root.name !== 'ChangeResourceRecordSetsRequest') {
      throw invalidInput(`Invalid XML ; expected ChangeResourceRecordSetsRequest, found ${root.name}`);
    }
    const batch = child(root, 'ChangeBatch');
    const changeElements = childrenNamed(child(batch, 'Changes'), 'Change');
    if (changeElements.length === 0) {
      throw invalidInput(
        `1 validation error detected: Value null at 'changeBatch.changes' failed to satisfy constraint: Member must not be null`,
      );
    }
    const comment = textOf(batch, 'Comment');
    const parsed = changeElements.map((element, index) => parseChange(element, index));

    const problems: string[] = [];
    // Documented request limits; UPSERT counts twice.
    let resourceRecords = 0;
    let characters = 0;
    for (const { action, record } of parsed) {
      const weight = action === 'UPSERT' ? 2 : 1;
      resourceRecords += (record.values?.length ?? 0) * weight;
      characters += (record.values ?? []).reduce((sum, value) => sum + value.length, 0) * weight;
    }
    if (resourceRecords > 1000) problems.push('Number of records limit of 1000 exceeded.');
    if (characters > 32000) problems.push('Number of characters limit of 32000 exceeded.');

    // One record set may appear once per batch; the only repeat allowed is DELETE followed by CREATE.
    const actionsByKey = new Map<string, { actions: string[]; record: StoredRecord }>();
    for (const { action, record } of parsed) {
      const entry = actionsByKey.get(recordKey(record)) ?? { actions: [], record };
      entry.actions.push(action);
      actionsByKey.set(recordKey(record), entry);
    }
    for (const { actions, record } of actionsByKey.values()) {
      if (
        actions.length > 1 &&
        !(actions.length === 2 && actions[0] === 'DELETE' && actions[1] === 'CREATE')
      ) {
        problems.push(
          `The request contains an invalid set of changes for a resource record set '${record.type} ${record.name}'`,
        );
      }
    }

    // Apply to a copy; nothing is committed unless the whole batch is valid.
    const working = new Map(zone.records.map((record) => [recordKey(record), cloneRecord(record)]));
    const zonePlain = plainName(zone.name);
    for (const { action, record } of parsed) {
      if (!inZone(plainName(record.name), zonePlain)) {
        problems.push(`RRSet with DNS name ${record.name} is not permitted in zone ${zone.name}`);
        continue;
      }
      problems.push(...valueProblems(record));
      const key = recordKey(record);
      const existing = working.get(key);
      if (action === 'CREATE') {
        if (existing)
          problems.push(
            `Tried to create resource record set ${describeRecord(record)} but it already exists`,
          );
        else working.set(key, record);
      } else if (action === 'DELETE') {
        if (!existing)
          problems.push(`Tried to delete resource record set ${describeRecord(record)} but it was not found`);
        else if (!sameRecord(existing, record)) {
          problems.push(
            `Tried to delete resource record set ${describeRecord(record)} but the values provided do not match the current values`,
          );
        } else working.delete(key);
      } else {
        working.set(key, record);
      }
    }

    // Whole-zone rules, checked on the result.
    const byName = new Map<string, StoredRecord[]>();
    for (const record of working.values()) {
      const list = byName.get(record.name) ?? [];
      list.push(record);
      byName.set(record.name, list);
    }
    const touched = new Set(parsed.map(({ record }) => record.name));
    for (const name of touched) {
      const records = byName.get(name) ?? [];
      if (
        records.some((record) => record.type === 'CNAME') &&
        records.some((record) => record.type !== 'CNAME')
      ) {
        problems.push(
          `RRSet of type CNAME with DNS name ${name} is not permitted as it conflicts with other records with the same DNS name in zone ${zone.name}`,
        );
      }
      for (const type of new Set(records.map((record) => record.type))) {
        const sameType = records.filter((record) => record.type === type);
        if (sameType.length > 1 && sameType.some((record) => record.setIdentifier === undefined)) {
          problems.push(
            `RRSet with DNS name ${name}, type ${type} cannot be created as other RRSets exist with the same name and type.`,
          );
        }
        for (const role of ['PRIMARY', 'SECONDARY'] as const) {
          const holders = sameType.filter((record) => record.failover === role);
          if (holders.length > 1) {
            problems.push(
              `RRSet with DNS name ${name}, type ${type} and failover ${role} already exists ` +
                `(set identifiers ${holders.map((record) => `'${record.setIdentifier}'`).join(', ')})`,
            );
          }
        }
      }
    }
    for (const record of working.values()) {
      const target = record.aliasTarget;
      if (!target || !touched.has(record.name)) continue;
      const targetZone = zones.get(target.hostedZoneId);
      if (!targetZone) continue; // outside the stand-in (a load balancer's zone): accepted as given
      const targetRecords = targetZone === zone ? [...working.values()] : targetZone.records;
      if (
        !targetRecords.some(
          (candidate) => candidate.name === target.dnsName && candidate.type === record.type,
        )
      ) {
        problems.push(
          `Tried to create an alias that targets ${target.dnsName}, type ${record.type} in zone ${target.hostedZoneId}, but that target was not found`,
        );
      }
    }
    if (problems.length > 0) throw invalidChangeBatch(problems);

    const submittedAt = now();
    const insyncAt = Math.max(submittedAt + insyncAfterMs, zone.lastInsyncAt);
    zone.lastInsyncAt = insyncAt;
    zone.records = [...working.values()].sort(compareRecords);
    zone.published.push({ at: insyncAt, records: zone.records.map(cloneRecord) });
    const change: ChangeState = { id: randomChangeId(), zoneId: zone.id, submittedAt, insyncAt };
    if (comment !== undefined) change.comment = comment;
    changes.set(change.id, change);
    return document('ChangeResourceRecordSetsResponse', [changeInfoXml(change)]);
  }

  function listResourceRecordSets(zone: ZoneState, query: URLSearchParams): string {
    const startName = query.get('name');
    const startType = query.get('type');
    const startIdentifier = query.get('identifier');
    const maxText = query.get('maxitems');
    if (startType !== null && startName === null) {
      throw invalidInput('The input is not valid: a type was given without a name');
    }
    if (startType !== null && !RECORD_TYPES.includes(startType)) {
      throw invalidInput(
        `1 validation error detected: Value '${startType}' at 'startRecordType' failed to satisfy constraint: ` +
          `Member must satisfy enum value set: [${RECORD_TYPES.join(', ')}]`,
      );
    }
    if (startIdentifier !== null && startType === null) {
      throw invalidInput('The input is not valid: an identifier was given without a name and type');
    }
    const requested = maxText === null ? 300 : Number(maxText);
    if (!Number.isInteger(requested) || requested < 1) {
      throw invalidInput(`Invalid request: maxitems must be a positive integer, got ${maxText}`);
    }
    const maxItems = Math.min(requested, 300);
    let records = zone.records;
    if (startName !== null) {
      const startKey = sortName(route53Name(startName));
      records = records.filter((record) => {
        const order = ascii(sortName(record.name), startKey);
        if (order !== 0) return order > 0;
        if (startType === null) return true;
        const typeOrder = ascii(record.type, startType);
        if (typeOrder !== 0) return typeOrder > 0;
        return startIdentifier === null || ascii(record.setIdentifier ?? '', startIdentifier) >= 0;
      });
    }
    const page = records.slice(0, maxItems);
    const next = records[maxItems];
    return document('ListResourceRecordSetsResponse', [
      el('ResourceRecordSets', page.map(recordXml)),
      el('IsTruncated', next !== undefined),
      next ? el('NextRecordName', next.name) : undefined,
      next ? el('NextRecordType', next.type) : undefined,
      next ? el('NextRecordIdentifier', next.setIdentifier) : undefined,
      el('MaxItems', requested),
    ]);
  }

  function getHostedZone(zone: ZoneState): string {
    return document('GetHostedZoneResponse', [
      el('HostedZone', [
        el('Id', `/hostedzone/${zone.id}`),
        el('Name', zone.name),
        el('CallerReference', zone.callerReference),
        el('Config', [el('PrivateZone', false)]),
        el('ResourceRecordSetCount', zone.records.length),
      ]),
      el('DelegationSet', [
        el(
          'NameServers',
          zone.nameServers.map((server) => el('NameServer', server)),
        ),
      ]),
    ]);
  }

  const healthCheckXml = (check: HealthCheckState) =>
    el('HealthCheck', [
      el('Id', check.id),
      el('CallerReference', check.callerReference),
      el('HealthCheckConfig', [
        el('IPAddress', check.ipAddress),
        el('Port', check.port),
        el('Type', check.type),
        check.type === 'TCP' ? undefined : el('ResourcePath', check.resourcePath),
        el('FullyQualifiedDomainName', check.fqdn),
        el('RequestInterval', check.requestInterval),
        el('FailureThreshold', check.failureThreshold),
        el('MeasureLatency', false),
        el('Inverted', check.inverted),
        el('Disabled', check.disabled),
        check.type === 'HTTPS' ? el('EnableSNI', true) : undefined,
      ]),
      el('HealthCheckVersion', check.version),
    ]);

  function updateHealthCheck(check: HealthCheckState, body: string): string {
    let root: XmlElement;
    try {
      root = parseXml(body);
    } catch (error) {
      throw invalidInput(`Invalid XML ; ${(error as Error).message}`);
    }
    if (root.name !== 'UpdateHealthCheckRequest') {
      throw invalidInput(`Invalid XML ; expected UpdateHealthCheckRequest, found ${root.name}`);
    }
    const version = textOf(root, 'HealthCheckVersion');
    if (version !== undefined && Number(version) !== check.version) {
      throw new ApiError(
        409,
        'HealthCheckVersionMismatch',
        "The value of HealthCheckVersion in the request doesn't match the value of HealthCheckVersion in the health check.",
      );
    }
    const bool = (name: string) => {
      const text = textOf(root, name);
      return text === undefined ? undefined : text === 'true';
    };
    const inverted = bool('Inverted');
    if (inverted !== undefined && inverted !== check.inverted) {
      check.inverted = inverted;
      check.invertedHistory.push({ at: now() + propagationMs, value: inverted });
    }
    const disabled = bool('Disabled');
    if (disabled !== undefined) check.disabled = disabled;
    const port = textOf(root, 'Port');
    if (port !== undefined) check.port = Number(port);
    const path = textOf(root, 'ResourcePath');
    if (path !== undefined) check.resourcePath = path;
    const fqdn = textOf(root, 'FullyQualifiedDomainName');
    if (fqdn !== undefined) check.fqdn = fqdn;
    const ip = textOf(root, 'IPAddress');
    if (ip !== undefined) check.ipAddress = ip;
    const threshold = textOf(root, 'FailureThreshold');
    if (threshold !== undefined) check.failureThreshold = Number(threshold);
    check.version += 1;
    return document('UpdateHealthCheckResponse', [healthCheckXml(check)]);
  }

  function healthCheckStatus(check: HealthCheckState): string {
    const checkedAt = new Date(now()).toISOString();
    const inverted = invertedAt(check, now());
    const observations = checkerStates(check, now()).map((state, index) => {
      const detail = state.raw
        ? 'HTTP Status Code 200, OK'
        : 'Connection timed out. The endpoint or the internet connection is down, or requests are being blocked by your firewall.';
      const status = `${state.effective ? 'Success' : 'Failure'}: ${detail}${inverted ? ' The health check is inverted.' : ''}`;
      return el('HealthCheckObservation', [
        el('Region', CHECKER_REGIONS[index]),
        el('IPAddress', `15.177.${index * 2}.${10 + index}`),
        el('StatusReport', [el('Status', status), el('CheckedTime', checkedAt)]),
      ]);
    });
    return document('GetHealthCheckStatusResponse', [el('HealthCheckObservations', observations)]);
  }

  function handle(action: Route53Action, id: string, query: URLSearchParams, body: string): string {
    switch (action) {
      case 'ChangeResourceRecordSets':
        return changeResourceRecordSets(getZone(id), body);
      case 'ListResourceRecordSets':
        return listResourceRecordSets(getZone(id), query);
      case 'GetHostedZone':
        return getHostedZone(getZone(id));
      case 'GetChange': {
        const change = changes.get(id);
        if (!change)
          throw new ApiError(
            404,
            'NoSuchChange',
            `A change with the specified change ID does not exist: ${id}`,
          );
        return document('GetChangeResponse', [changeInfoXml(change)]);
      }
      case 'GetHealthCheck':
        return document('GetHealthCheckResponse', [healthCheckXml(getHealthCheck(id))]);
      case 'UpdateHealthCheck':
        return updateHealthCheck(getHealthCheck(id), body);
      case 'GetHealthCheckStatus':
        return healthCheckStatus(getHealthCheck(id));
    }
  }

  const sockets = new Set<Socket>();
  const server = createServer((request, response) => void serve(request, response));
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://route53.local');
    const method = request.method ?? 'GET';
    const matched = route(method, url.pathname);
    const entry: Route53RequestLogEntry = {
      at: now(),
      method,
      path: url.pathname,
      action: matched?.action ?? 'Unknown',
      status: 0,
    };
    requestLog.push(entry);
    // A long sandbox session polls for hours; the recent past is all a rate measurement needs.
    if (requestLog.length > MAX_LOGGED_REQUESTS)
      requestLog.splice(0, requestLog.length - MAX_LOGGED_REQUESTS);
    if (outage) {
      // An outage looks like a reset connection to the client, not an HTTP error.
      entry.reset = true;
      request.socket.resetAndDestroy();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) break;
      chunks.push(chunk);
    }
    const body = Buffer.concat(chunks);
    const requestId = randomUUID();
    let status = 200;
    let payload: string;
    try {
      if (size > MAX_BODY_BYTES) throw invalidInput('Invalid request: the request body is too large');
      const auth = checkAuthorization(request);
      if (options.credentials) verifySignature(request, body, auth, options.credentials);
      if (!matched) {
        throw new ApiError(
          404,
          'UnknownOperationException',
          `The Route 53 stand-in does not serve ${method} ${url.pathname}`,
        );
      }
      if (options.requestsPerSecond !== undefined) {
        const since = entry.at - 1000;
        // Every request counts against the quota, throttled ones included, as they do against Route 53's.
        const recent = requestLog.filter((logged) => logged.at > since && !logged.reset && logged !== entry);
        if (recent.length >= options.requestsPerSecond)
          throw faultError('Throttling', matched.action, matched.id);
      }
      const rule = faults.find(
        (candidate) => candidate.action === undefined || candidate.action === matched.action,
      );
      if (rule) {
        rule.remaining -= 1;
        if (rule.remaining <= 0) faults.splice(faults.indexOf(rule), 1);
        throw faultError(rule.fault, matched.action, matched.id);
      }
      payload = handle(matched.action, matched.id, url.searchParams, body.toString('utf8'));
    } catch (error) {
      const apiError =
        error instanceof ApiError
          ? error
          : new ApiError(
              500,
              'InternalFailure',
              `The request processing has failed: ${(error as Error).message}`,
            );
      status = apiError.status;
      entry.errorCode = apiError.code;
      payload = errorBody(apiError, requestId);
    }
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    entry.status = status;
    if (response.destroyed) return;
    response.writeHead(status, {
      'content-type': 'text/xml',
      'content-length': Buffer.byteLength(payload),
      'x-amzn-requestid': requestId,
    });
    response.end(payload);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  // --- DNS ------------------------------------------------------------------------------------------------------

  const servedRecords = (zone: ZoneState, time: number): StoredRecord[] => {
    let current = zone.published[0]?.records ?? [];
    let keepFrom = 0;
    zone.published.forEach((snapshot, index) => {
      if (snapshot.at <= time) {
        current = snapshot.records;
        keepFrom = index;
      }
    });
    // Older snapshots can never be served again.
    if (keepFrom > 0) zone.published.splice(0, keepFrom);
    return current;
  };

  const zoneFor = (name: string): ZoneState | undefined => {
    let best: ZoneState | undefined;
    for (const zone of zones.values()) {
      const zonePlain = plainName(zone.name);
      if (inZone(name, zonePlain) && (!best || zonePlain.length > plainName(best.name).length)) best = zone;
    }
    return best;
  };

  const recordHealthy = (record: StoredRecord, time: number): boolean => {
    if (record.healthCheckId !== undefined) {
      const check = healthChecks.get(record.healthCheckId);
      if (check && !effectiveHealthy(check, time)) return false;
    }
    if (record.aliasTarget?.evaluateTargetHealth) {
      const target = aliasTargets.get(plainName(record.aliasTarget.dnsName));
      if (target && !target.healthy) return false;
    }
    return true;
  };

  /** Route 53's choice among the record sets of one name and type. */
  const routeRecords = (records: StoredRecord[], time: number): StoredRecord[] => {
    if (records.length <= 1) return records;
    const healthy = records.filter((record) => recordHealthy(record, time));
    if (records.some((record) => record.failover !== undefined)) {
      const primary = records.find((record) => record.failover === 'PRIMARY');
      const secondary = records.find((record) => record.failover === 'SECONDARY');
      if (primary && healthy.includes(primary)) return [primary];
      if (secondary && healthy.includes(secondary)) return [secondary];
      // All unhealthy: Route 53 answers as if all were healthy.
      return primary ? [primary] : secondary ? [secondary] : [];
    }
    // Weighted, latency and multivalue records: answer the healthy ones (not modelled further).
    return healthy.length > 0 ? healthy : records;
  };

  type Lookup =
    | { kind: 'refused' }
    | { kind: 'nxdomain'; zone: ZoneState }
    | { kind: 'data'; zone?: ZoneState; records: DnsRecord[] };

  const typeName = (code: number): DnsTypeName | undefined =>
    (Object.keys(DNS_TYPES) as (keyof typeof DNS_TYPES)[]).find(
      (name) => DNS_TYPES[name] === code && DNS_SERVABLE.has(name),
    ) as DnsTypeName | undefined;

  const toDns = (owner: string, record: StoredRecord): DnsRecord[] =>
    (record.values ?? []).map((value) => ({
      name: owner,
      type: record.type as DnsTypeName,
      ttl: record.ttl ?? ALIAS_TTL,
      data: value,
    }));

  function lookup(name: string, qtype: number, time: number, depth: number): Lookup {
    const zone = zoneFor(name);
    if (!zone) {
      const alias = aliasTargets.get(name);
      if (!alias) return { kind: 'refused' };
      const wantV6 = qtype === DNS_TYPES.AAAA;
      const addresses = qtype === DNS_TYPES.A || wantV6 || qtype === DNS_TYPES.ANY ? alias.addresses : [];
      return {
        kind: 'data',
        records: addresses
          .filter((address) => (qtype === DNS_TYPES.ANY ? true : wantV6 ? isIPv6(address) : isIPv4(address)))
          .map((address) => ({ name, type: isIPv6(address) ? 'AAAA' : 'A', ttl: ALIAS_TTL, data: address })),
      };
    }
    const served = servedRecords(zone, time);
    let atName = served.filter((record) => plainName(record.name) === name);
    if (atName.length === 0) {
      const hasDescendant = served.some((record) => plainName(record.name).endsWith(`.${name}`));
      if (hasDescendant) return { kind: 'data', zone, records: [] };
      // Wildcards: the closest `*.parent` inside the zone.
      const labels = name.split('.');
      const zonePlain = plainName(zone.name);
      for (let index = 1; index < labels.length && atName.length === 0; index++) {
        const parent = labels.slice(index).join('.');
        if (!inZone(parent, zonePlain)) break;
        atName = served.filter((record) => plainName(record.name) === `*.${parent}`);
      }
      if (atName.length === 0) return { kind: 'nxdomain', zone };
    }
    const answers: DnsRecord[] = [];
    const answerType = (type: string) => {
      for (const record of routeRecords(
        atName.filter((candidate) => candidate.type === type),
        time,
      )) {
        if (!record.aliasTarget) {
          answers.push(...toDns(name, record));
          continue;
        }
        const target = plainName(record.aliasTarget.dnsName);
        if (depth > 8) continue;
        const resolved = lookup(target, DNS_TYPES[type as DnsTypeName], time, depth + 1);
        if (resolved.kind === 'data') {
          answers.push(...resolved.records.filter((rr) => rr.type === type).map((rr) => ({ ...rr, name })));
        }
      }
    };
    const cname = atName.some((record) => record.type === 'CNAME');
    if (cname && qtype !== DNS_TYPES.CNAME) {
      answerType('CNAME');
      const target = answers.find((rr) => rr.type === 'CNAME');
      if (target && depth <= 8) {
        const chased = lookup(plainName(target.data), qtype, time, depth + 1);
        if (chased.kind === 'data') answers.push(...chased.records);
      }
      return { kind: 'data', zone, records: answers };
    }
    if (qtype === DNS_TYPES.ANY) {
      for (const type of new Set(atName.map((record) => record.type)))
        if (DNS_SERVABLE.has(type)) answerType(type);
    } else {
      const wanted = typeName(qtype);
      if (wanted) answerType(wanted);
    }
    return { kind: 'data', zone, records: answers };
  }

  const soaFor = (zone: ZoneState, time: number): DnsRecord[] => {
    const soa = servedRecords(zone, time).find(
      (record) => record.type === 'SOA' && record.name === zone.name,
    );
    const data = soa?.values?.[0];
    if (!soa || data === undefined) return [];
    const minimum = Number(data.trim().split(/\s+/)[6] ?? soa.ttl);
    return [{ name: plainName(zone.name), type: 'SOA', ttl: Math.min(soa.ttl ?? 900, minimum), data }];
  };

  const answer = (question: DnsQuestion): DnsResponse => {
    const time = now();
    const result = lookup(question.name, question.type, time, 0);
    if (result.kind === 'refused') return { rcode: 'REFUSED', authoritative: false, answers: [] };
    if (result.kind === 'nxdomain') {
      return { rcode: 'NXDOMAIN', authoritative: true, answers: [], authority: soaFor(result.zone, time) };
    }
    return {
      rcode: 'NOERROR',
      authoritative: true,
      answers: result.records,
      ...(result.records.length === 0 && result.zone && { authority: soaFor(result.zone, time) }),
    };
  };

  let dnsServer: DnsServer | undefined;
  try {
    if (options.dns !== false) dnsServer = await startDnsServer({ answer });
  } catch (error) {
    await new Promise((resolve) => server.close(resolve));
    throw error;
  }

  const view = (record: StoredRecord): RecordSetSpec => cloneRecord(record);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    dnsAddress: dnsServer?.address ?? '',
    dnsPort: dnsServer?.port ?? 0,
    requests: requestLog,
    clearRequests: () => void requestLog.splice(0, requestLog.length),
    records: (zoneId) => getZone(zoneId).records.map(view),
    servedRecords: (zoneId) => servedRecords(getZone(zoneId), now()).map(view),
    change: (changeId) => {
      const change = changes.get(changeId.replace(/^\/change\//, ''));
      if (!change) return undefined;
      return {
        id: change.id,
        zoneId: change.zoneId,
        status: changeStatus(change),
        submittedAt: new Date(change.submittedAt).toISOString(),
        ...(change.comment !== undefined && { comment: change.comment }),
      };
    },
    changes: () =>
      [...changes.values()].map((change) => ({
        id: change.id,
        zoneId: change.zoneId,
        status: changeStatus(change),
        submittedAt: new Date(change.submittedAt).toISOString(),
        ...(change.comment !== undefined && { comment: change.comment }),
      })),
    healthCheck: (id) => {
      const check = healthChecks.get(id);
      if (!check) return undefined;
      return {
        id,
        version: check.version,
        inverted: check.inverted,
        disabled: check.disabled,
        healthyCheckers: check.healthyCheckers,
        effectiveHealthy: effectiveHealthy(check, now()),
      };
    },
    failNext: (count, fault, failOptions) => {
      if (count > 0)
        faults.push({ remaining: count, fault, ...(failOptions?.action && { action: failOptions.action }) });
    },
    setOutage: (on) => {
      outage = on;
    },
    setLatencyMs: (ms) => {
      latencyMs = ms;
    },
    setInsyncAfterMs: (ms) => {
      insyncAfterMs = ms;
    },
    setHealthCheckPropagationMs: (ms) => {
      propagationMs = ms;
    },
    setHealth: (id, healthy) => {
      const check = healthChecks.get(id);
      if (!check) throw new Error(`no health check ${id} in the Route 53 stand-in`);
      const total = CHECKER_REGIONS.length;
      check.healthyCheckers =
        typeof healthy === 'number' ? Math.max(0, Math.min(total, Math.round(healthy))) : healthy ? total : 0;
    },
    setAliasTarget: (dnsName, addresses, aliasOptions) => {
      aliasTargets.set(plainName(dnsName), {
        addresses: [...addresses],
        healthy: aliasOptions?.healthy ?? true,
      });
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await Promise.all([
        new Promise((resolve) => server.close(resolve)),
        dnsServer?.close() ?? Promise.resolve(),
      ]);
    },
  };
}
