/**
 * The Dockerfile, checked without a Docker engine: its stages, base images and user are read and checked; every
 * file it copies exists and passes .dockerignore; and what the final image runs — the compiled JavaScript with
 * production dependencies only — is built with the same `npm run build` compiler settings and started.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from './support.js';
import { find, kustomize, ROOT } from './support.js';

const run = promisify(execFile);
/** The Lua scripts (src/store/lua), which the build copies beside the compiled store. */
const LUA_DIR = 'src/store/lua';

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  image: string;
  name?: string;
  instructions: Instruction[];
}

/** Instructions grouped by stage; comments dropped, continuation lines joined. */
function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  const stages: Stage[] = [];
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = { keyword: keyword.toUpperCase(), args: args.trim() };
    if (instruction.keyword === 'FROM') {
      const [, image = '', name] =
        /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args) ?? [];
      stages.push({ image, ...(name && { name }), instructions: [] });
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`${instruction.keyword} before FROM`);
      stage.instructions.push(instruction);
    }
  }
  return stages;
}

/** COPY's flags and its sources and destination, shell form. */
function parseCopy(args: string): { from?: string; sources: string[]; destination: string } {
  const words = args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  return { ...(from && { from }), sources: paths.slice(0, -1), destination: paths.at(-1) ?? '' };
}

/** Docker's .dockerignore rule: the last pattern matching the path or one of its parent directories decides. */
function ignoredByDockerignore(patterns: string[], path: string): boolean {
  const toRegExp = (glob: string) =>
    new RegExp(
      `^${glob
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*/g, '<globstar>')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]')
        .replace(/<globstar>/g, '.*')}$`,
    );
  const segments = path.split('/');
  const candidates = segments.map((_, i) => segments.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    const glob = (negated ? pattern.slice(1) : pattern).replace(/^\/+|\/+$/g, '');
    if (candidates.some((candidate) => toRegExp(glob).test(candidate))) ignored = !negated;
  }
  return ignored;
}

const execArray = (args: string): string[] => JSON.parse(args) as string[];

/** The production CLI from source (as `npm start` runs it), with no Baton configuration in its environment. */
async function runCli(args: string[]): Promise<{ code: number; stderr: string }> {
  return run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH },
    timeout: 30_000,
  }).then(
    ({ stderr }) => ({ code: 0, stderr }),
    (error: { code?: number | string; stderr?: string }) => ({
      code: typeof error.code === 'number' ? error.code : -1,
      stderr: error.stderr ?? String(error),
    }),
  );
}

