// Every config and every wsrelay command line shown in README.md and docs/*.md (and the config
// files in examples/) runs through the real CLI: `node dist/src/cli.js -c FILE --dry-run` for
// a config, the command line with --dry-run appended for a command. Exit 0 and no error line
// expected, unless the block is preceded by `<!-- expect-error: MESSAGE -->`: then exit 2 and
// MESSAGE on standard error. Only exit codes and error lines are checked, not the JSON printed.
//
// What the examples need is provided as the docs say: the certificates named /etc/wsrelay/*.pem
// and *.key are test certificates (openssl, test/support/certs.ts) copied under those names into
// a temporary directory that stands in for /etc/wsrelay, and INGEST_TOKEN is set. A config with
// no [INPUT] (or no [OUTPUT]) is a fragment: it runs with `-i dummy` (`-o null`) added on the
// command line, which wsrelay merges with the file as Fluent Bit does.
// Shell lines that are not wsrelay command lines (make, echo, curl, docker ...) are skipped and
// counted by their first word; the counts are in the test names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgv } from '../src/cli/argv.js';
import { testCerts } from './support/certs.js';
import { cliPath, inParallel } from './support/child.js';
import { docFiles, fencedBlocks, readDoc, repoRoot } from './support/markdown.js';

const DOCUMENTED_DIR = '/etc/wsrelay/';
const ENV = { INGEST_TOKEN: 'docs-example-token' };

interface Example {
  readonly where: string;
  readonly kind: 'classic' | 'yaml' | 'command';
  readonly text: string;
  readonly expectError: string | null;
  /** Commands: environment assignments written before the command (`NAME=value wsrelay ...`). */
  readonly env?: Record<string, string>;
  readonly args?: string[];
}

// ---- shell lines --------------------------------------------------------------------------

/** Lines of a shell block: continuations joined, comments and a `$ ` prompt removed. */
function shellLines(body: string): string[] {
  return body
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) =>
      stripComment(line)
        .replace(/^\s*\$\s+/, '')
        .trim(),
    )
    .filter((line) => line !== '');
}

function stripComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote !== null) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"') i++;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === '\\') {
      i++;
    } else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) {
      return line.slice(0, i);
    }
  }
  return line;
}

