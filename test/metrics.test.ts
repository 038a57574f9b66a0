// The exporter and probes against a real relay: real TCP in, real worker threads, a real ws
// server, and real HTTP scrapes on 127.0.0.1. Counts after known traffic must be exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { Logger } from '../src/log.js';
import type { Engine } from '../src/engine/engine.js';
import type { MetricsSource } from '../src/engine/stats.js';
import { readiness, readinessWindowSeconds, startMetricsServer, type MetricsServer } from '../src/metrics/server.js';
import { parseExposition, sampleNames, sampleValue, type Family } from './support/prom-parse.js';
import { histogramValues, pausedSeconds } from '../src/metrics/registry.js';
import { Histogram, newInputStats } from '../src/engine/stats.js';
import { newWebSocketOutputStats, type WebSocketOutputStats } from '../src/outputs/websocket/main/stats.js';
import { websocketStats } from './support/output-stats.js';
import { TestServer } from './support/test-server.js';
import { sendLines, sleep, startRelay, waitFor, type TestRelay } from './support/relay.js';

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function http(port: number, path: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function scrape(port: number, path = '/metrics'): Promise<Map<string, Family>> {
  const reply = await http(port, path);
  assert.equal(reply.status, 200, reply.body);
  assert.match(String(reply.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return parseExposition(reply.body);
}

function line(seq: number): string {
  return `{"seq":${seq},"msg":"record number ${seq}"}`;
}

function lines(from: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => line(from + i));
}

function adapter(engine: Engine): MetricsSource {
  return { stats: () => engine.stats(), inputsListening: () => true };
}

const quiet = (): Logger => new Logger('warn', '', { write: () => undefined });

/** A relay, a ws server and a metrics server, torn down in reverse order. */
async function withRelay(
  output: Record<string, string>,
  readyWindowSeconds: number,
  body: (ctx: { server: TestServer; relay: TestRelay; metrics: MetricsServer }) => Promise<void>,
): Promise<void> {
  const server = await TestServer.start();
  const relay = await startRelay(server.port, output);
  const metrics = await startMetricsServer(
    { listen: '127.0.0.1', port: 0, readyWindowSeconds },
    adapter(relay.engine),
    quiet(),
  );
  try {
    await body({ server, relay, metrics });
  } finally {
    await metrics.close();
    await relay.stop();
    await server.stop();
  }
}

const out = { output: 'websocket.0' };
const inp = { input: 'tcp.0' };

test('after N records over real TCP the counters say exactly N', async () => {
  await withRelay({}, 30, async ({ relay, metrics }) => {
    const total = 1000;
    const sent = lines(0, total);
    await sendLines(relay.port, sent, 4);
    await waitFor(() => relay.engine.stats().outputs['websocket.0']!.records === total, 10_000, 'delivery');
    const m = await scrape(metrics.port);
    assert.equal(sampleValue(m, 'wsrelay_output_records_total', out), total);
    assert.equal(sampleValue(m, 'wsrelay_input_records_total', inp), total);
    assert.equal(
      sampleValue(m, 'wsrelay_input_bytes_total', inp),
      sent.reduce((n, l) => n + l.length + 1, 0),
    );
    const flushes = sampleValue(m, 'wsrelay_output_flushes_total', { ...out, result: 'success' });
    assert.ok(flushes >= 1);
    assert.equal(sampleValue(m, 'wsrelay_output_flushes_total', { ...out, result: 'failure' }), 0);
    assert.equal(sampleValue(m, 'wsrelay_output_handshakes_total', { ...out, result: 'success' }), 1);
    assert.equal(sampleValue(m, 'wsrelay_output_connections', out), 1);
    for (const reason of ['retry_limit', 'shutdown', 'worker_crash']) {
      assert.equal(sampleValue(m, 'wsrelay_output_dropped_records_total', { ...out, reason }), 0);
    }
    // The histograms agree with the counters: one observation per flushed chunk.
    assert.equal(sampleValue(m, 'wsrelay_output_flush_seconds_count', out), flushes);
    assert.equal(sampleValue(m, 'wsrelay_output_chunk_records_count', out), flushes);
    assert.equal(sampleValue(m, 'wsrelay_output_chunk_records_sum', out), total);
    assert.equal(
      sampleValue(m, 'wsrelay_output_chunk_bytes_sum', out),
      sampleValue(m, 'wsrelay_output_bytes_total', out),
    );
    assert.equal(sampleValue(m, 'wsrelay_input_paused', inp), 0);
    assert.equal(m.get('wsrelay_output_records_total')!.type, 'counter');
    assert.equal(m.get('wsrelay_output_connections')!.type, 'gauge');
    assert.equal(m.get('wsrelay_output_flush_seconds')!.type, 'histogram');
    assert.equal(sampleValue(m, 'wsrelay_build_info', { version: '0.1.0' }), 1);
    assert.ok(m.has('process_resident_memory_bytes'), 'default process metrics');
    // Fluent Bit's paths serve the same exposition.
    for (const path of ['/api/v1/metrics/prometheus', '/api/v2/metrics/prometheus']) {
      assert.equal(sampleValue(await scrape(metrics.port, path), 'wsrelay_output_records_total', out), total);
    }
  });
});

test('a server restart shows a failed flush, a retry and a second handshake', async () => {
  await withRelay({ retry_limit: 'no_limits' }, 30, async ({ server, relay, metrics }) => {
    const stats = websocketStats(relay.engine);
    await sendLines(relay.port, lines(0, 100));
    await waitFor(() => stats.records === 100, 10_000, 'first delivery');
    await server.stop();
    await waitFor(() => stats.connectionsOpen === 0, 5000, 'the relay to see the outage');
    await sendLines(relay.port, lines(100, 100));
    await waitFor(() => stats.chunksFailed >= 1, 10_000, 'a failed flush during the outage');
    await server.listen();
    await waitFor(() => stats.records === 200, 20_000, 'delivery after the restart');
    const m = await scrape(metrics.port);
    assert.ok(sampleValue(m, 'wsrelay_output_flushes_total', { ...out, result: 'failure' }) >= 1);
    // The server went away: attempts fail as a closed connection (1006) or, while it is down, a
    // refused one; each retry carries the reason of the failure it follows.
    const byReason = (name: string): Map<string, number> =>
      new Map(
        m
          .get(name)!
          .samples.filter((sample) => sample.labels.output === out.output)
          .map((sample) => [sample.labels.reason!, sample.value]),
      );
    const failures = byReason('wsrelay_output_flush_failures_total');
    const retries = byReason('wsrelay_output_retries_total');
    assert.ok(
      [...failures.keys()].every((reason) => reason === 'closed_1006' || reason === 'refused'),
      [...failures.keys()].join(),
    );
    assert.equal(
      [...failures.values()].reduce((a, b) => a + b, 0),
      sampleValue(m, 'wsrelay_output_flushes_total', { ...out, result: 'failure' }),
    );
    assert.ok([...retries.values()].reduce((a, b) => a + b, 0) >= 1);
    assert.ok(
      sampleValue(m, 'wsrelay_output_handshake_failures_total', { ...out, reason: 'refused' }) >= 1,
      'reconnects during the outage were refused',
    );
    assert.equal(sampleValue(m, 'wsrelay_output_handshakes_total', { ...out, result: 'success' }), 2);
    assert.ok(sampleValue(m, 'wsrelay_output_connection_closes_total', out) >= 1);
    assert.equal(sampleValue(m, 'wsrelay_output_records_total', out), 200);
    assert.equal(sampleValue(m, 'wsrelay_output_retries_failed_total', out), 0);
    assert.equal(sampleValue(m, 'wsrelay_output_dropped_records_total', { ...out, reason: 'retry_limit' }), 0);
  });
});

test('per worker: records add up to N, each connection is a gauge, a killed thread reads 0', async () => {
  await withRelay({ workers: '2', retry_limit: 'no_limits' }, 30, async ({ server, relay, metrics }) => {
    const stats = websocketStats(relay.engine);
    await waitFor(() => stats.connectionsOpen === 2, 10_000, 'both connections');
    const total = 3000;
    await sendLines(relay.port, lines(0, total), 4);
    await waitFor(() => stats.records === total, 10_000, 'delivery');
    let m = await scrape(metrics.port);
    const workers = ['0', '1'];
    const perWorker = (name: string, worker: string, extra: Record<string, string> = {}): number =>
      sampleValue(m, name, { ...out, worker, ...extra });
    assert.equal(
      workers.reduce((n, w) => n + perWorker('wsrelay_output_worker_records_total', w), 0),
      total,
    );
    assert.equal(
      workers.reduce((n, w) => n + perWorker('wsrelay_output_worker_flushes_total', w, { result: 'success' }), 0),
      sampleValue(m, 'wsrelay_output_flushes_total', { ...out, result: 'success' }),
    );
    for (const w of workers) {
      assert.equal(perWorker('wsrelay_output_worker_connected', w), 1, `worker ${w} connected`);
      assert.equal(perWorker('wsrelay_output_worker_handshakes_total', w, { result: 'success' }), 1);
    }
    assert.equal(m.get('wsrelay_output_worker_connected')!.type, 'gauge');

    // A thread that dies never reports its close: the pool does it for it, and its replacement
    // numbers itself #2.
    const pool = (
      relay.engine.outputs[0] as unknown as { pool: { threads: ReadonlyArray<{ terminate(): Promise<number> }> } }
    ).pool;
    await pool.threads[0]!.terminate();
    await waitFor(() => stats.workers['2']?.connected === true, 10_000, "the replacement thread's connection");
    m = await scrape(metrics.port);
    assert.deepEqual(workers.map((w) => perWorker('wsrelay_output_worker_connected', w)).sort(), [0, 1]);
    assert.equal(perWorker('wsrelay_output_worker_connected', '2'), 1);
    assert.equal(sampleValue(m, 'wsrelay_output_connections', out), 2);

    await server.stop();
    await waitFor(() => stats.connectionsOpen === 0, 5000, 'the relay to see the outage');
    m = await scrape(metrics.port);
    for (const w of ['0', '1', '2']) assert.equal(perWorker('wsrelay_output_worker_connected', w), 0);
  });
});

test('/readyz turns 503 when the server is down past the window, and 200 when it returns', async () => {
  await withRelay({ retry_limit: 'no_limits' }, 0.5, async ({ server, relay, metrics }) => {
    await waitFor(() => websocketStats(relay.engine).connectionsOpen === 1, 5000, 'a connection');
    assert.equal((await http(metrics.port, '/readyz')).status, 200);
    await server.stop();
    const down = await readyzUntil(metrics.port, (status) => status !== 200, 10_000, 'not ready past the window');
    assert.equal(down.status, 503);
    const body = JSON.parse(down.body) as { reasons: Array<{ output?: string; reason: string }> };
    assert.equal(body.reasons[0]?.output, 'websocket.0');
    assert.match(body.reasons[0]!.reason, /handshakes failing for/);
    assert.equal((await http(metrics.port, '/healthz')).status, 200, 'alive while not ready');
    await server.listen();
    await readyzUntil(
      metrics.port,
      (status) => status === 200,
      15_000,
      '/readyz back to 200 after the server returned',
    );
  });
});

/** /readyz's status, asked every 50 ms until `predicate` holds for it (or the timeout). */
async function readyzUntil(
  port: number,
  predicate: (status: number) => boolean,
  timeoutMs: number,
  what: string,
): Promise<Reply> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reply = await http(port, '/readyz');
    if (predicate(reply.status)) return reply;
    assert.ok(
      Date.now() < deadline,
      `timed out after ${timeoutMs} ms waiting for ${what}: ${reply.status} ${reply.body}`,
    );
    await sleep(50);
  }
}

