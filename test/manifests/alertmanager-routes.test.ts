/**
 * The shipped Alertmanager routes, resolved by the real `amtool config routes test`: manifests/monitoring's plain
 * alertmanager.yaml, and alertmanager-config.yaml as the Prometheus Operator turns it into Alertmanager
 * configuration. The alerts Baton acts on reach its receiver: the cluster-down alerts of the example topology, and
 * every `drills.abortOn` alert of DESIGN's optional fields (without that route a game day is never aborted). The abort
 * route sends at once (the abort must arrive before the point of no return), says when the alert resolves, and lets
 * the other receivers see the alert too; an alert Baton does not act on does not reach it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { skipWhenMissing } from '../support/skip-when-missing.js';
import { MANIFESTS, parseObjects, ROOT } from './support.js';

const run = promisify(execFile);
const hasAmtool = await run('amtool', ['--version']).then(
  () => true,
  () => false,
);
const skip = skipWhenMissing(
  'the Alertmanager route tests',
  hasAmtool ? [] : ['amtool'],
  'it comes with Alertmanager: apt-get install -y --no-install-recommends prometheus-alertmanager',
);

interface PlainRoute {
  receiver?: string;
  matchers?: string[];
  group_by?: string[];
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  continue?: boolean;
  routes?: PlainRoute[];
}
interface PlainReceiver {
  name: string;
  webhook_configs?: { url: string; send_resolved?: boolean }[];
}
interface PlainConfig {
  route: PlainRoute;
  receivers: PlainReceiver[];
}
interface OperatorRoute {
  receiver?: string;
  matchers?: { name: string; matchType?: string; value: string }[];
  groupBy?: string[];
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
  continue?: boolean;
  routes?: OperatorRoute[];
}
interface OperatorConfig {
  metadata: { name: string; namespace: string };
  spec: {
    route: OperatorRoute;
    receivers: { name: string; webhookConfigs?: { url: string; sendResolved?: boolean }[] }[];
  };
}

/**
 * The configuration the Prometheus Operator generates from an AlertmanagerConfig (its API reference, Route): the
 * resource's route becomes a first-level route that "will always include a matcher on the resource's namespace" and
 * whose `continue` "will always be overridden to true"; receivers are named `<namespace>/<name>/<receiver>`.
 */
function asOperatorGenerates(resource: OperatorConfig): PlainConfig {
  const { name, namespace } = resource.metadata;
  const prefix = `${namespace}/${name}/`;
  const convert = (route: OperatorRoute, firstLevel: boolean): PlainRoute => ({
    ...(route.receiver && { receiver: prefix + route.receiver }),
    matchers: [
      ...(firstLevel ? [`namespace="${namespace}"`] : []),
      ...(route.matchers ?? []).map((m) => `${m.name}${m.matchType ?? '='}${JSON.stringify(m.value)}`),
    ],
    ...(route.groupBy && { group_by: route.groupBy }),
    ...(route.groupWait && { group_wait: route.groupWait }),
    ...(route.groupInterval && { group_interval: route.groupInterval }),
    ...(route.repeatInterval && { repeat_interval: route.repeatInterval }),
    continue: firstLevel || route.continue === true,
    ...(route.routes && { routes: route.routes.map((r) => convert(r, false)) }),
  });
  return {
    route: { receiver: 'default', routes: [convert(resource.spec.route, true)] },
    receivers: [
      { name: 'default' },
      ...resource.spec.receivers.map((r) => ({
        name: prefix + r.name,
        ...(r.webhookConfigs && {
          webhook_configs: r.webhookConfigs.map((w) => ({
            url: w.url,
            ...(w.sendResolved !== undefined && { send_resolved: w.sendResolved }),
          })),
        }),
      })),
    ],
  };
}

