import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineFramer } from '../src/inputs/line-framer.js';

interface Seen {
  lines: string[];
  records: number;
  oversized: number[];
}

function framer(separator: string, max: number): { framer: LineFramer; seen: Seen } {
  const seen: Seen = { lines: [], records: 0, oversized: [] };
  const f = new LineFramer(separator, max, {
    onRun: (data, start, end, records) => {
      seen.records += records;
      const text = data.toString('utf8', start, end);
      seen.lines.push(...text.split(separator).filter((l, i, all) => i < all.length - 1 || l !== ''));
    },
    onOversized: (bytes) => seen.oversized.push(bytes),
  });
  return { framer: f, seen };
}

test('whole lines in one read are reported as one run, blank lines not counted', () => {
  const runs: Array<[number, number, number]> = [];
  const f = new LineFramer('\n', 100, {
    onRun: (_d, s, e, r) => runs.push([s, e, r]),
    onOversized: () => assert.fail(),
  });
  f.push(Buffer.from('{"a":1}\n\n{"b":2}\r\n\r\n'));
  assert.deepEqual(runs, [[0, 20, 2]]);
});

test('a line split across reads is completed; the rest stays a view', () => {
  const { framer: f, seen } = framer('\n', 100);
  f.push(Buffer.from('{"a":1}\n{"b"'));
  f.push(Buffer.from(':2}\n{"c":3}\n{"d"'));
  f.push(Buffer.from(':4}'));
  f.end();
  assert.deepEqual(seen.lines, ['{"a":1}', '{"b":2}', '{"c":3}', '{"d":4}']);
  assert.equal(seen.records, 4);
});

test('a multi-byte separator split between two reads is found', () => {
  const { framer: f, seen } = framer('\r\n', 100);
  f.push(Buffer.from('one\r'));
  f.push(Buffer.from('\ntwo\r\nthr'));
  f.push(Buffer.from('ee\r\n'));
  assert.deepEqual(seen.lines, ['one', 'two', 'three']);
});

test('oversized lines are dropped and counted, within one read and across reads', () => {
  const { framer: f, seen } = framer('\n', 10);
  f.push(Buffer.from('short\n' + 'x'.repeat(20) + '\nok\n'));
  assert.deepEqual(seen.oversized, [20]);
  // A never-ending line: dropped as soon as it passes the limit, not buffered.
  f.push(Buffer.from('y'.repeat(8)));
  f.push(Buffer.from('y'.repeat(8)));
  f.push(Buffer.from('y'.repeat(1000)));
  f.push(Buffer.from('yyy\nafter\n'));
  assert.deepEqual(seen.oversized, [20, 16]);
  assert.deepEqual(seen.lines, ['short', 'ok', 'after']);
  assert.equal(seen.records, 3);
});

test('a partial line longer than the limit in one read is dropped at once', () => {
  const { framer: f, seen } = framer('\n', 10);
  f.push(Buffer.from('ok\n' + 'z'.repeat(50)));
  f.push(Buffer.from('zz\nnext\n'));
  assert.deepEqual(seen.oversized, [50]);
  assert.deepEqual(seen.lines, ['ok', 'next']);
});
