// The http input (Fluentd in_http / Fluent Bit http): tags from paths, every body type, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pack } from 'msgpackr';
import { TestServer } from './support/test-server.js';
import { startPipeline, waitFor } from './support/relay.js';

async function post(
  port: number,
  path: string,
  body: string | Buffer,
  type: string,
): Promise<{ status: number; body: string; headers: Headers }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    body,
    headers: { 'content-type': type },
  });
  return { status: response.status, body: await response.text(), headers: response.headers };
}

test("the seed's curl example: form json= to /foo/bar arrives tagged foo.bar", async () => {
  const server = await TestServer.start();
  const relay = await startPipeline(
    [{ plugin: 'http', props: { listen: '127.0.0.1', port: '0' } }],
    [
      {
        plugin: 'websocket',
        props: { host: '127.0.0.1', port: String(server.port), format: 'json_lines', match: 'foo.*' },
      },
    ],
  );
  try {
    const reply = await post(
      relay.port,
      '/foo/bar',
      'json={"action":"login","user":6}',
      'application/x-www-form-urlencoded',
    );
    assert.equal(reply.status, 204);
    await waitFor(() => server.jsonRecords().length === 1, 5000, 'the record');
    const record = server.jsonRecords()[0]!;
    assert.equal(record['action'], 'login');
    assert.equal(record['user'], 6);
    assert.equal(typeof record['date'], 'number');
    // A tag that matches no output is accepted and discarded (Fluent Bit does the same).
    assert.equal((await post(relay.port, '/other', '{"a":1}', 'application/json')).status, 204);
  } finally {
    await relay.stop();
    await server.stop();
  }
});

test('JSON object and array, ndjson and msgpack bodies; 400 on a bad body; 413 over the limit; 405', async () => {
  const relay = await startPipeline(
    [{ plugin: 'http', props: { listen: '127.0.0.1', port: '0', buffer_max_size: '1k' } }],
    [{ plugin: 'null', props: { match: '*' } }],
  );
  try {
    assert.equal((await post(relay.port, '/a', '{"n":1}', 'application/json')).status, 204);
    assert.equal((await post(relay.port, '/a', '[{"n":2},{"n":3}]', 'application/json')).status, 204);
    assert.equal((await post(relay.port, '/a', '{"n":4}\n{"n":5}\n', 'application/x-ndjson')).status, 204);
    assert.equal((await post(relay.port, '/a', pack([{ n: 6 }, { n: 7 }]), 'application/msgpack')).status, 204);
    const bad = await post(relay.port, '/a', '{"n":', 'application/json');
    assert.equal(bad.status, 400);
    assert.match((JSON.parse(bad.body) as { error: string }).error, /invalid JSON/);
    const notObject = await post(relay.port, '/a', '[{"n":1}, 5]', 'application/json');
    assert.equal(notObject.status, 400, 'all or nothing: one bad record refuses the request');
    assert.equal((await post(relay.port, '/a', `{"big":"${'x'.repeat(2000)}"}`, 'application/json')).status, 413);
    const get = await fetch(`http://127.0.0.1:${relay.port}/a`);
    assert.equal(get.status, 405);
    await waitFor(() => relay.engine.stats().outputs['null.0']!.records === 7, 5000, '7 records');
    assert.equal(relay.engine.stats().inputs['http.0']!.records, 7);
    assert.equal(relay.engine.stats().inputs['http.0']!.malformed, 2);
  } finally {
    await relay.stop();
  }
});

test('NDJSON bodies are buffered as they are: CRLF, blank and non-canonical lines; a bad line refuses the body', async () => {
  const server = await TestServer.start();
  const relay = await startPipeline(
    [{ plugin: 'http', props: { listen: '127.0.0.1', port: '0' } }],
    [
      {
        plugin: 'websocket',
        props: { host: '127.0.0.1', port: String(server.port), format: 'json_lines', match: '*' },
      },
    ],
  );
  try {
    const lines = ['{"n":1,"s":"a"}', '', '{"n": 2.0, "u":"\\u0041"}', '{"n":3,"é":"ü"}'];
    assert.equal((await post(relay.port, '/nd', lines.join('\r\n'), 'application/x-ndjson')).status, 204);
    // A whitespace-only line goes the parsing way, which skips it.
    assert.equal((await post(relay.port, '/nd', '{"n":4}\n   \n{"n":5}\n', 'application/x-ndjson')).status, 204);
    const bad = await post(relay.port, '/nd', '{"n":6}\n{"n":\n', 'application/x-ndjson');
    assert.equal(bad.status, 400);
    assert.match((JSON.parse(bad.body) as { error: string }).error, /invalid JSON/);
    await waitFor(() => server.jsonRecords().length === 5, 5000, 'five records');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const records = server.jsonRecords();
    assert.deepEqual(
      records.map((r) => r['n']),
      [1, 2, 3, 4, 5],
      'nothing of the refused body',
    );
    assert.equal(records[1]!['u'], 'A');
    assert.equal(records[2]!['é'], 'ü');
    assert.ok(records.every((r) => typeof r['date'] === 'number'));
    const stats = relay.engine.stats();
    assert.equal(stats.inputs['http.0']!.records, 5);
    assert.equal(stats.inputs['http.0']!.malformed, 1);
    assert.equal(stats.outputs['websocket.0']!.records, 5);
  } finally {
    await relay.stop();
    await server.stop();
  }
});

