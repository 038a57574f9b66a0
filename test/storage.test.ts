// Filesystem buffering with real files, real sockets and real worker threads: chunk files and
// their checksum, corrupt files moved aside at start, acknowledgements that wait for the disk,
// chunks kept on disk across a stop and replayed first at the next start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Packr, Unpackr } from 'msgpackr';
import { ChunkStore } from '../src/storage/chunk-store.js';
import { chunkFileName, CorruptChunk, decodeChunkFile, encodeChunkHead } from '../src/storage/chunk-file.js';
import { Logger } from '../src/log.js';
import { resolvePipeline } from '../src/config/resolve.js';
import { ConfigError } from '../src/config/errors.js';
import { seqReport, startPipeline, waitFor, type TestRelay } from './support/relay.js';
import { websocketStats } from './support/output-stats.js';
import { TestServer } from './support/test-server.js';
import type { HttpInput } from '../src/inputs/http-input.js';
import type { ForwardInput } from '../src/inputs/forward-input.js';

const source = { input: 'tcp.0', tag: 't', peer: '127.0.0.1:1', separator: '\n' };

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'wsrelay-storage-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function quietLog(lines: string[] = []): Logger {
  return new Logger('info', '', {
    write: (line) => {
      lines.push(line);
    },
  });
}

function payloadOf(text: string): SharedArrayBuffer {
  const bytes = Buffer.from(text);
  const arena = new SharedArrayBuffer(bytes.length + 10);
  bytes.copy(Buffer.from(arena));
  return arena;
}

test('a chunk file round-trips, and any torn or flipped byte is detected', () => {
  const payload = Buffer.from('{"a":1}\n{"b":2}\n');
  const meta = { id: 7, records: 2, byteLength: payload.length, sources: [source] };
  const file = Buffer.concat([encodeChunkHead(meta, payload), payload]);
  const { meta: back, payloadAt } = decodeChunkFile(7, file);
  assert.deepEqual(back, meta);
  assert.deepEqual(file.subarray(payloadAt), payload);
  for (let cut = 0; cut < file.length; cut += 5) {
    assert.throws(() => decodeChunkFile(7, file.subarray(0, cut)), CorruptChunk, `cut at ${cut}`);
  }
  for (let i = 0; i < file.length; i++) {
    const flipped = Buffer.from(file);
    flipped[i] = flipped[i]! ^ 0x10;
    assert.throws(() => decodeChunkFile(7, flipped), CorruptChunk, `byte ${i} flipped`);
  }
});

