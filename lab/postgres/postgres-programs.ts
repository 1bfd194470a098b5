/**
 * Finding and running the PostgreSQL server programs (postgres, initdb, pg_basebackup), all of one version. As root
 * they run as the `postgres` user through `runuser`, because initdb refuses to run as root.
 */
import { execFile, spawn } from 'node:child_process';
import { accessSync, constants, readdirSync, realpathSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';

const BINARIES = ['postgres', 'initdb', 'pg_basebackup'] as const;
export type Binary = (typeof BINARIES)[number];
const OS_USER = 'postgres';

/** How to run the server programs here. */
export interface Runner {
  bins: Record<Binary, string>;
  /** Set when we are root: run the server programs as this user. */
  owner: { uid: number; gid: number } | null;
}

/** The runner for this machine and user; throws, saying what to install, when the programs are missing. */
export async function findRunner(): Promise<Runner> {
  const bins = await findBinaries();
  const owner = process.getuid?.() === 0 ? await postgresOwner() : null;
  return { bins, owner };
}

/** Why a pair cannot start here (the PostgreSQL server programs are missing), or null when it can. */
export async function postgresUnavailable(): Promise<string | null> {
  try {
    await findBinaries();
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** The command line that runs `binary` with `args`, as the `postgres` user when we are root. */
export function commandFor(runner: Runner, binary: Binary, args: string[]): [string, string[]] {
  const path = runner.bins[binary];
  return runner.owner ? ['runuser', ['-u', OS_USER, '--', path, ...args]] : [path, args];
}

/** Runs `binary` to completion; rejects with its stderr when it fails. */
export async function run(
  runner: Runner,
  binary: Binary,
  args: string[],
  env: Record<string, string> = {},
): Promise<void> {
  const [command, argv] = commandFor(runner, binary, args);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(command, argv, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', (error) => reject(new Error(`${binary} could not start: ${error.message}`)));
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${binary} exited with ${code}:\n${stderr.trim()}`)),
    );
  });
}

/**
 * Each program from PATH, then `pg_config --bindir`, then Debian's /usr/lib/postgresql/<version>/bin (newest
 * first). The helpers are taken next to the `postgres` found, so that all of them are one version.
 */
async function findBinaries(): Promise<Record<Binary, string>> {
  const pgConfigDir = await new Promise<string | null>((resolve) =>
    execFile('pg_config', ['--bindir'], (error, stdout) => resolve(error ? null : stdout.trim() || null)),
  );
  const debianDirs = (() => {
    try {
      return readdirSync('/usr/lib/postgresql')
        .filter((version) => /^\d+$/.test(version))
        .sort((a, b) => Number(b) - Number(a))
        .map((version) => join('/usr/lib/postgresql', version, 'bin'));
    } catch {
      return [];
    }
  })();
  const searchPath = [
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean),
    ...(pgConfigDir ? [pgConfigDir] : []),
    ...debianDirs,
  ];
  const find = (binary: string, dirs: string[]): string | undefined =>
    dirs.map((dir) => join(dir, binary)).find(isExecutable);

  const postgres = find('postgres', searchPath);
  if (!postgres) {
    throw new Error(
      'PostgreSQL server programs (postgres, initdb, pg_basebackup) not found on PATH, in pg_config --bindir ' +
        'or under /usr/lib/postgresql: install them, e.g. apt-get install -y postgresql',
    );
  }
  const home = dirname(realpathSync(postgres));
  const found = { postgres } as Record<Binary, string>;
  for (const binary of BINARIES) {
    const path = find(binary, [home, ...searchPath]);
    if (!path) throw new Error(`${binary} not found next to ${postgres} nor on PATH`);
    found[binary] = path;
  }
  return found;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function postgresOwner(): Promise<{ uid: number; gid: number }> {
  const id = (flag: string) =>
    new Promise<number>((resolve, reject) =>
      execFile('id', [flag, OS_USER], (error, stdout) =>
        error
          ? reject(
              new Error(
                `running as root needs a "${OS_USER}" user to run PostgreSQL (initdb refuses root): create it ` +
                  'or run the tests as another user',
              ),
            )
          : resolve(Number(stdout.trim())),
      ),
    );
  return { uid: await id('-u'), gid: await id('-g') };
}
