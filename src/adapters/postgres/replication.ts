/**
 * How a standby follows its primary, read from both sides, and the waits on replication and promotion. Every wait is
 * core's `waitUntil`, bounded by the step's signal (or `timeoutMs` for callers without one).
 */
import type { ClusterId, SiteConfig } from '../../config/topology.js';
import { lsnDiff, parseLsn } from '../../core/lsn.js';
import type { Clock, ReplicationState, WaitOptions } from '../../core/ports.js';
import { waitUntil } from '../../core/wait.js';
import { BatonError, describeError } from '../../errors.js';
import type { PgSessions } from './pg-sessions.js';
import { one } from './pg-sessions.js';

interface StandbyRow {
  in_recovery: boolean;
  receiver: string | null;
  received_tli: number | null;
  receive_lsn: string | null;
  replay_lsn: string | null;
  slot_name: string | null;
  conninfo: string | null;
  cluster_name: string;
}

interface PrimaryRow {
  in_recovery: boolean;
  timeline: number | null;
  lsn: string;
}

/**
 * The standby's WAL receiver (pg_stat_wal_receiver, whose details need pg_read_all_stats) and the primary's view:
 * its timeline — taken from the name of its current WAL file, which follows the timeline at once after a promotion
 * while pg_control_checkpoint() waits for the next checkpoint — and whether pg_stat_replication lists the standby.
 */
export async function readReplication(
  sessions: PgSessions,
  site: SiteConfig,
  standby: ClusterId,
  primary: ClusterId,
  signal?: AbortSignal,
): Promise<ReplicationState> {
  const s = await sessions.session(
    site,
    standby,
    'read replication',
    (client) =>
      one<StandbyRow>(
        client,
        `SELECT pg_is_in_recovery() AS in_recovery, w.status AS receiver, w.received_tli,
                pg_last_wal_receive_lsn()::text AS receive_lsn, pg_last_wal_replay_lsn()::text AS replay_lsn,
                w.slot_name, w.conninfo, current_setting('cluster_name') AS cluster_name
           FROM (SELECT 1) AS one LEFT JOIN pg_stat_wal_receiver w ON true`,
      ),
    { signal },
  );
  const standbySide: ReplicationState['standby'] = {
    inRecovery: s.in_recovery,
    receiver: s.receiver,
    receivedTimeline: s.received_tli,
    receiveLsn: s.receive_lsn,
    replayLsn: s.replay_lsn,
  };
  try {
    const p = await sessions.session(
      site,
      primary,
      'read replication',
      async (client) => {
        const row = await one<PrimaryRow>(
          client,
          `SELECT pg_is_in_recovery() AS in_recovery,
                  CASE WHEN pg_is_in_recovery() THEN NULL
                       ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END AS timeline,
                  (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text AS lsn`,
        );
        // The walreceiver's name on the primary: application_name from primary_conninfo, else cluster_name, else
        // "walreceiver" (PostgreSQL's own fallback); a replication slot names it too.
        const name =
          /(?:^|\s)application_name=(\S+)/.exec(s.conninfo ?? '')?.[1] ?? (s.cluster_name || 'walreceiver');
        const listed = await one<{ listed: boolean }>(
          client,
          `SELECT EXISTS (
             SELECT 1 FROM pg_stat_replication r
              WHERE r.state = 'streaming'
                AND (r.application_name = $1
                     OR r.pid IN (SELECT active_pid FROM pg_replication_slots WHERE slot_name = $2 AND active))
           ) AS listed`,
          [name, s.slot_name ?? ''],
        );
        return { ...row, listed: listed.listed };
      },
      { signal },
    );
    return {
      standby: standbySide,
      primary: { inRecovery: p.in_recovery, timeline: p.timeline ?? 0, lsn: p.lsn, listsStandby: p.listed },
    };
  } catch (error) {
    if (signal?.aborted) throw error;
    return { standby: standbySide, primary: { unreachable: describeError(error) } };
  }
}

/**
 * Until `cluster`'s standby has replayed WAL up to `lsn` (e.g. a fenced primary's final position). Throws
 * `not-a-standby` when it left recovery short of `lsn`; at `timeoutMs`, `replay-timeout` naming how far it got.
 */
export async function waitForReplay(
  sessions: PgSessions,
  clock: Clock,
  site: SiteConfig,
  cluster: ClusterId,
  lsn: string,
  options: WaitOptions,
): Promise<{ lsn: string }> {
  const target = parseLsn(lsn);
  const started = clock.now();
  return waitUntil(
    clock,
    {
      ...options,
      pollMs: options.pollMs ?? 100,
      timeoutError: (seen) =>
        new BatonError(
          'replay-timeout',
          `${seen}, after ${clock.now() - started} ms — check that it is streaming (pg_stat_wal_receiver), then Retry`,
          { retriable: true },
        ),
    },
    async () => {
      const row = await sessions.session(
        site,
        cluster,
        'wait for replay',
        (client) =>
          one<{
            in_recovery: boolean;
            replay: string | null;
            paused: boolean | null;
            receiver: string | null;
          }>(
            client,
            `SELECT pg_is_in_recovery() AS in_recovery, pg_last_wal_replay_lsn()::text AS replay,
                    CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() END AS paused,
                    (SELECT status FROM pg_stat_wal_receiver) AS receiver`,
          ),
        { signal: options.signal },
      );
      if (row.replay !== null && parseLsn(row.replay) >= target)
        return { done: true, value: { lsn: row.replay } };
      if (!row.in_recovery) {
        throw new BatonError(
          'not-a-standby',
          `${cluster}'s database left recovery at ${row.replay ?? 'an unknown position'}, short of ${lsn}: ` +
            'it was promoted before catching up, so writes after that point are only on the old primary',
        );
      }
      const behind =
        row.replay === null ? 'nothing replayed yet' : `${lsnDiff(lsn, row.replay)} bytes behind`;
      return {
        done: false,
        seen:
          `${cluster}'s standby replayed up to ${row.replay ?? '?'}, ${behind} ${lsn}` +
          (row.paused
            ? ' — replay is paused on it: run SELECT pg_wal_replay_resume() there'
            : row.receiver !== 'streaming'
              ? ` — its WAL receiver is ${row.receiver ?? 'not running'}`
              : ''),
      };
    },
  );
}
