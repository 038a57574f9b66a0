// Config files that would make loading hang, blow up or crawl: devices and FIFOs where a file
// is expected, files too large, includes too deep or too many, include cycles through hard
// links, lines that made the old regular expressions backtrack for hours, ${VAR} repetition,
// YAML aliases and nesting. Each must end, with a pipeline or a ConfigError that names the
// file, the line (of the @INCLUDE / includes entry) and the bound. No timing is asserted: a
// parser that is not linear again makes these tests run for hours instead of milliseconds.
// The CLI tests run the real wsrelay: a FIFO or /dev/zero must not block or grow it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { linkSync, rmSync, truncateSync } from 'node:fs';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { ConfigError } from '../src/config/errors.js';
import { CONFIG_LIMITS } from '../src/config/files.js';
import { loadConfigFile } from '../src/config/load.js';
import { WEBSOCKET_SCHEMA } from '../src/config/properties.js';
import { resolvePipeline } from '../src/config/resolve.js';
import { runCli, type Child } from './support/child.js';
import { configFileWriter, failsWith } from './support/config-files.js';

const write = configFileWriter('wsrelay-hostile-');

const NO_ENV: NodeJS.ProcessEnv = {};
const MIB = 1024 * 1024;

const fails = failsWith;

const OK_PIPELINE = '[INPUT]\n    Name dummy\n[OUTPUT]\n    Name null\n    Match *\n';

// ---- only regular files ----------------------------------------------------------------------

test('a device where a config file is expected is refused, main file or include, classic or YAML', () => {
  fails(
    () => loadConfigFile('/dev/zero', NO_ENV),
    'WSR_CONFIG_MISSING',
    "cannot read config file '/dev/zero': it is a character device, not a regular file",
  );
  const classic = write({ 'main.conf': '[SERVICE]\n@INCLUDE /dev/zero\n' });
  fails(
    () => loadConfigFile(classic, NO_ENV),
    'WSR_CONFIG_MISSING',
    `${classic}:2: cannot read included file '/dev/zero': it is a character device, not a regular file`,
  );
  const yaml = write({ 'main.yaml': 'includes:\n  - /dev/null\n' });
  fails(
    () => loadConfigFile(yaml, NO_ENV),
    'WSR_CONFIG_MISSING',
    `${yaml}:2: cannot read included file '/dev/null': it is a character device, not a regular file`,
  );
  const dir = write({ 'main.conf': '@INCLUDE sub\n', 'sub/x.conf': '' });
  fails(
    () => loadConfigFile(dir, NO_ENV),
    'WSR_CONFIG_MISSING',
    `${dir}:1: cannot read included file '${join(dirname(dir), 'sub')}': it is a directory`,
  );
});

