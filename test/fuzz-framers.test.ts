// Property-based tests (fast-check) on the framers and decoders that read what peers send:
// random bytes and mutations of valid input, split into random reads. Each asserts that no
// exception escapes, that no record is invented, and that valid records around invalid ones
// survive. A failure prints the seed and the shrunk counterexample: rerun with
// fc.assert(..., { seed, path }) to reproduce.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Packr, Unpackr } from 'msgpackr';
import { LineFramer } from '../src/inputs/line-framer.js';
import { FrameScanner, frameEnd } from '../src/codec/msgpack-frame.js';
import { MAX_MSGPACK_DEPTH } from '../src/codec/msgpack-reader.js';
import { ByteQueue } from '../src/inputs/byte-queue.js';
import { tagFromPath } from '../src/inputs/http-input.js';
import { bodyLines, countNdjsonRecords } from '../src/inputs/http-body.js';
import { countPackedEntries } from '../src/inputs/forward-entries.js';
import { ArenaPool, ChunkBuilder, type SealedChunk } from '../src/chunk/chunk-builder.js';
import { decodeChunk } from '../src/chunk/segments.js';
import { SegmentKind } from '../src/chunk/layout.js';
import { ScanVerdict, scanJsonObject } from '../src/codec/json-scan.js';

const RUNS = 300;

/** Cuts `data` at the given offsets (modulo its length): random read boundaries. */
function splitAt(data: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    if (p > from) parts.push(data.subarray(from, p));
    from = Math.max(from, p);
  }
  if (from < data.length) parts.push(data.subarray(from));
  return parts;
}
const cuts = fc.array(fc.nat({ max: 10_000 }), { maxLength: 12 });

/** Byte overwrites, [offset (modulo the length), value]: mutations of valid input. */
const flips = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 });

/** A copy of `bytes` with the flips applied. */
function applyFlips(bytes: Uint8Array, changes: ReadonlyArray<readonly [number, number]>): Buffer {
  const copy = Buffer.from(bytes);
  for (const [i, b] of changes) if (copy.length > 0) copy[i % copy.length] = b;
  return copy;
}

// ---- tcp: LineFramer against a model ----------------------------------------------------------

/** What the framer must report for a whole stream: records (content, no separator), oversized count. */
function model(stream: Buffer, sep: Buffer, max: number, closed: boolean): { records: string[]; oversized: number } {
  const records: string[] = [];
  let oversized = 0;
  let pos = 0;
  for (;;) {
    const end = stream.indexOf(sep, pos);
    if (end < 0) break;
    const line = stream.subarray(pos, end);
    if (line.length > max) oversized++;
    else if (!(line.length === 0 || (line.length === 1 && line[0] === 13))) records.push(line.toString('latin1'));
    pos = end + sep.length;
  }
  const rest = stream.subarray(pos);
  // An open line may end with the start of a separator: it is known oversized only past that.
  if (rest.length > (closed ? max : max + sep.length - 1)) oversized++;
  else if (closed && !(rest.length === 0 || (rest.length === 1 && rest[0] === 13)))
    records.push(rest.toString('latin1'));
  return { records, oversized };
}

function runFramer(
  parts: Buffer[],
  sep: string,
  max: number,
  close: boolean,
): { records: string[]; oversized: number; counted: number } {
  const records: string[] = [];
  let oversized = 0;
  let counted = 0;
  const framer = new LineFramer(sep, max, {
    onRun: (data, start, end, n) => {
      counted += n;
      const text = data.toString('latin1', start, end);
      const lines = text.split(sep);
      // A run ends with a separator, except the last line reported at end().
      if (text.endsWith(sep)) lines.pop();
      for (const line of lines) if (line !== '' && line !== '\r') records.push(line);
    },
    onOversized: () => {
      oversized++;
    },
  });
  for (const part of parts) framer.push(part);
  if (close) framer.end();
  return { records, oversized, counted };
}

