// resolvePipeline (fed by parseArgv, as in production): defaults, validation messages with
// the argv position, Fluent Bit naming/match rules, and the value parsers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgv } from '../src/cli/argv.js';
import { ConfigError, type ConfigErrorCode } from '../src/config/errors.js';
import { resolvePipeline, type ResolveResult } from '../src/config/resolve.js';
import { parseSize, parseSizeKb, parseRetryLimit, parseBoolean, type ValueContext } from '../src/config/values.js';
import type { WebSocketOutputConfig, TcpInputConfig } from '../src/config/types.js';
import type { RawPipeline } from '../src/config/raw.js';

function pipeline(argv: string[]): RawPipeline {
  const cmd = parseArgv(argv);
  if (cmd.kind !== 'relay') throw new Error(`expected relay, got ${cmd.kind}`);
  return cmd.pipeline;
}

const run = (argv: string[]): ResolveResult => resolvePipeline(pipeline(argv));
const out = (argv: string[]): WebSocketOutputConfig => run(argv).config.outputs[0]! as WebSocketOutputConfig;
const inp = (argv: string[]): TcpInputConfig => run(argv).config.inputs[0]! as TcpInputConfig;
const ws = (...p: string[]): WebSocketOutputConfig =>
  out(['-i', 'tcp', '-o', 'websocket', ...p.flatMap((x) => ['-p', x])]);

function fails(argv: string[], code: ConfigErrorCode, message: string, key: string | null = null): void {
  assert.throws(
    () => run(argv),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.equal(e.message, message);
      assert.equal(e.code, code);
      assert.equal(e.key, key);
      return true;
    },
  );
}

const MIB = 1024 * 1024;
const DEFAULT_WS: Omit<WebSocketOutputConfig, 'name' | 'match'> = {
  plugin: 'websocket',
  matchRegex: null,
  host: '127.0.0.1',
  port: 80,
  uri: '/',
  headers: [],
  format: 'msgpack',
  dateKey: 'date',
  dateFormat: 'double',
  gelf: { shortMessageKey: null, fullMessageKey: null, timestampKey: null, hostKey: null, levelKey: null },
  workers: 1,
  keepalive: true,
  keepaliveIdleTimeoutSeconds: 0,
  connectTimeoutSeconds: 10,
  retryLimit: 1,
  pingIntervalSeconds: 20,
  pingTimeoutSeconds: 10,
  compress: false,
  delivery: 'confirm',
  memBufLimitBytes: 32 * MIB,
  chunkLimitBytes: 2 * MIB,
  inflightPerWorker: 4,
  tls: null,
  authorization: null,
  storageTotalLimitBytes: null,
  storageTotalLimitPolicy: 'pause',
  storageBacklogMemLimitBytes: 5 * 1024 * 1024,
};

test('the documented command line resolves to the full expected config', () => {
  const argv =
    '-i tcp -p listen=127.0.0.1 -p port=5170 -p format=json -o websocket -p host=127.0.0.1 -p port=9000 -p uri=/ -p format=json_lines -m * -f 1';
  const { config, warnings } = run(argv.split(' '));
  assert.deepEqual(warnings, []);
  assert.deepEqual(config, {
    service: {
      flushSeconds: 1,
      graceSeconds: 5,
      logLevel: 'info',
      schedulerBaseSeconds: 5,
      schedulerCapSeconds: 2000,
      http: { enabled: false, listen: '0.0.0.0', port: 2020, tls: null },
      logFile: null,
      storagePath: null,
      storageSync: 'normal',
      storageMaxChunksUp: 128,
      storageBacklogMemLimitBytes: 5 * 1024 * 1024,
      healthCheck: { enabled: false, errorsCount: 5, retryFailureCount: 5, periodSeconds: 60 },
      parsers: { parsers: [], multilineParsers: [] },
    },
    inputs: [
      {
        plugin: 'tcp',
        name: 'tcp.0',
        tag: 'tcp.0',
        listen: '127.0.0.1',
        port: 5170,
        format: 'json',
        separator: '\n',
        bufferSizeBytes: 32768,
        memBufLimitBytes: null,
        tls: null,
        storageType: 'memory',
        limits: { maxConnections: 1024, ioTimeoutMs: 0, recordTimeoutMs: 30_000 },
      },
    ],
    outputs: [{ ...DEFAULT_WS, name: 'websocket.0', match: '*', port: 9000, format: 'json_lines' }],
  });
});

