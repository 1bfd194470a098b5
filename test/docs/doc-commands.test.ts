/**
 * Every shell command in README.md and docs/*.md, tried as a new user would: each one is run here, or is run by a
 * test this file names, or is marked in the doc as needing something this repository cannot provide (a real
 * cluster, AWS, a Docker engine) and checked offline as far as possible. A command nobody accounts for fails.
 *
 * What counts as a command (docs/operator-guide.md, "Commands in these docs"):
 * - the lines of a fenced block tagged bash, sh, shell or console, and `$ ` lines in any fenced block; in a block
 *   with `$ ` lines only those are commands and the lines after each are its output; `#` lines are comments and a
 *   trailing `\` continues a command;
 * - a trailing `# needs: <what>`, or an HTML comment `<!-- needs: <what> -->` just before the block, marks commands
 *   that need a real environment; `<!-- test/….test.ts runs this block -->` names the test that runs a block.
 *
 * Commands run here get a Redis of their own, `BATON_CONFIG=examples/baton.yaml` and nothing else a shell would not
 * have (no database URLs, no Slack token); `baton` and `npx baton` are `node --import tsx src/cli.ts`.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  BREAK_GLASS_COMMANDS,
  UsageError,
  parseBreakGlassArgs,
} from '../../src/break-glass/parse-break-glass-args.js';
import type { BreakGlassCommand } from '../../src/break-glass/parse-break-glass-args.js';
import { parseTopology } from '../../src/config/topology.js';
import { startRedis } from '../../lab/processes/processes.js';
import type { RedisProcess } from '../../lab/processes/processes.js';
import { kustomize, ROOT } from '../manifests/support.js';
import type { KubeObject } from '../manifests/support.js';

// ---------------------------------------------------------------------------------------------------------------
// Finding the commands
// ---------------------------------------------------------------------------------------------------------------

const SHELL_LANGUAGES = new Set(['bash', 'sh', 'shell', 'console', 'zsh']);

interface DocCommand {
  /** Repository-relative path of the Markdown file. */
  file: string;
  /** 1-based line of the command's first line. */
  line: number;
  /** The command as typed, continuation lines joined, without its trailing comment. */
  code: string;
  /** The trailing comment, if any (`# needs: a real cluster` → `needs: a real cluster`). */
  comment?: string;
  /** What the doc says the command needs (from `# needs:` or the block's `<!-- needs: -->`). */
  needs?: string;
  /** The test the block's `<!-- … runs this block -->` comment names. */
  runBy?: string;
  /** A transcript's output lines after the command (undefined outside transcripts). */
  output?: string[];
  /** The commands of the same block, in order (for checks that look at their neighbours). */
  block: DocCommand[];
}

/** Splits a trailing `# comment` off a shell line, outside quotes; `#` must start a word. */
function splitComment(line: string): { code: string; comment?: string } {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i];
    if (quote) {
      if (c === '\\' && quote === '"') i += 1;
      else if (c === quote) quote = null;
    } else if (c === '\\') i += 1;
    else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1] ?? ''))) {
      return { code: line.slice(0, i).trimEnd(), comment: line.slice(i + 1).trim() };
    }
  }
  return { code: line.trimEnd() };
}

/** The commands of one Markdown file, following the convention in this file's header. */
function extractCommands(file: string, text: string): DocCommand[] {
  const lines = text.split('\n');
  const commands: DocCommand[] = [];
  let i = 0;
  while (i < lines.length) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)/.exec(lines[i] ?? '');
    if (!open) {
      i += 1;
      continue;
    }
    const fence = open[2] ?? '```';
    const language = (open[3] ?? '').toLowerCase();
    let end = i + 1;
    while (end < lines.length && !(lines[end] ?? '').trim().startsWith(fence)) end += 1;
    const body = lines.slice(i + 1, end).map((text, k) => ({ text, line: i + 2 + k }));
    const annotation = annotationBefore(lines, i);
    commands.push(...blockCommands(file, language, body, annotation));
    i = end + 1;
  }
  return commands;
}

/** The HTML comment on the last non-blank line before a fence, if that is what it is. */
function annotationBefore(lines: string[], fenceIndex: number): { needs?: string; runBy?: string } {
  let k = fenceIndex - 1;
  while (k >= 0 && (lines[k] ?? '').trim() === '') k -= 1;
  const comment = /^<!--\s*(.*?)\s*-->$/.exec((lines[k] ?? '').trim())?.[1];
  if (!comment) return {};
  const needs = /^needs:\s*(.+)$/.exec(comment)?.[1];
  if (needs) return { needs };
  const runBy = /^(\S+\.test\.ts) runs this block$/.exec(comment)?.[1];
  return runBy ? { runBy } : {};
}