test('LineFramer: any stream in any reads gives the records a whole-stream split gives', () => {
  const separators = fc.constantFrom('\n', '\r\n', '\t', 'ab', '\r\n\r\n');
  const alphabet = fc.constantFrom(...'\n\r\tabxy{}"'.split('').map((c) => c.charCodeAt(0)), 0x00, 0xff, 0xc3);
  // Streams made of separators, lines around the limit and stray bytes: reads then cut anywhere,
  // through separators too.
  const token = fc.oneof(
    fc.constant(-1),
    fc.integer({ min: 0, max: 16 }).map((n) => -2 - n),
    alphabet,
  );
  fc.assert(
    fc.property(
      separators,
      fc.array(token, { maxLength: 40 }),
      cuts,
      fc.integer({ min: 1, max: 8 }),
      fc.boolean(),
      (sep, tokens, at, max, close) => {
        const stream = Buffer.concat(
          tokens.map((t) => (t === -1 ? Buffer.from(sep) : t < -1 ? Buffer.alloc(-2 - t, 0x78) : Buffer.from([t]))),
        );
        const got = runFramer(splitAt(stream, at), sep, max, close);
        const want = model(stream, Buffer.from(sep), max, close);
        assert.deepEqual(got.records, want.records);
        assert.equal(got.counted, want.records.length);
        assert.equal(got.oversized, want.oversized);
      },
    ),
    { numRuns: RUNS * 3 },
  );
});

test('LineFramer: a never-ending line is never buffered past the limit', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 40 }), (sizes) => {
      let oversized = 0;
      const framer = new LineFramer('\n', 1024, {
        onRun: () => assert.fail('no line ends'),
        onOversized: () => {
          oversized++;
        },
      });
      let total = 0;
      for (const size of sizes) {
        framer.push(Buffer.alloc(size, 0x78));
        total += size;
        // What the framer keeps is a view of at most one read or a copy under the limit.
        assert.equal(framer.partial, true);
      }
      assert.equal(oversized, total > 1024 ? 1 : 0);
    }),
    { numRuns: RUNS },
  );
});

// ---- forward: msgpack framing ---------------------------------------------------------------

const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
const msgpackValue = fc.jsonValue({ maxDepth: 4 }).map((v) => packr.pack(v));

test('FrameScanner: a valid msgpack value ends exactly where msgpackr says, in any reads', () => {
  fc.assert(
    fc.property(fc.array(msgpackValue, { minLength: 1, maxLength: 5 }), cuts, (values, at) => {
      const stream = Buffer.concat(values);
      const scanner = new FrameScanner(1 << 20);
      const ends: number[] = [];
      // The forward input's way: bytes accumulate, the scanner resumes on the same frame start.
      let buffered = Buffer.alloc(0);
      let base = 0;
      for (const part of splitAt(stream, at)) {
        buffered = Buffer.concat([buffered, part]);
        let start = 0;
        for (;;) {
          if (start >= buffered.length) break;
          const frame = scanner.scan(buffered, start, buffered.length);
          if (frame.kind === 'incomplete') break;
          assert.equal(frame.kind, 'complete', JSON.stringify(frame));
          if (frame.kind !== 'complete') return;
          ends.push(base + frame.end);
          start = frame.end;
        }
        base += start;
        buffered = buffered.subarray(start);
      }
      let expected = 0;
      assert.deepEqual(
        ends,
        values.map((v) => (expected += v.length)),
      );
    }),
    { numRuns: RUNS },
  );
});

test('FrameScanner: random bytes and mutated messages never throw; a complete frame is one msgpackr value', () => {
  const mutated = fc
    .tuple(msgpackValue, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }))
    .map(([bytes, changes]) => applyFlips(bytes, changes));
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
        mutated,
      ),
      (bytes) => {
        const frame = frameEnd(bytes, 0, bytes.length, 1 << 16);
        if (frame.kind !== 'complete') return;
        assert.ok(frame.end > 0 && frame.end <= bytes.length);
        // msgpackr may still refuse it (an ext it does not know, a map key it cannot use): that is
        // an exception the forward input catches; what it must not do is need more bytes.
        try {
          unpackr.unpack(bytes.subarray(0, frame.end));
        } catch (error) {
          assert.ok(
            !(error as { incomplete?: boolean }).incomplete,
            `msgpackr wants more bytes: ${(error as Error).message}`,
          );
        }
      },
    ),
    { numRuns: RUNS * 2 },
  );
});

test('an EventTime extension of another length than 8 is refused as such, never taken for a truncated value', () => {
  for (const bytes of [
    [0xc7, 0x00, 0x00],
    [0xd4, 0x00, 0x01],
    [0xd6, 0x00, 1, 2, 3, 4],
    [0xd8, 0x00, ...new Array<number>(16).fill(1)],
  ]) {
    const value = Buffer.from(bytes);
    assert.equal(frameEnd(value, 0, value.length, 1 << 16).kind, 'complete');
    assert.throws(
      () => unpackr.unpack(value),
      (error: Error & { incomplete?: boolean }) => !error.incomplete && /EventTime .* is 8 bytes/.test(error.message),
      Buffer.from(bytes).toString('hex'),
    );
  }
});