test('the config is deeply frozen', () => {
  const { config } = run(['-i', 'tcp', '-o', 'websocket', '-p', 'header=A b']);
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.service));
  assert.ok(Object.isFrozen(config.outputs));
  assert.ok(Object.isFrozen((config.outputs[0]! as WebSocketOutputConfig).gelf));
  assert.ok(Object.isFrozen((config.outputs[0]! as WebSocketOutputConfig).headers[0]));
  assert.throws(() => {
    (config.outputs[0] as { port: number }).port = 1;
  }, TypeError);
});

test('defaults everywhere, and the implicit * match for one input and one output', () => {
  const { config, warnings } = run(['-i', 'tcp', '-o', 'websocket']);
  assert.deepEqual(warnings, []);
  assert.deepEqual(config.outputs[0], { ...DEFAULT_WS, name: 'websocket.0', match: '*' });
  assert.deepEqual(config.inputs[0], {
    plugin: 'tcp',
    name: 'tcp.0',
    tag: 'tcp.0',
    listen: '0.0.0.0',
    port: 5170,
    format: 'json',
    separator: '\n',
    bufferSizeBytes: 32768,
    memBufLimitBytes: null,
    tls: null,
    storageType: 'memory',
    limits: { maxConnections: 1024, ioTimeoutMs: 0, recordTimeoutMs: 30_000 },
  });
});

test('-o websocket://10.0.0.1:8080/path', () => {
  const o = out(['-i', 'tcp', '-o', 'websocket://10.0.0.1:8080/path']);
  assert.deepEqual([o.host, o.port, o.uri], ['10.0.0.1', 8080, '/path']);
});

test('keys are case-insensitive', () => {
  const o = ws('Port=9000', 'FORMAT=json', 'Json_Date_Format=Epoch_Millis', 'NET.KEEPALIVE=Off');
  assert.deepEqual([o.port, o.format, o.dateFormat, o.keepalive], [9000, 'json', 'epoch_ms', false]);
});

test('a repeated key: the last one wins', () => {
  assert.equal(ws('port=1', 'port=2').port, 2);
});

test('unknown plugins fail naming them', () => {
  fails(
    ['-i', 'tcp', '-o', 'http'],
    'WSR_CONFIG_UNKNOWN_PLUGIN',
    "command line, argument 4: unknown output plugin 'http' (supported: websocket, stdout, null, websocket_server)",
  );
  fails(
    ['-i', 'systemd', '-o', 'websocket'],
    'WSR_CONFIG_UNKNOWN_PLUGIN',
    "command line, argument 2: unknown input plugin 'systemd' (supported: tcp, http, forward, dummy, cpu, mem)",
  );
});

test('an unknown key fails naming it, a close match and the known keys', () => {
  fails(
    ['-i', 'tcp', '-p', 'prot=1', '-o', 'websocket'],
    'WSR_CONFIG_UNKNOWN_KEY',
    "command line, argument 4: [INPUT tcp.0] unknown property 'prot', did you mean 'port'? " +
      '(known: listen, port, format, separator, buffer_size, chunk_size, tag, mem_buf_limit, alias, storage.type, ' +
      'net.max_connections, net.io_timeout, net.record_timeout, tls, tls.verify, ' +
      'tls.verify_client_cert, tls.ca_file, tls.crt_file, tls.key_file, tls.key_passwd, tls.min_version, tls.max_version, ' +
      'tls.ciphers, tls.debug)',
    'prot',
  );
});

