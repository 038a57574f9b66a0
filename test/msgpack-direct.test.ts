// The byte-level msgpack path must write exactly what the object path (JSON.parse + msgpack.ts)
// writes, except where it documents otherwise (key order, duplicate keys, lone surrogates).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Unpackr } from 'msgpackr';
import { ArenaPool, ChunkBuilder, type SealedChunk } from '../src/chunk/chunk-builder.js';
import { decodeChunk } from '../src/chunk/segments.js';
import { SegmentKind, type ChunkSource } from '../src/chunk/layout.js';
import { createDirectEncoder, createEncoder } from '../src/encode/index.js';
import type { EncoderOptions } from '../src/encode/types.js';

const source: ChunkSource = { input: 'tcp.0', tag: 't', peer: '127.0.0.1:1', separator: '\n' };
const raw: ChunkSource = { input: 'tcp.1', tag: 't', peer: '127.0.0.1:2', separator: '\n' };
const options: EncoderOptions = {
  format: 'msgpack',
  dateKey: 'date',
  dateFormat: 'double',
  hostname: 'h',
  gelf: { shortMessageKey: null, fullMessageKey: null, timestampKey: null, hostKey: null, levelKey: null },
};
const TIME = { sec: 1795421327, nsec: 196247000 };

function chunkOf(lines: readonly string[], rawLines: readonly string[] = []): SealedChunk {
  const sealed: SealedChunk[] = [];
  const size = 1 << 22;
  const builder = new ChunkBuilder(size, new ArenaPool(size, 1), (c) => sealed.push(c));
  const data = Buffer.from(lines.map((l) => `${l}\n`).join(''));
  builder.append(source, SegmentKind.JsonLines, TIME, data, 0, data.length, lines.length);
  if (rawLines.length > 0) {
    const text = Buffer.from(rawLines.map((l) => `${l}\n`).join(''));
    builder.append(raw, SegmentKind.RawLines, { sec: 5, nsec: 6 }, text, 0, text.length, rawLines.length);
  }
  builder.seal();
  return sealed[0]!;
}

function direct(
  lines: readonly string[],
  rawLines: readonly string[] = [],
): ReturnType<NonNullable<ReturnType<typeof createDirectEncoder>>['encode']> {
  const c = chunkOf(lines, rawLines);
  return createDirectEncoder(options)!.encode(c.arena, c.byteLength, c.sources);
}

function objectPath(lines: readonly string[], rawLines: readonly string[] = []): Buffer {
  const c = chunkOf(lines, rawLines);
  return createEncoder(options).encode(decodeChunk(c.arena, c.byteLength, c.sources).records);
}

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false, int64AsType: 'number' });

test('msgpack direct: the same bytes as JSON.parse + msgpack for typical and edge values', () => {
  const long = 'x'.repeat(70_000);
  const wide: Record<string, number> = {};
  for (let k = 0; k < 20; k++) wide[`k${k}`] = k;
  const keys = (n: number): Record<string, number> =>
    Object.fromEntries(Array.from({ length: n }, (_, k) => [`k${k}`, k]));
  const ones = (n: number): number[] => Array.from({ length: n }, () => 1);
  const lines = [
    '{"seq":1,"msg":"GET /x 200","ok":true,"n":null,"l":[1,{"a":"b"}],"f":false}',
    '{}',
    '{"a": 1.0, "b" : "\\u0041\\n\\"\\\\\\/\\b\\f\\r\\t", "c":[ ] , "d":{ }}',
    '  {"padded":true}  ',
    '{"q":"é ü 日本 😀","e":"\\u00e9\\ud83d\\ude00"}',
    '{"ints":[0,-0,127,128,255,256,65535,65536,4294967295,4294967296,-1,-32,-33,-128,-129,-32768,-32769,-2147483648,-2147483649]}',
    '{"wide":[1795421327196,-1795421327196,9007199254740991,9007199254740992,12345678901234567890,-9007199254740991]}',
    '{"near":[1e22,1e23,3e23,9007199254740993,0.1,0.3,123456789012345e-22,123456789012345e-23,1.7976931348623157e308,5e-324,0.000001]}',
    '{"floats":[0.5,-0.25,1e3,1E-7,2.5e+10,1.0,-0.0,1e400,123456789012345.6]}',
    `{"s31":"${'a'.repeat(31)}","s32":"${'a'.repeat(32)}","s255":"${'b'.repeat(255)}","s256":"${'b'.repeat(256)}","long":"${long}"}`,
    `{"esc32":"${'\\n'.repeat(32)}","esc300":"${'\\t'.repeat(300)}"}`,
    JSON.stringify(wide),
    // Header boundaries: fix → 16 at 16 entries, 16 → 32 at 65536.
    JSON.stringify({ m15: keys(15), m16: keys(16), a15: ones(15), a16: ones(16) }),
    JSON.stringify({ a65535: ones(65_535), a65536: ones(65_536), m65535: keys(65_535), m65536: keys(65_536) }),
    JSON.stringify({ deep: JSON.parse('['.repeat(100) + ']'.repeat(100)) as unknown }),
  ];
  const got = direct(lines);
  assert.equal(got.records, lines.length);
  assert.deepEqual(got.malformed, []);
  assert.ok(got.message);
  assert.equal(got.message.toString('hex'), objectPath(lines).toString('hex'));
});

