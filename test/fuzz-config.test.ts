// Property-based tests (fast-check) on the config parsers: classic and YAML files of random
// text, and mutations of the seed configs (lines dropped, duplicated, swapped; characters
// changed), go through loading and resolution. Every outcome must be a pipeline or a
// ConfigError naming file:line — never another exception, which would reach the user as a stack
// trace instead of "what to fix where". Hostile structure too: includes of devices, FIFOs,
// cycles, oversized files and globs, self-referencing variables, long runs of blanks and
// brackets, YAML aliases and deep nesting: loading must end, with a pipeline or a ConfigError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { ConfigError } from '../src/config/errors.js';
import { loadConfigFile } from '../src/config/load.js';
import { resolvePipeline } from '../src/config/resolve.js';

const dir = mkdtempSync(join(tmpdir(), 'wsrelay-fuzz-config-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const fixture = (name: string): string => readFileSync(new URL(`../../test/fixtures/${name}`, import.meta.url), 'utf8');

const SEEDS = {
  conf: [
    fixture('seed-000.conf'),
    fixture('seed-001.conf'),
    [
      '[SERVICE]',
      '    Flush 0.5',
      '    Log_Level warn',
      '    HTTP_Server On',
      '[INPUT]',
      '    Name forward',
      '    Buffer_Max_Size 1M',
      '    net.max_connections 10',
      '    net.record_timeout 5',
      '[INPUT]',
      '    Name http',
      '    Port 9880',
      '    Tag_Key tag',
      '[OUTPUT]',
      '    Name websocket',
      '    Match *',
      '    Header X-Key a b',
      '    Format json_lines',
      '@SET X=1',
      '[OUTPUT]',
      '    Name stdout',
      '    Match ${X}',
    ].join('\n'),
  ],
  yaml: [
    fixture('seed-001.yaml'),
    [
      'service:',
      '  flush: 1',
      'pipeline:',
      '  inputs:',
      '    - name: http',
      '      port: 9880',
      '      net.io_timeout: 10',
      '  outputs:',
      '    - name: websocket',
      "      match: '*'",
      '      header:',
      '        - X-A 1',
      '        - X-B 2',
    ].join('\n'),
  ],
} as const;

let files = 0;
/** Loads and resolves `text` as a file of that kind; returns the error, null when it resolved. */
function outcome(text: string, ext: 'conf' | 'yaml'): Error | null {
  const path = join(dir, `c${files++}.${ext}`);
  writeFileSync(path, text);
  try {
    resolvePipeline(loadConfigFile(path, {}));
    return null;
  } catch (error) {
    return error as Error;
  } finally {
    rmSync(path, { force: true });
  }
}

function assertConfigError(error: Error | null, text: string): void {
  if (error === null) return;
  assert.ok(error instanceof ConfigError, `${error.constructor.name}: ${error.message}\n--- config:\n${text}`);
  assert.ok(error.message.length > 0);
}

/** A mutation of a seed: whole lines moved or changed, or characters changed. */
function mutations(seeds: readonly string[]): fc.Arbitrary<string> {
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('dup' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('swap' as const), at: fc.nat(), to: fc.nat() }),
    fc.record({ kind: fc.constant('char' as const), at: fc.nat(), text: fc.string({ maxLength: 3, unit: 'binary' }) }),
    fc.record({
      kind: fc.constant('line' as const),
      at: fc.nat(),
      text: fc.constantFrom(
        '[INPUT]',
        '[OUTPUT]',
        '[FILTER]',
        '    Name tcp',
        '    Port 99999',
        '    Port -1',
        '    Buffer_Size 0',
        '    Buffer_Size 1Q',
        '@INCLUDE nope.conf',
        '@INCLUDE *',
        '    net.max_connections x',
        '  - name: tcp',
        '  inputs: 7',
        'pipeline: [',
        ': :',
        '\t\t',
        '\u0000',
        '    Workers 65',
        '    Separator \\',
        '    Match_Regex (',
        '    tls on',
        '    tls.crt_file /nope',
        "'",
        '- - -',
      ),
    }),
  );
  return fc.tuple(fc.constantFrom(...seeds), fc.array(edit, { minLength: 1, maxLength: 4 })).map(([seed, edits]) => {
    let lines = seed.split('\n');
    for (const e of edits) {
      const i = e.at % Math.max(1, lines.length);
      if (e.kind === 'drop') lines.splice(i, 1);
      else if (e.kind === 'dup') lines.splice(i, 0, lines[i] ?? '');
      else if (e.kind === 'swap') {
        const j = e.to % Math.max(1, lines.length);
        [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? ''];
      } else if (e.kind === 'line') lines.splice(i, 0, e.text);
      else {
        const text = lines.join('\n');
        const at = e.at % (text.length + 1);
        lines = `${text.slice(0, at)}${e.text}${text.slice(at + 1)}`.split('\n');
      }
    }
    return lines.join('\n');
  });
}

test('classic config: random text and mutated seeds give a pipeline or a ConfigError', () => {
  fc.assert(
    fc.property(fc.oneof(mutations(SEEDS.conf), fc.string({ maxLength: 200, unit: 'binary' })), (text) => {
      assertConfigError(outcome(text, 'conf'), text);
    }),
    { numRuns: 200 },
  );
});

test('YAML config: random text and mutated seeds give a pipeline or a ConfigError', () => {
  fc.assert(
    fc.property(fc.oneof(mutations(SEEDS.yaml), fc.string({ maxLength: 200, unit: 'binary' })), (text) => {
      assertConfigError(outcome(text, 'yaml'), text);
    }),
    { numRuns: 300 },
  );
});

// ---- hostile structure --------------------------------------------------------------------------