test('/readyz: an idle connection closed on purpose stays ready; a failing server is not; its return is', async () => {
  const window = 0.4;
  // ping_timeout 1: the worker checks for idle connections every quarter of it, not every second.
  await withRelay(
    { 'net.keepalive_idle_timeout': '0.2', ping_timeout: '1', retry_limit: 'no_limits' },
    window,
    async ({ server, relay, metrics }) => {
      const stats = websocketStats(relay.engine);
      await sendLines(relay.port, lines(0, 10));
      await waitFor(() => stats.records === 10, 10_000, 'delivery');
      // The relay closes the idle connection itself (close frame 1000, "idle"): nothing failed.
      await waitFor(() => server.closeCodes.includes(1000) && stats.connectionsOpen === 0, 10_000, 'the idle close');
      const closedAt = performance.now();
      // Asked throughout twice the window after the close: ready every time.
      while (performance.now() - closedAt < 2 * window * 1000) {
        const reply = await http(metrics.port, '/readyz');
        assert.equal(
          reply.status,
          200,
          `idle for ${((performance.now() - closedAt) / 1000).toFixed(2)} s: ${reply.body}`,
        );
        await sleep(50);
      }
      assert.equal(stats.connectionsOpen, 0, 'still no connection: ready without one');

      // The server goes away and the next record's handshake fails: not ready past the window.
      await server.stop();
      await sendLines(relay.port, lines(10, 5));
      await waitFor(() => stats.handshakesFailed >= 1, 10_000, 'a failed handshake');
      const failedAt = performance.now();
      const down = await readyzUntil(metrics.port, (status) => status === 503, 10_000, 'not ready');
      assert.ok(performance.now() - failedAt >= window * 1000 - 50, 'not ready only after the window');
      const body = JSON.parse(down.body) as { reasons: Array<{ output?: string; reason: string }> };
      assert.equal(body.reasons[0]?.output, 'websocket.0');
      assert.match(body.reasons[0]!.reason, /handshakes? failing for \d+\.\d s \(window 0\.4 s\): .*ECONNREFUSED/);

      // Back: the worker's reconnect succeeds and the relay is ready again, records delivered.
      await server.listen();
      await readyzUntil(metrics.port, (status) => status === 200, 15_000, 'ready again');
      await waitFor(() => stats.records === 15, 15_000, 'delivery after the return');
    },
  );
});

