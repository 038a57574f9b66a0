// Routing by tag: every record to every matching output, each output with its own buffer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestServer } from './support/test-server.js';
import { sleep, startPipeline, waitFor } from './support/relay.js';
import { Logger } from '../src/log.js';

test('two outputs with different matches, a copy to both for a shared tag', async () => {
  const a = await TestServer.start();
  const b = await TestServer.start();
  const ws = (server: TestServer, match: Record<string, string>) => ({
    plugin: 'websocket',
    props: { host: '127.0.0.1', port: String(server.port), format: 'json_lines', ...match },
  });
  const relay = await startPipeline(
    [
      { plugin: 'dummy', props: { tag: 'app.web', dummy: '{"from":"web"}', rate: '100', samples: '10' } },
      { plugin: 'dummy', props: { tag: 'app.db', dummy: '{"from":"db"}', rate: '100', samples: '5' } },
      { plugin: 'dummy', props: { tag: 'sys.kernel', dummy: '{"from":"kernel"}', rate: '100', samples: '3' } },
    ],
    [
      ws(a, { match: 'app.*' }),
      ws(b, { match_regex: '^(app\\.db|sys\\..*)$' }),
      { plugin: 'null', props: { match: '*' } },
    ],
  );
  try {
    await waitFor(() => a.jsonRecords().length === 15 && b.jsonRecords().length === 8, 5000, 'routed records');
    // A window for copies too many: four flush intervals, in which any would have been sent.
    await sleep(200);
    const count = (server: TestServer, from: string) => server.jsonRecords().filter((r) => r['from'] === from).length;
    assert.deepEqual([count(a, 'web'), count(a, 'db'), count(a, 'kernel')], [10, 5, 0]);
    assert.deepEqual([count(b, 'web'), count(b, 'db'), count(b, 'kernel')], [0, 5, 3]);
    assert.equal(relay.engine.stats().outputs['null.0']!.records, 18);
  } finally {
    await relay.stop();
    await a.stop();
    await b.stop();
  }
});

test('a stalled output pauses only what routes to it; the other output keeps flowing', async () => {
  const fast = await TestServer.start();
  const dead = await TestServer.start();
  const deadPort = dead.port;
  await dead.stop();
  const relay = await startPipeline(
    [
      { plugin: 'dummy', props: { tag: 'slow', dummy: `{"pad":"${'x'.repeat(500)}"}`, rate: '2000' } },
      { plugin: 'dummy', props: { tag: 'quick', dummy: '{"ok":1}', rate: '200' } },
    ],
    [
      {
        plugin: 'websocket',
        props: {
          host: '127.0.0.1',
          port: String(deadPort),
          match: 'slow',
          mem_buf_limit: '64k',
          retry_limit: 'no_limits',
        },
      },
      {
        plugin: 'websocket',
        props: { host: '127.0.0.1', port: String(fast.port), match: 'quick', format: 'json_lines' },
      },
    ],
    // Grace 0: the stalled output's chunks can never be delivered, so a stop would wait all of Grace.
    { grace: '0' },
  );
  try {
    const stats = relay.engine.stats();
    await waitFor(() => stats.inputs['dummy.0']!.paused, 5000, 'the slow input paused');
    const before = fast.jsonRecords().length;
    await waitFor(() => fast.jsonRecords().length > before + 20, 5000, 'the quick route to go on delivering');
    assert.equal(stats.inputs['dummy.1']!.paused, false);
    assert.ok(fast.jsonRecords().length > before + 20, 'the quick route kept delivering');
    assert.ok(
      relay.engine.stats().buffers['websocket.0']!.bytes < 64 * 1024 + 40 * 1024,
      'the stalled buffer stayed bounded',
    );
  } finally {
    await relay.stop();
    await fast.stop();
  }
});

test('stdout output prints json_lines', async () => {
  const { StdoutOutput } = await import('../src/outputs/local/stdout-output.js');
  const printed: string[] = [];
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
    { onPressure: () => undefined, onMalformed: () => undefined },
    new Logger('warn', '', { write: () => undefined }),
    (text, done) => {
      printed.push(text.toString());
      done();
    },
  );
  const line = Buffer.from('{"a":1}\n{"b":2}\n');
  output.append(
    { input: 'tcp.0', tag: 't', peer: 'p', separator: '\n' },
    0,
    { sec: 1, nsec: 0 },
    line,
    0,
    line.length,
    2,
  );
  output.sealOpenChunk();
  assert.deepEqual(printed, ['{"a":1}\n{"b":2}\n']);
  assert.equal(output.stats.records, 2);
});

test('the route cache is bounded: a sender cycling tags (and sending megabyte tags) cannot grow it', async () => {
  const { Router, ROUTE_CACHE_TAGS } = await import('../src/engine/router.js');
  const router = new Router([
    { match: 'app.*', matchRegex: null },
    { match: null, matchRegex: '^sys\\.' },
  ]);
  for (let i = 0; i < 100_000; i++) {
    assert.equal(router.route(`app.${i}`).length, 1);
    assert.equal(router.route(`sys.${i}`).length, 1);
    assert.equal(router.route(`other.${i}`).length, 0);
    assert.ok(router.cached.tags <= ROUTE_CACHE_TAGS);
  }
  const long = 'x'.repeat(1 << 20);
  for (let i = 0; i < 50; i++) assert.equal(router.route(`app.${i}${long}`).length, 1);
  assert.ok(router.cached.chars <= ROUTE_CACHE_TAGS * 256, `${router.cached.chars} characters of tags held`);
  assert.equal(router.route('app.again').length, 1, 'routing is still right after the cache started over');
});
