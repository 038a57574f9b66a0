// Listeners: two on one address:port are a config error at validation (so --dry-run finds it),
// and a listen failure at start exits 2 naming the listener, where it is configured and why,
// with nothing said to have started.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgv } from '../src/cli/argv.js';
import { ConfigError } from '../src/config/errors.js';
import { listenersOverlap } from '../src/config/listeners.js';
import { loadConfigFile } from '../src/config/load.js';
import { resolvePipeline } from '../src/config/resolve.js';
import { freePort, runCli } from './support/child.js';

const overlap = (a: string, b: string, pa = 5170, pb = pa): boolean =>
  listenersOverlap({ listen: a, port: pa }, { listen: b, port: pb });

test('overlap: the same port on the same address, or on a wildcard covering the other', () => {
  assert.equal(overlap('127.0.0.1', '127.0.0.1'), true);
  assert.equal(overlap('0.0.0.0', '127.0.0.1'), true, 'IPv4 wildcard vs a specific IPv4 address');
  assert.equal(overlap('10.0.0.1', '0.0.0.0'), true);
  assert.equal(overlap('0.0.0.0', '0.0.0.0'), true);
  assert.equal(overlap('::', '127.0.0.1'), true, ':: is dual-stack in Node');
  assert.equal(overlap('[::]', '0.0.0.0'), true);
  assert.equal(overlap('', '192.168.1.2'), true, 'an empty address is a wildcard');
  assert.equal(overlap('::', '::1'), true);
  assert.equal(overlap('localhost', '0.0.0.0'), true, 'a host name is covered by a wildcard');
  assert.equal(overlap('::ffff:127.0.0.1', '127.0.0.1'), true, 'an IPv4-mapped address is that IPv4 address');
});

test('no overlap: different ports, port 0, distinct specific addresses, 0.0.0.0 vs a specific IPv6 address', () => {
  assert.equal(overlap('0.0.0.0', '0.0.0.0', 5170, 5171), false);
  assert.equal(overlap('0.0.0.0', '0.0.0.0', 0, 0), false, 'port 0 is a fresh port each time');
  assert.equal(overlap('127.0.0.1', '127.0.0.2'), false);
  assert.equal(overlap('0.0.0.0', '::1'), false);
  assert.equal(overlap('localhost', '127.0.0.1'), false, 'not resolved: the start reports it if it conflicts');
});

function argvPipeline(argv: string[]) {
  const command = parseArgv(argv);
  if (command.kind !== 'relay') throw new Error(command.kind);
  return command.pipeline;
}

function resolveFails(raw: Parameters<typeof resolvePipeline>[0], message: string): void {
  assert.throws(
    () => resolvePipeline(raw),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.equal(e.message, message);
      assert.equal(e.code, 'WSR_CONFIG_BAD_VALUE');
      return true;
    },
  );
}

function configFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'wsrelay-listen-')), 'x.conf');
  writeFileSync(file, text);
  return file;
}

const TWO_INPUTS = (second: string) => `[SERVICE]
    Flush 1

[INPUT]
    Name tcp
    Port 24224

[OUTPUT]
    Name null

[INPUT]
    Name ${second}
`;

test('resolvePipeline: two inputs on one port name both sections with file:line and the address', () => {
  const file = configFile(TWO_INPUTS('forward'));
  resolveFails(
    loadConfigFile(file),
    `${file}:11: [INPUT forward.0] listens on 0.0.0.0:24224, as [INPUT tcp.0] (${file}:4) does`,
  );
});

test('resolvePipeline: the metrics server, websocket_server and inputs, on the command line', () => {
  resolveFails(
    argvPipeline(['-i', 'tcp', '-p', 'port=2020', '-o', 'null', '-H']),
    'command line, argument 2: [INPUT tcp.0] listens on 0.0.0.0:2020, ' +
      'as [SERVICE] (command line, argument 7) does',
  );
  resolveFails(
    argvPipeline([
      '-i',
      'http',
      '-p',
      'listen=127.0.0.1',
      '-p',
      'port=9000',
      '-o',
      'websocket_server',
      '-p',
      'port=9000',
    ]),
    'command line, argument 8: [OUTPUT websocket_server.0] listens on 0.0.0.0:9000, ' +
      'as [INPUT http.0] (command line, argument 2) does on 127.0.0.1:9000',
  );
  resolveFails(
    argvPipeline(['-i', 'dummy', '-o', 'websocket_server', '-p', 'port=7000', '-H', '-P', '7000']),
    'command line, argument 4: [OUTPUT websocket_server.0] listens on 0.0.0.0:7000, ' +
      'as [SERVICE] (command line, argument 9) does',
  );
});

