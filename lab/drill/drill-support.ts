/** What the drill's phases share: waiting for something to be seen, checking, and the measured timeline. */

export class DrillFailure extends Error {}

export async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined | null | false>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new DrillFailure(`${what}: not seen within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function check(condition: boolean, what: string): void {
  if (!condition) throw new DrillFailure(what);
}

/** Records a passed phase with how long it took since `since` (default: the previous phase), and prints it. */
export type Mark = (name: string, since?: number) => void;
