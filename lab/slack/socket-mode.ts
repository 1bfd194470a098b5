/**
 * Socket Mode as Slack's documentation describes it: `apps.connections.open` hands out a single-use
 * `ws://…/link/?ticket=…` URL on the stand-in's own HTTP server, whose WebSocket greets with `hello`, pings,
 * delivers envelopes (`{ envelope_id, type, payload, accepts_response_payload }`), records the app's acks
 * (`{ envelope_id, payload }`) and sends `disconnect` messages.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import { WebSocket, WebSocketServer } from 'ws';
import type { Answer, Params } from './web-api-wire.js';

/** Envelope types Slack sends over Socket Mode. */
export type SlackEnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

export interface SlackEnvelopeInput {
  type: SlackEnvelopeType;
  /**
   * What Slack would have POSTed over HTTP: for `slash_commands` the form fields as a JSON object of strings, for
   * `interactive` the payload object (`block_actions`, `view_submission`, …), for `events_api` the event callback
   * (with its `event`).
   */
  payload: object;
}

export interface SlackDelivery {
  envelopeId: string;
  /** The app acked within the timeout on the connection it was sent to. */
  acked: boolean;
  /** The ack's `payload`, when the app sent one. */
  ackPayload?: unknown;
  /** Wall time from sending the envelope to the ack, or to giving up. */
  ms: number;
  /**
   * What went wrong, as Slack shows it to the user: `dispatch_failed` (no open connection), `operation_timeout`
   * (no ack in time), or why the ack's payload could not be shown (`invalid_blocks`, `no_text`, …).
   */
  error?: string;
}

/** One envelope sent over Socket Mode, and what became of it. */
export interface SlackSocketEnvelope {
  envelopeId: string;
  type: SlackEnvelopeType;
  payload: unknown;
  connectionId: string;
  deliveredAt: number;
  /** When the ack arrived, even too late. */
  ackedAt?: number;
  ackPayload?: unknown;
  error?: string;
}

/** One Socket Mode WebSocket connection. */
export interface SlackSocketConnection {
  id: string;
  openedAt: number;
  closedAt?: number;
  closeCode?: number;
  /** Pings the app sent; each was answered with a pong. */
  pingsReceived: number;
  /** Pongs the app returned to the server's pings. */
  pongsReceived: number;
}

/** Reasons of Slack's `disconnect` message. */
export type SlackDisconnectReason = 'warning' | 'refresh_requested' | 'link_disabled' | 'too_many_websockets';

export interface SlackSocketMode {
  /** Open connections. */
  connections(): number;
  /** Every connection ever opened, oldest first. */
  connectionLog(): SlackSocketConnection[];
  /** Every envelope sent, oldest first. */
  envelopes(): SlackSocketEnvelope[];
  /**
   * Sends an envelope to one open connection (round robin, as Slack spreads them) and waits up to `timeoutMs`
   * (default 3 000, Slack's limit) for its ack. A slash command's ack payload with text or blocks is shown as Slack
   * shows it: an ephemeral for the user, or a channel message with `response_type: 'in_channel'`.
   */
  deliver(envelope: SlackEnvelopeInput, options?: { timeoutMs?: number }): Promise<SlackDelivery>;
  /**
   * Sends `{ type: 'disconnect', reason }` (default `refresh_requested`) to every open connection and resolves once
   * they have closed; Slack drops a connection the app keeps open past a grace period. A `warning` only warns.
   */
  disconnectAll(reason?: SlackDisconnectReason): Promise<void>;
}

/** Slack waits 3 seconds for a Socket Mode ack, as for an HTTP answer. */
export const SOCKET_ACK_TIMEOUT_MS = 3_000;
/** Open Socket Mode connections allowed per app. */
export const SOCKET_MAX_CONNECTIONS = 10;
/** How long a connection told to disconnect may stay open before the server drops it. */
const SOCKET_DISCONNECT_GRACE_MS = 2_000;
const SOCKET_HOST = 'applink-sandbox';

export interface SocketModeOptions {
  appId: string;
  now: () => number;
  /** How often each connection is pinged (ms). */
  pingIntervalMs: number;
  /** Read on every upgrade: refuse new connections. */
  outage: () => boolean;
  /** Shows a slash command's ack payload; returns why it could not. */
  showCommandAnswer: (command: Params, answer: unknown) => string | undefined;
}

