// Secrets never printed: every key that holds a password, token, key or credential is marked
// secret in its schema, and the real CLI's --dry-run shows such a key as `(secret)`, never its
// value, whatever the plugin. The walk over the schemas makes a new secret-looking key without
// the flag fail here, and a new secret key gets its --dry-run check without a line added.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { helpText, propertyTable } from '../src/cli/help.js';
import { ConfigError } from '../src/config/errors.js';
import { loadConfigFile } from '../src/config/load.js';
import { INPUT_SCHEMAS, OUTPUT_SCHEMAS, SERVICE_SCHEMA, type SchemaKind } from '../src/config/properties.js';
import { resolvePipeline } from '../src/config/resolve.js';
import { parseText, prop, type Schema } from '../src/config/schema-kit.js';
import { readSection } from '../src/config/sections.js';
import type { RawSection } from '../src/config/raw.js';
import { inParallel, runCli } from './support/child.js';
import { testCerts } from './support/certs.js';

const certs = testCerts();
const dir = mkdtempSync(join(tmpdir(), 'wsrelay-secrets-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const SCHEMAS: ReadonlyArray<[SchemaKind, Schema]> = [
  ['service', SERVICE_SCHEMA],
  ...(Object.entries(INPUT_SCHEMAS) as Array<[SchemaKind, Schema]>),
  ...(Object.entries(OUTPUT_SCHEMAS) as Array<[SchemaKind, Schema]>),
];
const SECRET_NAME = /passw|secret|token|shared_key|key_passwd|credential|auth/i;
/** Secret keys whose name does not say so. */
const SECRET_ANYWAY: ReadonlyArray<[SchemaKind, string]> = [
  ['websocket', 'header'],
  ['websocket', 'privatekeyraw'],
];
const LISTENERS = new Set<SchemaKind>(['tcp', 'http', 'forward', 'websocket_server']);

const secretKeys = SCHEMAS.flatMap(([kind, schema]) =>
  Object.entries(schema)
    .filter(([, spec]) => spec.secret)
    .map(([key]) => [kind, key] as [SchemaKind, string]),
);

test('every key named like a secret is marked secret in its schema (and so are header and privatekeyraw)', () => {
  const named = SCHEMAS.flatMap(([kind, schema]) =>
    Object.keys(schema)
      .filter((k) => SECRET_NAME.test(k))
      .map((k) => `${kind} ${k}`),
  );
  assert.ok(named.length >= 8, named.join(', ')); // token, shared_key, http_passwd, bearer_token, the key_passwd ones
  for (const [kind, schema] of SCHEMAS) {
    for (const [key, spec] of Object.entries(schema)) {
      if (SECRET_NAME.test(key))
        assert.equal(spec.secret, true, `${kind} '${key}' looks like a secret: mark it { secret: true }`);
    }
  }
  for (const [kind, key] of SECRET_ANYWAY)
    assert.equal(SCHEMAS.find(([k]) => k === kind)?.[1][key]?.secret, true, `${kind} ${key}`);
});

test('--help shows no default for a secret key', () => {
  assert.ok(secretKeys.length >= 10, secretKeys.join(' '));
  // A secret key given a default by the code shows it as (secret) too.
  assert.equal(
    prop<string | null>(parseText, 'changeme', 'a password with a default', { secret: true }).shownDefault,
    '(secret)',
  );
  const help = helpText();
  for (const [kind, key] of secretKeys) {
    const row = propertyTable(kind).find((r) => r.key === key);
    assert.ok(
      row !== undefined && (row.default === 'none' || row.default === '(secret)'),
      `${kind} ${key}: ${row?.default}`,
    );
  }
  assert.ok(!help.includes('correct horse'));
});

/** A private key encrypted with `passphrase`, for the key_passwd keys. */
function encryptedKey(key: string, passphrase: string): string {
  const out = join(dir, `${randomBytes(6).toString('hex')}.key`);
  execFileSync('openssl', ['pkey', '-in', key, '-aes256', '-passout', `pass:${passphrase}`, '-out', out], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return out;
}

interface Case {
  /** Lines of the plugin's section besides Name. */
  readonly lines: string[];
  /** The secret value and what it must not appear as either (base64 forms, PEM text). */
  readonly hidden: string[];
  /** How the printed section shows it instead (a key read from base64 shows where it came from). */
  readonly shown?: string;
}

/**
 * How to set `key` of `kind` to a marker in a config that resolves. By default `key marker`;
 * keys that need others beside them (a TLS key password needs the key) have their own lines.
 */
function caseFor(kind: SchemaKind, key: string, marker: string): Case {
  if (key === 'tls.key_passwd' || key === 'http_tls.key_passwd') {
    const prefix = key.split('.')[0]!;
    const [crt, plainKey] =
      kind === 'websocket' ? [certs.clientCert, certs.clientKey] : [certs.serverCert, certs.serverKey];
    return {
      lines: [
        `${prefix} on`,
        `${prefix}.crt_file ${crt}`,
        `${prefix}.key_file ${encryptedKey(plainKey, marker)}`,
        `${key} ${marker}`,
      ],
      hidden: [marker, certs.pem(plainKey).split('\n')[1]!],
    };
  }
  if (key === 'privatekeyraw') {
    const raw = certs.base64(certs.clientKey);
    return {
      lines: ['tls on', `certificationraw ${certs.base64(certs.clientCert)}`, `privatekeyraw ${raw}`],
      hidden: [raw, certs.pem(certs.clientKey).split('\n')[1]!],
      shown: '"key":"privatekeyraw (base64)"',
    };
  }
  if (key === 'http_passwd') {
    return {
      lines: ['http_user alice', `http_passwd ${marker}`],
      hidden: [marker, Buffer.from(`alice:${marker}`).toString('base64')],
    };
  }
  if (key === 'header') return { lines: [`header X-Api-Key ${marker}`], hidden: [marker] };
  if (key === 'bearer_token')
    return { lines: [`bearer_token ${marker}`], hidden: [marker, Buffer.from(marker).toString('base64')] };
  return { lines: [`${key} ${marker}`], hidden: [marker] };
}

function configText(kind: SchemaKind, lines: readonly string[]): string {
  const props = lines.map((l) => `    ${l}`);
  const listen = LISTENERS.has(kind) ? ['    Listen 127.0.0.1', '    Port 0'] : [];
  if (kind === 'service')
    return ['[SERVICE]', ...props, '[INPUT]', '    Name dummy', '[OUTPUT]', '    Name null', '    Match *', ''].join(
      '\n',
    );
  if (Object.hasOwn(INPUT_SCHEMAS, kind)) {
    return ['[INPUT]', `    Name ${kind}`, ...listen, ...props, '[OUTPUT]', '    Name null', '    Match *', ''].join(
      '\n',
    );
  }
  return ['[INPUT]', '    Name dummy', '[OUTPUT]', `    Name ${kind}`, '    Match *', ...listen, ...props, ''].join(
    '\n',
  );
}

test('the real CLI: --dry-run shows every secret key of every plugin as (secret), its value nowhere', async () => {
  assert.ok(secretKeys.length >= 10, secretKeys.join(' '));
  const runs = secretKeys.map(([kind, key]) => {
    const marker = `WSRMARK${randomBytes(8).toString('hex')}`;
    const c = caseFor(kind, key, marker);
    const file = join(dir, `${kind}-${key}.conf`);
    writeFileSync(file, configText(kind, c.lines));
    return { kind, key, c, file };
  });
  // Each run reads only its own file: a few at a time.
  const done = await inParallel(runs, 3, async ({ file }) => {
    const child = runCli(['--dry-run', '-c', file]);
    return { child, code: await child.exited };
  });
  for (const [i, { kind, key, c }] of runs.entries()) {
    const { child, code } = done[i]!;
    const what = `${kind} ${key}`;
    assert.equal(code, 0, `${what}: ${child.stderr}`);
    for (const hidden of c.hidden) {
      assert.ok(
        !child.stdout.includes(hidden) && !child.stderr.includes(hidden),
        `${what}: '${hidden}' printed:\n${child.stdout}${child.stderr}`,
      );
    }
    const printed = JSON.parse(child.stdout) as { service: object; inputs: object[]; outputs: object[] };
    const section =
      kind === 'service'
        ? printed.service
        : Object.hasOwn(INPUT_SCHEMAS, kind)
          ? printed.inputs[0]
          : printed.outputs[0];
    const shown = c.shown ?? '"(secret)"';
    assert.ok(JSON.stringify(section).includes(shown), `${what}: not shown as ${shown}: ${JSON.stringify(section)}`);
  }
});

test('the real CLI: a bad value of a secret key is refused without quoting it', async () => {
  const marker = `WSRMARK${randomBytes(8).toString('hex')}`;
  for (const args of [
    ['-i', 'dummy', '-o', 'websocket_server', '-p', `token=${marker} two words`],
    ['-i', 'forward', '-p', `shared_key=${marker} and more`, '-o', 'null'],
    ['-i', 'dummy', '-o', 'websocket', '-p', `header=X-Key ${marker}\u0001`],
  ]) {
    const child = runCli(['--dry-run', ...args]);
    assert.equal(await child.exited, 2, child.stderr);
    assert.match(child.stderr, /^wsrelay: command line, argument \d+: \[/);
    assert.ok(!child.stderr.includes(marker) && !child.stdout.includes(marker), child.stderr);
  }
});

test('a secret set through ${VAR} or a YAML file is hidden the same way', () => {
  const marker = `WSRMARK${randomBytes(8).toString('hex')}`;
  const yaml = join(dir, 'env.yaml');
  writeFileSync(
    yaml,
    [
      'env:',
      `  KEY: ${marker}`,
      'pipeline:',
      '  inputs:',
      '    - name: forward',
      '      shared_key: ${KEY}',
      '  outputs:',
      '    - name: websocket_server',
      '      match: "*"',
      '      token: ${TOKEN}',
      '',
    ].join('\n'),
  );
  const { config, warnings } = resolvePipeline(loadConfigFile(yaml, { TOKEN: `${marker}-t` }));
  const printed = JSON.stringify(config, null, 2);
  assert.ok(!printed.includes(marker), printed);
  assert.match(printed, /"sharedKey": "\(secret\)"/);
  assert.match(printed, /"token": "\(secret\)"/);
  assert.ok(!warnings.join('\n').includes(marker));
  // The engine still reads the real values.
  assert.equal((config.inputs[0] as { sharedKey: string }).sharedKey, marker);
});

test('a parser that quotes the value of a secret key has its message replaced', () => {
  const quoting = prop<string | null>(
    (v, ctx) => {
      throw new ConfigError('WSR_CONFIG_BAD_VALUE', `property 'k': '${v.slice(0, 30)}' is no good`, {
        at: ctx.at,
        section: ctx.section,
      });
    },
    null,
    'a key whose parser quotes what it got',
    { secret: true },
  );
  const section: RawSection = {
    kind: 'input',
    plugin: 'x',
    at: { file: 'f.conf', line: 1 },
    properties: [{ key: 'k', value: 'WSRMARK-0123456789-0123456789-0123456789', at: { file: 'f.conf', line: 2 } }],
  };
  assert.throws(
    () => readSection({ k: quoting }, section, 'INPUT x.0', []),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.message, "f.conf:2: [INPUT x.0] property 'k': not a valid value (not shown: the key is secret)");
      return true;
    },
  );
});