function blockCommands(
  file: string,
  language: string,
  body: { text: string; line: number }[],
  annotation: { needs?: string; runBy?: string },
): DocCommand[] {
  const transcript = body.some((l) => /^\s*\$ /.test(l.text));
  if (!transcript && !SHELL_LANGUAGES.has(language)) return [];
  const block: DocCommand[] = [];
  let current: DocCommand | null = null;
  let continuing = false;
  for (const { text, line } of body) {
    if (continuing && current) {
      const { code, comment } = splitComment(text.trim());
      current.code = `${current.code.replace(/\\$/, '').trimEnd()} ${code}`;
      if (comment) current.comment = comment;
      continuing = /\\$/.test(current.code);
      continue;
    }
    const dollar = /^\s*\$ (.*)$/.exec(text);
    if (transcript && !dollar) {
      if (current) current.output?.push(text);
      continue;
    }
    const raw = (dollar ? dollar[1] : text)?.trim() ?? '';
    if (raw === '' || raw.startsWith('#')) continue;
    const { code, comment } = splitComment(raw);
    current = {
      file,
      line,
      code,
      ...(comment && { comment }),
      ...(transcript && { output: [] }),
      block,
    };
    const needs = (comment && /^needs:\s*(.+)$/.exec(comment)?.[1]) || annotation.needs;
    if (needs) current.needs = needs;
    if (annotation.runBy) current.runBy = annotation.runBy;
    block.push(current);
    continuing = /\\$/.test(code);
  }
  for (const command of block) {
    command.code = command.code.replace(/\\$/, '').trimEnd();
    if (command.output) {
      while (command.output.length && (command.output.at(-1) ?? '').trim() === '') command.output.pop();
    }
  }
  return block;
}

/** Shell words of a simple command (quotes removed), up to the first unquoted `|`, `;`, `&&`, `>` or `<`. */
function shellWords(code: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: string | null = null;
  for (let i = 0; i < code.length; i += 1) {
    const c = code[i] ?? '';
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && /["\\$`]/.test(code[i + 1] ?? '')) word += code[(i += 1)];
      else word += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\') {
      word += code[(i += 1)] ?? '';
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else if (/[|;&<>]/.test(c)) {
      break;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

// ---------------------------------------------------------------------------------------------------------------
// The docs and what they refer to
// ---------------------------------------------------------------------------------------------------------------

const DOC_FILES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`),
];
const DOCS = new Map(DOC_FILES.map((file) => [file, readFileSync(join(ROOT, file), 'utf8')]));
const COMMANDS = DOC_FILES.flatMap((file) => extractCommands(file, DOCS.get(file) ?? ''));

const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  engines: { node: string };
};
const ENV_EXAMPLE_KEYS = new Set(
  readFileSync(join(ROOT, '.env.example'), 'utf8')
    .split('\n')
    .map((line) => /^([A-Z][A-Z0-9_]*)=/.exec(line)?.[1])
    .filter((key): key is string => key !== undefined),
);
const EXAMPLE = (() => {
  const parsed = parseTopology(
    readFileSync(join(ROOT, 'examples/baton.yaml'), 'utf8'),
    {},
    { checkEnv: false },
  );
  if (!parsed.ok) throw new Error(`examples/baton.yaml: ${parsed.problems.join('; ')}`);
  return parsed.topology;
})();

/** Commands of docs/deploy.md that need a real cluster but predate the `# needs:` marker; each is still checked. */
const UNMARKED: Readonly<Record<string, readonly string[]>> = {
  'docs/deploy.md': [
    'kubectl --context <cluster> create namespace baton',
    'kubectl --context <cluster> apply -k manifests/target-cluster-rbac',
    `server=$(kubectl config view --minify --context "$admin" -o jsonpath='{.clusters[0].cluster.server}')`,
    `kubectl --context "$admin" -n baton get secret baton-token -o jsonpath='{.data.ca\\.crt}' | base64 -d > "$name.ca.crt"`,
    `token=$(kubectl --context "$admin" -n baton get secret baton-token -o jsonpath='{.data.token}' | base64 -d)`,
    'kubectl -n baton create secret generic baton-secrets --from-env-file=baton.env',
  ],
};

const placeholderFree = (code: string): string => code.replace(/<[A-Za-z][^<>]*>/g, 'PLACEHOLDER');
const label = (command: DocCommand) => `${command.file}:${command.line}`;

// ---------------------------------------------------------------------------------------------------------------
// Running things
// ---------------------------------------------------------------------------------------------------------------

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `baton` and `npx baton` as a checkout runs them; every other `npx` is the real one. */
const SHELL_PRELUDE = [
  'baton() { node --import tsx src/cli.ts "$@"; }',
  'npx() { if [ "$1" = baton ]; then shift; baton "$@"; else command npx "$@"; fi; }',
].join('\n');

function run(
  file: string,
  args: string[],
  options: { env: Record<string, string>; cwd?: string },
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd ?? ROOT,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} ${args.join(' ')} did not finish within 40 s:\n${stdout}\n${stderr}`));
    }, 40_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** What the test gives every command it runs: its own Redis, the example topology, and a scratch HOME. */
interface World {
  redis: RedisProcess;
  scratch: string;
  env: Record<string, string>;
  builds: Map<string, Promise<KubeObject[]>>;
}
let world: World;

const runShell = (code: string) => run('bash', ['-c', `${SHELL_PRELUDE}\n${code}`], { env: world.env });

/** A kustomization built once per test run. */
function build(path: string): Promise<KubeObject[]> {
  let built = world.builds.get(path);
  if (!built) {
    built = kustomize(path);
    world.builds.set(path, built);
  }
  return built;
}

// ---------------------------------------------------------------------------------------------------------------
// Classifying: run here, run by a named test, run by hand, or needing a real environment
// ---------------------------------------------------------------------------------------------------------------

type Classification =
  | { kind: 'run'; why: string; check: (command: DocCommand) => Promise<void> }
  | { kind: 'tested'; by: string; check: (command: DocCommand) => Promise<void> }
  | { kind: 'manual'; why: string; check: (command: DocCommand) => Promise<void> }
  | { kind: 'needs'; what: string; check: (command: DocCommand) => Promise<void> }
  | { kind: 'shell'; why: string; check: (command: DocCommand) => Promise<void> };

const batonArgs = (code: string): string[] | null => {
  const words = shellWords(code);
  if (words[0] === 'npx' && words[1] === 'baton') return words.slice(2);
  if (words[0] === 'baton') return words.slice(1);
  return null;
};

/** Runs the command as written and checks its exit status, and its output when the doc shows it and it is stable. */
function runHere(
  why: string,
  expect_: {
    exit?: number | ((command: DocCommand) => number);
    output?: 'compare' | 'ignore';
    stdout?: RegExp;
  } = {},
): Classification {
  return {
    kind: 'run',
    why,
    check: async (command) => {
      const result = await runShell(command.code);
      const all = [result.stdout.trimEnd(), result.stderr.trimEnd()].filter(Boolean).join('\n');
      const exit = typeof expect_.exit === 'function' ? expect_.exit(command) : (expect_.exit ?? 0);
      expect(result.code, `${label(command)} \`${command.code}\` exited ${result.code}:\n${all}`).toBe(exit);
      if (expect_.stdout) expect(result.stdout).toMatch(expect_.stdout);
      if (expect_.output === 'compare' && command.output?.length) {
        expect(all, `${label(command)}: the doc shows other output than \`${command.code}\` prints`).toBe(
          command.output.join('\n'),
        );
      }
    },
  };
}

