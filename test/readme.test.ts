// README.md is for a newcomer: what it is, the two commands, one command line, one config
// file, and where the rest is. The reference lives in docs/ (test/docs-*.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

test('README gives the two commands', () => {
  assert.match(readme, /make run/);
  assert.match(readme, /make test/);
});

test('README stays short: the reference is in docs/', () => {
  const lines = readme.split('\n').length;
  assert.ok(lines <= 300, `README.md has ${lines} lines; move reference material to docs/`);
  // The property tables moved to the generated docs/CONFIGURATION.md.
  assert.doesNotMatch(readme, /^\| `tls\.ca_file` \|/m);
});

test('README points to every reference document', () => {
  for (const doc of [
    'CONFIGURATION',
    'PLUGINS',
    'DELIVERY',
    'SERVER',
    'SECURITY',
    'OPERATIONS',
    'METRICS',
    'PERFORMANCE',
    'ARCHITECTURE',
  ]) {
    assert.ok(readme.includes(`](docs/${doc}.md)`), `README.md does not link docs/${doc}.md`);
  }
});

test('README shows one command line and one config file', () => {
  assert.match(readme, /```sh\nwsrelay -i tcp /);
  assert.match(readme, /```ini\n(?:@SET [^\n]*\n)?\[SERVICE\]/);
});
