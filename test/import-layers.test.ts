// The import-layer check (`npm run check:deps`, .dependency-cruiser.cjs) passes on the real tree
// and fails on a small tree that breaks each of its rules once: a check that cannot fail checks
// nothing, and a rule with no failing case here might match no path at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const configPath = join(repoRoot, '.dependency-cruiser.cjs');
const depcruise = join(repoRoot, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

interface Run {
  readonly code: number;
  readonly output: string;
}

/** Runs depcruise with the repository's config in `cwd` (rule paths are relative to it). */
function cruise(cwd: string, paths: readonly string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [depcruise, '--config', configPath, '--output-type', 'err', ...paths],
      { cwd },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : error.code;
        if (typeof code !== 'number') reject(error ?? new Error('depcruise did not exit'));
        else resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

/** For each rule, a file of the fixture and the import that breaks it. */
const VIOLATIONS: Readonly<Record<string, { readonly from: string; readonly to: string }>> = {
  // Type-only on one side: those count too.
  'no-circular': { from: 'src/cycle-a.ts', to: 'src/cycle-b.ts' },
  'codec-imports-only-codec': { from: 'src/codec/bytes.ts', to: 'src/log.ts' },
  'websocket-main-not-worker': {
    from: 'src/outputs/websocket/main/output.ts',
    to: 'src/outputs/websocket/worker/thread.ts',
  },
  'websocket-worker-not-main': {
    from: 'src/outputs/websocket/worker/connection.ts',
    to: 'src/outputs/websocket/main/retry.ts',
  },
  'websocket-protocol-sides-neither': {
    from: 'src/outputs/websocket/protocol.ts',
    to: 'src/outputs/websocket/main/retry.ts',
  },
  'chunk-not-encode': { from: 'src/chunk/layout.ts', to: 'src/encode/types.ts' },
  'inputs-not-borrowed': { from: 'src/outputs/server/server.ts', to: 'src/inputs/listener.ts' },
  'src-not-test-or-load': { from: 'src/demo.ts', to: 'test/support/relay.ts' },
  'no-unresolvable': { from: 'src/broken.ts', to: 'src/missing.ts' },
};

/** A relative ESM specifier from one fixture file to another, as the sources write them. */
function specifier(from: string, to: string): string {
  const path = posix.relative(posix.dirname(from), to).replace(/\.ts$/, '.js');
  return path.startsWith('.') ? path : `./${path}`;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Every file of VIOLATIONS, each importing (type-only) what its rule forbids. */
function writeFixture(root: string): void {
  const files = new Map<string, string[]>();
  let n = 0;
  for (const { from, to } of Object.values(VIOLATIONS)) {
    files.set(from, [...(files.get(from) ?? []), `import type { Marker as M${n++} } from '${specifier(from, to)}';`]);
    if (to !== 'src/missing.ts' && !files.has(to)) files.set(to, []);
  }
  // A value import back closes the cycle whose other half is type-only.
  files
    .get('src/cycle-b.ts')
    ?.push(`import { marker } from '${specifier('src/cycle-b.ts', 'src/cycle-a.ts')}';`, 'export const used = marker;');
  for (const [file, lines] of files) {
    mkdirSync(join(root, posix.dirname(file)), { recursive: true });
    writeFileSync(
      join(root, file),
      [...lines, 'export type Marker = number;', 'export const marker = 1;', ''].join('\n'),
    );
  }
  writeFileSync(
    join(root, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true },
      include: ['src/**/*.ts', 'test/**/*.ts'],
    }),
  );
}

test('the import-layer check passes on src, test and load, and fails on each rule it has', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'wsrelay-layers-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  writeFixture(root);

  const config = createRequire(import.meta.url)(configPath) as { forbidden: ReadonlyArray<{ name: string }> };
  assert.deepEqual(
    config.forbidden.map((rule) => rule.name).sort(),
    Object.keys(VIOLATIONS).sort(),
    'every rule of .dependency-cruiser.cjs has a failing case here',
  );

  // Both at once: each is a node process of its own.
  const [real, broken] = await Promise.all([cruise(repoRoot, ['src', 'test', 'load']), cruise(root, ['src'])]);

  assert.equal(real.code, 0, real.output);
  assert.match(real.output, /no dependency violations found/);

  assert.notEqual(broken.code, 0, broken.output);
  for (const [rule, { from, to }] of Object.entries(VIOLATIONS)) {
    const [a, b] = [escape(from), escape(rule === 'no-unresolvable' ? specifier(from, to) : to)];
    // A cycle is reported from one of its modules, the path on the lines below; an unresolved
    // import by its specifier, there being no file.
    assert.match(
      broken.output,
      rule === 'no-circular'
        ? new RegExp(`error ${rule}: (${a}|${b}) → \\s+(${a}|${b}) →`)
        : new RegExp(`error ${rule}: ${a} → ${b}`),
    );
  }
});