test('a file over the size limit is refused without reading it; one at the limit is read', () => {
  assert.equal(CONFIG_LIMITS.classicFileBytes, 16 * MIB);
  const big = write({ 'big.conf': '[SERVICE]\n' });
  truncateSync(big, CONFIG_LIMITS.classicFileBytes + 1); // sparse: nothing is written
  fails(
    () => loadConfigFile(big, NO_ENV),
    'WSR_CONFIG_LIMIT',
    `cannot read config file '${big}': it is larger than the limit of 16 MiB for a config file`,
  );
  const main = write({ 'main.conf': '[SERVICE]\n    Flush 1\n@INCLUDE big.conf\n' });
  linkSync(big, join(dirname(main), 'big.conf'));
  fails(
    () => loadConfigFile(main, NO_ENV),
    'WSR_CONFIG_LIMIT',
    new RegExp(`^${escape(main)}:3: cannot read included file .*16 MiB`),
  );
  const atLimit = write({ 'limit.conf': `#${' '.repeat(CONFIG_LIMITS.classicFileBytes - 2)}\n` });
  assert.equal(loadConfigFile(atLimit, NO_ENV).inputs.length, 0);

  const yaml = write({ 'big.yaml': 'service:\n' });
  truncateSync(yaml, CONFIG_LIMITS.yamlFileBytes + 1);
  fails(() => loadConfigFile(yaml, NO_ENV), 'WSR_CONFIG_LIMIT', /big\.yaml': it is larger than the limit of 1 MiB/);
});

test('the files of one configuration together are bounded (the same big file included again and again)', () => {
  const each = 14 * MIB;
  const main = write({ 'main.conf': '@INCLUDE big.conf\n'.repeat(5), 'big.conf': `#${'x'.repeat(each)}\n` });
  // 4 × 14 MiB fit in 64 MiB with the main file; the fifth does not.
  fails(
    () => loadConfigFile(main, NO_ENV),
    'WSR_CONFIG_LIMIT',
    new RegExp(`^${escape(main)}:5: the files of this configuration add up to more than 64 MiB`),
  );
});

// ---- includes: depth, count, cycles ------------------------------------------------------------

test('includes nest at most 16 levels deep: the 17th is refused at the @INCLUDE that names it', () => {
  const files: Record<string, string> = {};
  for (let i = 0; i <= 17; i++) files[`f${i}.conf`] = i < 17 ? `# level ${i}\n@INCLUDE f${i + 1}.conf\n` : OK_PIPELINE;
  const top = write(files);
  const dir = dirname(top);
  fails(
    () => loadConfigFile(top, NO_ENV),
    'WSR_CONFIG_LIMIT',
    `${join(dir, 'f16.conf')}:2: includes nested more than 16 levels deep: '${join(dir, 'f17.conf')}' is not read`,
  );
  // From f1, f17 is 16 levels down: allowed.
  assert.equal(loadConfigFile(join(dir, 'f1.conf'), NO_ENV).inputs.length, 1);
});

test('at most 1000 files in one configuration, however they are named', () => {
  const many = write({ 'main.conf': '@INCLUDE x.conf\n'.repeat(1000), 'x.conf': '# nothing\n' });
  fails(
    () => loadConfigFile(many, NO_ENV),
    'WSR_CONFIG_LIMIT',
    `${many}:1000: more than 1000 files in one configuration: '${join(dirname(many), 'x.conf')}' is not read`,
  );
  const files: Record<string, string> = { 'main.conf': '@INCLUDE conf.d/*.conf\n' };
  for (let i = 0; i <= 1000; i++) files[`conf.d/${String(i).padStart(4, '0')}.conf`] = '';
  const glob = write(files);
  fails(
    () => loadConfigFile(glob, NO_ENV),
    'WSR_CONFIG_LIMIT',
    `${glob}:1: include 'conf.d/*.conf' matches 1001 files, more than the 1000 a configuration may have`,
  );
});

test('an include cycle is found through a hard link and through a glob that matches the including file', () => {
  const a = write({ 'a.conf': '[SERVICE]\n@INCLUDE b.conf\n', 'b.conf': '@INCLUDE a-again.conf\n' });
  const dir = dirname(a);
  linkSync(a, join(dir, 'a-again.conf')); // another name, the same file: realpath differs, the inode does not
  fails(
    () => loadConfigFile(a, NO_ENV),
    'WSR_CONFIG_USAGE',
    `${join(dir, 'b.conf')}:1: include cycle: ${a} -> ${join(dir, 'b.conf')} -> ${join(dir, 'a-again.conf')}`,
  );
  const glob = write({ 'main.conf': '@INCLUDE *.conf\n' });
  fails(() => loadConfigFile(glob, NO_ENV), 'WSR_CONFIG_USAGE', `${glob}:1: include cycle: ${glob} -> ${glob}`);
});

test('a glob of many stars against a long file name is matched in linear time', () => {
  const main = write({ 'main.conf': `@INCLUDE d/${'*a'.repeat(40)}*b\n`, [`d/${'a'.repeat(200)}`]: '' });
  fails(() => loadConfigFile(main, NO_ENV), 'WSR_CONFIG_MISSING', /matches no file/);
  const path = write({ 'main.conf': `@INCLUDE ${'x'.repeat(CONFIG_LIMITS.pathLength + 1)}\n` });
  fails(
    () => loadConfigFile(path, NO_ENV),
    'WSR_CONFIG_LIMIT',
    new RegExp(`^${escape(path)}:1: include path longer than 4096 characters: 'xxx`),
  );
});

// ---- lines ------------------------------------------------------------------------------------

test('section headers, properties and directives split as before, without backtracking', () => {
  const path = write({
    'split.conf':
      '[ INPUT ]\n    Name\tdummy\n    Tag   a  b\t\n    Dummy {"x":\r1}\n@set  V=1\n[OUTPUT]\n  Name null\n',
  });
  const raw = loadConfigFile(path, NO_ENV);
  assert.equal(raw.inputs[0]?.plugin, 'dummy');
  assert.deepEqual(
    raw.inputs[0]?.properties.map((p) => [p.key, p.value]),
    [
      ['Tag', 'a  b'],
      ['Dummy', '{"x":\r1}'],
    ],
  );
  fails(
    () => loadConfigFile(write({ 'h.conf': `[${' '.repeat(100_000)}x\n` }), NO_ENV),
    'WSR_CONFIG_USAGE',
    /:1: malformed section header '\[ {79}… \(100002 characters\)': expected e\.g\. \[INPUT\]$/,
  );
  fails(
    () => loadConfigFile(write({ 'h.conf': '[IN PUT]\n' }), NO_ENV),
    'WSR_CONFIG_USAGE',
    /malformed section header '\[IN PUT\]'/,
  );
});

/** Lines that took quadratic (or worse) time in the old parser, and their 10 MB versions. */
const PATHOLOGICAL: ReadonlyArray<(n: number) => string> = [
  (n) => `[${' '.repeat(n)}x`,
  (n) => `[${' '.repeat(n)}`,
  (n) => `[INPUT]\n    Name dummy\n    Tag${' '.repeat(n)}\rx\r`,
  (n) => `@SET${' '.repeat(n)}\rx\r`,
  (n) => `[INPUT]\n    Name dummy\n    Tag ${'${'.repeat(Math.min(n, CONFIG_LIMITS.valueBytes) / 2)}`,
  (n) => `[INPUT]\n    Name dummy\n    ${'x'.repeat(n)} 1\n[OUTPUT]\n    Name null\n`,
  (n) =>
    `[OUTPUT]\n    Name websocket\n    Header X-A a${' '.repeat(Math.min(n, CONFIG_LIMITS.valueBytes - 20))}b\u2028\n[INPUT]\n    Name dummy\n`,
  (n) => `[INPUT]\n    Name dummy\n    Mem_Buf_Limit 1${' '.repeat(n)}x\n`,
  (n) => `@INCLUDE ${'*'.repeat(Math.min(n, 4000))}x\n`,
];

test('pathological lines of up to 10 MB are refused or parsed, always with a ConfigError at most', () => {
  fc.assert(
    fc.property(fc.nat(PATHOLOGICAL.length - 1), fc.constantFrom(100_000, 1_000_000, 10_000_000), (shape, n) => {
      const text = PATHOLOGICAL[shape]!(n);
      const path = write({ 'p.conf': text });
      try {
        resolvePipeline(loadConfigFile(path, NO_ENV));
      } catch (error) {
        assert.ok(error instanceof ConfigError, `${String(error)} for shape ${shape}`);
        assert.ok(
          error.message.length < 2000,
          `a message of ${error.message.length} characters: ${error.message.slice(0, 300)}`,
        );
      } finally {
        rmSync(dirname(path), { recursive: true, force: true });
      }
    }),
    { numRuns: 30, examples: PATHOLOGICAL.map((_, i) => [i, 10_000_000] as [number, number]) },
  );
});

test('a Header value of 10 MB with blanks inside is split in one pass', () => {
  const ctx = { key: 'Header', at: null, section: 'OUTPUT websocket.0' };
  const value = `X-A a${' '.repeat(10_000_000)}b`;
  assert.deepEqual(WEBSOCKET_SCHEMA.header.parse(value, ctx), ['X-A', `a${' '.repeat(10_000_000)}b`]);
  assert.throws(
    () => WEBSOCKET_SCHEMA.header.parse(`X-A a${' '.repeat(10_000_000)}\u2028b`, ctx),
    /control characters/,
  );
  assert.throws(() => WEBSOCKET_SCHEMA.header.parse('X-A a\r\nInjected: 1', ctx), /control characters/);
});

// ---- ${VAR} and @SET ----------------------------------------------------------------------------

test('${VAR} is one pass: a self-reference stays text, nesting does not grow', () => {
  const path = write({
    'v.conf': '@SET A=${A}\n@SET B=${A}${A}\n@SET C=${B}${B}\n[INPUT]\n    Name dummy\n    Tag ${A}\n    Alias ${C}\n',
  });
  assert.deepEqual(
    loadConfigFile(path, NO_ENV).inputs[0]?.properties.map((p) => p.value),
    ['${A}', '${B}${B}'],
  );
});

test('a value too long after ${VAR} expansion is refused at its line, naming the key and not the value', () => {
  const ref = `\${A}`.repeat(2000);
  const path = write({ 'v.conf': `@SET A=${'s'.repeat(1000)}\n[INPUT]\n    Name dummy\n    Tag ${ref}\n` });
  const error = fails(
    () => loadConfigFile(path, NO_ENV),
    'WSR_CONFIG_LIMIT',
    `${path}:4: property 'tag': the value is longer than 1 MiB after \${VAR} expansion`,
  );
  assert.equal(error.key, 'tag');
  const plain = write({ 'p.conf': `[INPUT]\n    Name dummy\n    Tag ${'t'.repeat(CONFIG_LIMITS.valueBytes + 1)}\n` });
  fails(
    () => loadConfigFile(plain, NO_ENV),
    'WSR_CONFIG_LIMIT',
    `${plain}:3: property 'tag': the value is longer than 1 MiB`,
  );
});

test('all values together are bounded after expansion (each under the value limit)', () => {
  const value = `\${A}`.repeat(1000); // 1,000,000 characters once expanded
  const lines = ['@SET A=' + 'a'.repeat(1000), '[INPUT]', '    Name dummy'];
  for (let i = 0; i < 70; i++) lines.push(`    Tag ${value}`);
  const path = write({ 'v.conf': `${lines.join('\n')}\n` });
  // 68 × 1,000,000 > 64 MiB (67,108,864): the 68th Tag (line 71) is refused.
  fails(
    () => loadConfigFile(path, NO_ENV),
    'WSR_CONFIG_LIMIT',
    `${path}:71: property 'tag': the values of this configuration add up to more than 64 MiB after \${VAR} expansion`,
  );
});

// ---- YAML -----------------------------------------------------------------------------------------

test('YAML aliases are bounded: a few lines cannot stand for a billion properties', () => {
  // Each output is 1000 keys each aliasing a list of 1000 values, and the output is listed 1000
  // times: 10^9 properties from 20 KB, if every alias were followed.
  const values = `&v [${Array.from({ length: 1000 }, () => 'X-A 1').join(', ')}]`;
  const keys = Array.from({ length: 1000 }, (_, i) => `      h${i}: *v`).join('\n');
  const text = `pipeline:\n  outputs:\n    - &o\n      name: stdout\n      h: ${values}\n${keys}\n${'    - *o\n'.repeat(1000)}`;
  const path = write({ 'laughs.yaml': text });
  fails(
    () => loadConfigFile(path, NO_ENV),
    'WSR_CONFIG_LIMIT',
    new RegExp(
      `^${escape(path)}:\\d+: YAML aliases reach more than 100000 nodes in all \\(\\*v and those before it\\)`,
    ),
  );
  // A few aliases of a value are fine.
  const few = write({
    'few.yaml':
      'pipeline:\n  inputs:\n    - name: dummy\n      tag: &t app\n  outputs:\n    - name: stdout\n      match: *t\n',
  });
  assert.equal(loadConfigFile(few, NO_ENV).outputs[0]?.properties[0]?.value, 'app');
});

test('YAML: 20,000 aliases of one value are resolved in one pass over the document', () => {
  // The yaml package's Alias.resolve walks the whole document at each call: 20,000 of them
  // took 7 minutes.
  const outputs = Array.from({ length: 20_000 }, () => '    - {name: stdout, match: *t}').join('\n');
  const path = write({
    'many.yaml': `pipeline:\n  inputs:\n    - name: dummy\n      tag: &t app\n  outputs:\n${outputs}\n`,
  });
  const raw = loadConfigFile(path, NO_ENV);
  assert.equal(raw.outputs.length, 20_000);
  assert.equal(raw.outputs[19_999]?.properties[0]?.value, 'app');
});

test('YAML flow collections nested too deep are refused before the yaml parser builds them', () => {
  const path = write({ 'deep.yaml': `service:\n  flush: 1\nenv:\n  A: ${'['.repeat(100)}\n` });
  fails(
    () => loadConfigFile(path, NO_ENV),
    'WSR_CONFIG_LIMIT',
    `${path}:4: YAML collections ([ ] and { }) nested more than 64 deep`,
  );
  const huge = write({ 'huge.yaml': '['.repeat(CONFIG_LIMITS.yamlFileBytes) });
  fails(() => loadConfigFile(huge, NO_ENV), 'WSR_CONFIG_LIMIT', /nested more than 64 deep/);
  // Brackets inside scalars and comments are text.
  const text = write({
    'text.yaml': `# ${'['.repeat(100)}\npipeline:\n  inputs:\n    - name: dummy\n      tag: "${'['.repeat(100)}"\n`,
  });
  assert.equal(loadConfigFile(text, NO_ENV).inputs[0]?.properties[0]?.value, '['.repeat(100));
});

test('YAML duplicate keys are still refused at the second one, in a map of 50,000 keys', () => {
  const keys = Array.from({ length: 50_000 }, (_, i) => `  K${i}: v`);
  keys.push('  K7: again');
  const path = write({ 'dup.yaml': `env:\n${keys.join('\n')}\n` });
  fails(() => loadConfigFile(path, NO_ENV), 'WSR_CONFIG_USAGE', `${path}:50002: invalid YAML: Map keys must be unique`);
});

// ---- the real CLI ---------------------------------------------------------------------------------

/**
 * The exit code of `child`; a child still running after `deadline` ms is killed and the test
 * fails (a FIFO that blocks would otherwise hang it forever). A guard, not a timing assertion.
 */
async function exitOf(child: Child, deadline = 30_000): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      child.process.kill('SIGKILL');
      reject(new Error(`wsrelay still running after ${deadline} ms; stderr: ${child.stderr.slice(0, 500)}`));
    }, deadline);
  });
  try {
    return await Promise.race([child.exited, guard]);
  } finally {
    clearTimeout(timer);
  }
}

