// Random bytes at the listening sockets of a running relay (a real child process: tcp, http and
// forward inputs → a websocket server in this process): fast-check generates the garbage —
// random bytes, mutated valid messages, HTTP requests with mangled headers — from a fixed seed
// (printed on failure). Afterwards the relay must still be running, relay a valid record on
// every input, and report the garbage as counted closes and drops, not as a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { pack } from 'msgpackr';
import WebSocket from 'ws';
import { freePort, runCli } from './support/child.js';
import { TestServer } from './support/test-server.js';
import { waitFor } from './support/relay.js';
import { parseExposition } from './support/prom-parse.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261123);

/** Writes the parts on one connection (one write each) and waits until either side closes. */
function throwAt(port: number, parts: readonly Buffer[]): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
    socket.on('connect', () => {
      for (const part of parts) socket.write(part);
      // Half-close: the relay sees the end of what was sent; it may answer, then both go.
      socket.end();
      socket.setTimeout(1500, () => socket.destroy());
    });
    socket.resume();
  });
}

function mutate(bytes: Buffer, flips: ReadonlyArray<readonly [number, number]>): Buffer {
  const copy = Buffer.from(bytes);
  for (const [i, b] of flips) if (copy.length > 0) copy[i % copy.length] = b;
  return copy;
}

const flips = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 });
const randomBytes = fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => Buffer.from(b));
const record = fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 });

const tcpGarbage = fc.array(
  fc.oneof(
    randomBytes,
    fc.tuple(record, flips).map(([r, f]) => mutate(Buffer.from(`${JSON.stringify(r)}\n`), f)),
    fc.integer({ min: 1, max: 3 }).map((n) => Buffer.alloc(n * 40_000, 0x7b)),
  ),
  { minLength: 1, maxLength: 4 },
);
const forwardMessage = fc
  .tuple(fc.string({ maxLength: 5 }), fc.array(record, { maxLength: 3 }), fc.boolean())
  .map(([tag, records, packed]) => {
    const entries = records.map((r) => [1_700_000_000, r]);
    return pack(packed ? [tag, Buffer.concat(entries.map((e) => pack(e))), { chunk: 'c' }] : [tag, entries]);
  });
const forwardGarbage = fc.array(
  fc.oneof(
    randomBytes,
    forwardMessage,
    fc.tuple(forwardMessage, flips).map(([m, f]) => mutate(m, f)),
  ),
  { minLength: 1, maxLength: 4 },
);
const httpRequest = fc
  .tuple(record, fc.constantFrom('application/json', 'application/x-ndjson', 'application/msgpack', 'text/plain'))
  .map(([r, type]) => {
    const body = type === 'application/msgpack' ? pack(r) : Buffer.from(JSON.stringify(r));
    return Buffer.concat([
      Buffer.from(`POST /fuzz HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\nContent-Length: ${body.length}\r\n\r\n`),
      body,
    ]);
  });
const httpGarbage = fc.array(
  fc.oneof(
    randomBytes,
    httpRequest,
    fc.tuple(httpRequest, flips).map(([m, f]) => mutate(m, f)),
  ),
  { minLength: 1, maxLength: 3 },
);

function post(port: number, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path: '/valid', headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function scrape(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => {
        text += d.toString();
      });
      res.on('end', () => resolve(text));
    })
      .on('error', reject)
      .end();
  });
}