test('FrameScanner: headers claiming more than the limit are refused from the header alone', () => {
  const huge = [
    [0xdb, 0xff, 0xff, 0xff, 0xff], // str32 of 4 GB
    [0xc6, 0xff, 0xff, 0xff, 0xff], // bin32
    [0xdd, 0xff, 0xff, 0xff, 0xff], // array32 of 4 billion items
    [0xdf, 0x7f, 0xff, 0xff, 0xff], // map32
    [0x93, 0xa3, 0x61, 0x62, 0x63, 0xdd, 0x10, 0x00, 0x00, 0x00], // ['abc', array of 268M]
    [0xc9, 0x10, 0x00, 0x00, 0x00, 0x00], // ext32 (EventTime type)
  ];
  for (const header of huge) {
    const frame = frameEnd(Buffer.from(header), 0, header.length, 6 * 1024 * 1024);
    assert.equal(frame.kind, 'invalid', Buffer.from(header).toString('hex'));
    assert.match((frame as { reason: string }).reason, /buffer_max_size/);
    assert.equal((frame as { tooLarge: boolean }).tooLarge, true);
  }
  // Deep nesting: refused at MAX_MSGPACK_DEPTH without recursion, however deep the input.
  const deep = Buffer.alloc(1_000_000, 0x91);
  const frame = frameEnd(deep, 0, deep.length, deep.length + 1);
  assert.deepEqual(frame, {
    kind: 'invalid',
    reason: `nested deeper than ${MAX_MSGPACK_DEPTH} levels`,
    tooLarge: false,
  });
  assert.equal(frameEnd(Buffer.from([0xc1]), 0, 1, 100).kind, 'invalid');
  // Extensions msgpackr would turn into a BigInt, an Error, a Set, a RegExp: refused.
  for (const ext of [
    [0xd4, 0x42, 0x01],
    [0xd6, 0x65, 0, 0, 0, 0],
    [0xc7, 0x01, 0x73, 0x90],
    [0xc8, 0x00, 0x01, 0x78, 0x90],
  ]) {
    const refused = frameEnd(Buffer.from(ext), 0, ext.length, 100);
    assert.equal(refused.kind, 'invalid', Buffer.from(ext).toString('hex'));
    assert.match((refused as { reason: string }).reason, /extension type/);
  }
  // EventTime (0) and timestamp (-1) pass.
  assert.equal(frameEnd(Buffer.from([0xd7, 0x00, 0, 0, 0, 1, 0, 0, 0, 0]), 0, 10, 100).kind, 'complete');
  assert.equal(frameEnd(Buffer.from([0xd6, 0xff, 0, 0, 0, 1]), 0, 6, 100).kind, 'complete');
});

test('ByteQueue: appends and keeps hold exactly the bytes a plain concatenation holds', () => {
  const op = fc.oneof(
    fc.uint8Array({ maxLength: 5000 }).map((b) => ({ append: Buffer.from(b) })),
    fc.nat().map((n) => ({ keepFrom: n })),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
      const queue = new ByteQueue();
      let model: Buffer = Buffer.alloc(0);
      let view: Buffer = Buffer.alloc(0);
      for (const o of ops) {
        if ('append' in o) {
          view = queue.append(o.append);
          model = Buffer.concat([model, o.append]);
          assert.ok(view.equals(model));
        } else {
          const from = o.keepFrom % (view.length + 1);
          queue.keep(view, from);
          model = model.subarray(from);
          view = queue.append(Buffer.alloc(0));
          assert.ok(view.equals(model));
        }
        assert.equal(queue.length, model.length);
      }
    }),
    { numRuns: RUNS },
  );
});

// ---- forward: PackedForward payloads buffered as they are ---------------------------------

/** A sealed chunk (shared arena, as the workers get it) holding `packed` as one msgpack-entries segment. */
function msgpackSegment(packed: Buffer, count: number): SealedChunk {
  const sealed: SealedChunk[] = [];
  const builder = new ChunkBuilder(1 << 20, new ArenaPool(1 << 20, 1, true), (c) => sealed.push(c));
  const source = { input: 'forward.0', tag: 't', peer: '127.0.0.1:1', separator: '\n' };
  builder.append(source, SegmentKind.MsgpackEntries, { sec: 1, nsec: 0 }, packed, 0, packed.length, count);
  builder.seal();
  return sealed[0]!;
}