/** Evidence that a named file runs the command: the file exists and contains `needle`. */
function tested(
  by: string,
  evidence: { file?: string; needle: string }[],
  extra?: () => void,
): Classification {
  return {
    kind: 'tested',
    by,
    check: async () => {
      for (const path of by.split(', ')) expect(existsSync(join(ROOT, path)), `${path} exists`).toBe(true);
      for (const { file, needle } of evidence) {
        const text = readFileSync(join(ROOT, file ?? by), 'utf8');
        expect(text, `${file ?? by} should contain ${needle}`).toContain(needle);
      }
      extra?.();
    },
  };
}

const npmScript = (name: string, contains: string) => () =>
  expect(PACKAGE.scripts[name], `package.json script ${name}`).toContain(contains);

const BREAK_GLASS_TESTS = readdirSync(join(ROOT, 'test/break-glass'))
  .filter((name) => name.endsWith('.test.ts'))
  .map((name) => `test/break-glass/${name}`);

/** A break-glass command that changes state: its arguments parse as the doc expects, and a CLI test runs it. */
function breakGlassTested(sub: BreakGlassCommand, args: string[]): Classification {
  const runners = BREAK_GLASS_TESTS.filter((path) =>
    readFileSync(join(ROOT, path), 'utf8').includes(`runCli(['${sub}'`),
  );
  return {
    kind: 'tested',
    by: runners.join(', ') || `(no test in test/break-glass runs baton ${sub})`,
    check: async (command) => {
      expect(runners, `a test in test/break-glass runs \`baton ${sub}\``).not.toEqual([]);
      // A transcript that shows the usage text documents a typing mistake: it must be one.
      const showsUsage = (command.output ?? []).some((line) => line.startsWith('usage: baton'));
      let parsed: unknown;
      try {
        parsed = parseBreakGlassArgs(sub, args);
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        expect(showsUsage, `${label(command)} \`${command.code}\` is a usage error: ${error.message}`).toBe(
          true,
        );
        return;
      }
      expect(showsUsage, `${label(command)} shows a usage error, but \`${command.code}\` parses`).toBe(false);
      expect(parsed).toBeDefined();
    },
  };
}

