// TLS and auth settings at start: files read and checked while resolving (errors with file,
// line, key and path), secrets kept out of --dry-run, conflicting keys refused, silent no-ops
// warned about.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgv } from '../src/cli/argv.js';
import { loadConfigFile } from '../src/config/load.js';
import { ConfigError } from '../src/config/errors.js';
import { resolvePipeline, type ResolveResult } from '../src/config/resolve.js';
import type { WebSocketOutputConfig } from '../src/config/types.js';
import { testCerts } from './support/certs.js';

const certs = testCerts();

function run(argv: string[]): ResolveResult {
  const cmd = parseArgv(argv);
  if (cmd.kind !== 'relay') throw new Error(`expected relay, got ${cmd.kind}`);
  return resolvePipeline(cmd.pipeline);
}

const props = (p: Record<string, string>): string[] => Object.entries(p).flatMap(([k, v]) => ['-p', `${k}=${v}`]);
const output = (p: Record<string, string>): string[] => ['-i', 'tcp', '-o', 'websocket', ...props(p)];
const ws = (p: Record<string, string>): ResolveResult => run(output(p));

/** Expects a ConfigError about `key` whose message matches. */
function fails(argv: string[], key: string, message: RegExp): void {
  assert.throws(
    () => run(argv),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.equal(e.code, 'WSR_CONFIG_BAD_VALUE');
      assert.equal(e.key, key);
      assert.match(e.message, message);
      return true;
    },
  );
}

test('a missing certificate file fails the start with file, line, key and path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wsr-tlsconf-'));
  const path = join(dir, 'relay.conf');
  writeFileSync(
    path,
    '[INPUT]\n    Name tcp\n[OUTPUT]\n    Name websocket\n    tls on\n    tls.ca_file /nonexistent/ca.pem\n',
  );
  assert.throws(
    () => resolvePipeline(loadConfigFile(path, {})),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(
        e.message,
        `${path}:6: [OUTPUT websocket.0] property 'tls.ca_file': cannot read /nonexistent/ca.pem: no such file`,
      );
      assert.equal(e.key, 'tls.ca_file');
      return true;
    },
  );
  // The same on a listener, for its certificate.
  fails(
    [
      '-i',
      'forward',
      '-p',
      'tls=on',
      '-p',
      'tls.crt_file=/nonexistent/crt.pem',
      '-p',
      `tls.key_file=${certs.serverKey}`,
      '-o',
      'null',
    ],
    'tls.crt_file',
    /^command line, argument 6: \[INPUT forward\.0\] property 'tls\.crt_file': cannot read \/nonexistent\/crt\.pem: no such file$/,
  );
});

test('tls on without a certificate and key fails on every listener', () => {
  for (const input of ['tcp', 'http', 'forward']) {
    fails(
      ['-i', input, '-p', 'tls=on', '-o', 'null'],
      'tls',
      new RegExp(`\\[INPUT ${input}\\.0\\] property 'tls': on needs both tls\\.crt_file and tls\\.key_file`),
    );
    fails(
      ['-i', input, '-p', 'tls=on', '-p', `tls.crt_file=${certs.serverCert}`, '-o', 'null'],
      'tls',
      /on needs both/,
    );
  }
  fails(
    ['-i', 'tcp', '-o', 'websocket_server', '-p', 'tls=on'],
    'tls',
    /\[OUTPUT websocket_server\.0\] property 'tls': on needs both/,
  );
  const path = join(mkdtempSync(join(tmpdir(), 'wsr-tlsconf-')), 'relay.conf');
  writeFileSync(
    path,
    '[SERVICE]\n    HTTP_Server On\n    HTTP_TLS    On\n[INPUT]\n    Name tcp\n[OUTPUT]\n    Name null\n',
  );
  assert.throws(() => resolvePipeline(loadConfigFile(path, {})), {
    message: `${path}:3: [SERVICE] property 'http_tls': on needs both http_tls.crt_file and http_tls.key_file`,
  });
  fails(
    [
      '-i',
      'tcp',
      '-p',
      'tls=on',
      '-p',
      `tls.crt_file=${certs.serverCert}`,
      '-p',
      `tls.key_file=${certs.serverKey}`,
      '-p',
      'tls.verify_client_cert=on',
      '-o',
      'null',
    ],
    'tls.verify_client_cert',
    /client certificates need tls\.ca_file/,
  );
});