describe('the Dockerfile', () => {
  let stages: Stage[];
  let dockerignore: string[];
  let final: Stage;
  let base: KubeObject[];

  beforeAll(async () => {
    stages = parseDockerfile(await readFile(join(ROOT, 'Dockerfile'), 'utf8'));
    dockerignore = (await readFile(join(ROOT, '.dockerignore'), 'utf8'))
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    final = stages.at(-1)!;
    base = await kustomize('manifests/base');
  });

  it('builds in stages on a pinned, slim Node.js LTS image that package.json supports', async () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const names = stages.flatMap((s) => (s.name ? [s.name] : []));
    const { engines } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      engines: { node: string };
    };
    const supportedBelow = Number(/<\s*(\d+)/.exec(engines.node)?.[1]);
    for (const stage of stages) {
      if (names.includes(stage.image)) continue;
      const [, repository, tag = ''] = /^([^:]+)(?::(.+))?$/.exec(stage.image) ?? [];
      expect(repository).toBe('node');
      expect(tag).not.toBe('');
      expect(tag).not.toMatch(/latest/);
      expect(tag).toMatch(/-slim$/);
      const major = Number(/^(\d+)/.exec(tag)?.[1]);
      // Even majors are the LTS lines.
      expect(major % 2).toBe(0);
      expect(major).toBeGreaterThanOrEqual(22);
      expect(major).toBeLessThan(supportedBelow);
    }
  });

  it('compiles with dev dependencies, and ships production dependencies only', () => {
    const runs = (stage: Stage) => stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    const build = stages.find((s) => runs(s).some((r) => /\bnpm run build\b/.test(r)));
    expect(build).toBeDefined();
    expect(runs(build!).some((r) => /\bnpm (ci|install)\b/.test(r) && !r.includes('--omit=dev'))).toBe(true);

    const copies = final.instructions.filter((i) => i.keyword === 'COPY').map((i) => parseCopy(i.args));
    const modules = copies.find((c) => c.sources.some((s) => s.includes('node_modules')));
    const depsStage = stages.find((s) => s.name === modules?.from);
    expect(depsStage).toBeDefined();
    expect(depsStage).not.toBe(build);
    expect(runs(depsStage!).some((r) => /\bnpm (ci|install)\b.*--omit=dev/.test(r))).toBe(true);
    expect(copies.find((c) => c.sources.some((s) => s.includes('dist')))?.from).toBe(build!.name);
    expect(final.instructions.some((i) => i.keyword === 'RUN' && /\bnpm\b/.test(i.args))).toBe(false);
  });

  it('runs as the non-root uid the manifests expect', () => {
    const users = final.instructions.filter((i) => i.keyword === 'USER').map((i) => i.args);
    expect(users.length).toBeGreaterThan(0);
    const [uid, gid] = users.at(-1)!.split(':');
    // Numeric, so that Kubernetes can verify runAsNonRoot without /etc/passwd.
    expect(uid).toMatch(/^\d+$/);
    expect(Number(uid)).toBeGreaterThan(0);
    for (const name of ['baton-web', 'baton-worker']) {
      const pod = find(base, 'Deployment', name).spec as {
        template: { spec: { containers: { securityContext: { runAsUser: number; runAsGroup: number } }[] } };
      };
      const context = pod.template.spec.containers[0]!.securityContext;
      expect(context.runAsUser).toBe(Number(uid));
      expect(context.runAsGroup).toBe(Number(gid));
    }
    expect(final.instructions.find((i) => i.keyword === 'EXPOSE')?.args).toBe('3000');
  });

  it('copies only files that exist and that .dockerignore lets into the build context', () => {
    const sources = stages
      .flatMap((s) => s.instructions)
      .filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')
      .map((i) => parseCopy(i.args))
      .filter((c) => c.from === undefined)
      .flatMap((c) => c.sources);
    expect(sources).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'src']));
    for (const source of sources) {
      expect(existsSync(join(ROOT, source)), `${source} exists`).toBe(true);
      expect(ignoredByDockerignore(dockerignore, source), `${source} is in the build context`).toBe(false);
    }
    expect(ignoredByDockerignore(dockerignore, 'src/cli.ts')).toBe(false);
    // And what must never enter an image stays out.
    for (const secret of [
      '.env',
      '.git/config',
      'node_modules/yaml/package.json',
      'dist/cli.js',
      '.sandbox/x',
    ]) {
      expect(ignoredByDockerignore(dockerignore, secret), secret).toBe(true);
    }
  });

  it("starts Baton's CLI from the compiled output, with the roles the Deployments use", async () => {
    const entrypoint = execArray(final.instructions.find((i) => i.keyword === 'ENTRYPOINT')?.args ?? '[]');
    expect(entrypoint[0]).toBe('node');
    const script = entrypoint.at(-1)!;
    const build = JSON.parse(await readFile(join(ROOT, 'tsconfig.build.json'), 'utf8')) as {
      compilerOptions: { outDir: string; rootDir: string };
    };
    expect(script).toBe(`${build.compilerOptions.outDir}/cli.js`);
    expect(existsSync(join(ROOT, build.compilerOptions.rootDir, 'cli.ts'))).toBe(true);
    const roles = [
      'start',
      ...['baton-web', 'baton-worker'].flatMap((name) => {
        const spec = find(base, 'Deployment', name).spec as {
          template: { spec: { containers: { args: string[] }[] } };
        };
        return spec.template.spec.containers[0]!.args;
      }),
    ];
    expect(execArray(final.instructions.find((i) => i.keyword === 'CMD')?.args ?? '[]')).toEqual(['start']);
    // The CLI itself says whether it knows a role: a role given an argument is refused as a role (exit 2, "takes
    // no arguments") before anything connects, where an unknown word is refused as an unknown command.
    const answers = await Promise.all(roles.map((role) => runCli([role, '--not-an-option'])));
    roles.forEach((role, i) => {
      expect(answers[i], role).toMatchObject({
        code: 2,
        stderr: expect.stringMatching(`^baton ${role}: takes no arguments`),
      });
    });
    expect(await runCli(['not-a-role', '--not-an-option'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown command'),
    });
  }, 60_000);
});

