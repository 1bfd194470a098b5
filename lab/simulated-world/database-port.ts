/**
 * The simulated PostgreSQL pair behind Baton's DatabasePort: status and lag, fencing (or a CloudNativePG demotion
 * with its token), promotion, the waits for writability and replay, writes since a fence, and the replication view.
 * The behaviour itself is in simulated-database.ts; this file maps port calls onto it.
 */
import type { ClusterId } from '../../src/config/topology.js';
import type { DatabasePort } from '../../src/core/ports.js';
import { waitUntil } from '../../src/core/wait.js';
import { BatonError } from '../../src/errors.js';
import {
  assertWritable,
  databaseStatus,
  fenceMark,
  lsnNumber,
  lsnText,
  reachDatabase,
  replayOf,
  settlePromotion,
} from './simulated-database.js';
import type { WorldState } from './world-state.js';
import type { WorldContext } from './world-store.js';

export function simulatedDatabasePort({ store, clock, timing, enter }: WorldContext): DatabasePort {
  const database = (state: WorldState, id: ClusterId) => reachDatabase(state, id, clock.now());
  return {
    status: async (_site, id) => {
      const after = await enter('database.status', id);
      const status = await store.update((state) => databaseStatus(state, id, clock.now()));
      after();
      return status;
    },
    fence: async (site, id, options) => {
      const after = await enter('database.fence', id);
      const result = await store.update((state) => {
        const db = database(state, id);
        if (options?.demoteTo !== undefined && site.database?.promotion === 'cloudnative-pg') {
          // CloudNativePG: the source Cluster is demoted (a clean shutdown, then a replica) and publishes a token.
          const mark = fenceMark(state, db);
          db.role = 'standby';
          db.demotedFor = options.demoteTo;
          db.demotionToken ??= `cnpg-sim:${mark.lsn}:${db.timeline}`;
          state.actions.push(`demote ${id}`);
          return { ...mark, promotionToken: db.demotionToken };
        }
        db.readOnly = true;
        state.actions.push(`fence ${id}`);
        return fenceMark(state, db);
      });
      after();
      return result;
    },
    unfence: async (_site, id) => {
      await enter('database.unfence', id);
      await store.update((state) => {
        database(state, id).readOnly = false;
        state.actions.push(`unfence ${id}`);
      });
    },
    requestPromotion: async (_site, id, options) => {
      const after = await enter('database.requestPromotion', id);
      await store.update((state) => {
        const db = database(state, id);
        if (db.role === 'primary' || db.promoteAt !== undefined) return;
        if (options?.promotionToken !== undefined) {
          const demoted = Object.values(state.clusters).find((c) => c.db.demotedFor === id)?.db;
          if (!demoted || demoted.demotionToken !== options.promotionToken) {
            throw new BatonError(
              'cnpg-token-rejected',
              `${id}: the promotion token does not match the demoted source's (simulated CloudNativePG)`,
            );
          }
        }
        db.promoteAt = clock.now() + timing.promotionAfterMs;
        settlePromotion(db, state, clock.now());
        state.actions.push(`promote ${id}`);
      });
      after();
    },
    waitUntilWritable: (_site, id, options) =>
      waitUntil(clock, { pollMs: 100, ...options }, async () => {
        await enter('database.waitUntilWritable', id);
        return store.update((state) => {
          const db = database(state, id);
          if (db.role !== 'primary') return { done: false, seen: `${id}'s database still in recovery` };
          if (db.readOnly && options.clearFence) db.readOnly = false;
          assertWritable(db, id);
          return { done: true, value: undefined };
        });
      }),
    proveWritable: async (_site, id) => {
      await enter('database.proveWritable', id);
      await store.update((state) => assertWritable(database(state, id), id));
    },
    waitForReplay: (_site, id, lsn, options) =>
      waitUntil(clock, { pollMs: 100, ...options }, async () => {
        await enter('database.waitForReplay', id);
        return store.update((state) => {
          const db = database(state, id);
          const replay = replayOf(state, db);
          if (replay >= lsnNumber(lsn)) return { done: true, value: { lsn: lsnText(replay) } };
          if (db.role === 'primary') {
            throw new BatonError(
              'not-a-standby',
              `${id}'s database left recovery at ${lsnText(replay)}, short of ${lsn}`,
            );
          }
          return {
            done: false,
            seen: `${id} replayed up to ${lsnText(replay)}, ${lsnNumber(lsn) - replay} bytes behind ${lsn}`,
          };
        });
      }),
    writesSince: async (_site, id, mark) => {
      await enter('database.writesSince', id);
      return store.update((state) => {
        const db = database(state, id);
        const from = Number(mark.nextXid);
        const committed = db.commits.filter(
          (xid) => xid >= from || mark.openXids.includes(String(xid)),
        ).length;
        return { lsn: lsnText(replayOf(state, db)), committed, writers: [] };
      });
    },
    replication: async (_site, standbyId, primaryId) => {
      await enter('database.replication', standbyId);
      return store.update((state) => {
        const standby = database(state, standbyId);
        const replay = replayOf(state, standby);
        const follows = standby.role === 'standby' && standby.upstream === primaryId;
        let primary: Awaited<ReturnType<DatabasePort['replication']>>['primary'];
        try {
          const p = database(state, primaryId);
          primary = {
            inRecovery: p.role !== 'primary',
            timeline: p.timeline,
            lsn: lsnText(p.lsn),
            listsStandby: follows,
          };
        } catch (error) {
          primary = { unreachable: error instanceof Error ? error.message : String(error) };
        }
        const upstream = standby.upstream ? state.clusters[standby.upstream]?.db : undefined;
        const streaming = follows && upstream !== undefined && upstream.reachable;
        return {
          standby: {
            inRecovery: standby.role === 'standby',
            receiver: streaming ? 'streaming' : null,
            receivedTimeline: streaming && upstream ? upstream.timeline : null,
            receiveLsn: lsnText(replay),
            replayLsn: lsnText(replay),
          },
          primary,
        };
      });
    },
  };
}
