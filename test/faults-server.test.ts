// Short variants of the server-side fault scenarios (`make faults` runs them at full length):
// the relay is a real child process, the load real tcp connections, the server a real
// WebSocket server on 127.0.0.1. Whatever the server does, every record acknowledged to its
// sender arrives (duplicates allowed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keptPromise, verdict, type FaultReport } from './support/fault-report.js';
import { serverDown, serverError1011, serverFlapping, serverNeverReads } from './support/fault-scenarios.js';

function assertKept(r: FaultReport): void {
  assert.ok(r.acknowledged > 0, `some records were acknowledged: ${verdict(r)}`);
  assert.ok(keptPromise(r), verdict(r));
}

test('server down 0.5 s under load: every acknowledged record arrives', async (t) => {
  // Long enough for the immediate reconnect and the first one after backoff to fail.
  const r = await serverDown(0.5);
  t.diagnostic(verdict(r));
  assertKept(r);
  assert.ok(Number(r.notes['handshakes']) >= 2, 'reconnected after the outage');
});

test('server flapping every 0.5 s for 2 s: every acknowledged record arrives', async (t) => {
  const r = await serverFlapping(2, { periodSeconds: 0.5 });
  t.diagnostic(verdict(r));
  assertKept(r);
  assert.ok(Number(r.notes['handshakes']) >= 2, 'reconnected after outages');
});

test('server never reads: the input pauses, stays paused for 1 s with RSS bounded, then everything arrives', async (t) => {
  // Twice the scenario's default load: the buffers fill, and the input pauses, sooner.
  const r = await serverNeverReads(1, { rate: 100_000 });
  t.diagnostic(verdict(r));
  assertKept(r);
  assert.equal(r.notes['input paused'], 1, 'the input was paused by backpressure');
  // 8M of chunks plus the ws and kernel socket buffers, however long the load (~12 MB/s
  // offered) goes on while the input is paused.
  assert.ok(Number(r.notes['rss growth MB']) < 96, `RSS growth ${r.notes['rss growth MB']} MB`);
});

test('server closing with 1011 instead of handling a message: it is sent again', async (t) => {
  const r = await serverError1011(1);
  t.diagnostic(verdict(r));
  assertKept(r);
  assert.ok(Number(r.notes['1011 closes']) >= 2, 'the server failed several messages');
  assert.ok(Number(r.notes['retries']) >= 1, 'failed flushes were retried');
});