test('at start, torn and corrupt files are moved aside and reported; the others are replayed in order', async (t) => {
  const dir = tempDir(t);
  const store = new ChunkStore(dir, 'full', quietLog());
  store.openBacklog(10);
  for (let id = 1; id <= 4; id++) {
    const text = `{"n":${id}}\n`;
    await store.write({ id, records: 1, byteLength: text.length, sources: [source] }, payloadOf(text));
  }
  const second = join(dir, chunkFileName(2));
  truncateSync(second, readFileSync(second).length - 3); // torn: the end never reached the disk
  const third = join(dir, chunkFileName(3));
  const bytes = readFileSync(third);
  bytes[bytes.length - 2] = 0x41; // a flipped byte in the payload
  writeFileSync(third, bytes);
  writeFileSync(join(dir, chunkFileName(9)), 'not a chunk at all');

  const lines: string[] = [];
  const restarted = new ChunkStore(dir, 'normal', quietLog(lines));
  const { chunks, highestId } = restarted.openBacklog(1);
  assert.deepEqual(
    chunks.map((c) => c.meta.id),
    [1, 4],
  );
  assert.equal(chunks[0]!.payload?.toString(), '{"n":1}\n', 'loaded: within max_chunks_up');
  assert.equal(chunks[1]!.payload, null, 'beyond max_chunks_up: left on disk');
  assert.equal(restarted.readPayload(4)?.toString(), '{"n":4}\n');
  assert.equal(highestId, 9, 'new ids never reuse a quarantined number');
  assert.equal(restarted.corrupt, 3);
  assert.deepEqual(
    readdirSync(dir)
      .filter((n) => n.endsWith('.corrupt'))
      .sort(),
    [2, 3, 9].map((id) => `${chunkFileName(id)}.corrupt`),
  );
  assert.equal(
    lines.filter((l) => /is corrupt \((torn|checksum mismatch|\d+ bytes, shorter)/.test(l)).length,
    3,
    lines.join(''),
  );
});

test('storage.type filesystem without storage.path fails at start, naming the input and key', () => {
  const at = { file: 'relay.conf', line: 7 };
  assert.throws(
    () =>
      resolvePipeline({
        service: { kind: 'service', plugin: '', at, properties: [] },
        inputs: [{ kind: 'input', plugin: 'http', at, properties: [{ key: 'storage.type', value: 'filesystem', at }] }],
        outputs: [{ kind: 'output', plugin: 'websocket', at, properties: [] }],
      }),
    (error: unknown) =>
      error instanceof ConfigError && /relay\.conf:7.*storage\.type.*storage\.path/.test(error.message),
  );
});

function chunkFiles(dir: string): string[] {
  try {
    return readdirSync(join(dir, 'websocket.0')).filter((name) => name.endsWith('.chunk'));
  } catch {
    return [];
  }
}

function storedText(dir: string): string {
  return chunkFiles(dir)
    .map((name) => readFileSync(join(dir, 'websocket.0', name)).toString('latin1'))
    .join('');
}

async function httpRelay(
  serverPort: number,
  dir: string,
  output: Record<string, string> = {},
  service: Record<string, string> = {},
): Promise<TestRelay> {
  return startPipeline(
    [{ plugin: 'http', props: { listen: '127.0.0.1', port: '0', 'storage.type': 'filesystem' } }],
    [
      {
        plugin: 'websocket',
        props: {
          host: '127.0.0.1',
          port: String(serverPort),
          format: 'json_lines',
          match: '*',
          retry_limit: 'no_limits',
          ...output,
        },
      },
    ],
    { 'storage.path': dir, 'scheduler.base': '0.2', 'scheduler.cap': '0.5', grace: '1', log_level: 'info', ...service },
  );
}

test('http: the 2xx comes after the chunk file is written; a stop keeps it; the next start sends it first', async (t) => {
  const dir = tempDir(t);
  const server = await TestServer.start();
  await server.stop(); // down: nothing can be delivered, so only the disk holds the records
  // Grace 0: with the server down, a stop would wait all of Grace before keeping the files.
  const first = await httpRelay(server.port, dir, {}, { grace: '0' });
  const port = (first.engine.inputs[0] as HttpInput).port;
  for (let seq = 0; seq < 50; seq++) {
    const response = await fetch(`http://127.0.0.1:${port}/app`, { method: 'POST', body: JSON.stringify({ seq }) });
    assert.equal(response.status, 204);
    assert.ok(storedText(dir).includes(`{"seq":${seq}}`), `record ${seq} on disk when acknowledged`);
  }
  await first.stop();
  assert.ok(chunkFiles(dir).length > 0, 'chunk files kept for the next start');
  assert.match(first.logs.join(''), /kept in .* for the next start/);
  assert.equal(first.engine.stats().outputs['websocket.0']!.dropped.shutdown, 0, 'stored chunks are not dropped');

  await server.listen();
  const second = await httpRelay(server.port, dir);
  t.after(() => server.stop());
  try {
    const secondPort = (second.engine.inputs[0] as HttpInput).port;
    const response = await fetch(`http://127.0.0.1:${secondPort}/app`, {
      method: 'POST',
      body: JSON.stringify({ seq: 50 }),
    });
    assert.equal(response.status, 204);
    await waitFor(() => seqReport(server.jsonRecords(), 51).missing.length === 0, 10_000, 'every record');
    const seqs = server.jsonRecords().map((r) => r['seq']);
    assert.equal(seqs.indexOf(50), seqs.length - 1, 'the backlog went before the new record');
    assert.match(second.logs.join(''), /replaying \d+ chunk\(s\), 50 records/);
    assert.ok(websocketStats(second.engine).resentRecords >= 50, 'replayed records count as re-sent');
    await waitFor(() => chunkFiles(dir).length === 0, 5000, 'files deleted once flushed');
  } finally {
    await second.stop();
  }
});

test('forward: the ack is sent once the entries are on disk; max_chunks_up keeps the rest there', async (t) => {
  const dir = tempDir(t);
  const server = await TestServer.start();
  await server.stop();
  const relay = await startPipeline(
    [{ plugin: 'forward', props: { listen: '127.0.0.1', port: '0', 'storage.type': 'filesystem' } }],
    [
      {
        plugin: 'websocket',
        props: {
          host: '127.0.0.1',
          port: String(server.port),
          format: 'json_lines',
          match: '*',
          retry_limit: 'no_limits',
        },
      },
    ],
    { 'storage.path': dir, 'storage.max_chunks_up': '2', 'storage.sync': 'full', grace: '1' },
  );
  t.after(() => relay.stop());
  const port = (relay.engine.inputs[0] as ForwardInput).port;
  const socket = connect(port, '127.0.0.1');
  const packr = new Packr({ useRecords: false });
  const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
  const acks: string[] = [];
  socket.on('data', (data: Buffer) => {
    for (const message of unpackr.unpackMultiple(data) as Array<{ ack: string }>) acks.push(message.ack);
  });
  for (let seq = 0; seq < 20; seq++) {
    socket.write(packr.pack(['app', [[Math.floor(Date.now() / 1000), { seq }]], { chunk: `c${seq}` }]));
    await waitFor(() => acks.length === seq + 1, 5000, `ack ${seq}`);
    assert.ok(storedText(dir).includes('seq'), 'on disk');
  }
  socket.destroy();
  assert.equal(chunkFiles(dir).length, 20, 'one chunk per acknowledged message here');
  const output = relay.engine.stats().buffers['websocket.0']!;
  assert.equal(output.chunksQueued + output.chunksInFlight, 20);
  // Memory holds at most max_chunks_up of the waiting chunks; all of them arrive once the server is back.
  await server.listen();
  t.after(() => server.stop());
  await waitFor(() => seqReport(server.jsonRecords(), 20).missing.length === 0, 15_000, 'every record');
  await waitFor(() => chunkFiles(dir).length === 0, 5000, 'files deleted once flushed');
});

test('storage.total_limit_size with drop_oldest: the oldest chunks go, counted as storage_limit', async (t) => {
  const dir = tempDir(t);
  const server = await TestServer.start();
  await server.stop();
  const relay = await httpRelay(server.port, dir, {
    'storage.total_limit_size': '2k',
    'storage.total_limit_policy': 'drop_oldest',
  });
  t.after(() => relay.stop());
  const port = (relay.engine.inputs[0] as HttpInput).port;
  const padding = 'x'.repeat(200);
  for (let seq = 0; seq < 40; seq++) {
    const response = await fetch(`http://127.0.0.1:${port}/app`, {
      method: 'POST',
      body: JSON.stringify({ seq, padding }),
    });
    assert.equal(response.status, 204, 'drop_oldest never pauses');
  }
  const bytes = chunkFiles(dir).reduce((sum, name) => sum + readFileSync(join(dir, 'websocket.0', name)).length, 0);
  assert.ok(bytes <= 2048 + 512, `${bytes} bytes on disk`);
  const stats = relay.engine.stats().outputs['websocket.0']!;
  assert.ok(stats.dropped.storage_limit >= 20, `dropped ${stats.dropped.storage_limit}`);
  await server.listen();
  t.after(() => server.stop());
  // Chunks in flight when the limit was reached cannot be dropped: every record is either
  // delivered or counted as dropped, none both.
  const arrived = (): Set<unknown> => new Set(server.jsonRecords().map((r) => r['seq']));
  await waitFor(() => arrived().size + stats.dropped.storage_limit === 40, 10_000, 'delivered + dropped = sent');
  assert.ok(arrived().has(39), 'the newest record arrived');
});

test('an unusable storage.path stops the start with a clear error, before any worker thread', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'a-file');
  writeFileSync(file, 'not a directory');
  await assert.rejects(httpRelay(9, file), /storage\.path: cannot use .*a-file.* for chunk files: ENOTDIR/);
});