test('the CLI: -c /dev/zero and @INCLUDE /dev/zero exit 2 at once with the reason', async () => {
  const zero = runCli(['--dry-run', '-c', '/dev/zero']);
  assert.equal(await exitOf(zero), 2);
  assert.equal(
    zero.stderr,
    "wsrelay: cannot read config file '/dev/zero': it is a character device, not a regular file\n",
  );
  assert.equal(zero.stdout, '');
  const main = write({ 'main.conf': `${OK_PIPELINE}@INCLUDE /dev/zero\n` });
  const included = runCli(['--dry-run', '-c', main]);
  assert.equal(await exitOf(included), 2);
  assert.equal(
    included.stderr,
    `wsrelay: ${main}:6: cannot read included file '/dev/zero': it is a character device, not a regular file\n`,
  );
});

test('the CLI: a FIFO as the config file or in @INCLUDE exits 2 without waiting for a writer', async () => {
  const main = write({ 'main.conf': `${OK_PIPELINE}@INCLUDE pipe.conf\n` });
  const fifo = join(dirname(main), 'pipe.conf');
  execFileSync('mkfifo', [fifo]);
  const included = runCli(['--dry-run', '-c', main]);
  assert.equal(await exitOf(included), 2);
  assert.equal(
    included.stderr,
    `wsrelay: ${main}:6: cannot read included file '${fifo}': it is a FIFO (named pipe), not a regular file\n`,
  );
  const direct = runCli(['--dry-run', '-c', fifo]);
  assert.equal(await exitOf(direct), 2);
  assert.match(
    direct.stderr,
    /cannot read config file '.*pipe\.conf': it is a FIFO \(named pipe\), not a regular file/,
  );
});