interface LiveConnection {
  record: SlackSocketConnection;
  ws: WebSocket;
  pinger: NodeJS.Timeout;
}

/** Slack's `debug_info.started` form: `2020-10-11 12:12:12.120`. */
const slackTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

const disconnectMessage = (reason: SlackDisconnectReason) => ({
  type: 'disconnect',
  reason,
  debug_info: { host: SOCKET_HOST },
});

export class SocketModeServer {
  /** What tests call (`server.socketMode`); its functions hold no `this`, so they can be passed around. */
  readonly controls: SlackSocketMode;
  private readonly live = new Map<string, LiveConnection>();
  private readonly connectionLog: SlackSocketConnection[] = [];
  private readonly envelopeLog: SlackSocketEnvelope[] = [];
  private readonly awaitingAck = new Map<string, (payload: unknown) => void>();
  /** Tickets handed out by apps.connections.open and not yet used. */
  private readonly tickets = new Set<string>();
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private wsBase = '';
  private connectionCounter = 0;
  private nextTarget = 0;

  constructor(private readonly options: SocketModeOptions) {
    this.controls = {
      connections: () => this.live.size,
      connectionLog: () => structuredClone(this.connectionLog),
      envelopes: () => structuredClone(this.envelopeLog),
      deliver: (input, deliverOptions) => this.deliver(input, deliverOptions),
      disconnectAll: (reason) => this.disconnectAll(reason),
    };
  }

