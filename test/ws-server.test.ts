// websocket_server: the message shape fluent-plugin-websocket's client samples decode, access
// control answered before any upgrade, typed filters, no_clients drops and the config rules.
// Real relays on 127.0.0.1 with ephemeral ports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { decode } from '@msgpack/msgpack';
import { resolvePipeline } from '../src/config/resolve.js';
import type { WebSocketServerOutputConfig } from '../src/config/types.js';
import type { RawProperty } from '../src/config/raw.js';
import { Engine } from '../src/engine/engine.js';
import type { HttpInput } from '../src/inputs/http-input.js';
import { Logger } from '../src/log.js';
import { createMetricsRegistry } from '../src/metrics/registry.js';
import { FeedClient, startFeedRelay, tryUpgrade } from './support/feed.js';
import { sendLines, sleep, waitFor } from './support/relay.js';

const at = { file: 'test', line: 1 };
const props = (entries: Record<string, string>): RawProperty[] =>
  Object.entries(entries).map(([key, value]) => ({ key, value, at }));

function resolveServer(entries: Record<string, string>): WebSocketServerOutputConfig {
  const { config } = resolvePipeline({
    service: { kind: 'service', plugin: '', at, properties: [] },
    inputs: [{ kind: 'input', plugin: 'tcp', at, properties: [] }],
    outputs: [{ kind: 'output', plugin: 'websocket_server', at, properties: props(entries) }],
  });
  return config.outputs[0] as WebSocketServerOutputConfig;
}

function httpGet(
  port: number,
  path: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (p: Buffer) => parts.push(p));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString() }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

test('defaults follow fluent-plugin-websocket (host 0.0.0.0, port 8080, add_tag on, add_time off)', () => {
  const c = resolveServer({});
  assert.equal(c.listen, '0.0.0.0');
  assert.equal(c.port, 8080);
  assert.deepEqual(c.paths, ['/']);
  assert.equal(c.useMsgpack, false);
  assert.equal(c.addTag, true);
  assert.equal(c.addTime, false);
  assert.equal(c.bufferedMessages, 0);
  assert.equal(c.token, null);
  assert.equal(c.format, 'message');
  assert.equal(c.slowClientPolicy, 'close');
  assert.equal(resolveServer({ host: '127.0.0.2' }).listen, '127.0.0.2');
  assert.deepEqual(resolveServer({ Path: '/a, /b' }).paths, ['/a', '/b']);
  assert.equal(resolveServer({ allowed_origins: '*' }).allowedOrigins, null);
  assert.deepEqual(resolveServer({ allowed_origins: 'https://A.example,http://b:3000' }).allowedOrigins, [
    'https://a.example',
    'http://b:3000',
  ]);
});

test('config mistakes stop the relay at start-up with the key', () => {
  assert.throws(() => resolveServer({ tls: 'on' }), /tls\.crt_file and tls\.key_file/);
  assert.throws(() => resolveServer({ format: 'json_lines', use_msgpack: 'on' }), /json_lines/);
  assert.throws(() => resolveServer({ path: 'feed' }), /property 'path'/);
  assert.throws(() => resolveServer({ allowed_origins: 'example.com/x' }), /allowed_origins/);
  assert.throws(() => resolveServer({ slow_client_policy: 'wait' }), /close\|drop_oldest/);
});

test('JSON text frames decode as the JSON client sample does: ["foo.bar",time,{"action":"login","user":6}]', async () => {
  const relay = await startFeedRelay({ add_time: 'on' });
  try {
    const client = await FeedClient.open(`${relay.base}/`);
    const before = Math.floor(Date.now() / 1000);
    await sendLines(relay.port, ['{"action":"login","user":6}']);
    await waitFor(() => client.frames.length === 1, 5000, 'one frame');
    const frame = client.frames[0]!;
    assert.equal(frame.binary, false, 'JSON goes in TEXT frames');
    // The sample: data = JSON.parse(evt.data)
    const data = JSON.parse(frame.data.toString('utf8')) as unknown[];
    assert.equal(data.length, 3);
    assert.equal(data[0], 'foo.bar');
    assert.ok(Number.isInteger(data[1]), 'time is integer seconds, as Fluentd serializes EventTime');
    assert.ok(Math.abs((data[1] as number) - before) <= 2);
    assert.deepEqual(data[2], { action: 'login', user: 6 });
    assert.equal(frame.data.toString('utf8'), `["foo.bar",${data[1] as number},{"action":"login","user":6}]`);
    await client.close();
  } finally {
    await relay.stop();
  }
});