test('a record routed to two outputs is in a file of each; each file goes when its own output has flushed it', async (t) => {
  const dir = tempDir(t);
  const up = await TestServer.start();
  const down = await TestServer.start();
  await down.stop();
  t.after(() => up.stop());
  const output = (port: number, alias: string) => ({
    plugin: 'websocket',
    props: {
      host: '127.0.0.1',
      port: String(port),
      format: 'json_lines',
      match: '*',
      retry_limit: 'no_limits',
      alias,
    },
  });
  const relay = await startPipeline(
    [{ plugin: 'http', props: { listen: '127.0.0.1', port: '0', 'storage.type': 'filesystem' } }],
    [output(up.port, 'live'), output(down.port, 'later')],
    { 'storage.path': dir, 'scheduler.base': '0.2', 'scheduler.cap': '0.5', grace: '1' },
  );
  t.after(() => relay.stop());
  const files = (name: string): string[] => readdirSync(join(dir, name)).filter((n) => n.endsWith('.chunk'));
  const port = (relay.engine.inputs[0] as HttpInput).port;
  const response = await fetch(`http://127.0.0.1:${port}/app`, { method: 'POST', body: '{"seq":0}' });
  assert.equal(response.status, 204);
  await waitFor(() => up.jsonRecords().length === 1, 5000, 'delivery by the live output');
  await waitFor(() => files('live').length === 0, 5000, "the live output's file deleted");
  assert.equal(files('later').length, 1, 'the other output still holds its copy');
  await down.listen();
  t.after(() => down.stop());
  await waitFor(() => down.jsonRecords().length === 1, 10_000, 'delivery by the second output');
  await waitFor(() => files('later').length === 0, 5000, "the second output's file deleted");
});