test('bad values fail naming the key and the argument position', () => {
  fails(
    ['-i', 'tcp', '-o', 'websocket', '-p', 'port=abc'],
    'WSR_CONFIG_BAD_VALUE',
    "command line, argument 6: [OUTPUT websocket.0] property 'port': expected an integer 1-65535, got 'abc'",
    'port',
  );
  fails(
    ['-i', 'tcp', '-o', 'websocket', '-pPort=70000'],
    'WSR_CONFIG_BAD_VALUE',
    "command line, argument 5: [OUTPUT websocket.0] property 'Port': expected an integer 1-65535, got '70000'",
    'port',
  );
  fails(
    ['-i', 'tcp', '-o', 'websocket', '-p', 'compress=maybe'],
    'WSR_CONFIG_BAD_VALUE',
    "command line, argument 6: [OUTPUT websocket.0] property 'compress': expected on or off (also true/false, yes/no, 1/0), got 'maybe'",
    'compress',
  );
  fails(
    ['-i', 'tcp', '-o', 'websocket', '-p', 'format=xml'],
    'WSR_CONFIG_BAD_VALUE',
    "command line, argument 6: [OUTPUT websocket.0] property 'format': expected one of msgpack|json|json_stream|json_lines|gelf, got 'xml'",
    'format',
  );
  fails(
    ['-i', 'tcp', '-o', 'websocket', '-f', 'soon'],
    'WSR_CONFIG_BAD_VALUE',
    "command line, argument 6: [SERVICE] property 'flush': expected a number of seconds >= 0, got 'soon'",
    'flush',
  );
  fails(
    ['-i', 'tcp', '-o', 'websocket', '-f', '0'],
    'WSR_CONFIG_BAD_VALUE',
    "command line, argument 6: [SERVICE] property 'flush': expected a number of seconds > 0, got '0'",
    'flush',
  );
  fails(
    ['-i', 'tcp', '-o', 'ws://h:x/'],
    'WSR_CONFIG_BAD_VALUE',
    "command line, argument 4: [OUTPUT websocket.0] property 'port': expected an integer 1-65535, got 'x'",
    'port',
  );
});

test('an empty value means the default, with a warning naming key and place', () => {
  const { config, warnings } = run(['-i', 'tcp', '-o', 'websocket', '-p', 'uri=/x', '-p', 'URI=', '-p', 'port=']);
  const output = config.outputs[0]! as WebSocketOutputConfig;
  assert.equal(output.uri, '/');
  assert.equal(output.port, 80);
  assert.deepEqual(warnings, [
    "command line, argument 8: [OUTPUT websocket.0] property 'URI' is empty: using the default (/)",
    "command line, argument 10: [OUTPUT websocket.0] property 'port' is empty: using the default (80)",
  ]);
});

test('Retry_Limit variants', () => {
  assert.equal(ws('retry_limit=3').retryLimit, 3);
  assert.equal(ws('retry_limit=0').retryLimit, 0);
  assert.equal(ws('Retry_Limit=no_retries').retryLimit, 0);
  for (const v of ['no_limits', 'False', 'off', 'unlimited'])
    assert.equal(ws(`retry_limit=${v}`).retryLimit, Infinity, v);
  assert.throws(
    () => ws('retry_limit=-1'),
    /retry_limit': expected a number of retries >= 0, no_limits or no_retries, got '-1'/,
  );
});

test('sizes', () => {
  const ctx: ValueContext = { key: 'size', at: null, section: null };
  assert.equal(parseSize('512', ctx), 512);
  assert.equal(parseSize('32k', ctx), 32768);
  assert.equal(parseSize('32KB', ctx), 32768);
  assert.equal(parseSize('2M', ctx), 2097152);
  assert.equal(parseSize('64MB', ctx), 67108864);
  assert.equal(parseSize('1.5m', ctx), 1572864);
  assert.equal(parseSize('1g', ctx), 1073741824);
  assert.equal(parseSize('100b', ctx), 100);
  assert.equal(parseSizeKb('32', ctx), 32768);
  assert.equal(parseSizeKb('64k', ctx), 65536);
  assert.equal(parseSizeKb('1M', ctx), 1048576);
  assert.throws(
    () => parseSize('12 parsecs', ctx),
    /property 'size': expected a size such as 512, 32k, 2M or 1.5g, got '12 parsecs'/,
  );
  assert.equal(ws('mem_buf_limit=10M', 'chunk_limit_size=512k').memBufLimitBytes, 10 * MIB);
  assert.equal(ws('chunk_limit_size=512k').chunkLimitBytes, 524288);
  assert.equal(inp(['-i', 'tcp', '-p', 'buffer_size=64', '-o', 'websocket']).bufferSizeBytes, 65536);
});

