// Summaries (median over repeats) and the tables bench.ts prints and docs/PERFORMANCE.md shows.
// records/s counts each record once; delivered/s counts it once per client (server mode).
import type { RunResult } from './run.js';

export interface Summary {
  readonly scenario: string;
  readonly runs: number;
  /** Set when no run of the scenario could be measured. */
  readonly error: string | null;
  readonly records: number;
  readonly recordsPerS: number;
  /** All clients together (server mode); = recordsPerS otherwise. */
  readonly deliveredPerS: number;
  readonly clients: number;
  /** The scenario whose figure this one is shown as a fraction of. */
  readonly ceiling: string | null;
  readonly inputMBps: number;
  readonly cpuUsPerRecord: number;
  readonly peakRssMB: number;
  /** Scenarios with `settle`: RSS before the run, and once back after it (medians). */
  readonly memoryAfter: { readonly startMB: number; readonly settledMB: number; readonly afterS: number } | null;
  /** Worst run: most missing, most duplicates. */
  readonly missing: number;
  readonly duplicates: number;
  readonly p50: number;
  readonly p99: number;
  readonly threads: ReadonlyArray<{ readonly label: string; readonly cpuS: number }>;
  readonly generatorCpuS: number;
  readonly sinkCpuS: number;
  readonly notes: string[];
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function summarize(scenario: string, runs: readonly RunResult[], ceiling: string | null = null): Summary {
  const ok = runs.filter((r) => r.error === null);
  const med = (f: (r: RunResult) => number): number => median(ok.map(f));
  const labels = [...new Set(ok.flatMap((r) => r.threads.map((t) => t.label)))];
  const notes = [...new Set(runs.flatMap((r) => (r.error !== null ? [r.error, ...r.notes] : r.notes)))];
  return {
    scenario,
    runs: runs.length,
    error: ok.length === 0 ? (runs[0]?.error ?? 'not run') : null,
    records: runs[0]?.records ?? 0,
    recordsPerS: med((r) => r.recordsPerS),
    deliveredPerS: med((r) => r.deliveredPerS),
    clients: Math.max(1, ...ok.map((r) => r.clients)),
    ceiling,
    inputMBps: med((r) => r.inputMBps),
    cpuUsPerRecord: med((r) => r.cpuUsPerRecord),
    peakRssMB: med((r) => r.peakRssMB),
    memoryAfter: ok.some((r) => r.settled !== null)
      ? {
          startMB: med((r) => r.rssStartMB),
          settledMB: med((r) => r.settled?.rssMB ?? 0),
          afterS: med((r) => r.settled?.afterS ?? 0),
        }
      : null,
    missing: Math.max(0, ...ok.map((r) => r.sink?.missing ?? r.records)),
    duplicates: Math.max(0, ...ok.map((r) => r.sink?.duplicates ?? 0)),
    p50: med((r) => r.sink?.p50 ?? -1),
    p99: med((r) => r.sink?.p99 ?? -1),
    threads: labels.map((label) => ({
      label,
      cpuS: median(ok.map((r) => r.threads.find((t) => t.label === label)?.cpuS ?? 0)),
    })),
    generatorCpuS: med((r) => r.generatorCpuS),
    sinkCpuS: med((r) => r.sinkCpuS),
    notes,
  };
}

const int = (v: number): string => Math.round(v).toLocaleString('en-US');
const fix = (v: number, d: number): string => v.toFixed(d);

/** A Markdown pipe table with padded columns (numbers right-aligned). */
export function table(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  rightAlign: readonly boolean[],
): string {
  const width = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const cell = (s: string, i: number): string => (rightAlign[i] ? s.padStart(width[i]!) : s.padEnd(width[i]!));
  const line = (cells: readonly string[]): string => `| ${cells.map(cell).join(' | ')} |`;
  const rule = `|${width.map((w, i) => (rightAlign[i] ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

function completeness(s: Summary): string {
  if (s.missing === 0) return 'yes';
  return `${int(s.missing)} missing`;
}

/** This scenario's delivered/s as a percentage of its ceiling's (measured in the same run). */
export function ofCeiling(s: Summary, summaries: readonly Summary[]): number | null {
  const c = summaries.find((x) => x.scenario === s.ceiling && x.error === null && x.deliveredPerS > 0);
  return c && s.error === null ? (100 * s.deliveredPerS) / c.deliveredPerS : null;
}

export function mainTable(summaries: readonly Summary[]): string {
  const headers = [
    'scenario',
    'records/s',
    'delivered/s',
    'of ceiling',
    'input MB/s',
    'relay CPU µs/rec',
    'peak RSS MB',
    'complete',
    'dups',
    'p50 / p99 ms',
  ];
  const rows = summaries.map((s) => {
    if (s.error !== null) return [s.scenario, '—', '—', '—', '—', '—', '—', 'FAILED (see below)', '—', '—'];
    const pctOf = ofCeiling(s, summaries);
    return [
      s.scenario,
      int(s.recordsPerS),
      s.clients > 1 ? int(s.deliveredPerS) : '',
      pctOf === null ? '' : `${pctOf.toFixed(0)}%`,
      fix(s.inputMBps, 1),
      fix(s.cpuUsPerRecord, 2),
      fix(s.peakRssMB, 0),
      completeness(s),
      int(s.duplicates),
      s.p99 < 0 ? '—' : `${ms(s.p50)} / ${ms(s.p99)}`,
    ];
  });
  return table(headers, rows, [false, true, true, true, true, true, true, false, true, true]);
}

/** CPU seconds per relay thread (one column per thread label), then the harness processes. */
export function threadTable(summaries: readonly Summary[]): string {
  const measured = summaries.filter((s) => s.error === null);
  const labels: string[] = [];
  for (const s of measured) for (const t of s.threads) if (!labels.includes(t.label)) labels.push(t.label);
  labels.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b, 'en', { numeric: true }));
  const rows = measured.map((s) => [
    s.scenario,
    ...labels.map((l) => {
      const t = s.threads.find((x) => x.label === l);
      return t ? fix(t.cpuS, 2) : '';
    }),
    fix(
      s.threads.reduce((a, t) => a + t.cpuS, 0),
      2,
    ),
    fix(s.generatorCpuS, 2),
    fix(s.sinkCpuS, 2),
  ]);
  return table(['scenario', ...labels, 'relay total', '(generator)', '(sink)'], rows, [
    false,
    ...labels.map(() => true),
    true,
    true,
    true,
  ]);
}

function rank(label: string): number {
  if (label === 'main') return 0;
  if (label === 'helpers') return 2;
  return 1;
}

/** Latency in ms: one decimal below 10 ms, none above. */
function ms(v: number): string {
  return v < 10 ? fix(v, 1) : fix(v, 0);
}
