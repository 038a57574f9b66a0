// readEntries (forward-entries.ts) against a model of what the decoding path made of a payload
// before entries were checked on their bytes: msgpackr decodes each entry, an entry that is not
// an array of 2 or 3 refuses the message, a record that is not a map is skipped and counted, a
// time toEventTime cannot read becomes the arrival time — and, new, Fluent Bit's
// [[time, metadata], record] keeps its time. What the workers then read from the entries
// (msgpackr again, then JSON) must be the model's records. Plus the refusals and the limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Packr, Unpackr } from 'msgpackr';
import { PackedEventTime, registerEventTimeExtension, toEventTime } from '../src/codec/event-time.js';
import { MAX_ENTRIES_PER_MESSAGE, readEntries } from '../src/inputs/forward-entries.js';
import { MAX_MSGPACK_DEPTH } from '../src/codec/msgpack-reader.js';

registerEventTimeExtension();
const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });
const SEED = 20260612;

function eventTime(sec: number, nsec: number, ext8 = false): Buffer {
  const b = Buffer.alloc(ext8 ? 11 : 10);
  let p = 0;
  if (ext8) {
    b[p++] = 0xc7;
    b[p++] = 8;
  } else b[p++] = 0xd7;
  b[p++] = 0x00;
  b.writeUInt32BE(sec, p);
  b.writeUInt32BE(nsec, p + 4);
  return b;
}
/** A msgpack timestamp (extension -1) of `length` data bytes: 4, 8 and 12 are valid. */
function timestamp(length: number): Buffer {
  const head = { 1: [0xd4], 2: [0xd5], 4: [0xd6], 8: [0xd7], 16: [0xd8] }[length] ?? [0xc7, length];
  const data = Buffer.alloc(length);
  if (length >= 4) data.writeUInt32BE(1_700_000_000, length - 4);
  return Buffer.concat([Buffer.from([...head, 0xff]), data]);
}

/** What an entry is meant to be: its bytes, and what the model says of it. */
interface Entry {
  readonly bytes: Buffer;
  /** 'now': the arrival time; null: skipped (not a record); else the time kept. */
  readonly time: When;
}

/** What an entry's time is: kept, the arrival time, or (null) the entry is skipped whatever its record. */
type When = { sec: number; nsec: number } | 'now' | null;
const timed = (bytes: Buffer, when: When): [Buffer, When] => [bytes, when];
const seconds = fc.integer({ min: 0, max: 2 ** 32 - 1 });
const nanos = fc.integer({ min: 0, max: 999_999_999 });
const time: fc.Arbitrary<[Buffer, When]> = fc.oneof(
  seconds.map((s) => timed(Buffer.from(packr.pack(s)), { sec: s, nsec: 0 })),
  fc.tuple(seconds, nanos).map(([s, n]) => timed(eventTime(s, n), { sec: s, nsec: n })),
  fc.tuple(seconds, nanos).map(([s, n]) => timed(eventTime(s, n, true), { sec: s, nsec: n })),
  fc.double({ min: 0, max: 4e9, noNaN: true }).map((d) => {
    const t = toEventTime(d)!;
    const b = Buffer.alloc(9);
    b[0] = 0xcb;
    b.writeDoubleBE(d, 1);
    return timed(b, { sec: t.sec, nsec: t.nsec });
  }),
  fc.constantFrom<unknown>(null, 'text', -5, [], {}, true).map((v) => timed(Buffer.from(packr.pack(v)), 'now')),
  fc.constant(timestamp(8)).map((b) => timed(b, 'now')),
  // Fluent Bit >= 2: [[EventTime, metadata], record]; a negative time there is a group marker.
  fc
    .tuple(seconds, nanos, fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }))
    .map(([s, n, meta]) =>
      timed(Buffer.concat([Buffer.from([0x92]), eventTime(s, n), Buffer.from(packr.pack(meta))]), { sec: s, nsec: n }),
    ),
  fc.constant(timed(Buffer.from([0x92, 0xff, 0x80]), null)),
);

