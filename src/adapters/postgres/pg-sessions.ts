/**
 * Short-lived PostgreSQL sessions for Baton, and the translation of everything that can go wrong into BatonErrors an
 * operator can act on. Each call opens its own session (so "what a new session gets" is what Baton reads) with
 * `statement_timeout`, `lock_timeout` and `application_name = 'baton'`, honours the step's AbortSignal, and always
 * closes. Connection strings and passwords never reach logs or errors: errors name the cluster and the variable.
 *
 * Only a connection-level failure (refused, timed out, no route, a dropped connection) is `database-unreachable`. A
 * server that answers at all is up: a refused login, `too many clients`, a pg_hba reject or a permission error each
 * have their own code, and the split-brain guard never takes them for "unreachable".
 */
import { Client, DatabaseError } from 'pg';
import type { ClusterId, DatabaseConfig, SiteConfig } from '../../config/topology.js';
import { BatonError, describeError } from '../../errors.js';
import { scrubSecrets } from '../../logger.js';

export interface PgSessionsOptions {
  /** The URL of `cluster`'s database; the composition root reads it from the member's `urlEnv` variable. */
  urlFor: (site: SiteConfig, cluster: ClusterId) => string;
  /** `statement_timeout` of every session (default 5000 ms). */
  statementTimeoutMs?: number;
  /** How long to wait for a connection (default 3000 ms). */
  connectTimeoutMs?: number;
}

export interface SessionOptions {
  signal?: AbortSignal | undefined;
  /** statement_timeout of this session, when one statement is allowed to wait longer. */
  statementTimeoutMs?: number;
}

// What each action needs, for "permission denied" messages.
const GRANT_HINTS: Record<string, string> = {
  fence:
    'GRANT ALTER SYSTEM ON PARAMETER default_transaction_read_only, EXECUTE ON FUNCTION pg_reload_conf(), ' +
    'pg_signal_backend and pg_read_all_stats',
  unfence:
    'GRANT ALTER SYSTEM ON PARAMETER default_transaction_read_only and EXECUTE ON FUNCTION pg_reload_conf()',
  promote:
    'GRANT EXECUTE ON FUNCTION pg_promote(boolean, integer), and for a fenced standby ALTER SYSTEM ON PARAMETER ' +
    'default_transaction_read_only and EXECUTE ON FUNCTION pg_reload_conf()',
};

/** The server is shutting down, crashed, or starting up: up in some sense, not answering queries yet. */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03']);

export class PgSessions {
  readonly statementTimeoutMs: number;
  readonly connectTimeoutMs: number;
  private readonly urlFor: PgSessionsOptions['urlFor'];
  private readonly open = new Set<Client>();

  constructor(options: PgSessionsOptions) {
    this.urlFor = options.urlFor;
    this.statementTimeoutMs = options.statementTimeoutMs ?? 5_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 3_000;
  }

  database(site: SiteConfig, cluster: ClusterId): DatabaseConfig {
    const database = site.database;
    if (!database || !database.members[cluster]) {
      throw new BatonError(
        'database-not-configured',
        `${site.name}: no database member for ${cluster} in the topology (database.${cluster}.urlEnv)`,
      );
    }
    return database;
  }

  envName(site: SiteConfig, cluster: ClusterId): string {
    return site.database?.members[cluster]?.urlEnv ?? `database.${cluster}.urlEnv`;
  }

