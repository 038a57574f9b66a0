// Config files (classic and YAML) → RawPipeline → resolvePipeline: the two seed configs run
// unchanged, includes/@SET/${VAR} work, and every mistake is reported with file:line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConfigErrorCode } from '../src/config/errors.js';
import { loadConfigFile } from '../src/config/load.js';
import { resolvePipeline, type ResolveResult } from '../src/config/resolve.js';
import type { TcpInputConfig, WebSocketOutputConfig } from '../src/config/types.js';
import type { RawPipeline } from '../src/config/raw.js';
import { configFileWriter, failsWith } from './support/config-files.js';

/** Fixtures are not compiled: from dist/test/ they are two levels up. */
const fixture = (name: string): string => fileURLToPath(new URL(`../../test/fixtures/${name}`, import.meta.url));

const write = configFileWriter('wsrelay-config-');

const NO_ENV: NodeJS.ProcessEnv = {};
const resolveFile = (path: string, env: NodeJS.ProcessEnv = NO_ENV): ResolveResult =>
  resolvePipeline(loadConfigFile(path, env));

const fails = failsWith;

/** The fields the seeds set, and a few defaults next to them, of the only input and output. */
function summary(r: ResolveResult): { input: Partial<TcpInputConfig>; output: Partial<WebSocketOutputConfig> } {
  const i = r.config.inputs[0];
  const o = r.config.outputs[0];
  assert.ok(
    i?.plugin === 'tcp' && o?.plugin === 'websocket' && r.config.inputs.length === 1 && r.config.outputs.length === 1,
  );
  return {
    input: { name: i.name, listen: i.listen, port: i.port, format: i.format },
    output: {
      name: o.name,
      match: o.match,
      host: o.host,
      port: o.port,
      uri: o.uri,
      format: o.format,
      workers: o.workers,
      keepalive: o.keepalive,
      keepaliveIdleTimeoutSeconds: o.keepaliveIdleTimeoutSeconds,
      headers: o.headers,
    },
  };
}

const SEED_INPUT = { name: 'tcp.0', listen: '0.0.0.0', port: 5170, format: 'json' } as const;
const SEED_001 = {
  input: SEED_INPUT,
  output: {
    name: 'websocket.0',
    match: '*',
    host: '127.0.0.1',
    port: 8080,
    uri: '/',
    format: 'json',
    workers: 4,
    keepalive: true,
    keepaliveIdleTimeoutSeconds: 30,
    headers: [],
  },
};

test('seed 000 (the numbered docs example, Idle_interval 21) parses and resolves', () => {
  const path = fixture('seed-000.conf');
  const raw = loadConfigFile(path, NO_ENV);
  assert.equal(raw.inputs[0]?.plugin, 'tcp');
  assert.deepEqual(raw.inputs[0]?.properties[1], { key: 'Port', value: '5170', at: { file: path, line: 4 } });
  assert.deepEqual(raw.outputs[0]?.at, { file: path, line: 6 });
  const r = resolvePipeline(raw);
  assert.deepEqual(summary(r), {
    input: SEED_INPUT,
    output: {
      name: 'websocket.0',
      match: '*',
      host: '127.0.0.1',
      port: 9000,
      uri: '/',
      format: 'json',
      workers: 1,
      keepalive: true,
      keepaliveIdleTimeoutSeconds: 0,
      headers: [],
    },
  });
  assert.deepEqual(r.warnings, [
    `${path}:13: [OUTPUT websocket.0] 'idle_interval' is obsolete and ignored: pings now probe the connection (see ping_interval, ping_timeout)`,
  ]);
});

test('seed 001 (indented, a TAB before 4, net.keepalive on) parses and resolves', () => {
  const path = fixture('seed-001.conf');
  assert.match(readFileSync(path, 'utf8'), /workers\t {3}4\n/); // The fixture is the verbatim seed.
  const raw = loadConfigFile(path, NO_ENV);
  assert.deepEqual(raw.outputs[0]?.properties[5], { key: 'workers', value: '4', at: { file: path, line: 14 } });
  const r = resolvePipeline(raw);
  assert.deepEqual(summary(r), SEED_001);
  assert.deepEqual(r.warnings, []);
});

test('CRLF line ends and a BOM read the same as LF', () => {
  const text = readFileSync(fixture('seed-001.conf'), 'utf8');
  const path = write({ 'crlf.conf': '\uFEFF' + text.replaceAll('\n', '\r\n') });
  assert.deepEqual(summary(resolveFile(path)), SEED_001);
});

