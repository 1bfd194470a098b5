/**
 * Configuration, once, at boot: the environment (one zod schema, `env.ts`) and the topology file it names, or one
 * `config-invalid` error listing every problem. Pure in its inputs: the composition roots pass `process.env`.
 */
import { BatonError } from '../errors.js';
import type { KeyPrefixes } from '../store/keys.js';
import { keyPrefixesOf } from '../store/keys.js';
import type { BatonEnv } from './env.js';
import { parseEnv } from './env.js';
import type { ParseTopologyOptions, Topology } from './topology.js';
import { loadTopologyFile } from './topology.js';

type Env = Record<string, string | undefined>;

/**
 * Where Baton's keys live in Redis: its store (`{baton}:`) and BullMQ's (`{baton}-bull`), both under the key prefix
 * and its Redis Cluster hash tag (see store/keys.ts).
 */
export function keyPrefixes(env: Pick<BatonEnv, 'keyPrefix'>): KeyPrefixes {
  return keyPrefixesOf(env.keyPrefix);
}

/** The environment alone, or one `config-invalid` error listing every bad variable. */
export function loadEnvOnly(rawEnv: Env): BatonEnv {
  const parsed = parseEnv(rawEnv);
  if (!parsed.ok) throw new BatonError('config-invalid', `environment: ${parsed.problems.join('; ')}`);
  return parsed.env;
}

/**
 * The environment and the topology file. The break-glass CLI and the web role pass `checkEnv: false`: they never
 * connect to PostgreSQL, so the database URL variables need not be set.
 */
export async function loadConfig(
  rawEnv: Env,
  options: ParseTopologyOptions = {},
): Promise<{ env: BatonEnv; topology: Topology; prefixes: KeyPrefixes }> {
  const env = loadEnvOnly(rawEnv);
  const topology = await loadTopologyFile(env.batonConfig, rawEnv, options);
  if (!topology.ok)
    throw new BatonError('config-invalid', `${env.batonConfig}: ${topology.problems.join('; ')}`);
  return { env, topology: topology.topology, prefixes: keyPrefixes(env) };
}
