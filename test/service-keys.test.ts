// Stock Fluent Bit configurations run unchanged: YAML `name: null`, every [SERVICE] key Fluent
// Bit accepts (some with an effect here, the others accepted with one warning), Parsers_File,
// and Health_Check feeding /api/v1/health.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger } from '../src/log.js';
import { startMetricsServer } from '../src/metrics/server.js';
import type { HealthCheckConfig } from '../src/config/types.js';
import type { RawProperty } from '../src/config/raw.js';
import { freePort, runCli } from './support/child.js';
import { sendLines, startRelay, waitFor, waitForAsync } from './support/relay.js';
import { websocketStats } from './support/output-stats.js';
import { TestServer } from './support/test-server.js';
import type { ConfigErrorCode } from '../src/config/errors.js';
import { loadConfigFile } from '../src/config/load.js';
import { resolvePipeline, type ResolveResult } from '../src/config/resolve.js';
import { configFileWriter, failsWith } from './support/config-files.js';

const write = configFileWriter('wsrelay-service-');

/** Fixtures are not compiled: from dist/test/ they are two levels up. */
const fixture = (name: string): string => fileURLToPath(new URL(`../../test/fixtures/${name}`, import.meta.url));

const resolveFile = (path: string): ResolveResult => resolvePipeline(loadConfigFile(path, {}));

const fails = failsWith;

test('YAML `name: null` (Fluent Bit docs) is the null output; a null elsewhere is still empty', () => {
  const path = write({
    'null.yaml': 'pipeline:\n  inputs:\n    - name: dummy\n  outputs:\n    - name: null\n      match: "*"\n',
  });
  const r = resolveFile(path);
  assert.equal(r.config.outputs[0]?.plugin, 'null');
  assert.deepEqual(r.warnings, []);
  // `Null` and `~` keep their spelling too: `~` is no plugin.
  const tilde = write({ 't.yaml': 'pipeline:\n  inputs:\n    - name: dummy\n  outputs:\n    - name: ~\n' });
  fails(() => resolveFile(tilde), 'WSR_CONFIG_UNKNOWN_PLUGIN', /^.*:5: unknown output plugin '~'/);
  // For any other key a bare null is an empty value, as before: the default, with a warning.
  const other = write({
    'o.yaml': 'pipeline:\n  inputs:\n    - name: dummy\n      tag: null\n  outputs:\n    - name: NULL\n',
  });
  const o = resolveFile(other);
  assert.equal(o.config.outputs[0]?.plugin, 'null');
  assert.equal(o.warnings.length, 1);
  assert.match(o.warnings[0] ?? '', /:4: \[INPUT dummy\.0\] property 'tag' is empty: using the default/);
  // `name:` with nothing after it is still a missing name.
  const empty = write({ 'e.yaml': 'pipeline:\n  inputs:\n    - name: dummy\n  outputs:\n    - name:\n' });
  fails(() => loadConfigFile(empty, {}), 'WSR_CONFIG_MISSING', /:5: \[OUTPUT\] has an empty Name/);
});

/**
 * The [SERVICE] of Fluent Bit's conf/fluent-bit.conf (its comments shortened) plus the keys of
 * its docs' service section that real configs carry, with a stock pipeline after it.
 */
const STOCK_SERVICE = `[SERVICE]
    # Flush
    # =====
    # Set an interval of seconds before to flush records to a destination
    Flush        5

    # Daemon
    # ======
    # Instruct Fluent Bit to run in foreground or background mode.
    Daemon       Off

    # Log_Level
    # =========
    Log_Level    info

    # Parsers_File
    # ============
    # Specify an optional 'Parsers' configuration file
    Parsers_File parsers.conf
    Plugins_File plugins.conf
    Streams_File streams.conf

    HTTP_Server  Off
    HTTP_Listen  0.0.0.0
    HTTP_Port    2020
    Health_Check On
    HC_Errors_Count 5
    HC_Retry_Failure_Count 5
    HC_Period 5

    storage.metrics on
    storage.checksum off
    storage.backlog.mem_limit 5M
    storage.max_chunks_up 128
    storage.sync normal
`;
const STOCK_PIPELINE = '\n[INPUT]\n    Name dummy\n    Tag  dummy.local\n\n[OUTPUT]\n    Name  null\n    Match **\n';