test('the YAML version of seed 001 resolves the same, with YAML line numbers', () => {
  const path = fixture('seed-001.yaml');
  const raw = loadConfigFile(path, NO_ENV);
  assert.deepEqual(raw.outputs[0]?.at, { file: path, line: 10 });
  assert.deepEqual(raw.outputs[0]?.properties[5], { key: 'workers', value: '4', at: { file: path, line: 16 } });
  assert.deepEqual(summary(resolvePipeline(raw)), SEED_001);
});

test('an empty value (URI alone on its line) means the default, with a warning at its line', () => {
  const path = fixture('empty-uri.conf');
  const r = resolveFile(path);
  assert.equal(summary(r).output.uri, '/');
  assert.deepEqual(r.warnings, [`${path}:10: [OUTPUT websocket.0] property 'URI' is empty: using the default (/)`]);
});

test('includes: a glob and nested relative paths, repeated [SERVICE] merged', () => {
  const path = fixture('include/main.conf');
  const raw = loadConfigFile(path, NO_ENV);
  const dir = dirname(path);
  assert.deepEqual(raw.service.properties, [
    { key: 'Flush', value: '2', at: { file: path, line: 4 } },
    { key: 'Log_Level', value: 'debug', at: { file: join(dir, 'more/service.conf'), line: 3 } },
  ]);
  assert.deepEqual(
    raw.inputs.map((s) => s.at),
    [
      { file: join(dir, 'conf.d/10-first.conf'), line: 1 },
      { file: join(dir, 'conf.d/20-second.conf'), line: 1 },
    ],
  );
  const r = resolvePipeline(raw);
  assert.deepEqual(
    r.config.inputs.map((i) => [i.name, i.plugin === 'tcp' ? i.port : 0]),
    [
      ['tcp.0', 5170],
      ['tcp.1', 5171],
    ],
  );
  assert.equal(r.config.outputs[0]?.plugin === 'websocket' && r.config.outputs[0].port, 9000);
  assert.equal(r.config.service.flushSeconds, 2);
  assert.equal(r.config.service.logLevel, 'debug');
});

test('a missing include names the including file:line and the path', () => {
  const path = write({ 'main.conf': '[INPUT]\n    Name tcp\n@INCLUDE   sub/missing.conf\n' });
  const dir = dirname(path);
  fails(
    () => loadConfigFile(path, NO_ENV),
    'WSR_CONFIG_MISSING',
    `${path}:3: cannot read included file '${join(dir, 'sub/missing.conf')}': no such file`,
  );
  const glob = write({ 'main.conf': '@INCLUDE conf.d/*.conf\n', 'conf.d/a.txt': '' });
  fails(
    () => loadConfigFile(glob, NO_ENV),
    'WSR_CONFIG_MISSING',
    `${glob}:1: include 'conf.d/*.conf' matches no file in '${join(dirname(glob), 'conf.d')}'`,
  );
});

test('an include cycle is an error, a file included twice side by side is not', () => {
  const a = write({ 'a.conf': '[SERVICE]\n    Flush 1\n@INCLUDE b.conf\n', 'b.conf': '\n@INCLUDE a.conf\n' });
  const b = join(dirname(a), 'b.conf');
  fails(() => loadConfigFile(a, NO_ENV), 'WSR_CONFIG_USAGE', `${b}:2: include cycle: ${a} -> ${b} -> ${a}`);
  const twice = write({ 'main.conf': '@INCLUDE in.conf\n@INCLUDE in.conf\n', 'in.conf': '[INPUT]\n    Name tcp\n' });
  assert.equal(loadConfigFile(twice, NO_ENV).inputs.length, 2);
});

test('@SET, then the environment, then ${NAME:-default}', () => {
  const path = fixture('vars.conf');
  const r = resolveFile(path, { WS_HOST: 'relay.example', WS_PORT: '1', TCP_PORT: '' });
  const s = summary(r);
  assert.equal(s.input.port, 5180); // TCP_PORT is empty: the default wins, as in a shell.
  assert.deepEqual(r.warnings, []);
  assert.deepEqual([s.output.host, s.output.port, s.output.uri], ['relay.example', 9100, '/logs/in']);
  const other = summary(resolveFile(path, { WS_HOST: 'h', WS_PATH: 'v2', TCP_PORT: '6000' }));
  assert.deepEqual([other.input.port, other.output.uri], [6000, '/v2/in']);
});

