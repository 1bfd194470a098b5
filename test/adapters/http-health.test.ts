import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import type { Server as NetServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpHealth } from '../../src/adapters/http-health.js';
import { freePort } from '../../lab/processes/processes.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const servers: (Server | NetServer)[] = [];
const hanging = new Set<ServerResponse>();
/** The latest /slow and /endless requests, which the server never finishes. */
let slow: ServerResponse | undefined;
let endless: ServerResponse | undefined;
const sockets = new Set<Socket>();

async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  return `127.0.0.1:${address.port}`;
}

const serve = async (handler: Handler) => `http://${await listen(createServer(handler))}`;

let base = '';
beforeAll(async () => {
  base = await serve((req, res) => {
    if (req.url === '/health') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    } else if (req.url === '/no-content') {
      res.writeHead(204).end();
    } else if (req.url === '/broken') {
      res.writeHead(500, 'Internal Server Error').end('database down');
    } else if (req.url === '/moved') {
      res.writeHead(302, { location: '/login' }).end();
    } else if (req.url === '/slow') {
      slow = res;
      hanging.add(res); // never answers
    } else if (req.url === '/endless') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('still going'); // headers sent, body never ends
      endless = res;
      hanging.add(res);
    } else {
      res.writeHead(404).end();
    }
  });
});

afterAll(async () => {
  for (const res of hanging) res.destroy();
  for (const socket of sockets) socket.destroy();
  await Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          if ('closeAllConnections' in server) server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

describe('HttpHealth', () => {
  const health = new HttpHealth({ timeoutMs: 300 });

  it('is ok for 2xx answers', async () => {
    expect(await health.check(`${base}/health`)).toEqual({ ok: true, status: 200 });
    expect(await health.check(`${base}/no-content`)).toEqual({ ok: true, status: 204 });
  });

  it('is not ok for 5xx, 4xx and redirects, and says which', async () => {
    expect(await health.check(`${base}/broken`)).toEqual({
      ok: false,
      status: 500,
      error: 'HTTP 500 Internal Server Error',
    });
    expect(await health.check(`${base}/missing`)).toMatchObject({ ok: false, status: 404 });
    expect(await health.check(`${base}/moved`)).toEqual({
      ok: false,
      status: 302,
      error: 'HTTP 302 redirect to /login',
    });
  });

  it('times out a server that does not answer, without throwing', async () => {
    const result = await health.check(`${base}/slow`);
    expect(result).toEqual({ ok: false, error: 'timeout after 300 ms' });
    // Its own timeout ended it: the server got the request and still has not answered.
    expect(slow?.writableEnded).toBe(false);
  });

  it('does not wait for a body that never ends once the status is in', async () => {
    // A timeout far beyond this test's own: only the status coming in can have ended the check.
    const patient = new HttpHealth({ timeoutMs: 10 * 60_000 });
    expect(await patient.check(`${base}/endless`)).toEqual({ ok: true, status: 200 });
    expect(endless?.writableEnded).toBe(false);
  });

  it('reports a refused connection', async () => {
    const port = await freePort(); // nothing listens there
    expect(await health.check(`http://127.0.0.1:${port}/health`)).toEqual({
      ok: false,
      error: 'connection refused',
    });
  });

  it('reports a server that does not speak HTTP', async () => {
    const server = createNetServer((socket) => {
      sockets.add(socket);
      socket.end('SSH-2.0-OpenSSH_9.2\r\n');
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (typeof address !== 'object' || !address) throw new Error('no address');
    expect(await health.check(`http://127.0.0.1:${address.port}/`)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^not an HTTP answer \(HPE_/),
    });
  });

  it('reports an invalid URL instead of throwing', async () => {
    expect(await health.check('not a url')).toEqual({ ok: false, error: 'invalid URL' });
  });

  it('reports TLS failures (a self-signed certificate)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'baton-tls-'));
    try {
      const generated = await new Promise<boolean>((resolve) =>
        execFile(
          'openssl',
          [
            ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1'],
            ...['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
          ],
          (error) => resolve(!error),
        ),
      );
      if (!generated) throw new Error('openssl is needed to create a test certificate');
      const server = createHttpsServer(
        { key: await readFile(join(dir, 'key.pem')), cert: await readFile(join(dir, 'cert.pem')) },
        (_req, res) => res.writeHead(200).end('ok'),
      );
      const host = await listen(server);
      expect(await health.check(`https://${host}/health`)).toEqual({
        ok: false,
        error: 'TLS: self-signed certificate',
      });
      // https:// to a plain HTTP port, the other common misconfiguration.
      expect(await health.check(`${base.replace('http:', 'https:')}/health`)).toEqual({
        ok: false,
        error: 'TLS: not a TLS server',
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