/** Words of a simple command (quotes and backslashes as sh reads them); null if it needs more of a shell. */
function words(line: string): string[] | null {
  const out: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return null;
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      let text = '';
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '$' || line[j] === '`') return null;
        if (line[j] === '\\' && /["\\$`]/.test(line[j + 1] ?? '')) j++;
        text += line[j];
      }
      if (j >= line.length) return null;
      word = (word ?? '') + text;
      i = j;
    } else if (c === '\\') {
      word = (word ?? '') + (line[i + 1] ?? '');
      i++;
    } else if (/\s/.test(c)) {
      if (word !== null) out.push(word);
      word = null;
    } else if (/[|&;<>()$`*?[\]{}~]/.test(c)) {
      // Pipes, redirections, substitutions, unquoted globs: not a plain command line.
      return null;
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== null) out.push(word);
  return out;
}

const CLI_PREFIXES = [['wsrelay'], ['node', 'dist/src/cli.js']];
/** A wsrelay command line: the command, then options or the sink subcommand (not output such as `wsrelay tcp→ws: 1,440,066 records/s`). */
const COMMAND = /^([A-Za-z_][A-Za-z0-9_]*=\S*\s+)*(wsrelay|node dist\/src\/cli\.js)(\s+(-|sink\b)|$)/;

// ---- collecting ---------------------------------------------------------------------------

const examples: Example[] = [];
const skipped = new Map<string, number>();
const fragments: string[] = [];
/** wsrelay command lines that only a shell could run (pipes, substitutions): shown but not checkable. */
const unrunnable: string[] = [];

function skip(kind: string): void {
  skipped.set(kind, (skipped.get(kind) ?? 0) + 1);
}

function expectedError(marker: string | null): string | null {
  const m = marker === null ? null : /^expect-error:\s*(.+)$/.exec(marker);
  return m?.[1] ?? null;
}

for (const file of docFiles()) {
  for (const block of fencedBlocks(readDoc(file))) {
    const where = `${file}:${block.line}`;
    const expectError = expectedError(block.marker);
    if (/^\s*\[(SERVICE|INPUT|OUTPUT)\]\s*$/im.test(block.body)) {
      examples.push({ where, kind: 'classic', text: block.body, expectError });
      continue;
    }
    if (/^pipeline:\s*$/m.test(block.body)) {
      examples.push({ where, kind: 'yaml', text: block.body, expectError });
      continue;
    }
    const lines = shellLines(block.body);
    const shell =
      ['sh', 'bash', 'shell', 'console', 'zsh'].includes(block.info) ||
      (block.info === '' && lines.some((l) => COMMAND.test(l)));
    if (!shell) {
      skip(`${block.info || 'plain'} block (not a config or a shell block)`);
      continue;
    }
    for (const line of lines) {
      const all = words(line);
      if (all === null) {
        // A wsrelay line that needs a shell to run would be shown without being checked.
        if (COMMAND.test(line)) unrunnable.push(`${where}: ${line}`);
        else skip(`${line.split(/\s+/)[0]} (shell syntax)`);
        continue;
      }
      if (!COMMAND.test(all.join(' '))) {
        skip(all[0] === 'node' ? `node ${all[1] ?? ''}` : (all[0] ?? '?'));
        continue;
      }
      const env: Record<string, string> = {};
      while (all.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(all[0]!)) {
        const [name, ...value] = all.shift()!.split('=');
        env[name!] = value.join('=');
      }
      const prefix = CLI_PREFIXES.find((p) => p.every((w, i) => all[i] === w));
      if (prefix === undefined) {
        skip(all[0] === 'node' ? `node ${all[1] ?? ''}` : (all[0] ?? '?'));
        continue;
      }
      examples.push({
        where,
        kind: 'command',
        text: line.replace(/\s+/g, ' '),
        expectError,
        env,
        args: all.slice(prefix.length),
      });
    }
  }
}
// The config files shipped in examples/.
for (const name of readdirSync(join(repoRoot, 'examples')).sort()) {
  if (!/\.(conf|ya?ml)$/.test(name)) continue;
  const text = readFileSync(join(repoRoot, 'examples', name), 'utf8');
  examples.push({
    where: `examples/${name}`,
    kind: name.endsWith('.conf') ? 'classic' : 'yaml',
    text,
    expectError: null,
  });
}

// ---- running --------------------------------------------------------------------------------

const work = mkdtempSync(join(tmpdir(), 'wsrelay-docs-'));
process.once('exit', () => rmSync(work, { recursive: true, force: true }));
let standIn: string | null = null;

/** A directory standing in for /etc/wsrelay, holding test certificates under the documented names. */
function documentedFiles(): string {
  if (standIn !== null) return standIn;
  const certs = testCerts();
  const dir = join(work, 'etc', 'wsrelay');
  mkdirSync(dir, { recursive: true });
  const files: Record<string, string> = {
    'ca.pem': certs.caFile,
    'clients-ca.pem': certs.caFile,
    'client.pem': certs.clientCert,
    'client.key': certs.clientKey,
    'server.pem': certs.serverCert,
    'server.key': certs.serverKey,
  };
  for (const [name, from] of Object.entries(files)) copyFileSync(from, join(dir, name));
  standIn = `${dir}/`;
  return standIn;
}

function localize(text: string): string {
  return text.includes(DOCUMENTED_DIR) ? text.split(DOCUMENTED_DIR).join(documentedFiles()) : text;
}

interface Run {
  readonly code: number | null;
  readonly stderr: string;
}

function run(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...ENV, ...env };
  delete childEnv['WS_HOST']; // the YAML example's ${WS_HOST:-127.0.0.1} takes its default
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      cwd: repoRoot,
      env: childEnv,
      timeout: 30_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stdout.resume();
    child.stderr.setEncoding('utf8').on('data', (part: string) => {
      stderr += part;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, stderr: standIn === null ? stderr : stderr.split(standIn).join(DOCUMENTED_DIR) });
    });
  });
}

function configArgs(example: Example, index: number): string[] {
  const file = join(work, `example-${index}.${example.kind === 'classic' ? 'conf' : 'yaml'}`);
  writeFileSync(file, localize(example.text));
  const hasInput =
    example.kind === 'classic' ? /^\s*\[INPUT\]/im.test(example.text) : /^\s*inputs:/m.test(example.text);
  const hasOutput =
    example.kind === 'classic' ? /^\s*\[OUTPUT\]/im.test(example.text) : /^\s*outputs:/m.test(example.text);
  const extra = [...(hasInput ? [] : ['-i', 'dummy']), ...(hasOutput ? [] : ['-o', 'null', '-m', '*'])];
  if (extra.length > 0) fragments.push(`${example.where} (+ ${extra.join(' ')})`);
  return ['-c', file, ...extra, '--dry-run'];
}

function check(example: Example, result: Run): void {
  const what = `${example.where}: ${example.kind === 'command' ? example.text : `${example.kind} config`}`;
  if (example.expectError !== null) {
    assert.equal(result.code, 2, `${what}: expected to fail with exit 2, got ${result.code}\n${result.stderr}`);
    assert.ok(
      result.stderr.includes(example.expectError),
      `${what}: expected '${example.expectError}' in:\n${result.stderr}`,
    );
    return;
  }
  assert.equal(result.code, 0, `${what}: exit ${result.code}\n${result.stderr}`);
  assert.doesNotMatch(result.stderr, /\[\s*error\]|^wsrelay: /m, `${what}: printed an error\n${result.stderr}`);
}

/** The CLI run of an example (null: the sink subcommand, which has no --dry-run). */
function runOf(example: Example, index: number): Promise<Run> | null {
  if (example.kind !== 'command') return run(configArgs(example, index));
  const args = (example.args ?? []).map(localize);
  if (args[0] === 'sink') return null;
  return run(args.includes('--dry-run') || args.includes('-D') ? args : [...args, '--dry-run'], example.env);
}

// Each run reads only its own file: they go a few at a time, and each test checks its own.
const runs = inParallel(
  examples.map((example, index) => ({ example, index })),
  3,
  async ({ example, index }) => runOf(example, index),
);

examples.forEach((example, index) => {
  const label = example.kind === 'command' ? `command line ${example.text}` : `${example.kind} config`;
  test(`${example.where}: ${label}${example.expectError === null ? '' : ' (expected to fail)'}`, async () => {
    const result = (await runs)[index];
    if (result) {
      check(example, result);
      return;
    }
    // The sink subcommand has no --dry-run: its arguments are parsed, not run.
    const parsed = parseArgv((example.args ?? []).map(localize));
    assert.equal(parsed.kind, 'sink', `${example.where}: ${example.text}`);
  });
});

test('every wsrelay command line in the docs is a plain command line (no pipes, substitutions, globs)', () => {
  assert.deepEqual(unrunnable, []);
});

test('the docs hold enough runnable examples that this test checks something', () => {
  const count = (kind: Example['kind']): number => examples.filter((e) => e.kind === kind).length;
  assert.ok(count('classic') >= 6, `only ${count('classic')} classic configs found`);
  assert.ok(count('yaml') >= 1, `only ${count('yaml')} YAML configs found`);
  assert.ok(count('command') >= 4, `only ${count('command')} command lines found`);
  assert.ok(
    examples.some((e) => e.expectError !== null),
    'no expect-error example found',
  );
});

const skippedList = [...skipped.entries()]
  .sort((a, b) => b[1] - a[1])
  .map(([k, n]) => `${k} ×${n}`)
  .join(', ');
test(`ran ${examples.length} examples; skipped ${[...skipped.values()].reduce((a, b) => a + b, 0)} that are not wsrelay configs or command lines: ${skippedList}`, (t) => {
  t.diagnostic(`fragments completed on the command line: ${fragments.join('; ') || 'none'}`);
});