function stockDir(service = STOCK_SERVICE): string {
  const path = write({ 'fluent-bit.conf': service + STOCK_PIPELINE });
  copyFileSync(fixture('parsers.conf'), join(dirname(path), 'parsers.conf'));
  return path;
}

test('a stock Fluent Bit [SERVICE] runs unchanged through --dry-run: exit 0, one warning naming the no-effect keys', async () => {
  const child = runCli(['-c', stockDir(), '--dry-run']);
  assert.equal(await child.exited, 0, child.stderr);
  const warnings = child.stderr.split('\n').filter((l) => /warn/i.test(l));
  assert.equal(warnings.length, 1, child.stderr);
  assert.match(
    warnings[0] ?? '',
    /fluent-bit\.conf:10: \[SERVICE\] accepted for Fluent Bit compatibility, no effect in wsrelay: Daemon, Plugins_File, Streams_File, storage\.metrics, storage\.checksum$/,
  );
  const config = JSON.parse(child.stdout) as {
    service: {
      healthCheck: HealthCheckConfig;
      storageBacklogMemLimitBytes: number;
      parsers: { parsers: Array<{ name: string }> };
    };
  };
  assert.deepEqual(config.service.healthCheck, {
    enabled: true,
    errorsCount: 5,
    retryFailureCount: 5,
    periodSeconds: 5,
  });
  assert.equal(config.service.storageBacklogMemLimitBytes, 5 * 1024 * 1024);
  assert.equal(config.service.parsers.parsers.length, 15);
});

test('Daemon On exits 2 with the reason', async () => {
  const path = stockDir(STOCK_SERVICE.replace('Daemon       Off', 'Daemon       On'));
  const child = runCli(['-c', path, '--dry-run']);
  assert.equal(await child.exited, 2);
  assert.match(
    child.stderr,
    /fluent-bit\.conf:10: \[SERVICE\] property 'Daemon': On is not supported: run wsrelay under systemd or another supervisor: see docs\/OPERATIONS\.md/,
  );
});

test("Fluent Bit's own parsers.conf is accepted: names, formats, regexes translated and compiled", () => {
  const path = write({ 'f.conf': `[SERVICE]\n    Parsers_File ${fixture('parsers.conf')}\n${STOCK_PIPELINE}` });
  const r = resolveFile(path);
  const parsers = r.config.service.parsers.parsers;
  assert.deepEqual(
    parsers.map((p) => p.name),
    [
      'apache',
      'apache2',
      'apache_error',
      'nginx',
      'k8s-nginx-ingress',
      'json',
      'docker',
      'docker-daemon',
      'syslog-rfc5424',
      'syslog-rfc3164-local',
      'syslog-rfc3164',
      'mongodb',
      'cri',
      'kube-custom',
      'filter-kube-test',
    ],
  );
  assert.deepEqual(r.warnings, []);
  const apache = parsers.find((p) => p.name === 'apache');
  const m = new RegExp(apache?.regex ?? '').exec(
    '192.168.2.20 - - [28/Jul/2006:10:27:10 -0300] "GET /cgi-bin/try/ HTTP/1.0" 200 3395',
  );
  assert.deepEqual(
    [m?.groups?.host, m?.groups?.method, m?.groups?.path, m?.groups?.code],
    ['192.168.2.20', 'GET', '/cgi-bin/try/', '200'],
  );
  // `/.../` around a regex is dropped (syslog-rfc3164), the last Time_Format wins.
  const syslog = parsers.find((p) => p.name === 'syslog-rfc3164');
  assert.ok(syslog?.regex?.startsWith('^\\<'), syslog?.regex ?? '');
  assert.equal(syslog?.timeFormat, '%Y-%m-%dT%H:%M:%S.%L');
  assert.deepEqual(parsers.find((p) => p.name === 'docker')?.decodeFieldAs, [
    'escaped_utf8   log        do_next',
    'escaped        log',
    'escaped        stream',
  ]);
  // The YAML spelling of a parsers file reads the same.
  const yaml = write({
    'p.yaml':
      "parsers:\n  - name: cri\n    format: regex\n    regex: '^(?<time>[^ ]+) (?<message>.*)$'\n" +
      "multiline_parsers:\n  - name: ml\n    type: regex\n    rules:\n      - state: start_state\n        regex: '/^\\d/'\n        next_state: cont\n",
  });
  const y = resolveFile(write({ 'f.conf': `[SERVICE]\n    Parsers_File ${yaml}\n${STOCK_PIPELINE}` }));
  assert.deepEqual(
    y.config.service.parsers.parsers.map((p) => [p.name, p.format]),
    [['cri', 'regex']],
  );
  assert.deepEqual(y.config.service.parsers.multilineParsers[0]?.rules, [
    { from: 'start_state', regex: '^\\d', to: 'cont' },
  ]);
});

