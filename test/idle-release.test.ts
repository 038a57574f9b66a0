// After a burst, a quiet relay gives its memory back (idle-release.ts): the release runs once
// per quiet period, and the collection it asks for is a real full one, in workers too.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { collectGarbage } from '../src/idle-release.js';
import { QuietTimer } from '../src/quiet-timer.js';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('collectGarbage runs a full collection: an old, unreachable object is gone', async () => {
  let target: { payload: number[] } | null = { payload: Array.from({ length: 1000 }, (_, i) => i) };
  const ref = new WeakRef(target);
  await nextTurn();
  collectGarbage(); // promotes it (it survives: still referenced)
  assert.ok(ref.deref() !== undefined);
  // eslint-disable-next-line no-useless-assignment -- dropping the last strong reference is what makes the target collectable
  target = null;
  await nextTurn(); // a WeakRef keeps its target until the end of the job that read it
  assert.equal(collectGarbage(), true);
  assert.equal(ref.deref(), undefined);
});

test('collectGarbage works in a worker thread (where the websocket output encodes)', async () => {
  const module = new URL('../src/idle-release.js', import.meta.url).href;
  const worker = new Worker(
    `
    import(${JSON.stringify(module)}).then(async ({ collectGarbage }) => {
      const { parentPort } = await import('node:worker_threads');
      let target = { payload: new Array(1000).fill(1) };
      const ref = new WeakRef(target);
      await new Promise((resolve) => setImmediate(resolve));
      target = null;
      await new Promise((resolve) => setImmediate(resolve));
      const ran = collectGarbage();
      parentPort.postMessage({ ran, gone: ref.deref() === undefined });
    });`,
    { eval: true },
  );
  const result = await new Promise<{ ran: boolean; gone: boolean }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  assert.deepEqual(result, { ran: true, gone: true });
});

test('QuietTimer fires once after a quiet period, postponed by activity', () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    let releases = 0;
    const idle = new QuietTimer(5_000, () => {
      releases++;
    });
    idle.noteActivity();
    mock.timers.tick(20_000);
    assert.equal(releases, 0, 'noteActivity alone arms nothing');
    idle.touch();
    mock.timers.tick(5_000); // the touch itself counts as activity in the first period
    assert.equal(releases, 0);
    idle.noteActivity();
    mock.timers.tick(5_000);
    assert.equal(releases, 0, 'still busy');
    mock.timers.tick(5_000);
    assert.equal(releases, 1, 'a whole quiet period');
    mock.timers.tick(30_000);
    assert.equal(releases, 1, 'once per burst');
    idle.touch();
    mock.timers.tick(10_000);
    assert.equal(releases, 2, 'the next burst releases again');
  } finally {
    mock.timers.reset();
  }
});