describe('the compiled entrypoint (what the image runs)', () => {
  let out: string;

  beforeAll(async () => {
    // Inside node_modules so that the compiled files resolve packages as they do in the image's /app.
    await mkdir(join(ROOT, 'node_modules/.cache'), { recursive: true });
    out = await mkdtemp(join(ROOT, 'node_modules/.cache/baton-image-'));
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    await run(
      process.execPath,
      [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', out, '--sourceMap', 'false'],
      {
        cwd: ROOT,
      },
    ).catch((error: { stdout?: string }) => {
      throw new Error(`npm run build's compiler failed:\n${error.stdout ?? String(error)}`);
    });
    // And, as `npm run build` does, the Lua scripts beside the compiled store (tsc copies no .lua).
    await cp(join(ROOT, LUA_DIR), join(out, 'store/lua'), { recursive: true });
  }, 120_000);

  it('is built by `npm run build` with the Lua scripts beside it', async () => {
    const { scripts } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(scripts.build).toContain(`'${LUA_DIR}', 'dist/store/lua'`);
  });

  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it("validates the example topology with the compiled CLI, run with the image's node flags and NODE_OPTIONS", async () => {
    const dockerfile = await readFile(join(ROOT, 'Dockerfile'), 'utf8');
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1] ?? '[]') as string[];
    const flags = entrypoint.slice(1, entrypoint.indexOf('dist/cli.js'));
    const nodeOptions = /^ENV NODE_OPTIONS="([^"]*)"$/m.exec(dockerfile)?.[1] ?? '';
    const { stdout } = await run(
      process.execPath,
      [...flags, join(out, 'cli.js'), 'check-config', 'examples/baton.yaml', '--skip-env'],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH, NODE_OPTIONS: nodeOptions },
      },
    );
    expect(stdout).toMatch(/^examples\/baton\.yaml: OK, 1 site/);
  });

  it('imports no package that `npm ci --omit=dev` leaves out', async () => {
    const { dependencies } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const files = (await readdir(out, { recursive: true })).filter((f) => f.endsWith('.js'));
    expect(files).toContain('cli.js');
    const imported = new Set<string>();
    for (const file of files) {
      const text = await readFile(join(out, file), 'utf8');
      const statics = text.matchAll(
        /^(?:import\s+(?:[\w$*\s{},]+?\s+from\s+)?|export\s+(?:\*(?:\s+as\s+[\w$]+)?|\{[^}]*\})\s+from\s+)['"]([^'"]+)['"]/gm,
      );
      const dynamics = text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g);
      for (const match of [...statics, ...dynamics]) {
        const specifier = match[1]!;
        if (specifier.startsWith('.') || specifier.startsWith('/')) continue;
        const name = specifier.startsWith('@')
          ? specifier.split('/').slice(0, 2).join('/')
          : specifier.split('/')[0]!;
        imported.add(name);
      }
    }
    const builtins = new Set(builtinModules);
    const missing = [...imported].filter(
      (name) => !name.startsWith('node:') && !builtins.has(name) && !(name in dependencies),
    );
    expect(missing).toEqual([]);
    expect(imported.has('@slack/bolt')).toBe(true);
  });
});
