/**
 * The pure verdicts behind the database safety rules: signed LSN distances, whether a standby follows its primary,
 * and what the RPO may claim. Real PostgreSQL proves the adapter feeds them the right readings
 * (test/integration/database-safety.test.ts); these pin down the wording and the edges.
 */
import { describe, expect, it } from 'vitest';
import { judgeFollower } from '../../src/core/follower.js';
import { compareLsn, formatLsn, lsnDiff, parseLsn } from '../../src/core/lsn.js';
import type { ReplicationState } from '../../src/core/ports.js';
import { formatRpo, measureRpo } from '../../src/core/rpo.js';
import { refusal } from '../support/core-fixtures.js';

const FENCE = {
  lsn: '0/3000100',
  nextXid: '800',
  openXids: [],
  prepared: [],
  endedSessions: 0,
  standby: false,
};

describe('LSNs', () => {
  it('are signed: a standby ahead of its primary is a negative distance, never clamped to 0', () => {
    expect(lsnDiff('0/3000100', '0/3000000')).toBe(256);
    expect(lsnDiff('0/3000000', '0/3000100')).toBe(-256);
    expect(lsnDiff('1/0', 'FFFFFFFF/0') < 0).toBe(true);
    expect(compareLsn('16/B374D848', '16/B374D848')).toBe(0);
    expect(formatLsn(parseLsn('16/B374D848'))).toBe('16/B374D848');
    expect(refusal(() => parseLsn('nope')).code).toBe('lsn-invalid');
  });
});

describe('judgeFollower', () => {
  const names = { standby: 'east', primary: 'west', cnpg: false };
  const state = (
    standby: Partial<ReplicationState['standby']>,
    primary?: Partial<Extract<ReplicationState['primary'], { lsn: string }>>,
  ): ReplicationState => ({
    standby: {
      inRecovery: true,
      receiver: 'streaming',
      receivedTimeline: 2,
      receiveLsn: '0/5000000',
      replayLsn: '0/5000000',
      ...standby,
    },
    primary: { inRecovery: false, timeline: 2, lsn: '0/5000100', listsStandby: true, ...primary },
  });

  it('follows: streaming, on the timeline, listed, behind by the signed distance', () => {
    expect(judgeFollower(state({}), names)).toEqual({
      kind: 'follows',
      lagBytes: 256,
      detail: 'east streams from west on timeline 2, 256 B behind',
    });
  });

  it('a standby ahead of the primary has diverged, whatever its receiver says', () => {
    const verdict = judgeFollower(state({ replayLsn: '0/5000200' }), names);
    expect(verdict).toMatchObject({ kind: 'broken', code: 'standby-diverged' });
    expect(verdict.kind === 'broken' && verdict.detail).toContain('256 B ahead of west');
    expect(verdict.kind === 'broken' && verdict.fix).toContain('pg_rewind');
  });

  it('another timeline, not streaming, not listed, not a standby: each refused with its fix', () => {
    expect(judgeFollower(state({ receivedTimeline: 1 }), names)).toMatchObject({
      code: 'standby-diverged',
      detail: 'east follows timeline 1, but west writes timeline 2',
    });
    expect(judgeFollower(state({ receiver: null, receivedTimeline: null }), names)).toMatchObject({
      code: 'standby-not-streaming',
    });
    expect(judgeFollower(state({}, { listsStandby: false }), names)).toMatchObject({
      code: 'standby-not-listed',
    });
    expect(judgeFollower(state({ inRecovery: false }), { ...names, cnpg: true })).toMatchObject({
      code: 'not-a-standby',
      fix: expect.stringContaining("make east's CloudNativePG Cluster a replica of west again"),
    });
  });

  it('an unreadable primary leaves only the standby side: unknown, with what it received', () => {
    expect(
      judgeFollower({ standby: state({}).standby, primary: { unreachable: 'connection refused' } }, names),
    ).toEqual({
      kind: 'unknown',
      detail: 'west could not be read (connection refused); east had received up to 0/5000000',
    });
  });
});

describe('measureRpo', () => {
  const base = { from: 'east', to: 'west', targetReplayLsn: '0/3000100', targetReceiveLsn: '0/3000100' };

  it('proves 0 B only when the source was read after the promotion and committed nothing after its fence', () => {
    const rpo = measureRpo({ ...base, fence: FENCE, after: { lsn: '0/3000180', committed: 0 } });
    expect(rpo.kind).toBe('proved');
    expect(formatRpo(rpo)).toBe('0 B (proved)');
  });

  it('counts a loss: commits after the fence, and the bytes past what the target replayed', () => {
    const rpo = measureRpo({ ...base, fence: FENCE, after: { lsn: '0/3000500', committed: 3 } });
    expect(rpo).toMatchObject({ kind: 'lost', bytes: 1024, transactions: 3 });
    expect(formatRpo(rpo)).toBe('LOST 1 KiB');
  });

  it('a target promoted short of the final position has lost that much, even unread', () => {
    const rpo = measureRpo({ ...base, fence: FENCE, targetReplayLsn: '0/3000000' });
    expect(rpo).toMatchObject({ kind: 'lost', bytes: 256, transactions: null });
  });

  it('an unread source after a complete fence is a bound, never "0 B (proved)"', () => {
    const rpo = measureRpo({ ...base, fence: FENCE, after: { unreachable: 'connection refused' } });
    expect(rpo.kind).toBe('bound');
    expect(formatRpo(rpo)).toBe('≤ 0 B');
    expect(rpo.detail).toContain('not counted');
  });

  it('a source never fenced nor read is unknown, with what the target had received', () => {
    const rpo = measureRpo({ ...base, sourceUnread: 'connection refused', targetReceiveLsn: '0/3000060' });
    expect(rpo).toEqual({
      kind: 'unknown',
      detail: 'east could not be read (connection refused); west had received up to 0/3000060',
    });
  });
});