test('storage keys are checked at start like every other key', () => {
  const at = { file: 'relay.conf', line: 3 };
  const section = (kind: 'service' | 'input' | 'output', plugin: string, key: string, value: string) => ({
    kind,
    plugin,
    at,
    properties: [{ key, value, at }],
  });
  const cases: Array<[ReturnType<typeof section>, RegExp]> = [
    [section('service', '', 'storage.sync', 'sometimes'), /'storage\.sync': expected one of normal\|full/],
    [section('service', '', 'storage.max_chunks_up', '0'), /'storage\.max_chunks_up': expected an integer/],
    [section('input', 'tcp', 'storage.type', 'disk'), /'storage\.type': expected one of memory\|filesystem/],
    [section('output', 'websocket', 'storage.total_limit_policy', 'drop_newest'), /expected one of pause\|drop_oldest/],
    [section('output', 'websocket', 'storage.total_limit_size', '-1'), /'storage\.total_limit_size'/],
  ];
  for (const [bad, message] of cases) {
    assert.throws(
      () =>
        resolvePipeline({
          service: bad.kind === 'service' ? bad : { kind: 'service', plugin: '', at, properties: [] },
          inputs: [bad.kind === 'input' ? bad : { kind: 'input', plugin: 'tcp', at, properties: [] }],
          outputs: [bad.kind === 'output' ? bad : { kind: 'output', plugin: 'websocket', at, properties: [] }],
        }),
      (error: unknown) =>
        error instanceof ConfigError && /relay\.conf:3/.test(error.message) && message.test(error.message),
      `${bad.properties[0]!.key} ${bad.properties[0]!.value}`,
    );
  }
});
