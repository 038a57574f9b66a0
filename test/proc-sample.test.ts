// The cpu and mem inputs' arithmetic on /proc text taken from a real 2-core Linux machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  humanSize,
  memRecord,
  parseKbLines,
  parsePidStat,
  parseProcStat,
  processCpuRecord,
  residentBytes,
  systemCpuRecord,
} from '../src/inputs/proc-sample.js';

// Two reads of /proc/stat one second apart (the rest of the file after the cpu lines cut short).
const STAT_BEFORE = `cpu  1049507 1488 218637 1865947 1114 0 4150 1295 0 0
cpu0 531114 687 98172 938310 244 0 1829 628 0 0
cpu1 518392 800 120464 927636 869 0 2321 667 0 0
intr 17740682 0 0 0 0
ctxt 41543683
`;
const STAT_AFTER = `cpu  1049507 1488 218638 1866145 1114 0 4150 1295 0 0
cpu0 531114 687 98173 938409 244 0 1829 628 0 0
cpu1 518392 800 120464 927735 869 0 2321 667 0 0
intr 17740690 0 0 0 0
ctxt 41543700
`;
// The same machine busy: cpu0 all user and nice, cpu1 half system, half idle.
const STAT_BUSY = `cpu  1049587 1508 218688 1866195 1114 0 4150 1295 0 0
cpu0 531194 707 98173 938409 244 0 1829 628 0 0
cpu1 518392 800 120514 927785 869 0 2321 667 0 0
`;

const MEMINFO = `MemTotal:       24683784 kB
MemFree:        23207284 kB
MemAvailable:   24053156 kB
Buffers:           48776 kB
Cached:          1025768 kB
SwapCached:            0 kB
SwapTotal:       2097148 kB
SwapFree:        2000000 kB
`;

const close = (actual: number | undefined, expected: number) =>
  assert.ok(actual !== undefined && Math.abs(actual - expected) < 1e-9, `${actual} ≠ ${expected}`);

test('/proc/stat: the aggregate line and one line per core, user counting nice', () => {
  const sample = parseProcStat(STAT_BEFORE);
  assert.ok(sample);
  assert.deepEqual(sample.all, {
    user: 1049507 + 1488,
    system: 218637,
    total: 1049507 + 1488 + 218637 + 1865947 + 1114 + 0 + 4150 + 1295,
  });
  assert.deepEqual(
    sample.cores.map((c) => c.id),
    [0, 1],
  );
  assert.equal(parseProcStat('intr 1 2 3\n'), null);
  assert.equal(parseProcStat('cpu  1 x 3 4\n'), null);
});

test("an idle second: Fluent Bit's keys, a share of the machine and of each core", () => {
  const record = systemCpuRecord(parseProcStat(STAT_BEFORE)!, parseProcStat(STAT_AFTER)!);
  assert.deepEqual(Object.keys(record), [
    'cpu_p',
    'user_p',
    'system_p',
    'cpu0.p_cpu',
    'cpu0.p_user',
    'cpu0.p_system',
    'cpu1.p_cpu',
    'cpu1.p_user',
    'cpu1.p_system',
  ]);
  // One system tick out of the 199 both cores spent.
  close(record.cpu_p, 100 / 199);
  close(record.user_p, 0);
  close(record.system_p, 100 / 199);
  close(record['cpu0.p_cpu'], 1);
  close(record['cpu0.p_system'], 1);
  close(record['cpu1.p_cpu'], 0);
});

test('a busy second: one core full, the other half in the kernel → 75% of the machine', () => {
  const record = systemCpuRecord(parseProcStat(STAT_AFTER)!, parseProcStat(STAT_BUSY)!);
  close(record['cpu0.p_cpu'], 100);
  close(record['cpu0.p_user'], 100);
  close(record['cpu0.p_system'], 0);
  close(record['cpu1.p_cpu'], 50);
  close(record['cpu1.p_system'], 50);
  close(record.cpu_p, 75);
  close(record.user_p, 50);
  close(record.system_p, 25);
});

test('no ticks elapsed (two reads within one tick) is 0, not NaN', () => {
  const sample = parseProcStat(STAT_BEFORE)!;
  assert.ok(Object.values(systemCpuRecord(sample, sample)).every((v) => v === 0));
});

test('/proc/PID/stat: utime and stime, past a command name holding spaces and parentheses', () => {
  const bash =
    '7052 (bash) S 7051 7052 7052 0 -1 4194560 10314 376579 0 4 1 7 2004 141 20 0 1 0 1565264 5259264 968 18446744073709551615 0';
  assert.deepEqual(parsePidStat(bash), { user: 1, system: 7 });
  assert.deepEqual(parsePidStat(bash.replace('(bash)', '(my (odd) name)')), { user: 1, system: 7 });
  assert.equal(parsePidStat('garbage'), null);
});

test('a process: its ticks over the elapsed time, 100 ticks a second', () => {
  const record = processCpuRecord({ user: 100, system: 20 }, { user: 130, system: 30 }, 500);
  close(record.user_p, 60);
  close(record.system_p, 20);
  close(record.cpu_p, 80);
  close(processCpuRecord({ user: 1, system: 1 }, { user: 1, system: 1 }, 0).cpu_p, 0);
});

test("/proc/meminfo: Fluent Bit's Mem.* and Swap.* in kB (free is MemAvailable, used is total - MemFree)", () => {
  assert.deepEqual(memRecord(parseKbLines(MEMINFO)), {
    'Mem.total': 24683784,
    'Mem.used': 24683784 - 23207284,
    'Mem.free': 24053156,
    'Swap.total': 2097148,
    'Swap.used': 97148,
    'Swap.free': 2000000,
  });
  // A kernel before 3.14 has no MemAvailable: free is MemFree.
  const old = memRecord(parseKbLines(MEMINFO.replace(/^MemAvailable.*\n/m, '')));
  assert.equal(old?.['Mem.free'], 23207284);
  assert.equal(memRecord(parseKbLines('Buffers: 1 kB\n')), null);
});

test("a process's resident size from VmRSS, and Fluent Bit's human-readable form", () => {
  assert.equal(residentBytes(parseKbLines('Name:\tbash\nVmRSS:\t    4188 kB\n')), 4188 * 1024);
  assert.equal(residentBytes(parseKbLines('Name:\tkthreadd\n')), null);
  assert.equal(humanSize(512), '512b');
  assert.equal(humanSize(1536), '1.5K');
  assert.equal(humanSize(4188 * 1024), '4.1M');
  assert.equal(humanSize(3 * 1024 ** 3), '3.0G');
});