// Files the hostile configs can include, beside the fuzzed file (named c<N>.*, so no glob here
// matches another fuzzed file).
writeFileSync(join(dir, 'loop-a.conf'), '[SERVICE]\n@INCLUDE loop-b.conf\n');
writeFileSync(join(dir, 'loop-b.conf'), '@INCLUDE loop-a.conf\n');
writeFileSync(join(dir, 'loop-a.yaml'), 'includes:\n  - loop-b.yaml\n');
writeFileSync(join(dir, 'loop-b.yaml'), 'includes: [loop-a.yaml]\n');
mkdirSync(join(dir, 'g'));
writeFileSync(join(dir, 'g', '1.conf'), '[INPUT]\n    Name dummy\n');
writeFileSync(join(dir, 'g', '2.conf'), '@INCLUDE ../g/*.conf\n');
writeFileSync(join(dir, 'big.conf'), '');
truncateSync(join(dir, 'big.conf'), 17 * 1024 * 1024);
execFileSync('mkfifo', [join(dir, 'fifo.conf')]);

const INCLUDED = [
  '/dev/zero',
  '/dev/null',
  'fifo.conf',
  'loop-a.conf',
  'loop-a.yaml',
  'g/*.conf',
  'g',
  '*',
  'big.conf',
  'missing.conf',
  '${NOPE}',
  '${A}',
  `${'*'.repeat(300)}x`,
];

/** A long run of one character, inside or around something that used to backtrack. */
const longRun = fc
  .tuple(
    fc.constantFrom(' ', '\t', '[', '${', '*', ':', '\r', '\u2028'),
    fc.integer({ min: 1, max: 50_000 }),
    fc.constantFrom('[', 'Tag ', '@SET ', '    Header X-A a', '    Mem_Buf_Limit 1', '@INCLUDE ', ''),
    fc.constantFrom('x', ']', '\r', '', '}'),
  )
  .map(([c, n, before, after]) => `${before}${c.repeat(n)}${after}`);

const classicLine = fc.oneof(
  fc.constantFrom(
    '[INPUT]',
    '[OUTPUT]',
    '[SERVICE]',
    '    Name dummy',
    '    Name null',
    '    Name websocket',
    '    Match *',
    '@SET A=${A}',
    '@SET B=${A}${A}${A}',
    '@SET C=${B}${B}',
    '    Tag ${C}',
    '    Tag ${',
    '    Tag ${}',
    '    Tag ${A:-x}',
    '    Header X-Key ${B}',
    '    Token ${A}',
    '@SET',
    '@SET =1',
    '[]',
    '[ ]',
  ),
  fc.constantFrom(...INCLUDED).map((f) => `@INCLUDE ${f}`),
  longRun,
);

const yamlChunk = fc.oneof(
  fc.constantFrom(
    'service:\n  flush: 1\n',
    'service: {flush: 1, flush: 2}\n',
    'env:\n  A: &a x\n  B: *a\n',
    'env: {A: ${A}}\n',
    'pipeline:\n  inputs:\n    - &i {name: dummy, tag: t}\n    - *i\n  outputs:\n    - {name: null, match: "*"}\n',
    'pipeline:\n  outputs:\n    - name: websocket\n      header: &h [X-A 1, X-B 2]\n      h2: *h\n',
    '*nope\n',
    '&x\n',
    'pipeline: {inputs: *x}\n',
    '? [a]\n: b\n',
  ),
  fc.constantFrom(...INCLUDED).map((f) => `includes:\n  - ${f}\n`),
  fc.integer({ min: 1, max: 20_000 }).map((n) => `env:\n  A: ${'['.repeat(n)}\n`),
  fc
    .integer({ min: 1, max: 2_000 })
    .map((n) => `env:\n  A: &l [${'x, '.repeat(n)}]\npipeline:\n  inputs: [${'*l, '.repeat(n)}]\n`),
  longRun.map((line) => `service:\n  flush: ${line}\n`),
);

test('classic config: hostile includes, variables and long runs end with a pipeline or a ConfigError', () => {
  fc.assert(
    fc.property(fc.array(classicLine, { maxLength: 25 }), (lines) => {
      const text = lines.join('\n');
      assertConfigError(outcome(text, 'conf'), text.slice(0, 2000));
    }),
    { numRuns: 300 },
  );
});

test('YAML config: hostile includes, aliases, nesting and long runs end with a pipeline or a ConfigError', () => {
  fc.assert(
    fc.property(fc.array(yamlChunk, { maxLength: 6 }), (chunks) => {
      const text = chunks.join('');
      assertConfigError(outcome(text, 'yaml'), text.slice(0, 2000));
    }),
    { numRuns: 300 },
  );
});

test('the seeds themselves resolve (the mutations start from valid configs)', () => {
  for (const text of SEEDS.conf) assert.equal(outcome(text, 'conf'), null);
  for (const text of SEEDS.yaml) assert.equal(outcome(text, 'yaml'), null);
});

test('bad limit values fail at start with file, line, key and what was expected', () => {
  const error = outcome(
    '[INPUT]\n    Name tcp\n    net.max_connections lots\n[OUTPUT]\n    Name null\n    Match *\n',
    'conf',
  );
  assert.ok(error instanceof ConfigError);
  assert.match(error.message, /:3\b/);
  assert.match(error.message, /net\.max_connections/);
  assert.match(error.message, /integer/i);
  const timeout = outcome(
    '[INPUT]\n    Name forward\n    net.record_timeout 0\n[OUTPUT]\n    Name null\n    Match *\n',
    'conf',
  );
  assert.ok(timeout instanceof ConfigError);
  assert.match(timeout.message, /net\.record_timeout.*seconds > 0/);
});