test('/readyz: a handshake that hangs until Connect_Timeout counts from when it was tried', async () => {
  // A TCP server that accepts and never answers the upgrade request.
  const { createServer } = await import('node:net');
  const sockets = new Set<import('node:net').Socket>();
  const silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const port = (silent.address() as { port: number }).port;
  const relay = await startRelay(port, { 'net.connect_timeout': '0.5', retry_limit: 'no_limits' });
  const metrics = await startMetricsServer(
    { listen: '127.0.0.1', port: 0, readyWindowSeconds: 0.4 },
    adapter(relay.engine),
    quiet(),
  );
  try {
    const stats = websocketStats(relay.engine);
    assert.equal((await http(metrics.port, '/readyz')).status, 200, 'nothing has failed yet');
    await waitFor(() => stats.handshakesFailed >= 1, 10_000, 'the handshake timeout');
    // The attempt began half a second ago: the window has passed already.
    const reply = await http(metrics.port, '/readyz');
    assert.equal(reply.status, 503, reply.body);
    assert.match(reply.body, /handshakes failing for (0\.[5-9]|1\.\d) s/);
  } finally {
    await metrics.close();
    await relay.stop();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  }
});

test('readiness(): open connection, no failure, failures within and past the window', () => {
  const base = { ...newWebSocketOutputStats() };
  const source = (o: Partial<WebSocketOutputStats>): MetricsSource => ({
    stats: () => ({ inputs: {}, outputs: { 'websocket.0': { ...base, ...o } }, buffers: {} }),
    inputsListening: () => true,
  });
  const now = 100_000;
  assert.equal(readiness(source({}), 11, now).ready, true, 'nothing failed');
  assert.equal(
    readiness(source({ failingSince: now - 10_000, lastFailure: 'x' }), 11, now).ready,
    true,
    'within the window',
  );
  const past = readiness(source({ failingSince: now - 12_000, lastFailure: 'connect ECONNREFUSED' }), 11, now);
  assert.deepEqual(past.reasons, [
    { output: 'websocket.0', reason: 'handshakes failing for 12.0 s (window 11 s): connect ECONNREFUSED' },
  ]);
  assert.equal(
    readiness(source({ failingSince: now - 12_000, connectionsOpen: 1 }), 11, now).ready,
    true,
    'another worker is connected',
  );
  assert.equal(readinessWindowSeconds(5), 11);
  // docs/METRICS.md states the default window.
  const doc = readFileSync(new URL('../../docs/METRICS.md', import.meta.url), 'utf8');
  assert.match(doc, new RegExp(`window ${readinessWindowSeconds(5)} s`));
  assert.doesNotMatch(doc, /no open connection for/);
});

