/**
 * The HTTPS listener of one stand-in cluster on 127.0.0.1 (a port of the system's choosing, kept across restarts),
 * and the outages played on it: connections reset before any byte is answered, or nothing listening at all.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { Socket } from 'node:net';
import type { ServerCertificate } from './certificates.js';
import type { ClusterState } from './cluster-state.js';
import type { Outage } from './types.js';

/** Gives a cluster's state its (not yet listening) HTTPS server; requests go to `onRequest`. */
export function attachListener(
  base: Omit<ClusterState, 'server' | 'port' | 'sockets'>,
  tls: ServerCertificate,
  onRequest: (state: ClusterState, req: IncomingMessage, res: ServerResponse) => Promise<void>,
): ClusterState {
  const server = createServer({ key: tls.keyPem, cert: tls.certPem });
  // The same object, not a copy: the operator's records bump this state's resourceVersions.
  const state: ClusterState = Object.assign(base, { server, port: 0, sockets: new Set<Socket>() });
  // Registered before the TLS handshake listener, so a reset happens before any byte is answered.
  server.prependListener('connection', (socket: Socket) => {
    if (state.faults.outage === 'reset') {
      socket.resetAndDestroy();
      return;
    }
    state.sockets.add(socket);
    socket.once('close', () => state.sockets.delete(socket));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    onRequest(state, req, res).catch(() => res.destroy());
  });
  return state;
}

/** Listens on `port` (0: any free port, then remembered in `state.port`). */
export const listen = (state: ClusterState, port: number) =>
  new Promise<void>((resolve, reject) => {
    state.server.once('error', reject);
    state.server.listen(port, '127.0.0.1', () => {
      state.server.off('error', reject);
      const address = state.server.address();
      state.port = typeof address === 'object' && address ? address.port : port;
      resolve();
    });
  });

/** Stops listening and drops every open connection. */
export const stopListening = (state: ClusterState) =>
  new Promise<void>((resolve) => {
    if (!state.server.listening) return resolve();
    state.server.close(() => resolve());
    for (const socket of state.sockets) socket.destroy();
  });

/** Starts (or with null, ends) an outage: `refused` closes the port, `reset` resets open and new connections. */
export async function applyOutage(state: ClusterState, outage: Outage | null): Promise<void> {
  state.faults.outage = outage;
  if (outage === 'refused') await stopListening(state);
  else if (!state.server.listening) await listen(state, state.port);
  if (outage === 'reset') for (const socket of state.sockets) socket.resetAndDestroy();
}
