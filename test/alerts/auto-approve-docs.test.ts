/**
 * What the operator guide and the runbook say about auto-approval holds: the documented configuration loads and
 * means what the text says, the numbers in the text are the code's, the partition argument is there, and the
 * runbook's example reply is the one Baton posts.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildAutoApprovalWithheldReply } from '../../src/alerts/alert-messages.js';
import { AUTO_APPROVE_EVERY_MS, probeSlackMs } from '../../src/alerts/auto-approve.js';
import { parseTopology } from '../../src/config/topology.js';
import { EXAMPLE_TOPOLOGY } from '../../lab/sandbox/start-lab.js';
import { DB_ENV, ROOT } from '../support/integration.js';

const doc = (name: string) => readFile(join(ROOT, 'docs', name), 'utf8');

/** The text of a section, from its heading (`## …` or `### …`) to the next heading of the same or a higher level. */
function section(text: string, heading: string): string {
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`no section ${JSON.stringify(heading)}`);
  const level = heading.indexOf(' ');
  const next = new RegExp(`\n#{1,${level}} `, 'g');
  next.lastIndex = start + heading.length + 2;
  const end = next.exec(text)?.index;
  return text.slice(start, end);
}

/** GitHub's anchor for a heading. */
const anchor = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} -]/gu, '')
    .replace(/ /g, '-');

/** Prose as one line (the docs wrap at 120 columns). */
const flat = (text: string) => text.replace(/\s+/g, ' ');

describe('docs: auto-approval and partitions', () => {
  it('the operator guide’s example configuration loads, with the witness it describes', async () => {
    const text = section(await doc('operator-guide.md'), '## Auto-approval and partitions');
    const yaml = /```yaml\n([\s\S]*?)```/.exec(text)?.[1];
    if (!yaml) throw new Error('no yaml example');
    const example = await readFile(EXAMPLE_TOPOLOGY, 'utf8');
    const indented = yaml
      .trimEnd()
      .split('\n')
      .map((line) => `    ${line}`)
      .join('\n');
    const withExample = example.replace(/ {4}alerts:\n(?: {6}- .*\n)+/, `${indented}\n`);
    expect(withExample).not.toBe(example);
    const result = parseTopology(withExample, DB_ENV);
    expect(result.ok ? result.topology.sites[0]?.alerts[0] : result.problems).toEqual({
      match: { alertname: 'ActiveClusterDown' },
      action: 'propose-failover',
      autoApprove: {
        afterMs: 300_000,
        witness: {
          probes: 3,
          prometheus: {
            url: 'http://prometheus.witness.example:9090',
            query: 'max_over_time(up{job="cluster-health", site="$site", cluster="$cluster"}[5m])',
            timeoutMs: 5_000,
          },
        },
      },
    });
  });

  it('says why one probe cannot see a partition, what several probes and a third location change, and what stays guarded', async () => {
    const text = flat(section(await doc('operator-guide.md'), '## Auto-approval and partitions'));
    // The numbers it gives are the code's.
    expect(text).toContain(`on every auto-approval pass (every ${AUTO_APPROVE_EVERY_MS / 1000} s)`);
    expect(text).toContain(`the first within ${probeSlackMs(AUTO_APPROVE_EVERY_MS) / 1000} s of its start`);
    expect(text).toContain(`no gap in probing longer than ${probeSlackMs(AUTO_APPROVE_EVERY_MS) / 1000} s`);
    expect(text).toContain('A single 2xx answer resets the count');
    // The argument.
    expect(text).toContain('cannot tell "east is down" from "Baton is cut off from east"');
    expect(text).toMatch(/\*\*Several probes over the quiet period\*\* rule out a blip/);
    expect(text).toContain('They cannot tell a partition that lasts from an outage');
    expect(text).toMatch(
      /\*\*A third vantage point\*\* can\. A Prometheus in a location that is neither Baton's nor east's/,
    );
    expect(text).toContain('Where that Prometheus runs is your choice');
    expect(text).toContain('Auto-approval cannot promote a database past the split-brain guard.');
    expect(text).toContain(
      "in a partition that cuts Baton off from east's database too, that primary looks dead",
    );
  });

  it('the runbook points there, and its example reply is the one Baton posts', async () => {
    const runbook = await doc('runbook.md');
    const pointer = flat(section(runbook, '### Auto-approval'));
    const link = /\[Auto-approval and partitions\]\(operator-guide\.md#([^)]+)\)/.exec(pointer)?.[1];
    expect(link).toBe(anchor('Auto-approval and partitions'));
    expect(await doc('operator-guide.md')).toContain('\n## Auto-approval and partitions\n');
    expect(runbook).toContain(`[witness](#${anchor('Auto-approval')})`);

    const reply = buildAutoApprovalWithheldReply({
      run: { id: 'r12', site: 'production', from: 'east' },
      now: Date.UTC(2024, 0, 1, 2, 57),
      why: {
        witness: 'probes',
        afterMs: 300_000,
        since: Date.UTC(2024, 0, 1, 2, 52),
        verdict: {
          agrees: false,
          reason: 'answered',
          failed: 2,
          total: 3,
          okAt: Date.UTC(2024, 0, 1, 2, 57),
          status: '200',
        },
      },
    });
    const shown = JSON.stringify(reply.blocks)
      .replace(/<!date\^\d+\^\{time\}\|\d{4}-\d\d-\d\dT(\d\d:\d\d):\d\dZ>/g, '$1')
      .replace(/\\"/g, '"');
    const row = /`(✋ Auto-approval withheld at [^`]*) …`/.exec(runbook)?.[1];
    expect(row).toBeDefined();
    expect(shown).toContain(row?.replace('✋ Auto-approval withheld', '✋ *Auto-approval withheld*'));
  });
});