test('resolvePipeline: distinct ports, distinct addresses and port 0 pass', () => {
  resolvePipeline(
    argvPipeline(['-i', 'tcp', '-p', 'port=5170', '-i', 'forward', '-p', 'port=5171', '-o', 'null', '-H']),
  );
  resolvePipeline(
    argvPipeline([
      '-i',
      'tcp',
      '-p',
      'listen=127.0.0.1',
      '-p',
      'port=5170',
      '-i',
      'tcp',
      '-p',
      'listen=127.0.0.2',
      '-p',
      'port=5170',
      '-o',
      'null',
    ]),
  );
  resolvePipeline(argvPipeline(['-i', 'tcp', '-p', 'port=0', '-i', 'http', '-p', 'port=0', '-o', 'null']));
});

test('--dry-run exits 2 on two listeners on one port, and 0 once the ports differ', async () => {
  const file = configFile(TWO_INPUTS('forward'));
  const bad = runCli(['-c', file, '--dry-run']);
  assert.equal(await bad.exited, 2, bad.stderr);
  assert.equal(
    bad.stderr,
    `wsrelay: ${file}:11: [INPUT forward.0] listens on 0.0.0.0:24224, as [INPUT tcp.0] (${file}:4) does\n`,
  );
  assert.equal(bad.stdout, '');

  const good = runCli(['-c', configFile(`${TWO_INPUTS('forward')}    Port 24225\n`), '--dry-run']);
  assert.equal(await good.exited, 0, good.stderr);
  assert.match(good.stdout, /"port": 24225/);
});

async function blocker(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

async function failsToListen(
  args: string[],
  listener: string,
  at: string,
  port: number,
  address = '127.0.0.1',
): Promise<void> {
  const child = runCli(args);
  assert.equal(await child.exited, 2, child.stderr);
  const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  assert.match(
    child.stderr,
    new RegExp(
      `^wsrelay: ${escape(at)}: \\[${escape(listener)}\\] cannot listen on ${escape(address)}:${port}: address already in use$`,
      'm',
    ),
  );
  assert.doesNotMatch(child.stderr, /started/);
}

test('a tcp input on a port in use: exit 2, its name and its -i argument, nothing started', async () => {
  const { server, port } = await blocker();
  try {
    await failsToListen(
      ['-i', 'tcp', '-p', 'listen=127.0.0.1', '-p', `port=${port}`, '-o', 'null'],
      'input:tcp:tcp.0',
      'command line, argument 2',
      port,
    );
  } finally {
    server.close();
  }
});

test("the metrics server on a port in use: exit 2, [http_server] and -P's argument, nothing started", async () => {
  const { server, port } = await blocker();
  const input = await freePort();
  try {
    await failsToListen(
      ['-i', 'tcp', '-p', 'listen=127.0.0.1', '-p', `port=${input}`, '-o', 'null', '-H', '-P', String(port)],
      'http_server',
      'command line, argument 11',
      port,
      '0.0.0.0',
    );
  } finally {
    server.close();
  }
});

test('a websocket_server output (in a file) on a port in use: exit 2, its name and file:line, nothing started', async () => {
  const { server, port } = await blocker();
  const input = await freePort();
  const file = configFile(
    `[SERVICE]\n    HTTP_Listen 127.0.0.1\n\n[INPUT]\n    Name tcp\n    Listen 127.0.0.1\n    Port ${input}\n\n` +
      `[OUTPUT]\n    Name websocket_server\n    Alias live\n    Listen 127.0.0.1\n    Port ${port}\n`,
  );
  try {
    await failsToListen(['-c', file], 'output:websocket_server:live', `${file}:9`, port);
  } finally {
    server.close();
  }
});
