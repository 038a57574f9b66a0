// End to end through real sockets and worker threads: tcp lines in, a real ws server out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Unpackr, addExtension } from 'msgpackr';
import { TestServer } from './support/test-server.js';
import { seqReport, sendLines, sleep, startRelay, waitFor } from './support/relay.js';

addExtension({ type: 0, unpack: (b: Buffer) => ({ sec: b.readUInt32BE(0), nsec: b.readUInt32BE(4) }) });

function lines(count: number, extra = ''): string[] {
  return Array.from({ length: count }, (_, seq) => `{"seq":${seq},"msg":"line ${seq}"${extra}}`);
}

test('1,000 lines over 4 connections all arrive exactly once', async () => {
  const server = await TestServer.start();
  const relay = await startRelay(server.port);
  try {
    await sendLines(relay.port, lines(1000), 4);
    await waitFor(() => server.jsonRecords().length >= 1000, 10_000, '1000 records');
    const report = seqReport(server.jsonRecords(), 1000);
    assert.deepEqual(report.missing, []);
    assert.equal(report.duplicates, 0);
    const stats = relay.engine.stats().outputs['websocket.0']!;
    await waitFor(() => stats.records === 1000, 5000, 'flush counters');
    assert.equal(stats.records, 1000);
    assert.equal(relay.engine.stats().inputs['tcp.0']!.records, 1000);
    // Chunks, not one message per record.
    assert.ok(server.messages.length < 100, `${server.messages.length} messages for 1000 records`);
    assert.ok(
      server.messages.every((m) => !m.binary),
      'json_lines goes in TEXT frames',
    );
  } finally {
    await relay.stop();
    await server.stop();
  }
});

test('workers=4 keeps 4 connections and delivers everything', async () => {
  const server = await TestServer.start();
  const relay = await startRelay(server.port, { workers: '4', inflight_chunks: '2', chunk_limit_size: '4k' });
  try {
    await waitFor(() => server.openConnections === 4, 5000, '4 connections');
    await sendLines(relay.port, lines(5000), 4);
    await waitFor(() => server.jsonRecords().length >= 5000, 15_000, '5000 records');
    const report = seqReport(server.jsonRecords(), 5000);
    assert.deepEqual(report.missing, []);
    assert.equal(report.duplicates, 0);
    assert.equal(server.connections, 4, 'no reconnects');
    const used = new Set(server.messages.map((m) => m.connection));
    assert.ok(used.size >= 2, `chunks spread over ${used.size} connection(s)`);
  } finally {
    await relay.stop();
    // A worker's stop ends when its side of the close handshake does; the server's side may
    // report a moment later, and server.stop() would cut it off: wait for the four reports.
    await waitFor(() => server.closeCodes.length >= 4, 3000, 'the server to see four closes').catch(() => undefined);
    await server.stop();
  }
  assert.deepEqual(server.closeCodes, [1000, 1000, 1000, 1000], 'a close frame from each worker on shutdown');
});

test('headers and URI reach the server in the handshake', async () => {
  const server = await TestServer.start();
  const relay = await startRelay(server.port, { uri: '/ingest/logs?x=1', header: 'X-Api-Key secret value' });
  try {
    await waitFor(() => server.requests.length > 0, 5000, 'handshake');
    assert.equal(server.requests[0]!.url, '/ingest/logs?x=1');
    assert.equal(server.requests[0]!.headers['x-api-key'], 'secret value');
  } finally {
    await relay.stop();
    await server.stop();
  }
});

test('msgpack goes in BINARY frames as [EventTime, record] entries', async () => {
  const server = await TestServer.start();
  const relay = await startRelay(server.port, { format: 'msgpack' });
  try {
    const before = Math.floor(Date.now() / 1000);
    await sendLines(relay.port, ['{"a":1,"b":"x"}', '{"a":2}']);
    await waitFor(() => server.messages.length > 0, 5000, 'a message');
    const message = server.messages[0]!;
    assert.equal(message.binary, true);
    const entries = new Unpackr({ useRecords: false }).unpackMultiple(message.data) as Array<
      [{ sec: number; nsec: number }, unknown]
    >;
    assert.equal(entries.length, 2);
    assert.deepEqual(
      entries.map((e) => e[1]),
      [{ a: 1, b: 'x' }, { a: 2 }],
    );
    const time = entries[0]![0];
    assert.ok(time.sec >= before && time.sec <= before + 5, `time ${time.sec} near ${before}`);
    assert.ok(time.nsec >= 0 && time.nsec < 1e9);
  } finally {
    await relay.stop();
    await server.stop();
  }
});

test('json format sends one array per chunk with the date key first', async () => {
  const server = await TestServer.start();
  const relay = await startRelay(server.port, { format: 'json', json_date_format: 'iso8601' });
  try {
    await sendLines(relay.port, ['{"key 1": 123456789, "key 2": "abcdefg"}', '{"n":2}']);
    await waitFor(() => server.messages.length > 0, 5000, 'a message');
    const text = server.messages[0]!.data.toString();
    assert.match(
      text,
      /^\[\{"date":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z","key 1":123456789,"key 2":"abcdefg"\},\{"date":"[^"]+","n":2\}\]$/,
    );
    assert.equal(server.messages[0]!.binary, false);
  } finally {
    await relay.stop();
    await server.stop();
  }
});

test('the open chunk leaves once its input goes quiet, while the worker waits for a confirmation', async () => {
  const server = await TestServer.start({ autoPong: false });
  // Grace 0: the unconfirmed chunks can never be delivered, so a stop would wait all of Grace.
  const relay = await startRelay(server.port, { workers: '1' }, {}, { flush: '30', grace: '0' });
  try {
    await sendLines(relay.port, ['{"n":1}']);
    await waitFor(() => server.messages.length === 1, 5000, 'the first chunk (the worker was idle)');
    // Its confirmation never comes (no pong), so the worker is not idle, and Flush is 30 s away.
    await sendLines(relay.port, ['{"n":2}', '{"n":3}']);
    await waitFor(() => server.messages.length === 2, 3000, 'the second chunk, sealed when the input went quiet');
    assert.deepEqual(
      server.jsonRecords().map((record) => record['n']),
      [1, 2, 3],
    );
  } finally {
    await relay.stop();
    await server.stop();
  }
});

test('while a sealed chunk waits, a quiet input does not cut its open chunk into more small ones', async () => {
  const server = await TestServer.start({ autoPong: false });
  const relay = await startRelay(server.port, { workers: '1', inflight_chunks: '1' }, {}, { flush: '30', grace: '0' });
  try {
    await sendLines(relay.port, ['{"n":1}']);
    await waitFor(() => server.messages.length === 1, 5000, 'the first chunk, in flight for good (no pong)');
    const buffer = (): { queued: number; bytes: number } => {
      const state = relay.engine.stats().buffers['websocket.0']!;
      return { queued: state.chunksQueued, bytes: state.bytes };
    };
    await sendLines(relay.port, ['{"n":2}']);
    await waitFor(() => buffer().queued === 1, 3000, "the quiet input's chunk sealed (nothing waited)");
    const before = buffer().bytes;
    for (const n of [3, 4, 5]) {
      await sendLines(relay.port, [`{"n":${n}}`]);
      await sleep(50); // quiet for ten times INPUT_QUIET_MS
    }
    assert.equal(buffer().queued, 1, 'records 3–5 stay in the open chunk behind the waiting one');
    assert.ok(buffer().bytes > before, 'they are buffered');
  } finally {
    await relay.stop();
    await server.stop();
  }
});
