/** Which of `programs` are not on PATH (for skipWhenMissing). */
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

export async function missingPrograms(programs: readonly string[]): Promise<string[]> {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  const found = async (program: string) => {
    for (const dir of dirs) {
      if (
        await access(join(dir, program), constants.X_OK).then(
          () => true,
          () => false,
        )
      )
        return true;
    }
    return false;
  };
  const missing: string[] = [];
  for (const program of programs) if (!(await found(program))) missing.push(program);
  return missing;
}