test('msgpack BINARY frames decode as the msgpack.js sample does (msgpack.unpack(new Uint8Array(evt.data)))', async () => {
  const relay = await startFeedRelay({ use_msgpack: 'on', add_time: 'on' });
  try {
    const client = await FeedClient.open(`${relay.base}/`);
    await sendLines(relay.port, ['{"action":"login","user":6,"big":1795421327196,"s":"é"}']);
    await waitFor(() => client.frames.length === 1, 5000, 'one frame');
    const frame = client.frames[0]!;
    assert.equal(frame.binary, true, 'msgpack goes in BINARY frames');
    const data = decode(new Uint8Array(frame.data)) as unknown[];
    assert.equal(data[0], 'foo.bar');
    assert.ok(Number.isInteger(data[1]));
    assert.deepEqual(data[2], { action: 'login', user: 6, big: 1795421327196, s: 'é' });
    await client.close();
  } finally {
    await relay.stop();
  }
});

test('the seed example end to end: curl -d json=... http://host/foo/bar reaches clients as ["foo.bar",t,{...}]', async () => {
  const relay = await startFeedRelay({ add_time: 'on' }, {}, [
    { plugin: 'http', props: { listen: '127.0.0.1', port: '0' } },
  ]);
  try {
    const client = await FeedClient.open(`${relay.base}/`);
    const httpPort = (relay.engine.inputs[1] as HttpInput).port;
    await new Promise<void>((resolve, reject) => {
      const body = 'json={"action":"login","user":6}';
      const req = request(
        {
          host: '127.0.0.1',
          port: httpPort,
          path: '/foo/bar',
          method: 'POST',
          agent: false,
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve());
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    await waitFor(() => client.frames.length === 1, 5000, 'one frame');
    assert.match(client.frames[0]!.data.toString(), /^\["foo\.bar",\d+,\{"action":"login","user":6\}\]$/);
    await client.close();
  } finally {
    await relay.stop();
  }
});

test('add_tag off and add_time off leave [record]; both on give [tag, time, record]', async () => {
  const relay = await startFeedRelay({ add_tag: 'off' });
  try {
    const client = await FeedClient.open(`${relay.base}/`);
    await sendLines(relay.port, ['{"a":1}']);
    await waitFor(() => client.frames.length === 1, 5000, 'one frame');
    assert.equal(client.frames[0]!.data.toString(), '[{"a":1}]');
    await client.close();
  } finally {
    await relay.stop();
  }
});

test('token: accepted as ?token= and as Authorization: Bearer; refused with HTTP 401 before any upgrade', async () => {
  const relay = await startFeedRelay({ token: 's3cret-Token' });
  const port = relay.output.port;
  try {
    for (const [path, headers] of [
      ['/', {}],
      ['/?token=wrong', {}],
      ['/?token=s3cret-Toke', {}],
      ['/', { Authorization: 'Bearer nope' }],
      ['/?token=', {}],
    ] as const) {
      const answer = await tryUpgrade(port, path, headers);
      assert.equal(answer.status, 401, `${path} ${JSON.stringify(headers)}`);
      assert.equal(answer.upgraded, false, 'no upgrade happened');
      assert.equal(answer.headers['www-authenticate'], 'Bearer');
    }
    assert.equal(relay.output.clientCount, 0);
    assert.equal(relay.output.stats.handshakesFailed, 5);
    // A ws client sees the refusal as an HTTP error, never as an open socket.
    await assert.rejects(FeedClient.open(`${relay.base}/?token=wrong`), /HTTP 401/);

    const byQuery = await FeedClient.open(`${relay.base}/?token=s3cret-Token`);
    const byHeader = await FeedClient.open(`${relay.base}/`, { headers: { Authorization: 'Bearer s3cret-Token' } });
    assert.equal(relay.output.clientCount, 2);
    await sendLines(relay.port, ['{"a":1}']);
    await waitFor(() => byQuery.frames.length === 1 && byHeader.frames.length === 1, 5000, 'both receive');
    // `token` is not a filter: the record has no `token` field and still arrived.
    assert.deepEqual(byQuery.json(), [['foo.bar', { a: 1 }]]);
    await byQuery.close();
    await byHeader.close();
  } finally {
    await relay.stop();
  }
});

test('unknown path 404, foreign Origin 403, max_clients 503 — all before the upgrade; GET on a feed path 426', async () => {
  const relay = await startFeedRelay({ path: '/feed,/logs', allowed_origins: 'https://ok.example', max_clients: '2' });
  const port = relay.output.port;
  try {
    assert.equal((await tryUpgrade(port, '/other')).status, 404);
    const foreign = await tryUpgrade(port, '/feed', { Origin: 'https://evil.example' });
    assert.deepEqual([foreign.status, foreign.upgraded], [403, false]);
    const a = await FeedClient.open(`${relay.base}/feed`, { headers: { Origin: 'https://ok.example' } });
    const b = await FeedClient.open(`${relay.base}/logs`); // no Origin: not a browser
    const full = await tryUpgrade(port, '/feed');
    assert.deepEqual([full.status, full.upgraded], [503, false]);
    assert.equal((await httpGet(port, '/feed')).status, 426);
    await sendLines(relay.port, ['{"x":1}']);
    await waitFor(() => a.frames.length === 1 && b.frames.length === 1, 5000, 'both paths receive');
    await a.close();
    await b.close();
  } finally {
    await relay.stop();
  }
});

test('GET / serves the live-tail page with a strict Content-Security-Policy; live_tail off leaves no page', async () => {
  const relay = await startFeedRelay({});
  try {
    const page = await httpGet(relay.output.port, '/');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(String(page.headers['content-security-policy']), /script-src 'sha256-/);
    assert.match(page.body, /wsrelay live tail/);
  } finally {
    await relay.stop();
  }
  const off = await startFeedRelay({ live_tail: 'off' });
  try {
    // `/` is still the feed's path: a plain GET there is told to upgrade.
    assert.equal((await httpGet(off.output.port, '/')).status, 426);
  } finally {
    await off.stop();
  }
});

test('filters: numbers as numbers, strings as strings, with add_time on and add_tag off', async () => {
  const relay = await startFeedRelay({ add_time: 'on', add_tag: 'off' });
  const records = [
    { n: 0, user: 6, name: 'bob' },
    { n: 1, user: '6', name: 'alice' },
    { n: 2, user: 7, name: 'bob', level: 'warn' },
    { n: 3, user: 6.0, level: 'error', ok: true },
    { n: 4, user: '06', code: null },
    { n: 5, nested: { user: 6 } },
  ];
  const cases: Array<[string, number[]]> = [
    ['user=6', [0, 1, 3]],
    ['user=6.0', [0, 3]],
    ['user=06', [0, 3, 4]],
    ['name=bob', [0, 2]],
    ['name=bob&user=7', [2]],
    ['level=warn&level=error', [2, 3]],
    ['ok=true', [3]],
    ['code=null', [4]],
    ['missing=1', []],
    ['user=6e0', [0, 3]],
  ];
  try {
    const clients = await Promise.all(cases.map(([query]) => FeedClient.open(`${relay.base}/?${query}`)));
    const everyone = await FeedClient.open(`${relay.base}/`);
    await sendLines(
      relay.port,
      records.map((r) => JSON.stringify(r)),
    );
    await waitFor(() => everyone.frames.length === records.length, 5000, 'the unfiltered client');
    await sleep(200);
    cases.forEach(([query, expected], i) => {
      const got = clients[i]!.json() as unknown[][];
      for (const message of got) {
        assert.equal(message.length, 2, 'add_tag off, add_time on: [time, record]');
        assert.ok(Number.isInteger(message[0]));
      }
      assert.deepEqual(
        got.map((m) => (m[1] as { n: number }).n),
        expected,
        query,
      );
    });
    await Promise.all([...clients, everyone].map((c) => c.close()));
  } finally {
    await relay.stop();
  }
});

test('with no client connected, records are discarded and counted as dropped (reason no_clients)', async () => {
  const relay = await startFeedRelay({});
  try {
    await sendLines(relay.port, ['{"a":1}', '{"a":2}', '{"a":3}']);
    await waitFor(() => relay.output.stats.dropped.no_clients === 3, 5000, 'no_clients drops');
    assert.equal(relay.output.stats.records, 0);
    const registry = createMetricsRegistry({ stats: () => relay.engine.stats(), inputsListening: () => true });
    const text = await registry.metrics();
    assert.match(text, /wsrelay_output_dropped_records_total\{output="websocket_server\.0",reason="no_clients"\} 3/);
    assert.match(text, /wsrelay_output_dropped_records_total\{output="websocket_server\.0",reason="slow_client"\} 0/);
  } finally {
    await relay.stop();
  }
});

test('a port already in use stops start-up with a clear error instead of crashing later', async () => {
  const first = await startFeedRelay({});
  try {
    const { config } = resolvePipeline({
      service: { kind: 'service', plugin: '', at, properties: props({ log_level: 'off' }) },
      inputs: [{ kind: 'input', plugin: 'tcp', at, properties: props({ listen: '127.0.0.1', port: '0' }) }],
      outputs: [
        {
          kind: 'output',
          plugin: 'websocket_server',
          at,
          properties: props({ listen: '127.0.0.1', port: String(first.output.port) }),
        },
      ],
    });
    const engine = new Engine(config, new Logger('off', '', { write: () => undefined }));
    await assert.rejects(engine.start(), /websocket_server.*address already in use/);
  } finally {
    await first.stop();
  }
});
