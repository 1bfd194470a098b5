/**
 * DNS verification: resolve a site's record the way a user's resolver would and say which cluster the answers
 * belong to. Used by the Route 53 adapter's `resolveTarget`; it needs no SDK, only `node:dns`.
 */
import { Resolver } from 'node:dns/promises';
import { lookup as systemLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { ClusterId, DnsTarget, SiteConfig } from '../config/topology.js';
import { BatonError } from '../errors.js';

export interface ResolvedTarget {
  /** The cluster whose target the answers match; null when they match neither (or both). */
  cluster: ClusterId | null;
  /** Addresses (A/AAAA) or the canonical name (CNAME) the record resolved to, sorted. */
  answers: string[];
}

export interface ResolveTargetOptions {
  /**
   * `host:port` servers to ask when the site configures no `dns.resolvers` — the Route 53 adapter passes the
   * hosted zone's own name servers.
   */
  defaultServers?: () => Promise<string[]>;
  /** Per-attempt timeout of one query (default 2000 ms). */
  timeoutMs?: number;
  /** Attempts per server (default 2). */
  tries?: number;
  /** Turns a resolver's host name into addresses (default: the system's getaddrinfo). */
  lookup?: (hostname: string) => Promise<string[]>;
  /** The step's signal: aborting it cancels the queries in flight. */
  signal?: AbortSignal;
  /**
   * `host:port` servers that resolve alias target names (a load balancer's) when the site's servers do not
   * (default: the system's resolvers). The zone's own name servers refuse such names, as Route 53's do.
   */
  aliasServers?: string[];
}

const DEFAULT_TIMEOUT_MS = 2000;
const DEFAULT_TRIES = 2;

/** Answers that mean "no such data" rather than "could not ask". */
const NO_DATA = new Set(['ENOTFOUND', 'ENODATA']);

/** `host:port`, `[v6]:port` or a bare host (port 53). */
export function parseHostPort(text: string, defaultPort = 53): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) return { host: bracketed[1] ?? '', port: Number(bracketed[2] ?? defaultPort) };
  if (isIP(text) === 6) return { host: text, port: defaultPort };
  const colon = text.lastIndexOf(':');
  if (colon < 0) return { host: text, port: defaultPort };
  return { host: text.slice(0, colon), port: Number(text.slice(colon + 1)) };
}

const formatServer = (address: string, port: number): string =>
  isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;

async function lookupAll(hostname: string): Promise<string[]> {
  const found = await systemLookup(hostname, { all: true });
  // IPv4 first: an unreachable IPv6 server would cost a timeout per query before c-ares moves on.
  return found.sort((a, b) => a.family - b.family).map((entry) => entry.address);
}

/**
 * Turns `host:port` entries into the `address:port` form `Resolver.setServers` needs, looking up host names.
 * Throws `dns-resolver-unknown` when a name does not resolve.
 */
export async function serverAddresses(
  hostPorts: string[],
  lookup: (hostname: string) => Promise<string[]> = lookupAll,
): Promise<string[]> {
  const servers: string[] = [];
  for (const entry of hostPorts) {
    const { host, port } = parseHostPort(entry);
    if (isIP(host) !== 0) {
      servers.push(formatServer(host, port));
      continue;
    }
    let addresses: string[];
    try {
      addresses = await lookup(host);
    } catch (error) {
      throw new BatonError(
        'dns-resolver-unknown',
        `Cannot look up the DNS server ${host} (${(error as NodeJS.ErrnoException).code ?? String(error)}) — ` +
          `check dns.resolvers, or that this host can resolve the hosted zone's name servers`,
        { retriable: true, cause: error },
      );
    }
    for (const address of addresses) servers.push(formatServer(address, port));
  }
  return [...new Set(servers)];
}

/** Lowercase, unescaped (`\052` → `*`), without the trailing dot. */
export function normalizeDnsName(name: string): string {
  return name
    .replace(/\\(\d{3})/g, (_all, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)))
    .replace(/\.$/, '')
    .toLowerCase();
}

