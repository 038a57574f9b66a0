// parseArgv: Fluent Bit's command-line spellings, argv positions, and the usage errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgv, type CliCommand } from '../src/cli/argv.js';
import { helpText, propertyTable } from '../src/cli/help.js';
import { ConfigError } from '../src/config/errors.js';
import type { RawPipeline } from '../src/config/raw.js';

function relay(argv: string[]): Extract<CliCommand, { kind: 'relay' }> {
  const cmd = parseArgv(argv);
  assert.equal(cmd.kind, 'relay');
  return cmd as Extract<CliCommand, { kind: 'relay' }>;
}

/** Properties of a section as [key, value, argv position] triples. */
function props(section: RawPipeline['inputs'][number]): [string, string, number][] {
  return section.properties.map((p) => [p.key, p.value, p.at.line]);
}

function usageError(argv: string[], line: number, pattern: RegExp): void {
  assert.throws(
    () => parseArgv(argv),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.code, 'WSR_CONFIG_USAGE');
      assert.deepEqual(e.at, { file: 'command line', line });
      assert.match(e.message, pattern);
      return true;
    },
  );
}

test('the documented Fluent Bit command line is split into sections with argv positions', () => {
  const cmd = relay(
    '-i tcp -p listen=127.0.0.1 -p port=5170 -p format=json -o websocket -p host=127.0.0.1 -p port=9000 -p uri=/ -p format=json_lines -m * -f 1'.split(
      ' ',
    ),
  );
  assert.equal(cmd.demo, false);
  assert.equal(cmd.dryRun, false);
  assert.equal(cmd.configFile, null);
  const { service, inputs, outputs } = cmd.pipeline;
  assert.equal(inputs.length, 1);
  assert.equal(outputs.length, 1);
  assert.equal(inputs[0]?.plugin, 'tcp');
  assert.deepEqual(inputs[0]?.at, { file: 'command line', line: 2 });
  assert.deepEqual(props(inputs[0]!), [
    ['listen', '127.0.0.1', 4],
    ['port', '5170', 6],
    ['format', 'json', 8],
  ]);
  assert.equal(outputs[0]?.plugin, 'websocket');
  assert.deepEqual(outputs[0]?.at, { file: 'command line', line: 10 });
  assert.deepEqual(props(outputs[0]!), [
    ['host', '127.0.0.1', 12],
    ['port', '9000', 14],
    ['uri', '/', 16],
    ['format', 'json_lines', 18],
    ['match', '*', 20],
  ]);
  assert.deepEqual(props(service), [['flush', '1', 22]]);
});

test('-o websocket://host:port/path sets host, port and uri', () => {
  const out = relay(['-i', 'tcp', '-o', 'websocket://10.0.0.1:8080/path']).pipeline.outputs[0]!;
  assert.equal(out.plugin, 'websocket');
  assert.deepEqual(props(out), [
    ['host', '10.0.0.1', 4],
    ['port', '8080', 4],
    ['uri', '/path', 4],
  ]);
});

test('ws:// is the websocket plugin; IPv6, missing port and a query are handled', () => {
  assert.deepEqual(props(relay(['-o', 'WS://[::1]:9000/a?b=1']).pipeline.outputs[0]!), [
    ['host', '::1', 2],
    ['port', '9000', 2],
    ['uri', '/a?b=1', 2],
  ]);
  const bare = relay(['-o', 'ws://example.org']).pipeline.outputs[0]!;
  assert.equal(bare.plugin, 'websocket');
  assert.deepEqual(props(bare), [['host', 'example.org', 2]]);
});

test('-i tcp://listen:port sets listen and port', () => {
  assert.deepEqual(props(relay(['-i', 'tcp://127.0.0.1:5171']).pipeline.inputs[0]!), [
    ['listen', '127.0.0.1', 2],
    ['port', '5171', 2],
  ]);
});

test('-o wss:// is the websocket output with tls on; ws:// and websocket:// leave it off', () => {
  assert.deepEqual(props(relay(['-i', 'tcp', '-o', 'wss://h:443/in']).pipeline.outputs[0]!), [
    ['tls', 'on', 4],
    ['host', 'h', 4],
    ['port', '443', 4],
    ['uri', '/in', 4],
  ]);
  for (const url of ['ws://h:80/', 'websocket://h:80/']) {
    const output = relay(['-i', 'tcp', '-o', url]).pipeline.outputs[0]!;
    assert.equal(output.plugin, 'websocket');
    assert.ok(!output.properties.some((p) => p.key === 'tls'), url);
  }
});

test('every value spelling: -pk=v, --prop k=v, --prop=k=v, -f1, --flush=0.5, --input=tcp', () => {
  const cmd = relay(['--input=tcp', '-pport=1', '--prop', 'listen=::', '--prop=format=none', '-f1', '--flush=0.5']);
  assert.deepEqual(props(cmd.pipeline.inputs[0]!), [
    ['port', '1', 2],
    ['listen', '::', 4],
    ['format', 'none', 5],
  ]);
  assert.deepEqual(props(cmd.pipeline.service), [
    ['flush', '1', 6],
    ['flush', '0.5', 7],
  ]);
});

test('-p splits at the first = and keeps the key as written', () => {
  const cmd = relay(['-o', 'websocket', '-p', 'Header=X-Sig a=b=c', '-p', 'URI=']);
  assert.deepEqual(props(cmd.pipeline.outputs[0]!), [
    ['Header', 'X-Sig a=b=c', 4],
    ['URI', '', 6],
  ]);
});