/** Offline checks of a command that needs a real cluster, AWS, a database or a registry. */
function needs(
  what: string,
  check: (command: DocCommand) => Promise<void> = async () => undefined,
): Classification {
  return { kind: 'needs', what, check };
}

const KIND_ALIASES: Readonly<Record<string, string>> = {
  deploy: 'deployment',
  deployments: 'deployment',
  sts: 'statefulset',
  statefulsets: 'statefulset',
  secrets: 'secret',
  po: 'pod',
  pods: 'pod',
};

/** kubectl verbs whose first arguments name objects. */
const TARGET_VERBS = new Set([
  'get',
  'describe',
  'logs',
  'exec',
  'rollout',
  'port-forward',
  'delete',
  'scale',
]);

/** `deployment/baton-worker`, or `get deployment web`: the kind/name pairs a kubectl command names. */
function kubectlTargets(words: string[]): { kind: string; name?: string }[] {
  const positional: string[] = [];
  for (let i = 0; i < words.length; i += 1) {
    const word = words[i] ?? '';
    if (/^(-n|--namespace|--context|-o|--output|--since|-c|--container|-l|--selector)$/.test(word)) i += 1;
    else if (!word.startsWith('-')) positional.push(word);
  }
  const [, verb = '', ...rest] = positional;
  const args = verb === 'rollout' ? rest.slice(1) : rest;
  if (!TARGET_VERBS.has(verb) || args.length === 0) return [];
  const first = args[0] ?? '';
  const kindOf = (kind: string) => KIND_ALIASES[kind] ?? kind;
  if (first.includes('/')) {
    const [kind = '', name] = first.split('/');
    return [{ kind: kindOf(kind), ...(name && { name }) }];
  }
  return [{ kind: kindOf(first), ...(args[1] && !args[1].includes('=') && { name: args[1] }) }];
}

/** The names a cluster-side kubectl command uses are ones the manifests or the example topology define. */
async function checkKubectlNames(command: DocCommand): Promise<void> {
  const topology = EXAMPLE;
  const inner = /\$\((kubectl [^)]*)\)/.exec(command.code)?.[1] ?? command.code;
  const words = shellWords(placeholderFree(inner));
  const contexts = new Set(
    topology.sites.flatMap((site) => Object.values(site.clusters).map((c) => c.kubeContext ?? '')),
  );
  const valueOf = (flag: string) => {
    const at = words.findIndex((w) => w === flag || w.startsWith(`${flag}=`));
    if (at < 0) return undefined;
    const word = words[at] ?? '';
    return word.includes('=') ? word.slice(word.indexOf('=') + 1) : words[at + 1];
  };
  const context = valueOf('--context');
  if (context !== undefined && context !== 'PLACEHOLDER' && !context.startsWith('$')) {
    expect(
      contexts,
      `${label(command)}: --context ${context} is a kubeContext of examples/baton.yaml`,
    ).toContain(context);
  }
  const namespace = valueOf('-n') ?? valueOf('--namespace');
  const workloadNamespaces = new Set(topology.sites.flatMap((s) => s.workloads.map((w) => w.namespace)));
  if (namespace !== undefined) {
    expect(['baton', ...workloadNamespaces], `${label(command)}: namespace ${namespace}`).toContain(
      namespace,
    );
  }
  const known = new Set<string>();
  for (const object of [
    ...(await build('manifests/overlays/management-cluster')),
    ...(await build('manifests/target-cluster-rbac')),
  ]) {
    known.add(`${object.kind.toLowerCase()}/${object.metadata.name}`);
  }
  for (const site of topology.sites) {
    for (const w of site.workloads) known.add(`${w.kind.toLowerCase()}/${w.name}`);
  }
  for (const target of kubectlTargets(words)) {
    if (target.name === undefined) continue;
    expect([...known], `${label(command)}: ${target.kind}/${target.name} is defined`).toContain(
      `${target.kind}/${target.name}`,
    );
  }
}

/** `kubectl create …` with `--dry-run=client` and an empty kubeconfig, in a scratch directory with its input files. */
async function dryRunCreate(command: DocCommand): Promise<void> {
  const dir = await mkdtemp(join(world.scratch, 'create-'));
  const kubeconfig = join(dir, 'empty-kubeconfig');
  await writeFile(kubeconfig, 'apiVersion: v1\nkind: Config\n');
  const words = shellWords(command.code.replace(/--context\s+(<[^<>]*>|\S+)\s*/, ''));
  for (const word of words) {
    const envFile = /^--from-env-file=(.+)$/.exec(word)?.[1];
    // The operator's file is their filled-in copy of .env.example: kubectl must read that format.
    if (envFile) await copyFile(join(ROOT, '.env.example'), join(dir, envFile));
    const fromFile = /^--from-file=(?:[^=]+=)?(.+)$/.exec(word)?.[1];
    if (fromFile) await writeFile(join(dir, fromFile), 'placeholder\n');
  }
  const result = await run('kubectl', [...words.slice(1), '--dry-run=client', '-o', 'yaml'], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', HOME: dir, KUBECONFIG: kubeconfig },
  });
  expect(result.code, `${label(command)}: ${result.stderr}`).toBe(0);
  expect(parseYaml(result.stdout)).toHaveProperty('kind');
}

