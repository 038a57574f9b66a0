// The load bench (`make bench`, i.e. node dist/load/bench.js [flags]). See docs/PERFORMANCE.md.
//   --records N        records per scenario (default 2,000,000)
//   --connections C    generator TCP connections (default 4)
//   --repeat R         runs per scenario; the tables show medians (default 3)
//   --only TEXT        only scenarios whose name contains TEXT (opt-in ones included)
//   --all              also run the opt-in scenarios (fixed-rate latency)
//   --json FILE        where to write every run and the medians as JSON, and the chart beside
//                      it (FILE with .svg for .json: records/s per scenario, see chart.ts);
//                      default load/results/bench.json and bench.svg
//   --idle S           give up S seconds after the generator finished if nothing arrives (10)
//   --sink-decode M    scan (default; full decode of every 16th message) or full
//   --wait-idle S      before each run, wait up to S s for the machine to be idle (default 0)
//   --retry-disturbed K  run again, up to K times, a run during which other processes used
//                      a noticeable share of the CPU (default 0: keep it, flagged)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chartSvg } from './chart.js';
import { killAllNow } from './children.js';
import { machineBusyS } from './procstat.js';
import { mainTable, ofCeiling, summarize, threadTable, type Summary } from './report.js';
import { runScenario, type RunResult } from './run.js';
import { selectScenarios } from './scenarios.js';
import { resultPaths } from './results-paths.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '2000000' },
    connections: { type: 'string', default: '4' },
    repeat: { type: 'string', default: '3' },
    only: { type: 'string' },
    all: { type: 'boolean', default: false },
    json: { type: 'string' },
    idle: { type: 'string', default: '10' },
    'sink-decode': { type: 'string', default: 'scan' },
    'wait-idle': { type: 'string', default: '0' },
    'retry-disturbed': { type: 'string', default: '0' },
  },
});
const records = Number(values.records);
const connections = Number(values.connections);
const repeat = Number(values.repeat);
const sinkDecode = values['sink-decode'];
if (
  !(Number.isInteger(records) && records > 0 && connections >= 1 && repeat >= 1) ||
  !['scan', 'full'].includes(sinkDecode)
) {
  process.stderr.write(
    'usage: bench [--records N] [--connections C] [--repeat R] [--only TEXT] [--all] [--json FILE] [--idle S]\n' +
      '             [--sink-decode scan|full] [--wait-idle S] [--retry-disturbed K]\n',
  );
  process.exit(2);
}

process.on('exit', killAllNow);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    killAllNow();
    process.stderr.write('\ninterrupted\n');
    process.exit(130);
  });
}