/** Values inside a record, some of them extensions the rewrite must turn into what msgpackr made of them. */
const value: fc.Arbitrary<Buffer> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }).map((v) => Buffer.from(packr.pack(v))),
  fc.tuple(seconds, nanos).map(([s, n]) => eventTime(s, n)),
  fc.constantFrom(4, 8, 12).map(timestamp),
  fc.constantFrom(1, 2, 3, 5, 16).map(timestamp), // impossible lengths: an Invalid Date, JSON null
  fc
    .array(fc.constantFrom(4, 12).map(timestamp), { maxLength: 2 })
    .map((items) => Buffer.concat([Buffer.from([0x90 | items.length]), ...items])),
);
const mapped = (bytes: Buffer, isMap: boolean): [Buffer, boolean] => [bytes, isMap];
const record: fc.Arbitrary<[Buffer, boolean]> = fc.oneof(
  fc
    .uniqueArray(fc.tuple(fc.string({ maxLength: 4 }), value), { maxLength: 4, selector: ([k]) => k })
    .map((pairs) =>
      mapped(
        Buffer.concat([
          Buffer.from([0x80 | pairs.length]),
          ...pairs.flatMap(([k, v]) => [Buffer.from(packr.pack(k)), v]),
        ]),
        true,
      ),
    ),
  fc.constantFrom<unknown>(1, 'x', [1, 2], null).map((v) => mapped(Buffer.from(packr.pack(v)), false)),
);
const entry: fc.Arbitrary<Entry> = fc
  .tuple(time, record, fc.constantFrom('fixarray', 'third', 'array16'))
  .map(([[t, when], [r, isMap], form]) => {
    const head = form === 'fixarray' ? [0x92] : form === 'third' ? [0x93] : [0xdc, 0x00, 0x02];
    const third = form === 'third' ? [Buffer.from(packr.pack({ ignored: true }))] : [];
    return { bytes: Buffer.concat([Buffer.from(head), t, r, ...third]), time: isMap ? when : null };
  });

/** JSON as the workers write a decoded record (Dates as ISO strings, EventTimes as numbers). */
const json = (v: unknown): unknown => JSON.parse(JSON.stringify(v) ?? 'null');

/**
 * What the decoding path left in a record it packed again: numbers for EventTimes, no Invalid
 * Date (a worker's encoder calling toISOString() on one throws). Valid timestamps stay Dates.
 */
function assertNormalized(value: unknown): void {
  if (value instanceof PackedEventTime) assert.fail('an EventTime left inside a record');
  if (value instanceof Date) assert.ok(!Number.isNaN(value.getTime()), 'an Invalid Date left inside a record');
  else if (Array.isArray(value)) value.forEach(assertNormalized);
  else if (typeof value === 'object' && value !== null) Object.values(value).forEach(assertNormalized);
}

test("readEntries: the records, their times and the skipped entries are the decoding path's (property)", () => {
  let rewritten = 0;
  fc.assert(
    fc.property(fc.array(entry, { minLength: 1, maxLength: 8 }), (list) => {
      const packed = Buffer.concat(list.map((e) => e.bytes));
      const before = Date.now() / 1000;
      const read = readEntries(packed);
      assert.equal(read.kind, 'entries');
      if (read.kind !== 'entries') return;
      const kept = list.filter((e) => e.time !== null);
      assert.equal(read.count, kept.length);
      assert.equal(read.invalid, list.length - kept.length);
      if (!read.asIs) rewritten++;
      const out = read.bytes.length === 0 ? [] : (unpackr.unpackMultiple(read.bytes) as unknown[]);
      assert.equal(out.length, kept.length);
      for (const [i, e] of kept.entries()) {
        const got = out[i] as [unknown, unknown];
        assert.ok(Array.isArray(got) && got.length === 2, 'an [time, record] entry');
        const t = toEventTime(got[0]);
        assert.ok(t, 'a time the workers read');
        if (e.time === 'now')
          assert.ok(t.sec >= Math.floor(before) - 1 && t.sec <= Date.now() / 1000 + 1, 'the arrival time');
        else assert.deepEqual({ sec: t.sec, nsec: t.nsec }, e.time);
        // The record as msgpackr decodes the original one (the third element and metadata dropped).
        const original = unpackr.unpack(e.bytes) as unknown[];
        assert.deepEqual(json(got[1]), json(original[1]));
        assertNormalized(got[1]);
      }
    }),
    { numRuns: 400, seed: SEED },
  );
  assert.ok(rewritten > 100, `${rewritten} payloads took the rewriting path`);
});

