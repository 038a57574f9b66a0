// Forward entries written as JSON from their msgpack bytes (msgpack-json.ts, json-direct.ts)
// must be exactly what the object path writes (msgpackr + JSON.stringify), entry by entry,
// including when some entries in a segment must be decoded instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { ArenaPool, ChunkBuilder, type SealedChunk } from '../src/chunk/chunk-builder.js';
import { decodeChunk } from '../src/chunk/segments.js';
import { SegmentKind, type ChunkSource } from '../src/chunk/layout.js';
import { createEncoder } from '../src/encode/index.js';
import { DirectJsonEncoder } from '../src/encode/json-direct.js';
import { Output } from '../src/codec/output.js';
import { writeValue } from '../src/encode/msgpack-json.js';
import { MAX_MSGPACK_DEPTH, MsgpackReader } from '../src/codec/msgpack-reader.js';
import type { EncoderOptions } from '../src/encode/types.js';
import type { TimedRecord } from '../src/chunk/record.js';

/** Counts the records that went the slow (decoded) way. */
class CountingEncoder extends DirectJsonEncoder {
  slow = 0;
  protected override writeRecord(record: TimedRecord): void {
    this.slow++;
    super.writeRecord(record);
  }
}

const packr = new Packr({ useRecords: false, variableMapSize: true });
const gelf = { shortMessageKey: null, fullMessageKey: null, timestampKey: null, hostKey: null, levelKey: null };
const forward: ChunkSource = { input: 'forward.0', tag: 'app', peer: '127.0.0.1:1', separator: '\n' };
const tcp: ChunkSource = { input: 'tcp.0', tag: 'app', peer: '127.0.0.1:2', separator: '\n' };

function eventTime(sec: number, nsec: number): Buffer {
  const b = Buffer.alloc(10);
  b[0] = 0xd7;
  b.writeUInt32BE(sec, 2);
  b.writeUInt32BE(nsec, 6);
  return b;
}

/** An entry [time, body] with the time as given: a number (packed by msgpackr) or EventTime bytes. */
function entry(time: number | Buffer, body: unknown): Buffer {
  if (typeof time === 'number') return Buffer.from(packr.pack([time, body]));
  return Buffer.concat([Buffer.from([0x92]), time, Buffer.from(packr.pack(body))]);
}

/** A chunk (shared arena) of forward segments, with a JSON-lines segment between them. */
function chunkOf(segments: Buffer[]): SealedChunk {
  const sealed: SealedChunk[] = [];
  const builder = new ChunkBuilder(4 << 20, new ArenaPool(4 << 20, 1, true), (c) => sealed.push(c));
  const line = Buffer.from('{"from":"tcp"}\n');
  for (const [i, segment] of segments.entries()) {
    builder.append(forward, SegmentKind.MsgpackEntries, { sec: 1, nsec: 0 }, segment, 0, segment.length, 1);
    if (i === 0) builder.append(tcp, SegmentKind.JsonLines, { sec: 1_700_000_000, nsec: 5 }, line, 0, line.length, 1);
  }
  builder.seal();
  return sealed[0]!;
}

/** Asserts the outputs are equal; returns how many records the direct encoder decoded instead, of how many. */
function assertSameAsObjectPath(c: SealedChunk, options: EncoderOptions, note: string): [number, number] {
  const decoded = decodeChunk(c.arena, c.byteLength, c.sources);
  const expected = createEncoder(options).encode(decoded.records).toString();
  const encoder = new CountingEncoder(options);
  const direct = encoder.encode(c.arena, c.byteLength, c.sources);
  assert.equal(direct.message?.toString() ?? '', expected, note);
  assert.equal(direct.records, decoded.records.length, note);
  assert.deepEqual(
    direct.malformed.map((m) => m.count),
    decoded.malformed.map((m) => m.count),
    note,
  );
  return [encoder.slow, direct.records];
}

const formats = ['json_lines', 'json', 'json_stream'] as const;