function machine(): { cpus: number; model: string; node: string; memGB: number } {
  let model = os.cpus()[0]?.model ?? 'unknown';
  try {
    model = /^model name\s*:\s*(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? model;
  } catch {
    // not Linux
  }
  return { cpus: os.availableParallelism(), model, node: process.version, memGB: Math.round(os.totalmem() / 2 ** 30) };
}

let lastLen = 0;
/** Share of the whole bench done (runs finished plus the current run's share), 0..1. */
let overall = 0;

function bar(fraction: number, width = 24): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'█'.repeat(filled)}${'·'.repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%`;
}

/** The progress line, with a bar for the whole bench: only on a terminal (a log file would get
 *  every update). */
function status(text: string): void {
  if (!process.stderr.isTTY) return;
  const full = `${bar(overall)} ${text}`;
  const line = full.length > 170 ? `${full.slice(0, 169)}…` : full;
  process.stderr.write(`\r${line.padEnd(lastLen)}`);
  lastLen = line.length;
}
function clearStatus(): void {
  if (lastLen > 0) process.stderr.write(`\r${' '.repeat(lastLen)}\r`);
  lastLen = 0;
}

/** Waits (up to maxS) for a second in which the machine is less than 10% busy. */
async function waitIdle(maxS: number, tag: string): Promise<void> {
  const deadline = Date.now() + maxS * 1000;
  while (Date.now() < deadline) {
    const before = machineBusyS();
    await new Promise((r) => setTimeout(r, 1000));
    const busy = machineBusyS() - before;
    if (busy < 0.1 * os.availableParallelism()) return;
    status(`${tag}: waiting for the machine to be idle (${busy.toFixed(1)} CPU s/s busy)`);
  }
}

async function main(): Promise<void> {
  const scenarios = selectScenarios(values.only, values.all);
  if (scenarios.length === 0) throw new Error(`no scenario matches --only ${values.only}`);
  const m = machine();
  process.stdout.write(
    `wsrelay bench: ${records.toLocaleString('en-US')} records × ${scenarios.length} scenarios × ${repeat}, ` +
      `${connections} TCP connections; ${m.cpus} CPUs (${m.model}), node ${m.node}\n`,
  );
  const all: { scenario: string; runs: RunResult[]; summary: Summary }[] = [];
  const t0 = Date.now();
  const totalRuns = scenarios.length * repeat;
  for (const [i, sc] of scenarios.entries()) {
    const runs: RunResult[] = [];
    for (let k = 0; k < repeat; k++) {
      const runIndex = i * repeat + k;
      overall = runIndex / totalRuns;
      const tag = `[${i + 1}/${scenarios.length}] ${sc.name}${repeat > 1 ? ` (run ${k + 1}/${repeat})` : ''}`;
      let r: RunResult | null = null;
      for (let attempt = 0; attempt <= Number(values['retry-disturbed']); attempt++) {
        if (Number(values['wait-idle']) > 0) await waitIdle(Number(values['wait-idle']), tag);
        status(`${tag}: starting${attempt > 0 ? ` (again: other processes were busy, try ${attempt + 1})` : ''}`);
        r = await runScenario(
          sc,
          { root, records, connections, idleMs: Number(values.idle) * 1000, sinkArgs: ['--decode', sinkDecode] },
          (text, fraction) => {
            overall = (runIndex + (fraction ?? 0)) / totalRuns;
            status(`${tag}: ${text}`);
          },
        );
        if (!r.disturbed) break;
        if (attempt < Number(values['retry-disturbed'])) {
          clearStatus();
          process.stderr.write(
            `${tag}: disturbed (${r.foreignCpuS.toFixed(1)} CPU s used by other processes), running it again\n`,
          );
        }
      }
      if (r === null) continue;
      runs.push(r);
      clearStatus();
      const head = `${tag}: `;
      process.stderr.write(
        r.error !== null
          ? `${head}${r.error}\n`
          : `${head}${Math.round(r.recordsPerS).toLocaleString('en-US')} rec/s, ${r.cpuUsPerRecord.toFixed(2)} µs/rec, ` +
              `${r.clients > 1 ? `${Math.round(r.deliveredPerS).toLocaleString('en-US')} delivered/s to ${r.clients} clients, ` : ''}` +
              `${r.sink?.missing ?? '?'} missing, ${r.sink?.duplicates ?? '?'} dups, ` +
              `${r.backlogMB.toFixed(0)} MB queued when the generator finished` +
              `${r.notes.length ? ` — ${r.notes.join('; ')}` : ''}\n`,
      );
    }
    all.push({ scenario: sc.name, runs, summary: summarize(sc.name, runs, sc.ceiling ?? null) });
  }
  const summaries = all.map((a) => a.summary);
  const out: string[] = [
    '',
    mainTable(summaries),
    '',
    'CPU seconds per relay thread during the run, and of the generator and sink (medians):',
    '',
    threadTable(summaries),
    '',
  ];
  // Each wsrelay figure as a fraction of its ceiling measured in the same run (absolute numbers
  // drift on a shared machine; the fraction much less).
  const fmt = (v: number): string => Math.round(v).toLocaleString('en-US');
  for (const s of summaries) {
    const pct = ofCeiling(s, summaries);
    if (pct === null || !s.scenario.startsWith('wsrelay')) continue;
    const c = summaries.find((x) => x.scenario === s.ceiling)!;
    const what = s.clients > 1 ? 'delivered/s' : 'records/s';
    out.push(
      `${s.scenario}: ${fmt(s.deliveredPerS)} ${what} = ${pct.toFixed(0)}% of ${c.scenario} (${fmt(c.deliveredPerS)})` +
        `${s.missing > 0 || s.duplicates > 0 ? ' — INCOMPLETE' : ''}`,
    );
  }
  for (const s of summaries) {
    const m = s.memoryAfter;
    if (m === null || s.error !== null) continue;
    out.push(
      `${s.scenario}: RSS ${fmt(m.startMB)} MB before the burst, ${fmt(s.peakRssMB)} MB peak, ` +
        `${fmt(m.settledMB)} MB ${m.afterS.toFixed(0)} s after it (medians)`,
    );
  }
  for (const s of summaries) {
    for (const note of s.notes) out.push(`- ${s.scenario}: ${note}`);
  }
  for (const a of all) {
    const text = a.runs
      .filter((r) => r.error === null)
      .map((r) => r.relayOutput)
      .filter((t) => t.length > 0)[0];
    if (text) out.push(`- ${a.scenario}: relay printed (last lines): ${text.split('\n').slice(-5).join(' | ')}`);
  }
  out.push(`(${((Date.now() - t0) / 1000).toFixed(0)} s in all)`);
  process.stdout.write(out.join('\n') + '\n');
  const doc = {
    date: new Date().toISOString(),
    machine: m,
    argv: process.argv.slice(2),
    records,
    connections,
    repeat,
    sinkDecode,
    results: all,
  };
  const files = resultPaths(values.json, root);
  fs.mkdirSync(path.dirname(files.json), { recursive: true });
  fs.writeFileSync(files.json, JSON.stringify(doc, null, 2) + '\n');
  const when =
    `${doc.date.slice(0, 16).replace('T', ' ')} UTC · ${m.cpus} CPUs (${m.model}) · node ${m.node} · ` +
    `${records.toLocaleString('en-US')} records · median of ${repeat}`;
  fs.mkdirSync(path.dirname(files.svg), { recursive: true });
  fs.writeFileSync(files.svg, chartSvg(summaries, when));
  // Relative to the current directory when inside it (make bench: load/results/bench.json).
  const shown = (file: string): string => {
    const relative = path.relative(process.cwd(), file);
    return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
  };
  process.stdout.write(`results: ${shown(files.json)}\nchart:   ${shown(files.svg)}\n`);
}

main().catch((err: unknown) => {
  clearStatus();
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  killAllNow();
  process.exit(1);
});