test('forward countPackedEntries: a payload it takes decodes, in the worker, to that many entries, records or counted malformed', () => {
  const time = fc.oneof(
    fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    fc.double({ noNaN: false }),
    fc.integer({ min: -1000, max: -1 }),
    fc.constant('text'),
    fc.tuple(fc.nat(), fc.nat()).map(([sec, nsec]) => ({ sec, nsec })),
  );
  const body = fc.oneof(
    fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
    fc.constantFrom<unknown>([1], 'x', null, { when: new Date(1_700_000_000_000) }),
  );
  const entry = fc.tuple(time, body).map(([t, b]) => {
    if (typeof t !== 'object') return Buffer.from(packr.pack([t, b]));
    const eventTime = Buffer.alloc(10); // fixext8, type 0: Fluentd's EventTime
    eventTime[0] = 0xd7;
    eventTime.writeUInt32BE(t.sec % 2 ** 32, 2);
    eventTime.writeUInt32BE(t.nsec % 1_000_000_000, 6);
    return Buffer.concat([Buffer.from([0x92]), eventTime, packr.pack(b)]);
  });
  const payload = fc.array(entry, { maxLength: 5 }).map((list) => Buffer.concat(list));
  const mutated = fc.tuple(payload, flips).map(([bytes, changes]) => applyFlips(bytes, changes));
  let taken = 0;
  fc.assert(
    fc.property(
      fc.oneof(
        payload.map((p) => [p, false] as const),
        mutated.map((p) => [p, true] as const),
      ),
      ([packed, wasMutated]) => {
        const count = countPackedEntries(packed, 1 << 20);
        if (count === null) return;
        taken++;
        // What the worker does with the segment: every entry a record, or (only in a mutated
        // payload: a map key that is itself a map, say) counted malformed; none invented or lost.
        const { arena, byteLength, sources } = msgpackSegment(packed, count);
        const decoded = decodeChunk(arena, byteLength, sources);
        const malformed = decoded.malformed.reduce((n, m) => n + m.count, 0);
        assert.equal(decoded.records.length + malformed, count);
        if (!wasMutated) assert.equal(malformed, 0);
        for (const record of decoded.records) JSON.stringify(record.body);
      },
    ),
    { numRuns: RUNS * 2 },
  );
  assert.ok(taken > RUNS / 4, `the fast path took ${taken} payloads`);
});

test('forward: an entry msgpackr refuses in a msgpack-entries segment is counted, and the entries around it survive', () => {
  const good = (i: number): Buffer => Buffer.from(packr.pack([1_700_000_000 + i, { i }]));
  const mapKey = Buffer.from([0x92, 0x01, 0x81, 0x81, 0x01, 0x02, 0x03]); // {{1: 2}: 3}: msgpackr throws
  const packed = Buffer.concat([good(0), mapKey, good(1)]);
  assert.equal(countPackedEntries(packed, 1 << 20), 3, 'framed and of the right shape');
  const { arena, byteLength, sources } = msgpackSegment(packed, 3);
  const decoded = decodeChunk(arena, byteLength, sources);
  assert.deepEqual(
    decoded.records.map((r) => r.body),
    [{ i: 0 }, { i: 1 }],
  );
  assert.equal(decoded.malformed.length, 1);
  assert.equal(decoded.malformed[0]!.count, 1);
});

// ---- http bodies ----------------------------------------------------------------------------

