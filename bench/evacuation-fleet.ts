/**
 * The evacuation benchmark's deployment (issue 16): a fresh lab of `sites` sites in one hosted zone (the Kubernetes
 * and Route 53 stand-ins through the official SDKs, Route 53 throttling at the account's 5 requests/s), a Redis of
 * its own, the Slack stand-in, and Baton as it is deployed: `baton web` and `baton worker` processes with the real
 * adapters. People act through signed Slack requests; Alertmanager through POST /alertmanager with its token.
 */
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { parseDocument } from 'yaml';
import { keyPrefixes } from '../src/config/load-config.js';
import { EvacuationStore } from '../src/store/evacuation-store.js';
import { RunStore } from '../src/store/run-store.js';
import { freePort, startRedis } from '../lab/processes/processes.js';
import type { RedisProcess } from '../lab/processes/processes.js';
import type { SlackApiServer, SlackMessage } from '../lab/slack/slack-api-server.js';
import { startSlackApiServer } from '../lab/slack/slack-api-server.js';
import { blockAction, postToApp, sign, slashCommand } from '../lab/slack/slack-signer.js';
import type { PostgresPair } from '../lab/postgres/postgres-pair.js';
import type { Lab, LabOptions } from '../lab/sandbox/start-lab.js';
import { startLab } from '../lab/sandbox/start-lab.js';
import type { WorkerProcess } from '../test/support/integration.js';
import { processReady, spawnWorker } from '../test/support/integration.js';

const BOT_TOKEN = 'xoxb-bench-evacuation-token';
const SIGNING_SECRET = 'bench-evacuation-signing-secret';
const ALERTMANAGER_TOKEN = `bench-alertmanager-${randomUUID()}`;
/** The example topology's incident channel. */
export const CHANNEL = 'C0INCIDENTS';
/** U0DAVE requests (S0ONCALL); U0ALICE approves (a listed approver). */
export const USERS = { requester: 'U0DAVE', approver: 'U0ALICE' } as const;

/**
 * The benchmark's alert rule, added to the first site of the lab's topology file: DESIGN §3's ClusterDown rule, which
 * proposes one evacuation of the cluster the alert names.
 */
const EVACUATION_RULE = {
  match: { alertname: 'ClusterDown', cluster: 'east' },
  action: 'propose-evacuation',
};

/** DESIGN §3's ClusterDown alert for east, as Alertmanager's webhook posts it. */
const CLUSTER_DOWN = {
  receiver: 'baton',
  status: 'firing',
  alerts: [
    {
      status: 'firing',
      labels: { alertname: 'ClusterDown', cluster: 'east', severity: 'critical' },
      annotations: { summary: 'east API server unreachable' },
      startsAt: new Date().toISOString(),
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: 'http://prometheus.example:9090/graph',
      fingerprint: 'b3a5d0e2f3b4a697',
    },
  ],
  groupLabels: { alertname: 'ClusterDown' },
  commonLabels: { alertname: 'ClusterDown', cluster: 'east' },
  commonAnnotations: { summary: 'east API server unreachable' },
  externalURL: 'http://alertmanager.example:9093',
  version: '4',
  groupKey: '{}:{alertname="ClusterDown"}',
  truncatedAlerts: 0,
};

export interface EvacuationFleet {
  lab: Lab<PostgresPair | null>;
  redis: RedisProcess;
  /** The benchmark's own connection (its commands are counted in `ownCommands`, to subtract from Redis's total). */
  connection: Redis;
  ownCommands(): number;
  runs: RunStore;
  evacuations: EvacuationStore;
  slack: SlackApiServer;
  /** Redis's `total_commands_processed` now. */
  commandsProcessed(): Promise<number>;
  /** `/failover <text>` as the requester, sent to web process `web`. */
  slash(web: number, text: string): Promise<void>;
  /** Clicks the button `actionId` on `message` as the approver, sent to web process `web`. */
  click(web: number, message: SlackMessage, actionId: string): Promise<void>;
  /** Alertmanager's ClusterDown webhook, sent to web process `web`. */
  alert(web: number): Promise<void>;
  /** The processes' log lines at warn or above (pino levels 40+), for a failure's message. */
  problems(): string[];
  close(): Promise<void>;
}

const buttonOf = (message: Pick<SlackMessage, 'blocks'>, actionId: string) =>
  ((message.blocks ?? []) as { type?: string; elements?: { action_id?: string; value?: string }[] }[])
    .filter((b) => b.type === 'actions')
    .flatMap((b) => b.elements ?? [])
    .find((e) => e.action_id === actionId);

/** The value of `message`'s button `actionId`, if it has one. */
export const buttonValue = (message: Pick<SlackMessage, 'blocks'>, actionId: string) =>
  buttonOf(message, actionId)?.value;

