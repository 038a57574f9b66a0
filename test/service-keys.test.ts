// Stock Fluent Bit configurations run unchanged: YAML `name: null`, every [SERVICE] key Fluent
// Bit accepts (some with an effect here, the others accepted with one warning), Parsers_File,
// and Health_Check feeding /api/v1/health.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ConfigError, type ConfigErrorCode } from '../src/config/errors.js';
import { loadConfigFile } from '../src/config/load.js';
import { resolvePipeline, type ResolveResult } from '../src/config/resolve.js';

const tmp = mkdtempSync(join(tmpdir(), 'wsrelay-service-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let dirs = 0;
/** Writes `files` (name → text) under a fresh directory; returns the path of the first. */
function write(files: Record<string, string>): string {
  const dir = join(tmp, String(dirs++));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return join(dir, Object.keys(files)[0] ?? '');
}

const resolveFile = (path: string): ResolveResult => resolvePipeline(loadConfigFile(path, {}));

function fails(run: () => unknown, code: ConfigErrorCode, message: string | RegExp): void {
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    assert.equal(e.code, code);
    return true;
  });
}

test('YAML `name: null` (Fluent Bit docs) is the null output; a null elsewhere is still empty', () => {
  const path = write({ 'null.yaml': 'pipeline:\n  inputs:\n    - name: dummy\n  outputs:\n    - name: null\n      match: "*"\n' });
  const r = resolveFile(path);
  assert.equal(r.config.outputs[0]?.plugin, 'null');
  assert.deepEqual(r.warnings, []);
  // `Null` and `~` keep their spelling too: `~` is no plugin.
  const tilde = write({ 't.yaml': 'pipeline:\n  inputs:\n    - name: dummy\n  outputs:\n    - name: ~\n' });
  fails(() => resolveFile(tilde), 'WSR_CONFIG_UNKNOWN_PLUGIN', /^.*:5: unknown output plugin '~'/);
  // For any other key a bare null is an empty value, as before: the default, with a warning.
  const other = write({ 'o.yaml': 'pipeline:\n  inputs:\n    - name: dummy\n      tag: null\n  outputs:\n    - name: NULL\n' });
  const o = resolveFile(other);
  assert.equal(o.config.outputs[0]?.plugin, 'null');
  assert.equal(o.warnings.length, 1);
  assert.match(o.warnings[0] ?? '', /:4: \[INPUT dummy\.0\] property 'tag' is empty: using the default/);
  // `name:` with nothing after it is still a missing name.
  const empty = write({ 'e.yaml': 'pipeline:\n  inputs:\n    - name: dummy\n  outputs:\n    - name:\n' });
  fails(() => loadConfigFile(empty, {}), 'WSR_CONFIG_MISSING', /:5: \[OUTPUT\] has an empty Name/);
});