/** The records an http body becomes: its JSON lines, parsed (what the workers then read). */
function parseBody(body: Buffer, type: string): Array<Record<string, unknown>> {
  return [...bodyLines(body, type, 't', null).values()].flatMap((segment) =>
    segment.lines
      .toString('utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>),
  );
}

const contentTypes = fc.constantFrom(
  'application/json',
  'application/x-ndjson',
  'application/x-www-form-urlencoded',
  'application/msgpack',
  'text/plain',
  '',
  'application/json; charset=utf-8',
  'APPLICATION/X-MSGPACK',
);

function bodyError(body: Buffer, type: string): Error | null {
  try {
    parseBody(body, type);
    return null;
  } catch (error) {
    return error as Error;
  }
}

test('http parseBody: random and mutated bodies are records or a 400, never another exception', () => {
  const records = fc.array(fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }), {
    minLength: 1,
    maxLength: 4,
  });
  const valid = fc.tuple(records, contentTypes).map(([list, type]): [Buffer, string] => {
    if (type.includes('msgpack')) return [packr.pack(list), type];
    if (type.includes('ndjson')) return [Buffer.from(list.map((r) => JSON.stringify(r)).join('\n')), type];
    if (type.includes('form')) return [Buffer.from(`json=${encodeURIComponent(JSON.stringify(list))}`), type];
    return [Buffer.from(JSON.stringify(list)), type];
  });
  const mutated = fc
    .tuple(valid, flips)
    .map(([[body, type], changes]): [Buffer, string] => [applyFlips(body, changes), type]);
  const random = fc.tuple(
    fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b)),
    contentTypes,
  );
  fc.assert(
    fc.property(fc.oneof(valid, mutated, random), ([body, type]) => {
      const error = bodyError(body, type);
      if (error) {
        assert.equal(error.constructor.name, 'BadBody', `${error.constructor.name}: ${error.message}`);
        return;
      }
      const parsed = parseBody(body, type);
      for (const record of parsed) {
        assert.equal(typeof record, 'object');
        assert.ok(record !== null && !Array.isArray(record));
        // What the input then writes must be writable: no cycles, no depth that overflows.
        JSON.stringify(record);
      }
    }),
    { numRuns: RUNS * 2 },
  );
});

test('http parseBody: valid bodies keep every record', () => {
  const records = fc.array(fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }), {
    minLength: 1,
    maxLength: 4,
  });
  fc.assert(
    fc.property(records, (list) => {
      // JSON.parse(JSON.stringify()) is the reference: -0 becomes 0 and so on.
      const expected = JSON.parse(JSON.stringify(list)) as unknown;
      assert.deepEqual(parseBody(Buffer.from(JSON.stringify(list)), 'application/json'), expected);
      assert.deepEqual(
        parseBody(Buffer.from(list.map((r) => JSON.stringify(r)).join('\n')), 'application/x-ndjson'),
        expected,
      );
    }),
    { numRuns: RUNS },
  );
});

test('http NDJSON fast path: when it takes a body, parseBody takes it too, with as many records', () => {
  const line = fc.oneof(
    fc
      .dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 })
      .map((r) => JSON.stringify(r)),
    fc.constantFrom('', ' ', '\r', '{"a": 1.0}', '[1]', '{"a":1', 'null', '{"é":"ü"}', '  {"padded":true}'),
  );
  const valid = fc
    .array(line, { maxLength: 6 })
    .chain((lines) => fc.constantFrom('\n', '\r\n').map((separator) => Buffer.from(lines.join(separator))));
  const mutated = fc.tuple(valid, flips).map(([body, changes]) => applyFlips(body, changes));
  let fast = 0;
  fc.assert(
    fc.property(fc.oneof(valid, mutated), (body) => {
      const count = countNdjsonRecords(body);
      if (count === null) return;
      fast++;
      // The fast path buffers the bytes; the worker finds these records in them (its check is the same json-scan).
      assert.equal(parseBody(body, 'application/x-ndjson').length, count);
    }),
    { numRuns: RUNS * 2 },
  );
  assert.ok(fast > RUNS / 4, `the fast path took ${fast} bodies`);
});

test('http parseBody: deep nesting is a 400, not a stack overflow later', () => {
  for (const [open, close] of [
    ['{"a":', '}'],
    ['[', ']'],
  ] as const) {
    const deep = `${open.repeat(100_000)}1${close.repeat(100_000)}`;
    const text = open === '[' ? `{"a":${deep}}` : deep;
    const error = bodyError(Buffer.from(text), 'application/json');
    assert.ok(error, 'refused');
    assert.equal(error.constructor.name, 'BadBody');
    assert.match(error.message, /nested deeper than 512/);
  }
  // msgpack: the same, refused from the frame scan.
  const error = bodyError(
    Buffer.concat([Buffer.alloc(100_000, 0x81 /* fixmap 1 */).map((b, i) => (i % 2 ? 0xa1 : b)), Buffer.from([0x01])]),
    'application/msgpack',
  );
  assert.ok(error);
  assert.equal(error.constructor.name, 'BadBody');
  // 512 levels are still fine (the object itself is the first), and brackets inside strings do not count.
  assert.equal(bodyError(Buffer.from(`{"a":${'['.repeat(511)}${']'.repeat(511)}}`), 'application/json'), null);
  assert.equal(
    bodyError(Buffer.from(`{"a":"${'['.repeat(600)}"}`), 'application/json'),
    null,
    'brackets inside a string',
  );
  assert.equal(
    bodyError(Buffer.from(`{"a":"\\"${'['.repeat(600)}"}`), 'application/json'),
    null,
    'an escaped quote does not end the string',
  );
});

