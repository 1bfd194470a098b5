/** The schema of an alert rule's `autoApprove.witness`: the probes and the optional Prometheus that must agree. */
import { z } from 'zod';
import { formatDuration } from '../duration.js';
import { duration, httpUrl } from './field-schemas.js';

const DEFAULT_WITNESS_PROBES = 3;
const DEFAULT_PROMETHEUS_TIMEOUT_MS = 5_000;
const MAX_PROMETHEUS_TIMEOUT_MS = 30_000;

const prometheusWitnessSchema = z.strictObject({
  url: httpUrl,
  query: z
    .string()
    .trim()
    .min(1)
    .refine((query) => query.includes('$cluster'), {
      message:
        'must name the serving cluster as $cluster, e.g. up{job="cluster-health", cluster="$cluster"}: a query ' +
        'about one fixed cluster would still say "down" after traffic moved away from it',
    }),
  timeout: duration
    .refine((ms) => ms <= MAX_PROMETHEUS_TIMEOUT_MS, {
      error: (issue) =>
        `${formatDuration(Number(issue.input))} is longer than ${formatDuration(MAX_PROMETHEUS_TIMEOUT_MS)}; ` +
        'a pass waits for Prometheus, so keep it short',
    })
    .default(DEFAULT_PROMETHEUS_TIMEOUT_MS),
});

/** `autoApprove.witness`, defaulting to probes alone. */
export const witnessSchema = z
  .strictObject({
    probes: z
      .int()
      .min(2, 'must be at least 2: one probe cannot tell an outage from a blip or from Baton being cut off')
      .max(1000)
      .default(DEFAULT_WITNESS_PROBES),
    prometheus: prometheusWitnessSchema.optional(),
  })
  .default({ probes: DEFAULT_WITNESS_PROBES });
