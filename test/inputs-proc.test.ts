// The cpu and mem inputs in a real relay against a real WebSocket server: the seed's command
// line, Fluent Bit's record keys and types, PID, Interval_NSec, a process that goes away, and a
// bad value failing at start with its file and line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { Unpackr, addExtension } from 'msgpackr';
import { TestServer } from './support/test-server.js';
import { runCli } from './support/child.js';
import { configFileWriter } from './support/config-files.js';
import { startPipeline, waitFor } from './support/relay.js';

addExtension({ type: 0, unpack: (b: Buffer) => ({ sec: b.readUInt32BE(0), nsec: b.readUInt32BE(4) }) });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
const write = configFileWriter('wsrelay-proc-');

type Entry = [{ sec: number; nsec: number }, Record<string, unknown>];

function msgpackRecords(server: TestServer): Record<string, unknown>[] {
  return server.messages.flatMap((m) => (unpackr.unpackMultiple(m.data) as Entry[]).map((entry) => entry[1]));
}

function isPercent(v: unknown): boolean {
  return typeof v === 'number' && v >= 0 && v <= 100;
}

/** A process the tests can point PID at, and end. */
function idleChild() {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  return { pid: child.pid!, end: () => child.kill('SIGKILL'), exited: new Promise((r) => child.once('exit', r)) };
}

test("the seed's command line: -i cpu -t cpu -o websocket://… -m '*' delivers cpu records in msgpack", async () => {
  const server = await TestServer.start();
  const child = runCli(['-i', 'cpu', '-t', 'cpu', '-o', `websocket://127.0.0.1:${server.port}/something`, '-m', '*']);
  try {
    await waitFor(() => msgpackRecords(server).length >= 2, 15_000, 'two cpu records');
    assert.ok(server.messages.every((m) => m.binary));
    assert.equal(server.requests[0]?.url, '/something');
    const keys = ['cpu_p', 'user_p', 'system_p'];
    for (let core = 0; core < cpus().length; core++)
      keys.push(`cpu${core}.p_cpu`, `cpu${core}.p_user`, `cpu${core}.p_system`);
    for (const record of msgpackRecords(server)) {
      assert.deepEqual(Object.keys(record), keys);
      assert.ok(Object.values(record).every(isPercent), JSON.stringify(record));
      assert.ok((record.user_p as number) + (record.system_p as number) <= (record.cpu_p as number) + 1e-9);
    }
    child.process.kill('SIGTERM');
    assert.equal(await child.exited, 0);
  } finally {
    child.process.kill('SIGKILL');
    await server.stop();
  }
});

test('mem: Mem.* and Swap.* in kB, with PID the resident size; a PID that ends is reported once', async () => {
  const server = await TestServer.start();
  const target = idleChild();
  const relay = await startPipeline(
    [
      { plugin: 'mem', props: { pid: String(target.pid), interval_sec: '0', interval_nsec: '100000000' } },
      { plugin: 'cpu', props: { pid: String(target.pid), interval_sec: '0', interval_nsec: '100000000' } },
    ],
    [{ plugin: 'websocket', props: { host: '127.0.0.1', port: String(server.port), match: '*' } }],
  );
  try {
    const mem = () => msgpackRecords(server).filter((r) => 'Mem.total' in r);
    const cpu = () => msgpackRecords(server).filter((r) => 'cpu_p' in r);
    await waitFor(() => mem().length >= 2 && cpu().length >= 2, 10_000, 'mem and cpu records');
    const first = mem()[0]!;
    assert.ok((first['Mem.total'] as number) > 0);
    for (const key of ['Mem.used', 'Mem.free', 'Swap.total', 'Swap.used', 'Swap.free']) {
      assert.ok(Number.isInteger(first[key]) && (first[key] as number) >= 0, key);
    }
    assert.ok((first['Mem.used'] as number) <= (first['Mem.total'] as number));
    assert.ok((first['Mem.free'] as number) <= (first['Mem.total'] as number));
    assert.equal(first['Swap.used'], (first['Swap.total'] as number) - (first['Swap.free'] as number));
    assert.ok((first.proc_bytes as number) > 0);
    assert.match(first.proc_hr as string, /^\d+(\.\d)?[bKMG]$/);
    assert.deepEqual(Object.keys(cpu()[0]!), ['cpu_p', 'user_p', 'system_p']);

    target.end();
    await target.exited;
    const memBefore = mem().length;
    const cpuBefore = cpu().length;
    await waitFor(() => mem().length >= memBefore + 3, 10_000, 'mem records after the process ended');
    const after = mem().slice(memBefore + 1);
    assert.ok(after.every((r) => !('proc_bytes' in r) && (r['Mem.total'] as number) > 0));
    await waitFor(() => relay.logs.some((l) => l.includes('tick skipped')), 5000, 'the cpu input reports the PID');
    const cpuAfter = cpu().length;
    assert.ok(cpuAfter <= cpuBefore + 1, `cpu records went on after the process ended: ${cpuBefore} → ${cpuAfter}`);
    assert.equal(relay.logs.filter((l) => l.includes('could not measure PID')).length, 1);
    assert.ok(relay.logs.filter((l) => l.includes('tick skipped')).length <= 2, relay.logs.join(''));
  } finally {
    target.end();
    await relay.stop();
    await server.stop();
  }
});

test('Interval_Sec 0 + Interval_NSec 200000000 samples five times a second: counted against a 1 s input', async () => {
  const server = await TestServer.start();
  const relay = await startPipeline(
    [
      { plugin: 'cpu', props: { interval_sec: '0', interval_nsec: '200000000' } },
      { plugin: 'mem' }, // Fluent Bit's default: one a second
    ],
    [{ plugin: 'websocket', props: { host: '127.0.0.1', port: String(server.port), match: '*' } }],
  );
  try {
    const count = (key: string) => msgpackRecords(server).filter((r) => key in r).length;
    // Three one-second records span at least two seconds: ten 200 ms ticks, six allowing for a
    // loaded machine; a 1 s interval would give at most four.
    await waitFor(() => count('Mem.total') >= 3, 15_000, 'three mem records');
    assert.ok(count('cpu_p') >= 6, `cpu records: ${count('cpu_p')}`);
  } finally {
    await relay.stop();
    await server.stop();
  }
});

test('a bad value fails at start with its file and line', async () => {
  const file = write({
    'relay.conf': '[INPUT]\n    Name cpu\n    Interval_NSec soon\n[OUTPUT]\n    Name null\n    Match *\n',
  });
  const child = runCli(['--dry-run', '-c', file]);
  assert.notEqual(await child.exited, 0);
  assert.match(
    child.stderr,
    new RegExp(
      `${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: \\[INPUT cpu\\.0\\] property 'Interval_NSec': expected an integer`,
    ),
  );
  const pid = write({ 'relay.conf': '[INPUT]\n    Name mem\n    PID -4\n[OUTPUT]\n    Name null\n    Match *\n' });
  const second = runCli(['--dry-run', '-c', pid]);
  assert.notEqual(await second.exited, 0);
  assert.match(second.stderr, /relay\.conf:3: \[INPUT mem\.0\] property 'PID': expected an integer/);
});
