/**
 * The sandbox's web page: the incident channel as Slack shows it (Baton's Block Kit rendered in the browser), a
 * composer to type `/failover` and `/failback` as one of the sandbox users, buttons that are clicked as that user,
 * and controls that break a cluster: its health endpoint, its API, its database, a client that writes past the
 * fence, and GitOps self-heal on west (with or without the fix); and one that fires the topology's drills.abortOn alert
 * into the real Alertmanager (or resolves it), whose shipped route takes it to Baton. Every command and click reaches
 * Baton as a request signed exactly as Slack signs it (see slack-user.ts); the page itself never talks to Baton.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { Logger } from '../../../src/logger.js';
import { MONITORING_INSTALL_HINT } from '../../processes/monitoring.js';
import type { SlackEphemeral, SlackMessage } from '../../slack/slack-api-server.js';
import type { Sandbox } from '../stack.js';
import type { SelfHealMode } from '../west-gitops.js';
import { SELF_HEAL_MODES } from '../west-gitops.js';
import { sitesState } from './sites-state.js';

const PUBLIC = new URL('./public/', import.meta.url);
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/console.js': { file: 'console.js', type: 'text/javascript; charset=utf-8' },
  '/console.css': { file: 'console.css', type: 'text/css; charset=utf-8' },
  '/sites.js': { file: 'sites.js', type: 'text/javascript; charset=utf-8' },
  '/mrkdwn.js': { file: 'mrkdwn.js', type: 'text/javascript; charset=utf-8' },
  '/alerts.js': { file: 'alerts.js', type: 'text/javascript; charset=utf-8' },
  '/try.js': { file: 'try.js', type: 'text/javascript; charset=utf-8' },
};
const COMMANDS = ['/failover', '/failback'];
const MAX_BODY = 16 * 1024;

export interface ConsoleServer {
  url: string;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readJson(req: IncomingMessage): Promise<Json> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new RequestError(413, 'request body too large');
    chunks.push(chunk);
  }
  try {
    const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('not an object');
    return body as Json;
  } catch {
    throw new RequestError(400, 'the body must be a JSON object');
  }
}

const str = (body: Json, key: string): string => {
  const value = body[key];
  if (typeof value !== 'string' || !value) throw new RequestError(400, `${key} is missing`);
  return value;
};

const messageView = (m: SlackMessage, names: Map<string, string>) => ({
  ts: m.ts,
  user: m.user,
  userName: names.get(m.user) ?? (m.botId ? 'Baton' : m.user),
  bot: Boolean(m.botId),
  text: m.text,
  blocks: m.blocks ?? null,
  edited: m.edits.length > 0,
  replies: m.replies.map((r) => ({
    ts: r.ts,
    userName: names.get(r.user) ?? (r.botId ? 'Baton' : r.user),
    bot: Boolean(r.botId),
    text: r.text,
    blocks: r.blocks ?? null,
    // A shared file (the run report): shown in the thread as Slack shows a snippet.
    files: (r.files ?? []).map((f) => ({ name: f.name, title: f.title, content: f.content })),
  })),
});

const ephemeralView = (e: SlackEphemeral) => ({
  ts: e.ts,
  text: e.text,
  blocks: e.blocks ?? null,
  postedAt: e.postedAt,
});

export async function startConsoleServer(
  sandbox: Sandbox,
  options: { port?: number; log: Logger },
): Promise<ConsoleServer> {
  const { log } = options;
  const names = new Map(sandbox.users.map((u) => [u.id, u.name]));
  const userIds = new Set(sandbox.users.map((u) => u.id));
  const requireUser = (body: Json) => {
    const user = str(body, 'user');
    if (!userIds.has(user)) throw new RequestError(400, `unknown sandbox user ${user}`);
    return user;
  };
  const clusterOf = (body: Json) => {
    const cluster = str(body, 'cluster');
    if (!(cluster in sandbox.site.clusters)) throw new RequestError(400, `unknown cluster ${cluster}`);
    return cluster;
  };

  const sites = sitesState(sandbox.lab);
  // The alerts the page may fire: those that abort a game day (the lab topology's drills.abortOn).
  const abortOn = (sandbox.lab.topology.drills?.abortOn ?? []).flatMap((m) => m.alertname ?? []);
  const state = async (user: string | null) => ({
    channel: sandbox.channel,
    site: sandbox.site.name,
    abortOn,
    users: sandbox.users,
    notes: sandbox.notes,
    messages: sandbox.slack.messages(sandbox.channel.id).map((m) => messageView(m, names)),
    ephemerals: user
      ? sandbox.slack.ephemerals({ channel: sandbox.channel.id, user }).map(ephemeralView)
      : [],
    world: await sandbox.world(),
    sites: await sites(),
  });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://console');
    const send = (status: number, body: unknown) =>
      res
        .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify(body));
    if (req.method === 'GET' && FILES[url.pathname]) {
      const { file, type } = FILES[url.pathname] as { file: string; type: string };
      res
        .writeHead(200, { 'content-type': type, 'cache-control': 'no-store' })
        .end(await readFile(new URL(file, PUBLIC)));
      return;
    }
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (req.method === 'GET' && url.pathname === '/api/state') {
      const user = url.searchParams.get('user');
      send(200, await state(user && userIds.has(user) ? user : null));
      return;
    }
    if (req.method !== 'POST') {
      send(404, { error: `no ${req.method} ${url.pathname}` });
      return;
    }
    const body = await readJson(req);
    switch (url.pathname) {
      case '/api/command': {
        const user = requireUser(body);
        const line = str(body, 'text').trim();
        const [command = '', ...rest] = line.split(/\s+/);
        if (!COMMANDS.includes(command))
          throw new RequestError(400, `type ${COMMANDS.join(' or ')} followed by its options`);
        const answer = await sandbox.as.command(user, command, rest.join(' '));
        log.info({ user, command, status: answer.status, ms: Math.round(answer.ms) }, 'console command');
        send(200, { status: answer.status, ms: Math.round(answer.ms) });
        return;
      }
      case '/api/click': {
        const user = requireUser(body);
        const answer = await sandbox.as.click(user, {
          messageTs: str(body, 'messageTs'),
          actionId: str(body, 'actionId'),
          value: str(body, 'value'),
          ...(typeof body.blockId === 'string' && { blockId: body.blockId }),
          ...(typeof body.buttonText === 'string' && { buttonText: body.buttonText }),
          ...(body.ephemeral === true && { ephemeral: true }),
        });
        log.info({ user, actionId: body.actionId, status: answer.status }, 'console click');
        send(200, { status: answer.status, ms: Math.round(answer.ms) });
        return;
      }
      case '/api/break': {
        const cluster = clusterOf(body);
        const what = str(body, 'what');
        const broken = body.broken === true;
        if (what === 'health') await sandbox.breaks.health(cluster, !broken);
        else if (what === 'api') await sandbox.breaks.api(cluster, !broken);
        else if (what === 'lag') await sandbox.breaks.lag(cluster, broken);
        else if (what === 'database') await sandbox.breaks.database(cluster, !broken);
        else throw new RequestError(400, 'what must be health, api, lag or database');
        log.info({ cluster, what, broken }, 'console break');
        send(200, { ok: true });
        return;
      }
      case '/api/self-heal': {
        const cluster = clusterOf(body);
        const mode = str(body, 'mode');
        if (!SELF_HEAL_MODES.includes(mode as SelfHealMode))
          throw new RequestError(400, `mode must be ${SELF_HEAL_MODES.join(', ')}`);
        await sandbox.breaks.selfHeal(cluster, mode as SelfHealMode);
        log.info({ cluster, mode }, 'console switched GitOps self-heal');
        send(200, { ok: true });
        return;
      }
      case '/api/alert': {
        const monitoring = sandbox.monitoring;
        if (!monitoring)
          throw new RequestError(
            409,
            `Prometheus and Alertmanager are not running in this sandbox; ${MONITORING_INSTALL_HINT}, then restart it`,
          );
        const alertname = str(body, 'alertname');
        if (!abortOn.includes(alertname))
          throw new RequestError(400, `alertname must be one of drills.abortOn: ${abortOn.join(', ')}`);
        const firing = body.firing === true;
        if (firing) await monitoring.fireAlert(alertname);
        else await monitoring.resolveAlert(alertname);
        log.info({ alertname, firing }, 'console sent an alert to Alertmanager');
        send(200, { ok: true });
        return;
      }
      case '/api/rebuild-standby': {
        const cluster = clusterOf(body);
        await sandbox.breaks.rebuildStandby(cluster);
        log.info({ cluster }, 'console rebuilt a standby');
        send(200, { ok: true });
        return;
      }
      case '/api/rejoin-standby': {
        const cluster = clusterOf(body);
        await sandbox.breaks.rejoinWithoutRewind(cluster);
        log.info({ cluster }, 'console rejoined an old primary as a standby without a rewind');
        send(200, { ok: true });
        return;
      }
      case '/api/write-anyway': {
        const cluster = clusterOf(body);
        const write = await sandbox.breaks.writeAnyway(cluster);
        log.info(
          { cluster, committed: write.committed, detail: write.detail },
          'console wrote past the fence',
        );
        send(200, write);
        return;
      }
      default:
        send(404, { error: `no POST ${url.pathname}` });
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const status = error instanceof RequestError ? error.status : 500;
      const message = error instanceof Error ? error.message : String(error);
      if (status === 500) log.warn({ err: message, url: req.url }, 'console request failed');
      if (!res.headersSent)
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: message }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
