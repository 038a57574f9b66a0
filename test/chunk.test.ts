import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArenaPool, ChunkBuilder, type SealedChunk } from '../src/chunk/chunk-builder.js';
import { decodeChunk, decodeRecords } from '../src/chunk/segments.js';
import { SegmentKind, type ChunkSource } from '../src/chunk/layout.js';

const a: ChunkSource = { input: 'tcp.0', tag: 't', peer: '127.0.0.1:1', separator: '\n' };
const b: ChunkSource = { input: 'tcp.1', tag: 't', peer: '127.0.0.1:2', separator: '\r\n' };

test('segments round-trip through an arena with their times and sources', () => {
  const sealed: SealedChunk[] = [];
  const builder = new ChunkBuilder(1024, new ArenaPool(1024, 2), (c) => sealed.push(c));
  const data = Buffer.from('xx{"a":1}\nnot json\n[1,2]\n{"b":"é"}\n');
  builder.append(a, SegmentKind.JsonLines, { sec: 100, nsec: 5 }, data, 2, data.length, 4);
  builder.append(b, SegmentKind.RawLines, { sec: 101, nsec: 6 }, Buffer.from('plain text\r\nsecond\r\n'), 0, 20, 2);
  builder.seal();
  assert.equal(sealed.length, 1);
  const chunk = sealed[0]!;
  assert.equal(chunk.records, 6);
  assert.deepEqual(chunk.sources, [a, b]);
  const decoded = decodeChunk(chunk.arena, chunk.byteLength, chunk.sources);
  assert.deepEqual(decoded.records, [
    { time: { sec: 100, nsec: 5 }, body: { a: 1 }, raw: '{"a":1}' },
    { time: { sec: 100, nsec: 5 }, body: { b: 'é' }, raw: '{"b":"é"}' },
    { time: { sec: 101, nsec: 6 }, body: { log: 'plain text' } },
    { time: { sec: 101, nsec: 6 }, body: { log: 'second' } },
  ]);
  assert.equal(decoded.malformed.length, 1);
  assert.equal(decoded.malformed[0]!.source, 0);
  assert.equal(decoded.malformed[0]!.count, 2);
  assert.match(decoded.malformed[0]!.sample, /not json/);
});

test('a chunk is sealed when the next segment would not fit, and arenas are reused', () => {
  const sealed: SealedChunk[] = [];
  const pool = new ArenaPool(64, 2);
  const builder = new ChunkBuilder(64, pool, (c) => sealed.push(c));
  const line = Buffer.from('{"n":12345678901234567890}\n'); // 27 bytes + 16 header
  builder.append(a, SegmentKind.JsonLines, { sec: 1, nsec: 0 }, line, 0, line.length, 1);
  builder.append(a, SegmentKind.JsonLines, { sec: 1, nsec: 0 }, line, 0, line.length, 1);
  assert.equal(sealed.length, 1);
  assert.equal(sealed[0]!.byteLength, 43);
  pool.give(sealed[0]!.arena);
  builder.seal();
  assert.equal(sealed.length, 2);
  assert.notEqual(sealed[1]!.arena, sealed[0]!.arena);
  builder.append(a, SegmentKind.JsonLines, { sec: 1, nsec: 0 }, line, 0, line.length, 1);
  builder.seal();
  assert.equal(sealed[2]!.arena, sealed[0]!.arena, 'the returned arena was reused');
});

test('isCanonicalJson: only lines that JSON.stringify would write back unchanged', async () => {
  const { isCanonicalJson } = await import('../src/chunk/segments.js');
  const canonical = [
    '{"a":1}',
    '{"seq":12,"msg":"GET /x 200 e.g. 1.5","ok":true,"n":null,"l":[1,"x"]}',
    '{"big":-12}',
    '{}',
    '{"é":"ü"}',
    '{"q":"say \\"hi\\"\\n"}',
    '{"n":-10}',
  ];
  const rewritten = [
    '{"a": 1}',
    '{"a":1.0}',
    '{"a":1e3}',
    '{"a":-0}',
    '{"a":"\\/"}',
    '{"a":"\\u0041"}',
    '{\t"a":1}',
    '{"a":2.5}',
    '{"a":[-0]}',
  ];
  for (const line of canonical) {
    assert.equal(isCanonicalJson(line), true, line);
    assert.equal(JSON.stringify(JSON.parse(line)), line, `${line} really is canonical`);
  }
  for (const line of rewritten) assert.equal(isCanonicalJson(line), false, line);
});

test('a compact line is sent as received, date spliced in; others are re-serialized', async () => {
  const { createEncoder } = await import('../src/encode/index.js');
  const sealed: SealedChunk[] = [];
  const builder = new ChunkBuilder(1024, new ArenaPool(1024, 1), (c) => sealed.push(c));
  // Key order kept as sent (Fluent Bit keeps it; JSON.stringify would move "2" first).
  const data = Buffer.from('{"b":1,"2":"x"}\n{"b": 1.0}\n');
  builder.append(a, SegmentKind.JsonLines, { sec: 1795421327, nsec: 196247000 }, data, 0, data.length, 2);
  builder.seal();
  const decoded = decodeChunk(sealed[0]!.arena, sealed[0]!.byteLength, sealed[0]!.sources);
  const encoder = createEncoder({
    format: 'json_lines',
    dateKey: 'date',
    dateFormat: 'double',
    hostname: 'h',
    gelf: { shortMessageKey: null, fullMessageKey: null, timestampKey: null, hostKey: null, levelKey: null },
  });
  assert.equal(
    encoder.encode(decoded.records).toString(),
    '{"date":1795421327.196247,"b":1,"2":"x"}\n{"date":1795421327.196247,"b":1}\n',
  );
});