test('booleans', () => {
  const ctx: ValueContext = { key: 'b', at: null, section: null };
  for (const v of ['on', 'TRUE', 'Yes', '1']) assert.equal(parseBoolean(v, ctx), true, v);
  for (const v of ['off', 'False', 'NO', '0']) assert.equal(parseBoolean(v, ctx), false, v);
  assert.equal(parseRetryLimit('7', ctx), 7);
});

test('output mem_buf_limit: its own, else the smallest input limit, else 32M or every chunk in flight', () => {
  const plain = ['-i', 'tcp', '-o', 'websocket', '-m', '*'];
  assert.equal(out(plain).memBufLimitBytes, 32 * MIB, '1 worker × 4 chunks × 2M is less than 32M');
  assert.equal(out([...plain, '-p', 'workers=4']).memBufLimitBytes, 32 * MIB);
  assert.equal(out([...plain, '-p', 'workers=8']).memBufLimitBytes, 64 * MIB, '8 × 4 × 2M');
  assert.equal(
    out([...plain, '-p', 'workers=4', '-p', 'chunk_limit_size=4M', '-p', 'inflight_chunks=3']).memBufLimitBytes,
    48 * MIB,
  );
  const two = ['-i', 'tcp', '-p', 'mem_buf_limit=8M', '-i', 'tcp', '-p', 'port=5171', '-p', 'mem_buf_limit=4M'];
  assert.equal(out([...two, '-o', 'websocket', '-m', '*']).memBufLimitBytes, 4 * MIB);
  assert.equal(out([...two, '-o', 'websocket', '-m', '*', '-p', 'mem_buf_limit=1M']).memBufLimitBytes, MIB);
  assert.equal(run([...two, '-o', 'websocket', '-m', '*']).config.inputs[0]!.memBufLimitBytes, 8 * MIB);
});

test('headers are repeatable and split at the first space', () => {
  assert.deepEqual(ws('header=X-Key some value', 'Header=Authorization: Bearer abc').headers, [
    ['X-Key', 'some value'],
    ['Authorization', 'Bearer abc'],
  ]);
  assert.throws(() => ws('header=NoValue'), /property 'header': expected 'Header-Name value', got 'NoValue'/);
});

test('workers 0 means 1; more than 64 fails', () => {
  assert.equal(ws('workers=0').workers, 1);
  assert.equal(ws('workers=4').workers, 4);
  assert.throws(() => ws('workers=65'), /expected an integer 0-64, got '65'/);
});

test('json_date_key false/off turns the date key off', () => {
  assert.equal(ws('json_date_key=false').dateKey, null);
  assert.equal(ws('json_date_key=OFF').dateKey, null);
  assert.equal(ws('json_date_key=ts').dateKey, 'ts');
});

test('tls on resolves to verified TLS with the system CAs; tls off to none', () => {
  assert.equal(ws('tls=off').tls, null);
  assert.deepEqual(ws('tls=on').tls, {
    ca: null,
    cert: null,
    key: null,
    passphrase: null,
    verify: true,
    verifyHostname: true,
    servername: null,
    minVersion: null,
    maxVersion: null,
    ciphers: null,
  });
});

test('idle_interval is accepted with a warning', () => {
  const { warnings } = run(['-i', 'tcp', '-o', 'websocket', '-p', 'Idle_interval=21']);
  assert.deepEqual(warnings, [
    "command line, argument 6: [OUTPUT websocket.0] 'idle_interval' is obsolete and ignored: pings now probe the connection (see ping_interval, ping_timeout)",
  ]);
});