test('readEntries: Fluent Bit 1.x entries, and integer times, are taken as they came', () => {
  const payload = Buffer.concat([
    Buffer.from([0x92]),
    eventTime(1_700_000_000, 5),
    Buffer.from(packr.pack({ a: 1 })),
    Buffer.from(packr.pack([1_700_000_001, { b: 2 }])),
  ]);
  const read = readEntries(payload);
  assert.equal(read.kind, 'entries');
  assert.ok(read.kind === 'entries' && read.asIs && read.count === 2 && read.bytes === payload);
});

test('readEntries: refused at the first value that is not an array of 2 or 3, wherever it is, without reading on', () => {
  const good = Buffer.from(packr.pack([1, { a: 1 }]));
  const cases: Array<[string, Buffer, RegExp]> = [
    ['24 MB of zero bytes', Buffer.alloc(24 << 20), /^entry 0 is not an array of 2 or 3/],
    ['a map', Buffer.concat([good, Buffer.from([0x80]), good]), /^entry 1 is not an array/],
    ['a 1-array', Buffer.concat([good, good, Buffer.from([0x91, 0x01])]), /^entry 2 is not an array/],
    ['a 4-array', Buffer.concat([Buffer.from([0x94, 1, 0x80, 0, 0])]), /^entry 0 is not an array/],
    ['an entry cut short', Buffer.concat([good, good.subarray(0, good.length - 1)]), /^entry 1 ends past/],
    [
      'a record claiming 4 billion keys',
      Buffer.from([0x92, 0x01, 0xdf, 0xff, 0xff, 0xff, 0xff, 0x80]),
      /^entry 0 ends past/,
    ],
    ['0xc1', Buffer.from([0x92, 0x01, 0x81, 0xa1, 0x61, 0xc1]), /0xc1/],
    [
      'an extension type msgpackr would build an object of',
      Buffer.from([0x92, 0x01, 0x81, 0xa1, 0x61, 0xd4, 0x42, 0x00]),
      /extension type 66/,
    ],
    [
      'nesting past the limit',
      Buffer.concat([
        Buffer.from([0x92, 0x01, 0x81, 0xa1, 0x61]),
        Buffer.alloc(MAX_MSGPACK_DEPTH, 0x91),
        Buffer.from([0x80]),
      ]),
      /nested deeper than 512/,
    ],
  ];
  for (const [what, packed, reason] of cases) {
    const read = readEntries(packed);
    assert.equal(read.kind, 'refused', what);
    if (read.kind === 'refused') {
      assert.match(read.reason, reason, what);
      assert.equal(read.oversized, false, what);
    }
  }
});

test('readEntries: at most MAX_ENTRIES_PER_MESSAGE entries, whatever they are', () => {
  const tiny = (n: number, unit: readonly number[]): Buffer => {
    const b = Buffer.alloc(n * unit.length);
    for (let i = 0; i < b.length; i++) b[i] = unit[i % unit.length]!;
    return b;
  };
  const atLimit = readEntries(tiny(MAX_ENTRIES_PER_MESSAGE, [0x92, 0x01, 0x80]));
  assert.ok(atLimit.kind === 'entries' && atLimit.count === MAX_ENTRIES_PER_MESSAGE);
  for (const unit of [
    [0x92, 0x01, 0x80],
    [0x92, 0x90, 0x90],
    [0x92, 0xc0, 0x80],
  ]) {
    const over = readEntries(tiny(MAX_ENTRIES_PER_MESSAGE + 1, unit));
    assert.ok(over.kind === 'refused' && over.oversized, Buffer.from(unit).toString('hex'));
  }
});