test('past 65,536 sources a chunk is sealed: every record keeps its own source (the header holds a u16)', () => {
  const sealed: SealedChunk[] = [];
  const builder = new ChunkBuilder(8 << 20, new ArenaPool(8 << 20, 2), (c) => sealed.push(c));
  const total = 70_000;
  for (let i = 0; i < total; i++) {
    const source: ChunkSource = { input: 'forward.0', tag: `t${i}`, peer: 'p', separator: '\n' };
    const line = Buffer.from(`{"i":${i}}\n`);
    builder.append(source, SegmentKind.JsonLines, { sec: 1, nsec: 0 }, line, 0, line.length, 1);
  }
  builder.seal();
  assert.equal(sealed.length, 2, 'the 65,537th source starts a new chunk');
  assert.equal(sealed[0]!.sources.length, 65_536);
  let seen = 0;
  for (const chunk of sealed) {
    const malformed = decodeRecords(chunk.arena, chunk.byteLength, chunk.sources, (_time, body, _raw, source) => {
      assert.equal(body['i'], seen);
      assert.equal(chunk.sources[source]?.tag, `t${seen}`, 'the segment names its own source');
      seen++;
    });
    assert.deepEqual(malformed, []);
  }
  assert.equal(seen, total);
});

test('lines longer than a chunk are cut at line ends into chunk-sized segments, records counted per piece', () => {
  const sealed: SealedChunk[] = [];
  const builder = new ChunkBuilder(1024, new ArenaPool(1024, 2), (c) => sealed.push(c));
  const lines = Array.from({ length: 500 }, (_, i) => `{"n":${i}}`);
  const body = Buffer.from(`${lines.join('\n')}\n`);
  builder.append(a, SegmentKind.JsonLines, { sec: 1, nsec: 0 }, body, 0, body.length, lines.length);
  builder.seal();
  assert.ok(sealed.length > 4, `${sealed.length} chunks`);
  assert.ok(
    sealed.every((chunk) => chunk.byteLength <= 1024),
    'no chunk over its limit',
  );
  assert.equal(
    sealed.reduce((sum, chunk) => sum + chunk.records, 0),
    lines.length,
  );
  const records = sealed.flatMap((chunk) => decodeChunk(chunk.arena, chunk.byteLength, chunk.sources).records);
  assert.deepEqual(
    records.map((r) => r.body['n']),
    lines.map((_, i) => i),
  );
  sealed.forEach((chunk) =>
    assert.equal(decodeChunk(chunk.arena, chunk.byteLength, chunk.sources).records.length, chunk.records),
  );
});

test('a line longer than a chunk goes whole in a segment of its own; the lines after it are still cut', () => {
  const sealed: SealedChunk[] = [];
  const builder = new ChunkBuilder(1024, new ArenaPool(1024, 2), (c) => sealed.push(c));
  const long = `{"long":"${'x'.repeat(3000)}"}`;
  const short = Array.from({ length: 400 }, (_, i) => `{"n":${i}}`);
  const body = Buffer.from(`${[long, ...short].join('\n')}\n`);
  builder.append(a, SegmentKind.JsonLines, { sec: 1, nsec: 0 }, body, 0, body.length, short.length + 1);
  builder.seal();
  const over = sealed.filter((chunk) => chunk.byteLength > 1024);
  assert.equal(over.length, 1, 'only the chunk of the long line is over the limit');
  assert.equal(over[0]!.records, 1);
  const records = sealed.flatMap((chunk) => decodeChunk(chunk.arena, chunk.byteLength, chunk.sources).records);
  assert.equal(records.length, short.length + 1);
  assert.deepEqual(
    records.slice(1).map((r) => r.body['n']),
    short.map((_, i) => i),
  );
  assert.equal(
    sealed.reduce((sum, chunk) => sum + chunk.records, 0),
    short.length + 1,
  );
});

test('lines with another separator are not cut at a bare newline (it may be inside a record)', () => {
  const sealed: SealedChunk[] = [];
  const builder = new ChunkBuilder(64, new ArenaPool(64, 2), (c) => sealed.push(c));
  const text = Buffer.from(`${'a'.repeat(20)}\nstill the same record${'c'.repeat(30)}\r\n${'b'.repeat(50)}\r\n`);
  builder.append(b, SegmentKind.RawLines, { sec: 1, nsec: 0 }, text, 0, text.length, 2);
  builder.seal();
  const records = sealed.flatMap((chunk) => decodeChunk(chunk.arena, chunk.byteLength, chunk.sources).records);
  assert.deepEqual(
    records.map((r) => r.body['log']),
    [`${'a'.repeat(20)}\nstill the same record${'c'.repeat(30)}`, 'b'.repeat(50)],
  );
});
