// What escapes at a boundary costs that chunk or that connection, never the relay (contain.ts).
// Real relays, real sockets; the faults are made by replacing one method for the length of a
// test, the way a defect of ours would show: an encoder that throws on one chunk, an output that
// throws while broadcasting, an input handler that throws on one connection's bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { LineFramer } from '../src/inputs/line-framer.js';
import { Hub } from '../src/outputs/server/hub.js';
import { MessageEncoder } from '../src/outputs/server/messages.js';
import { FeedClient, startFeedRelay } from './support/feed.js';
import { sendLines, waitFor } from './support/relay.js';

/** Replaces obj[name] for the length of `body`; `replacement` gets the original. */
async function replaced<T extends object, K extends keyof T>(
  obj: T,
  name: K,
  replacement: (original: T[K]) => T[K],
  body: () => Promise<void>,
): Promise<void> {
  const original = obj[name];
  obj[name] = replacement(original);
  try {
    await body();
  } finally {
    obj[name] = original;
  }
}

function poisoned(records: ReadonlyArray<{ body: Record<string, unknown> }>): boolean {
  return records.some((record) => record.body['poison'] === true);
}

test('an encoder that throws on a chunk: the chunk is dropped as output_error, the next ones are delivered', async () => {
  const relay = await startFeedRelay({ format: 'json_lines', add_tag: 'false' });
  try {
    const client = await FeedClient.open(`${relay.base}/`);
    await replaced(
      MessageEncoder.prototype,
      'encode',
      (encode) =>
        function (this: MessageEncoder, records, firstId) {
          if (poisoned(records)) throw new TypeError('the encoder failed');
          return encode.call(this, records, firstId);
        },
      async () => {
        await sendLines(relay.port, ['{"poison":true,"n":1}', '{"n":2}']);
        await waitFor(() => relay.output.stats.dropped.output_error === 2, 5000, 'the poisoned chunk dropped');
        await sendLines(relay.port, ['{"n":3}', '{"n":4}']);
        await waitFor(() => client.json().length === 2, 5000, 'the next chunk');
      },
    );
    assert.deepEqual(
      client.records(0).map((r) => r['n']),
      [3, 4],
    );
    assert.equal(relay.logs.filter((line) => line.includes('the encoder failed')).length, 1, 'logged once');
  } finally {
    await relay.stop();
  }
});

test('an output that throws while broadcasting: the chunk is dropped, the relay goes on', async () => {
  const relay = await startFeedRelay({ format: 'json_lines', add_tag: 'false' });
  try {
    const client = await FeedClient.open(`${relay.base}/`);
    let failures = 0;
    await replaced(
      Hub.prototype,
      'publish',
      (publish) =>
        function (this: Hub, encoded) {
          if (failures++ < 3) throw new RangeError('the hub failed');
          return publish.call(this, encoded);
        },
      async () => {
        for (let i = 0; i < 3; i++) {
          await sendLines(relay.port, [`{"lost":${i}}`]);
          await waitFor(() => relay.output.stats.dropped.output_error === i + 1, 5000, `chunk ${i} dropped`);
        }
        await sendLines(relay.port, ['{"kept":1}']);
        await waitFor(() => client.json().length === 1, 5000, 'the chunk after the failures');
      },
    );
    assert.deepEqual(client.records(0), [{ kept: 1 }]);
    assert.equal(relay.logs.filter((line) => line.includes('the hub failed')).length, 1, 'one log line for the burst');
  } finally {
    await relay.stop();
  }
});

test('an input handler that throws on one connection: that connection is closed as internal_error, others relay', async () => {
  const relay = await startFeedRelay({ format: 'json_lines', add_tag: 'false' });
  try {
    const client = await FeedClient.open(`${relay.base}/`);
    await replaced(
      LineFramer.prototype,
      'push',
      (push) =>
        function (this: LineFramer, data: Buffer) {
          if (data.includes('explode')) throw new Error('the framer failed');
          return push.call(this, data);
        },
      async () => {
        const closed = await new Promise<boolean>((resolve) => {
          const socket = connect(relay.port, '127.0.0.1', () => socket.write('{"explode":1}\n'));
          socket.on('error', () => undefined);
          socket.on('close', () => resolve(true));
        });
        assert.ok(closed, 'the relay closed the connection');
        await sendLines(relay.port, ['{"fine":1}']);
        await waitFor(() => client.json().length === 1, 5000, 'a record on another connection');
      },
    );
    assert.equal(relay.engine.stats().inputs['tcp.0']!.closed.internal_error, 1);
    assert.deepEqual(client.records(0), [{ fine: 1 }]);
  } finally {
    await relay.stop();
  }
});
