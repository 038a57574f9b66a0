// `make faults`: every fault scenario at full length, one after the other, against the relay as
// a real process on 127.0.0.1; prints the table of records sent, acknowledged, delivered,
// duplicated and lost, writes it to load/results/faults.json, and exits 1 when any scenario
// lost an acknowledged record (rows marked "loss (expected)" document a promise that is not
// made: memory storage across kill -9, a finite Retry_Limit across a long outage).
//   node dist/load/faults.js [--only SUBSTRING] [--rate N] [--out FILE]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { diskFull, mountSmallDisk, relayKill9, workerKilled } from '../test/support/fault-crashes.js';
import { keptPromise, table, verdict, type FaultReport } from '../test/support/fault-report.js';
import { serverDown, serverError1011, serverFlapping, serverNeverReads } from '../test/support/fault-scenarios.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    rate: { type: 'string', default: '10000' },
    out: { type: 'string', default: 'load/results/faults.json' },
  },
});
const rate = Number(values.rate);

interface Scenario {
  readonly name: string;
  readonly run: () => Promise<FaultReport>;
  /** Loss is the documented outcome: shown, not a failure, as long as `counted` holds. */
  readonly lossExpected?: boolean;
  /** For an expected loss the relay survives: every lost record was counted as dropped. */
  readonly counted?: (r: FaultReport) => boolean;
}

const scenarios: Scenario[] = [
  { name: 'server down 10 s', run: () => serverDown(10, { rate }) },
  {
    name: 'server down 10 s, retry_limit 1',
    run: () => serverDown(10, { rate, retryLimit: '1', settleMs: 10_000 }),
    lossExpected: true,
    counted: (r) => r.lost <= Number(r.notes['dropped retry_limit'] ?? 0),
  },
  { name: 'server flapping', run: () => serverFlapping(20, { rate }) },
  { name: 'server never reads', run: () => serverNeverReads(30) },
  { name: 'server 1011', run: () => serverError1011(10, { rate }) },
  { name: 'worker killed', run: () => workerKilled({ records: 20_000 }) },
  { name: 'kill -9 filesystem', run: () => relayKill9('filesystem', { rate: rate / 2 }) },
  { name: 'kill -9 memory', run: () => relayKill9('memory', { rate: rate / 2 }), lossExpected: true },
  { name: 'disk full', run: () => diskFull() },
];

const reports: FaultReport[] = [];
const failures: string[] = [];
for (const scenario of scenarios) {
  if (values.only && !scenario.name.includes(values.only)) continue;
  if (scenario.name === 'disk full') {
    const probe = mountSmallDisk(64);
    if (!probe) {
      process.stderr.write('disk full: skipped, mounting a tmpfs needs root\n');
      continue;
    }
    probe.unmount();
  }
  process.stderr.write(`${scenario.name}...\n`);
  try {
    const r = await scenario.run();
    const shown = scenario.lossExpected ? { ...r, lossExpected: true } : r;
    reports.push(shown);
    process.stderr.write(`  ${verdict(shown)}\n`);
    if (!keptPromise(shown) && !scenario.lossExpected) failures.push(verdict(shown));
    if (scenario.counted && !scenario.counted(shown)) failures.push(`${verdict(shown)}: a loss not counted as a drop`);
  } catch (error) {
    failures.push(`${scenario.name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.stderr.write(`  failed to run: ${String(error)}\n`);
  }
}

process.stdout.write(`${table(reports)}\n`);
mkdirSync(dirname(values.out!), { recursive: true });
writeFileSync(values.out!, `${JSON.stringify({ date: new Date().toISOString(), rate, reports }, null, 2)}\n`);
if (failures.length > 0) {
  process.stderr.write(`\n${failures.length} scenario(s) failed:\n${failures.join('\n')}\n`);
  process.exit(1);
}
process.exit(0);