test('routes: 404 on a bad path, 405 on POST, HEAD, health, uptime, index', async () => {
  const source: MetricsSource = {
    stats: () => ({ inputs: {}, outputs: {}, buffers: {} }),
    inputsListening: () => false,
  };
  const logs: string[] = [];
  const metrics = await startMetricsServer(
    { listen: '127.0.0.1', port: 0, readyWindowSeconds: 1 },
    source,
    new Logger('info', '', {
      write: (l) => {
        logs.push(l);
      },
    }),
  );
  try {
    assert.ok(
      logs.some((l) => l.includes(`[ info] [http_server] listening on 127.0.0.1:${metrics.port}`)),
      logs.join(''),
    );
    const missing = await http(metrics.port, '/nope?x=1');
    assert.equal(missing.status, 404);
    assert.equal((JSON.parse(missing.body) as { error: string }).error, 'not found');
    const post = await http(metrics.port, '/metrics', 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers['allow'], 'GET, HEAD');
    const head = await http(metrics.port, '/metrics', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.deepEqual(JSON.parse((await http(metrics.port, '/healthz')).body), { status: 'ok' });
    const notReady = await http(metrics.port, '/readyz');
    assert.equal(notReady.status, 503);
    assert.match(notReady.body, /inputs are not listening/);
    const uptime = JSON.parse((await http(metrics.port, '/api/v1/uptime')).body) as {
      uptime_sec: number;
      uptime_hr: string;
    };
    assert.ok(Number.isInteger(uptime.uptime_sec));
    assert.match(uptime.uptime_hr, /^wsrelay has been running: \d+ day, \d+ hour, \d+ minute and \d+ seconds$/);
    assert.ok('/metrics' in (JSON.parse((await http(metrics.port, '/')).body) as { endpoints: object }).endpoints);
    // Garbage instead of HTTP gets a 400 and the server carries on.
    const garbage = await new Promise<string>((resolve) => {
      const socket = connect(metrics.port, '127.0.0.1', () => socket.write('NOT HTTP AT ALL\r\n\r\n'));
      let text = '';
      socket.on('data', (d: Buffer) => {
        text += d.toString();
      });
      socket.on('close', () => resolve(text));
      socket.on('error', () => resolve(text));
    });
    assert.match(garbage, /^HTTP\/1\.1 400/);
    assert.equal((await http(metrics.port, '/healthz')).status, 200);
  } finally {
    await metrics.close();
  }
});

test('a failure while collecting is a 500, not a crash', async () => {
  const source: MetricsSource = {
    stats: () => {
      throw new Error('stats unavailable');
    },
    inputsListening: () => true,
  };
  const metrics = await startMetricsServer({ listen: '127.0.0.1', port: 0, readyWindowSeconds: 1 }, source, quiet());
  try {
    const reply = await http(metrics.port, '/metrics');
    assert.equal(reply.status, 500);
    assert.match(reply.body, /stats unavailable/);
    assert.equal((await http(metrics.port, '/readyz')).status, 500);
    assert.equal((await http(metrics.port, '/healthz')).status, 200);
  } finally {
    await metrics.close();
  }
});

test('a port in use is a clear error', async () => {
  const source: MetricsSource = {
    stats: () => ({ inputs: {}, outputs: {}, buffers: {} }),
    inputsListening: () => true,
  };
  const first = await startMetricsServer({ listen: '127.0.0.1', port: 0, readyWindowSeconds: 1 }, source, quiet());
  try {
    await assert.rejects(
      startMetricsServer({ listen: '127.0.0.1', port: first.port, readyWindowSeconds: 1 }, source, quiet()),
      new RegExp(`^Error: cannot listen on 127\\.0\\.0\\.1:${first.port}: address already in use$`),
    );
  } finally {
    await first.close();
  }
});

test('20 concurrent scrapes during a load of 50,000 records all succeed', async (t) => {
  await withRelay({}, 30, async ({ relay, metrics }) => {
    const total = 50_000;
    // Paced over ~0.5 s on 2 connections so the scrapes land in the middle of the load.
    const sending = Promise.all(
      [0, 1].map(async (part) => {
        for (let batch = part; batch < 50; batch += 2) {
          await sendLines(relay.port, lines(batch * 1000, 1000));
          await sleep(10);
        }
      }),
    );
    await waitFor(() => relay.engine.stats().inputs['tcp.0']!.records > 0, 10_000, 'the load to start');
    const replies = await Promise.all(Array.from({ length: 20 }, () => http(metrics.port, '/metrics')));
    const seen = replies.map((reply) => {
      assert.equal(reply.status, 200);
      return sampleValue(parseExposition(reply.body), 'wsrelay_input_records_total', inp);
    });
    t.diagnostic(`input records seen by the scrapes: ${Math.min(...seen)}..${Math.max(...seen)} of ${total}`);
    await sending;
    await waitFor(() => relay.engine.stats().outputs['websocket.0']!.records === total, 30_000, 'delivery');
    const m = await scrape(metrics.port);
    assert.equal(sampleValue(m, 'wsrelay_output_records_total', out), total);
    assert.equal(sampleValue(m, 'wsrelay_input_records_total', inp), total);
  });
});

test('the Grafana dashboard parses and uses only metrics the exporter exposes', async () => {
  const dashboard = JSON.parse(
    readFileSync(new URL('../../examples/grafana-dashboard.json', import.meta.url), 'utf8'),
  ) as {
    schemaVersion: number;
    panels: Array<{ targets?: Array<{ expr: string }> }>;
    templating: { list: Array<{ query?: string | { query: string } }> };
  };
  assert.ok(dashboard.schemaVersion >= 36);
  const exprs = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((t) => t.expr));
  for (const variable of dashboard.templating.list) {
    if (typeof variable.query === 'string') exprs.push(variable.query);
    else if (variable.query) exprs.push(variable.query.query);
  }
  assert.ok(exprs.length >= 10, `${exprs.length} expressions`);
  await withRelay({}, 30, async ({ relay, metrics }) => {
    // Per-worker series exist once the worker has said something.
    await waitFor(() => websocketStats(relay.engine).connectionsOpen === 1, 10_000, 'the connection');
    // A reason-labelled counter has no series until the first failure: its family counts.
    const exposition = await scrape(metrics.port);
    const exposed = new Set([...sampleNames(exposition), ...exposition.keys()]);
    const used = new Set(exprs.flatMap((expr) => expr.match(/\b(?:wsrelay|process|nodejs)_[a-zA-Z0-9_]+/g) ?? []));
    assert.ok(used.size >= 15, `${used.size} metric names used`);
    for (const name of used) assert.ok(exposed.has(name), `dashboard uses ${name}, which is not exposed`);
  });
});