/** Ordered rules: the first that matches classifies the command. */
function classify(command: DocCommand): Classification | null {
  const { code } = command;
  const words = shellWords(placeholderFree(code));
  const baton = batonArgs(code);
  const sub = baton?.[0];

  // A block whose HTML comment names the test that runs it.
  if (command.runBy) return tested(command.runBy, [{ needle: command.file }]);

  // --- Run here --------------------------------------------------------------------------------------------------
  if (baton?.length === 1 && ['help', '--help', '-h'].includes(sub ?? ''))
    return runHere('the CLI usage', { stdout: /^usage: baton/ });
  if (baton && sub && baton.length === 2 && ['--help', '-h'].includes(baton[1] ?? ''))
    return runHere(`baton ${sub}'s usage`, { stdout: new RegExp(`^usage: baton ${sub}`) });
  if (baton && sub === 'check-config') {
    const files = baton.slice(1).filter((a) => !a.startsWith('-'));
    if (files.every((f) => existsSync(join(ROOT, f)))) {
      return runHere('check-config on a file of this repository', {
        output: 'compare',
        exit: (c) => (c.output?.length && !/: OK, /.test(c.output[0] ?? '') ? 1 : 0),
      });
    }
  }
  if (baton && (sub === 'status' || sub === 'plan'))
    return runHere(`read-only baton ${sub} against the test's Redis`);
  if (words[0] === 'kubectl' && words[1] === 'kustomize' && words.length === 3)
    return runHere('kustomize build of a directory of this repository');
  if (words[0] === 'redis-cli')
    return runHere("against the test's Redis (AOF, noeviction)", { output: 'compare' });
  if (/^node --version$/.test(code))
    return {
      kind: 'run',
      why: 'the Node.js version, against package.json engines',
      check: async (c) => {
        const result = await runShell(c.code);
        expect(result.code).toBe(0);
        const [major = 0, minor = 0] = result.stdout.trim().replace(/^v/, '').split('.').map(Number);
        const min = /(\d+)\.(\d+)/.exec(PACKAGE.engines.node) ?? [];
        expect(major * 1000 + minor).toBeGreaterThanOrEqual(Number(min[1]) * 1000 + Number(min[2]));
      },
    };
  if (/^(kubectl version --client|redis-server --version|openssl rand -hex \d+)$/.test(code))
    return runHere('a local tool, read-only');

  // --- Run by a named test or CI ---------------------------------------------------------------------------------
  if (/^npm install( --[a-z-]+)*$/.test(code)) return tested('.ci/run', [{ needle: 'npm install' }]);
  if (code === 'npm run check') return tested('.ci/run', [{ needle: 'npm run check' }]);
  if (code === 'npm run sandbox')
    return tested(
      'test/e2e/sandbox-browser.test.ts',
      [{ needle: "'lab/cli.ts', 'sandbox'" }],
      npmScript('sandbox', 'lab/cli.ts sandbox'),
    );
  if (code === 'npm run drill')
    return tested(
      'test/e2e/drill.test.ts',
      [{ needle: "'lab/cli.ts', 'drill'" }],
      npmScript('drill', 'lab/cli.ts drill'),
    );
  if (code === 'npm run build')
    return tested('test/manifests/dockerfile.test.ts', [{ needle: 'npm run build' }]);
  if (code === 'npm run bench')
    return {
      kind: 'manual',
      why: 'run by hand (about 2.5 minutes); its results, with the machine, are in docs/benchmarks.md',
      check: async () => {
        npmScript('bench', 'bench/run-all.ts')();
        expect(DOCS.get('docs/benchmarks.md')).toMatch(/Machine: /);
      },
    };
  const benchFile = /^node --import tsx (bench\/[\w-]+\.ts)( .*)?$/.exec(code)?.[1];
  if (benchFile)
    return {
      kind: 'manual',
      why: 'one benchmark on its own, run by hand like npm run bench; its results are in docs/benchmarks.md',
      check: async () => {
        expect(readFileSync(join(ROOT, 'bench/run-all.ts'), 'utf8')).toContain(
          benchFile.slice('bench/'.length, -3),
        );
        expect(DOCS.get('docs/benchmarks.md')).toContain(benchFile);
      },
    };
  if (code === 'npm test')
    return tested('.ci/run', [{ needle: 'npm run check' }], npmScript('check', 'npm test'));
  const vitestFile = /^npx vitest run (test\/\S+\.test\.ts)$/.exec(code)?.[1];
  if (vitestFile) return tested(`.ci/run, ${vitestFile}`, [{ file: '.ci/run', needle: 'npm run check' }]);
  if (baton && sub === 'start' && baton.length === 1)
    return tested('test/operate/shutdown.test.ts', [{ needle: "'start'" }]);
  if (baton && (sub === 'web' || sub === 'worker') && baton.length <= 2)
    return tested('test/operate/shutdown.test.ts', [
      { needle: 'spawnWorker' },
      { file: 'test/support/integration.ts', needle: `['${sub}'` },
    ]);
  if (/^REDIS_URL=\S+ baton /.test(code))
    return tested('test/break-glass/break-glass-errors.test.ts', [{ needle: 'cannot reach Redis' }]);
  if (baton && sub && (BREAK_GLASS_COMMANDS as readonly string[]).includes(sub))
    return breakGlassTested(sub as BreakGlassCommand, baton.slice(1));
  if (/^kubectl .*create secret generic baton-kubeconfig /.test(code))
    return tested('test/manifests/deploy-doc.test.ts', [
      { needle: 'create secret generic baton-kubeconfig' },
    ]);

  // --- Shell housekeeping inside a recipe --------------------------------------------------------------------------
  const assignment = /^([A-Za-z_][A-Za-z0-9_]*)=(\S*)$/.exec(code);
  if (assignment && !code.includes('$(')) {
    const name = assignment[1] ?? '';
    return {
      kind: 'shell',
      why: `sets ${name} for the commands after it`,
      check: async (c) => {
        const later = c.block.slice(c.block.indexOf(c) + 1).map((other) => other.code);
        expect(
          later.some((other) => other.includes(`$${name}`)),
          `${label(c)}: $${name} is used later`,
        ).toBe(true);
      },
    };
  }
  if (words[0] === 'rm' && words.length === 2)
    return {
      kind: 'shell',
      why: 'removes a file an earlier command of the recipe wrote',
      check: async (c) => {
        const earlier = c.block.slice(0, c.block.indexOf(c)).map((other) => other.code);
        const file = words[1] ?? '';
        const mentions = (other: string) =>
          other.includes(file) || shellWords(other).some((w) => w.endsWith(file));
        expect(earlier.some(mentions), `${label(c)}: ${file} is written by an earlier command`).toBe(true);
      },
    };

  // --- Needs a real environment (marked in the doc, or a known unmarked command of another doc) --------------------
  const unmarked = UNMARKED[command.file]?.includes(code) ?? false;
  const what = command.needs ?? (unmarked ? 'a real cluster (not marked in the doc)' : undefined);
  if (what === undefined) return null;
  const kubectl = words[0] === 'kubectl' || /\$\(kubectl /.test(code);
  if (kubectl && /\sapply -k (\S+)/.test(code)) {
    const path = /\sapply -k (\S+)/.exec(code)?.[1] ?? '';
    return needs(what, async (c) => {
      await checkKubectlNames(c);
      expect((await build(path)).length, `${label(c)}: kubectl kustomize ${path}`).toBeGreaterThan(0);
    });
  }
  if (kubectl && /\screate (namespace|secret) /.test(code)) return needs(what, dryRunCreate);
  if (kubectl) return needs(what, (c) => checkKubectlNames(c));
  if (words[0] === 'docker')
    return needs(what, async (c) => {
      expect(existsSync(join(ROOT, 'Dockerfile'))).toBe(true);
      const image = words.find((_, k) => words[k - 1] === '-t') ?? words.at(-1) ?? '';
      for (const overlay of ['management-cluster', 'standby-cluster']) {
        const kustomization = parseYaml(
          readFileSync(join(ROOT, `manifests/overlays/${overlay}/kustomization.yaml`), 'utf8'),
        ) as { images: { name: string; newTag: string }[] };
        const images = kustomization.images.map((i) => `${i.name}:${i.newTag}`);
        expect(images, `${label(c)}: the image overlays/${overlay} deploys`).toContain(image);
      }
    });
  if (words[0] === 'aws')
    return needs(what, async (c) => {
      const files = words.flatMap((w) => /^file:\/\/(.+)$/.exec(w)?.[1] ?? []);
      expect(files, `${label(c)} names a policy file`).not.toEqual([]);
      for (const file of files)
        expect(() => JSON.parse(readFileSync(join(ROOT, file), 'utf8'))).not.toThrow();
    });
  if (words[0] === 'psql')
    return needs(what, async (c) => {
      const variable = /^\$([A-Z_][A-Z0-9_]*)$/.exec(words[1] ?? '')?.[1] ?? '';
      const urlEnvs = EXAMPLE.sites.flatMap((s) =>
        Object.values(s.database?.members ?? {}).map((m) => m.urlEnv),
      );
      expect(urlEnvs, `${label(c)}: $${variable} is a urlEnv of examples/baton.yaml`).toContain(variable);
      expect(ENV_EXAMPLE_KEYS, `${label(c)}: ${variable} is in .env.example`).toContain(variable);
    });
  if (words[0] === 'dig')
    return needs(what, async (c) => {
      const name = words.slice(1).find((w) => !w.startsWith('+') && !w.startsWith('@') && !w.startsWith('-'));
      expect(
        EXAMPLE.sites.map((s) => s.dns.recordName),
        `${label(c)}: the record dig asks for`,
      ).toContain(name);
    });
  if (baton && sub)
    return needs(what, async (c) => {
      const usage = await runShell('baton --help');
      expect(usage.stdout, `${label(c)}: baton ${sub} is a command`).toMatch(new RegExp(`^  ${sub}\\b`, 'm'));
    });
  return needs(what);
}

// ---------------------------------------------------------------------------------------------------------------
// Checks every command gets, whatever its classification
// ---------------------------------------------------------------------------------------------------------------

const REPO_PATH =
  /^(?:file:\/\/)?((?:manifests|examples|docs|src|test|bench|bin|\.ci)\/[^\s'"]*|\.env\.example|Dockerfile)$/;

/** Files of this repository the command names exist. */
function checkNamedPaths(command: DocCommand): void {
  for (const word of shellWords(placeholderFree(command.code))) {
    const value =
      word.includes('=') && !word.startsWith('file://') ? word.slice(word.lastIndexOf('=') + 1) : word;
    const path = REPO_PATH.exec(value)?.[1];
    if (path) expect(existsSync(join(ROOT, path)), `${label(command)}: ${path} exists`).toBe(true);
  }
}

/** The block parses as shell (placeholders such as `<cluster>` read as words). */
async function checkSyntax(command: DocCommand): Promise<void> {
  const script = command.block.map((c) => placeholderFree(c.code)).join('\n');
  const result = await run('bash', ['-n', '-c', script], { env: { PATH: process.env.PATH ?? '' } });
  expect(result.code, `${label(command)}: bash -n: ${result.stderr}`).toBe(0);
}

// ---------------------------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------------------------

beforeAll(async () => {
  const scratch = await mkdtemp(join(tmpdir(), 'baton-doc-commands-'));
  const redis = await startRedis();
  world = {
    redis,
    scratch,
    builds: new Map(),
    env: {
      PATH: process.env.PATH ?? '',
      HOME: scratch,
      LANG: 'C.UTF-8',
      REDIS_URL: redis.url,
      BATON_CONFIG: 'examples/baton.yaml',
    },
  };
});

afterAll(async () => {
  await world?.redis.stop();
  if (world?.scratch) await rm(world.scratch, { recursive: true, force: true });
});

describe('the command extractor', () => {
  const sample = [
    'Text with `inline code` is not a command.',
    '',
    '```bash',
    '# a comment',
    'kubectl kustomize manifests/base',
    'kubectl apply -k manifests/base   # needs: a real cluster',
    'long command \\',
    '  --continued "a # not a comment"',
    '```',
    '',
    '<!-- needs: AWS -->',
    '',
    '```sh',
    'aws sts get-caller-identity',
    '```',
    '',
    '```',
    '$ baton status',
    'output line',
    '',
    '$ baton approve r1',
    'usage: baton approve RUN --as USER',
    '```',
    '',
    '```yaml',
    'key: value',
    '```',
  ].join('\n');
  const found = extractCommands('sample.md', sample);

  it('finds commands in shell blocks and transcripts, with their markers and output', () => {
    expect(found.map((c) => [c.line, c.code, c.needs ?? null, c.output ?? null])).toEqual([
      [5, 'kubectl kustomize manifests/base', null, null],
      [6, 'kubectl apply -k manifests/base', 'a real cluster', null],
      [7, 'long command --continued "a # not a comment"', null, null],
      [14, 'aws sts get-caller-identity', 'AWS', null],
      [18, 'baton status', null, ['output line']],
      [21, 'baton approve r1', null, ['usage: baton approve RUN --as USER']],
    ]);
  });

  it('splits shell words as the shell does, up to a pipe or redirection', () => {
    expect(shellWords(`baton propose failover --reason "east's \\"API\\" down" | tee x`)).toEqual([
      'baton',
      'propose',
      'failover',
      '--reason',
      'east\'s "API" down',
    ]);
    expect(shellWords("kubectl get secret baton-token -o jsonpath='{.data.ca\\.crt}' > f")).toEqual([
      'kubectl',
      'get',
      'secret',
      'baton-token',
      '-o',
      'jsonpath={.data.ca\\.crt}',
    ]);
  });

  it('refuses a command it cannot account for', () => {
    const [unknown] = extractCommands('sample.md', '```bash\nfrobnicate --all\n```\n');
    expect(unknown && classify(unknown)).toBeNull();
  });

  it('finds the commands of every doc that has them', () => {
    const files = new Set(COMMANDS.map((c) => c.file));
    for (const file of ['docs/operator-guide.md', 'docs/runbook.md', 'docs/deploy.md', 'docs/break-glass.md'])
      expect(files).toContain(file);
  });
});

/** How a command is accounted for, in a word or two, for the test's name. */
function summary(command: DocCommand): string {
  const classification = classify(command);
  switch (classification?.kind) {
    case undefined:
      return 'NOT ACCOUNTED FOR';
    case 'run':
      return 'runs here';
    case 'tested':
      return `run by ${classification.by}`;
    case 'manual':
      return 'run by hand';
    case 'needs':
      return `needs ${classification.what}`;
    case 'shell':
      return 'shell variable or clean-up';
  }
}

describe.each(DOC_FILES.filter((file) => COMMANDS.some((c) => c.file === file)))('%s', (file) => {
  const commands = COMMANDS.filter((c) => c.file === file);
  it.each(
    commands.map((command) => ({ command, name: `${command.line}: ${command.code} (${summary(command)})` })),
  )('$name', async ({ command }) => {
    const classification = classify(command);
    if (classification === null) {
      throw new Error(
        `${label(command)} \`${command.code}\` is not accounted for: make it runnable here, name the test that ` +
          'runs it in test/docs/doc-commands.test.ts, or mark it `# needs: <what>` (docs/operator-guide.md, ' +
          '"Commands in these docs").',
      );
    }
    if (classification.kind === 'run' && command.needs) {
      throw new Error(
        `${label(command)} is marked "needs: ${command.needs}" but runs here: remove the marker`,
      );
    }
    checkNamedPaths(command);
    await checkSyntax(command);
    await classification.check(command);
  });
});

describe('npm scripts the docs name', () => {
  const named = new Set<string>();
  for (const text of DOCS.values()) {
    for (const match of text.matchAll(/npm run ([a-z][\w:-]*)/g)) named.add(match[1] ?? '');
  }

  it('exist in package.json and are accounted for', () => {
    expect([...named].sort()).not.toEqual([]);
    for (const script of named) {
      expect(Object.keys(PACKAGE.scripts), `npm run ${script}`).toContain(script);
      const command: DocCommand = { file: '(any doc)', line: 0, code: `npm run ${script}`, block: [] };
      command.block.push(command);
      const classification = classify(command);
      expect(classification?.kind, `npm run ${script} is run by a test, CI, or by hand with results`).toMatch(
        /^(run|tested|manual)$/,
      );
    }
  });
});

describe('files the guides name', () => {
  it.each(['docs/operator-guide.md', 'docs/runbook.md', 'docs/architecture.md', 'docs/run-engine.md'])(
    '%s names only files that exist',
    (file) => {
      const text = DOCS.get(file) ?? '';
      const paths = new Set(
        [...text.matchAll(/`((?:src|lab|test|manifests|bench|examples|bin|docs|\.ci)\/[^`\s]*)`/g)].map(
          (m) => m[1] ?? '',
        ),
      );
      expect(paths.size).toBeGreaterThan(0);
      for (const path of paths) {
        if (!path.includes('*')) {
          expect(existsSync(join(ROOT, path)), `${file} names ${path}`).toBe(true);
          continue;
        }
        // A glob like test/break-glass/*.test.ts: its directory has at least one match.
        const dir = path.slice(0, path.lastIndexOf('/'));
        const pattern = new RegExp(
          `^${path
            .slice(dir.length + 1)
            .replace(/\./g, '\\.')
            .replace(/\*/g, '.*')}$`,
        );
        expect(
          readdirSync(join(ROOT, dir)).some((name) => pattern.test(name)),
          `${file} names ${path}`,
        ).toBe(true);
      }
    },
  );
});

describe('links between the docs', () => {
  /** GitHub's heading anchors: lowercase, punctuation dropped, spaces to hyphens. */
  const slug = (heading: string) =>
    heading
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
  const anchors = (text: string) =>
    new Set(
      text
        .split('\n')
        .filter((line) => /^#{1,6} /.test(line))
        .map((line) => slug(line.replace(/^#+ /, ''))),
    );

  it.each(['docs/operator-guide.md', 'docs/runbook.md', 'docs/architecture.md', 'docs/run-engine.md'])(
    '%s links only to files and headings that exist',
    (file) => {
      const text = DOCS.get(file) ?? '';
      for (const [, target = ''] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) continue;
        const [path = '', anchor] = target.split('#');
        const resolved = path === '' ? file : posix.normalize(posix.join(posix.dirname(file), path));
        expect(existsSync(join(ROOT, resolved)), `${file}: link to ${target}`).toBe(true);
        if (anchor) {
          const targetText = DOCS.get(resolved) ?? readFileSync(join(ROOT, resolved), 'utf8');
          expect([...anchors(targetText)], `${file}: link to ${target}`).toContain(anchor);
        }
      }
    },
  );
});