  /** Takes WebSocket upgrades to `/link/` on the stand-in's HTTP server, reachable at `wsBase`. */
  attach(server: Server, wsBase: string): void {
    this.wsBase = wsBase;
    server.on('upgrade', (req: IncomingMessage, socket, head) => {
      socket.on('error', () => socket.destroy());
      if (this.options.outage()) {
        socket.destroy();
        return;
      }
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const ticket = url.searchParams.get('ticket');
      const refusal =
        url.pathname !== '/link/' && url.pathname !== '/link'
          ? '404 Not Found'
          : !ticket || !this.tickets.delete(ticket)
            ? '401 Unauthorized'
            : undefined;
      if (refusal) socket.end(`HTTP/1.1 ${refusal}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      else this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
    });
  }

  /** apps.connections.open: each URL carries a fresh single-use ticket; clients call again to reconnect. */
  openConnection(): Answer {
    const ticket = randomUUID();
    this.tickets.add(ticket);
    return { ok: true, url: `${this.wsBase}/link/?ticket=${ticket}&app_id=${this.options.appId}` };
  }

  /** Resets every open connection, as an outage does. */
  terminateAll(): void {
    for (const { ws } of this.live.values()) ws.terminate();
  }

  /** Drops every connection; upgraded sockets are no longer the HTTP server's to close. */
  close(): void {
    for (const { ws, pinger } of this.live.values()) {
      clearInterval(pinger);
      ws.terminate();
    }
    this.wss.close();
  }

  private accept(ws: WebSocket): void {
    const { now } = this.options;
    ws.on('error', () => ws.terminate());
    if (this.live.size >= SOCKET_MAX_CONNECTIONS) {
      ws.send(JSON.stringify(disconnectMessage('too_many_websockets')), () => ws.close(1000));
      return;
    }
    this.connectionCounter += 1;
    const record: SlackSocketConnection = {
      id: `link-${this.connectionCounter}`,
      openedAt: now(),
      pingsReceived: 0,
      pongsReceived: 0,
    };
    const pinger = setInterval(() => ws.ping(), this.options.pingIntervalMs);
    pinger.unref();
    this.live.set(record.id, { record, ws, pinger });
    this.connectionLog.push(record);
    // ws answers every ping with a pong by itself (autoPong), as Slack's servers do.
    ws.on('ping', () => (record.pingsReceived += 1));
    ws.on('pong', () => (record.pongsReceived += 1));
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const bytes = Array.isArray(data)
        ? Buffer.concat(data)
        : data instanceof ArrayBuffer
          ? Buffer.from(data)
          : data;
      this.onMessage(record.id, bytes.toString('utf8'));
    });
    ws.on('close', (code) => {
      clearInterval(pinger);
      this.live.delete(record.id);
      record.closedAt = now();
      record.closeCode = code;
    });
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.live.size,
        debug_info: {
          host: SOCKET_HOST,
          started: slackTime(now()),
          build_number: 1,
          approximate_connection_time: 18_060,
        },
        connection_info: { app_id: this.options.appId },
      }),
    );
  }

  /** An ack counts on the connection its envelope went to, once. */
  private onMessage(connectionId: string, raw: string): void {
    let message: unknown;
    try {
      message = JSON.parse(raw);
    } catch {
      return;
    }
    const envelopeId = (message as Params | null)?.envelope_id;
    const entry = this.envelopeLog.find((e) => e.envelopeId === envelopeId);
    if (!entry || entry.connectionId !== connectionId || entry.ackedAt !== undefined) return;
    entry.ackedAt = this.options.now();
    const payload = (message as Params).payload;
    if (payload !== undefined) entry.ackPayload = payload;
    this.awaitingAck.get(entry.envelopeId)?.(payload);
  }

  private async deliver(
    input: SlackEnvelopeInput,
    options: { timeoutMs?: number } = {},
  ): Promise<SlackDelivery> {
    const { now } = this.options;
    const timeoutMs = options.timeoutMs ?? SOCKET_ACK_TIMEOUT_MS;
    const envelopeId = randomUUID();
    if (input.type === 'events_api' && typeof (input.payload as Params).event !== 'object')
      throw new Error('an events_api envelope needs the event callback, with its `event`, as payload');
    const open = [...this.live.values()].filter((c) => c.ws.readyState === WebSocket.OPEN);
    const target = open[this.nextTarget++ % Math.max(open.length, 1)];
    if (!target) return { envelopeId, acked: false, ms: 0, error: 'dispatch_failed' };
    const payload = structuredClone(input.payload);
    const entry: SlackSocketEnvelope = {
      envelopeId,
      type: input.type,
      payload,
      connectionId: target.record.id,
      deliveredAt: now(),
    };
    this.envelopeLog.push(entry);
    const started = performance.now();
    const { awaitingAck } = this;
    const outcome = await new Promise<{ acked: true; payload: unknown } | { acked: false; error: string }>(
      (resolve) => {
        const timer = setTimeout(() => {
          awaitingAck.delete(envelopeId);
          resolve({ acked: false, error: 'operation_timeout' });
        }, timeoutMs);
        awaitingAck.set(envelopeId, (ackPayload) => {
          clearTimeout(timer);
          awaitingAck.delete(envelopeId);
          resolve({ acked: true, payload: ackPayload });
        });
        target.ws.send(
          JSON.stringify({
            envelope_id: envelopeId,
            type: input.type,
            payload,
            accepts_response_payload: input.type !== 'events_api',
            ...(input.type === 'events_api' && { retry_attempt: 0, retry_reason: '' }),
          }),
          (error) => {
            if (!error) return;
            clearTimeout(timer);
            awaitingAck.delete(envelopeId);
            resolve({ acked: false, error: 'dispatch_failed' });
          },
        );
      },
    );
    const ms = performance.now() - started;
    if (!outcome.acked) {
      entry.error = outcome.error;
      return { envelopeId, acked: false, ms, error: outcome.error };
    }
    const error =
      input.type === 'slash_commands'
        ? this.options.showCommandAnswer(payload as Params, outcome.payload)
        : undefined;
    if (error) entry.error = error;
    return {
      envelopeId,
      acked: true,
      ...(outcome.payload !== undefined && { ackPayload: structuredClone(outcome.payload) }),
      ms,
      ...(error && { error }),
    };
  }

  private async disconnectAll(reason: SlackDisconnectReason = 'refresh_requested'): Promise<void> {
    await Promise.all(
      [...this.live.values()].map(
        ({ ws }) =>
          new Promise<void>((resolve) => {
            if (ws.readyState !== WebSocket.OPEN) return resolve();
            ws.send(JSON.stringify(disconnectMessage(reason)));
            if (reason === 'warning') return resolve();
            const drop = setTimeout(() => ws.terminate(), SOCKET_DISCONNECT_GRACE_MS);
            ws.once('close', () => {
              clearTimeout(drop);
              resolve();
            });
          }),
      ),
    );
  }
}
