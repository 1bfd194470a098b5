import { describe, expect, it } from 'vitest';
import {
  alertLink,
  buildAlertLinkedReply,
  buildAlertNotice,
  buildAlertResolvedReply,
  buildAutoApprovalNotice,
  buildAutoApprovalWithheldReply,
  buildAutoApprovedReply,
} from '../../src/alerts/alert-messages.js';
import type { IncidentState } from '../../src/store/incidents/incident-record.js';

const T = 1_700_000_000_000;
const state = (overrides: Partial<IncidentState> = {}): IncidentState => ({
  id: '1',
  firing: 2,
  alerts: 2,
  episode: 1,
  version: 3,
  firstStartsAt: T,
  firingSince: T + 1_000,
  summary: 'Passive cluster west fails its health check',
  names: ['PassiveClusterDown'],
  flags: [],
  ...overrides,
});
const url = 'http://alertmanager.example:9093/#/alerts?filter=%7Balertname%3D%22PassiveClusterDown%22%7D';
const all = (m: { text: string; blocks: unknown[] }) => `${m.text}\n${JSON.stringify(m.blocks)}`;
const run = { id: 'r7', site: 'production', from: 'east', state: 'running' as const };

describe('alert messages', () => {
  it('notice while firing: what fires, since when, and that Baton will not act', () => {
    const message = buildAlertNotice({ site: 'production', state: state(), url });
    expect(message).toMatchSnapshot();
    expect(message.text).toBe(
      'Alert PassiveClusterDown firing for production (2 alerts). Baton takes no action on its own.',
    );
  });

  it('notice once resolved: same message, says so, no instructions left', () => {
    const message = buildAlertNotice({
      site: 'production',
      state: state({ firing: 0, resolvedAt: T + 60_000 }),
      url,
    });
    expect(message).toMatchSnapshot();
    expect(all(message)).toContain('*2 alerts resolved* at <!date^1700000060^{time}|2023-11-14T22:14:20Z>');
    expect(all(message)).not.toContain('/failover');
  });

  it('escapes alert text and refuses links that are not http(s)', () => {
    const message = buildAlertNotice({
      site: 'production',
      state: state({ names: ['A<b>`x`'], summary: '<!channel> & <https://evil|x>' }),
      url: 'javascript:alert(1)',
    });
    const text = all(message);
    expect(text).toContain("`A&lt;b&gt;'x'`");
    expect(text).toContain('&lt;!channel&gt; &amp; &lt;https://evil|x&gt;');
    expect(text).not.toContain('javascript:');
    expect(alertLink('http://a.example/x?a=1&b=2')).toBe(
      '<http://a.example/x?a=1&amp;b=2|open in Alertmanager>',
    );
    expect(alertLink('http://a.example/x|y')).toBeUndefined();
  });

  it('thread replies for a run that was already open', () => {
    const linked = buildAlertLinkedReply({
      site: 'production',
      state: state({ names: ['ActiveClusterDown'] }),
      url,
      run,
    });
    expect(linked).toMatchSnapshot();
    const resolved = buildAlertResolvedReply({
      site: 'production',
      state: state({ names: ['ActiveClusterDown'], firing: 0, resolvedAt: T + 90_000 }),
      run,
    });
    expect(all(resolved)).toContain('✅ *The alerts resolved* at <!date^1700000090^{time}');
  });

  it('auto-approval: the notice, the withheld reply and the approval say when and why', () => {
    const view = {
      run,
      afterMs: 300_000,
      dueAt: T + 300_000,
      healthUrl: 'https://active.example.com/health',
      witness: { probes: 3, prometheus: [] },
    };
    expect(buildAutoApprovalNotice(view)).toMatchSnapshot();
    const prometheus = { url: 'http://prometheus.witness.example:9090', query: 'up{cluster="$cluster"}' };
    expect(
      all(buildAutoApprovalNotice({ ...view, witness: { probes: 5, prometheus: [prometheus] } })),
    ).toContain(
      'all fail (at least 5, spread over the quiet period, none answering), and only if Prometheus (a second ' +
        'vantage point) says east is down too.',
    );

    const probes = (verdict: Parameters<typeof buildAutoApprovalWithheldReply>[0]['why']) =>
      buildAutoApprovalWithheldReply({ run, why: verdict, now: T + 301_000 });
    const answered = probes({
      witness: 'probes',
      afterMs: 300_000,
      since: T,
      verdict: { agrees: false, reason: 'answered', failed: 2, total: 3, okAt: T + 300_000, status: '200' },
    });
    expect(answered.text).toBe(
      'Auto-approval withheld for run r7: 2 of 3 probes of east since <!date^1700000000^{time}|2023-11-14T22:13:20Z> ' +
        'failed; the last one, at <!date^1700000300^{time}|2023-11-14T22:18:20Z>, answered 200.',
    );
    expect(all(answered)).toContain(
      'Baton does not agree that east is down, so the proposal waits for a person',
    );
    const short = probes({
      witness: 'probes',
      afterMs: 300_000,
      since: T,
      verdict: {
        agrees: false,
        reason: 'too-short',
        streak: 9,
        since: T + 200_000,
        okAt: T + 195_000,
        earliestAt: T + 470_000,
      },
    });
    expect(short.text).toContain(
      'the failures must cover a whole quiet period (5m), so the earliest approval is <!date^1700000470^{time}',
    );
    const few = probes({
      witness: 'probes',
      afterMs: 10_000,
      since: T,
      verdict: { agrees: false, reason: 'too-few', streak: 2, required: 3, since: T },
    });
    expect(few.text).toContain('only 2 of the 3 failed probes of east needed so far');
    const disagrees = buildAutoApprovalWithheldReply({
      run,
      now: T,
      why: {
        witness: 'prometheus',
        ...prometheus,
        query: 'up{cluster="east"}',
        reason: 'Prometheus does not agree: up{instance="a"} is 1 (1 of 1 series not 0)',
      },
    });
    expect(disagrees.text).toBe(
      "Auto-approval withheld for run r7: Baton's own probes of east fail, but the second witness does not agree: " +
        'Prometheus does not agree: up{instance="a"} is 1 (1 of 1 series not 0) (`up{cluster="east"}` at ' +
        '`http://prometheus.witness.example:9090`).',
    );

    const approved = buildAutoApprovedReply({
      ...view,
      probes: { streak: 61, since: T + 2_000, detail: 'connection refused' },
      prometheus: ['Prometheus agrees: 2 series, all 0'],
      now: T + 300_000,
      complete: false,
    });
    expect(all(approved)).toContain(
      '61 probes of east in a row since <!date^1700000002^{time}|2023-11-14T22:13:22Z> failed, none answered ' +
        '(last: connection refused), and Prometheus agrees: 2 series, all 0. It counts as one approval; the run ' +
        'still needs a person to approve.',
    );
    expect(
      all(
        buildAutoApprovedReply({
          ...view,
          ...approved,
          probes: { streak: 3, since: T, detail: 'HTTP 503' },
          prometheus: [],
          now: T,
          complete: true,
        }),
      ),
    ).toContain('The run starts now.');
  });
});