/** One spelling per address (IPv6 compressed and lowercase) so answers compare as sets. */
export function normalizeAddress(address: string): string {
  if (isIP(address) !== 6) return address.trim();
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

type RecordType = SiteConfig['dns']['recordType'];

async function query(resolver: Resolver, name: string, type: RecordType): Promise<string[]> {
  switch (type) {
    case 'A':
      return resolver.resolve4(name);
    case 'AAAA':
      return resolver.resolve6(name);
    case 'CNAME':
      return resolver.resolveCname(name);
  }
}

const normalizeAnswer = (type: RecordType, value: string): string =>
  type === 'CNAME' ? normalizeDnsName(value) : normalizeAddress(value);

/** Resolves `name`; NXDOMAIN and NODATA give no answers, every other failure throws `dns-resolve-failed`. */
async function resolveAnswers(
  resolver: Resolver,
  servers: string[],
  name: string,
  type: RecordType,
): Promise<string[]> {
  try {
    const answers = await query(resolver, name, type);
    return [...new Set(answers.map((answer) => normalizeAnswer(type, answer)))].sort();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (NO_DATA.has(code)) return [];
    throw new BatonError(
      'dns-resolve-failed',
      `Could not resolve ${name} ${type} through ${servers.join(', ')} (${code || String(error)}) — check that ` +
        `these servers answer from where Baton runs, or set dns.resolvers`,
      { retriable: true, cause: error },
    );
  }
}

/**
 * The addresses an alias target resolves to. The zone's own name servers do not serve a load balancer's zone
 * (they answer REFUSED), and a REFUSED answer ends a query rather than moving it to the next server, so each of
 * the site's servers is asked in turn; when none gives an answer, `aliasServers` or the system's resolvers are.
 */
async function aliasAnswers(
  resolver: Resolver,
  servers: string[],
  target: Extract<DnsTarget, { aliasDnsName: string }>,
  type: RecordType,
  options: ResolveTargetOptions,
): Promise<string[]> {
  const name = normalizeDnsName(target.aliasDnsName);
  if (type === 'CNAME') return [name];
  try {
    const answers = await resolveAnswers(resolver, servers, name, type);
    if (answers.length > 0) return answers;
  } catch {
    // Ask the servers one by one, then the alias servers or the system's resolvers.
  }
  for (const server of servers.length > 1 ? servers : []) {
    const one = new Resolver({
      timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      tries: options.tries ?? DEFAULT_TRIES,
    });
    one.setServers([server]);
    try {
      const answers = await resolveAnswers(one, [server], name, type);
      if (answers.length > 0) return answers;
    } catch {
      // The next server.
    }
  }
  const fallback = new Resolver({
    timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    tries: options.tries ?? DEFAULT_TRIES,
  });
  try {
    if (options.aliasServers?.length) {
      fallback.setServers(await serverAddresses(options.aliasServers, options.lookup));
    }
    return await resolveAnswers(fallback, fallback.getServers(), name, type);
  } catch {
    return [];
  }
}

/**
 * Resolves the site's record through `dns.resolvers` (or `defaultServers`) and decides which cluster it serves:
 * for `values` targets the answer set must equal the target's values; for alias targets the answers must share an
 * address with what the alias name itself resolves to (load balancers rotate addresses, so sets rarely equal);
 * for CNAME records the canonical name is compared.
 */
export async function resolveTarget(
  site: SiteConfig,
  options: ResolveTargetOptions = {},
): Promise<ResolvedTarget> {
  const { dns } = site;
  const configured = dns.resolvers && dns.resolvers.length > 0 ? dns.resolvers : undefined;
  const hostPorts = configured ?? (await options.defaultServers?.()) ?? [];
  if (hostPorts.length === 0) {
    throw new BatonError(
      'dns-no-resolvers',
      `No DNS servers to verify ${dns.recordName} with — set dns.resolvers for site ${site.name}`,
    );
  }
  const servers = await serverAddresses(hostPorts, options.lookup);
  const resolver = new Resolver({
    timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    tries: options.tries ?? DEFAULT_TRIES,
  });
  resolver.setServers(servers);
  const { signal } = options;
  signal?.throwIfAborted();
  // The step's signal cancels the queries in flight (they reject with ECANCELLED); its reason is what is reported.
  const cancel = () => resolver.cancel();
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    return await matchTarget(site, resolver, servers, options);
  } catch (error) {
    signal?.throwIfAborted();
    throw error;
  } finally {
    signal?.removeEventListener('abort', cancel);
  }
}

/** Which cluster's target the record's answers match. */
async function matchTarget(
  site: SiteConfig,
  resolver: Resolver,
  servers: string[],
  options: ResolveTargetOptions,
): Promise<ResolvedTarget> {
  const { dns } = site;
  const name = normalizeDnsName(dns.recordName);
  const answers = await resolveAnswers(resolver, servers, name, dns.recordType);
  if (answers.length === 0) return { cluster: null, answers };

  const matching: ClusterId[] = [];
  for (const cluster of Object.keys(site.clusters)) {
    const target = dns.targets[cluster];
    if (!target) continue;
    if ('values' in target) {
      const expected = [
        ...new Set(target.values.map((value) => normalizeAnswer(dns.recordType, value))),
      ].sort();
      if (expected.length === answers.length && expected.every((value, index) => value === answers[index])) {
        matching.push(cluster);
      }
      continue;
    }
    const expected = new Set(await aliasAnswers(resolver, servers, target, dns.recordType, options));
    if (answers.some((answer) => expected.has(answer))) matching.push(cluster);
  }
  return { cluster: matching.length === 1 ? (matching[0] ?? null) : null, answers };
}
