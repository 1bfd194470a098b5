import { describe, expect, it } from 'vitest';
import { BatonError } from '../../../src/errors.js';
import { buildStepReply } from '../../../src/slack/blocks/step-reply.js';
import { siteWithoutDatabase } from '../../support/core-fixtures.js';
import {
  PREFLIGHT_FAILING,
  at,
  pausedAfterPromotion,
  proposal,
  runningRun,
  step,
  succeededRun,
} from './run-fixtures.js';

const texts = (message: ReturnType<typeof buildStepReply>): string =>
  message.blocks.map((b) => (b.type === 'section' ? (b.text?.text ?? '') : '')).join('\n---\n');

describe('buildStepReply', () => {
  it('a failed step: error, code, attempts, saved progress and the next action', () => {
    const message = buildStepReply({ run: pausedAfterPromotion(), stepId: 'switch-dns', now: at(160) });
    expect(message).toMatchSnapshot();
    const body = texts(message);
    expect(body).toContain('status *failed* · 3 attempts · took 52 s');
    expect(body).toContain(
      '*Error* `route53-throttled`\n```Route 53 throttled ChangeResourceRecordSets (Throttling): Rate exceeded```',
    );
    expect(body).toContain('*Progress saved*\n• changeId: C0123456789ABC');
    expect(body).toContain('Next: *Retry step*, *Skip step* (break-glass) or *Abort*');
    expect(message.text).toBe(
      'EMERGENCY failover of production (r1): Switch app.example.com to west failed after 3 attempts — ' +
        'Route 53 throttled ChangeResourceRecordSets (Throttling): Rate exceeded',
    );
  });

  it('adds the code’s hint when the message does not say what to do, and nothing for a code it does not know', () => {
    const run = pausedAfterPromotion();
    const timedOut = step(run, 'switch-dns', { errorCode: 'step-timeout', error: 'timed out after 60 s' });
    expect(texts(buildStepReply({ run: timedOut, stepId: 'switch-dns', now: at(160) }))).toContain(
      '💡 Read what the step last saw (its thread reply), fix that, then Retry.',
    );
    // A run stored by another version of Baton may carry a code this one does not have.
    const older = step(run, 'switch-dns', { errorCode: 'retired-code', error: 'timed out after 60 s' });
    expect(texts(buildStepReply({ run: older, stepId: 'switch-dns', now: at(160) }))).not.toContain('💡');
  });

  it('a finished step: its output as key: value, scale changes readable', () => {
    const message = buildStepReply({ run: succeededRun(), stepId: 'fence-source', now: at(200) });
    expect(texts(message)).toContain(
      '*Output*\n• fence.lsn: 0/3000060\n• fence.nextXid: 750\n• fence.endedSessions: 3\n• fence.standby: false\n' +
        '• scaled: default/web 5 → 1',
    );
    expect(texts(message)).not.toContain('Next:');
  });

  it('preflight: every check with its icon, overridden shown', () => {
    let run = runningRun();
    run = step(run, 'preflight', { output: { checks: PREFLIGHT_FAILING, overridden: true } });
    const message = buildStepReply({ run, stepId: 'preflight', now: at(200) });
    expect(message).toMatchSnapshot();
    expect(texts(message)).toContain(
      '• overridden: true\n❌ *target-nodes*: west: only 2 nodes Ready, need 3',
    );
  });

  it('a running step says how long it has been running', () => {
    const message = buildStepReply({ run: runningRun(), stepId: 'switch-dns', now: at(110) });
    expect(texts(message)).toContain('status *running* · 2 of 2 attempts · running for 12 s');
  });

  it('escapes errors and output values', () => {
    let run = pausedAfterPromotion();
    run = step(run, 'switch-dns', { error: 'bad <record> & <!channel>', output: { 'a<b': '<@U1>' } });
    const body = texts(buildStepReply({ run, stepId: 'switch-dns', now: at(160) }));
    expect(body).toContain('```bad &lt;record&gt; &amp; &lt;!channel&gt;```');
    expect(body).toContain('• a&lt;b: &lt;@U1&gt;');
  });

  it('refuses a step the plan does not have', () => {
    const run = proposal({ kind: 'failover' }, siteWithoutDatabase());
    const call = () => buildStepReply({ run, stepId: 'promote-target-db', now: at(1) });
    expect(call).toThrow(BatonError);
    expect(call).toThrow('Run r1 has no step promote-target-db in its plan');
  });
});
