/**
 * The auto-approval witness's second vantage point: one instant query against a Prometheus HTTP API
 * (`GET <url>/api/v1/query`), ideally a Prometheus in a third location that watches the serving cluster from
 * outside both Baton's network and the cluster's. It agrees that the cluster is down only when the query returns at
 * least one series and every value is 0; no data, an error, a timeout or any other value is "does not agree", with
 * the reason. It never throws.
 */
import { z } from 'zod';
import type { PrometheusWitnessConfig } from '../config/topology.js';

export interface PrometheusVerdict {
  agrees: boolean;
  /** The query as sent, with `$cluster` and `$site` filled in. */
  query: string;
  /** One line for Slack, the audit and the log. */
  reason: string;
}

/** Series named in a "does not agree" reason, at most (the count says how many there were). */
const SHOWN_LABELS = 300;

// The query API's envelope (https://prometheus.io/docs/prometheus/latest/querying/api/); only what Baton reads.
const answerSchema = z.object({
  status: z.string(),
  errorType: z.string().optional(),
  error: z.string().optional(),
  data: z.object({ resultType: z.string(), result: z.unknown() }).optional(),
});
const vectorSchema = z.array(
  z.object({
    metric: z.record(z.string(), z.string()),
    // Absent for a native histogram sample, which is not a 0 either.
    value: z.tuple([z.number(), z.string()]).optional(),
  }),
);

/** Fills in the serving cluster and the site; both are validated labels (lowercase, digits, `-`). */
export function witnessQuery(query: string, target: { site: string; cluster: string }): string {
  return query.replaceAll('$cluster', target.cluster).replaceAll('$site', target.site);
}

/** Asks Prometheus whether the serving cluster is down. */
export async function queryPrometheusWitness(
  config: PrometheusWitnessConfig,
  target: { site: string; cluster: string },
  options: { signal?: AbortSignal } = {},
): Promise<PrometheusVerdict> {
  const query = witnessQuery(config.query, target);
  const verdict = (agrees: boolean, reason: string): PrometheusVerdict => ({ agrees, query, reason });
  const endpoint = `${config.url.replace(/\/+$/, '')}/api/v1/query?${new URLSearchParams({ query })}`;
  const timeout = AbortSignal.timeout(config.timeoutMs);
  let response: Response;
  let text: string;
  try {
    response = await fetch(endpoint, {
      headers: { accept: 'application/json', 'user-agent': 'baton-witness' },
      // A redirect (a login page in front of Prometheus) is not an answer.
      redirect: 'manual',
      signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
    });
    text = await response.text();
  } catch (error) {
    if (timeout.aborted) return verdict(false, `Prometheus did not answer within ${config.timeoutMs} ms`);
    return verdict(false, `Prometheus could not be reached: ${fetchFailure(error)}`);
  }

  const { status } = response;
  const location = response.headers.get('location');
  if (status >= 300 && status < 400)
    return verdict(false, `Prometheus answered HTTP ${status}${location ? ` redirect to ${location}` : ''}`);
  let parsed: z.infer<typeof answerSchema> | undefined;
  try {
    const result = answerSchema.safeParse(JSON.parse(text));
    parsed = result.success ? result.data : undefined;
  } catch {
    parsed = undefined;
  }
  if (!parsed) {
    const type = response.headers.get('content-type')?.split(';')[0] ?? 'no content type';
    return verdict(false, `Prometheus' answer is not the query API's JSON (HTTP ${status}, ${type})`);
  }
  if (parsed.status !== 'success' || status !== 200 || !parsed.data) {
    const why = [parsed.errorType, parsed.error].filter(Boolean).join(': ') || parsed.status;
    return verdict(false, `Prometheus answered HTTP ${status}: ${why.slice(0, 300)}`);
  }
  if (parsed.data.resultType !== 'vector') {
    return verdict(
      false,
      `Prometheus returned a ${parsed.data.resultType}, not an instant vector: use an instant query, ` +
        'e.g. max_over_time(up{…}[5m])',
    );
  }
  const series = vectorSchema.safeParse(parsed.data.result);
  if (!series.success) return verdict(false, "Prometheus' vector is not in the query API's format");
  if (series.data.length === 0) {
    return verdict(
      false,
      `Prometheus returned no series: no data is no evidence that ${target.cluster} is down`,
    );
  }
  const notZero = series.data.filter((sample) => sample.value === undefined || Number(sample.value[1]) !== 0);
  const first = notZero[0];
  if (first) {
    const value = first.value?.[1] ?? 'a histogram';
    return verdict(
      false,
      `Prometheus does not agree: ${seriesName(first.metric)} is ${value} ` +
        `(${notZero.length} of ${series.data.length} series not 0)`,
    );
  }
  return verdict(true, `Prometheus agrees: ${series.data.length} series, all 0`);
}

/** `up{instance="b", job="h"}` as Prometheus shows a series. */
function seriesName(metric: Readonly<Record<string, string>>): string {
  const { __name__: name = '', ...labels } = metric;
  const pairs = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`);
  return `${name}{${pairs.join(', ')}}`.slice(0, SHOWN_LABELS);
}

/** A short reason for a request that got no HTTP answer (undici puts the system error in `cause`). */
function fetchFailure(error: unknown): string {
  const cause = (error as { cause?: unknown } | null)?.cause;
  const code = (cause as { code?: unknown } | null)?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'DNS: host not found';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection reset';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'host unreachable';
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') return 'connect timeout';
  if (typeof code === 'string') return code;
  if (cause instanceof Error) return cause.message.slice(0, 200);
  return error instanceof Error ? error.message.slice(0, 200) : String(error).slice(0, 200);
}