test('-p applies to the last -i or -o; -t to the last input, -m to the last output', () => {
  const cmd = relay(['-i', 'tcp', '-o', 'websocket', '-t', 'app', '-p', 'port=1', '-i', 'tcp', '-m', 'app*']);
  assert.deepEqual(props(cmd.pipeline.inputs[0]!), [['tag', 'app', 6]]);
  assert.deepEqual(props(cmd.pipeline.outputs[0]!), [
    ['port', '1', 8],
    ['match', 'app*', 12],
  ]);
  assert.deepEqual(props(cmd.pipeline.inputs[1]!), []);
});

test('-p, -t, -m without their section fail naming the argument', () => {
  usageError(['-p', 'port=1', '-i', 'tcp'], 2, /option '-p' needs an -i or -o before it/);
  usageError(['-o', 'websocket', '-t', 'x'], 4, /'-t' needs an -i/);
  usageError(['-i', 'tcp', '-m', '*'], 4, /'-m' needs an -o/);
});

test('-p without = and options without values fail', () => {
  usageError(['-i', 'tcp', '-p', 'port'], 4, /expects key=value, got 'port'/);
  usageError(['-i', 'tcp', '-p'], 3, /option '-p' needs a value/);
  usageError(['--flush'], 1, /option '--flush' needs a value/);
});

test('unknown options and stray arguments fail naming them', () => {
  usageError(['-i', 'tcp', '-x'], 3, /unknown option '-x'/);
  usageError(['-vz'], 1, /unknown option '-z' in '-vz'/);
  usageError(['--nope=1'], 1, /unknown option '--nope'/);
  usageError(['-i', 'tcp', 'extra'], 3, /unexpected argument 'extra'/);
  usageError(['--dry-run=yes'], 1, /takes no value/);
});

test('-v raises the level, -vv twice, -q sets error; the last one is kept', () => {
  assert.deepEqual(props(relay(['-v']).pipeline.service), [['log_level', 'debug', 1]]);
  assert.deepEqual(props(relay(['-vv']).pipeline.service), [['log_level', 'trace', 1]]);
  assert.deepEqual(props(relay(['-v', '-v', '-v']).pipeline.service), [['log_level', 'trace', 3]]);
  assert.deepEqual(props(relay(['--verbose', '-q']).pipeline.service), [['log_level', 'error', 2]]);
  assert.deepEqual(props(relay(['-f', '2']).pipeline.service), [['flush', '2', 2]]);
});

test('-H, -P, -D, -c', () => {
  const cmd = relay(['-H', '-P', '2021', '-D', '-c', '/etc/wsrelay.conf']);
  assert.deepEqual(props(cmd.pipeline.service), [
    ['http_server', 'on', 1],
    ['http_port', '2021', 3],
  ]);
  assert.equal(cmd.dryRun, true);
  assert.equal(cmd.configFile, '/etc/wsrelay.conf');
  assert.equal(relay(['-vD']).dryRun, true);
});

test('help and version', () => {
  assert.deepEqual(parseArgv(['-h']), { kind: 'help' });
  assert.deepEqual(parseArgv(['-i', 'tcp', '--help']), { kind: 'help' });
  assert.deepEqual(parseArgv(['-V']), { kind: 'version' });
  assert.deepEqual(parseArgv(['--version']), { kind: 'version' });
});

test('no arguments at all is the demo, with an empty pipeline', () => {
  const cmd = relay([]);
  assert.equal(cmd.demo, true);
  assert.deepEqual(cmd.pipeline.inputs, []);
  assert.deepEqual(cmd.pipeline.outputs, []);
  assert.deepEqual(cmd.pipeline.service.properties, []);
  assert.equal(relay(['-D']).demo, false);
});

test('sink subcommand', () => {
  assert.deepEqual(parseArgv(['sink']), { kind: 'sink', listen: '127.0.0.1', port: 9000, print: false });
  assert.deepEqual(parseArgv(['sink', '--port', '9100', '--listen=0.0.0.0', '--print']), {
    kind: 'sink',
    listen: '0.0.0.0',
    port: 9100,
    print: true,
  });
  assert.deepEqual(parseArgv(['sink', '--help']), { kind: 'help' });
  usageError(['sink', '--port', 'x'], 3, /'--port' expects an integer 0-65535, got 'x'/);
  usageError(['sink', '--bogus'], 2, /unknown sink option '--bogus'/);
});

test('help lists options, the sink, plugins and every property with its default', () => {
  const text = helpText();
  for (const needle of ['--input=INPUT', '--prop=KEY=VALUE', 'sink', 'Input tcp', 'Output websocket']) {
    assert.ok(text.includes(needle), needle);
  }
  for (const kind of ['service', 'tcp', 'websocket'] as const) {
    for (const row of propertyTable(kind).filter((r) => !r.obsolete)) {
      assert.match(text, new RegExp(`\\n {4}${row.key.replace('.', '\\.')} +`), row.key);
    }
  }
  const port = propertyTable('websocket').find((r) => r.key === 'port');
  assert.deepEqual(port && [port.default, port.repeatable], ['80', false]);
  assert.equal(propertyTable('websocket').find((r) => r.key === 'header')?.repeatable, true);
  assert.equal(propertyTable('websocket').find((r) => r.key === 'idle_interval')?.obsolete, true);
  assert.equal(propertyTable('tcp').find((r) => r.key === 'buffer_size')?.default, '32');
});

test('help: -c takes both formats; a repeatable key says so once', () => {
  const text = helpText();
  const config = text.split('\n').find((l) => l.includes('--config=FILE')) ?? '';
  assert.match(config, /YAML/);
  assert.doesNotMatch(config, /classic format\)/);
  assert.doesNotMatch(text, /repeatable.*repeatable/);
  const header = text.split('\n').find((l) => /^ {4}header /.test(l)) ?? '';
  assert.match(header, /\(repeatable\)$/);
});