test('an @SET later in the file still applies (one variable table, as in Fluent Bit)', () => {
  const path = write({ 'late.conf': '[INPUT]\n    Name tcp\n    Port ${P}\n@SET P=7000\n' });
  assert.deepEqual(loadConfigFile(path, NO_ENV).inputs[0]?.properties, [
    { key: 'Port', value: '7000', at: { file: path, line: 3 } },
  ]);
});

test('an undefined variable is an error naming it, at its line', () => {
  const path = fixture('vars.conf');
  fails(
    () => loadConfigFile(path, NO_ENV),
    'WSR_CONFIG_BAD_VALUE',
    `${path}:11: variable 'WS_HOST' is not defined (set it with @SET, in env:, or in the environment; or write \${WS_HOST:-default})`,
  );
});

test('[FILTER] and unknown sections are refused at their line', () => {
  const path = write({ 'f.conf': '[INPUT]\n    Name tcp\n\n[filter]\n    Name grep\n' });
  fails(
    () => loadConfigFile(path, NO_ENV),
    'WSR_CONFIG_UNSUPPORTED',
    `${path}:4: [FILTER] filters are not supported yet`,
  );
  const other = write({ 'o.conf': '[INPUTS]\n    Name tcp\n' });
  fails(
    () => loadConfigFile(other, NO_ENV),
    'WSR_CONFIG_USAGE',
    `${other}:1: unknown section [INPUTS] (wsrelay understands [SERVICE], [INPUT] and [OUTPUT])`,
  );
  const parser = write({ 'p.conf': '# parsers\n[PARSER]\n    Name json\n' });
  fails(
    () => loadConfigFile(parser, NO_ENV),
    'WSR_CONFIG_UNSUPPORTED',
    `${parser}:2: [PARSER] sections are not supported`,
  );
});

test('syntax mistakes: outside a section, no Name, two Names, bad header, unknown directive', () => {
  const cases: Array<[string, ConfigErrorCode, string]> = [
    [
      'Flush 1\n',
      'WSR_CONFIG_USAGE',
      "1: property 'Flush' is outside any section: put it under [SERVICE], [INPUT] or [OUTPUT]",
    ],
    [
      '[INPUT]\n    Name tcp\n[OUTPUT]\n    Match *\n',
      'WSR_CONFIG_MISSING',
      "3: [OUTPUT] has no Name: add e.g. 'Name websocket'",
    ],
    ['[INPUT]\n    Name tcp\n    name http\n', 'WSR_CONFIG_USAGE', '3: [INPUT] has two Name lines (the first at {}:2)'],
    ['[INPUT\n', 'WSR_CONFIG_USAGE', "1: malformed section header '[INPUT': expected e.g. [INPUT]"],
    ['@INCLUDES x.conf\n', 'WSR_CONFIG_USAGE', '1: unknown directive @INCLUDES (known: @INCLUDE, @SET)'],
    ['@SET NOVALUE\n', 'WSR_CONFIG_USAGE', "1: malformed @SET 'NOVALUE': expected @SET NAME=value"],
  ];
  for (const [text, code, message] of cases) {
    const path = write({ 'bad.conf': text });
    fails(() => loadConfigFile(path, NO_ENV), code, `${path}:${message.replace('{}', path)}`);
  }
});

test('an unknown key and a bad number are reported by resolve with file:line and the key', () => {
  const path = write({ 'k.conf': '[INPUT]\n    Name tcp\n[OUTPUT]\n    Name websocket\n    Prot 9000\n' });
  fails(
    () => resolveFile(path),
    'WSR_CONFIG_UNKNOWN_KEY',
    new RegExp(`^${escape(path)}:5: \\[OUTPUT websocket\\.0\\] unknown property 'Prot', did you mean 'port'\\?`),
  );
  const num = write({ 'n.conf': '[INPUT]\n    Name tcp\n    Port  51x0\n[OUTPUT]\n    Name websocket\n' });
  fails(
    () => resolveFile(num),
    'WSR_CONFIG_BAD_VALUE',
    `${num}:3: [INPUT tcp.0] property 'Port': expected an integer 0-65535, got '51x0'`,
  );
});