async function addEvacuationRule(path: string): Promise<void> {
  const doc = parseDocument(await readFile(path, 'utf8'));
  doc.addIn(['sites', 0, 'alerts'], doc.createNode(EVACUATION_RULE, { flow: true }));
  await writeFile(path, doc.toString());
}

export async function startEvacuationFleet(options: {
  lab: LabOptions;
  webs: number;
  workers: number;
}): Promise<EvacuationFleet> {
  const stops: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const redis = await startRedis();
    stops.push(() => redis.stop());
    const lab = await startLab({ ...options.lab, database: false });
    stops.push(() => lab.stop());
    await addEvacuationRule(lab.topologyPath);
    const slack = await startSlackApiServer({
      botToken: BOT_TOKEN,
      userGroups: { S0SRE: ['U0CAROL'], S0ONCALL: [USERS.requester, USERS.approver] },
    });
    stops.push(() => slack.close());
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    stops.push(async () => connection.disconnect());
    let own = 0;
    const counted = <T>(command: Promise<T>): Promise<T> => {
      own += 1;
      return command;
    };
    const prefix = `b${randomUUID().slice(0, 8)}`;
    const { store } = keyPrefixes({ keyPrefix: prefix });
    // The stores read through a connection whose commands are counted (one HGET per get).
    const countingRedis = new Proxy(connection, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (property !== 'hget' || typeof value !== 'function') return value;
        return (...args: unknown[]) =>
          counted((value as (...a: unknown[]) => Promise<unknown>).apply(target, args));
      },
    });
    const env = {
      ...lab.env,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      ALERTMANAGER_TOKEN,
      EAST_DATABASE_URL: '',
      WEST_DATABASE_URL: '',
    };
    const processes: WorkerProcess[] = [];
    stops.push(async () => {
      for (const p of processes) {
        if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
        await p.exited;
      }
    });
    const webPorts: number[] = [];
    for (let i = 0; i < options.webs; i += 1) {
      const port = await freePort();
      webPorts.push(port);
      processes.push(
        spawnWorker({ prefix, worldKey: '' }, redis.url, [], {
          role: 'web',
          env: { ...env, PORT: String(port) },
        }),
      );
    }
    const workers: WorkerProcess[] = [];
    for (let i = 0; i < options.workers; i += 1) {
      workers.push(spawnWorker({ prefix, worldKey: '' }, redis.url, [], { role: 'real-worker', env }));
    }
    processes.push(...workers);
    await Promise.all([
      ...processes.slice(0, options.webs).map((p) => processReady(p, /"msg":"web ready"/)),
      ...workers.map((p) => processReady(p)),
    ]);

    const webUrl = (web: number) => {
      const port = webPorts[web];
      if (port === undefined) throw new Error(`no web process ${web}`);
      return `http://127.0.0.1:${port}`;
    };
    const post = async (web: number, body: string) => {
      const answer = await postToApp(
        `${webUrl(web)}/slack/events`,
        body,
        sign(SIGNING_SECRET, body, Date.now() / 1000),
      );
      if (answer.status !== 200) throw new Error(`web ${web} answered ${answer.status}: ${answer.text}`);
    };
    return {
      lab,
      redis,
      connection,
      ownCommands: () => own,
      runs: new RunStore(countingRedis, store),
      evacuations: new EvacuationStore(countingRedis, store),
      slack,
      async commandsProcessed() {
        const info = await counted(connection.info('stats'));
        return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? Number.NaN);
      },
      async slash(web, text) {
        await post(
          web,
          slashCommand({
            command: '/failover',
            text,
            userId: USERS.requester,
            channelId: CHANNEL,
            responseUrl: slack.createResponseUrl({ channel: CHANNEL, user: USERS.requester }).url,
            triggerId: slack.mintTriggerId({ userId: USERS.requester }),
          }),
        );
      },
      async click(web, message, actionId) {
        const value = buttonValue(message, actionId);
        if (!value) throw new Error(`message ${message.ts} has no ${actionId} button: ${message.text}`);
        const user = USERS.approver;
        await post(
          web,
          blockAction({
            actionId,
            value,
            userId: user,
            channelId: CHANNEL,
            messageTs: message.ts,
            responseUrl: slack.createResponseUrl({ channel: CHANNEL, user, messageTs: message.ts }).url,
            triggerId: slack.mintTriggerId({ userId: user }),
            message: { ts: message.ts, text: message.text, blocks: message.blocks },
          }),
        );
      },
      async alert(web) {
        const response = await fetch(`${webUrl(web)}/alertmanager`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ALERTMANAGER_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify(CLUSTER_DOWN),
        });
        if (response.status !== 200) throw new Error(`/alertmanager answered ${response.status}`);
      },
      problems: () =>
        processes.flatMap((p) =>
          p
            .output()
            .split('\n')
            .filter((line) => /"level":(4|5|6)0/.test(line))
            .map((line) => `${p.name}: ${line.slice(0, 400)}`),
        ),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
