// The deployment files docs/OPERATIONS.md shows: examples/wsrelay.service passes
// `systemd-analyze verify` (when the machine has it), and the Dockerfile, which cannot be built
// here (no container runtime), at least copies files that exist and runs as a non-root user.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './support/markdown.js';

const unit = readFileSync(join(repoRoot, 'examples/wsrelay.service'), 'utf8');

function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Keys of a unit file's [Service] section. */
function serviceKeys(text: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header !== null) {
      section = header[1]!;
      continue;
    }
    const eq = line.indexOf('=');
    if (section !== 'Service' || eq < 0) continue;
    const key = line.slice(0, eq);
    keys.set(key, [...(keys.get(key) ?? []), line.slice(eq + 1)]);
  }
  return keys;
}

test('examples/wsrelay.service runs the relay with a config file, restarts on failure, as a non-root user', () => {
  const keys = serviceKeys(unit);
  const execStart = keys.get('ExecStart')?.[0] ?? '';
  assert.match(execStart, /dist\/src\/cli\.js -c \/etc\/wsrelay\/wsrelay\.conf$/);
  assert.deepEqual(keys.get('Restart'), ['on-failure']);
  assert.deepEqual(keys.get('RestartPreventExitStatus'), ['2'], 'a config error (exit 2) must not restart in a loop');
  const user = keys.get('User')?.[0];
  assert.ok(user !== undefined && user !== 'root' && user !== '0', `User=${user}`);
  assert.deepEqual(keys.get('NoNewPrivileges'), ['yes']);
  assert.ok(!keys.has('MemoryDenyWriteExecute'), "V8's JIT needs writable, executable memory");
  // The config's storage.path is the state directory.
  assert.deepEqual(keys.get('StateDirectory'), ['wsrelay']);
  assert.match(
    readFileSync(join(repoRoot, 'examples/wsrelay.conf'), 'utf8'),
    /^\s*storage\.path\s+\/var\/lib\/wsrelay\s*$/m,
  );
});

test('systemd-analyze verify accepts examples/wsrelay.service', (t) => {
  if (!has('systemd-analyze')) {
    t.skip('systemd-analyze is not installed on this machine');
    return;
  }
  const node = /^ExecStart=(\S+)/m.exec(unit)?.[1] ?? '';
  if (!existsSync(node)) {
    // verify checks that the ExecStart binary exists; node lives elsewhere here.
    t.skip(`${node} (the unit's ExecStart) does not exist on this machine`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'wsrelay-unit-'));
  try {
    const file = join(dir, 'wsrelay.service');
    copyFileSync(join(repoRoot, 'examples/wsrelay.service'), file);
    const result = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8', timeout: 60_000 });
    // verify exits 0 on unknown keys and bad values, but prints them: both must be silent.
    const complaints = `${result.stdout}${result.stderr}`.split('\n').filter((l) => l.includes('wsrelay.service'));
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
    assert.deepEqual(complaints, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the Dockerfile: multi-stage on node:20-slim, copies files that exist, runs as non-root', () => {
  const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
  const lines = dockerfile.split('\n').filter((l) => !l.trim().startsWith('#'));
  const froms = lines.filter((l) => /^FROM\s/i.test(l));
  assert.ok(froms.length >= 2, 'multi-stage');
  for (const from of froms) assert.match(from, /^FROM node:20-slim\b/);
  for (const line of lines) {
    const copy = /^COPY\s+(?!--from)(.+)\s+\S+$/.exec(line);
    if (copy === null) continue;
    for (const source of copy[1]!.trim().split(/\s+/)) {
      assert.ok(existsSync(join(repoRoot, source)), `Dockerfile copies ${source}, which is not in the repository`);
    }
  }
  const users = lines.filter((l) => /^USER\s/.test(l));
  assert.ok(users.length > 0 && !/^USER\s+(root|0)\b/.test(users.at(-1)!), 'the last USER must not be root');
  assert.match(dockerfile, /not built by the test suite/);
});