test("a key that is not the certificate's, a wrong or missing password, a file without PEM: each named", () => {
  const listener = (p: Record<string, string>): string[] => ['-i', 'tcp', ...props({ tls: 'on', ...p }), '-o', 'null'];
  fails(
    listener({ 'tls.crt_file': certs.serverCert, 'tls.key_file': certs.clientKey }),
    'tls.key_file',
    /client\.key is not the key of the certificate in .*server\.pem/,
  );
  fails(
    listener({ 'tls.crt_file': certs.serverCert, 'tls.key_file': certs.serverKeyEncrypted }),
    'tls.key_file',
    /server-enc\.key is encrypted: set tls\.key_passwd/,
  );
  fails(
    listener({ 'tls.crt_file': certs.serverCert, 'tls.key_file': certs.serverKeyEncrypted, 'tls.key_passwd': 'wrong' }),
    'tls.key_passwd',
    /property 'tls\.key_passwd': does not decrypt .*server-enc\.key/,
  );
  fails(
    listener({ 'tls.crt_file': certs.serverKey, 'tls.key_file': certs.serverKey }),
    'tls.crt_file',
    /server\.key holds no PEM certificate/,
  );
  fails(
    listener({ 'tls.crt_file': certs.serverCert, 'tls.key_file': certs.serverCert }),
    'tls.key_file',
    /server\.pem holds no PEM private key/,
  );
  fails(output({ tls: 'on', 'tls.crt_file': certs.clientCert }), 'tls.crt_file', /needs tls\.key_file too/);
  fails(
    output({ tls: 'on', rootCARaw: Buffer.from('not a certificate').toString('base64') }),
    'rootcaraw',
    /rootcaraw \(base64\) holds no PEM certificate/,
  );
  assert.throws(() => ws({ tls: 'on', certificationRaw: 'not base64!' }), /expected base64 text/);
  assert.throws(
    () => ws({ tls: 'on', 'tls.min_version': 'SSLv3' }),
    /'tls\.min_version'.*expected TLSv1\.1, TLSv1\.2 or TLSv1\.3/,
  );
  fails(
    output({ tls: 'on', 'tls.min_version': '1.3', 'tls.max_version': 'tlsv1.2' }),
    'tls.max_version',
    /TLSv1\.2 is older than tls\.min_version TLSv1\.3/,
  );
  fails(
    listener({ 'tls.crt_file': certs.serverCert, 'tls.key_file': certs.serverKey, 'tls.ciphers': 'NO-SUCH-CIPHER' }),
    'tls.ciphers',
    /OpenSSL accepts none of 'NO-SUCH-CIPHER'/,
  );
});

test('the resolved config (what --dry-run prints) names certificate files, never keys, passwords or tokens', () => {
  const { config } = ws({
    tls: 'on',
    'tls.ca_file': certs.caFile,
    'tls.crt_file': certs.clientCert,
    'tls.key_file': certs.clientKeyEncrypted,
    'tls.key_passwd': certs.passphrase,
    bearer_token: 'tok-secret-123',
  });
  const o = config.outputs[0] as WebSocketOutputConfig;
  assert.match(o.tls?.key?.text ?? '', /ENCRYPTED PRIVATE KEY/, 'the key itself is there for the workers');
  assert.equal(o.authorization?.value, 'Bearer tok-secret-123');
  const printed = JSON.stringify(config, null, 2);
  assert.ok(printed.includes(certs.caFile) && printed.includes(certs.clientKeyEncrypted), printed);
  for (const secret of ['PRIVATE KEY', 'BEGIN CERTIFICATE', certs.passphrase, 'tok-secret-123']) {
    assert.ok(!printed.includes(secret), `${secret} printed`);
  }
  const basic = ws({ tls: 'on', http_user: 'alice', http_passwd: 'pw' }).config;
  assert.ok(!JSON.stringify(basic).includes(Buffer.from('alice:pw').toString('base64')));
});

test('Authorization from two places is refused; credentials over ws:// are warned about', () => {
  fails(output({ http_passwd: 'pw' }), 'http_passwd', /property 'http_passwd': needs http_user/);
  fails(output({ http_user: 'a', bearer_token: 't' }), 'bearer_token', /not both/);
  fails(output({ bearer_token: 't', header: 'Authorization Bearer other' }), 'bearer_token', /Header Authorization/);
  assert.deepEqual(ws({ bearer_token: 't' }).warnings, [
    '[OUTPUT websocket.0] bearer_token is sent in clear text over ws://: consider tls on',
  ]);
  assert.deepEqual(ws({ bearer_token: 't', tls: 'on' }).warnings, []);
});

test('aliases and precedence: Fluent Bit key over eKuiper alias, path over base64, files with tls off warned', () => {
  const both = ws({
    tls: 'on',
    'tls.ca_file': certs.caFile,
    rootCaPath: certs.selfSignedCert,
    rootCARaw: certs.base64(certs.clientCert),
  });
  assert.equal((both.config.outputs[0] as WebSocketOutputConfig).tls?.ca?.from, certs.caFile);
  assert.deepEqual(both.warnings, ["[OUTPUT websocket.0] 'rootcaraw' is ignored: 'tls.ca_file' is set and wins"]);
  const alias = ws({ tls: 'on', insecureSkipVerify: 'true', rootCaPath: certs.caFile });
  const tls = (alias.config.outputs[0] as WebSocketOutputConfig).tls;
  assert.equal(tls?.verify, false);
  assert.equal(tls?.ca?.from, certs.caFile);
  assert.deepEqual(ws({ 'tls.ca_file': certs.caFile, 'tls.vhost': 'x' }).warnings, [
    '[OUTPUT websocket.0] tls.ca_file, tls.vhost have no effect while tls is off',
  ]);
  const listener = run(['-i', 'tcp', '-p', `tls.ca_file=${certs.caFile}`, '-o', 'null']);
  assert.deepEqual(listener.warnings, ['[INPUT tcp.0] tls.ca_file has no effect while tls is off']);
});

test('on a listener, tls.ca_file with tls.verify on (the default) requires client certificates; tls.verify off does not', () => {
  const listener = (p: Record<string, string>): boolean | undefined => {
    const { config } = run([
      '-i',
      'tcp',
      ...props({ tls: 'on', 'tls.crt_file': certs.serverCert, 'tls.key_file': certs.serverKey, ...p }),
      '-o',
      'null',
    ]);
    return (config.inputs[0] as { tls: { requireClientCert: boolean } | null }).tls?.requireClientCert;
  };
  assert.equal(listener({}), false);
  assert.equal(listener({ 'tls.ca_file': certs.caFile }), true);
  assert.equal(listener({ 'tls.ca_file': certs.caFile, 'tls.verify': 'off' }), false);
  assert.equal(listener({ 'tls.ca_file': certs.caFile, 'tls.verify': 'off', 'tls.verify_client_cert': 'on' }), true);
});