test('the strict parser rejects what Prometheus would misread', () => {
  const ok = '# HELP h x\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3\nh_count 2\n';
  assert.equal(parseExposition(ok).get('h')!.samples.length, 4);
  assert.throws(() => parseExposition(ok.replace('le="1"} 1', 'le="1"} 3')), /below/);
  assert.throws(() => parseExposition(ok.replace('h_count 2', 'h_count 5')), /\+Inf bucket 2 != _count 5/);
  assert.throws(() => parseExposition('c_total 1\n'), /outside its family/);
  assert.throws(() => parseExposition('# HELP c x\n# TYPE c counter\nc{a="\\q"} 1\n'), /bad escape/);
  assert.throws(() => parseExposition('# HELP c x\n# TYPE c counter\nc{a="1"} 1\nc{a="1"} 2\n'), /duplicate series/);
  assert.throws(() => parseExposition('# HELP c x\n# TYPE c counter\nc -1\n'), /counter c is -1/);
});

test('stored histograms render cumulatively; paused time includes a pause in progress', () => {
  const h = new Histogram([1, 10]);
  for (const v of [0.5, 5, 5, 50]) h.observe(v);
  const rendered = histogramValues('x', { output: 'o' }, h).map(
    (v) => `${v.metricName}${JSON.stringify(v.labels)} ${v.value}`,
  );
  assert.deepEqual(rendered, [
    'x_bucket{"output":"o","le":1} 1',
    'x_bucket{"output":"o","le":10} 3',
    'x_bucket{"output":"o","le":"+Inf"} 4',
    'x_sum{"output":"o"} 60.5',
    'x_count{"output":"o"} 4',
  ]);
  const input = { ...newInputStats(), pausedMs: 1500, paused: true, pausedSince: 1000 };
  assert.equal(pausedSeconds(input, 3000), 3.5);
  assert.equal(pausedSeconds({ ...input, paused: false, pausedSince: null }, 3000), 1.5);
});

