// The main-thread outputs' shared shell (src/outputs/main-thread-output.ts): shutdown's drain
// waits for what each output still has under way — stdout's writes, websocket_server's clients —
// and no longer; null keeps nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import type { ChunkSource } from '../src/chunk/layout.js';
import { Logger } from '../src/log.js';
import { NullOutput } from '../src/outputs/local/null-output.js';
import { StdoutOutput } from '../src/outputs/local/stdout-output.js';
import { Client } from '../src/outputs/server/client.js';
import { lines, openStuckClient, startFeedRelay } from './support/feed.js';
import { sendLines, waitFor } from './support/relay.js';

const quiet = new Logger('warn', '', { write: () => undefined });
const source: ChunkSource = { input: 'tcp.0', tag: 't', peer: 'p', separator: '\n' };
const hooks = { onPressure: () => undefined, onMalformed: () => undefined };

/** A stdout output whose writes complete only when the test says so. */
function heldStdout(): { output: StdoutOutput; finish: () => void } {
  const pending: Array<() => void> = [];
  const output = new StdoutOutput(
    {
      plugin: 'stdout',
      name: 'stdout.0',
      match: '*',
      matchRegex: null,
      format: 'json_lines',
      dateKey: null,
      dateFormat: 'double',
    },
    hooks,
    quiet,
    (_text, done) => {
      pending.push(done);
    },
  );
  return {
    output,
    finish: () => {
      for (const done of pending.splice(0)) done();
    },
  };
}

function appendTwo(output: StdoutOutput | NullOutput): void {
  const data = Buffer.from('{"a":1}\n{"b":2}\n');
  output.append(source, 0, { sec: 1, nsec: 0 }, data, 0, data.length, 2);
}

test('stdout: drain seals the open chunk and returns once its write completes, not at the timeout', async () => {
  const { output, finish } = heldStdout();
  appendTwo(output);
  assert.equal(output.bufferState().bytes > 0, true, 'the open chunk is buffered');
  let drained = false;
  const draining = output.drain(60_000).then((left) => {
    drained = true;
    return left;
  });
  assert.deepEqual(
    [output.bufferState().bytes, output.bufferState().chunksInFlight],
    [0, 1],
    'sealed and being written',
  );
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(drained, false, 'drain waits for the write');
  finish();
  assert.deepEqual(await draining, { chunks: 0, records: 0 });
  assert.deepEqual([output.stats.chunksFlushed, output.stats.records], [1, 2]);
});

test('stdout: a write that never completes is reported undelivered once the timeout passes', async () => {
  const { output } = heldStdout();
  appendTwo(output);
  assert.deepEqual(await output.drain(50), { chunks: 1, records: 0 });
  assert.equal(output.stats.records, 0, 'counted only once written');
});

test('null: counts at append, keeps nothing, drains at once', async () => {
  const output = new NullOutput({ plugin: 'null', name: 'null.0', match: '*', matchRegex: null }, quiet);
  appendTwo(output);
  assert.deepEqual([output.stats.records, output.stats.bytes], [2, 16]);
  assert.equal(output.bufferState().bytes, 0);
  assert.deepEqual(await output.drain(60_000), { chunks: 0, records: 0 });
  assert.equal(output.stats.chunksFlushed, 0);
});

test('websocket_server: drain waits while a client has not been written everything, and returns as it is', async () => {
  const relay = await startFeedRelay({ max_client_queue: '64m' });
  const pad = 'x'.repeat(400);
  const total = 30_000; // ~14 MB: more than the loopback socket buffers hold for a client that does not read
  try {
    const stuck = await openStuckClient(relay.output.port);
    await waitFor(() => relay.output.clientCount === 1, 5000, 'the client');
    for (let from = 0; from < total; from += 5000)
      await sendLines(
        relay.port,
        lines(from, 5000, () => `,"pad":"${pad}"`),
        2,
      );
    await waitFor(() => relay.output.stats.records === total, 20_000, 'everything broadcast');
    assert.ok(relay.output.bufferState().bytes > 0, 'the client is behind');
    let drained = false;
    const draining = relay.output.drain(60_000).then((left) => {
      drained = true;
      return left;
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(drained, false, 'drain waits for the client');
    stuck.resume(); // reads (and discards) what it was sent
    assert.deepEqual(await draining, { chunks: 0, records: 0 });
    assert.equal(relay.output.bufferState().bytes, 0, 'drain returned once the client had been written everything');
    stuck.destroy();
  } finally {
    await relay.stop();
  }
});

test('websocket_server client: caught up only once the socket has completed its writes, not when its queue is empty', () => {
  const held: Array<() => void> = [];
  const socket = new Duplex({
    read: () => undefined,
    write: (_chunk, _encoding, done) => {
      held.push(() => done());
    },
  });
  // Only readyState and event registration are used by a Client.
  const ws = { readyState: WebSocket.OPEN, on: () => ws } as unknown as WebSocket;
  let settled = 0;
  const client = new Client(ws, socket, null, 'peer', 1 << 20, 'close', {
    dropped: () => undefined,
    written: () => undefined,
    cutOff: () => undefined,
    settled: () => {
      settled++;
    },
  });
  assert.equal(client.caughtUp, true);
  client.send(Buffer.from('frame'), 1);
  assert.equal(client.backlog, 5, 'handed to the socket at once: nothing left in the queue');
  assert.equal(client.caughtUp, false, 'but not written yet');
  held.shift()!();
  return new Promise<void>((resolve) =>
    setImmediate(() => {
      assert.equal(client.caughtUp, true);
      assert.equal(settled, 1, 'the hub is told');
      resolve();
    }),
  );
});
