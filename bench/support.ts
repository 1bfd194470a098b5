import { pathToFileURL } from 'node:url';
/**
 * What every benchmark shares: the machine line, percentiles, and one Markdown table per benchmark with the
 * budget and PASS/FAIL per row. A missed budget is reported, never thrown: only a crash fails `npm run bench`.
 */
import { cpus, totalmem } from 'node:os';

export function machineLine(): string {
  const cpu = cpus();
  const memory = `${(totalmem() / 2 ** 30).toFixed(1)} GiB`;
  return `Machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${memory} RAM, Node ${process.version}`;
}

/** Nearest-rank percentile (p in 0..100) of unsorted samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (!samples.length) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export const ms = (value: number, digits = 1): string =>
  Number.isFinite(value) ? `${value.toFixed(digits)} ms` : 'n/a';

export interface Row {
  metric: string;
  values: string[];
  /** Budget text, e.g. "p99 < 20 ms"; "—" for rows that only inform. */
  budget: string;
  /** undefined: no budget on this row. */
  pass?: boolean;
}

export interface Table {
  title: string;
  /** One line under the title: what was run, how many samples. */
  setup: string;
  columns: string[];
  rows: Row[];
}

export function renderTable(table: Table): string {
  const header = ['Metric', ...table.columns, 'Budget', 'Result'];
  const lines = [
    `### ${table.title}`,
    '',
    machineLine(),
    '',
    table.setup,
    '',
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...table.rows.map((row) => {
      const result = row.pass === undefined ? '—' : row.pass ? 'PASS' : 'FAIL';
      return `| ${[row.metric, ...row.values, row.budget, result].join(' | ')} |`;
    }),
  ];
  return lines.join('\n');
}

export const sleep = (timeMs: number): Promise<void> => new Promise((r) => setTimeout(r, timeMs));

/** Runs a benchmark when its file is executed directly (node --import tsx bench/<file>.ts). */
export function runIfMain(moduleUrl: string, benchmark: () => Promise<string>): void {
  if (moduleUrl !== pathToFileURL(process.argv[1] ?? '').href) return;
  benchmark().then(
    (table) => {
      console.log(table);
      process.exit(0);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
