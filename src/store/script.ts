/**
 * Baton's Lua scripts: one file each in `./lua/`, loaded by {@link loadScript} and called with named keys and
 * arguments. Each file starts with a header naming them in order,
 *
 *     -- KEYS: run site audit lock?
 *     -- ARGV: version data token
 *
 * and the script reads them as `KEY.run` and `ARG.version` (the loader binds those names to `KEYS[i]`/`ARGV[i]`).
 * A trailing `?` marks an optional key: optional keys come last, and an absent one is not sent (its `KEY.x` is nil),
 * never sent as '' (on Redis Cluster an empty key hashes to slot 0, not to Baton's slot). Every key a script touches
 * is one of its KEYS: nothing is built inside Lua.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

type Required<N extends string> = N extends `${string}?` ? never : N;
type Optional<N extends string> = N extends `${infer Name}?` ? Name : never;

/** The keys of a script declared with key names `N` (`lock?` is optional). */
export type ScriptKeys<N extends string> = { [P in Required<N>]: string } & { [P in Optional<N>]?: string };

/** One call: every key and argument by name. */
export interface ScriptCall<K extends string, A extends string> {
  keys: ScriptKeys<K>;
  args: Record<A, string | number>;
}

/** What a script needs of a connection (a Redis or a Cluster client). */
export type ScriptConnection = Pick<Redis, 'evalsha' | 'eval'>;

const NAME = /^[a-z][A-Za-z0-9]*$/;
// A name becomes a Lua table field (`KEY.name`): a keyword there would not parse.
const LUA_KEYWORDS = new Set([
  ...'and break do else elseif end false for function if in local nil'.split(' '),
  ...'not or repeat return then true until while'.split(' '),
]);

/** A Lua script run by sha, loaded again when Redis has forgotten it (first use, restart, SCRIPT FLUSH). */
export class Script<K extends string, A extends string> {
  private readonly sha: string;
  private readonly keyNames: readonly string[];
  private readonly optionalFrom: number;

  constructor(
    /** The script's name, for errors. */
    readonly name: string,
    private readonly source: string,
    keys: readonly K[],
    private readonly argNames: readonly A[],
  ) {
    this.keyNames = keys.map((key) => key.replace(/\?$/, ''));
    const firstOptional = keys.findIndex((key) => key.endsWith('?'));
    this.optionalFrom = firstOptional === -1 ? keys.length : firstOptional;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: ScriptConnection, call: ScriptCall<K, A>): Promise<unknown> {
    const named = call.keys as Record<string, string | undefined>;
    const keys: string[] = [];
    this.keyNames.forEach((name, i) => {
      const key = named[name];
      if (key === undefined) {
        if (i < this.optionalFrom) throw new Error(`script ${this.name}: key ${name} missing`);
        return;
      }
      // Positions must not shift: an optional key is sent only after every key declared before it.
      if (keys.length !== i)
        throw new Error(`script ${this.name}: key ${name} given without the keys before it`);
      keys.push(key);
    });
    const args = call.args as Record<string, string | number | undefined>;
    // One array (ioredis flattens it): a long argument list would overflow a spread call's stack.
    const all = keys.concat(
      this.argNames.map((name) => {
        const value = args[name];
        if (value === undefined) throw new Error(`script ${this.name}: argument ${name} missing`);
        return String(value);
      }),
    );
    try {
      return await redis.evalsha(this.sha, keys.length, all);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.includes('NOSCRIPT')) throw error;
      return redis.eval(this.source, keys.length, all);
    }
  }
}

/**
 * Loads `lua/<name>.lua` (beside this module, in src/ under tsx and in dist/ once built) declaring `keys` and `args`
 * in this order, which must be the order of its header. Throws at import when they differ, so a script and its
 * callers cannot drift apart.
 */
export function loadScript<const K extends string, const A extends string>(
  name: string,
  declared: { keys: readonly K[]; args: readonly A[] },
): Script<K, A> {
  const text = readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8');
  // A long list may go on over several header lines of the same label.
  const header = (label: string) =>
    [...text.matchAll(new RegExp(`^-- ${label}:(.*)$`, 'gm'))].flatMap((line) =>
      (line[1] ?? '').split(/\s+/).filter(Boolean),
    );
  const check = (label: string, names: readonly string[]) => {
    const found = header(label);
    if (found.join(' ') !== names.join(' ')) {
      throw new Error(
        `lua/${name}.lua declares ${label}: ${found.join(' ')}; its caller: ${names.join(' ')}`,
      );
    }
    // Only a key may be optional.
    const plain = label === 'KEYS' ? names.map((n) => n.replace(/\?$/, '')) : [...names];
    const bad = plain.find((n) => !NAME.test(n) || LUA_KEYWORDS.has(n));
    if (bad !== undefined) throw new Error(`lua/${name}.lua: ${label} name ${bad} is not a plain Lua name`);
    return plain;
  };
  const keys = check('KEYS', declared.keys);
  const args = check('ARGV', declared.args);
  const firstOptional = declared.keys.findIndex((key) => key.endsWith('?'));
  if (firstOptional >= 0 && declared.keys.slice(firstOptional).some((key) => !key.endsWith('?'))) {
    throw new Error(`lua/${name}.lua: optional keys must come last`);
  }
  // On the script's first line, so Redis's line numbers in errors are the file's.
  const bind = (table: string, names: string[], from: string) =>
    `local ${table} = {${names.map((n, i) => `${n} = ${from}[${i + 1}]`).join(', ')}} `;
  const source = bind('KEY', keys, 'KEYS') + bind('ARG', args, 'ARGV') + text;
  return new Script(name, source, declared.keys, declared.args);
}