test('503 with Retry-After while the output is over its buffer limit, and nothing acknowledged', async () => {
  const server = await TestServer.start();
  const port = server.port;
  await server.stop(); // the output cannot deliver: its buffer fills
  const relay = await startPipeline(
    [{ plugin: 'http', props: { listen: '127.0.0.1', port: '0' } }],
    [
      {
        plugin: 'websocket',
        props: { host: '127.0.0.1', port: String(port), match: '*', mem_buf_limit: '4k', retry_limit: 'no_limits' },
      },
    ],
    // Grace 0: with the server gone the buffer can never be delivered, so a stop would wait all of Grace.
    { grace: '0' },
  );
  try {
    const record = JSON.stringify({ pad: 'y'.repeat(1000) });
    let status = 204;
    let accepted = 0;
    for (let i = 0; i < 50 && status !== 503; i++) {
      const reply = await post(relay.port, '/t', record, 'application/json');
      status = reply.status;
      if (status === 204) accepted++;
      else assert.equal(reply.headers.get('retry-after'), '1');
    }
    assert.equal(status, 503);
    assert.equal(relay.engine.stats().inputs['http.0']!.records, accepted);
  } finally {
    await relay.stop();
  }
});

test('log_level debug: a line when a client connection is accepted and when it closes', async () => {
  const relay = await startPipeline(
    [{ plugin: 'http', props: { listen: '127.0.0.1', port: '0' } }],
    [{ plugin: 'null', props: { match: '*' } }],
    { log_level: 'debug' },
  );
  try {
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: relay.port,
          path: '/a',
          method: 'POST',
          agent: false,
          headers: { 'content-type': 'application/json', connection: 'close' },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end('{"n":1}');
    });
    assert.equal(status, 204);
    const debug = (pattern: RegExp): boolean => relay.logs.some((l) => pattern.test(l));
    await waitFor(
      () => debug(/\[debug\] \[input:http:http\.0\] connection from 127\.0\.0\.1:\d+ closed: \d+ bytes read\n$/),
      5000,
      'the close line',
    );
    assert.ok(
      debug(/\[debug\] \[input:http:http\.0\] connection from 127\.0\.0\.1:\d+ accepted\n$/),
      relay.logs.join(''),
    );
  } finally {
    await relay.stop();
  }
});

test('tag_key: each record goes under its own tag; more than MAX_TAGS_PER_REQUEST distinct tags is a 400', async () => {
  const { MAX_TAGS_PER_REQUEST } = await import('../src/inputs/http-body.js');
  const relay = await startPipeline(
    [{ plugin: 'http', props: { listen: '127.0.0.1', port: '0', tag_key: 't' } }],
    [
      { plugin: 'null', props: { match: 'a' } },
      { plugin: 'null', props: { match: 'b' } },
      { plugin: 'null', props: { match: 'req' } },
    ],
  );
  try {
    const body = JSON.stringify([
      { t: 'a', n: 1 },
      { t: 'b', n: 2 },
      { t: 'a', n: 3 },
      { n: 4 },
      { t: '', n: 5 },
      { t: 7, n: 6 },
    ]);
    assert.equal((await post(relay.port, '/req', body, 'application/json')).status, 204);
    const msgpack = pack([{ t: 'b', n: 7 }]);
    assert.equal((await post(relay.port, '/req', msgpack, 'application/msgpack')).status, 204);
    const outputs = relay.engine.stats().outputs;
    await waitFor(
      () => outputs['null.0']!.records + outputs['null.1']!.records + outputs['null.2']!.records === 7,
      5000,
      '7 records',
    );
    assert.deepEqual(
      [outputs['null.0']!.records, outputs['null.1']!.records, outputs['null.2']!.records],
      [2, 2, 3],
      'a: two, b: two, and the ones without a string tag under the path',
    );
    const many = JSON.stringify(Array.from({ length: MAX_TAGS_PER_REQUEST + 1 }, (_, i) => ({ t: `t${i}` })));
    const refused = await post(relay.port, '/req', many, 'application/json');
    assert.equal(refused.status, 400);
    assert.match((JSON.parse(refused.body) as { error: string }).error, /more than 1024 distinct tags/);
    const enough = JSON.stringify(Array.from({ length: MAX_TAGS_PER_REQUEST }, (_, i) => ({ t: `t${i}` })));
    assert.equal((await post(relay.port, '/req', enough, 'application/json')).status, 204);
  } finally {
    await relay.stop();
  }
});