test('docs/METRICS.md names every drop reason and every close reason the relay counts', async () => {
  const { newOutputStats } = await import('../src/engine/stats.js');
  const doc = readFileSync(new URL('../../docs/METRICS.md', import.meta.url), 'utf8');
  const row = (metric: string): string => doc.split('\n').find((line) => line.startsWith(`| \`${metric}\``)) ?? '';
  for (const reason of Object.keys(newOutputStats('null').dropped)) {
    assert.ok(
      row('wsrelay_output_dropped_records_total').includes(`\`${reason}\``),
      `drop reason ${reason} documented`,
    );
  }
  for (const reason of Object.keys(newInputStats().closed)) {
    assert.ok(
      row('wsrelay_input_connections_closed_total').includes(`\`${reason}\``),
      `close reason ${reason} documented`,
    );
  }
});

test('docs/METRICS.md has a row for every metric the exporter serves, with its type and labels', async () => {
  const { createMetricsRegistry } = await import('../src/metrics/registry.js');
  const { newWebSocketOutputStats, workerStats } = await import('../src/outputs/websocket/main/stats.js');
  const output = newWebSocketOutputStats();
  workerStats(output, 0);
  const source: MetricsSource = {
    stats: () => ({
      inputs: { 'tcp.0': newInputStats() },
      outputs: { 'websocket.0': output },
      buffers: {
        'websocket.0': {
          bytes: 0,
          limitBytes: 1,
          chunksQueued: 0,
          chunksInFlight: 0,
          workers: 1,
          poolUtilization: 0,
          poolQueueSize: 0,
          storageBytes: 0,
          storageChunks: 0,
        },
      },
    }),
    inputsListening: () => true,
  };
  const registry = createMetricsRegistry(source);
  const doc = readFileSync(new URL('../../docs/METRICS.md', import.meta.url), 'utf8');
  const families = parseExposition(await registry.metrics());
  assert.ok(families.size > 20, `${families.size} families exported`);
  for (const [name, family] of families) {
    if (!name.startsWith('wsrelay_')) continue; // process_* and nodejs_* are prom-client's own, listed together
    const row = doc.split('\n').find((line) => line.startsWith(`| \`${name}\``));
    assert.ok(row, `${name} is not documented in docs/METRICS.md`);
    assert.ok(row.includes(`| ${family.type} |`), `${name}: documented with another type than ${family.type}`);
  }
});