test('msgpack direct: invalid lines are counted per source and skipped; raw segments go the object way', () => {
  const lines = ['{"a":1}', 'not json', '[1,2]', '{"a":', '{"b":2}'];
  const got = direct(lines, ['plain text line']);
  assert.equal(got.records, 3);
  assert.equal(got.malformed.length, 1);
  assert.equal(got.malformed[0]!.count, 3);
  assert.match(got.malformed[0]!.sample, /not a valid JSON object: "not json"/);
  assert.equal(got.message!.toString('hex'), objectPath(lines, ['plain text line']).toString('hex'));
  const decoded = unpackr.unpackMultiple(got.message!) as unknown[][];
  assert.deepEqual(
    decoded.map((entry) => entry[1]),
    [new Map([['a', 1]]), new Map([['b', 2]]), new Map([['log', 'plain text line']])],
  );
});

test("msgpack direct: keys keep the sender's order and duplicates, as Fluent Bit; lone surrogates become U+FFFD", () => {
  const got = direct(['{"b":1,"2":2,"b":3}', '{"s":"\\ud800x","t":"\\udc00"}']);
  const decoded = new Unpackr({ useRecords: false, mapsAsObjects: false }).unpackMultiple(got.message!) as unknown[][];
  // A Map keeps the last duplicate value but the header says 3 entries, in the sender's order.
  assert.ok(got.message!.includes(Buffer.from('83a16201a13202a16203', 'hex')));
  assert.deepEqual(
    decoded[1]![1],
    new Map([
      ['s', '\ufffdx'],
      ['t', '\ufffd'],
    ]),
  );
});

test("msgpack direct: any JSON object, written any way, gives the object path's bytes (property)", () => {
  // Integer-like keys are reordered and duplicates merged by JSON.parse (see above), and lone
  // surrogates are written differently by msgpackr; everything else must match to the byte.
  const key = fc.string({ unit: 'grapheme', maxLength: 12 }).filter((k) => !/^(0|[1-9]\d*)$/.test(k));
  const value = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.integer(),
      fc.maxSafeInteger(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 20 }),
      fc.dictionary(key, tie('value'), { maxKeys: 20 }),
    ),
  })).value;
  const record = fc.dictionary(key, value, { maxKeys: 24 });
  fc.assert(
    fc.property(fc.array(fc.tuple(record, fc.boolean()), { minLength: 1, maxLength: 8 }), (records) => {
      // Pretty-printed without newlines inside strings: whitespace everywhere the grammar allows.
      const lines = records.map(([r, spaced]) =>
        spaced ? JSON.stringify(r, null, 1).replace(/\n/g, ' ') : JSON.stringify(r),
      );
      const got = direct(lines);
      assert.equal(got.records, lines.length);
      assert.equal(got.message!.toString('hex'), objectPath(lines).toString('hex'));
    }),
    { numRuns: 300 },
  );
});

test('msgpack direct: decimal numbers as written by people and loggers read as JSON.parse reads them (property)', () => {
  const digits = (max: number): fc.Arbitrary<string> =>
    fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: max });
  const decimal = fc
    .tuple(
      fc.boolean(),
      digits(18),
      fc.option(digits(18)),
      fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), digits(3))),
    )
    .map(
      ([negative, int, frac, exp]) =>
        `${negative ? '-' : ''}${int.replace(/^0+(?=\d)/, '')}${frac === null ? '' : `.${frac}`}${exp === null ? '' : exp.join('')}`,
    );
  fc.assert(
    fc.property(fc.array(decimal, { minLength: 1, maxLength: 30 }), (numbers) => {
      const lines = [`{"n":[${numbers.join(',')}]}`, ...numbers.map((n) => `{"v":${n}}`)];
      const got = direct(lines);
      assert.equal(got.records, lines.length);
      assert.equal(got.message!.toString('hex'), objectPath(lines).toString('hex'));
    }),
    { numRuns: 500 },
  );
});

test('msgpack entries (forward input) with integers past 32 bits reach JSON and msgpack outputs', async () => {
  const { packEntry } = await import('../src/encode/msgpack.js');
  const entry = packEntry({ time: TIME, body: { t: 1795421327196000, small: 7, neg: -4294967297 } });
  const sealed: SealedChunk[] = [];
  const builder = new ChunkBuilder(1 << 16, new ArenaPool(1 << 16, 1), (c) => sealed.push(c));
  builder.append(source, SegmentKind.MsgpackEntries, TIME, entry, 0, entry.length, 1);
  builder.seal();
  const c = sealed[0]!;
  const json = createDirectEncoder({ ...options, format: 'json_lines', dateKey: null })!.encode(
    c.arena,
    c.byteLength,
    c.sources,
  );
  assert.equal(json.message!.toString(), '{"t":1795421327196000,"small":7,"neg":-4294967297}\n');
  const packed = createDirectEncoder(options)!.encode(c.arena, c.byteLength, c.sources);
  assert.ok(packed.message!.equals(entry), 'int64 stays int64 through the worker');
});