test('http parseBody: 64-bit integers and extension types give writable records or a 400', () => {
  const int64 = fc.oneof(
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => {
      const b = Buffer.alloc(9);
      b[0] = 0xd3;
      b.writeBigInt64BE(n, 1);
      return b;
    }),
    fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((n) => {
      const b = Buffer.alloc(9);
      b[0] = 0xcf;
      b.writeBigUInt64BE(n, 1);
      return b;
    }),
    fc
      .tuple(fc.integer({ min: -128, max: 127 }), fc.uint8Array({ minLength: 4, maxLength: 4 }))
      .map(([type, data]) => Buffer.from([0xd6, type & 0xff, ...data])),
  ); // fixext 4 of any type
  fc.assert(
    fc.property(int64, (value) => {
      const body = Buffer.concat([Buffer.from([0x81, 0xa1, 0x61]), value]); // {"a": value}
      const error = bodyError(body, 'application/msgpack');
      if (error) {
        assert.equal(error.constructor.name, 'BadBody', error.message);
        return;
      }
      const [record] = parseBody(body, 'application/msgpack');
      JSON.stringify(record);
    }),
    { numRuns: RUNS },
  );
  // Every extension type, exhaustively (type 0x42 is a BigInt in msgpackr: found by this test).
  for (let type = 0; type < 256; type++) {
    for (const data of [
      [0, 0, 0, 0],
      [0x91, 0xc0, 0, 0],
      [0x81, 0xa1, 0x61, 0x01],
    ]) {
      const body = Buffer.from([0x81, 0xa1, 0x61, 0xd6, type, ...data]);
      const error = bodyError(body, 'application/msgpack');
      if (error) assert.equal(error.constructor.name, 'BadBody', `type ${type}: ${error.message}`);
      else JSON.stringify(parseBody(body, 'application/msgpack'));
    }
  }
});

test('http tagFromPath: any URL gives a tag of tag characters, never an exception', () => {
  const piece = fc.oneof(
    fc.string({ maxLength: 6, unit: 'binary' }),
    fc.constantFrom('%', '%E0%A4%A', '%ZZ', '%2F', '/', '?', '%00', '..'),
  );
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 8 }), (pieces) => {
      const tag = tagFromPath(`/${pieces.join('')}`);
      assert.match(tag, /^[A-Za-z0-9_.-]*$/);
    }),
    { numRuns: RUNS },
  );
  assert.equal(tagFromPath('/app/%E0%A4%A/x'), 'app.E0A4A.x');
  assert.equal(tagFromPath('/foo/bar?x=1'), 'foo.bar');
});

// ---- json-scan against JSON.parse, on mutated bytes -------------------------------------------

function oracle(bytes: Buffer): boolean {
  // JSON.parse on strict UTF-8: the scan refuses invalid UTF-8 that toString would replace.
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  if (!Buffer.from(text, 'utf8').equals(bytes)) return false;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

test('json-scan: byte mutations of JSON objects are judged as JSON.parse judges them', () => {
  const objects = fc
    .dictionary(fc.string({ maxLength: 6, unit: 'grapheme' }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 })
    .map((o) => Buffer.from(JSON.stringify(o)));
  const mutated = fc.tuple(objects, flips, fc.nat()).map(([bytes, changes, cut]) => {
    const copy = applyFlips(bytes, changes);
    // Sometimes truncated too: a line cut by a read boundary or a size limit.
    return cut % 4 === 0 ? copy.subarray(0, cut % (copy.length + 1)) : copy;
  });
  fc.assert(
    fc.property(
      fc.oneof(
        objects,
        mutated,
        fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
      ),
      (bytes) => {
        const result = scanJsonObject(bytes, 0, bytes.length, null, { verdict: ScanVerdict.Invalid, hasKey: false });
        assert.equal(result.verdict !== ScanVerdict.Invalid, oracle(bytes), bytes.toString('hex'));
      },
    ),
    { numRuns: RUNS * 3 },
  );
});
