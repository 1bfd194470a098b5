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
import type { IncidentState } from '../../src/alerts/incident-store.js';

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
    };
    expect(buildAutoApprovalNotice(view)).toMatchSnapshot();
    const withheld = buildAutoApprovalWithheldReply({ ...view, status: 200, now: T + 301_000 });
    expect(all(withheld)).toContain("east's health URL answers 200 to Baton's own probe");
    const approved = buildAutoApprovedReply({
      ...view,
      probe: 'connect ECONNREFUSED',
      now: T,
      complete: false,
    });
    expect(all(approved)).toContain('It counts as one approval; the run still needs a person to approve.');
    expect(all(buildAutoApprovedReply({ ...view, probe: 'HTTP 503', now: T, complete: true }))).toContain(
      'The run starts now.',
    );
  });
});
