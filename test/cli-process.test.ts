// The real CLI in a child process: Fluent Bit's command line, errors at start, SIGTERM.
import { test } from 'node:test';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { TestServer } from './support/test-server.js';
import { freePort, runCli } from './support/child.js';
import { seqReport, sendLines, waitFor } from './support/relay.js';

/** A tcp input on 127.0.0.1:inputPort relayed as json_lines to the websocket server on serverPort. */
function tcpToJsonLines(inputPort: number, serverPort: number): string[] {
  return [
    '-i',
    'tcp',
    '-p',
    'listen=127.0.0.1',
    '-p',
    `port=${inputPort}`,
    '-o',
    'websocket',
    '-p',
    'host=127.0.0.1',
    '-p',
    `port=${serverPort}`,
    '-p',
    'format=json_lines',
  ];
}

test('the Fluent Bit command line from the issue works as it does with fluent-bit', async () => {
  const server = await TestServer.start();
  const port = await freePort();
  const child = runCli([
    '-i',
    'tcp',
    '-p',
    'listen=127.0.0.1',
    '-p',
    `port=${port}`,
    '-p',
    'format=json',
    '-o',
    'websocket',
    '-p',
    'host=127.0.0.1',
    '-p',
    `port=${server.port}`,
    '-p',
    'uri=/',
    '-p',
    'format=json_lines',
    '-m',
    '*',
    '-f',
    '1',
  ]);
  try {
    await waitFor(() => child.stderr.includes(`listening on 127.0.0.1:${port}`), 10_000, 'listening');
    await sendLines(port, ['{"key 1": 123456789, "key 2": "abcdefg"}']);
    await waitFor(() => server.messages.length > 0, 5000, 'the record');
    const text = server.messages[0]!.data.toString();
    assert.match(text, /^\{"date":\d{10}(\.\d{1,6})?,"key 1":123456789,"key 2":"abcdefg"\}\n$/);
    child.process.kill('SIGTERM');
    assert.equal(await child.exited, 0);
    assert.match(child.stderr, /\[ info\] \[input:tcp:tcp\.0\] listening on/);
    assert.match(child.stderr, /caught signal \(SIGTERM\)/);
  } finally {
    child.process.kill('SIGKILL');
    await server.stop();
  }
});

test('-o websocket://host:port/uri sets host, port and uri', async () => {
  const server = await TestServer.start();
  const port = await freePort();
  const child = runCli([
    '-i',
    'tcp',
    '-p',
    `port=${port}`,
    '-p',
    'listen=127.0.0.1',
    '-o',
    `websocket://127.0.0.1:${server.port}/some/path`,
    '-p',
    'format=json',
    '-f',
    '0.1',
  ]);
  try {
    await waitFor(() => server.requests.length > 0, 10_000, 'handshake');
    assert.equal(server.requests[0]!.url, '/some/path');
    child.process.kill('SIGTERM');
    assert.equal(await child.exited, 0);
  } finally {
    child.process.kill('SIGKILL');
    await server.stop();
  }
});