test('a broken parsers file is refused with file and line: bad regex, missing Name, unknown key, no file', () => {
  const cases: Array<[string, ConfigErrorCode, RegExp]> = [
    [
      '[PARSER]\n    Name bad\n    Format regex\n    Regex ^(?<x>[a-z]+$\n',
      'WSR_CONFIG_BAD_VALUE',
      /parsers\.conf:4: \[PARSER bad\] property 'Regex': not a regular expression JavaScript compiles/,
    ],
    [
      '[PARSER]\n    Name ok\n    Format json\n\n[PARSER]\n    Format json\n',
      'WSR_CONFIG_MISSING',
      /parsers\.conf:5: \[PARSER\] has no Name/,
    ],
    [
      '[PARSER]\n    Name ok\n    Format json\n    Tme_Key time\n',
      'WSR_CONFIG_UNKNOWN_KEY',
      /parsers\.conf:4: \[PARSER\] unknown property 'Tme_Key', did you mean 'time_key'\?/,
    ],
    [
      '[PARSER]\n    Name ok\n    Format xml\n',
      'WSR_CONFIG_BAD_VALUE',
      /parsers\.conf:3: \[PARSER\] property 'Format': expected one of json\|regex\|ltsv\|logfmt/,
    ],
    ['[FILTER]\n    Name ok\n', 'WSR_CONFIG_USAGE', /parsers\.conf:1: unknown section '\[FILTER\]' in a parsers file/],
  ];
  for (const [text, code, message] of cases) {
    const path = write({
      'f.conf': `[SERVICE]\n    Parsers_File parsers.conf\n${STOCK_PIPELINE}`,
      'parsers.conf': text,
    });
    fails(() => resolveFile(path), code, message);
  }
  const missing = write({ 'f.conf': `[SERVICE]\n    Parsers_File nowhere.conf\n${STOCK_PIPELINE}` });
  fails(() => resolveFile(missing), 'WSR_CONFIG_MISSING', /f\.conf:2: .*nowhere\.conf/);
  // Not a regular file: the config reader's rule.
  const dir = write({ 'f.conf': `[SERVICE]\n    Parsers_File /dev/zero\n${STOCK_PIPELINE}` });
  fails(() => resolveFile(dir), 'WSR_CONFIG_MISSING', /f\.conf:2: .*not a regular file|f\.conf:2: .*device/);
});