test('the CLI: a certificate, key or CA file that is a device or a FIFO exits 2 at once, naming the key', async () => {
  const dir = dirname(write({ x: '' }));
  const fifo = join(dir, 'ca.pem');
  execFileSync('mkfifo', [fifo]);
  for (const [file, what] of [
    ['/dev/zero', 'a character device'],
    [fifo, 'a FIFO \\(named pipe\\)'],
  ] as const) {
    const main = write({
      'tls.conf': `[INPUT]\n    Name dummy\n[OUTPUT]\n    Name websocket\n    Match *\n    tls on\n    tls.ca_file ${file}\n`,
    });
    const child = runCli(['--dry-run', '-c', main]);
    assert.equal(await exitOf(child), 2);
    assert.match(
      child.stderr,
      new RegExp(
        `${escape(main)}:7: .*'tls\\.ca_file': cannot read ${escape(file)}: it is ${what}, not a regular file`,
      ),
    );
  }
});

test('many BEGIN CERTIFICATE lines without an END are refused in linear time', () => {
  const pem = write({ 'many.pem': '-----BEGIN CERTIFICATE-----\nAAAA\n'.repeat(100_000) });
  const main = write({
    'tls.conf': `[INPUT]\n    Name dummy\n[OUTPUT]\n    Name websocket\n    Match *\n    tls on\n    tls.ca_file ${pem}\n`,
  });
  fails(() => resolvePipeline(loadConfigFile(main, NO_ENV)), 'WSR_CONFIG_BAD_VALUE', /holds no PEM certificate/);
});

test('the CLI: a section header of 100,000 and of 10,000,000 spaces is refused with a short message', async () => {
  for (const n of [100_000, 10_000_000]) {
    const path = write({ 'h.conf': `${OK_PIPELINE}[${' '.repeat(n)}x\n` });
    const child = runCli(['--dry-run', '-c', path]);
    assert.equal(await exitOf(child), 2);
    assert.match(
      child.stderr,
      new RegExp(
        `^wsrelay: ${escape(path)}:6: malformed section header '\\[ {79}… \\(${n + 2} characters\\)': expected e\\.g\\. \\[INPUT\\]\\n$`,
      ),
    );
  }
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
