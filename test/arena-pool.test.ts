// The arena pool keeps arenas for reuse under load and gives them back once idle.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { ArenaPool } from '../src/chunk/chunk-builder.js';

test('ArenaPool reuses arenas, and after 5 s without a take() keeps only 2', () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    const pool = new ArenaPool(1024, 8);
    const arenas = Array.from({ length: 10 }, () => pool.take(100));
    for (const arena of arenas) pool.give(arena);
    assert.equal(pool.held, 8, 'no more than keep');
    assert.equal(pool.take(100), arenas[7], 'the last given back is reused first');
    pool.give(arenas[7]!);
    mock.timers.tick(4_000);
    pool.take(100); // still busy: nothing is trimmed at the next check
    mock.timers.tick(1_000);
    assert.equal(pool.held, 7);
    mock.timers.tick(5_000); // a whole period without a take()
    assert.equal(pool.held, 2);
    pool.give(pool.take(100));
    assert.equal(pool.held, 2);
  } finally {
    mock.timers.reset();
  }
});