function getHealth(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/api/v1/health' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

const at = { file: 'test', line: 1 };
const props = (e: Record<string, string>): RawProperty[] =>
  Object.entries(e).map(([key, value]) => ({ key, value, at }));
/** The health settings a [SERVICE] with these keys resolves to. */
function healthOf(service: Record<string, string>): HealthCheckConfig {
  return resolvePipeline({
    service: { kind: 'service', plugin: '', at, properties: props(service) },
    inputs: [{ kind: 'input', plugin: 'dummy', at, properties: [] }],
    outputs: [{ kind: 'output', plugin: 'null', at, properties: [] }],
  }).config.service.healthCheck;
}

const quiet = (): Logger => new Logger('error', '', { write: () => undefined });
const HEALTH = { health_check: 'on', hc_errors_count: '0', hc_retry_failure_count: '0', hc_period: '2' };

test('/api/v1/health: 500 "error" while an output fails (server down, retry_limit 0), 200 "ok" again after HC_Period', async () => {
  const relay = await startRelay(await freePort(), { retry_limit: 'no_retries', 'net.connect_timeout': '1' });
  const health = healthOf({ ...HEALTH, hc_period: '1' });
  const metrics = await startMetricsServer(
    { listen: '127.0.0.1', port: 0, readyWindowSeconds: 30, health },
    { stats: () => relay.engine.stats(), inputsListening: () => true },
    quiet(),
  );
  try {
    assert.deepEqual(await getHealth(metrics.port), { status: 200, body: 'ok\n' });
    await sendLines(relay.port, ['{"a":1}']);
    await waitFor(() => websocketStats(relay.engine).retriesFailed > 0, 10_000, 'a chunk given up');
    assert.deepEqual(await getHealth(metrics.port), { status: 500, body: 'error\n' });
    // Nothing fails any more: once the failure is older than HC_Period (1 s), healthy again.
    await waitForAsync(async () => (await getHealth(metrics.port)).status === 200, 10_000, 'healthy again');
    assert.deepEqual(await getHealth(metrics.port), { status: 200, body: 'ok\n' });
  } finally {
    await metrics.close();
    await relay.stop();
  }
});

test('/api/v1/health: 200 while the output delivers; 404 without Health_Check', async () => {
  const server = await TestServer.start();
  const relay = await startRelay(server.port);
  const source = { stats: () => relay.engine.stats(), inputsListening: () => true };
  const metrics = await startMetricsServer(
    { listen: '127.0.0.1', port: 0, readyWindowSeconds: 30, health: healthOf(HEALTH) },
    source,
    quiet(),
  );
  const off = await startMetricsServer(
    { listen: '127.0.0.1', port: 0, readyWindowSeconds: 30, health: healthOf({}) },
    source,
    quiet(),
  );
  try {
    await sendLines(relay.port, ['{"a":1}', '{"a":2}']);
    await waitFor(() => (relay.engine.stats().outputs['websocket.0']?.chunksFlushed ?? 0) > 0, 10_000, 'a flush');
    assert.deepEqual(await getHealth(metrics.port), { status: 200, body: 'ok\n' });
    assert.equal((await getHealth(off.port)).status, 404);
  } finally {
    await off.close();
    await metrics.close();
    await relay.stop();
    await server.stop();
  }
});

test('storage.backlog.mem_limit: of the backlog found at start, what fits is loaded, the rest waits on disk', async () => {
  const { ChunkStore } = await import('../src/storage/chunk-store.js');
  const dir = join(dirname(write({ placeholder: '' })), 'backlog');
  const store = new ChunkStore(dir, 'normal', quiet());
  store.openBacklog(128); // creates the directory
  const payload = new SharedArrayBuffer(1000);
  for (let id = 1; id <= 5; id++) {
    await store.write({ id, byteLength: 1000, records: 1, sources: [] }, payload);
  }
  const reopened = new ChunkStore(dir, 'normal', quiet());
  const { chunks } = reopened.openBacklog(128, 2500);
  assert.deepEqual(
    chunks.map((c) => c.payload !== null),
    [true, true, false, false, false],
  );
  // storage.max_chunks_up still applies, and the first chunk is loaded even when larger than the limit.
  assert.deepEqual(
    new ChunkStore(dir, 'normal', quiet()).openBacklog(1, 1e9).chunks.map((c) => c.payload !== null),
    [true, false, false, false, false],
  );
  assert.deepEqual(
    new ChunkStore(dir, 'normal', quiet()).openBacklog(128, 10).chunks.map((c) => c.payload !== null),
    [true, false, false, false, false],
  );
  const r = resolveFile(
    write({
      'f.conf': `[SERVICE]\n    storage.backlog.mem_limit 64k\n[INPUT]\n    Name tcp\n[OUTPUT]\n    Name websocket\n`,
    }),
  );
  assert.equal(r.config.service.storageBacklogMemLimitBytes, 64 * 1024);
  const out = r.config.outputs[0];
  assert.equal(out?.plugin === 'websocket' ? out.storageBacklogMemLimitBytes : null, 64 * 1024);
});

test('the CLI serves /api/v1/health with Health_Check On (a real relay process), 404 without', async () => {
  for (const [check, expected] of [
    ['On', 200],
    ['Off', 404],
  ] as const) {
    const port = await freePort();
    const file = write({
      'h.conf':
        `[SERVICE]\n    HTTP_Server On\n    HTTP_Listen 127.0.0.1\n    HTTP_Port ${port}\n` +
        `    Health_Check ${check}\n${STOCK_PIPELINE}`,
    });
    const child = runCli(['-c', file]);
    try {
      await waitFor(() => child.stderr.includes('[engine] started'), 10_000, 'the relay to start');
      const health = await getHealth(port);
      assert.equal(health.status, expected, `Health_Check ${check}: ${health.body}`);
      if (expected === 200) assert.match(health.body, /^ok/);
    } finally {
      child.process.kill('SIGTERM');
      await child.exited;
    }
  }
});
