/**
 * The sandbox page's database buttons on a real PostgreSQL pair: a client that writes past the fence, the wrong way
 * back (a restart as a standby without a rewind) and the right one (a rebuild), a crash and a restart, each as the
 * world panel reads it.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseBreaks } from '../../../lab/postgres/database-breaks.js';
import { databaseBreaks } from '../../../lab/postgres/database-breaks.js';
import type { PostgresPair } from '../../../lab/postgres/postgres-pair.js';
import { query, startPostgresPair } from '../../../lab/postgres/postgres-pair.js';
import { waitFor } from '../../support/integration.js';

let pair: PostgresPair;
let breaks: DatabaseBreaks;

beforeAll(async () => {
  pair = await startPostgresPair({ names: { primary: 'east', standby: 'west' } });
  breaks = databaseBreaks(pair);
}, 60_000);
afterAll(async () => {
  await pair?.stop();
});

const role = async (cluster: string) => (await breaks.view(cluster))?.role;

describe('the sandbox database breaks', () => {
  it('writes past a fence in one transaction, and a standby refuses the write', async () => {
    const east = pair.urls.east as string;
    await query(east, 'ALTER SYSTEM SET default_transaction_read_only = on');
    await query(east, 'SELECT pg_reload_conf()');
    await waitFor('east fenced', async () => (await role('east')) === 'fenced primary', 5_000);

    const write = await breaks.writeAnyway('east');
    expect(write.committed, write.detail).toBe(true);
    expect(write.detail).toMatch(/^committed on east: row 1 of sandbox_hostile_writes, transaction \d+/);
    expect((await breaks.view('east'))?.lastWrite).toEqual(write);
    // The table and the row are one transaction: Baton counts one write after the fence, not two.
    const [row] = await query<{ xmin: string; table_xmin: string }>(
      east,
      'SELECT w.xmin::text, c.xmin::text AS table_xmin FROM sandbox_hostile_writes w, pg_class c ' +
        "WHERE c.relname = 'sandbox_hostile_writes'",
    );
    expect(row?.xmin).toBe(row?.table_xmin);

    const refused = await breaks.writeAnyway('west');
    expect(refused.committed).toBe(false);
    expect(refused.detail).toContain('read-only transaction');
  });

  it('an old primary rejoined without a rewind cannot follow; rebuilt, it streams and the write is gone', async () => {
    const west = pair.urls.west as string;
    await query(west, 'SELECT pg_promote()');
    await waitFor('west promoted', async () => (await role('west')) === 'primary', 10_000);
    await breaks.writeAnyway('east'); // a write west never had, after west's promotion

    await breaks.rejoinWithoutRewind('east');
    // It waits for a timeline it cannot switch to: its log says why, and it never streams.
    await waitFor(
      "east's log to say it has diverged",
      async () =>
        /forked off current database system timeline/.test(
          await readFile(pair.nodes.east?.logFile ?? '', 'utf8'),
        ),
      15_000,
    );
    expect(await breaks.view('east')).toMatchObject({ role: 'standby', streaming: false });

    await breaks.rebuildStandby('east');
    const rebuilt = await breaks.view('east');
    expect(rebuilt).toMatchObject({ role: 'standby', streaming: true });
    expect(rebuilt?.lastWrite).toBeUndefined();
    await expect(breaks.rejoinWithoutRewind('west')).rejects.toThrow(/west's database is the primary/);
  }, 60_000);

  it('a crashed primary comes back writable', async () => {
    await breaks.database('west', false);
    expect(await role('west')).toBe('down');
    await breaks.database('west', true);
    expect(await role('west')).toBe('primary');
  }, 60_000);
});