  /** Opens a session, runs `fn`, always closes it; every failure comes out as a BatonError without the URL. */
  async session<T>(
    site: SiteConfig,
    cluster: ClusterId,
    action: string,
    fn: (client: Client) => Promise<T>,
    options: SessionOptions = {},
  ): Promise<T> {
    this.database(site, cluster);
    const { signal } = options;
    signal?.throwIfAborted();
    const urlEnv = this.envName(site, cluster);
    let url: string;
    try {
      url = this.urlFor(site, cluster);
    } catch (error) {
      if (error instanceof BatonError) throw error;
      throw new BatonError('config-invalid', `${cluster}'s database: no URL — set ${urlEnv}`);
    }
    const statementTimeoutMs = options.statementTimeoutMs ?? this.statementTimeoutMs;
    let client: Client;
    try {
      client = new Client({
        connectionString: url,
        application_name: 'baton',
        statement_timeout: statementTimeoutMs,
        lock_timeout: this.statementTimeoutMs,
        connectionTimeoutMillis: this.connectTimeoutMs,
        // Client-side bound for a server that stops answering, where statement_timeout cannot fire.
        query_timeout: statementTimeoutMs + 2_000,
      });
    } catch {
      // The parser's error carries the URL itself; say which variable is wrong instead.
      throw new BatonError(
        'config-invalid',
        `${cluster}'s database: ${urlEnv} is not a valid PostgreSQL URL (postgres://user:password@host:5432/db)`,
      );
    }
    // A session ended by the server while idle emits 'error'; the next query reports it.
    client.on('error', () => undefined);
    // The step gave up: drop the connection, so a statement in flight stops here too (the server cancels it when it
    // notices the socket is gone).
    const onAbort = () => void client.end().catch(() => undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
    this.open.add(client);
    try {
      try {
        await client.connect();
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        throw this.translate(cluster, urlEnv, 'connect', error);
      }
      try {
        return await fn(client);
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        throw this.translate(cluster, urlEnv, action, error);
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.open.delete(client);
      await client.end().catch(() => undefined);
    }
  }

  /** Ends sessions still open (a call in flight fails). Each call opens its own, so this is only for shutdown. */
  async close(): Promise<void> {
    await Promise.all([...this.open].map((client) => client.end().catch(() => undefined)));
    this.open.clear();
  }

  private translate(cluster: ClusterId, urlEnv: string, action: string, error: unknown): BatonError {
    if (error instanceof BatonError) return error;
    const where = `${cluster}'s database (${urlEnv})`;
    if (error instanceof DatabaseError) {
      const code = error.code ?? '';
      const detail = scrubSecrets(error.message);
      if (UNAVAILABLE_STATES.has(code)) {
        return new BatonError(
          'database-unavailable',
          `${where} answered that it is not available (${detail}): it is shutting down, restarting or starting up`,
          { retriable: true, cause: error },
        );
      }
      if (code === '28P01') {
        return new BatonError(
          'database-auth-failed',
          `${where} refused Baton's login: ${detail} — check the user and password in ${urlEnv}`,
          { cause: error },
        );
      }
      if (code === '28000' || code.startsWith('53')) {
        return new BatonError(
          'database-refused',
          `${where} answered but refused Baton: ${detail} (SQLSTATE ${code}) — ` +
            (code.startsWith('53')
              ? 'it is out of connections or resources; free some (or raise max_connections), then Retry'
              : `check pg_hba.conf and the role in ${urlEnv}`),
          { retriable: code.startsWith('53'), cause: error },
        );
      }
      if (code === '42501') {
        const hint = GRANT_HINTS[action] ?? 'see the minimal grants in the PostgreSQL adapter documentation';
        return new BatonError(
          'database-permission-denied',
          `${where}: ${action} was refused (${detail}) — Baton's role needs: ${hint}`,
          { cause: error },
        );
      }
      if (code === '57014') {
        return new BatonError(
          'database-timeout',
          `${where}: ${action} did not finish within the statement timeout (${detail}) — Retry; if it repeats, ` +
            'look for locks or load on the server',
          { retriable: true, cause: error },
        );
      }
      return new BatonError('database-error', `${where}: ${action} failed: ${detail} (SQLSTATE ${code})`, {
        cause: error,
      });
    }
    // Not the server's answer: the network, a timeout, or a dropped connection. No cause: such errors may quote
    // the address, and future client versions might quote more.
    return new BatonError(
      'database-unreachable',
      `${where} is unreachable during ${action}: ${networkReason(error, this.connectTimeoutMs)} — check that it is up ` +
        `and that ${urlEnv} points at it`,
      { retriable: true },
    );
  }
}

/** The one row `sql` returns. */
export async function one<R>(client: Client, sql: string, params: unknown[] = []): Promise<R> {
  const result = await client.query(sql, params);
  const row = result.rows[0] as R | undefined;
  if (row === undefined) throw new Error(`no row from: ${sql.split('\n')[0]}`);
  return row;
}

function networkReason(error: unknown, connectTimeoutMs: number): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host name not found';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'no route to host';
  if (code === 'ETIMEDOUT' || /timeout/i.test(message))
    return `no answer in time (connect timeout ${connectTimeoutMs} ms)`;
  if (code === 'ECONNRESET' || /terminated|closed|ended/i.test(message)) return 'the connection was closed';
  if (typeof code === 'string') return code;
  return scrubSecrets(describeError(error)).slice(0, 200);
}
