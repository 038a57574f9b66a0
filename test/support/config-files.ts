// Config files written for a test under a temporary folder (removed when the file's tests end),
// and the assertion that a config step fails with a given ConfigError.
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ConfigError, type ConfigErrorCode } from '../../src/config/errors.js';

/**
 * A writer of file trees under one temporary folder: each call writes `files` (name → text)
 * under a fresh directory and returns the path of the first.
 */
export function configFileWriter(prefix: string): (files: Record<string, string>) => string {
  const tmp = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  let dirs = 0;
  return (files) => {
    const dir = join(tmp, String(dirs++));
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    return join(dir, Object.keys(files)[0] ?? '');
  };
}

/** `run` throws a ConfigError with this code and message (exact text, or matching). */
export function failsWith(run: () => unknown, code: ConfigErrorCode, message: string | RegExp): ConfigError {
  let caught: unknown;
  assert.throws(run, (e: unknown) => {
    caught = e;
    assert.ok(e instanceof ConfigError, String(e));
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    assert.equal(e.code, code);
    return true;
  });
  return caught as ConfigError;
}
