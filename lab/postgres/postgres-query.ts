/**
 * One SQL statement on a fresh connection, for the lab's PostgreSQL pairs and the tests and drills that inspect
 * them (no psql needed).
 */
import { Client } from 'pg';

/**
 * Runs `sql` once on a fresh connection and returns the rows; for the lab (no psql needed). The connection is
 * always closed.
 */
export async function query<R extends Record<string, unknown> = Record<string, unknown>>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<R[]> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined); // a server that dies mid-query is reported by the query itself
  try {
    await client.connect();
    const result = await client.query<R>(sql, params);
    return result.rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}
