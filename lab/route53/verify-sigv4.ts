/**
 * SigV4 on the stand-in, as the real service applies it: every request must carry a well-formed
 * `AWS4-HMAC-SHA256` Authorization header; when the stand-in knows the secret, it recomputes the signature from
 * the request it received — with the signer the AWS SDK itself uses, over the same signed headers and timestamp —
 * and compares the two in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { ApiError } from './route53-errors.js';

/** The parts of an Authorization header. */
export interface SigV4Authorization {
  accessKeyId: string;
  /** The credential scope's date, `YYYYMMDD`. */
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

/** Reads the Authorization header, refusing what the real service refuses before it looks at the signature. */
export function readAuthorization(request: IncomingMessage): SigV4Authorization {
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

const signatureMismatch = (): ApiError =>
  new ApiError(
    403,
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret ' +
      'Access Key and signing method. Consult the service documentation for details.',
  );

/** `20260101T000000Z` → its instant; undefined when the header is not in ISO 8601 basic format. */
function signingDateOf(amzDate: string | undefined): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate ?? '');
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second] = match.map(Number);
  const date = new Date(Date.UTC(year ?? 0, (month ?? 1) - 1, day, hour, minute, second));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** The query string as the SDK's request object holds it: decoded, repeated keys as lists. */
function queryOf(rawQuery: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const [key = '', value = ''] = pair.split('=', 2).map(decodeURIComponent);
    const existing = query[key];
    query[key] =
      existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
  }
  return query;
}

/**
 * Recomputes the request's signature with the SDK's SignatureV4 and compares it with the one sent. The body is
 * hashed here: the signer trusts `x-amz-content-sha256`, the service does not.
 */
export async function verifySignature(
  request: IncomingMessage,
  body: Buffer,
  auth: SigV4Authorization,
  credentials: { accessKeyId: string; secretAccessKey: string },
): Promise<void> {
  if (auth.accessKeyId !== credentials.accessKeyId) {
    throw new ApiError(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
  }
  const signingDate = signingDateOf(request.headersDistinct['x-amz-date']?.join(','));
  const contentHash = request.headersDistinct['x-amz-content-sha256']?.join(',');
  if (
    signingDate === undefined ||
    (contentHash !== undefined && contentHash !== createHash('sha256').update(body).digest('hex'))
  ) {
    throw signatureMismatch();
  }
  // Exactly the headers the client signed, repeated ones joined by commas as SigV4 canonicalizes them.
  const headers: Record<string, string> = {};
  for (const name of auth.signedHeaders) headers[name] = request.headersDistinct[name]?.join(',') ?? '';
  const [path = '/', rawQuery = ''] = (request.url ?? '/').split('?', 2);
  const signer = new SignatureV4({
    service: auth.service,
    region: auth.region,
    credentials,
    sha256: Hash.bind(null, 'sha256'),
    // The received headers are the whole story: add none (the content hash is already among them if signed).
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: request.method ?? 'GET',
      protocol: 'http:',
      hostname: request.headers.host ?? '',
      path,
      query: queryOf(rawQuery),
      headers,
      body,
    },
    { signingDate, signableHeaders: new Set(auth.signedHeaders) },
  );
  const expected = Buffer.from(/Signature=([0-9a-f]+)/.exec(signed.headers.authorization ?? '')?.[1] ?? '');
  const given = Buffer.from(auth.signature);
  if (expected.length === 0 || expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw signatureMismatch();
  }
}
