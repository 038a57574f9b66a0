// README.md's reference must match the code: every property, with its default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { propertyTable } from '../src/cli/help.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

test('README lists every property of every plugin with its current default', () => {
  for (const kind of ['service', 'tcp', 'http', 'forward', 'dummy', 'websocket', 'stdout', 'null', 'websocket_server'] as const) {
    for (const row of propertyTable(kind)) {
      const shown = row.default === '' ? '—' : `\`${row.default}\``;
      assert.ok(readme.includes(`| \`${row.key}\` | ${shown} |`), `${kind} ${row.key} (default ${shown}) missing from README`);
    }
  }
});

test('README gives the two commands', () => {
  assert.match(readme, /make run/);
  assert.match(readme, /make test/);
});
