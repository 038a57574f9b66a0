// Forward messages read from their bytes (forward-outline.ts): the entries and option it finds
// must be what msgpackr finds in the decoded message, for every mode; anything else is left to
// the decoding path (null).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Packr, Unpackr } from 'msgpackr';
import { outlineForwardMessage } from '../src/inputs/forward-outline.js';

const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

function outline(message: unknown[]): ReturnType<typeof outlineForwardMessage> {
  const bytes = packr.pack(message);
  return outlineForwardMessage(bytes, 0, bytes.length);
}

/** fast-check's records have no prototype; msgpackr's have Object's. */
const plain = (value: unknown): unknown => structuredClone(value);

/** The entries of an outline, decoded. */
function entriesOf(found: NonNullable<ReturnType<typeof outlineForwardMessage>>): unknown[] {
  return found.entries.length === 0 ? [] : (unpackr.unpackMultiple(found.entries) as unknown[]);
}

const record = fc.dictionary(
  fc.string({ maxLength: 8 }),
  fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 })),
  { maxKeys: 6 },
);
const time = fc.oneof(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.double({ min: 0, max: 2e9, noNaN: true }));
const option = fc.option(fc.record({ chunk: fc.string({ minLength: 1, maxLength: 12 }) }), { nil: undefined });

test('Message mode: [tag, time, record, option?] → one entry [time, record], the tag and the option', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), time, record, option, (tag, t, body, opt) => {
      const message = opt === undefined ? [tag, t, body] : [tag, t, body, opt];
      const found = outline(message);
      assert.ok(found);
      assert.equal(found.tag, tag);
      assert.equal(found.packed, false);
      assert.deepEqual(entriesOf(found), plain([[t, body]]));
      assert.deepEqual(found.option === null ? undefined : unpackr.unpack(found.option), plain(opt));
    }),
    { numRuns: 300 },
  );
});

test('Forward mode: [tag, [[time, record], ...], option?] → the entries as a stream', () => {
  fc.assert(
    fc.property(
      fc.string({ maxLength: 40 }),
      fc.array(fc.tuple(time, record), { maxLength: 20 }),
      option,
      (tag, entries, opt) => {
        const message = opt === undefined ? [tag, entries] : [tag, entries, opt];
        const found = outline(message);
        assert.ok(found);
        assert.equal(found.tag, tag);
        assert.equal(found.packed, false);
        assert.deepEqual(entriesOf(found), plain(entries));
        assert.deepEqual(found.option === null ? undefined : unpackr.unpack(found.option), plain(opt));
      },
    ),
    { numRuns: 300 },
  );
});

test('PackedForward: [tag, bin, option?] → the payload itself', () => {
  const payload = Buffer.concat([packr.pack([1, { a: 1 }]), packr.pack([2, { b: 'x' }])]);
  const found = outline(['app', payload, { size: 2, compressed: 'text' }]);
  assert.ok(found);
  assert.equal(found.packed, true);
  assert.deepEqual([...found.entries], [...payload]);
  assert.deepEqual(unpackr.unpack(found.option!), { size: 2, compressed: 'text' });
});

test('other shapes are left to the decoding path', () => {
  const cases: Array<[string, Buffer]> = [
    ['a tag that is not a string', packr.pack([42, 1, { a: 1 }])],
    ['a record that is not a map', packr.pack(['app', 1, [1, 2]])],
    ['an option that is not a map', packr.pack(['app', 1, { a: 1 }, 'opt'])],
    ['five elements', packr.pack(['app', 1, { a: 1 }, {}, {}])],
    ['one element', packr.pack(['app'])],
    ['not an array', packr.pack({ tag: 'app' })],
    ['a str PackedForward payload', packr.pack(['app', 'entries as str'])],
    ['Forward mode with a fourth element', packr.pack(['app', [[1, { a: 1 }]], {}, {}])],
  ];
  for (const [what, bytes] of cases) assert.equal(outlineForwardMessage(bytes, 0, bytes.length), null, what);
  // Bytes past the message (a frame is exactly one message) are not part of it.
  const trailing = Buffer.concat([packr.pack(['app', 1, { a: 1 }]), Buffer.from([0xc0])]);
  assert.equal(outlineForwardMessage(trailing, 0, trailing.length), null, 'trailing bytes');
  const short = packr.pack(['app', 1, { a: 'cut' }]);
  assert.equal(outlineForwardMessage(short, 0, short.length - 2), null, 'cut short');
});
