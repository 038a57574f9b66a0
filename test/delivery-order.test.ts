// The ordered-delivery rules (delivery-order.ts) and the chunk state diagram (chunk-state.ts),
// on their own; test/relay-faults.test.ts shows them holding against a real server that drops
// connections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DispatchOrder, WorkerOrder } from '../src/outputs/websocket/delivery-order.js';
import { canMove, moveTo, type ChunkState } from '../src/outputs/websocket/main/chunk-state.js';

test('ordered: a chunk waiting out its backoff holds back every later chunk', () => {
  const order = new DispatchOrder(true);
  assert.equal(order.decide(1, true, false), 'stop');
  assert.equal(order.decide(2, false, true), 'send');
});

test('unordered: a chunk in backoff is skipped and later chunks go', () => {
  const order = new DispatchOrder(false);
  assert.equal(order.decide(1, true, false), 'skip');
  order.dispatched(0);
  assert.equal(order.decide(1, true, true), 'send', 'no wait for earlier chunks in flight');
});

test('ordered: a retry waits until every earlier chunk in flight has its outcome', () => {
  const order = new DispatchOrder(true);
  order.dispatched(3);
  order.dispatched(7);
  assert.equal(order.decide(5, true, true), 'stop', 'chunk 3 is still in flight');
  assert.equal(order.decide(5, false, true), 'send', "a first attempt is the worker's to hold");
  order.settled(3, false);
  assert.equal(order.decide(5, true, true), 'send', 'only later chunks are in flight');
  assert.equal(order.inFlightCount, 1);
});

test('each processed failure ends an epoch; a first attempt from an ended epoch is held by the worker', () => {
  const main = new DispatchOrder(true);
  const worker = new WorkerOrder(true);
  main.dispatched(1);
  main.dispatched(2);
  const epochOf2 = main.epoch;
  // The worker fails chunk 1 before the main thread has processed that failure: chunk 2 was
  // dispatched in the epoch the failure ended, and must not overtake chunk 1's retry.
  worker.failureReturned();
  assert.equal(worker.wouldOvertake(0, epochOf2), true);
  assert.equal(worker.wouldOvertake(1, epochOf2), false, 'retries are ordered by the main thread');
  main.settled(1, true);
  assert.equal(main.epoch, epochOf2 + 1);
  assert.equal(worker.wouldOvertake(0, main.epoch), false, 'dispatched after the failure was seen');
  main.settled(2, false);
  assert.equal(main.epoch, epochOf2 + 1, 'a success ends no epoch');
});

test('several workers: the worker never holds', () => {
  const worker = new WorkerOrder(false);
  worker.failureReturned();
  assert.equal(worker.wouldOvertake(0, 0), false);
});

test('chunk states: the moves of the diagram, and no other', () => {
  const states: ChunkState[] = ['writing', 'queued', 'backoff', 'on_disk', 'in_flight'];
  const allowed = new Set([
    'writing>queued',
    'queued>in_flight',
    'queued>on_disk',
    'backoff>queued',
    'backoff>in_flight',
    'backoff>on_disk',
    'on_disk>queued',
    'in_flight>queued',
    'in_flight>backoff',
  ]);
  for (const from of states) {
    for (const to of states) assert.equal(canMove(from, to), allowed.has(`${from}>${to}`), `${from} → ${to}`);
  }
  const entry = { chunk: { id: 9 }, state: 'queued' as ChunkState };
  assert.equal(moveTo(entry, 'in_flight'), true);
  assert.equal(moveTo(entry, 'writing'), false, 'refused, but the chunk is where it is');
  assert.equal(entry.state, 'writing');
});

test('docs/ARCHITECTURE.md draws the same moves as the code', () => {
  const doc = readFileSync(new URL('../../docs/ARCHITECTURE.md', import.meta.url), 'utf8');
  const table = doc.slice(doc.indexOf('| from | to | when |'));
  const rows = table.slice(0, table.indexOf('\n\n')).split('\n').slice(2);
  const states: ChunkState[] = ['writing', 'queued', 'backoff', 'on_disk', 'in_flight'];
  const documented = new Set<string>();
  for (const row of rows) {
    const [, from = '', to = ''] = row.split('|').map((cell) => cell.trim());
    if (to.startsWith('(')) continue; // leaving the diagram: flushed, dropped
    for (const one of from.split(', ')) documented.add(`${one}>${to}`);
  }
  const inCode = new Set<string>();
  for (const from of states) for (const to of states) if (canMove(from, to)) inCode.add(`${from}>${to}`);
  assert.deepEqual([...documented].sort(), [...inCode].sort());
});