test('hand-picked entries: every msgpack type, escapes, UTF-8, times of every kind, and entries that must be decoded', () => {
  const body = {
    s: 'plain',
    e: 'q"b\\s/\b\f\n\r\t\u0001\u001f\u007f',
    u: 'é東京😀\u2028',
    n: 0,
    neg: -1,
    i8: -100,
    i16: -30000,
    i32: -2_000_000_000,
    u8: 200,
    u16: 60000,
    u32: 4_000_000_000,
    big: 2 ** 60,
    negBig: -(2 ** 60),
    f: 1.5,
    tiny: 5e-324,
    huge: 1e300,
    negZero: -0,
    t: true,
    fa: false,
    nil: null,
    arr: [1, 'two', [3, { four: 4 }], []],
    obj: { nested: { deeper: 'yes' } },
    empty: {},
    long: 'x'.repeat(70_000),
  };
  const segments = [
    Buffer.concat([
      entry(eventTime(1_700_000_000, 123_456_789), body),
      entry(1_700_000_001, { a: 1 }),
      entry(1_700_000_002.25, {}),
      entry(2 ** 40, { date: 'mine', b: 2 }), // its own date key wins
      entry(eventTime(1_700_000_003, 0), { bin: Buffer.from([1, 2, 3]) }), // bin: decoded
      entry(1_700_000_004, { after: 'the decoded one' }),
    ]),
    Buffer.concat([
      entry(-5, { negativeTime: true }), // not a time: malformed on both paths
      entry(1_700_000_005, { ok: 1 }),
    ]),
    Buffer.concat([entry(1_700_000_006, { f32: new Float32Array([0.1])[0] })]),
  ];
  // A float32 (0xca) and a string of invalid UTF-8, built by hand.
  const f32 = Buffer.from([0x92, 0x01, 0x81, 0xa1, 0x66, 0xca, 0x3d, 0xcc, 0xcc, 0xcd]);
  const badUtf8 = Buffer.from([0x92, 0x01, 0x81, 0xa1, 0x73, 0xa2, 0xc3, 0x28]);
  const intKey = Buffer.from([0x92, 0x01, 0x81, 0x01, 0x02]);
  segments.push(Buffer.concat([f32, badUtf8, intKey, entry(1_700_000_007, { last: true })]));
  const c = chunkOf(segments);
  for (const format of formats) {
    for (const dateKey of ['date', null]) {
      for (const dateFormat of ['double', 'iso8601', 'epoch'] as const) {
        const note = `${format} ${dateKey} ${dateFormat}`;
        // Decoded: the bin entry and the one after it in its segment; the entry after the
        // negative time; the float32 entry and the three after it. 5 of the 12 records go from their
        // bytes (13 with the tcp line).
        assert.deepEqual(
          assertSameAsObjectPath(c, { format, dateKey, dateFormat, gelf, hostname: 'h' }, note),
          [7, 13],
          note,
        );
      }
    }
  }
});

test('random records and times: the bytes path writes what the object path writes', () => {
  // Keys: unique, not integer-like (an object would reorder those; see msgpack-json.ts).
  const key = fc.string({ maxLength: 6 }).filter((k) => !/^(0|[1-9][0-9]*)$/.test(k));
  const value = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.string({ unit: 'binary', maxLength: 12 }),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }).map((n) => Number(n)),
      fc.array(tie('value'), { maxLength: 3 }),
      fc.dictionary(key, tie('value'), { maxKeys: 3 }),
    ),
  })).value;
  const time = fc.oneof(
    fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    fc.double({ min: 0, max: 4e9, noNaN: true }),
    fc.tuple(fc.nat({ max: 2 ** 32 - 1 }), fc.nat({ max: 999_999_999 })).map(([s, n]) => eventTime(s, n)),
  );
  const record = fc.dictionary(key, value, { maxKeys: 5 });
  const segment = fc
    .array(
      fc.tuple(time, record).map(([t, r]) => entry(t, r)),
      { minLength: 1, maxLength: 5 },
    )
    .map((list) => Buffer.concat(list));
  let slow = 0;
  let all = 0;
  fc.assert(
    fc.property(
      fc.array(segment, { minLength: 1, maxLength: 3 }),
      fc.constantFrom(...formats),
      fc.constantFrom('date', null),
      (segments, format, dateKey) => {
        const [decoded, records] = assertSameAsObjectPath(
          chunkOf(segments),
          { format, dateKey, dateFormat: 'double', gelf, hostname: 'h' },
          format,
        );
        slow += decoded;
        all += records;
      },
    ),
    { numRuns: 300 },
  );
  // Lone surrogates (invalid UTF-8 once packed) send some entries the slow way; most go direct.
  assert.ok(slow < all / 2, `${slow} of ${all} records decoded`);
});

test('nesting deeper than the forward input lets in is refused, never a stack overflow', () => {
  for (const depth of [100, 20_000]) {
    const nested = Buffer.concat([Buffer.alloc(depth, 0x91), Buffer.from([0x01])]); // [[[…1]]]
    const out = new Output(1 << 10);
    const reader = new MsgpackReader(nested, 0, nested.length);
    const written = writeValue(out, reader);
    if (depth <= MAX_MSGPACK_DEPTH) {
      assert.equal(written, true);
      assert.equal(reader.pos, nested.length);
      assert.equal(out.buffer.toString('utf8', 0, out.length), `${'['.repeat(depth)}1${']'.repeat(depth)}`);
    } else {
      assert.equal(written, false);
    }
  }
});

test('integers are written as String() writes them, without the string (every safe integer)', () => {
  const edges = [
    0,
    -0,
    1,
    -1,
    9,
    10,
    99,
    100,
    2 ** 31,
    -(2 ** 31),
    2 ** 32,
    1795421327196253,
    Number.MAX_SAFE_INTEGER,
    Number.MIN_SAFE_INTEGER,
    999_999_999_999_999,
    1_000_000_000_000_000,
  ];
  fc.assert(
    fc.property(fc.oneof(fc.constantFrom(...edges), fc.maxSafeInteger(), fc.integer()), (value) => {
      const out = new Output(4);
      out.integer(value);
      assert.equal(out.buffer.toString('latin1', 0, out.length), String(value));
    }),
    { numRuns: 20_000 },
  );
});