test('instance names per plugin in order, alias renames; tag defaults to the indexed name', () => {
  const { config, warnings } = run([
    '-i',
    'tcp',
    '-i',
    'tcp',
    '-p',
    'alias=edge',
    '-p',
    'port=5171',
    '-i',
    'tcp',
    '-p',
    'tag=app',
    '-p',
    'port=5172',
    '-o',
    'websocket',
    '-m',
    '*',
    '-o',
    'websocket',
    '-p',
    'alias=backup',
  ]);
  assert.deepEqual(
    config.inputs.map((i) => [i.name, i.tag]),
    [
      ['tcp.0', 'tcp.0'],
      ['edge', 'tcp.1'],
      ['tcp.2', 'app'],
    ],
  );
  assert.deepEqual(
    config.outputs.map((o) => [o.name, o.match]),
    [
      ['websocket.0', '*'],
      ['backup', null],
    ],
  );
  assert.deepEqual(warnings, [
    'command line, argument 20: [OUTPUT websocket.1] has neither match nor match_regex: it will receive no records',
  ]);
});

test('a duplicate alias fails', () => {
  fails(
    ['-i', 'tcp', '-p', 'alias=a', '-i', 'tcp', '-p', 'alias=a', '-o', 'websocket'],
    'WSR_CONFIG_BAD_VALUE',
    "command line, argument 8: [INPUT tcp.1] property 'alias': the name 'a' is already used at command line, argument 2",
    'alias',
  );
});

test('match_regex alone suppresses the implicit match; a bad regex fails', () => {
  const o = ws('match_regex=^app\\.');
  assert.deepEqual([o.match, o.matchRegex], [null, '^app\\.']);
  assert.throws(() => ws('match_regex=('), /property 'match_regex': expected a valid regular expression, got '\('/);
});

test('-v, -vv and -q set the service log level', () => {
  const level = (...a: string[]): string => run(['-i', 'tcp', '-o', 'websocket', ...a]).config.service.logLevel;
  assert.equal(level(), 'info');
  assert.equal(level('-v'), 'debug');
  assert.equal(level('-vv'), 'trace');
  assert.equal(level('-q'), 'error');
});

test('separator escapes', () => {
  const sep = (v: string): string =>
    inp(['-i', 'tcp', '-p', 'format=none', '-p', `separator=${v}`, '-o', 'websocket']).separator;
  assert.equal(sep('\\n'), '\n');
  assert.equal(sep('\\r\\n'), '\r\n');
  assert.equal(sep('\\t'), '\t');
  assert.equal(sep('||'), '||');
  assert.equal(sep('a\\\\b'), 'a\\b');
  assert.throws(() => sep('\\q'), /property 'separator': expected text where a backslash starts/);
});

test('fractional flush and scheduler keys', () => {
  const s = run(['-i', 'tcp', '-o', 'websocket', '-f', '0.25']).config.service;
  assert.equal(s.flushSeconds, 0.25);
  fails(
    ['-i', 'tcp', '-o', 'websocket', '-H', '-P', 'x'],
    'WSR_CONFIG_BAD_VALUE',
    "command line, argument 7: [SERVICE] property 'http_port': expected an integer 0-65535, got 'x'",
    'http_port',
  );
});

test('at least one input and one output are required', () => {
  assert.throws(
    () => run(['-o', 'websocket']),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.code === 'WSR_CONFIG_MISSING' &&
      /no input configured.*-i tcp.*--help/.test(e.message),
  );
  assert.throws(
    () => run(['-i', 'tcp']),
    (e: unknown) =>
      e instanceof ConfigError && e.code === 'WSR_CONFIG_MISSING' && /no output configured.*--help/.test(e.message),
  );
  assert.throws(
    () => run([]),
    (e: unknown) => e instanceof ConfigError && e.code === 'WSR_CONFIG_MISSING',
  );
});

test('errors from a config file name file and line', () => {
  const at = { file: '/etc/wsrelay.conf', line: 12 };
  const raw: RawPipeline = {
    service: { kind: 'service', plugin: '', properties: [], at: { file: '/etc/wsrelay.conf', line: 1 } },
    inputs: [
      {
        kind: 'input',
        plugin: 'TCP',
        properties: [{ key: 'Prot', value: '1', at }],
        at: { file: '/etc/wsrelay.conf', line: 10 },
      },
    ],
    outputs: [],
  };
  assert.throws(
    () => resolvePipeline(raw),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.message.startsWith("/etc/wsrelay.conf:12: [INPUT tcp.0] unknown property 'Prot', did you mean 'port'?"),
  );
});
