/**
 * The Prometheus witness over HTTP: what Baton asks and how it reads the answer. The answers a real Prometheus gives
 * (series at 0 or 1, no data, a bad query) are checked against a real Prometheus in
 * test/integration/auto-approve-witness.test.ts; this file covers what one cannot easily make a real Prometheus do
 * (hang, answer with a login page, return NaN or a matrix).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryPrometheusWitness } from '../../src/alerts/query-prometheus-witness.js';
import { freePort } from '../../lab/processes/processes.js';

let server: Server;
let url: string;
let answer: (req: IncomingMessage, res: ServerResponse) => void = () => undefined;
const asked: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    asked.push(req.url ?? '');
    answer(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prom/`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const json = (status: number, body: unknown) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
const vector = (...values: [Record<string, string>, string][]) =>
  json(200, {
    status: 'success',
    data: {
      resultType: 'vector',
      result: values.map(([metric, value]) => ({ metric, value: [1_700_000_000.5, value] })),
    },
  });
const witness = (timeoutMs = 1_000) =>
  queryPrometheusWitness(
    { url, query: 'up{site="$site", cluster="$cluster"}', timeoutMs },
    { site: 'production', cluster: 'east' },
  );

describe('queryPrometheusWitness', () => {
  it('asks /api/v1/query about the serving cluster, and agrees only when every series is 0', async () => {
    answer = vector([{ job: 'h', cluster: 'east', instance: 'a' }, '0'], [{ instance: 'b' }, '0']);
    asked.length = 0;
    expect(await witness()).toEqual({
      agrees: true,
      query: 'up{site="production", cluster="east"}',
      reason: 'Prometheus agrees: 2 series, all 0',
    });
    expect(asked).toHaveLength(1);
    const sent = new URL(asked[0] ?? '', url);
    expect(sent.pathname).toBe('/prom/api/v1/query');
    expect([...sent.searchParams]).toEqual([['query', 'up{site="production", cluster="east"}']]);

    answer = vector([{ instance: 'a' }, '0'], [{ __name__: 'up', instance: 'b' }, '1']);
    expect(await witness()).toMatchObject({
      agrees: false,
      reason: 'Prometheus does not agree: up{instance="b"} is 1 (1 of 2 series not 0)',
    });
    answer = vector([{}, 'NaN']);
    expect((await witness()).reason).toBe('Prometheus does not agree: {} is NaN (1 of 1 series not 0)');
    answer = vector();
    expect((await witness()).reason).toBe(
      'Prometheus returned no series: no data is no evidence that east is down',
    );
  });

  it('does not agree when Prometheus fails, hangs, is not there, or answers something else', async () => {
    answer = json(400, { status: 'error', errorType: 'bad_data', error: 'invalid parameter "query"' });
    expect(await witness()).toMatchObject({
      agrees: false,
      reason: 'Prometheus answered HTTP 400: bad_data: invalid parameter "query"',
    });
    answer = json(200, { status: 'success', data: { resultType: 'matrix', result: [] } });
    expect((await witness()).reason).toBe(
      'Prometheus returned a matrix, not an instant vector: use an instant query, e.g. max_over_time(up{…}[5m])',
    );
    answer = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>Sign in</html>');
    };
    expect((await witness()).reason).toBe(
      "Prometheus' answer is not the query API's JSON (HTTP 200, text/html)",
    );
    answer = (_req, res) => {
      res.writeHead(302, { location: 'https://sso.example/login' });
      res.end();
    };
    expect((await witness()).reason).toBe(
      'Prometheus answered HTTP 302 redirect to https://sso.example/login',
    );
    let hung: ServerResponse | undefined;
    answer = (_req, res) => (hung = res); // never answers
    expect(await witness(300)).toMatchObject({
      agrees: false,
      reason: 'Prometheus did not answer within 300 ms',
    });
    // It gave up on its own timeout: the request reached Prometheus, which still holds it unanswered.
    expect(hung?.writableEnded).toBe(false);

    const closed = await freePort();
    expect(
      await queryPrometheusWitness(
        { url: `http://127.0.0.1:${closed}`, query: 'up{cluster="$cluster"}', timeoutMs: 1_000 },
        { site: 'production', cluster: 'east' },
      ),
    ).toEqual({
      agrees: false,
      query: 'up{cluster="east"}',
      reason: 'Prometheus could not be reached: connection refused',
    });
  });
});