test('SIGTERM with data in flight delivers it within Grace, closes with a close frame and exits 0', async () => {
  const server = await TestServer.start();
  const port = await freePort();
  const child = runCli([...tcpToJsonLines(port, server.port), '-f', '30', '-p', 'ping_timeout=30']);
  try {
    await waitFor(() => child.stderr.includes('listening on'), 10_000, 'listening');
    await waitFor(() => server.openConnections === 1, 10_000, 'connection');
    // The server stops reading: what the relay sends stays unconfirmed (in flight).
    server.setReading(false);
    await sendLines(
      port,
      Array.from({ length: 500 }, (_, seq) => `{"seq":${seq}}`),
      2,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(server.messages.length, 0, 'nothing has reached the server before the signal');
    child.process.kill('SIGTERM');
    await waitFor(() => child.stderr.includes('service will stop in 5 seconds'), 5000, 'grace started');
    server.setReading(true);
    assert.equal(await child.exited, 0);
    const report = seqReport(server.jsonRecords(), 500);
    assert.deepEqual(report.missing, []);
    assert.equal(report.duplicates, 0);
    await waitFor(() => server.closeCodes.length > 0, 2000, 'close');
    assert.deepEqual(server.closeCodes, [1000]);
  } finally {
    child.process.kill('SIGKILL');
    await server.stop();
  }
});

test('an unknown plugin or property fails at start, naming it', async () => {
  const plugin = runCli(['-i', 'tcpp', '-o', 'websocket']);
  const property = runCli(['-i', 'tcp', '-p', 'prot=5170', '-o', 'websocket']);
  assert.equal(await plugin.exited, 2);
  assert.match(plugin.stderr, /tcpp/);
  assert.equal(await property.exited, 2);
  assert.match(property.stderr, /prot/);
});

test('--help and --version', async () => {
  const help = runCli(['--help']);
  const version = runCli(['--version']);
  assert.equal(await help.exited, 0);
  assert.match(help.stdout, /-i\s+--input/);
  assert.match(help.stdout, /json_date_format/);
  assert.equal(await version.exited, 0);
  assert.match(version.stdout, /^wsrelay v\d+\.\d+\.\d+/);
});

test('-c FILE with -H: a config file runs, and the metrics server answers', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const server = await TestServer.start();
  const [tcpPort, httpPort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'wsrelay-'));
  const file = join(dir, 'relay.conf');
  writeFileSync(
    file,
    [
      '@SET out_port=' + server.port,
      '[SERVICE]',
      '    Flush 0.1',
      '    HTTP_Server On',
      '    HTTP_Listen 127.0.0.1',
      `    HTTP_Port ${httpPort}`,
      '[INPUT]',
      '    Name tcp',
      '    Listen 127.0.0.1',
      `    Port ${tcpPort}`,
      '[OUTPUT]',
      '    Name websocket',
      '    Match *',
      '    Host 127.0.0.1',
      '    Port ${out_port}',
      '    Format json_lines',
      '',
    ].join('\n'),
  );
  const dry = runCli(['--dry-run', '-c', file]);
  assert.equal(await dry.exited, 0);
  assert.equal((JSON.parse(dry.stdout) as { outputs: { port: number }[] }).outputs[0]!.port, server.port);
  const child = runCli(['-c', file]);
  try {
    await waitFor(
      () => child.stderr.includes('[http_server] listening') && child.stderr.includes('[engine] started'),
      10_000,
      'metrics server and inputs',
    );
    await sendLines(tcpPort, ['{"a":1}', '{"a":2}']);
    await waitFor(() => server.jsonRecords().length === 2, 5000, 'records');
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/api/v1/metrics/prometheus`)).text();
    assert.match(metrics, /wsrelay_output_records_total\{output="websocket\.0"\} 2/);
    assert.equal((await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status, 200);
    child.process.kill('SIGTERM');
    assert.equal(await child.exited, 0);
  } finally {
    child.process.kill('SIGKILL');
    await server.stop();
  }
});

test('a bad config file fails at start with file, line and key', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const file = join(mkdtempSync(join(tmpdir(), 'wsrelay-')), 'bad.conf');
  writeFileSync(file, '[INPUT]\n    Name tcp\n    Port notaport\n[OUTPUT]\n    Name websocket\n');
  const child = runCli(['-c', file]);
  assert.equal(await child.exited, 2);
  assert.ok(child.stderr.includes(`${file}:3`), child.stderr);
  assert.match(child.stderr, /'Port'/);
});

test('a port in use fails at start (exit 2), naming the input, its argument and the address, and nothing keeps running', async () => {
  const { createServer } = await import('node:net');
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as { port: number }).port;
  try {
    const child = runCli(['-i', 'tcp', '-p', 'listen=127.0.0.1', '-p', `port=${port}`, '-o', 'null', '-m', '*']);
    assert.equal(await child.exited, 2);
    assert.doesNotMatch(child.stderr, /started/);
    assert.match(
      child.stderr,
      new RegExp(
        `command line, argument 2: \\[input:tcp:tcp\\.0\\] cannot listen on 127\\.0\\.0\\.1:${port}: address already in use`,
      ),
    );
  } finally {
    blocker.close();
  }
});

/**
 * The relay as a child process at `level` (-v, -vv or none): a tcp input → a websocket output to
 * a server that fails the first `failing` messages (1011), `lines` sent on one connection, then
 * one more line once those are settled. Returns stderr after SIGTERM.
 */
async function verbosityRun(flags: readonly string[], failing: number, retryLimit: string): Promise<string> {
  const server = await TestServer.start({ onMessage: (_message, index) => (index < failing ? 'error' : 'keep') });
  const port = await freePort();
  const child = runCli([
    ...tcpToJsonLines(port, server.port),
    '-p',
    `retry_limit=${retryLimit}`,
    '-f',
    '0.05',
    ...flags,
  ]);
  try {
    await waitFor(() => child.stderr.includes(`listening on 127.0.0.1:${port}`), 10_000, 'listening');
    await sendLines(port, ['{"seq":0}', '{"seq":1}', '{"seq":2}']);
    // The first chunk is flushed after its retry, or dropped past Retry_Limit.
    await waitFor(
      () => server.messages.length === 1 || /dropped; last error/.test(child.stderr),
      10_000,
      'the first chunk settled',
    );
    await sendLines(port, ['{"seq":3}']);
    await waitFor(() => server.jsonRecords().some((r) => r['seq'] === 3), 10_000, 'the last record');
    child.process.kill('SIGTERM');
    assert.equal(await child.exited, 0);
    return child.stderr;
  } finally {
    child.process.kill('SIGKILL');
    await server.stop();
  }
}

test('-v: a debug line per input connection, per delivered chunk and per retry; none by default', async () => {
  // Two relays of their own, run side by side.
  const [debug, quiet] = await Promise.all([verbosityRun(['-v'], 1, '1'), verbosityRun([], 1, '1')]);
  const lines = debug.split('\n');
  const accepted = lines.filter((l) =>
    /\[debug\] \[input:tcp:tcp\.0\] connection from 127\.0\.0\.1:\d+ accepted \(1 open\)$/.test(l),
  );
  assert.equal(accepted.length, 2, debug);
  const closed = lines.filter((l) =>
    /\[debug\] \[input:tcp:tcp\.0\] connection from 127\.0\.0\.1:\d+ closed: \d+ bytes read \(0 open\)$/.test(l),
  );
  assert.deepEqual(
    closed.map((l) => Number(/closed: (\d+) bytes/.exec(l)![1])),
    [30, 10],
    debug,
  );
  const flushed = lines
    .map((l) =>
      /\[debug\] \[output:websocket:websocket\.0\] flushed chunk '\d+': (\d+) records, (\d+) bytes, confirmed in \d+\.\d ms \(\d+\.\d ms since sealed\), attempt (\d+), worker #0$/.exec(
        l,
      ),
    )
    .filter((m) => m !== null);
  assert.equal(
    flushed.reduce((n, m) => n + Number(m[1]), 0),
    4,
    debug,
  );
  assert.ok(
    flushed.some((m) => m[3] === '2'),
    'the retried chunk flushed at its second attempt',
  );
  assert.match(
    debug,
    /\[debug\] \[output:websocket:websocket\.0\] retry 1 scheduled for chunk '\d+' \(Retry_Limit 1\): (now|in \d+ s)\n/,
  );
  assert.doesNotMatch(debug, /\[trace\]/, '-v is not -vv');

  assert.doesNotMatch(quiet, /\[(debug|trace)\]/, quiet);
  assert.match(quiet, /failed to flush chunk/, 'the same run, its warning still printed');
});

test('-vv: a trace line per chunk state change in the websocket output', async () => {
  // Retry_Limit 1 and two failing messages: the first chunk fails, is retried, fails and is dropped.
  const trace = await verbosityRun(['-vv'], 2, '1');
  const states = (trace.match(/\[trace\] \[output:websocket:websocket\.0\] chunk '1' [a-z]+(?: [a-z]+)*/g) ?? []).map(
    (l) => l.replace(/^.*chunk '1' /, ''),
  );
  assert.deepEqual(states, ['queued', 'in flight', 'failed', 'queued again', 'in flight', 'failed', 'dropped'], trace);
  assert.match(
    trace,
    /\[trace\] \[output:websocket:websocket\.0\] chunk '1' dropped \(retry_limit\): 3 records, after 2 attempt\(s\)/,
  );
  // The last record's chunk goes queued → in flight → flushed (its debug line: -vv includes -v).
  const last = /chunk '(\d+)' queued: 1 records/.exec(trace);
  assert.ok(last, trace);
  assert.match(trace, new RegExp(`\\[trace\\] .* chunk '${last[1]}' in flight: attempt 1`));
  assert.match(trace, new RegExp(`\\[debug\\] .* flushed chunk '${last[1]}': 1 records`));
  assert.match(trace, /\[debug\] \[input:tcp:tcp\.0\] connection from/);
});

test("wsrelay sink --help prints the sink's own help", async () => {
  const runs = ['--help', '-h'].map((flag) => runCli(['sink', flag]));
  for (const help of runs) {
    assert.equal(await help.exited, 0);
    assert.match(help.stdout, /^Usage: wsrelay sink \[--port PORT\] \[--listen ADDR\] \[--print\]\n/);
    assert.match(help.stdout, /--print\s+print every record received/);
    assert.doesNotMatch(help.stdout, /--input|json_date_format/, "not the relay's help");
  }
});

test('the sink on SIGINT closes its clients with 1001 Going Away and exits 0', async () => {
  const { WebSocket } = await import('ws');
  const sink = runCli(['sink', '--port', '0']);
  let client: import('ws').WebSocket | null = null;
  let relay: ReturnType<typeof runCli> | null = null;
  try {
    await waitFor(() => /listening on ws:\/\/127\.0\.0\.1:\d+\//.test(sink.stderr), 10_000, 'the sink listening');
    const port = Number(/listening on ws:\/\/127\.0\.0\.1:(\d+)\//.exec(sink.stderr)![1]);
    // A relay connected to it, and a plain client.
    const input = await freePort();
    relay = runCli([...tcpToJsonLines(input, port), '-f', '0.05']);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    client = ws;
    const closed = new Promise<{ code: number; reason: string }>((resolve) => {
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    ws.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await waitFor(() => relay!.stderr.includes('succeeded'), 10_000, "the relay's handshake");
    sink.process.kill('SIGINT');
    assert.deepEqual(await closed, { code: 1001, reason: 'sink shutting down' });
    assert.equal(await sink.exited, 0);
    assert.match(sink.stderr, /caught signal \(SIGINT\), stopping: .* closing 2 client\(s\)/);
    // The relay saw a close frame, not an abnormal closure.
    await waitFor(
      () => /connection closed \(code 1001, sink shutting down\)/.test(relay!.stderr),
      5000,
      "the relay's close",
    );
    // (The relay reconnects at once; that attempt may meet the sink still closing, and fail with
    // ECONNRESET: that is the next handshake, not how this connection ended.)
    assert.doesNotMatch(relay.stderr, /connection closed \(code 1006|unconfirmed/);
  } finally {
    client?.terminate();
    sink.process.kill('SIGKILL');
    relay?.process.kill('SIGKILL');
  }
});
