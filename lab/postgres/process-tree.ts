/**
 * Signalling a PostgreSQL postmaster and its children by pid, reading /proc to find them, so that a killed server
 * leaves no backend behind (a kill that is not a clean shutdown does not reap them).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Direct children of `pid`, from /proc (empty where there is no /proc). */
export function childPids(pid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const children: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat?.ppid === pid) children.push(Number(entry));
  }
  return children;
}

/** Alive and not a zombie (an orphan's zombie may wait long for a reaper; it holds nothing). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return procStat(pid)?.state !== 'Z';
}

export function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

function procStat(pid: number): { state: string; ppid: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid …"; comm may hold spaces and parentheses, so split after the last ")".
    const [state, ppid] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return state === undefined || ppid === undefined ? null : { state, ppid: Number(ppid) };
  } catch {
    return null;
  }
}