test('a missing or unreadable main file is named', () => {
  const tmp = dirname(write({ placeholder: '' }));
  const path = join(tmp, 'nowhere.conf');
  fails(() => loadConfigFile(path, NO_ENV), 'WSR_CONFIG_MISSING', `cannot read config file '${path}': no such file`);
  fails(
    () => loadConfigFile(tmp + '/x.yaml', NO_ENV),
    'WSR_CONFIG_MISSING',
    `cannot read config file '${tmp}/x.yaml': no such file`,
  );
  fails(() => loadConfigFile(tmp, NO_ENV), 'WSR_CONFIG_MISSING', `cannot read config file '${tmp}': it is a directory`);
});

test('YAML: includes, env:, header lists, empty value', () => {
  const path = fixture('yaml-include.yaml');
  const r = resolveFile(path, { ENV_NAME: 'prod' });
  const s = summary(r);
  assert.equal(s.input.port, 5999);
  assert.deepEqual([s.output.host, s.output.port, s.output.uri], ['localhost', 9300, '/']);
  assert.deepEqual(s.output.headers, [
    ['X-Token', 'abc'],
    ['X-Env', 'prod'],
  ]);
  assert.equal(r.config.service.flushSeconds, 0.5);
  assert.deepEqual(r.warnings, [`${path}:13: [OUTPUT websocket.0] property 'uri' is empty: using the default (/)`]);
  fails(
    () => loadConfigFile(path, NO_ENV),
    'WSR_CONFIG_BAD_VALUE',
    new RegExp(`^${escape(path)}:16: variable 'ENV_NAME' is not defined`),
  );
});

test('YAML errors point at the right line', () => {
  const cases: Array<[string, ConfigErrorCode, string]> = [
    [
      'pipeline:\n  inputs:\n    - name: tcp\n  filters:\n    - name: grep\n',
      'WSR_CONFIG_UNSUPPORTED',
      '4: [FILTER] filters are not supported yet',
    ],
    [
      'pipeline:\n  inputs:\n    - name: tcp\n      port: 1\n      port: 2\n',
      'WSR_CONFIG_USAGE',
      '5: invalid YAML: Map keys must be unique',
    ],
    [
      'service:\n  flush: 1\n\tlog_level: info\n',
      'WSR_CONFIG_USAGE',
      '3: invalid YAML: Tabs are not allowed as indentation',
    ],
    [
      'pipeline:\n  outputs:\n    - match: "*"\n      port: 80\n',
      'WSR_CONFIG_MISSING',
      "3: [OUTPUT] has no Name: add e.g. 'Name websocket'",
    ],
    [
      'pipeline:\n  inputs:\n    - name: tcp\n      port:\n        a: 1\n',
      'WSR_CONFIG_USAGE',
      "5: 'port' must be a single value, not a map",
    ],
    [
      '\nsevice:\n  flush: 1\n',
      'WSR_CONFIG_USAGE',
      "2: unknown top-level key 'sevice' (known: service, pipeline, env, includes)",
    ],
    ['pipeline:\n  inputs:\n    name: tcp\n', 'WSR_CONFIG_USAGE', "3: 'inputs' must be a list ('- ...' items)"],
    ['includes:\n  - other.yaml\n', 'WSR_CONFIG_MISSING', "2: cannot read included file '{}/other.yaml': no such file"],
  ];
  for (const [text, code, message] of cases) {
    const path = write({ 'bad.yaml': text });
    fails(() => loadConfigFile(path, NO_ENV), code, `${path}:${message.replace('{}', dirname(path))}`);
  }
  // Line numbers survive into resolve's messages.
  const path = write({
    'k.yml': '# comment\npipeline:\n  inputs:\n    - name: tcp\n      port: 99999\n  outputs:\n    - name: websocket\n',
  });
  fails(
    () => resolveFile(path),
    'WSR_CONFIG_BAD_VALUE',
    `${path}:5: [INPUT tcp.0] property 'port': expected an integer 0-65535, got '99999'`,
  );
});

test('classic and YAML versions of seed 001 give the same raw keys and values', () => {
  const strip = (p: RawPipeline): unknown =>
    [...p.inputs, ...p.outputs].map((s) => [s.plugin, s.properties.map((q) => [q.key.toLowerCase(), q.value])]);
  assert.deepEqual(
    strip(loadConfigFile(fixture('seed-001.yaml'), NO_ENV)),
    strip(loadConfigFile(fixture('seed-001.conf'), NO_ENV)),
  );
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