test('random bytes at every input of a running relay: it keeps running and relaying', async () => {
  const server = await TestServer.start();
  const [tcpPort, httpPort, forwardPort, metricsPort, feedPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const dir = mkdtempSync(join(tmpdir(), 'wsrelay-fuzz-relay-'));
  const config = join(dir, 'relay.conf');
  writeFileSync(
    config,
    [
      '[SERVICE]',
      '    flush 0.1',
      '    log_level info',
      '    http_server on',
      '    http_listen 127.0.0.1',
      `    http_port ${metricsPort}`,
      '[INPUT]',
      '    name tcp',
      '    listen 127.0.0.1',
      `    port ${tcpPort}`,
      '    buffer_size 64K',
      '    tag t',
      '    net.record_timeout 1',
      '[INPUT]',
      '    name http',
      '    listen 127.0.0.1',
      `    port ${httpPort}`,
      '    buffer_max_size 64K',
      '    net.record_timeout 1',
      '[INPUT]',
      '    name forward',
      '    listen 127.0.0.1',
      `    port ${forwardPort}`,
      '    buffer_max_size 64K',
      '    net.record_timeout 1',
      '[OUTPUT]',
      '    name websocket',
      '    match *',
      '    host 127.0.0.1',
      `    port ${server.port}`,
      '    format json_lines',
      // The same garbage through the server output's decoder too (its own copy once ended the relay).
      '[OUTPUT]',
      '    name websocket_server',
      '    match *',
      '    listen 127.0.0.1',
      `    port ${feedPort}`,
      '',
    ].join('\n'),
  );
  const child = runCli(['-c', config]);
  let exit: number | string | null = null;
  void child.exited.then((code) => {
    exit = code;
  });
  try {
    // `[engine] started` is the last line of a start that worked: every listener is up.
    await waitFor(() => exit !== null || child.stderr.includes('[engine] started'), 15_000, 'the relay to start');
    assert.equal(exit, null, child.stderr);

    const feed: string[] = [];
    const client = new WebSocket(`ws://127.0.0.1:${feedPort}/`);
    client.on('message', (data: Buffer) => feed.push(data.toString()));
    await new Promise((resolve, reject) => {
      client.once('open', resolve);
      client.once('error', reject);
    });

    const rounds = fc.sample(fc.tuple(tcpGarbage, forwardGarbage, httpGarbage), { numRuns: 25, seed: SEED });
    for (const [tcp, forward, http] of rounds) {
      await Promise.all([throwAt(tcpPort, tcp), throwAt(forwardPort, forward), throwAt(httpPort, http)]);
      assert.equal(exit, null, `the relay exited (seed ${SEED}):\n${child.stderr}`);
    }

    // Still relaying: one valid record per input, after all that.
    await throwAt(tcpPort, [Buffer.from('{"valid":"tcp"}\n')]);
    assert.equal(await post(httpPort, '{"valid":"http"}'), 204);
    await throwAt(forwardPort, [pack(['f', [[1_700_000_000, { valid: 'forward' }]]])]);
    await waitFor(
      () => ['tcp', 'http', 'forward'].every((input) => server.jsonRecords().some((r) => r['valid'] === input)),
      10_000,
      'a valid record from every input',
    );
    await waitFor(
      () => ['tcp', 'http', 'forward'].every((input) => feed.some((m) => m.includes(`"valid":"${input}"`))),
      10_000,
      'the same records at the websocket_server client',
    );
    client.close();
    assert.equal(exit, null);
    assert.doesNotMatch(child.stderr, /Uncaught|RangeError|TypeError|at .*\.js:\d+/, 'no stack trace in the log');

    // The garbage shows up as counted closes and drops.
    const metrics = parseExposition(await scrape(metricsPort));
    const closes = metrics.get('wsrelay_input_connections_closed_total');
    assert.ok(closes && closes.samples.some((s) => s.value > 0), 'closes counted');
    // Garbage is refused at the inputs: nothing that got in may fail in the output (a record the
    // worker cannot read would be dropped there, as happened with forward records and shared arenas).
    const dropped = metrics.get('wsrelay_output_dropped_records_total');
    assert.ok(dropped, 'drops exported');
    assert.deepEqual(
      dropped.samples.filter((s) => s.value > 0),
      [],
      'no output drops',
    );
    assert.doesNotMatch(child.stderr, /worker thread lost|failed to flush/);
  } finally {
    child.process.kill('SIGTERM');
    await child.exited;
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