let dir = '';
let plain: PlainConfig;
let operator: PlainConfig;
let abortOn: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-am-routes-'));
  plain = parse(await readFile(join(MANIFESTS, 'monitoring/alertmanager.yaml'), 'utf8')) as PlainConfig;
  const objects = parseObjects(
    await readFile(join(MANIFESTS, 'monitoring/alertmanager-config.yaml'), 'utf8'),
    'monitoring/alertmanager-config.yaml',
  );
  const resource = objects.find((o) => o.kind === 'AlertmanagerConfig') as unknown as OperatorConfig;
  operator = asOperatorGenerates(resource);
  // DESIGN §3's optional fields, verbatim: `drills.abortOn: [{ alertname: HighErrorRate }]`.
  const optional = parse(
    await readFile(join(ROOT, 'test/fixtures/topology/optional-fields.yaml'), 'utf8'),
  ) as { drills: { abortOn: { alertname: string }[] } };
  abortOn = optional.drills.abortOn.map((m) => m.alertname);
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The receivers `config` sends an alert with `labels` to, as the real Alertmanager resolves its routing tree. */
async function receiversOf(config: PlainConfig, labels: Record<string, string>): Promise<string[]> {
  const file = join(dir, `alertmanager-${Math.random().toString(36).slice(2)}.yml`);
  await writeFile(file, stringify(config));
  const { stdout } = await run('amtool', [
    'config',
    'routes',
    'test',
    `--config.file=${file}`,
    ...Object.entries(labels).map(([k, v]) => `${k}=${v}`),
  ]);
  return stdout.trim().split(',');
}

/** The routes (depth first) that send an alert named `alertname` to `receiver`, by their alertname matcher. */
function routesTo(route: PlainRoute, receiver: string, alertname: string): PlainRoute[] {
  const own = (route.matchers ?? []).some((m) => {
    const found = /^alertname\s*=~\s*"(.*)"$/.exec(m);
    return found?.[1] !== undefined && new RegExp(`^(?:${found[1]})$`).test(alertname);
  });
  return [
    ...(own && route.receiver === receiver ? [route] : []),
    ...(route.routes ?? []).flatMap((r) => routesTo(r, receiver, alertname)),
  ];
}

const CONFIGS: { name: string; config: () => PlainConfig; baton: string; labels: Record<string, string> }[] =
  [
    { name: 'alertmanager.yaml', config: () => plain, baton: 'baton', labels: {} },
    {
      name: 'alertmanager-config.yaml (as the operator generates it)',
      config: () => operator,
      baton: 'baton/baton/baton',
      // The operator routes only alerts whose namespace label is the resource's (see its comment on how).
      labels: { namespace: 'baton' },
    },
  ];

describe.skipIf(skip)('the shipped Alertmanager routes', () => {
  describe.each(CONFIGS)('$name', ({ config, baton, labels }) => {
    it('sends the cluster-down alerts to Baton', async () => {
      for (const alertname of ['ActiveClusterDown', 'PassiveClusterDown'])
        expect(
          await receiversOf(config(), { ...labels, alertname, site: 'production', cluster: 'east' }),
          alertname,
        ).toContain(baton);
    });

    it("sends every drills.abortOn alert to Baton (or a game day is never aborted), and only Baton's alerts", async () => {
      expect(abortOn).toEqual(['HighErrorRate']);
      for (const alertname of abortOn)
        expect(
          await receiversOf(config(), { ...labels, alertname, severity: 'critical' }),
          alertname,
        ).toEqual([baton]);
      expect(await receiversOf(config(), { ...labels, alertname: 'KubePodCrashLooping' })).not.toContain(
        baton,
      );
    });

    it('the abort route sends at once, says when the alert resolves, and lets other receivers see it', () => {
      for (const alertname of abortOn) {
        const [route, ...more] = routesTo(config().route, baton, alertname);
        expect(more).toEqual([]);
        expect(route).toMatchObject({ group_by: ['alertname'], continue: true });
        // group_wait at most 5 s: the failover of a game day reaches its point of no return within a minute or two.
        expect(route?.group_wait).toMatch(/^[0-5]s$/);
        expect(route?.group_interval).toMatch(/^([1-5]?[0-9]s|1m)$/);
      }
      const receiver = config().receivers.find((r) => r.name === baton);
      expect(receiver?.webhook_configs?.map((w) => w.send_resolved)).toEqual([true]);
    });
  });
});
